/**
 * Real `brook server` processes for integration tests (in the spirit of nats.js's `nst`): each
 * broker gets a free loopback port and a temporary data dir, and is stopped by its PID only.
 * Output is captured so a failure can show what the broker said. A process-exit hook SIGKILLs any
 * broker a test forgot, so no process outlives the test run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The root of this repository. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** bin/brook of this repository. */
export const BROOK_BIN = path.join(REPO_ROOT, 'bin', 'brook');

/** The compiled CLI that bin/brook runs; missing until `npm run build`. */
export const BUILT_CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_CHARS_MAX = 64 * 1024;
/** Logged once the controller unfenced the broker: it is in service. */
const READY_MARK = '"msg":"broker ready"';
/** Logged once the server is bound and Raft started: enough for a node that cannot join yet. */
const LISTENING_MARK = '"msg":"broker listening; joining the cluster"';
/** A pino line at level error (50) or fatal (60). */
const ERROR_LINE = /"level":(5|6)\d/;
const ERROR_LINES_MAX = 200;

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface StartBrokerOptions {
  /** Extra `brook server` flags, e.g. ['--auto-create-topics']. */
  readonly extraArgs?: readonly string[];
  /** --node-id; default 0. */
  readonly nodeId?: number;
  /** Port to listen on; default a free one. */
  readonly port?: number;
  /** Data dir to use; default a new temp dir. cleanup() removes it either way. */
  readonly dataDir?: string;
  /** Extra environment for the process. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * What start() and restart() wait for: 'ready' (default; the broker is in service, which
   * needs a metadata quorum) or 'listening' (bound and running, e.g. a lone voter of three).
   */
  readonly waitFor?: 'ready' | 'listening';
}

/** How a broker process ended. */
export interface BrokerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running (or stopped) broker process. */
export interface BrokerProcess {
  /** Its --node-id. */
  readonly nodeId: number;
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  readonly port: number;
  readonly dataDir: string;
  /** PID of the current process (changes on restart()). */
  readonly pid: number;
  /** The last 64 KiB of stdout and stderr, for failure messages. */
  output(): string;
  /**
   * The lines the current process (it changes on restart()) logged at level error or fatal so
   * far, on stdout or stderr: the last 200.
   */
  errorLines(): string[];
  /** Whether the current process is running (false once stopped, killed or exited). */
  isRunning(): boolean;
  /**
   * SIGTERM, wait for exit; SIGKILL after 10 s. Resolves how the process ended; null (a no-op)
   * when already stopped.
   */
  stop(): Promise<BrokerExit | null>;
  /**
   * Sends `signal` (default SIGKILL) and waits for the exit; rejects if none comes in 10 s.
   * Resolves how the process ended; null (a no-op) when already stopped.
   */
  kill(signal?: NodeJS.Signals): Promise<BrokerExit | null>;
  /** Stops the process if running and starts it again on the same port and data dir. */
  restart(): Promise<void>;
  /** stop(), then removes the data dir. */
  cleanup(): Promise<void>;
}

/** A port free on 127.0.0.1 right now (the OS picks it; we release it at once). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

function exitOf(child: ChildProcess): BrokerExit {
  return { code: child.exitCode, signal: child.signalCode };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

class BrokerHandle implements BrokerProcess {
  private child: ChildProcess | null = null;
  private captured = '';
  private errors: string[] = [];
  /** The unfinished last line of each stream, for errorLines(). */
  private readonly partial = { stdout: '', stderr: '' };

  constructor(
    readonly nodeId: number,
    readonly port: number,
    readonly dataDir: string,
    private readonly extraArgs: readonly string[],
    private readonly env: Readonly<Record<string, string>>,
    private readonly readyMark: string = READY_MARK,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  output(): string {
    return this.captured;
  }

  errorLines(): string[] {
    return [...this.errors];
  }

  isRunning(): boolean {
    return this.child !== null && !hasExited(this.child);
  }

  async start(): Promise<void> {
    const args = [
      BROOK_BIN,
      'server',
      '--node-id',
      String(this.nodeId),
      '--listen',
      this.address,
      '--data-dir',
      this.dataDir,
      '--log-level',
      'info',
      ...this.extraArgs,
    ];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.env },
    });
    this.child = child;
    this.errors = [];
    this.partial.stdout = '';
    this.partial.stderr = '';
    live.add(child);
    child.once('exit', () => live.delete(child));
    await new Promise<void>((resolve, reject) => {
      let stdoutText = '';
      const timer = setTimeout(() => {
        fail(new Error(`broker at ${this.address} not ready after ${READY_TIMEOUT_MS} ms`));
      }, READY_TIMEOUT_MS);
      const onExit = (code: number | null, signal: string | null): void =>
        fail(new Error(`broker exited before ready (code ${code}, signal ${signal})`));
      const fail = (error: Error): void => {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.kill('SIGKILL');
        reject(new Error(`${error.message}\n--- broker output ---\n${this.captured}`));
      };
      child.once('exit', onExit);
      child.stdout?.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        this.capture(text, 'stdout');
        if (stdoutText.includes(this.readyMark)) return;
        stdoutText = (stdoutText + text).slice(-OUTPUT_CHARS_MAX);
        if (stdoutText.includes(this.readyMark)) {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve();
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => this.capture(chunk.toString('utf8'), 'stderr'));
    });
  }

  private capture(text: string, stream: 'stdout' | 'stderr'): void {
    this.captured = (this.captured + text).slice(-OUTPUT_CHARS_MAX);
    const lines = (this.partial[stream] + text).split('\n');
    this.partial[stream] = (lines.pop() ?? '').slice(-OUTPUT_CHARS_MAX);
    for (const line of lines) {
      if (!ERROR_LINE.test(line)) continue;
      this.errors.push(line);
      if (this.errors.length > ERROR_LINES_MAX) this.errors.shift();
    }
  }

  async stop(): Promise<BrokerExit | null> {
    const child = this.child;
    if (child === null) return null;
    if (!hasExited(child)) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, STOP_TIMEOUT_MS))) {
        child.kill('SIGKILL');
        await waitForExit(child, STOP_TIMEOUT_MS);
      }
    }
    this.child = null;
    return exitOf(child);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<BrokerExit | null> {
    const child = this.child;
    if (child === null) return null;
    if (!hasExited(child)) {
      child.kill(signal);
      if (!(await waitForExit(child, STOP_TIMEOUT_MS))) {
        throw new Error(
          `broker pid ${child.pid} did not exit within ${STOP_TIMEOUT_MS} ms of ${signal}`,
        );
      }
    }
    this.child = null;
    return exitOf(child);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async cleanup(): Promise<void> {
    await this.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * Starts `brook server` on a free port and resolves once it logs "broker ready" (within 20 s,
 * else rejects with its output). The caller must cleanup() (or stop()) it, e.g. in afterAll.
 */
export async function startBroker(options: StartBrokerOptions = {}): Promise<BrokerProcess> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'brook-test-')));
  const broker = new BrokerHandle(
    options.nodeId ?? 0,
    port,
    dataDir,
    options.extraArgs ?? [],
    options.env ?? {},
    options.waitFor === 'listening' ? LISTENING_MARK : READY_MARK,
  );
  try {
    await broker.start();
  } catch (error) {
    if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return broker;
}

