/**
 * The raw floors in the report: what the measurements of raw-floors.ts come to (latency
 * percentiles, the sampled ack floor, the gRPC and TCP streams' MB/s and CPU per MB, the CPU
 * floor of the cluster's batching produce beside what the cluster used), and their
 * human-readable lines.
 */
import {
  FLOOR_DRAWS,
  FLOOR_SEED,
  ackFloorPercentiles,
  ackFloorTerms,
  cpuFloor,
  type AckFloorTerms,
} from './floors.js';
import { MB, formatInt, machineFacts, round } from './measure.js';
import type { BenchOptions } from './options.js';
import type { RawFloorRuns } from './raw-floors.js';
import type { StreamResult } from './raw-loopback.js';
import { ROUND_TRIP_ANSWER_BYTES, STREAM_MESSAGE_BYTES } from './raw-loopback-service.js';
import type { BenchReport, ClusterFigures, RawFigures } from './report.js';
import { latencyText, mb, pct, type Row } from './report-format.js';
import {
  LATENCY_US_MAX,
  newLatencyHistogram,
  summarize,
  type LatencySummary,
} from './workloads.js';
import { WARMUP_RECORDS } from './one-at-a-time.js';

/** Sequential operations, each awaited: how many, how fast, and their latency. */
export interface RawLatencyFigures {
  readonly count: number;
  readonly seconds: number;
  readonly perSec: number;
  readonly isComplete: boolean;
  readonly latency: LatencySummary;
}

