/**
 * `brook dev` as a user runs it: `node bin/brook dev` in its own process, on a range of free
 * loopback ports and a temp data dir, driven by signals and read through its stdout, stderr
 * and pid files. Checks that it runs each node as a separate process that answers
 * DescribeCluster, prints the bootstrap list once the quorum has a leader, and stops every node
 * on SIGINT (exit 0); that a node dying, a node refusing its data dir, or a cluster not ready in
 * time makes it stop the others and exit 1. Every process is stopped by PID, and each test
 * checks that none of its processes is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Admin } from '../../../src/client/index.js';
import { BROOK_BIN, runCli } from '../../helpers/broker-process.js';
import { freePortRange } from '../../helpers/port-range.js';

/** dev waits up to 60 s for readiness by default; a cold start takes a few seconds. */
const READY_WAIT_MS = 60_000;
/** dev's own stop bound is 35 s, then 5 s after SIGKILL. */
const EXIT_WAIT_MS = 45_000;
const POLL_MS = 50;
/** One dev run within its own bounds (ready, then stop), with room to spare; vitest's 60 s
 * default is too tight for a run that uses them. */
const RUN_TEST_TIMEOUT_MS = 120_000;

interface DevExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One `brook dev` process. */
interface DevRun {
  readonly child: ChildProcess;
  readonly dataDir: string;
  readonly exited: Promise<DevExit>;
  stdout(): string;
  stderr(): string;
}

const runs: DevRun[] = [];
const dirs: string[] = [];

/** PIDs of the nodes a run said it started (`node i started: pid P, ...` on stderr). */
function nodePidsOf(run: DevRun): number[] {
  return [...run.stderr().matchAll(/^node \d+ started: pid (\d+),/gm)].map((m) => Number(m[1]));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

function killIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

// A test that failed half-way must not leave a node running: SIGKILL by PID, never by name.
process.once('exit', () => {
  for (const run of runs) {
    for (const pid of nodePidsOf(run)) killIfAlive(pid);
    if (run.child.pid !== undefined) killIfAlive(run.child.pid);
  }
});

afterEach(async () => {
  for (const run of runs.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
    for (const pid of nodePidsOf(run)) killIfAlive(pid);
  }
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'brook-dev-test-'));
  dirs.push(dir);
  return dir;
}

function startDev(dataDir: string, args: readonly string[]): DevRun {
  const env: Record<string, string | undefined> = { ...process.env };
  delete env['BROOK_BOOTSTRAP'];
  const child = spawn(process.execPath, [BROOK_BIN, 'dev', '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<DevExit>((resolve) => {
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) =>
      resolve({ code, signal }),
    );
  });
  const run: DevRun = { child, dataDir, exited, stdout: () => stdout, stderr: () => stderr };
  runs.push(run);
  return run;
}

