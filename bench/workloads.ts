/**
 * The measured work, through the TypeScript SDK against a running broker: producing with many
 * sends in flight (per-record latency into an HDR histogram), and consuming from the start of
 * every partition.
 */
import { randomFillSync } from 'node:crypto';
import hdr from 'hdr-histogram-js';
import { Consumer, Producer } from '../src/client/index.js';
import { ProgressLine, type Counter } from './measure.js';
import type { BenchOptions } from './options.js';

/** Bytes of random values generated up front and cycled through (wider than any codec window). */
const VALUE_POOL_BYTES = 8 * 1024 * 1024;
/** Latencies are recorded in microseconds; anything above 10 minutes is clamped. */
export const LATENCY_US_MAX = 600_000_000;

export interface LatencySummary {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

export interface PhaseResult {
  readonly records: number;
  /** records × recordBytes. */
  readonly payloadBytes: number;
  readonly seconds: number;
  /** False when the time limit stopped the phase before all records were done. */
  readonly isComplete: boolean;
}

export interface ProduceResult extends PhaseResult {
  readonly latency: LatencySummary;
}

/**
 * Random values, incompressible, made before anything is timed. Each record gets the next one in
 * turn; the pool spans more than 1 MiB so gzip's and snappy's windows never see a repeat.
 */
export function makeValuePool(recordBytes: number): Buffer[] {
  const count = Math.max(64, Math.min(65_536, Math.ceil(VALUE_POOL_BYTES / recordBytes)));
  const pool: Buffer[] = [];
  for (let i = 0; i < count; i++) pool.push(randomFillSync(Buffer.allocUnsafe(recordBytes)));
  return pool;
}

/**
 * Sends `options.recordCount` records with at most `options.windowRecords` unsettled, spread
 * over the partitions one batch's worth at a time, until done or `deadlineMs`. Latency is from
 * the send() call to its promise resolving. The first failed send stops the phase and is thrown
 * once the sends in flight have settled.
 */
export async function produce(
  options: BenchOptions,
  bootstrap: string,
  topic: string,
  pool: readonly Buffer[],
  deadlineMs: number,
  label: string,
): Promise<ProduceResult> {
  const producer = new Producer({
    bootstrap,
    acks: options.acks,
    lingerMs: 5,
    batchBytesMax: options.batchBytesMax,
    compression: options.compression,
  });
  const histogram = newLatencyHistogram();
  const done: Counter = { count: 0 };
  const progress = new ProgressLine(label, done, options.recordCount, options.recordBytes);
  let outstanding = 0;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const settle = (): void => {
    outstanding--;
    if (wake !== null) {
      const resume = wake;
      wake = null;
      resume();
    }
  };
  const onSent = (startMs: number): void => {
    const latencyUs = Math.round((performance.now() - startMs) * 1_000);
    histogram.recordValue(Math.min(LATENCY_US_MAX, Math.max(1, latencyUs)));
    done.count++;
    settle();
  };
  const onFailed = (error: unknown): void => {
    failure ??= error;
    settle();
  };
  const startMs = performance.now();
  let sent = 0;
  try {
    for (; sent < options.recordCount; sent++) {
      if (failure !== null || (sent % 1_000 === 0 && Date.now() >= deadlineMs)) break;
      if (outstanding >= options.windowRecords) {
        await new Promise<void>((resolve) => (wake = resolve));
        if (failure !== null) break;
      }
      const partition = Math.floor(sent / options.batchRecords) % options.partitionCount;
      const value = pool[sent % pool.length]!;
      const sendMs = performance.now();
      outstanding++;
      producer.send({ topic, partition, value }).then(() => onSent(sendMs), onFailed);
    }
    await producer.flush();
    while (outstanding > 0) await new Promise<void>((resolve) => (wake = resolve));
  } finally {
    progress.stop();
    await producer.close();
  }
  const seconds = (performance.now() - startMs) / 1_000;
  if (failure !== null) throw failure;
  const latency = summarize(histogram);
  histogram.destroy();
  return {
    records: done.count,
    payloadBytes: done.count * options.recordBytes,
    seconds,
    isComplete: done.count === options.recordCount,
    latency,
  };
}

/**
 * Reads `recordCount` records from the start of every partition with one consumer, until done
 * or `deadlineMs`. The clock starts after assign and seek, at the first fetch.
 */
export async function consume(
  options: BenchOptions,
  bootstrap: string,
  topic: string,
  recordCount: number,
  deadlineMs: number,
): Promise<PhaseResult> {
  const consumer = new Consumer({ bootstrap });
  const done: Counter = { count: 0 };
  let payloadBytes = 0;
  let progress: ProgressLine | null = null;
  let startMs = 0;
  try {
    const partitions = [];
    for (let partition = 0; partition < options.partitionCount; partition++) {
      partitions.push({ topic, partition });
    }
    consumer.assign(partitions);
    for (const tp of partitions) await consumer.seek(tp, 'earliest');
    progress = new ProgressLine('consume', done, recordCount, options.recordBytes);
    startMs = performance.now();
    for await (const record of consumer) {
      payloadBytes += record.value?.length ?? 0;
      done.count++;
      if (done.count >= recordCount) break;
      if (done.count % 1_000 === 0 && Date.now() >= deadlineMs) break;
    }
  } finally {
    progress?.stop();
    await consumer.close();
  }
  return {
    records: done.count,
    payloadBytes,
    seconds: (performance.now() - startMs) / 1_000,
    isComplete: done.count >= recordCount,
  };
}

/** Latencies in µs, 1 µs to 10 min, 3 significant digits; options explicit (STYLE.md §8). */
export function newLatencyHistogram(): hdr.Histogram {
  return hdr.build({
    bitBucketSize: 32,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: LATENCY_US_MAX,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

export function summarize(histogram: hdr.Histogram): LatencySummary {
  // Percentiles come back as the top of their bucket; capped at the exact maximum, so that
  // p99.9 never reads above max.
  const maxUs = histogram.maxValue;
  const ms = (us: number): number => Math.round(Math.min(us, maxUs) / 10) / 100;
  return {
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    p999Ms: ms(histogram.getValueAtPercentile(99.9)),
    maxMs: ms(maxUs),
    meanMs: ms(histogram.mean),
  };
}
