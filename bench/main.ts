/**
 * `npm run bench -- produce|consume [options]`: Brook end to end, beside its raw limits.
 * (`npm run bench -- raft [options]` measures the Raft quorum instead: see raft-bench.ts.)
 *
 * The run:
 *   0. raw LevelDB in a child process (raw-limits.ts): the same batches written, for consume
 *      also read back, with nothing in between; before the broker starts, nothing competes;
 *   1. start a real broker (`node bin/brook server`) on a free port over a fresh data dir;
 *   2. create the topic with the SDK's Admin;
 *   3. produce N records through the SDK Producer (measured for `produce`, a preload for
 *      `consume`), reading the broker's /proc/<pid>/io before and after (write amplification),
 *      and again once its compactions are done;
 *   4. `consume` only: read the N records back with the SDK Consumer (measured);
 *   5. stop the broker, measure its data dir, remove it;
 *   6. raw LevelDB again, as in step 0; Brook's rates are reported as ratios of the mean of
 *      the two raw runs, so a disk that drifts during the run moves both sides of the ratio.
 *
 * Bounds: --records and --max-seconds. The raw run before the broker stops at 15% of the time
 * limit, the Brook phases at 75%, the raw run after at 100%, each reporting what it measured;
 * a watchdog exits 30 s past the limit. The broker, the raw child and the temp dirs are removed
 * on every way out, Ctrl-C included.
 */
import { Admin } from '../src/client/index.js';
import { BrokerProcess, disposeLiveBrokers, killLiveBrokers } from './broker-process.js';
import { OTHER_CORES_NOTICEABLE, RAW_TIME_MIN_MS, withWatchdog } from './run-bounds.js';
import {
  dirSize,
  ioDelta,
  machineFacts,
  readProcIo,
  round,
  startCpuMeter,
  waitForWritesToSettle,
  type CpuUse,
  type DirSize,
  type ProcIo,
} from './measure.js';
import { parseOptions, type BenchOptions } from './options.js';
import { runRaftBench } from './raft-bench.js';
import { killRawGrpcChildren } from './raw-grpc.js';
import { defaultGroupBatches, killRawChildren, runRawLevelDb } from './raw-limits.js';
import {
  phaseFigures,
  produceFigures,
  rawFigures,
  rawRun,
  renderText,
  targets,
  writeAmplification,
  type BenchReport,
  type RawRun,
} from './report.js';
import {
  consume,
  makeValuePool,
  produce,
  type PhaseResult,
  type ProduceResult,
} from './workloads.js';

const LINGER_MS = 5;
/** Where in --max-seconds each step must stop: raw before, Brook, raw after (the rest). */
const RAW_BEFORE_TIME_SHARE = 0.15;
const BROOK_TIME_SHARE = 0.75;
const TOPIC = 'bench';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  installExitHandlers();
  // The Raft workload has its own options and run (raft-bench.ts): a cluster, not one broker.
  if (argv[0] === 'raft') {
    await runRaftBench(argv.slice(1));
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
  const pool = makeValuePool(options.recordBytes);
  const rawRuns: RawResultOf[] = [];
  const before = await measureRaw(options, 'before', startedAtMs + limitMs * RAW_BEFORE_TIME_SHARE);
  if (before !== null) rawRuns.push(before);
  const broker = await BrokerProcess.start({ brookBin: options.brookBin, fsync: options.fsync });
  process.stderr.write(`bench: broker pid ${broker.pid} at ${broker.address}\n`);
  let brook: BrookPhases;
  let dataDir: DirSize | null = null;
  try {
    brook = await runBrook(options, broker, pool, startedAtMs + limitMs * BROOK_TIME_SHARE);
  } finally {
    await broker.stop();
    dataDir = await dirSize(broker.dataDir);
    await broker.dispose();
  }
  const after = await measureRaw(options, 'after', startedAtMs + limitMs);
  if (after !== null) rawRuns.push(after);
  for (const when of ['before', 'after'] as const) {
    if (!rawRuns.some((r) => r.run.when === when)) {
      notes.push(`raw LevelDB run ${when} the broker skipped: too little of --max-seconds left`);
    }
  }
  return assembleReport(options, startedAtMs, {
    brook,
    rawRuns,
    dataDir,
    brokerWarnings: broker.warningCount,
    notes,
  });
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

/** Everything the run measured, before it is turned into figures. */
interface Measurements {
  readonly brook: BrookPhases;
  readonly rawRuns: readonly RawResultOf[];
  readonly dataDir: DirSize | null;
  readonly brokerWarnings: number;
  readonly notes: string[];
}

function assembleReport(options: BenchOptions, startedAtMs: number, m: Measurements): BenchReport {
  const { brook, notes } = m;
  const runs = m.rawRuns.map((r) => r.run);
  const raw =
    runs.length === 0
      ? null
      : rawFigures(
          runs,
          rawGroupBatches(options),
          m.rawRuns[0]!.valueBytesPerBatch,
          options.fsync === 'always',
        );
  const produced = produceFigures(brook.produced, brook.produceCpu);
  const consumed = brook.consumed === null ? null : phaseFigures(brook.consumed, brook.consumeCpu);
  const ratio = (brookMbPerSec: number, rawMbPerSec: number | null): number | null =>
    rawMbPerSec === null || rawMbPerSec <= 0 ? null : round(brookMbPerSec / rawMbPerSec, 3);
  const produceRatio =
    options.workload === 'produce' ? ratio(produced.mbPerSec, raw?.writeMbPerSec ?? null) : null;
  const consumeRatio =
    consumed === null ? null : ratio(consumed.mbPerSec, raw?.readMbPerSec ?? null);
  if (options.workload === 'consume') {
    notes.push('the preload line is not the measurement: it only fills the topic');
  }
  const measured = options.workload === 'produce' ? produced : consumed;
  const otherCores = measured?.cpu?.otherCores ?? null;
  if (otherCores !== null && otherCores > OTHER_CORES_NOTICEABLE) {
    notes.push(
      `other processes kept ${otherCores} of ${machineFacts().cores} cores busy during the ` +
        `measured phase: the machine was shared, so the figures are low and noisy`,
    );
  }
  const isComplete =
    produced.isComplete &&
    (consumed?.isComplete ?? true) &&
    runs.length === 2 &&
    runs.every((r) => r.write.isComplete && (r.read?.isComplete ?? true));
  return {
    benchmark: options.workload,
    startedAt: new Date(startedAtMs).toISOString(),
    isComplete,
    settings: settingsOf(options),
    machine: machineFacts(),
    produce: produced,
    consume: consumed,
    writeAmplification: writeAmplification(
      brook.produced.payloadBytes,
      brook.produceIo,
      brook.settledIo,
      brook.settleSeconds,
    ),
    dataDir: m.dataDir,
    rawLevelDb: raw === null ? null : { ...raw, hasStateKey: options.hasRawStateKey },
    ratios: { produceToRawWrite: produceRatio, consumeToRawRead: consumeRatio },
    targets: targets(options, consumed, produceRatio),
    brokerWarnings: m.brokerWarnings,
    notes,
  };
}

function settingsOf(options: BenchOptions): BenchReport['settings'] {
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
    maxSeconds: options.maxSeconds,
  };
}

