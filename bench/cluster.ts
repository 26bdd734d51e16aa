/**
 * A multi-node Brook cluster of real processes on loopback, for the benchmarks: node ids 1..N on
 * free ports, every node a Raft voter (`--voters` naming all of them), one shared
 * `--cluster-id`, a fresh temp data dir each. Each process is a BrokerProcess, so the exit
 * handlers that remove live brokers remove these too.
 *
 * BrokerCluster.start() returns once the brokers log "broker ready" (the controller unfenced
 * them) and `brook.v1.Admin/DescribeCluster` lists N unfenced brokers.
 */
import { randomUUID } from 'node:crypto';
import { Admin } from '../src/client/index.js';
import { BrokerProcess, freePort } from './broker-process.js';
import { dirSize, type DirSize } from './measure.js';
import type { FsyncPolicy } from './options.js';

const DESCRIBE_POLL_MS = 100;
/** Longest wait for DescribeCluster to list every broker unfenced, after they logged ready. */
const UNFENCED_TIMEOUT_MS = 30_000;

export interface VotersOptions {
  readonly brookBin: string;
  readonly fsync: FsyncPolicy;
  readonly count: number;
  /** More `brook server` flags for every node (e.g. the group protocol's, bench group). */
  readonly extraArgs?: readonly string[];
}

/**
 * Starts `count` voters at once (they elect a leader among themselves, so none is ready alone).
 * On any failure, disposes of the ones that started and throws the first error.
 */
export async function startVoters(options: VotersOptions): Promise<BrokerProcess[]> {
  const ports = await distinctPorts(options.count);
  const voters = ports.map((port, i) => `${i + 1}@127.0.0.1:${port}`).join(',');
  // Every voter is formatted with the same cluster id, or they refuse each other's streams.
  const clusterId = randomUUID();
  const started = await Promise.allSettled(
    ports.map((port, i) =>
      BrokerProcess.start({
        brookBin: options.brookBin,
        fsync: options.fsync,
        nodeId: i + 1,
        port,
        extraArgs: ['--voters', voters, '--cluster-id', clusterId, ...(options.extraArgs ?? [])],
      }),
    ),
  );
  const processes: BrokerProcess[] = [];
  let failure: unknown = null;
  for (const result of started) {
    if (result.status === 'fulfilled') processes.push(result.value);
    else failure ??= result.reason;
  }
  if (failure !== null) {
    await Promise.all(processes.map((p) => p.dispose()));
    throw failure;
  }
  return processes;
}

/** N brokers, each a voter of the metadata quorum, all unfenced. */
export class BrokerCluster {
  private constructor(readonly nodes: readonly BrokerProcess[]) {}

  static async start(options: VotersOptions): Promise<BrokerCluster> {
    const cluster = new BrokerCluster(await startVoters(options));
    try {
      await cluster.waitUnfenced(Date.now() + UNFENCED_TIMEOUT_MS);
    } catch (error) {
      await cluster.dispose();
      throw error;
    }
    return cluster;
  }

  /** Every node's address, comma-separated: the clients' bootstrap list. */
  get bootstrap(): string {
    return this.nodes.map((n) => n.address).join(',');
  }

  pids(): number[] {
    return this.nodes.map((n) => n.pid);
  }

  /** The process of node `nodeId` (1..N). */
  node(nodeId: number): BrokerProcess | undefined {
    return this.nodes[nodeId - 1];
  }

  /** Warning and error lines the nodes logged, all together. */
  warningCount(): number {
    return this.nodes.reduce((sum, n) => sum + n.warningCount, 0);
  }

  /** The nodes' data dirs together: sums of bytes, allocated bytes and files. */
  async dataDirSize(): Promise<DirSize> {
    const sizes = await Promise.all(this.nodes.map((n) => dirSize(n.dataDir)));
    return {
      bytes: sizes.reduce((sum, s) => sum + s.bytes, 0),
      allocatedBytes: sizes.reduce((sum, s) => sum + s.allocatedBytes, 0),
      files: sizes.reduce((sum, s) => sum + s.files, 0),
    };
  }

  /** Stops every node (SIGTERM, SIGKILL after 10 s); resolves once all have exited. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }

  /** Stops every node and removes the data dirs. Idempotent. */
  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }

  /** Polls DescribeCluster until it lists every node as a registered, unfenced broker. */
  private async waitUnfenced(deadlineMs: number): Promise<void> {
    const admin = new Admin({ bootstrap: this.bootstrap, requestTimeoutMs: 2_000 });
    let seen = 'no answer';
    try {
      while (Date.now() < deadlineMs) {
        const description = await admin.describeCluster().catch(() => null);
        if (description !== null) {
          const unfenced = description.brokers.filter((b) => !b.fenced).map((b) => b.nodeId);
          seen = `unfenced brokers [${unfenced.join(', ')}] of ${description.brokers.length}`;
          if (this.nodes.every((_, i) => unfenced.includes(i + 1))) return;
        }
        await new Promise((resolve) => setTimeout(resolve, DESCRIBE_POLL_MS));
      }
    } finally {
      await admin.close();
    }
    throw new Error(`DescribeCluster did not list ${this.nodes.length} unfenced brokers: ${seen}`);
  }
}

/** `count` distinct ports free right now, picked by starting and stopping a listener on each. */
export async function distinctPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count && attempt < count * 10; attempt++) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  if (ports.length < count) throw new Error(`could not find ${count} free ports`);
  return ports;
}
