/**
 * The benchmark's topic: created with the SDK's Admin and, on a cluster, waited for until every
 * partition has a leader and all its replicas in sync, so the measured phase does not start
 * while followers are still joining.
 */
import { Admin } from '../src/client/index.js';

/** The topic every phase produces to (each broker or cluster starts empty). */
export const BENCH_TOPIC = 'bench';
const METADATA_POLL_MS = 100;

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** Unset: the broker's default.replication.factor. */
  readonly replicationFactor?: number;
  /** The topic's min.insync.replicas; unset: the broker's default. */
  readonly minInsyncReplicas?: number;
}

/** Where the topic's partitions ended up: leader node id per partition. */
export interface TopicPlacement {
  readonly leaders: readonly number[];
}

export async function createTopic(bootstrap: string, spec: TopicSpec): Promise<void> {
  const admin = new Admin({ bootstrap });
  try {
    const [result] = await admin.createTopics([
      {
        name: spec.name,
        partitions: spec.partitions,
        ...(spec.replicationFactor === undefined
          ? {}
          : { replicationFactor: spec.replicationFactor }),
        configs:
          spec.minInsyncReplicas === undefined
            ? {}
            : { 'min.insync.replicas': String(spec.minInsyncReplicas) },
      },
    ]);
    if (result === undefined) throw new Error('CreateTopics answered without a result');
    if (result.error !== undefined) throw result.error;
  } finally {
    await admin.close();
  }
}

/**
 * Polls Metadata until every partition of `topic` has a leader and `replicas` replicas in its
 * ISR, or throws at `deadlineMs`.
 */
export async function waitForInSyncReplicas(
  bootstrap: string,
  topic: string,
  replicas: number,
  deadlineMs: number,
): Promise<TopicPlacement> {
  const admin = new Admin({ bootstrap, requestTimeoutMs: 2_000 });
  let seen = 'no answer';
  try {
    while (Date.now() < deadlineMs) {
      const metadata = await admin.metadata([topic]).catch(() => null);
      const partitions = metadata?.topics.find((t) => t.name === topic)?.partitions ?? [];
      if (partitions.length > 0) {
        seen = partitions
          .map((p) => `${p.partition}: leader ${p.leaderId}, isr [${p.isr.join(', ')}]`)
          .join('; ');
        if (partitions.every((p) => p.leaderId >= 0 && p.isr.length >= replicas)) {
          const ordered = [...partitions].sort((a, b) => a.partition - b.partition);
          return { leaders: ordered.map((p) => p.leaderId) };
        }
      }
      await new Promise((resolve) => setTimeout(resolve, METADATA_POLL_MS));
    }
  } finally {
    await admin.close();
  }
  throw new Error(`topic "${topic}" did not get ${replicas} in-sync replicas in time (${seen})`);
}