interface BrookPhases {
  readonly produced: ProduceResult;
  readonly produceCpu: CpuUse;
  readonly produceIo: ProcIo | null;
  /** From the start of the produce phase until the broker's compactions were done. */
  readonly settledIo: ProcIo | null;
  readonly settleSeconds: number;
  readonly consumed: PhaseResult | null;
  readonly consumeCpu: CpuUse | null;
}

/** Steps 2-4 against the running broker. */
async function runBrook(
  options: BenchOptions,
  broker: BrokerProcess,
  pool: readonly Buffer[],
  deadlineMs: number,
): Promise<BrookPhases> {
  await createTopic(broker.address, options.partitionCount);
  const ioBefore = await readProcIo(broker.pid);
  const label = options.workload === 'produce' ? 'produce' : 'preload (not measured)';
  const stopProduceMeter = await startCpuMeter(broker.pid);
  const produced = await produce(options, broker.address, TOPIC, pool, deadlineMs, label);
  const produceCpu = await stopProduceMeter();
  const ioAfterProduce = await readProcIo(broker.pid);
  // Compactions the produce phase set off belong to its cost; for consume, waiting also keeps
  // them out of the measured read.
  const settled = await waitForWritesToSettle(broker.pid, deadlineMs);
  let consumed: PhaseResult | null = null;
  let consumeCpu: CpuUse | null = null;
  if (options.workload === 'consume') {
    const stopConsumeMeter = await startCpuMeter(broker.pid);
    consumed = await consume(options, broker.address, TOPIC, produced.records, deadlineMs);
    consumeCpu = await stopConsumeMeter();
  }
  return {
    produced,
    produceCpu,
    produceIo: ioDelta(ioBefore, ioAfterProduce),
    settledIo: ioDelta(ioBefore, settled.io),
    settleSeconds: settled.seconds,
    consumed,
    consumeCpu,
  };
}

async function createTopic(bootstrap: string, partitions: number): Promise<void> {
  const admin = new Admin({ bootstrap });
  try {
    const [result] = await admin.createTopics([{ name: TOPIC, partitions }]);
    if (result === undefined) throw new Error('CreateTopics answered without a result');
    if (result.error !== undefined) throw result.error;
  } finally {
    await admin.close();
  }
}

/** Removes the broker and temp dirs on every way out: an error, Ctrl-C, SIGTERM, exit. */
function installExitHandlers(): void {
  let isStopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (isStopping) return;
    isStopping = true;
    process.stderr.write(`\nbench: ${signal}; stopping the broker and removing temp dirs\n`);
    killRawChildren();
    killRawGrpcChildren();
    disposeLiveBrokers().then(
      () => process.exit(130),
      () => process.exit(130),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    killRawChildren();
    killRawGrpcChildren();
    killLiveBrokers();
  });
}

main().catch(async (error: unknown) => {
  process.stderr.write(
    `bench: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`,
  );
  killRawChildren();
  killRawGrpcChildren();
  await disposeLiveBrokers();
  process.exit(1);
});
