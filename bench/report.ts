/**
 * The benchmark's result: one plain object (printed as JSON with --json, so a note can quote
 * it) and its human-readable rendering. MB is 10^6 bytes; payload bytes are records × record
 * bytes (values only), the unit of every MB/s and of the write-amplification ratios.
 */
import type { ClusterPhases } from './cluster-bench.js';
import { renderCluster, renderComparison, renderOneAtATime } from './cluster-report.js';
import { renderRawFloors, type RawFloorFigures } from './floor-report.js';
import {
  MB,
  formatInt,
  round,
  type CpuUse,
  type DirSize,
  type MachineFacts,
  type ProcIo,
} from './measure.js';
import { WARMUP_RECORDS } from './one-at-a-time.js';
import type { BenchOptions } from './options.js';
import type { OneAtATimePhase } from './phases.js';
import type { RawPhase, RawResult } from './raw-limits.js';
import {
  LABEL_WIDTH,
  cpuText,
  latencyText,
  mb,
  pct,
  phaseText,
  type Row,
} from './report-format.js';
import type { LatencySummary, PhaseResult, ProduceResult } from './workloads.js';

export interface PhaseFigures {
  readonly records: number;
  readonly payloadBytes: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  readonly isComplete: boolean;
  /** CPU seconds over the phase, and the same as cores busy on average (seconds ÷ phase). */
  readonly cpu: CpuFigures | null;
}

export interface CpuFigures {
  readonly brokerSeconds: number | null;
  readonly brokerCores: number | null;
  readonly clientSeconds: number | null;
  readonly clientCores: number | null;
  /** Everything else on the machine: above ~0.2 cores the run did not have it to itself. */
  readonly otherSeconds: number | null;
  readonly otherCores: number | null;
}

export interface WriteAmplification {
  /** Payload bytes produced in the phase the counters cover. */
  readonly payloadBytes: number;
  /** The broker's /proc/<pid>/io over the produce phase. */
  readonly writeBytes: number;
  readonly wcharBytes: number;
  /** write_bytes ÷ payload bytes: bytes written to disk per byte produced. */
  readonly diskBytesPerPayloadByte: number;
  /** wchar ÷ payload bytes: bytes through write(2) (sockets too) per byte produced. */
  readonly wcharBytesPerPayloadByte: number;
  /** write_bytes from the start of the produce phase until compactions after it were done. */
  readonly settledWriteBytes: number | null;
  readonly settledDiskBytesPerPayloadByte: number | null;
  /** How long the broker went on writing after the last ack (compactions), at most 30 s. */
  readonly settleSeconds: number;
}

/** One raw LevelDB run. */
export interface RawRun {
  /** 'before': before the broker started; 'after': after it stopped. */
  readonly when: 'before' | 'after';
  readonly write: PhaseFigures & {
    readonly diskBytesPerPayloadByte: number | null;
    readonly settledDiskBytesPerPayloadByte: number | null;
  };
  readonly read: PhaseFigures | null;
}

/**
 * The yardstick: raw LevelDB measured before the broker started and after it stopped; the
 * ratios use the mean of the two, so a disk that drifts during the run moves both sides.
 */
export interface RawFigures {
  readonly groupBatches: number;
  readonly valueBytesPerBatch: number;
  readonly sync: boolean;
  readonly runs: readonly RawRun[];
  readonly writeMbPerSec: number | null;
  readonly readMbPerSec: number | null;
}

/** A phase with per-record latencies: a produce phase. */
export type LatencyPhaseFigures = PhaseFigures & { readonly latency: LatencySummary };

/** The replicated cluster's batching produce (cluster-bench.ts). */
export interface ClusterFigures {
  readonly nodes: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  /** Leader node id of each partition when the produce phase started. */
  readonly leaders: readonly number[];
  /** CPU: brokerSeconds is the sum over the nodes. */
  readonly produce: LatencyPhaseFigures;
  /** Disk writes of all nodes together ÷ payload bytes: about R × one node's. */
  readonly writeAmplification: WriteAmplification | null;
  /** The nodes' data dirs together, after they stopped. */
  readonly dataDirs: DirSize | null;
  /** Warning and error lines the nodes logged until the measured phases ended (not at stop). */
  readonly brokerWarnings: number;
}

/** One record at a time, each ack awaited (one-at-a-time.ts), on each target. */
export interface OneAtATimeFigures {
  readonly lingerMs: number;
  /** Records sent before the measured ones, not counted. */
  readonly warmupRecords: number;
  readonly singleNode: LatencyPhaseFigures | null;
  readonly cluster: LatencyPhaseFigures | null;
}

