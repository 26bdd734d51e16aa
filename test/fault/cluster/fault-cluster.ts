/**
 * The Brook nodes of a fault run, each a `brook server` process inside its own network
 * namespace (one host each), all Raft voters. The nemesis acts on them through this class only,
 * by PID: SIGKILL and restart, SIGSTOP and SIGCONT; and, when the run skews clocks, through
 * each node's libfaketime file.
 * Each node appends its stdout and stderr, across restarts, to `<runDir>/nodes/node-<i>.log`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { brookBinPath } from '../../../src/util/brook-bin.js';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The broker's port on every host (hosts have their own addresses). */
export const BROKER_PORT = 7070;

/** Node settings: failover within seconds, so a minute's run sees several faults play out. */
export const FAULT_SERVER_ARGS: readonly string[] = [
  '--raft-tick-ms',
  '50',
  '--raft-election-timeout-ms',
  '1000',
  '--raft-heartbeat-interval-ms',
  '100',
  '--broker-heartbeat-interval-ms',
  '250',
  '--broker-session-timeout-ms',
  '2000',
  '--replica-lag-time-max-ms',
  '4000',
  '--replica-fetch-wait-max-ms',
  '200',
  '--leader-imbalance-check-interval-ms',
  '5000',
  '--shutdown-timeout-ms',
  '5000',
];

/** What FaultCluster needs of the network: where each host is and how to run a program there. */
export interface HostNetwork {
  address(node: number): string;
  netnsExecArgv(node: number, argv: readonly string[]): string[];
}

export interface FaultClusterOptions {
  readonly network: HostNetwork;
  readonly nodes: number;
  readonly runDir: string;
  /** Extra `brook server` flags for every node (timeouts, topic defaults). */
  readonly serverArgs: readonly string[];
  /**
   * Run every node under libfaketime, its wall clock offset read from a file the nemesis
   * rewrites (monotonic clocks, which timers use, stay true: as when NTP or an operator steps a
   * host's clock). Off unless the run has a clock nemesis.
   */
  readonly clockSkew: boolean;
  /** Progress lines for the harness log. */
  readonly log: (line: string) => void;
}

/** libfaketime, to start a node with a skewed wall clock (Debian's libfaketime package). */
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const LISTENING_MARK = '"msg":"broker listening; joining the cluster"';
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

/** How often libfaketime rereads a node's offset file, in seconds. */
const FAKETIME_REREAD_S = 1;

type NodeState = 'running' | 'paused' | 'stopped';

class NodeProcess {
  child: ChildProcess | null = null;
  state: NodeState = 'stopped';
  exited: Promise<void> = Promise.resolve();
  constructor(
    readonly id: number,
    readonly logFile: WriteStream,
  ) {}
}

export class FaultCluster {
  private readonly nodes: NodeProcess[] = [];
  private readonly brookBin = brookBinPath();
  /** Every voter is formatted with the same cluster id at its first start. */
  private readonly clusterId = randomUUID();

  private constructor(private readonly options: FaultClusterOptions) {}