export interface StartClusterOptions {
  /** Flags every node gets besides --node-id, --listen, --data-dir and --voters. */
  readonly extraArgs?: readonly string[];
  /** How many of the nodes (the first ones) are Raft voters; the rest observe. Default all. */
  readonly voters?: number;
}

/**
 * Starts `size` brokers as one Raft quorum: node ids 1..size on free loopback ports, each with
 * `--voters` naming all of them and one shared `--cluster-id`, started together (a lone node of a larger quorum cannot elect
 * a leader). Resolves once every node logged "broker ready", which does not wait for a Raft
 * leader. On failure the nodes already started are cleaned up; otherwise the caller must
 * cleanup() each one.
 */
export async function startCluster(
  size: number,
  options: StartClusterOptions = {},
): Promise<BrokerProcess[]> {
  const ports: number[] = [];
  // Distinct ports: freePort releases each one at once, so the OS could hand one out twice.
  for (let attempt = 0; ports.length < size && attempt < size * 10; attempt++) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  if (ports.length < size) throw new Error(`could not find ${size} distinct free ports`);
  const voters = ports
    .slice(0, options.voters ?? size)
    .map((port, i) => `${i + 1}@127.0.0.1:${port}`)
    .join(',');
  // Every voter is formatted with the same cluster id, or they refuse each other's streams.
  const clusterId = randomUUID();
  const started = await Promise.allSettled(
    ports.map((port, i) =>
      startBroker({
        nodeId: i + 1,
        port,
        extraArgs: ['--voters', voters, '--cluster-id', clusterId, ...(options.extraArgs ?? [])],
      }),
    ),
  );
  const nodes: BrokerProcess[] = [];
  let failure: unknown = null;
  for (const result of started) {
    if (result.status === 'fulfilled') nodes.push(result.value);
    else failure ??= result.reason;
  }
  if (failure !== null) {
    await Promise.all(nodes.map((node) => node.cleanup()));
    throw failure;
  }
  return nodes;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunCliOptions {
  /** Text written to the command's stdin (which is then closed). */
  readonly input?: string;
  /** Extra environment; BROOK_BOOTSTRAP from the test runner's own env is removed first. */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill the command (SIGKILL) after this long; default 60 s. */
  readonly timeoutMs?: number;
}

/** Runs `bin/brook ...args` to completion and collects its exit code and output. */
export async function runCli(
  args: readonly string[],
  options: RunCliOptions = {},
): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  if (options.env?.['BROOK_BOOTSTRAP'] === undefined) delete env['BROOK_BOOTSTRAP'];
  const child = spawn(process.execPath, [BROOK_BIN, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env,
  });
  live.add(child);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  // A command that exits before reading all its input closes the pipe; that is its business.
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const code = await new Promise<number>((resolve) => {
    child.once('close', (exitCode: number | null, signal: string | null) => {
      resolve(exitCode ?? (signal === null ? -1 : 128));
    });
  });
  clearTimeout(timer);
  live.delete(child);
  return {
    code,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
  };
}
