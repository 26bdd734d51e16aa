/**
 * The replicated-cluster phases of `bench produce`: start --cluster-nodes brokers (cluster.ts),
 * create the topic with --replication-factor replicas and min.insync.replicas min(2, R), wait
 * until every replica is in sync, then the batching produce (the same producer settings as the
 * single node's) and the one-at-a-time latency phase; stop the cluster, measure and remove its
 * data dirs. Every node runs with the single node's --fsync.
 */
import { BrokerCluster } from './cluster.js';
import type { DirSize } from './measure.js';
import type { BenchOptions } from './options.js';
import {
  measureOneAtATimePhase,
  measureProducePhase,
  type Brokers,
  type OneAtATimePhase,
  type ProducePhase,
} from './phases.js';
import { BENCH_TOPIC, createTopic, waitForInSyncReplicas } from './topic.js';

/** The ISR may take a moment to form after the topic is created. */
const IN_SYNC_TIMEOUT_MS = 30_000;

export interface ClusterDeadlines {
  /** The batching produce stops here. */
  readonly produceMs: number;
  /** The one-at-a-time phase stops here. */
  readonly oneAtATimeMs: number;
}

export interface ClusterPhases {
  readonly nodes: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  /** Leader node id of each partition when the produce phase started. */
  readonly leaders: readonly number[];
  readonly produce: ProducePhase;
  readonly oneAtATime: OneAtATimePhase | null;
  /** The nodes' data dirs together, after they stopped. */
  readonly dataDirs: DirSize | null;
  /** Warning and error lines the nodes logged until the measured phases ended (not at stop). */
  readonly brokerWarnings: number;
}

/** min.insync.replicas of the cluster's topic: 2 as the issue asks, at most R. */
export function minInsyncReplicasFor(replicationFactor: number): number {
  return Math.min(2, replicationFactor);
}

export async function runCluster(
  options: BenchOptions,
  pool: readonly Buffer[],
  deadlines: ClusterDeadlines,
): Promise<ClusterPhases> {
  const cluster = await BrokerCluster.start({
    brookBin: options.brookBin,
    fsync: options.fsync,
    count: options.clusterNodes,
  });
  process.stderr.write(
    `bench: cluster of ${options.clusterNodes} brokers, pids ${cluster.pids().join(', ')} at ` +
      `${cluster.bootstrap}\n`,
  );
  let measured: Omit<ClusterPhases, 'dataDirs' | 'brokerWarnings'>;
  let dataDirs: DirSize | null = null;
  // Counted before the stop: stopping every node at once makes them log warnings (peer streams
  // closing, a controlled shutdown no controller confirms) that say nothing about the run.
  let brokerWarnings = 0;
  try {
    measured = await measureCluster(options, cluster, pool, deadlines);
  } finally {
    brokerWarnings = cluster.warningCount();
    await cluster.stop();
    dataDirs = await cluster.dataDirSize();
    await cluster.dispose();
  }
  return { ...measured, dataDirs, brokerWarnings };
}

async function measureCluster(
  options: BenchOptions,
  cluster: BrokerCluster,
  pool: readonly Buffer[],
  deadlines: ClusterDeadlines,
): Promise<Omit<ClusterPhases, 'dataDirs' | 'brokerWarnings'>> {
  const brokers: Brokers = { bootstrap: cluster.bootstrap, pids: cluster.pids() };
  const replicationFactor = options.replicationFactor;
  const minInsyncReplicas = minInsyncReplicasFor(replicationFactor);
  await createTopic(brokers.bootstrap, {
    name: BENCH_TOPIC,
    partitions: options.partitionCount,
    replicationFactor,
    minInsyncReplicas,
  });
  const placement = await waitForInSyncReplicas(
    brokers.bootstrap,
    BENCH_TOPIC,
    replicationFactor,
    Math.min(deadlines.produceMs, Date.now() + IN_SYNC_TIMEOUT_MS),
  );
  const label = `cluster produce (RF ${replicationFactor})`;
  const produce = await measureProducePhase(
    options,
    brokers,
    BENCH_TOPIC,
    pool,
    deadlines.produceMs,
    label,
  );
  const oneAtATime =
    options.oneAtATimeRecords > 0
      ? await measureOneAtATimePhase(
          options,
          brokers,
          BENCH_TOPIC,
          pool,
          deadlines.oneAtATimeMs,
          `cluster one at a time (RF ${replicationFactor})`,
        )
      : null;
  return {
    nodes: options.clusterNodes,
    replicationFactor,
    minInsyncReplicas,
    leaders: placement.leaders,
    produce,
    oneAtATime,
  };
}