export interface Target {
  readonly name: string;
  /** Null when the run's settings are not the ones the target is defined for. */
  readonly isMet: boolean | null;
  readonly value: number | null;
  readonly threshold: number;
  readonly note: string;
  /**
   * `bench produce`'s cluster targets: the best this machine allows, from the raw floors; null
   * when not measured. The other workloads leave it out.
   */
  readonly floor?: TargetFloor | null;
}

export interface TargetFloor {
  readonly value: number;
  /** How the text block states it, e.g. "raw floor estimate p99 6.2 ms on this machine". */
  readonly text: string;
}

export interface BenchReport {
  readonly benchmark: 'produce' | 'consume';
  readonly startedAt: string;
  readonly isComplete: boolean;
  readonly settings: {
    readonly records: number;
    readonly recordBytes: number;
    readonly batchRecords: number;
    readonly batchBytesMax: number;
    readonly acks: string;
    readonly partitions: number;
    readonly compression: string;
    readonly fsync: string;
    readonly windowRecords: number;
    readonly lingerMs: number;
    /** 0: no cluster phases. */
    readonly clusterNodes: number;
    readonly replicationFactor: number;
    /** 0: no one-at-a-time phases. */
    readonly oneAtATimeRecords: number;
    readonly maxSeconds: number;
  };
  readonly machine: MachineFacts;
  /** The measured produce phase (produce), or the unmeasured preload (consume). */
  readonly produce: LatencyPhaseFigures | null;
  readonly consume: PhaseFigures | null;
  readonly writeAmplification: WriteAmplification | null;
  readonly dataDir: DirSize | null;
  readonly rawLevelDb: (RawFigures & { readonly hasStateKey: boolean }) | null;
  /** The replicated cluster (produce only); null when --cluster-nodes 0 or it failed. */
  readonly cluster: ClusterFigures | null;
  /** Null for consume, or with --one-at-a-time-records 0. */
  readonly oneAtATime: OneAtATimeFigures | null;
  /** The cluster targets' raw floors (floor-report.ts); null when neither phase is asked for. */
  readonly rawFloors: RawFloorFigures | null;
  readonly ratios: {
    /** Brook produce MB/s ÷ raw LevelDB write MB/s (payload basis). */
    readonly produceToRawWrite: number | null;
    /** The cluster's produce MB/s ÷ raw LevelDB write MB/s (payload basis, one copy). */
    readonly clusterProduceToRawWrite: number | null;
    /** Brook consume MB/s ÷ raw LevelDB sequential-read MB/s (payload basis). */
    readonly consumeToRawRead: number | null;
  };
  readonly targets: readonly Target[];
  /** Warning and error log lines of the single broker. */
  readonly brokerWarnings: number;
  readonly notes: readonly string[];
}

export function phaseFigures(phase: PhaseResult, cpu: CpuUse | null = null): PhaseFigures {
  const seconds = Math.max(phase.seconds, 1e-9);
  const cores = (cpuSeconds: number | null): number | null =>
    cpuSeconds === null ? null : round(cpuSeconds / seconds, 2);
  return {
    records: phase.records,
    payloadBytes: phase.payloadBytes,
    seconds: round(phase.seconds, 3),
    recordsPerSec: round(phase.records / seconds, 0),
    mbPerSec: round(phase.payloadBytes / MB / seconds, 2),
    isComplete: phase.isComplete,
    cpu:
      cpu === null
        ? null
        : {
            brokerSeconds: cpu.brokerSeconds === null ? null : round(cpu.brokerSeconds, 2),
            brokerCores: cores(cpu.brokerSeconds),
            clientSeconds: cpu.clientSeconds === null ? null : round(cpu.clientSeconds, 2),
            clientCores: cores(cpu.clientSeconds),
            otherSeconds: cpu.otherSeconds === null ? null : round(cpu.otherSeconds, 2),
            otherCores: cores(cpu.otherSeconds),
          },
  };
}

export function produceFigures(phase: ProduceResult, cpu: CpuUse | null): LatencyPhaseFigures {
  return { ...phaseFigures(phase, cpu), latency: phase.latency };
}