/** Polls `read` until it returns something other than null; fails with dev's output. */
async function waitFor<T>(run: DevRun, what: string, timeoutMs: number, read: () => T | null) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== null) return value;
    const exited = run.child.exitCode !== null || run.child.signalCode !== null;
    if (exited || Date.now() > deadline) {
      throw new Error(
        `${exited ? 'dev exited' : `timed out after ${timeoutMs} ms`} waiting for ${what}\n--- stdout ---\n${run.stdout()}\n--- stderr ---\n${run.stderr()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Waits for dev's stdout to print its bootstrap line; resolves the list. */
function waitForBootstrap(run: DevRun): Promise<string> {
  return waitFor(run, 'the bootstrap line', READY_WAIT_MS, () => {
    return /^bootstrap: (\S+)$/m.exec(run.stdout())?.[1] ?? null;
  });
}

/** Resolves how dev exited and how long it took; fails after `timeoutMs`. */
async function exitOf(run: DevRun, timeoutMs = EXIT_WAIT_MS): Promise<DevExit & { ms: number }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`dev did not exit in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const exit = await Promise.race([run.exited, timeout]);
    return { ...exit, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

function addresses(basePort: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.1:${basePort + i}`);
}

async function readPidFiles(dataDir: string, count: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) =>
      Number((await readFile(path.join(dataDir, `node-${i}.pid`), 'utf8')).trim()),
    ),
  );
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

describe('brook dev', { timeout: RUN_TEST_TIMEOUT_MS }, () => {
  it('runs each node as its own process that answers DescribeCluster, and SIGINT stops them all with exit 0', async () => {
    const basePort = await freePortRange(3);
    const dataDir = await tempDir();
    const run = startDev(dataDir, ['--nodes', '3', '--base-port', String(basePort)]);

    const bootstrap = await waitForBootstrap(run);
    expect(bootstrap).toBe(addresses(basePort, 3).join(','));
    const stdout = run.stdout();
    expect(stdout).toMatch(
      /^Brook dev cluster ready: 3 nodes, Raft voters 0,1,2, leader node [012],/,
    );
    expect(stdout).toContain(`export BROOK_BOOTSTRAP=${bootstrap}`);
    expect(stdout).toMatch(/ topics create demo --partitions 3 --replication-factor \d/);
    expect(stdout).toMatch(/echo "hello, brook" \| \S+ produce demo/);
    expect(stdout).toMatch(/ consume demo --from-beginning --max-messages 1/);
    expect(stdout).toContain(path.join(dataDir, 'node-0.log'));
    expect(run.stderr()).toMatch(/^starting 3 nodes in /);
    expect(run.stderr()).toMatch(/^node 1 is up$/m);

    // Three separate processes, none of them dev itself, named by the pid files while they run.
    const pids = await readPidFiles(dataDir, 3);
    expect(pids).toEqual(nodePidsOf(run));
    expect(new Set([...pids, run.child.pid]).size).toBe(4);
    expect(pids.every(isAlive)).toBe(true);

    const clusterId = (await readFile(path.join(dataDir, 'cluster-id'), 'utf8')).trim();
    for (const [i, address] of addresses(basePort, 3).entries()) {
      const admin = new Admin({ bootstrap: address, retries: 2 });
      try {
        const description = await admin.describeCluster();
        expect(description.clusterId).toBe(clusterId);
        expect(description.quorum?.node.nodeId).toBe(i);
        expect(description.quorum?.members.map((m) => m.nodeId)).toEqual([0, 1, 2]);
        expect(description.quorum?.leaderId).toBeGreaterThanOrEqual(0);
      } finally {
        await admin.close();
      }
      const log = await readFile(path.join(dataDir, `node-${i}.log`), 'utf8');
      expect(log).toContain('"msg":"broker ready"');
    }

    run.child.kill('SIGINT');
    const exit = await exitOf(run);
    expect(exit.code, run.stderr()).toBe(0);
    expect(exit.ms).toBeLessThan(EXIT_WAIT_MS);
    expect(lastLine(run.stderr())).toBe('all 3 nodes stopped');
    expect(pids.filter(isAlive)).toEqual([]);
    for (let i = 0; i < 3; i++) expect(existsSync(path.join(dataDir, `node-${i}.pid`))).toBe(false);
  });

  it('carries on when a node is killed once the cluster is ready, and says how to restart it', async () => {
    const basePort = await freePortRange(3);
    const dataDir = await tempDir();
    const run = startDev(dataDir, ['--nodes', '3', '--base-port', String(basePort)]);
    await waitForBootstrap(run);
    const pids = await readPidFiles(dataDir, 3);

    process.kill(pids[1]!, 'SIGKILL');
    await waitForStderr(run, /node 1 was killed by signal SIGKILL; the other 2 carry on/);
    expect(run.stderr()).toMatch(/server --node-id 1 .*>> .*node-1\.log 2>&1 &/);
    expect(isAlive(pids[0]!)).toBe(true);
    expect(isAlive(pids[2]!)).toBe(true);

    run.child.kill('SIGINT');
    const exit = await exitOf(run);
    expect(exit.code, run.stderr()).toBe(0);
    expect(pids.filter(isAlive)).toEqual([]);
  });

  it(
    'keeps the cluster id across runs, and surfaces the refusal of a node dir formatted by another cluster',
    { timeout: 3 * RUN_TEST_TIMEOUT_MS },
    async () => {
      const dataDir = await tempDir();
      const clusterIdFile = path.join(dataDir, 'cluster-id');
      const runOnce = async (): Promise<DevRun> => {
        const basePort = await freePortRange(2);
        const run = startDev(dataDir, ['--nodes', '2', '--base-port', String(basePort)]);
        await waitForBootstrap(run);
        run.child.kill('SIGINT');
        expect((await exitOf(run)).code, run.stderr()).toBe(0);
        return run;
      };

      const first = await runOnce();
      const clusterId = (await readFile(clusterIdFile, 'utf8')).trim();
      expect(first.stderr()).toContain(`new cluster id ${clusterId}`);
      const second = await runOnce();
      expect(second.stderr()).toContain(`(cluster id ${clusterId},`);
      expect((await readFile(clusterIdFile, 'utf8')).trim()).toBe(clusterId);

      // The node dirs stay formatted with the first id: the nodes themselves refuse another one.
      const otherId = randomUUID();
      await writeFile(clusterIdFile, `${otherId}\n`);
      const refused = startDev(dataDir, [
        '--nodes',
        '2',
        '--base-port',
        String(await freePortRange(2)),
      ]);
      const exit = await exitOf(refused);
      expect(exit.code, refused.stderr()).toBe(1);
      expect(lastLine(refused.stderr())).toMatch(
        new RegExp(
          `^brook: node [01] exited with code 1: data dir .*node-[01] belongs to cluster ${clusterId}, but cluster.id=${otherId} was configured`,
        ),
      );
      expect(refused.stdout()).toBe('');
      expect(nodePidsOf(refused).filter(isAlive)).toEqual([]);
    },
  );

  it('gives up after --ready-timeout-ms, pointing at the logs, and stops the nodes', async () => {
    const basePort = await freePortRange(2);
    const dataDir = await tempDir();
    const run = startDev(dataDir, [
      '--nodes',
      '2',
      '--base-port',
      String(basePort),
      '--ready-timeout-ms',
      '3000',
    ]);
    // Node 1 frozen from its first moment: it never answers, and node 0 alone has no quorum.
    const frozen = await waitFor(run, 'node 1 to start', 10_000, () => {
      const match = /^node 1 started: pid (\d+),/m.exec(run.stderr());
      return match === null ? null : Number(match[1]);
    });
    process.kill(frozen, 'SIGSTOP');
    try {
      await waitFor(run, 'the timeout', 20_000, () =>
        run.stderr().includes('not ready within 3 s; stopping the nodes') ? true : null,
      );
    } finally {
      // Let it take the SIGTERM dev sends (SIGCONT first would be as good).
      process.kill(frozen, 'SIGCONT');
    }
    const exit = await exitOf(run);
    expect(exit.code, run.stderr()).toBe(1);
    expect(lastLine(run.stderr())).toMatch(
      /^brook: the cluster was not ready within 3 s \(still waiting for node 1 to answer.*\); see the node logs: .*node-\*\.log$/,
    );
    expect(run.stdout()).toBe('');
    expect(nodePidsOf(run).filter(isAlive)).toEqual([]);
  });

  it('refuses a port that is in use before starting any node', async () => {
    const basePort = await freePortRange(2);
    const dataDir = await tempDir();
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(basePort + 1, '127.0.0.1', resolve));
    try {
      const result = await runCli([
        'dev',
        '--nodes',
        '2',
        '--base-port',
        String(basePort),
        '--data-dir',
        dataDir,
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `brook: port ${basePort + 1} on 127.0.0.1 is in use (another brook dev or brook server?); stop that process or choose other ports with --base-port\n`,
      );
      expect(existsSync(path.join(dataDir, 'node-0'))).toBe(false);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});

/** Resolves once the dev command's stderr matches `pattern` (bounded by the test timeout). */
async function waitForStderr(run: { stderr(): string }, pattern: RegExp): Promise<void> {
  while (!pattern.test(run.stderr())) await new Promise((resolve) => setTimeout(resolve, 100));
}
