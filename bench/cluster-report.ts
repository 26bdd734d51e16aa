/**
 * The human-readable lines of `bench produce`'s replicated cluster and one-at-a-time phases, and
 * the two summary tables that put every target side by side: batching throughput (raw LevelDB,
 * single node, cluster, the raw CPU floor's bound) and one-record-at-a-time latency (single
 * node, cluster, the raw sync write and gRPC call, the sampled ack floors).
 */
import type { AckFloorEstimate, RawLatencyFigures } from './floor-report.js';
import { formatInt } from './measure.js';
import type { BenchReport, LatencyPhaseFigures } from './report.js';
import { cpuText, latencyText, mb, pct, phaseText, type Row } from './report-format.js';

/** Width of each number column of the summary tables. */
const COLUMN_WIDTH = 11;

export function renderCluster(report: BenchReport, row: Row): void {
  const c = report.cluster;
  if (c === null) return;
  row(
    'cluster',
    `${c.nodes} brokers on loopback, each a Raft voter; topic RF ${c.replicationFactor}, ` +
      `min.insync.replicas ${c.minInsyncReplicas}, leader: node ${c.leaders.join(', ')}; ` +
      `fsync=${report.settings.fsync}`,
  );
  row('  produce', phaseText(c.produce));
  row('  latency (ms)', `${latencyText(c.produce.latency)}  (send() to resolved)`);
  if (c.produce.cpu !== null) row('  CPU', cpuText(c.produce.cpu, `${c.nodes} brokers`));
  const w = c.writeAmplification;
  if (w !== null) {
    row(
      '  write amp.',
      `${w.diskBytesPerPayloadByte} disk bytes per payload byte, all nodes together ` +
        `(write_bytes ${mb(w.writeBytes)}); ${w.settledDiskBytesPerPayloadByte ?? 'n/a'} B/B ` +
        `once compactions were done`,
    );
  }
  const d = c.dataDirs;
  if (d !== null) {
    row('  data dirs', `${mb(d.bytes)} in ${d.files} files, all nodes together at the end`);
  }
}

export function renderOneAtATime(report: BenchReport, row: Row): void {
  const o = report.oneAtATime;
  if (o === null) return;
  row(
    'one at a time',
    `acks=${report.settings.acks}, lingerMs ${o.lingerMs}, one record in flight, each ack ` +
      `awaited before the next send; ${o.warmupRecords} warm-up records not counted`,
  );
  const phase = (label: string, figures: LatencyPhaseFigures | null, brokers: string): void => {
    if (figures === null) return;
    row(`  ${label}`, phaseText(figures));
    row('    latency (ms)', `${latencyText(figures.latency)}  (send() to resolved)`);
    if (figures.cpu !== null) row('    CPU', cpuText(figures.cpu, brokers));
  };
  phase('single node', o.singleNode, 'broker');
  const cluster = report.cluster;
  phase(
    clusterLabel(report),
    o.cluster,
    `${cluster?.nodes ?? report.settings.clusterNodes} brokers`,
  );
}

/** The two summary tables: batching throughput against raw LevelDB, and one-at-a-time latency. */
export function renderComparison(report: BenchReport, row: Row): void {
  if (report.benchmark !== 'produce' || (report.cluster === null && report.oneAtATime === null)) {
    return;
  }
  const cells = (values: readonly string[]): string =>
    values.map((v) => v.padStart(COLUMN_WIDTH)).join('');
  const raw = report.rawLevelDb;
  const runs = raw?.runs ?? [];
  const rawRecordsPerSec =
    runs.length === 0
      ? null
      : runs.reduce((sum, r) => sum + r.write.recordsPerSec, 0) / runs.length;
  row('batching', cells(['records/s', 'MB/s', 'of raw']));
  row(
    '  raw LevelDB',
    cells([
      rawRecordsPerSec === null ? 'n/a' : formatInt(rawRecordsPerSec),
      raw?.writeMbPerSec?.toFixed(1) ?? 'n/a',
      raw?.writeMbPerSec == null ? 'n/a' : '100.0%',
    ]),
  );
  const throughput = (label: string, f: LatencyPhaseFigures | null, ratio: number | null): void => {
    if (f === null) return;
    row(`  ${label}`, cells([formatInt(f.recordsPerSec), f.mbPerSec.toFixed(1), ratioText(ratio)]));
  };
  throughput('single node', report.produce, report.ratios.produceToRawWrite);
  throughput(
    clusterLabel(report),
    report.cluster?.produce ?? null,
    report.ratios.clusterProduceToRawWrite,
  );
  const floors = report.rawFloors;
  const cpuFloor = floors?.cpuFloor ?? null;
  if (cpuFloor !== null) {
    // Not a measured rate: what the cores allow at the raw floor's CPU per MB.
    row(
      `  CPU floor RF ${cpuFloor.replicationFactor}`,
      cells(['bound', cpuFloor.boundMbPerSec.toFixed(1)]),
    );
  }
  const o = report.oneAtATime;
  if (o === null) return;
  row('one at a time', cells(['records/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms']));
  const latency = (label: string, f: LatencyPhaseFigures | null): void => {
    if (f === null) return;
    const l = f.latency;
    row(
      `  ${label}`,
      cells([formatInt(f.recordsPerSec), ms(l.p50Ms), ms(l.p99Ms), ms(l.p999Ms), ms(l.maxMs)]),
    );
  };
  latency('single node', o.singleNode);
  latency(clusterLabel(report), o.cluster);
  const rawLatency = (label: string, f: RawLatencyFigures | null): void => {
    if (f === null) return;
    const l = f.latency;
    row(
      `  ${label}`,
      cells([formatInt(f.perSec), ms(l.p50Ms), ms(l.p99Ms), ms(l.p999Ms), ms(l.maxMs)]),
    );
  };
  rawLatency('raw sync write', floors?.syncWrites ?? null);
  rawLatency('raw gRPC call', floors?.roundTrips ?? null);
  // Sampled estimates: only p50 and p99 are printed (see the raw floors block).
  const floor = (label: string, e: AckFloorEstimate | null): void => {
    if (e === null) return;
    row(`  ${label}`, cells(['est.', ms(e.p50Ms), ms(e.p99Ms)]));
  };
  const ackFloor = floors?.ackFloor ?? null;
  floor('floor 1 node', ackFloor?.singleNode ?? null);
  floor(`floor RF ${ackFloor?.cluster?.replicationFactor ?? ''}`, ackFloor?.cluster ?? null);
}

function ms(value: number): string {
  return value.toFixed(2);
}

function clusterLabel(report: BenchReport): string {
  return `cluster RF ${report.cluster?.replicationFactor ?? report.settings.replicationFactor}`;
}

function ratioText(ratio: number | null): string {
  return ratio === null ? 'n/a' : pct(ratio);
}
