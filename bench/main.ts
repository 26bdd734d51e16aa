/**
 * `npm run bench -- produce|consume [options]`: Brook end to end, beside its raw limits.
 * (`npm run bench -- raft [options]` measures the Raft quorum instead: see raft-bench.ts;
 * `npm run bench -- group [options]` consumer groups on a cluster: see group-bench.ts.)
 *
 * The run:
 *   0. raw LevelDB in a child process (raw-limits.ts): the same batches written, for consume
 *      also read back, with nothing in between; before the broker starts, nothing competes;
 *      `produce` then measures the cluster targets' raw floors, still with no broker running
 *      (raw-floors.ts): sequential synced writes and loopback gRPC round trips
 *      (--one-at-a-time-records > 0), and loopback gRPC and TCP streams (--cluster-nodes > 0);
 *   1. start a real broker (`node bin/brook server`) on a free port over a fresh data dir;
 *   2. create the topic with the SDK's Admin;
 *   3. produce N records through the SDK Producer (measured for `produce`, a preload for
 *      `consume`), reading the broker's /proc/<pid>/io before and after (write amplification),
 *      and again once its compactions are done;
 *   4. `consume` only: read the N records back with the SDK Consumer (measured);
 *      `produce` only: send --one-at-a-time-records records one at a time, each ack awaited
 *      (latency; one-at-a-time.ts);
 *   5. stop the broker, measure its data dir, remove it;
 *   6. `produce` with --cluster-nodes > 0: the same produce and one-at-a-time phases against a
 *      replicated cluster of real processes, topic RF --replication-factor (cluster-bench.ts);
 *   7. raw LevelDB again, as in step 0; Brook's rates are reported as ratios of the mean of
 *      the two raw runs, so a disk that drifts during the run moves both sides of the ratio.
 *
 * Bounds: --records, --one-at-a-time-records and --max-seconds. Each step stops at its share of
 * the time limit (timeShares below) and reports what it measured; a watchdog exits 30 s past the
 * limit. The brokers, the raw children and the temp dirs are removed on every way out, Ctrl-C
 * included.
 */
import { BrokerProcess, disposeLiveBrokers, killLiveBrokers } from './broker-process.js';
import { runCluster, type ClusterPhases } from './cluster-bench.js';
import { runGroupBench } from './group-bench.js';
import { killGroupMembers } from './group-members.js';
import { OTHER_CORES_NOTICEABLE, RAW_TIME_MIN_MS, withWatchdog } from './run-bounds.js';
import {
  dirSize,
  machineFacts,
  round,
  startCpuMeter,
  type CpuUse,
  type DirSize,
} from './measure.js';
import { parseOptions, type BenchOptions } from './options.js';
import {
  measureOneAtATimePhase,
  measureProducePhase,
  type OneAtATimePhase,
  type ProducePhase,
} from './phases.js';
import { runRaftBench } from './raft-bench.js';
import { killRawGrpcChildren } from './raw-grpc.js';
import { defaultGroupBatches, killRawChildren, runRawLevelDb } from './raw-limits.js';
import { measureRawFloors, type RawFloorDeadlines, type RawFloorRuns } from './raw-floors.js';
import { killRawLoopbackChildren } from './raw-loopback.js';
import { areRawFloorsComplete, rawFloorFigures } from './floor-report.js';
import {
  clusterFigures,
  oneAtATimeFigures,
  phaseFigures,
  produceFigures,
  rawFigures,
  rawRun,
  renderText,
  targets,
  writeAmplification,
  type BenchReport,
  type PhaseFigures,
  type RawFigures,
  type RawRun,
} from './report.js';
import { BENCH_TOPIC, createTopic } from './topic.js';
import { consume, makeValuePool, type PhaseResult } from './workloads.js';

const LINGER_MS = 5;
/** The cluster phases are skipped with less than this left before their deadline. */
const CLUSTER_TIME_MIN_MS = 10_000;

