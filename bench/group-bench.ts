/**
 * `npm run bench -- group [options]`: consumer groups on a 3-node cluster (issue 6 item 9),
 * beside their yardsticks measured in the same run.
 *
 * The run:
 *   0. raw LevelDB in a child process (raw-limits.ts), as for `bench consume`: the preload's
 *      batches written, then read back in key order; no broker runs yet;
 *   1. 3 `brook server` processes, RF 3 (cluster.ts), with the group protocol's flags
 *      (groupBrokerFlags() below); the topic: --partitions, RF 3, min.insync.replicas 2;
 *   2. preload --records records (the SDK Producer, acks=all; not measured), then wait for
 *      the brokers' compactions to end;
 *   3. the single Consumer (assign every partition, from earliest) in one child process: the
 *      yardstick;
 *   4. the group: --members GroupConsumers, each in its own child process, join (session
 *      --consume-session-timeout-ms, the SDK's 45 s by default: a 3 s session on a saturated
 *      2-core machine loses partitions mid-read, see docs/benchmarks.md); once the group is
 *      stable they read from earliest (auto-commit); then they close;
 *   5. the single Consumer again (its two runs bracket the group's; the ratio uses their mean);
 *   6. failover: a steady acks=all load, a new stable group (resuming at the committed
 *      offsets), then --kills SIGKILLs and --closes graceful close()s of one member, each
 *      timed from the departure to each of its partitions' first record at another member
 *      (group-failover.ts);
 *   7. stop the cluster, remove its dirs; raw LevelDB again, as in step 0.
 * Bounds: each step stops at its share of --max-seconds and reports what it measured; a
 * watchdog exits 30 s past it. Brokers, consumer children, raw children and temp dirs are
 * removed on every way out, Ctrl-C included (main.ts's exit handlers).
 */
import { randomUUID } from 'node:crypto';
import { Admin } from '../src/client/index.js';
import { BrokerCluster } from './cluster.js';
import { measureFailovers, type FailoverRun } from './group-failover.js';
import { consumerErrors } from './group-members.js';
import { parseGroupOptions, preloadOptions, type GroupBenchOptions } from './group-options.js';
import {
  measureGroupConsume,
  measureSingle,
  type ConsumeRun,
  type GroupConsumeRun,
  type GroupContext,
} from './group-phases.js';
import { assembleGroupReport, renderGroupText, type GroupBenchReport } from './group-report.js';
import { measureProducePhase, type ProducePhase } from './phases.js';
import { defaultGroupBatches, runRawLevelDb } from './raw-limits.js';
import { rawRun, type RawRun } from './report.js';
import { RAW_TIME_MIN_MS, withWatchdog } from './run-bounds.js';
import { createTopic, waitForInSyncReplicas } from './topic.js';
import { makeValuePool } from './workloads.js';

/** The topic of this workload (each run starts an empty cluster). */
export const GROUP_TOPIC = 'bench-group';
const NODES = 3;
const REPLICATION_FACTOR = 3;
const MIN_INSYNC_REPLICAS = 2;
/** The preload's window of unsettled sends (as the produce workload's default). */
const PRELOAD_WINDOW_RECORDS = 10_000;
/** The ISR may take a moment to form after the topic is created. */
const IN_SYNC_TIMEOUT_MS = 30_000;

/** Where in --max-seconds each step must stop, as shares of it; raw LevelDB after gets the rest. */
const SHARES = {
  rawBefore: 0.08,
  preload: 0.2,
  singleBefore: 0.25,
  group: 0.32,
  singleAfter: 0.36,
  failover: 0.92,
} as const;

/**
 * Every non-default broker flag of the run, and why (docs/benchmarks.md lists them too):
 * - offsets.topic.num.partitions 3: __consumer_offsets is created on the first FindCoordinator
 *   with 50 partitions × RF 3 by default, 150 replicas to elect and replicate before the group
 *   can start; one group uses one partition of it, so 3 do the same job.
 * - group.consumer.heartbeat.interval.ms (--heartbeat-interval-ms, default 200): the default,
 *   5000 ms, is capped at a third of the session (1000 ms with the 3000 ms session used here);
 *   a member learns of a new assignment only from a heartbeat answer, so the interval is part
 *   of every takeover, and a short one keeps the trials quick.
 */
