/**
 * The rehearsal's "pods": each a `brook server` started as the StatefulSet's container would
 * be, `ip netns exec <host> env -i <pod env> node bin/brook server`, inside the network
 * namespace that stands for its node, with a temp dir as its volume. The kubelet's part is
 * played here: start, SIGTERM with the grace period then SIGKILL (pod deletion), SIGKILL (a
 * crashed container), an emptied volume, and the readiness probe.
 *
 * Processes are stopped by PID only. Each pod's stdout and stderr go, across restarts, to
 * `<runDir>/nodes/<pod>.log`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkHealth, SERVING_STATUS } from './health.js';

export interface PodSpec {
  readonly ordinal: number;
  readonly name: string;
  /** The network namespace standing for the pod's node. */
  readonly netns: string;
  /** Its IP, what the kubelet's probe dials. */
  readonly address: string;
  /** The volume: the data dir the env points at. */
  readonly dataDir: string;
  /** The whole environment (`env -i`): the kubelet's, not the harness's. */
  readonly env: Readonly<Record<string, string>>;
  /** ENTRYPOINT + args. */
  readonly argv: readonly string[];
}

export interface PodProbe {
  readonly port: number;
  readonly service: string;
}

/** How often readiness is polled (the manifest's periodSeconds is 5; finer for the figures). */
const READY_POLL_MS = 200;
const PROBE_TIMEOUT_MS = 1_000;

export class Pod {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly log: WriteStream;

  constructor(
    readonly spec: PodSpec,
    private readonly probe: PodProbe,
    logDir: string,
  ) {
    this.log = createWriteStream(path.join(logDir, `${spec.name}.log`), { flags: 'a' });
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get isRunning(): boolean {
    return this.child !== null;
  }

  /** Starts the container; the volume is created if missing, as a new PVC would be. */
  async start(): Promise<void> {
    if (this.child !== null) throw new Error(`${this.spec.name} is already running`);
    await mkdir(this.spec.dataDir, { recursive: true });
    const env = Object.entries(this.spec.env).map(([key, value]) => `${key}=${value}`);
    const argv = ['netns', 'exec', this.spec.netns, 'env', '-i', ...env, ...this.spec.argv];
    // ip netns exec and env both exec in place: the child's pid is the broker's own.
    const child = spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.log.write(
      `--- rehearsal: started pid ${child.pid ?? '?'} at ${new Date().toISOString()}\n`,
    );
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.log.write(`--- rehearsal: pid ${child.pid} exited (${signal ?? `code ${code}`})\n`);
        if (this.child === child) this.child = null;
        resolve();
      });
    });
  }

  /**
   * Pod deletion: SIGTERM, then SIGKILL once the grace period has passed. Resolves how long the
   * process took to exit and whether it needed the SIGKILL.
   */
  async terminate(gracePeriodMs: number): Promise<{ exitMs: number; killed: boolean }> {
    const child = this.child;
    if (child === null) return { exitMs: 0, killed: false };
    const startedMs = Date.now();
    let killed = false;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, gracePeriodMs);
    await this.exited;
    clearTimeout(timer);
    return { exitMs: Date.now() - startedMs, killed };
  }

  /** SIGKILL (kill -9); resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.child === null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** A lost volume: the data dir removed (the pod must be stopped). */
  async wipeVolume(): Promise<void> {
    if (this.child !== null) throw new Error(`${this.spec.name} is running; stop it first`);
    await rm(this.spec.dataDir, { recursive: true, force: true });
  }

  /** One readiness probe: SERVING on the probe's service. */
  async isReady(): Promise<boolean> {
    const address = `${this.spec.address}:${this.probe.port}`;
    const status = await checkHealth(address, this.probe.service, PROBE_TIMEOUT_MS);
    return status === SERVING_STATUS.SERVING;
  }

  /** Polls readiness until SERVING; throws at the deadline or when the process exits. */
  async waitReady(deadlineMs: number): Promise<void> {
    for (;;) {
      if (this.child === null) throw new Error(`${this.spec.name} exited before it was ready`);
      if (await this.isReady()) return;
      if (Date.now() > deadlineMs) throw new Error(`${this.spec.name} not ready in time`);
      await sleep(READY_POLL_MS);
    }
  }

  /** SIGKILL without waiting (exit paths). */
  killSync(): void {
    this.child?.kill('SIGKILL');
  }

  async closeLog(): Promise<void> {
    if (this.log.closed) return;
    await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }
}
