/**
 * A real broker for the benchmark: `node bin/brook server` in its own process, on a free
 * loopback port, over a fresh data dir. Ready once it logs the JSON line `"msg":"broker ready"`;
 * stopped by PID with SIGTERM (a controlled shutdown), then SIGKILL after 10 s.
 *
 * "broker ready" is an info-level line, so the broker runs at --log-level info: at warn the line
 * would never come. Info logs only lifecycle events (start, topic creation, stop), never per
 * request, so the level costs the hot path nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { FsyncPolicy } from './options.js';

/** How long the broker may take to log "broker ready". */
const READY_TIMEOUT_MS = 30_000;
/** How long a SIGTERM'd broker may take to exit before SIGKILL. */
const STOP_GRACE_MS = 10_000;
/** Lines of broker output kept to explain a failure. */
const OUTPUT_LINES_KEPT = 40;

export interface BrokerStartOptions {
  /** Path of the `brook` launcher script. */
  readonly brookBin: string;
  readonly fsync: FsyncPolicy;
  /** --node-id; default 0. */
  readonly nodeId?: number;
  /** Port to listen on; default a free one. */
  readonly port?: number;
  /** More `brook server` flags, e.g. --voters. */
  readonly extraArgs?: readonly string[];
}

/** A started broker: stop() ends the process, dispose() also removes its data dir. */
export class BrokerProcess {
  /** Warnings and errors the broker logged (counted, the last few kept). */
  warningCount = 0;
  private readonly output: string[] = [];
  private exited: Promise<void>;
  private hasExited = false;

  /** False once respawn() handed the data dir to a new process: dispose() leaves it then. */
  private ownsDataDir = true;

  private constructor(
    readonly child: ChildProcess,
    readonly pid: number,
    readonly address: string,
    readonly dataDir: string,
    private readonly options: BrokerStartOptions,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        this.hasExited = true;
        resolve();
      });
    });
  }

  /** Starts a broker and waits for it to be ready; on failure, stops it and removes its dir. */
  static async start(options: BrokerStartOptions): Promise<BrokerProcess> {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'brook-bench-broker-'));
    const port = options.port ?? (await freePort());
    return BrokerProcess.spawnOn(options, dataDir, port);
  }

  private static async spawnOn(
    options: BrokerStartOptions,
    dataDir: string,
    port: number,
  ): Promise<BrokerProcess> {
    const address = `127.0.0.1:${port}`;
    // The bin script imports the CLI in its own process, so child.pid is the broker's pid and
    // /proc/<pid>/io counts the broker's own writes (LevelDB's threads included).
    const child = spawn(
      process.execPath,
      [
        ...nodeFlags(),
        options.brookBin,
        'server',
        '--node-id',
        String(options.nodeId ?? 0),
        '--listen',
        address,
        '--data-dir',
        dataDir,
        '--log-level',
        'info',
        '--log-fsync',
        options.fsync,
        ...(options.extraArgs ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (child.pid === undefined) {
      await rm(dataDir, { recursive: true, force: true });
      throw new Error(`could not start ${options.brookBin}`);
    }
    const broker = new BrokerProcess(child, child.pid, address, dataDir, options);
    liveBrokers.add(broker);
    try {
      await broker.waitReady();
    } catch (error) {
      await broker.dispose();
      throw error;
    }
    return broker;
  }

  /** The last lines the broker printed, for error messages. */
  recentOutput(): string {
    return this.output.join('\n');
  }

  /** SIGTERM (a controlled shutdown), SIGKILL after 10 s; resolves once it exited. Idempotent. */
  async stop(): Promise<void> {
    if (!this.hasExited) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
      await this.exited;
      clearTimeout(timer);
    }
  }

  /** SIGKILL (a crash: nothing is flushed); resolves once the process is gone. Idempotent. */
  async kill(): Promise<void> {
    if (!this.hasExited) this.child.kill('SIGKILL');
    await this.exited;
  }

  /**
   * Starts the broker again, once this process has exited, on the same port and data dir with
   * the same flags; the new process owns the data dir from then on.
   */
  async respawn(): Promise<BrokerProcess> {
    if (!this.hasExited) throw new Error(`broker pid ${this.pid} is still running`);
    const port = Number(this.address.slice(this.address.lastIndexOf(':') + 1));
    const next = await BrokerProcess.spawnOn(this.options, this.dataDir, port);
    this.ownsDataDir = false;
    liveBrokers.delete(this);
    return next;
  }

  /** Stops the broker, then removes its data dir. Idempotent. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.ownsDataDir) await rm(this.dataDir, { recursive: true, force: true });
    liveBrokers.delete(this);
  }

  /** Last resort at process exit: synchronous, no waiting. */
  killNow(): void {
    if (!this.hasExited) this.child.kill('SIGKILL');
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  private waitReady(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let isReady = false;
      const timer = setTimeout(() => {
        reject(new Error(`the broker did not log "broker ready" within ${READY_TIMEOUT_MS} ms`));
      }, READY_TIMEOUT_MS);
      // Reading stdout to the end also keeps the pipe from filling up and stalling the broker.
      const lines = createInterface({ input: this.child.stdout! });
      lines.on('line', (line) => {
        this.keep(line);
        const level = logLevelOf(line);
        if (level >= 40) this.warningCount++;
        if (!isReady && line.includes('"msg":"broker ready"')) {
          isReady = true;
          clearTimeout(timer);
          resolve();
        }
      });
      createInterface({ input: this.child.stderr! }).on('line', (line) => this.keep(line));
      void this.exited.then(() => {
        clearTimeout(timer);
        if (!isReady) {
          const output = this.recentOutput();
          reject(new Error(`the broker exited before it was ready:\n${output}`));
        }
      });
    });
  }

  private keep(line: string): void {
    this.output.push(line);
    if (this.output.length > OUTPUT_LINES_KEPT) this.output.shift();
  }
}

/** Brokers not yet stopped, so an exit path can kill what is left. */
const liveBrokers = new Set<BrokerProcess>();

/** Kills every broker not yet disposed and removes its dir, synchronously (for 'exit'). */
export function killLiveBrokers(): void {
  for (const broker of liveBrokers) broker.killNow();
  liveBrokers.clear();
}

/** Disposes of every broker not yet disposed. */
export async function disposeLiveBrokers(): Promise<void> {
  await Promise.all([...liveBrokers].map((broker) => broker.dispose()));
}

/** pino's numeric level of a JSON log line (30 info, 40 warn, 50 error); 0 if not JSON. */
function logLevelOf(line: string): number {
  const match = /"level":(\d+)/.exec(line);
  return match === null ? 0 : Number(match[1]);
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it; a race with others is unlikely). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const bound = server.address();
      server.close(() => {
        if (bound !== null && typeof bound === 'object') resolve(bound.port);
        else reject(new Error('could not find a free port'));
      });
    });
  });
}

/** Extra node flags for every broker (e.g. `--cpu-prof`): a diagnostic, from BROOK_BENCH_NODE_FLAGS. */
function nodeFlags(): string[] {
  return (process.env.BROOK_BENCH_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
}
