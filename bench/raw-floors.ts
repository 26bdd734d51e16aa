/**
 * The raw floors of `bench produce`'s cluster targets, measured right after raw LevelDB before,
 * while no broker runs, each step stopping at its own deadline:
 *   1. raw sync writes (--one-at-a-time-records > 0), in a child (raw-sync-write-child.ts):
 *      one 1-record batch value per write, each awaited, `{ sync }` as --fsync says;
 *   2. raw loopback gRPC round trips (the same), raw-loopback.ts: a request of one record plus
 *      a batch header, a 16-byte answer, each call awaited;
 *   3. raw replication transport (--cluster-nodes > 0), raw-loopback.ts: one server-streaming
 *      call of --records × record bytes (64 MiB to 200 MiB) in 1 MiB messages, after an
 *      uncounted 8 MiB one (a client's produce stream); then four times those bytes on a plain
 *      TCP connection (the framed fetch transport's leader→follower leg).
 * The latency samples are kept whole: the ack floor (floors.ts) is sampled from them. A step
 * that fails or has no time left leaves a note instead; the rest of the run goes on.
 */
import { BATCH_HEADER_BYTES } from '../src/codec/index.js';
import { WARMUP_RECORDS } from './one-at-a-time.js';
import type { BenchOptions } from './options.js';
import {
  RawLoopback,
  type RoundTripRequest,
  type RoundTripResult,
  type StreamResult,
} from './raw-loopback.js';
import { runRawChild } from './raw-limits.js';

const MiB = 1024 * 1024;
/** A floor step is skipped with less than this left before its deadline. */
const FLOOR_TIME_MIN_MS = 2_000;
/** Bounds of the transport's transfer: long enough to measure, short enough for its share. */
const TRANSPORT_BYTES_MIN = 64 * MiB;
const TRANSPORT_BYTES_MAX = 200 * MiB;
/** A first, uncounted transfer: the connection's set-up and the JIT of both sides' paths. */
const TRANSPORT_WARMUP_BYTES = 8 * MiB;
/**
 * The TCP stream carries this many times the gRPC stream's bytes: it moves them about five times
 * faster, and the same bytes would rest its CPU figure on a few tens of milliseconds.
 */
const TCP_BYTES_FACTOR = 4;

export interface RawSyncWriteRequest {
  readonly dir: string;
  /** Writes counted. */
  readonly count: number;
  /** Writes made first and not counted. */
  readonly warmupCount: number;
  readonly recordBytes: number;
  readonly sync: boolean;
  /** Wall-clock time (Date.now()) at which the child stops and reports what it measured. */
  readonly deadlineMs: number;
}

export interface RawSyncWriteResult {
  /** Bytes of each value: the codec's batch of one record. */
  readonly valueBytes: number;
  readonly seconds: number;
  readonly isComplete: boolean;
  /** Each counted write's latency, µs. */
  readonly samplesUs: number[];
}

export interface RawFloorDeadlines {
  readonly syncWritesMs: number;
  readonly roundTripsMs: number;
  readonly transportMs: number;
}

/** What the floor steps measured; null where a step was not asked for, skipped, or failed. */
export interface RawFloorRuns {
  readonly syncWrites: RawSyncWriteResult | null;
  readonly roundTrips: (RoundTripResult & { readonly requestBytes: number }) | null;
  /** The gRPC stream: client→leader. */
  readonly transport: StreamResult | null;
  /** The plain TCP stream: leader→follower. */
  readonly tcpTransport: StreamResult | null;
}

/** Runs the floor steps `options` asks for; null when it asks for none. */
export async function measureRawFloors(
  options: BenchOptions,
  deadlines: RawFloorDeadlines,
  notes: string[],
): Promise<RawFloorRuns | null> {
  const wantsLatency = options.workload === 'produce' && options.oneAtATimeRecords > 0;
  const wantsTransport = options.workload === 'produce' && options.clusterNodes > 0;
  if (!wantsLatency && !wantsTransport) return null;
  const syncWrites = wantsLatency
    ? await step('raw sync writes', deadlines.syncWritesMs, notes, () =>
        measureRawSyncWrites(options, deadlines.syncWritesMs),
      )
    : null;
  let roundTrips: RawFloorRuns['roundTrips'] = null;
  let transport: StreamResult | null = null;
  let tcpTransport: StreamResult | null = null;
  const loopback = await step('raw loopback gRPC', deadlines.transportMs, notes, () =>
    RawLoopback.start(),
  );
  if (loopback !== null) {
    try {
      if (wantsLatency) {
        roundTrips = await step('raw gRPC round trips', deadlines.roundTripsMs, notes, () =>
          measureRoundTrips(loopback, options, deadlines.roundTripsMs),
        );
      }
      if (wantsTransport) {
        const { transportMs } = deadlines;
        const { recordBytes } = options;
        transport = await step('raw gRPC stream', transportMs, notes, async () => {
          await loopback.stream(TRANSPORT_WARMUP_BYTES, transportMs, recordBytes);
          return loopback.stream(transportBytes(options), transportMs, recordBytes);
        });
        // Its own step, so a failure here leaves the gRPC figures standing.
        tcpTransport = await step('raw TCP stream', transportMs, notes, async () => {
          await loopback.tcpStream(TRANSPORT_WARMUP_BYTES, transportMs, recordBytes);
          const bytes = TCP_BYTES_FACTOR * transportBytes(options);
          return loopback.tcpStream(bytes, transportMs, recordBytes);
        });
      }
    } finally {
      await loopback.stop();
    }
  }
  return { syncWrites, roundTrips, transport, tcpTransport };
}

/** Bytes of the transport's transfer: what the batching produce sends, within bounds. */
export function transportBytes(options: BenchOptions): number {
  const payload = options.recordCount * options.recordBytes;
  return Math.min(TRANSPORT_BYTES_MAX, Math.max(TRANSPORT_BYTES_MIN, payload));
}

function measureRawSyncWrites(
  options: BenchOptions,
  deadlineMs: number,
): Promise<RawSyncWriteResult> {
  return runRawChild<RawSyncWriteRequest, RawSyncWriteResult>(
    'raw-sync-write-child.js',
    'raw sync write',
    {
      count: options.oneAtATimeRecords,
      warmupCount: WARMUP_RECORDS,
      recordBytes: options.recordBytes,
      sync: options.fsync === 'always',
      deadlineMs,
    },
  );
}

async function measureRoundTrips(
  loopback: RawLoopback,
  options: BenchOptions,
  deadlineMs: number,
): Promise<RoundTripResult & { readonly requestBytes: number }> {
  // One record and a batch header: about what a one-record produce request carries.
  const request: RoundTripRequest = {
    count: options.oneAtATimeRecords,
    warmupCount: WARMUP_RECORDS,
    requestBytes: options.recordBytes + BATCH_HEADER_BYTES,
    deadlineMs,
    recordBytes: options.recordBytes,
  };
  return { ...(await loopback.roundTrips(request)), requestBytes: request.requestBytes };
}

/** Runs one step unless too little time is left; a failure becomes a note, not the run's end. */
async function step<T>(
  name: string,
  deadlineMs: number,
  notes: string[],
  work: () => Promise<T>,
): Promise<T | null> {
  if (deadlineMs - Date.now() < FLOOR_TIME_MIN_MS) {
    notes.push(`${name} skipped: too little of --max-seconds left`);
    return null;
  }
  try {
    return await work();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`bench: ${name} failed: ${message}\n`);
    notes.push(`${name} failed: ${message.split('\n')[0]}`);
    return null;
  }
}
