/**
 * The benchmark's result: one plain object (printed as JSON with --json, so a note can quote
 * it) and its human-readable rendering. MB is 10^6 bytes; payload bytes are records × record
 * bytes (values only), the unit of every MB/s and of the write-amplification ratios.
 */
import {
  MB,
  formatInt,
  round,
  type CpuUse,
  type DirSize,
  type MachineFacts,
  type ProcIo,
} from './measure.js';
import type { BenchOptions } from './options.js';
import type { RawPhase, RawResult } from './raw-limits.js';
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

export interface Target {
  readonly name: string;
  /** Null when the run's settings are not the ones the target is defined for. */
  readonly isMet: boolean | null;
  readonly value: number | null;
  readonly threshold: number;
  readonly note: string;
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
    readonly maxSeconds: number;
  };
  readonly machine: MachineFacts;
  /** The measured produce phase (produce), or the unmeasured preload (consume). */
  readonly produce: (PhaseFigures & { readonly latency: LatencySummary }) | null;
  readonly consume: PhaseFigures | null;
  readonly writeAmplification: WriteAmplification | null;
  readonly dataDir: DirSize | null;
  readonly rawLevelDb: (RawFigures & { readonly hasStateKey: boolean }) | null;
  readonly ratios: {
    /** Brook produce MB/s ÷ raw LevelDB write MB/s (payload basis). */
    readonly produceToRawWrite: number | null;
    /** Brook consume MB/s ÷ raw LevelDB sequential-read MB/s (payload basis). */
    readonly consumeToRawRead: number | null;
  };
  readonly targets: readonly Target[];
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

export function produceFigures(
  phase: ProduceResult,
  cpu: CpuUse | null,
): PhaseFigures & { readonly latency: LatencySummary } {
  return { ...phaseFigures(phase, cpu), latency: phase.latency };
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
    });
  }
  if (options.workload === 'consume') {
    out.push({
      name: 'consume throughput >= 100 MB/s',
      isMet: isReference && consume !== null ? consume.mbPerSec >= 100 : null,
      value: consume?.mbPerSec ?? null,
      threshold: 100,
      note: isReference ? 'defined for 1 KiB records' : 'not applicable: defined for 1 KiB records',
    });
  }
  return out;
}

/** Adds one labelled line to the text block. */
type Row = (label: string, text: string) => void;

/** The human-readable block. */
export function renderText(report: BenchReport): string {
  const lines: string[] = [];
  const row: Row = (label, text) => {
    lines.push(`${label.padEnd(18)}${text}`);
  };
  lines.push(
    `Brook bench: ${report.benchmark}${report.isComplete ? '' : ' (INCOMPLETE: time limit)'}`,
  );
  renderSetup(report, row);
  renderBrook(report, row);
  renderStorage(report, row);
  renderRaw(report, row);
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
    row(
      '  latency (ms)',
      `p50 ${p.latency.p50Ms}  p99 ${p.latency.p99Ms}  p99.9 ${p.latency.p999Ms}  ` +
        `max ${p.latency.maxMs}  mean ${p.latency.meanMs}  (send() to resolved)`,
    );
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
  if (r.consumeToRawRead !== null) {
    row('ratio', `consume = ${pct(r.consumeToRawRead)} of raw LevelDB read MB/s`);
  }
  for (const target of report.targets) {
    const verdict = target.isMet === null ? 'n/a' : target.isMet ? 'MET' : 'NOT MET';
    row('target', `${target.name}: ${verdict} (${target.note})`);
  }
  if (report.brokerWarnings > 0) {
    row('broker', `${report.brokerWarnings} warning/error log lines`);
  }
  for (const note of report.notes) row('note', note);
}

function phaseText(phase: PhaseFigures): string {
  const records = phase.records > 0 ? `${formatInt(phase.records)} records, ` : '';
  const rate = phase.records > 0 ? `${formatInt(phase.recordsPerSec)} records/s, ` : '';
  return (
    `${records}${mb(phase.payloadBytes)} in ${phase.seconds.toFixed(2)} s: ${rate}` +
    `${phase.mbPerSec.toFixed(1)} MB/s${phase.isComplete ? '' : ' (stopped by the time limit)'}`
  );
}

/** CPU per process; a raw LevelDB phase has no broker, and its child is the "client". */
function cpuText(cpu: CpuFigures): string {
  const one = (name: string, seconds: number | null, cores: number | null): string =>
    seconds === null ? `${name} n/a` : `${name} ${seconds.toFixed(2)} s (${cores} cores)`;
  const isRaw = cpu.brokerSeconds === null;
  const parts = isRaw ? [] : [one('broker', cpu.brokerSeconds, cpu.brokerCores)];
  parts.push(one(isRaw ? 'raw child' : 'client', cpu.clientSeconds, cpu.clientCores));
  parts.push(one('other processes', cpu.otherSeconds, cpu.otherCores));
  return parts.join(', ');
}

function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}