export function clusterFigures(phases: ClusterPhases): ClusterFigures {
  const { produce } = phases;
  return {
    nodes: phases.nodes,
    replicationFactor: phases.replicationFactor,
    minInsyncReplicas: phases.minInsyncReplicas,
    leaders: phases.leaders,
    produce: produceFigures(produce.produced, produce.cpu),
    writeAmplification: writeAmplification(
      produce.produced.payloadBytes,
      produce.io,
      produce.settledIo,
      produce.settleSeconds,
    ),
    dataDirs: phases.dataDirs,
    brokerWarnings: phases.brokerWarnings,
  };
}

export function oneAtATimeFigures(
  singleNode: OneAtATimePhase | null,
  cluster: OneAtATimePhase | null,
): OneAtATimeFigures {
  const figures = (phase: OneAtATimePhase | null): LatencyPhaseFigures | null =>
    phase === null ? null : produceFigures(phase.produced, phase.cpu);
  return {
    lingerMs: 0,
    warmupRecords: WARMUP_RECORDS,
    singleNode: figures(singleNode),
    cluster: figures(cluster),
  };
}

export function writeAmplification(
  payloadBytes: number,
  produceIo: ProcIo | null,
  settledIo: ProcIo | null,
  settleSeconds: number,
): WriteAmplification | null {
  if (produceIo === null || payloadBytes === 0) return null;
  return {
    payloadBytes,
    writeBytes: produceIo.writeBytes,
    wcharBytes: produceIo.wcharBytes,
    diskBytesPerPayloadByte: round(produceIo.writeBytes / payloadBytes, 3),
    wcharBytesPerPayloadByte: round(produceIo.wcharBytes / payloadBytes, 3),
    settledWriteBytes: settledIo?.writeBytes ?? null,
    settledDiskBytesPerPayloadByte:
      settledIo === null ? null : round(settledIo.writeBytes / payloadBytes, 3),
    settleSeconds: round(settleSeconds, 1),
  };
}

export function rawRun(raw: RawResult, when: 'before' | 'after', recordBytes: number): RawRun {
  const amplification = (io: ProcIo | null): number | null =>
    io === null || raw.write.payloadBytes === 0
      ? null
      : round(io.writeBytes / raw.write.payloadBytes, 3);
  return {
    when,
    write: {
      ...rawPhaseFigures(raw.write, recordBytes),
      diskBytesPerPayloadByte: amplification(raw.writeIo),
      settledDiskBytesPerPayloadByte: amplification(raw.settledWriteIo),
    },
    read: raw.read === null ? null : rawPhaseFigures(raw.read, recordBytes),
  };
}

export function rawFigures(
  runs: readonly RawRun[],
  groupBatches: number,
  valueBytesPerBatch: number,
  sync: boolean,
): RawFigures {
  const mean = (values: readonly number[]): number | null =>
    values.length === 0 ? null : round(values.reduce((a, b) => a + b, 0) / values.length, 2);
  const reads: number[] = [];
  for (const run of runs) if (run.read !== null) reads.push(run.read.mbPerSec);
  return {
    groupBatches,
    valueBytesPerBatch,
    sync,
    runs,
    writeMbPerSec: mean(runs.map((run) => run.write.mbPerSec)),
    readMbPerSec: mean(reads),
  };
}

function rawPhaseFigures(phase: RawPhase, recordBytes: number): PhaseFigures {
  return phaseFigures(
    {
      records: phase.payloadBytes / recordBytes,
      payloadBytes: phase.payloadBytes,
      seconds: phase.seconds,
      isComplete: phase.isComplete,
    },
    { brokerSeconds: null, clientSeconds: phase.cpuSeconds, otherSeconds: phase.otherSeconds },
  );
}

/** The targets; each applies only to the settings it is defined for. */
export function targets(
  options: BenchOptions,
  consume: PhaseFigures | null,
  produceRatio: number | null,
  cluster: ClusterFigures | null = null,
  oneAtATime: OneAtATimeFigures | null = null,
  rawFloors: RawFloorFigures | null = null,
): Target[] {
  const out: Target[] = [];
  const isReference = options.recordBytes === 1024;
  if (options.workload === 'produce') {
    const applies = isReference && options.batchRecords > 1 && options.fsync === 'always';
    out.push({
      name: 'produce throughput >= 40% of raw LevelDB write',
      isMet: applies && produceRatio !== null ? produceRatio >= 0.4 : null,
      value: produceRatio,
      threshold: 0.4,
      note: applies
        ? 'defined for 1 KiB records, producer batching on, fsync=always'
        : 'not applicable: defined for 1 KiB records, batching on, fsync=always',
      floor: null,
    });
  }
  if (options.workload === 'consume') {
    out.push({
      name: 'consume throughput >= 100 MB/s',
      isMet: isReference && consume !== null ? consume.mbPerSec >= 100 : null,
      value: consume?.mbPerSec ?? null,
      threshold: 100,
      note: isReference ? 'defined for 1 KiB records' : 'not applicable: defined for 1 KiB records',
      floor: null,
    });
  }
  if (options.workload === 'produce' && options.clusterNodes > 0) {
    out.push(...clusterTargets(options, cluster, oneAtATime, rawFloors));
  }
  return out;
}