/**
 * Where in --max-seconds each step must stop, as shares of it; the raw run after gets the rest.
 * A one-at-a-time phase gets 10% of the limit, before the next step's share begins. The raw
 * floors come out of the single node's share: sync writes 4%, round trips 2% (with one-at-a-time
 * phases), the transport 2% (with a cluster).
 */
interface TimeShares {
  readonly rawBefore: number;
  readonly rawSyncWrites: number;
  readonly rawRoundTrips: number;
  readonly rawTransport: number;
  /** The single node's produce (and consume). */
  readonly single: number;
  readonly singleOneAtATime: number;
  readonly cluster: number;
  readonly clusterOneAtATime: number;
}

function timeShares(options: BenchOptions): TimeShares {
  const isProduce = options.workload === 'produce';
  const oneAtATime = isProduce && options.oneAtATimeRecords > 0 ? 0.1 : 0;
  const hasCluster = isProduce && options.clusterNodes > 0;
  const rawBefore = hasCluster ? 0.1 : 0.15;
  const rawSyncWrites = rawBefore + (oneAtATime > 0 ? 0.04 : 0);
  const rawRoundTrips = rawSyncWrites + (oneAtATime > 0 ? 0.02 : 0);
  const raw = {
    rawBefore,
    rawSyncWrites,
    rawRoundTrips,
    rawTransport: rawRoundTrips + (hasCluster ? 0.02 : 0),
  };
  if (!hasCluster) {
    const brook = 0.75;
    return {
      ...raw,
      single: brook - oneAtATime,
      singleOneAtATime: brook,
      cluster: brook,
      clusterOneAtATime: brook,
    };
  }
  return {
    ...raw,
    single: 0.4 - oneAtATime,
    singleOneAtATime: 0.4,
    cluster: 0.85 - oneAtATime,
    clusterOneAtATime: 0.85,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  installExitHandlers();
  // The Raft workload has its own options and run (raft-bench.ts): a cluster, not one broker.
  if (argv[0] === 'raft') {
    await runRaftBench(argv.slice(1));
    return;
  }
  // So does the consumer-group workload (group-bench.ts): a cluster and consumer processes.
  if (argv[0] === 'group') {
    await runGroupBench(argv.slice(1));
    return;
  }
  const options = parseOptions(argv);
  const startedAtMs = Date.now();
  const limitMs = options.maxSeconds * 1_000;
  const report = await withWatchdog(limitMs, () => run(options, startedAtMs, limitMs));
  const text = options.isJson ? JSON.stringify(report, null, 2) : renderText(report);
  process.stdout.write(`${text}\n`);
}

async function run(
  options: BenchOptions,
  startedAtMs: number,
  limitMs: number,
): Promise<BenchReport> {
  const notes: string[] = [];
  const shares = timeShares(options);
  const at = (share: number): number => startedAtMs + limitMs * share;
  const pool = makeValuePool(options.recordBytes);
  const rawRuns: RawResultOf[] = [];
  const before = await measureRaw(options, 'before', at(shares.rawBefore));
  if (before !== null) rawRuns.push(before);
  const floorDeadlines: RawFloorDeadlines = {
    syncWritesMs: at(shares.rawSyncWrites),
    roundTripsMs: at(shares.rawRoundTrips),
    transportMs: at(shares.rawTransport),
  };
  const rawFloors = await measureRawFloors(options, floorDeadlines, notes);
  const single = await runSingleNode(options, pool, at(shares.single), at(shares.singleOneAtATime));
  const cluster = await measureCluster(options, pool, shares, at, notes);
  const after = await measureRaw(options, 'after', at(1));
  if (after !== null) rawRuns.push(after);
  for (const when of ['before', 'after'] as const) {
    if (!rawRuns.some((r) => r.run.when === when)) {
      notes.push(`raw LevelDB run ${when} the brokers skipped: too little of --max-seconds left`);
    }
  }
  return assembleReport(options, startedAtMs, { single, cluster, rawRuns, rawFloors, notes });
}

/** Steps 1-5: one broker, started, measured, stopped and removed. */
async function runSingleNode(
  options: BenchOptions,
  pool: readonly Buffer[],
  deadlineMs: number,
  oneAtATimeDeadlineMs: number,
): Promise<SingleNode> {
  const broker = await BrokerProcess.start({ brookBin: options.brookBin, fsync: options.fsync });
  process.stderr.write(`bench: broker pid ${broker.pid} at ${broker.address}\n`);
  let brook: BrookPhases;
  let dataDir: DirSize | null = null;
  try {
    brook = await runBrook(options, broker, pool, deadlineMs, oneAtATimeDeadlineMs);
  } finally {
    await broker.stop();
    dataDir = await dirSize(broker.dataDir);
    await broker.dispose();
  }
  return { brook, dataDir, brokerWarnings: broker.warningCount };
}

/**
 * Step 6, when asked for and time allows. A cluster that fails (to start, to elect, to take the
 * topic) leaves a note rather than ending the run: the other figures still stand.
 */
async function measureCluster(
  options: BenchOptions,
  pool: readonly Buffer[],
  shares: TimeShares,
  at: (share: number) => number,
  notes: string[],
): Promise<ClusterPhases | null> {
  if (options.workload !== 'produce' || options.clusterNodes === 0) return null;
  const produceMs = at(shares.cluster);
  if (produceMs - Date.now() < CLUSTER_TIME_MIN_MS) {
    notes.push('the cluster phases were skipped: too little of --max-seconds left');
    return null;
  }
  try {
    return await runCluster(options, pool, {
      produceMs,
      oneAtATimeMs: at(shares.clusterOneAtATime),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`bench: the cluster phases failed: ${message}\n`);
    notes.push(`the cluster phases failed: ${message.split('\n')[0]}`);
    return null;
  }
}

/** A raw LevelDB run, with the value size it used. */
interface RawResultOf {
  readonly run: RawRun;
  readonly valueBytesPerBatch: number;
}

/** One raw LevelDB run (raw-limits.ts), or null when less than RAW_TIME_MIN_MS is left. */
async function measureRaw(
  options: BenchOptions,
  when: 'before' | 'after',
  deadlineMs: number,
): Promise<RawResultOf | null> {
  if (deadlineMs - Date.now() < RAW_TIME_MIN_MS) return null;
  const result = await runRawLevelDb({
    batchCount: Math.ceil(options.recordCount / options.batchRecords),
    recordsPerBatch: options.batchRecords,
    recordBytes: options.recordBytes,
    groupBatches: rawGroupBatches(options),
    sync: options.fsync === 'always',
    hasStateKey: options.hasRawStateKey,
    read: options.workload === 'consume',
    deadlineMs,
  });
  return {
    run: rawRun(result, when, options.recordBytes),
    valueBytesPerBatch: result.valueBytesPerBatch,
  };
}

function rawGroupBatches(options: BenchOptions): number {
  return (
    options.rawGroupBatches ??
    defaultGroupBatches(options.batchRecords, options.recordBytes, options.windowRecords)
  );
}

/** The single broker's part of the run. */
interface SingleNode {
  readonly brook: BrookPhases;
  readonly dataDir: DirSize | null;
  readonly brokerWarnings: number;
}

/** Everything the run measured, before it is turned into figures. */
interface Measurements {
  readonly single: SingleNode;
  readonly cluster: ClusterPhases | null;
  readonly rawRuns: readonly RawResultOf[];
  readonly rawFloors: RawFloorRuns | null;
  readonly notes: string[];
}

function assembleReport(options: BenchOptions, startedAtMs: number, m: Measurements): BenchReport {
  const { notes } = m;
  const { brook } = m.single;
  const raw = rawYardstick(options, m.rawRuns);
  const produced = produceFigures(brook.produce.produced, brook.produce.cpu);
  const consumed = brook.consumed === null ? null : phaseFigures(brook.consumed, brook.consumeCpu);
  const cluster = m.cluster === null ? null : clusterFigures(m.cluster);
  const oneAtATime =
    options.workload === 'produce' && options.oneAtATimeRecords > 0
      ? oneAtATimeFigures(brook.oneAtATime, m.cluster?.oneAtATime ?? null)
      : null;
  const ratio = (brookMbPerSec: number | undefined, rawMbPerSec: number | null): number | null =>
    brookMbPerSec === undefined || rawMbPerSec === null || rawMbPerSec <= 0
      ? null
      : round(brookMbPerSec / rawMbPerSec, 3);
  const isProduce = options.workload === 'produce';
  const rawFloors =
    m.rawFloors === null ? null : rawFloorFigures(options, m.rawFloors, raw, cluster);
  const produceRatio = isProduce ? ratio(produced.mbPerSec, raw?.writeMbPerSec ?? null) : null;
  const clusterRatio = ratio(cluster?.produce.mbPerSec, raw?.writeMbPerSec ?? null);
  const consumeRatio = ratio(consumed?.mbPerSec, raw?.readMbPerSec ?? null);
  if (!isProduce) notes.push('the preload line is not the measurement: it only fills the topic');
  const measured: [string, PhaseFigures | null][] = isProduce
    ? [
        ['single-node produce', produced],
        ['single-node one-at-a-time', oneAtATime?.singleNode ?? null],
        ['cluster produce', cluster?.produce ?? null],
        ['cluster one-at-a-time', oneAtATime?.cluster ?? null],
      ]
    : [['consume', consumed]];
  const disturbed = disturbanceNote(measured);
  if (disturbed !== null) notes.push(disturbed);
  const phases = [produced, consumed, cluster?.produce ?? null];
  const isComplete =
    phases.every((p) => p?.isComplete ?? true) &&
    (!isProduce || options.clusterNodes === 0 || cluster !== null) &&
    (oneAtATime === null || isOneAtATimeComplete(oneAtATime, options)) &&
    (raw?.runs.length ?? 0) === 2 &&
    (raw?.runs ?? []).every((r) => r.write.isComplete && (r.read?.isComplete ?? true)) &&
    areRawFloorsComplete(rawFloors, options);
  return {
    benchmark: options.workload,
    startedAt: new Date(startedAtMs).toISOString(),
    isComplete,
    settings: settingsOf(options),
    machine: machineFacts(),
    produce: produced,
    consume: consumed,
    writeAmplification: writeAmplification(
      brook.produce.produced.payloadBytes,
      brook.produce.io,
      brook.produce.settledIo,
      brook.produce.settleSeconds,
    ),
    dataDir: m.single.dataDir,
    rawLevelDb: raw === null ? null : { ...raw, hasStateKey: options.hasRawStateKey },
    cluster,
    oneAtATime,
    rawFloors,
    ratios: {
      produceToRawWrite: produceRatio,
      clusterProduceToRawWrite: clusterRatio,
      consumeToRawRead: consumeRatio,
    },
    targets: targets(options, consumed, produceRatio, cluster, oneAtATime, rawFloors),
    brokerWarnings: m.single.brokerWarnings,
    notes,
  };
}

/** Raw LevelDB's figures (the mean of the runs), or null when no run was made. */
function rawYardstick(options: BenchOptions, rawRuns: readonly RawResultOf[]): RawFigures | null {
  if (rawRuns.length === 0) return null;
  return rawFigures(
    rawRuns.map((r) => r.run),
    rawGroupBatches(options),
    rawRuns[0]!.valueBytesPerBatch,
    options.fsync === 'always',
  );
}

/** Both one-at-a-time phases that were asked for ran to their record count. */
function isOneAtATimeComplete(
  o: NonNullable<BenchReport['oneAtATime']>,
  options: BenchOptions,
): boolean {
  const wantsCluster = options.clusterNodes > 0;
  return (o.singleNode?.isComplete ?? false) && (!wantsCluster || (o.cluster?.isComplete ?? false));
}

/** A note naming the measured phases during which other processes used the cores, if any. */
function disturbanceNote(phases: readonly [string, PhaseFigures | null][]): string | null {
  const busy: string[] = [];
  for (const [name, figures] of phases) {
    const otherCores = figures?.cpu?.otherCores ?? null;
    if (otherCores !== null && otherCores > OTHER_CORES_NOTICEABLE) {
      busy.push(`${otherCores} during the ${name} phase`);
    }
  }
  if (busy.length === 0) return null;
  return (
    `other processes kept cores busy (of ${machineFacts().cores}): ${busy.join(', ')}; ` +
    `the machine was shared, so those figures are low and noisy`
  );
}

function settingsOf(options: BenchOptions): BenchReport['settings'] {
  const isProduce = options.workload === 'produce';
  return {
    records: options.recordCount,
    recordBytes: options.recordBytes,
    batchRecords: options.batchRecords,
    batchBytesMax: options.batchBytesMax,
    acks: options.acks,
    partitions: options.partitionCount,
    compression: options.compression,
    fsync: options.fsync,
    windowRecords: options.windowRecords,
    lingerMs: LINGER_MS,
    clusterNodes: isProduce ? options.clusterNodes : 0,
    replicationFactor: options.replicationFactor,
    oneAtATimeRecords: isProduce ? options.oneAtATimeRecords : 0,
    maxSeconds: options.maxSeconds,
  };
}

interface BrookPhases {
  readonly produce: ProducePhase;
  readonly consumed: PhaseResult | null;
  readonly consumeCpu: CpuUse | null;
  readonly oneAtATime: OneAtATimePhase | null;
}

/** Steps 2-4 against the running broker. */
async function runBrook(
  options: BenchOptions,
  broker: BrokerProcess,
  pool: readonly Buffer[],
  deadlineMs: number,
  oneAtATimeDeadlineMs: number,
): Promise<BrookPhases> {
  await createTopic(broker.address, { name: BENCH_TOPIC, partitions: options.partitionCount });
  const brokers = { bootstrap: broker.address, pids: [broker.pid] };
  const isProduce = options.workload === 'produce';
  const label = isProduce ? 'produce' : 'preload (not measured)';
  // Compactions the produce phase set off belong to its cost (measureProducePhase waits for
  // them); for consume, waiting also keeps them out of the measured read.
  const produce = await measureProducePhase(options, brokers, BENCH_TOPIC, pool, deadlineMs, label);
  let consumed: PhaseResult | null = null;
  let consumeCpu: CpuUse | null = null;
  if (!isProduce) {
    const stopConsumeMeter = await startCpuMeter(broker.pid);
    const count = produce.produced.records;
    consumed = await consume(options, broker.address, BENCH_TOPIC, count, deadlineMs);
    consumeCpu = await stopConsumeMeter();
  }
  const oneAtATime =
    isProduce && options.oneAtATimeRecords > 0
      ? await measureOneAtATimePhase(
          options,
          brokers,
          BENCH_TOPIC,
          pool,
          oneAtATimeDeadlineMs,
          'one at a time (single node)',
        )
      : null;
  return { produce, consumed, consumeCpu, oneAtATime };
}

/** Removes the broker and temp dirs on every way out: an error, Ctrl-C, SIGTERM, exit. */
function installExitHandlers(): void {
  let isStopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (isStopping) return;
    isStopping = true;
    process.stderr.write(`\nbench: ${signal}; stopping the broker and removing temp dirs\n`);
    killGroupMembers();
    killRawChildren();
    killRawGrpcChildren();
    killRawLoopbackChildren();
    disposeLiveBrokers().then(
      () => process.exit(130),
      () => process.exit(130),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    killGroupMembers();
    killRawChildren();
    killRawGrpcChildren();
    killRawLoopbackChildren();
    killLiveBrokers();
  });
}

main().catch(async (error: unknown) => {
  process.stderr.write(
    `bench: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`,
  );
  killGroupMembers();
  killRawChildren();
  killRawGrpcChildren();
  killRawLoopbackChildren();
  await disposeLiveBrokers();
  process.exit(1);
});
