/**
 * Partition gauges, computed at scrape time from the node's partition logs and its metadata
 * image; nothing on the produce or fetch path updates them.
 *
 * - Every local replica (leader or follower): log start, log end and stored bytes.
 * - Partitions this node leads: high watermark, ISR size and replica count. The HW is reported
 *   by the leader only, so a partition has one HW series however many replicas it has; the
 *   leader's and the followers' log ends side by side show replica lag.
 * - Counts: led partitions under-replicated (ISR < replicas) and under min.insync.replicas, and
 *   offline partitions of the whole cluster as this node's metadata image sees them.
 */
import { Gauge, type Registry } from 'prom-client';
import type { MetadataImage, TopicImage } from '../../metadata/index.js';
import { oncePerTurn, valueGauge } from './collect.js';

/** Most replicas that get per-partition series; the counts above still cover every partition. */
export const PARTITION_SERIES_MAX = 20_000;

/** What the metrics read of a partition log (PartitionLog satisfies it). */
export interface PartitionLogView {
  readonly topicId: string;
  readonly partition: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  readonly sizeBytes: number;
}

export interface PartitionSource {
  image(): MetadataImage;
  /** Every partition log this node holds. */
  logs(): readonly PartitionLogView[];
  /** Whether this node leads the partition now (its ReplicaManager's view). */
  isLeader(topicId: string, partition: number): boolean;
  /** min.insync.replicas of the topic (its config over the broker default). */
  minInsyncReplicas(topic: TopicImage): number;
}

/** A led partition's extra facts. */
export interface LeaderRow {
  readonly highWatermark: number;
  readonly isrSize: number;
  readonly replicaCount: number;
}

export interface ReplicaRow {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly sizeBytes: number;
  /** Null when this node does not lead the partition. */
  readonly leader: LeaderRow | null;
}

export interface PartitionSnapshot {
  /** At most PARTITION_SERIES_MAX rows. */
  readonly replicas: readonly ReplicaRow[];
  /** Local replicas left without series because of PARTITION_SERIES_MAX. */
  readonly omitted: number;
  readonly replicaCount: number;
  readonly leaderCount: number;
  readonly underReplicated: number;
  readonly underMinIsr: number;
  readonly offline: number;
  readonly logSizeBytes: number;
}

/**
 * Partitions without a serving leader: none elected (-1, e.g. every ISR member is down and
 * unclean election is off), or a leader the image no longer has as a live, unfenced broker.
 */
export function offlinePartitions(image: MetadataImage): number {
  let offline = 0;
  for (const topic of image.topicsById.values()) {
    for (const partition of topic.partitions) {
      const broker = partition.leader < 0 ? undefined : image.brokers.get(partition.leader);
      if (broker === undefined || broker.fenced) offline++;
    }
  }
  return offline;
}

/**
 * One scrape's view of the local partitions. A log whose topic the image no longer has (a
 * deletion in progress) is left out.
 */
export function partitionSnapshot(source: PartitionSource): PartitionSnapshot {
  const image = source.image();
  const replicas: ReplicaRow[] = [];
  let omitted = 0;
  let replicaCount = 0;
  let leaderCount = 0;
  let underReplicated = 0;
  let underMinIsr = 0;
  let logSizeBytes = 0;
  for (const log of source.logs()) {
    const topic = image.topicsById.get(log.topicId);
    const partition = topic?.partitions[log.partition];
    if (topic === undefined || partition === undefined) continue;
    replicaCount++;
    logSizeBytes += log.sizeBytes;
    let leader: LeaderRow | null = null;
    if (source.isLeader(log.topicId, log.partition)) {
      leaderCount++;
      leader = {
        highWatermark: log.highWatermark,
        isrSize: partition.isr.length,
        replicaCount: partition.replicas.length,
      };
      if (partition.isr.length < partition.replicas.length) underReplicated++;
      if (partition.isr.length < source.minInsyncReplicas(topic)) underMinIsr++;
    }
    if (replicas.length >= PARTITION_SERIES_MAX) {
      omitted++;
      continue;
    }
    replicas.push({
      topic: topic.name,
      partition: log.partition,
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      sizeBytes: log.sizeBytes,
      leader,
    });
  }
  return {
    replicas,
    omitted,
    replicaCount,
    leaderCount,
    underReplicated,
    underMinIsr,
    offline: offlinePartitions(image),
    logSizeBytes,
  };
}