export function groupBrokerFlags(options: GroupBenchOptions): string[] {
  return [
    '--offsets-topic-num-partitions',
    '3',
    '--group-consumer-heartbeat-interval-ms',
    String(options.heartbeatIntervalMs),
  ];
}

export async function runGroupBench(argv: readonly string[]): Promise<void> {
  const options = parseGroupOptions(argv);
  const startedAtMs = Date.now();
  const limitMs = options.maxSeconds * 1_000;
  const report = await withWatchdog(limitMs, () => run(options, startedAtMs, limitMs));
  const text = options.isJson ? JSON.stringify(report, null, 2) : renderGroupText(report);
  process.stdout.write(`${text}\n`);
}

/** A raw LevelDB run, with the size of the values it wrote (one per producer batch). */
export interface RawRunOf {
  readonly run: RawRun;
  readonly valueBytesPerBatch: number;
}

/** Everything the run measured, before it becomes figures (group-report.ts). */
export interface GroupMeasurements {
  readonly rawRuns: readonly RawRunOf[];
  readonly leaders: readonly number[];
  readonly preload: ProducePhase | null;
  readonly singleBefore: ConsumeRun | null;
  readonly group: GroupConsumeRun | null;
  readonly singleAfter: ConsumeRun | null;
  readonly failover: FailoverRun | null;
  readonly brokerWarnings: number;
  readonly notes: string[];
}

async function run(
  options: GroupBenchOptions,
  startedAtMs: number,
  limitMs: number,
): Promise<GroupBenchReport> {
  const at = (share: number): number => startedAtMs + limitMs * share;
  const rawRuns: RawRunOf[] = [];
  const before = await measureRaw(options, 'before', at(SHARES.rawBefore));
  if (before !== null) rawRuns.push(before);
  const cluster = await BrokerCluster.start({
    brookBin: options.brookBin,
    fsync: 'always',
    count: NODES,
    extraArgs: groupBrokerFlags(options),
  });
  process.stderr.write(
    `bench: cluster pids ${cluster.pids().join(', ')} at ${cluster.bootstrap}\n`,
  );
  let measured: Omit<GroupMeasurements, 'rawRuns' | 'brokerWarnings'>;
  let brokerWarnings = 0;
  try {
    measured = await measureOnCluster(options, cluster, at);
  } finally {
    brokerWarnings = cluster.warningCount();
    await cluster.dispose();
  }
  const after = await measureRaw(options, 'after', at(1));
  if (after !== null) rawRuns.push(after);
  const notes = [...measured.notes];
  const errors = consumerErrors();
  if (errors.count > 0) {
    notes.push(
      `the consumer processes reported ${errors.count} errors (they read on), first: ${errors.first.join(' | ')}`,
    );
  }
  for (const when of ['before', 'after'] as const) {
    if (!rawRuns.some((r) => r.run.when === when)) {
      notes.push(`raw LevelDB run ${when} the brokers skipped: too little of --max-seconds left`);
    }
  }
  const facts = {
    brokerFlags: groupBrokerFlags(options),
    rawGroupBatches: rawGroupBatches(options),
    nodes: NODES,
    replicationFactor: REPLICATION_FACTOR,
    minInsyncReplicas: MIN_INSYNC_REPLICAS,
  };
  return assembleGroupReport(options, startedAtMs, facts, {
    ...measured,
    rawRuns,
    brokerWarnings,
    notes,
  });
}