/** The replicated cluster's targets: 3 nodes, RF 3, acks=all, 1 KiB records. */
function clusterTargets(
  options: BenchOptions,
  cluster: ClusterFigures | null,
  oneAtATime: OneAtATimeFigures | null,
  rawFloors: RawFloorFigures | null,
): Target[] {
  const out: Target[] = [];
  const bound = rawFloors?.cpuFloor?.boundMbPerSec ?? null;
  const p99Floor = rawFloors?.ackFloor?.cluster?.p99Ms ?? null;
  const settings = 'fsync=always';
  const applies =
    options.clusterNodes === 3 &&
    options.replicationFactor === 3 &&
    options.acks === 'all' &&
    options.recordBytes === 1024 &&
    options.fsync === 'always';
  const defined = `defined for 3 nodes, RF 3, acks=all, 1 KiB records, ${settings}`;
  const isBatching = options.batchRecords > 1;
  const mbPerSec = cluster?.produce.mbPerSec ?? null;
  out.push({
    name: 'cluster batching produce >= 50 MB/s',
    isMet: applies && isBatching && mbPerSec !== null ? mbPerSec >= 50 : null,
    value: mbPerSec,
    threshold: 50,
    note: applies && isBatching ? defined : `not applicable: ${defined}, batching on`,
    floor:
      bound === null
        ? null
        : { value: bound, text: `raw CPU floor bound ${bound} MB/s on this machine` },
  });
  if (options.oneAtATimeRecords > 0) {
    const measured = oneAtATime?.cluster ?? null;
    const p99 = measured !== null && measured.records > 0 ? measured.latency.p99Ms : null;
    out.push({
      name: 'cluster one-at-a-time p99 latency <= 3 ms',
      isMet: applies && p99 !== null ? p99 <= 3 : null,
      value: p99,
      threshold: 3,
      note: applies ? defined : `not applicable: ${defined}`,
      floor:
        p99Floor === null
          ? null
          : { value: p99Floor, text: `raw floor estimate p99 ${p99Floor} ms on this machine` },
    });
  }
  return out;
}

/** The human-readable block. */
export function renderText(report: BenchReport): string {
  const lines: string[] = [];
  const row: Row = (label, text) => {
    lines.push(`${label.padEnd(LABEL_WIDTH)}${text}`);
  };
  lines.push(
    `Brook bench: ${report.benchmark}` +
      (report.isComplete ? '' : ' (INCOMPLETE: a phase was cut short or skipped, see below)'),
  );
  renderSetup(report, row);
  renderBrook(report, row);
  renderStorage(report, row);
  renderCluster(report, row);
  renderOneAtATime(report, row);
  renderRaw(report, row);
  renderRawFloors(report, row);
  renderComparison(report, row);
  renderVerdicts(report, row);
  return lines.join('\n');
}