type PartitionLabel = 'topic' | 'partition';

/** Families with a series per local replica; a null value leaves the replica out. */
const PER_REPLICA: ReadonlyArray<[string, string, (row: ReplicaRow) => number | null]> = [
  [
    'brook_partition_log_start_offset',
    'First offset of the local replica (leader or follower) of the partition.',
    (row) => row.logStartOffset,
  ],
  [
    'brook_partition_log_end_offset',
    'Next offset to be written to the local replica (leader or follower); behind the leader on a lagging follower.',
    (row) => row.logEndOffset,
  ],
  [
    'brook_partition_size_bytes',
    'Record batch bytes stored in the local replica of the partition.',
    (row) => row.sizeBytes,
  ],
  [
    'brook_partition_high_watermark',
    'High watermark of a partition this node leads (committed offsets are below it); followers do not report it.',
    (row) => row.leader?.highWatermark ?? null,
  ],
  [
    'brook_partition_isr_size',
    'In-sync replicas of a partition this node leads, as committed in the metadata.',
    (row) => row.leader?.isrSize ?? null,
  ],
  [
    'brook_partition_replicas',
    'Assigned replicas of a partition this node leads.',
    (row) => row.leader?.replicaCount ?? null,
  ],
];

/** Families of one value per node. */
const COUNTS: ReadonlyArray<[string, string, (snapshot: PartitionSnapshot) => number]> = [
  [
    'brook_replica_partitions',
    'Partition replicas (leader or follower) stored on this node.',
    (s) => s.replicaCount,
  ],
  ['brook_leader_partitions', 'Partitions this node leads.', (s) => s.leaderCount],
  [
    'brook_under_replicated_partitions',
    'Partitions this node leads whose ISR is smaller than their replica set. Sum over nodes for the cluster.',
    (s) => s.underReplicated,
  ],
  [
    'brook_under_min_isr_partitions',
    'Partitions this node leads whose ISR is below min.insync.replicas: acks=all produces to them fail with NOT_ENOUGH_REPLICAS. Sum over nodes for the cluster.',
    (s) => s.underMinIsr,
  ],
  [
    'brook_offline_partitions',
    "Partitions of the whole cluster without a serving leader (none elected, or its broker fenced), as this node's metadata image sees them. Every node reports the cluster-wide count, so it is there even while there is no controller: aggregate with max(), not sum().",
    (s) => s.offline,
  ],
  [
    'brook_log_size_bytes',
    'Record batch bytes stored in all local partition replicas (before LevelDB overhead and compaction debt; compare brook_store_size_bytes).',
    (s) => s.logSizeBytes,
  ],
  [
    'brook_partition_series_omitted',
    `Local replicas left without per-partition series because this node holds more than ${PARTITION_SERIES_MAX}; the counts above still include them.`,
    (s) => s.omitted,
  ],
];

export function registerPartitionMetrics(registry: Registry, source: PartitionSource): void {
  const snapshot = oncePerTurn(() => partitionSnapshot(source));
  for (const [name, help, read] of PER_REPLICA) {
    new Gauge({
      name,
      help,
      labelNames: ['topic', 'partition'],
      registers: [registry],
      collect(this: Gauge<PartitionLabel>) {
        this.reset();
        for (const row of snapshot().replicas) {
          const value = read(row);
          if (value !== null) this.set({ topic: row.topic, partition: row.partition }, value);
        }
      },
    });
  }
  for (const [name, help, read] of COUNTS) {
    valueGauge(registry, { name, help, read: () => read(snapshot()) });
  }
}