  /** Starts every node and resolves once each is listening. */
  static async start(options: FaultClusterOptions): Promise<FaultCluster> {
    const cluster = new FaultCluster(options);
    await mkdir(path.join(options.runDir, 'nodes'), { recursive: true });
    for (let id = 0; id < options.nodes; id++) {
      if (options.clockSkew) await writeFile(cluster.clockFile(id), '+0s\n');
      const logFile = createWriteStream(path.join(options.runDir, 'nodes', `node-${id}.log`), {
        flags: 'a',
      });
      cluster.nodes.push(new NodeProcess(id, logFile));
    }
    try {
      await Promise.all(cluster.nodes.map((node) => cluster.startNode(node)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  static hasFaketime(): boolean {
    return existsSync(LIBFAKETIME);
  }

  get size(): number {
    return this.nodes.length;
  }

  /** Every broker address, for clients' bootstrap. */
  get bootstrap(): string[] {
    return this.nodes.map((node) => this.address(node.id));
  }

  address(id: number): string {
    return `${this.options.network.address(id)}:${BROKER_PORT}`;
  }

  pid(id: number): number | null {
    return this.node(id).child?.pid ?? null;
  }

  state(id: number): NodeState {
    return this.node(id).state;
  }

  /** SIGKILL: no shutdown of any kind. Resolves once the process is gone. */
  async kill(id: number): Promise<void> {
    const node = this.node(id);
    if (node.child === null || node.state === 'stopped') return;
    node.child.kill('SIGKILL');
    await node.exited;
  }

  /** Starts a stopped node again with its data dir as it was (a no-op when running). */
  async restart(id: number): Promise<void> {
    const node = this.node(id);
    if (node.state !== 'stopped') return;
    await this.startNode(node);
  }

  pause(id: number): void {
    const node = this.node(id);
    if (node.child === null || node.state !== 'running') return;
    node.child.kill('SIGSTOP');
    node.state = 'paused';
  }

  resume(id: number): void {
    const node = this.node(id);
    if (node.child === null || node.state !== 'paused') return;
    node.child.kill('SIGCONT');
    node.state = 'running';
  }

  /** Sets a node's wall-clock offset (clockSkew runs only); it applies within a second. */
  async setClockOffset(id: number, offsetS: number): Promise<void> {
    if (!this.options.clockSkew) throw new Error('the cluster was started without clock skew');
    await writeFile(this.clockFile(id), `${offsetS >= 0 ? '+' : ''}${offsetS}s\n`);
  }

  /** SIGCONT to the paused, then SIGTERM to all (SIGKILL after a timeout); waits for exits. */
  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        if (node.child === null || node.state === 'stopped') return;
        if (node.state === 'paused') this.resume(node.id);
        node.child.kill('SIGTERM');
        const timer = setTimeout(() => node.child?.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await node.exited;
        clearTimeout(timer);
      }),
    );
    await Promise.all(
      this.nodes.map(
        (node) =>
          new Promise<void>((resolve) => {
            if (node.logFile.closed) return resolve();
            node.logFile.end(() => resolve());
          }),
      ),
    );
  }

  /** SIGKILL to every node still running, synchronously (for process exit paths). */
  killAllSync(): void {
    for (const node of this.nodes) {
      if (node.child !== null && node.state !== 'stopped') node.child.kill('SIGKILL');
    }
  }

  private clockFile(id: number): string {
    return path.join(this.options.runDir, 'nodes', `node-${id}.faketime`);
  }

  private node(id: number): NodeProcess {
    const node = this.nodes[id];
    if (node === undefined) throw new Error(`no node ${id} (the cluster has ${this.size})`);
    return node;
  }

  private async startNode(node: NodeProcess): Promise<void> {
    const { network, runDir, serverArgs, nodes } = this.options;
    const voters = Array.from({ length: nodes }, (_, i) => `${i}@${this.address(i)}`).join(',');
    const argv = network.netnsExecArgv(node.id, [
      process.execPath,
      this.brookBin,
      'server',
      '--node-id',
      String(node.id),
      '--listen',
      this.address(node.id),
      '--data-dir',
      path.join(runDir, 'nodes', `node-${node.id}`),
      '--voters',
      voters,
      '--cluster-id',
      this.clusterId,
      '--log-level',
      'info',
      ...serverArgs,
    ]);
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (this.options.clockSkew) {
      env.LD_PRELOAD = LIBFAKETIME;
      env.FAKETIME_TIMESTAMP_FILE = this.clockFile(node.id);
      env.FAKETIME_CACHE_DURATION = String(FAKETIME_REREAD_S);
      env.FAKETIME_DONT_FAKE_MONOTONIC = '1';
    }
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
    node.child = child;
    node.state = 'running';
    node.logFile.write(
      `--- harness: started pid ${child.pid ?? '?'} at ${new Date().toISOString()}\n`,
    );
    node.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        if (node.child === child) node.state = 'stopped';
        node.logFile.write(`--- harness: pid ${child.pid} exited (${signal ?? `code ${code}`})\n`);
        resolve();
      });
    });
    child.stderr!.pipe(node.logFile, { end: false });
    let seen = '';
    let isListening = false;
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`node ${node.id} not listening after ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      child.stdout!.on('data', (chunk: Buffer) => {
        node.logFile.write(chunk);
        if (isListening) return;
        seen = (seen + chunk.toString('utf8')).slice(-4096);
        if (seen.includes(LISTENING_MARK)) {
          isListening = true;
          clearTimeout(timer);
          resolve();
        }
      });
      void node.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`node ${node.id} exited before listening: see its log`));
      });
    });
    await listening;
    this.options.log(`node ${node.id} listening at ${this.address(node.id)} (pid ${child.pid})`);
  }
}