/** One sampled estimate of the ack floor. */
export interface AckFloorEstimate {
  readonly roundTrips: number;
  readonly writes: number;
  /** What was summed, e.g. "2 round trips + 2 sync writes, the slower of 2 followers". */
  readonly label: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface AckFloorFigures {
  readonly draws: number;
  readonly seed: number;
  readonly singleNode: AckFloorEstimate | null;
  /** Through the cluster's RF replicas; null without a cluster. */
  readonly cluster: (AckFloorEstimate & { readonly replicationFactor: number }) | null;
}

/** The raw replication transport: one stream on loopback, a gRPC call or a TCP connection. */
export interface TransportFigures {
  readonly messageBytes: number;
  readonly requestedBytes: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly mbPerSec: number;
  readonly isComplete: boolean;
  readonly serverCpuSeconds: number | null;
  readonly clientCpuSeconds: number;
  /** CPU ms per MB carried: the sender's, the receiver's, and both together. */
  readonly serverCpuMsPerMb: number | null;
  readonly clientCpuMsPerMb: number;
  readonly cpuMsPerMb: number | null;
}

/** The least CPU the cluster's batching produce needs per payload MB, and the MB/s it allows. */
export interface CpuFloorFigures {
  readonly replicationFactor: number;
  /** The raw LevelDB runs' child CPU per payload MB, all runs together. */
  readonly rawLevelDbCpuMsPerMb: number;
  /** The gRPC stream's CPU per MB, both sides: the client→leader leg. */
  readonly rawGrpcCpuMsPerMb: number;
  /**
   * The TCP stream's CPU per MB, both sides: each leader→follower leg; null when it was not
   * measured, and the follower legs are priced as gRPC.
   */
  readonly rawTcpCpuMsPerMb: number | null;
  /** RF × LevelDB + 1 × gRPC + (RF - 1) × TCP; RF × LevelDB + RF × gRPC without TCP. */
  readonly floorCpuMsPerMb: number;
  readonly cores: number;
  /** cores × 1000 ÷ the floor. */
  readonly boundMbPerSec: number;
  /** The cluster's batching produce: its brokers' and client's CPU per payload MB. */
  readonly clusterCpuMsPerMb: number | null;
  readonly clusterMbPerSec: number | null;
  /** The cluster's MB/s ÷ the bound. */
  readonly clusterToBound: number | null;
}

/** Measured right after raw LevelDB before, with no broker running (raw-floors.ts). */
export interface RawFloorFigures {
  /** Operations made before the counted ones in each latency step, not counted. */
  readonly warmupCount: number;
  readonly syncWrites:
    (RawLatencyFigures & { readonly valueBytes: number; readonly sync: boolean }) | null;
  readonly roundTrips:
    (RawLatencyFigures & { readonly requestBytes: number; readonly answerBytes: number }) | null;
  readonly ackFloor: AckFloorFigures | null;
  /** The gRPC stream (client→leader). */
  readonly transport: TransportFigures | null;
  /** The plain TCP stream (leader→follower). */
  readonly tcpTransport: TransportFigures | null;
  readonly cpuFloor: CpuFloorFigures | null;
}

export function rawFloorFigures(
  options: BenchOptions,
  runs: RawFloorRuns,
  raw: RawFigures | null,
  cluster: ClusterFigures | null,
): RawFloorFigures {
  const sync = options.fsync === 'always';
  const { syncWrites, roundTrips } = runs;
  const transport = runs.transport === null ? null : transportFigures(runs.transport);
  const tcpTransport = runs.tcpTransport === null ? null : transportFigures(runs.tcpTransport);
  const estimate = (terms: AckFloorTerms | null): AckFloorEstimate | null => {
    if (terms === null || syncWrites === null || roundTrips === null) return null;
    const p = ackFloorPercentiles(roundTrips.samplesUs, syncWrites.samplesUs, terms);
    if (p === null) return null;
    return { ...terms, label: termsLabel(terms, sync), p50Ms: ms(p.p50Us), p99Ms: ms(p.p99Us) };
  };
  const rf = options.replicationFactor;
  const clusterEstimate =
    options.clusterNodes > 0 ? estimate(ackFloorTerms(options.acks, rf)) : null;
  const hasLatency = syncWrites !== null && roundTrips !== null;
  return {
    warmupCount: WARMUP_RECORDS,
    syncWrites:
      syncWrites === null
        ? null
        : { ...latencyFigures(syncWrites), valueBytes: syncWrites.valueBytes, sync },
    roundTrips:
      roundTrips === null
        ? null
        : {
            ...latencyFigures(roundTrips),
            requestBytes: roundTrips.requestBytes,
            answerBytes: ROUND_TRIP_ANSWER_BYTES,
          },
    ackFloor: hasLatency
      ? {
          draws: FLOOR_DRAWS,
          seed: FLOOR_SEED,
          singleNode: estimate(ackFloorTerms(options.acks, 1)),
          cluster: clusterEstimate === null ? null : { ...clusterEstimate, replicationFactor: rf },
        }
      : null,
    transport,
    tcpTransport,
    cpuFloor: cpuFloorFigures(rf, raw, transport, tcpTransport, cluster),
  };
}

/** Every floor step the options ask for was measured to its end. */
export function areRawFloorsComplete(
  floors: RawFloorFigures | null,
  options: Pick<BenchOptions, 'workload' | 'oneAtATimeRecords' | 'clusterNodes'>,
): boolean {
  if (options.workload !== 'produce') return true;
  const latencyDone =
    options.oneAtATimeRecords === 0 ||
    ((floors?.syncWrites?.isComplete ?? false) && (floors?.roundTrips?.isComplete ?? false));
  // The transport step is both streams: the CPU floor prices both legs.
  const transportDone =
    options.clusterNodes === 0 ||
    ((floors?.transport?.isComplete ?? false) && (floors?.tcpTransport?.isComplete ?? false));
  return latencyDone && transportDone;
}

function latencyFigures(run: {
  readonly samplesUs: readonly number[];
  readonly seconds: number;
  readonly isComplete: boolean;
}): RawLatencyFigures {
  const histogram = newLatencyHistogram();
  for (const us of run.samplesUs) histogram.recordValue(Math.min(LATENCY_US_MAX, us));
  const latency = summarize(histogram);
  histogram.destroy();
  const seconds = Math.max(run.seconds, 1e-9);
  return {
    count: run.samplesUs.length,
    seconds: round(run.seconds, 3),
    perSec: round(run.samplesUs.length / seconds, 0),
    isComplete: run.isComplete,
    latency,
  };
}

function transportFigures(run: StreamResult): TransportFigures {
  const megabytes = run.bytes / MB;
  const perMb = (seconds: number): number => round((seconds * 1_000) / megabytes, 2);
  const hasBytes = megabytes > 0;
  const serverCpuMsPerMb =
    hasBytes && run.serverCpuSeconds !== null ? perMb(run.serverCpuSeconds) : null;
  const clientCpuMsPerMb = hasBytes ? perMb(run.clientCpuSeconds) : 0;
  return {
    messageBytes: STREAM_MESSAGE_BYTES,
    requestedBytes: run.requestedBytes,
    bytes: run.bytes,
    seconds: round(run.seconds, 3),
    mbPerSec: round(megabytes / Math.max(run.seconds, 1e-9), 2),
    isComplete: run.isComplete,
    serverCpuSeconds: run.serverCpuSeconds === null ? null : round(run.serverCpuSeconds, 3),
    clientCpuSeconds: round(run.clientCpuSeconds, 3),
    serverCpuMsPerMb,
    clientCpuMsPerMb,
    cpuMsPerMb:
      hasBytes && run.serverCpuSeconds !== null
        ? perMb(run.serverCpuSeconds + run.clientCpuSeconds)
        : null,
  };
}

function cpuFloorFigures(
  replicationFactor: number,
  raw: RawFigures | null,
  transport: TransportFigures | null,
  tcpTransport: TransportFigures | null,
  cluster: ClusterFigures | null,
): CpuFloorFigures | null {
  const levelDb = rawLevelDbCpuMsPerMb(raw);
  const grpc = transport?.cpuMsPerMb ?? null;
  const tcp = tcpTransport?.cpuMsPerMb ?? null;
  const cores = machineFacts().cores;
  const floor = cpuFloor(replicationFactor, levelDb, grpc, tcp, cores);
  if (floor === null || levelDb === null || grpc === null) return null;
  const produce = cluster?.produce ?? null;
  const cpu = produce?.cpu ?? null;
  const clusterCpuMsPerMb =
    produce === null ||
    produce.payloadBytes === 0 ||
    cpu?.brokerSeconds == null ||
    cpu.clientSeconds === null
      ? null
      : round(((cpu.brokerSeconds + cpu.clientSeconds) * 1_000) / (produce.payloadBytes / MB), 2);
  const boundMbPerSec = round(floor.boundMbPerSec, 1);
  return {
    replicationFactor,
    rawLevelDbCpuMsPerMb: levelDb,
    rawGrpcCpuMsPerMb: grpc,
    rawTcpCpuMsPerMb: tcp,
    floorCpuMsPerMb: round(floor.floorMsPerMb, 2),
    cores,
    boundMbPerSec,
    clusterCpuMsPerMb,
    clusterMbPerSec: produce?.mbPerSec ?? null,
    clusterToBound: produce === null ? null : round(produce.mbPerSec / floor.boundMbPerSec, 3),
  };
}

/** The raw LevelDB runs' child CPU per payload MB written, all runs with a CPU figure together. */
function rawLevelDbCpuMsPerMb(raw: RawFigures | null): number | null {
  let seconds = 0;
  let bytes = 0;
  for (const run of raw?.runs ?? []) {
    const cpuSeconds = run.write.cpu?.clientSeconds ?? null;
    if (cpuSeconds === null) continue;
    seconds += cpuSeconds;
    bytes += run.write.payloadBytes;
  }
  return bytes === 0 ? null : round((seconds * 1_000) / (bytes / MB), 2);
}

function termsLabel(terms: AckFloorTerms, sync: boolean): string {
  const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
  const series =
    `${plural(terms.roundTrips, 'round trip')} + ` +
    `${plural(terms.writes, sync ? 'sync write' : 'write')}`;
  return terms.followers > 1 ? `${series}, the slower of ${terms.followers} followers` : series;
}

/** µs to ms, 2 decimals, as the latency summaries print them. */
function ms(us: number): number {
  return Math.round(us / 10) / 100;
}

/** The raw floors block, after the raw LevelDB runs. */
export function renderRawFloors(report: Pick<BenchReport, 'rawFloors'>, row: Row): void {
  const f = report.rawFloors;
  if (f === null) return;
  row(
    'raw floors',
    `no broker running, right after raw LevelDB before; ${f.warmupCount} warm-ups not counted`,
  );
  const w = f.syncWrites;
  if (w !== null) {
    row(
      '  sync writes',
      `${formatInt(w.count)} db.batch() of one ${formatInt(w.valueBytes)} B value, ` +
        `sync: ${w.sync}, each awaited: ${formatInt(w.perSec)}/s${cutShort(w)}`,
    );
    row('    latency (ms)', latencyText(w.latency));
  }
  const r = f.roundTrips;
  if (r !== null) {
    row(
      '  gRPC calls',
      `${formatInt(r.count)} unary calls on loopback, ${formatInt(r.requestBytes)} B → ` +
        `${r.answerBytes} B, each awaited: ${formatInt(r.perSec)}/s${cutShort(r)}`,
    );
    row('    latency (ms)', latencyText(r.latency));
  }
  renderAckFloor(f.ackFloor, row);
  renderTransport('  gRPC stream', 'messages', f.transport, row);
  renderTransport('  TCP stream', 'writes', f.tcpTransport, row);
  renderCpuFloor(f.cpuFloor, row);
}

function renderAckFloor(a: AckFloorFigures | null, row: Row): void {
  if (a === null) return;
  row(
    '  ack floor',
    `estimate of a lower bound: ${formatInt(a.draws)} draws of independent samples ` +
      `(seed ${a.seed})`,
  );
  const estimate = (label: string, e: AckFloorEstimate | null): void => {
    if (e === null) return;
    row(`    ${label}`, `floor: ${e.label}, sampled: p50 ${e.p50Ms} ms, p99 ${e.p99Ms} ms`);
  };
  estimate('single node', a.singleNode);
  estimate(`cluster RF ${a.cluster?.replicationFactor ?? ''}`, a.cluster);
}

/** `units`: what the sender's 1 MiB pieces are, gRPC messages or socket writes. */
function renderTransport(
  label: string,
  units: 'messages' | 'writes',
  t: TransportFigures | null,
  row: Row,
): void {
  if (t === null) return;
  row(
    label,
    `${mb(t.bytes)} in ${t.messageBytes / (1024 * 1024)} MiB ${units} on loopback in ` +
      `${t.seconds.toFixed(2)} s: ${t.mbPerSec.toFixed(1)} MB/s${cutShort(t)}`,
  );
  const perMb = (value: number | null): string => (value === null ? 'n/a' : value.toFixed(2));
  row(
    '    CPU',
    `sender ${perMb(t.serverCpuMsPerMb)} ms/MB, receiver ${perMb(t.clientCpuMsPerMb)} ms/MB: ` +
      `${perMb(t.cpuMsPerMb)} ms/MB both sides`,
  );
}

function renderCpuFloor(c: CpuFloorFigures | null, row: Row): void {
  if (c === null) return;
  const n = c.replicationFactor;
  row(
    `  CPU floor RF ${n}`,
    `${n} × ${c.rawLevelDbCpuMsPerMb.toFixed(2)} LevelDB + ${transfersText(c)} = ` +
      `${c.floorCpuMsPerMb.toFixed(2)} ms/MB: ` +
      `at most ${c.boundMbPerSec.toFixed(1)} MB/s on ${c.cores} cores`,
  );
  if (c.clusterCpuMsPerMb === null || c.clusterMbPerSec === null || c.clusterToBound === null) {
    return;
  }
  row(
    '    cluster',
    `used ${c.clusterCpuMsPerMb.toFixed(2)} ms/MB (brokers + client): ` +
      `${(c.clusterCpuMsPerMb / c.floorCpuMsPerMb).toFixed(1)} × the floor; ` +
      `${c.clusterMbPerSec.toFixed(1)} MB/s = ${pct(c.clusterToBound)} of bound`,
  );
}

/** The CPU floor's transfer terms: the client's gRPC leg, then the followers' legs. */
function transfersText(c: CpuFloorFigures): string {
  const followers = c.replicationFactor - 1;
  const grpc = c.rawGrpcCpuMsPerMb.toFixed(2);
  if (followers === 0) return `1 × ${grpc} gRPC`;
  if (c.rawTcpCpuMsPerMb === null) {
    return `${c.replicationFactor} × ${grpc} gRPC (no TCP stream figure: follower legs as gRPC)`;
  }
  return `1 × ${grpc} gRPC + ${followers} × ${c.rawTcpCpuMsPerMb.toFixed(2)} TCP`;
}

function cutShort(phase: { readonly isComplete: boolean }): string {
  return phase.isComplete ? '' : ' (stopped by the time limit)';
}