/** Steps 1-6, on the running cluster; a consume or failover step that fails leaves a note. */
async function measureOnCluster(
  options: GroupBenchOptions,
  cluster: BrokerCluster,
  at: (share: number) => number,
): Promise<Omit<GroupMeasurements, 'rawRuns' | 'brokerWarnings'>> {
  const notes: string[] = [];
  const pool = makeValuePool(options.recordBytes);
  const { ctx, leaders, preload } = await preloadTopic(options, cluster, pool, at(SHARES.preload));
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T | null> => {
    try {
      return await work();
    } catch (error: unknown) {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`bench: ${name} failed: ${message}\n`);
      notes.push(`${name} failed: ${message.split('\n')[0]}`);
      return null;
    }
  };
  // One group id for the whole run: the failover members resume where the consume phase's
  // members committed (the end of the preload), so they read only the steady load.
  const groupId = `bench-group-${randomUUID().slice(0, 8)}`;
  const singleBefore = await step('the single consumer (before)', () =>
    measureSingle(ctx, 'single consume (before)', at(SHARES.singleBefore)),
  );
  const group = await step('the group consume', () =>
    measureGroupConsume(ctx, groupId, at(SHARES.group)),
  );
  const singleAfter = await step('the single consumer (after)', () =>
    measureSingle(ctx, 'single consume (after)', at(SHARES.singleAfter)),
  );
  const failover =
    options.kills + options.closes === 0
      ? null
      : await step('the failover phase', () =>
          measureFailovers(ctx, groupId, pool, at(SHARES.failover), notes),
        );
  return { leaders, preload, singleBefore, group, singleAfter, failover, notes };
}

/**
 * Steps 1-2: the topic (RF 3, every replica in sync), then the preload and the wait for the
 * brokers' compactions; what the consume phases need to know, with the preload's figures.
 */
async function preloadTopic(
  options: GroupBenchOptions,
  cluster: BrokerCluster,
  pool: readonly Buffer[],
  deadlineMs: number,
): Promise<{ ctx: GroupContext; leaders: readonly number[]; preload: ProducePhase }> {
  const bootstrap = cluster.bootstrap;
  await createTopic(bootstrap, {
    name: GROUP_TOPIC,
    partitions: options.partitionCount,
    replicationFactor: REPLICATION_FACTOR,
    minInsyncReplicas: MIN_INSYNC_REPLICAS,
  });
  const placement = await waitForInSyncReplicas(
    bootstrap,
    GROUP_TOPIC,
    REPLICATION_FACTOR,
    Math.min(deadlineMs, Date.now() + IN_SYNC_TIMEOUT_MS),
  );
  const brokers = { bootstrap, pids: cluster.pids() };
  const label = 'preload (not measured)';
  const preload = await measureProducePhase(
    preloadOptions(options),
    brokers,
    GROUP_TOPIC,
    pool,
    deadlineMs,
    label,
  );
  const endOffsets = await endOffsetsOf(bootstrap, GROUP_TOPIC, options.partitionCount);
  const ctx: GroupContext = {
    options,
    bootstrap,
    brokerPids: cluster.pids(),
    topic: GROUP_TOPIC,
    endOffsets,
  };
  return { ctx, leaders: placement.leaders, preload };
}

/** The offset after the last record of each partition (ListOffsets latest: the high watermark). */
async function endOffsetsOf(
  bootstrap: string,
  topic: string,
  partitions: number,
): Promise<number[]> {
  const admin = new Admin({ bootstrap });
  try {
    const results = await admin.listOffsets(
      Array.from({ length: partitions }, (_, partition) => ({
        topic,
        partition,
        spec: 'latest' as const,
      })),
    );
    return results.map((r) => {
      if (r.error !== undefined) throw r.error;
      return r.offset;
    });
  } finally {
    await admin.close();
  }
}

/** One raw LevelDB write-then-read run of the preload's batches, or null with too little time. */
async function measureRaw(
  options: GroupBenchOptions,
  when: 'before' | 'after',
  deadlineMs: number,
): Promise<RawRunOf | null> {
  if (deadlineMs - Date.now() < RAW_TIME_MIN_MS) return null;
  const result = await runRawLevelDb({
    batchCount: Math.ceil(options.recordCount / options.batchRecords),
    recordsPerBatch: options.batchRecords,
    recordBytes: options.recordBytes,
    groupBatches: rawGroupBatches(options),
    sync: true,
    hasStateKey: false,
    read: true,
    deadlineMs,
  });
  return {
    run: rawRun(result, when, options.recordBytes),
    valueBytesPerBatch: result.valueBytesPerBatch,
  };
}

export function rawGroupBatches(options: GroupBenchOptions): number {
  return defaultGroupBatches(options.batchRecords, options.recordBytes, PRELOAD_WINDOW_RECORDS);
}