function renderSetup(report: BenchReport, row: Row): void {
  const s = report.settings;
  const m = report.machine;
  row(
    'settings',
    `${formatInt(s.records)} records × ${formatInt(s.recordBytes)} B, batches of ` +
      `${s.batchRecords} (batchBytesMax ${formatInt(s.batchBytesMax)}), linger ${s.lingerMs} ms, ` +
      `acks=${s.acks}, partitions=${s.partitions}, compression=${s.compression}, ` +
      `fsync=${s.fsync}, window ${formatInt(s.windowRecords)}`,
  );
  if (report.benchmark === 'produce' && (s.clusterNodes > 0 || s.oneAtATimeRecords > 0)) {
    row(
      '',
      (s.clusterNodes > 0
        ? `cluster: ${s.clusterNodes} nodes, replication factor ${s.replicationFactor}; `
        : 'no cluster; ') +
        (s.oneAtATimeRecords > 0
          ? `one at a time: ${formatInt(s.oneAtATimeRecords)} records per target`
          : 'no one-at-a-time phase'),
    );
  }
  row(
    'machine',
    `${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `node ${m.node}, ${m.platform}, kernel ${m.kernel}`,
  );
}

function renderBrook(report: BenchReport, row: Row): void {
  if (report.produce !== null) {
    const p = report.produce;
    row(report.benchmark === 'produce' ? 'produce' : 'preload', phaseText(p));
    row('  latency (ms)', `${latencyText(p.latency)}  (send() to resolved)`);
    if (p.cpu !== null) row('  CPU', cpuText(p.cpu));
  }
  if (report.consume !== null) {
    row('consume', phaseText(report.consume));
    if (report.consume.cpu !== null) row('  CPU', cpuText(report.consume.cpu));
  }
}

function renderStorage(report: BenchReport, row: Row): void {
  const w = report.writeAmplification;
  if (w === null) {
    row('write amp.', 'n/a (/proc/<pid>/io not readable)');
  } else {
    row(
      'write amp.',
      `${w.diskBytesPerPayloadByte} disk bytes per payload byte (write_bytes ` +
        `${mb(w.writeBytes)} for ${mb(w.payloadBytes)} produced); ` +
        `wchar ${w.wcharBytesPerPayloadByte} B/B`,
    );
    if (w.settledDiskBytesPerPayloadByte !== null && w.settledWriteBytes !== null) {
      row(
        '',
        `${w.settledDiskBytesPerPayloadByte} B/B once compactions were done ` +
          `(${mb(w.settledWriteBytes)}; writes went on ${w.settleSeconds} s after the last ack)`,
      );
    }
  }
  const d = report.dataDir;
  if (d !== null) {
    row(
      'data dir at end',
      `${mb(d.bytes)} in ${d.files} files (allocated ${mb(d.allocatedBytes)})`,
    );
  }
}

function renderRaw(report: BenchReport, row: Row): void {
  const raw = report.rawLevelDb;
  if (raw === null) {
    row('raw LevelDB', 'not measured (no time left)');
    return;
  }
  row(
    'raw LevelDB',
    `${raw.groupBatches} values of ${formatInt(raw.valueBytesPerBatch)} B per db.batch(), ` +
      `sync: ${raw.sync}${raw.hasStateKey ? ', + state key per write' : ''}; ` +
      `mean write ${raw.writeMbPerSec ?? 'n/a'} MB/s` +
      (raw.readMbPerSec === null ? '' : `, mean read ${raw.readMbPerSec} MB/s`),
  );
  for (const run of raw.runs) {
    const write = run.write;
    row(
      `  write (${run.when})`,
      `${phaseText(write)}; write amp. ${write.diskBytesPerPayloadByte ?? 'n/a'} B/B, ` +
        `${write.settledDiskBytesPerPayloadByte ?? 'n/a'} settled`,
    );
    if (write.cpu !== null) row('    CPU', cpuText(write.cpu));
    if (run.read !== null) {
      row(`  read (${run.when})`, phaseText(run.read));
      if (run.read.cpu !== null) row('    CPU', cpuText(run.read.cpu));
    }
  }
}

function renderVerdicts(report: BenchReport, row: Row): void {
  const r = report.ratios;
  if (r.produceToRawWrite !== null) {
    row('ratio', `produce = ${pct(r.produceToRawWrite)} of raw LevelDB write MB/s`);
  }
  if (r.clusterProduceToRawWrite !== null) {
    row(
      'ratio',
      `cluster produce = ${pct(r.clusterProduceToRawWrite)} of raw LevelDB write MB/s ` +
        `(one copy; the cluster writes ${report.cluster?.replicationFactor ?? '?'})`,
    );
  }
  if (r.consumeToRawRead !== null) {
    row('ratio', `consume = ${pct(r.consumeToRawRead)} of raw LevelDB read MB/s`);
  }
  for (const target of report.targets) {
    const verdict = target.isMet === null ? 'n/a' : target.isMet ? 'MET' : 'NOT MET';
    const value = target.value === null ? '' : `${target.value}; `;
    // Where the target applies, what this machine allows at best says more than the settings.
    const floor = target.floor ?? null;
    const detail = target.isMet !== null && floor !== null ? floor.text : target.note;
    row('target', `${target.name}: ${verdict} (${value}${detail})`);
  }
  if (report.brokerWarnings > 0) {
    row('broker', `${report.brokerWarnings} warning/error log lines`);
  }
  if (report.cluster !== null && report.cluster.brokerWarnings > 0) {
    row('cluster', `${report.cluster.brokerWarnings} warning/error log lines`);
  }
  for (const note of report.notes) row('note', note);
}
