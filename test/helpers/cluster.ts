/**
 * Helpers for tests of a replicated cluster: short timeouts (only to keep tests quick; the
 * benchmark measures with the defaults), partition state through the SDK's Admin, a load of
 * acks=all produces that records what was acknowledged where, and reading every committed
 * record of a partition back.
 */
import { Admin, Consumer, Producer } from '../../src/client/index.js';
import type { BrokerProcess } from './broker-process.js';

/** Flags that make failure detection take about a second instead of several. */
export const FAST_CLUSTER_ARGS: readonly string[] = [
  '--raft-tick-ms',
  '20',
  '--raft-election-timeout-ms',
  '400',
  '--raft-heartbeat-interval-ms',
  '40',
  '--broker-heartbeat-interval-ms',
  '100',
  '--broker-session-timeout-ms',
  '1000',
  '--replica-lag-time-max-ms',
  '2000',
  '--replica-fetch-wait-max-ms',
  '200',
  '--leader-imbalance-check-interval-ms',
  '1000',
  '--shutdown-timeout-ms',
  '10000',
];

export const WAIT_MS = 30_000;

export function bootstrapOf(nodes: readonly BrokerProcess[]): string[] {
  return nodes.filter((n) => n.isRunning()).map((n) => n.address);
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}

export interface PartitionState {
  readonly topicId: string;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/** The partition as a running node's metadata shows it. */
export async function partitionState(
  nodes: readonly BrokerProcess[],
  topic: string,
  partition: number,
): Promise<PartitionState> {
  const admin = new Admin({ bootstrap: bootstrapOf(nodes), retries: 2 });
  try {
    const metadata = await admin.metadata([topic]);
    const found = metadata.topics.find((t) => t.name === topic);
    const p = found?.partitions[partition];
    if (found === undefined || p === undefined) throw new Error(`no ${topic}-${partition}`);
    return {
      topicId: found.topicId,
      leaderId: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      replicas: p.replicas,
      isr: p.isr,
    };
  } finally {
    await admin.close();
  }
}

/** Creates a topic through the given node (any node: non-controllers forward). */
export async function createTopic(
  via: BrokerProcess,
  name: string,
  partitions: number,
  replicationFactor: number,
  configs: Record<string, string> = {},
): Promise<void> {
  const admin = new Admin({ bootstrap: via.address, retries: 5 });
  try {
    const [result] = await admin.createTopics([{ name, partitions, replicationFactor, configs }]);
    if (result?.error !== undefined) throw result.error;
  } finally {
    await admin.close();
  }
}

/** One acknowledged produce: the value and the offset the broker answered. */
export interface Acked {
  readonly value: string;
  readonly offset: number;
  /** Date.now() when the acknowledgement arrived. */
  readonly atMs: number;
}

/** The longest time between two consecutive acknowledgements within [fromMs, toMs]. */
export function longestStallMs(acked: readonly Acked[], fromMs: number, toMs: number): number {
  let longest = 0;
  let previous = fromMs;
  for (const a of acked) {
    if (a.atMs < fromMs || a.atMs > toMs) continue;
    longest = Math.max(longest, a.atMs - previous);
    previous = a.atMs;
  }
  return Math.max(longest, toMs - previous);
}

/**
 * Produces unique values to one partition one at a time (acks=all), retrying through failovers,
 * until stop() is called; records every acknowledged value with its offset. Values whose
 * produce failed for good are counted, not recorded: they may or may not be in the log.
 */
export class ProduceLoad {
  readonly acked: Acked[] = [];
  failed = 0;
  private stopped = false;
  private readonly done: Promise<void>;
  private readonly producer: Producer;

  constructor(
    nodes: readonly BrokerProcess[],
    private readonly topic: string,
    private readonly partition: number,
    private readonly prefix: string,
    acks: 'all' | 'leader' = 'all',
  ) {
    this.producer = new Producer({
      bootstrap: bootstrapOf(nodes),
      acks,
      lingerMs: 0,
      deliveryTimeoutMs: 20_000,
      requestTimeoutMs: 5_000,
      maxInflightRequestsPerPartition: 1,
    });
    this.done = this.run();
  }

  /** Resolves once at least `count` values are acknowledged. */
  async waitForAcked(count: number, timeoutMs = WAIT_MS): Promise<void> {
    await waitFor(
      `${count} acknowledged produces`,
      () => (this.acked.length >= count ? true : undefined),
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    await this.producer.close();
  }

  private async run(): Promise<void> {
    for (let i = 0; !this.stopped && i < 100_000; i++) {
      const value = `${this.prefix}-${i}`;
      try {
        const meta = await this.producer.send({
          topic: this.topic,
          partition: this.partition,
          value,
        });
        this.acked.push({ value, offset: meta.offset, atMs: Date.now() });
      } catch {
        this.failed++;
      }
    }
  }
}

/** Every committed record of a partition, read from offset 0 to the high watermark. */
export async function readCommitted(
  nodes: readonly BrokerProcess[],
  topic: string,
  partition: number,
): Promise<Map<number, string>> {
  const consumer = new Consumer({ bootstrap: bootstrapOf(nodes), autoOffsetReset: 'earliest' });
  const admin = new Admin({ bootstrap: bootstrapOf(nodes), retries: 5 });
  try {
    const [end] = await admin.listOffsets([{ topic, partition, spec: 'latest' }]);
    const endOffset = end?.offset ?? 0;
    consumer.assign([{ topic, partition }]);
    const out = new Map<number, string>();
    const deadline = Date.now() + WAIT_MS;
    while (out.size < endOffset && Date.now() < deadline) {
      for (const record of await consumer.poll(1_000)) {
        out.set(record.offset, record.value?.toString('utf8') ?? '');
      }
    }
    return out;
  } finally {
    await consumer.close();
    await admin.close();
  }
}
