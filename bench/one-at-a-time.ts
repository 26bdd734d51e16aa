/**
 * The latency workload: one record at a time. The SDK Producer with lingerMs 0 sends a record and
 * the next send waits until its promise has resolved (acknowledged with the producer's acks), so
 * exactly one record is ever in flight and each latency is one full round trip through the
 * broker (on a cluster with acks=all: the leader's append, the followers' fetches, the high
 * watermark passing the record). Latencies go into an HDR histogram (µs, 3 significant digits).
 *
 * The first WARMUP_RECORDS are sent the same way but not counted: they pay for the metadata
 * lookup, the channel and the stream set-up, and the JIT.
 */
import { Producer } from '../src/client/index.js';
import { ProgressLine, type Counter } from './measure.js';
import type { Acks } from './options.js';
import { LATENCY_US_MAX, newLatencyHistogram, summarize, type ProduceResult } from './workloads.js';

export const WARMUP_RECORDS = 50;

export interface OneAtATimeRequest {
  readonly bootstrap: string;
  readonly topic: string;
  readonly partition: number;
  readonly acks: Acks;
  readonly recordCount: number;
  readonly recordBytes: number;
  /** Stops here (checked before each send) and reports what it measured. */
  readonly deadlineMs: number;
  readonly label: string;
}

/**
 * Sends the warm-up, then `recordCount` records one at a time, until done or the deadline.
 * `onMeasuredStart` runs between the two (e.g. to start a CPU meter).
 */
export async function produceOneAtATime(
  request: OneAtATimeRequest,
  pool: readonly Buffer[],
  onMeasuredStart: () => Promise<void> = () => Promise.resolve(),
): Promise<ProduceResult> {
  const { topic, partition } = request;
  const producer = new Producer({
    bootstrap: request.bootstrap,
    acks: request.acks,
    lingerMs: 0,
    compression: 'none',
  });
  const histogram = newLatencyHistogram();
  const done: Counter = { count: 0 };
  let progress: ProgressLine | null = null;
  let startMs = performance.now();
  try {
    for (let i = 0; i < WARMUP_RECORDS && Date.now() < request.deadlineMs; i++) {
      await producer.send({ topic, partition, value: pool[i % pool.length]! });
    }
    await onMeasuredStart();
    progress = new ProgressLine(request.label, done, request.recordCount, request.recordBytes);
    startMs = performance.now();
    while (done.count < request.recordCount && Date.now() < request.deadlineMs) {
      const value = pool[(WARMUP_RECORDS + done.count) % pool.length]!;
      const sendMs = performance.now();
      await producer.send({ topic, partition, value });
      const latencyUs = Math.round((performance.now() - sendMs) * 1_000);
      histogram.recordValue(Math.min(LATENCY_US_MAX, Math.max(1, latencyUs)));
      done.count++;
    }
  } finally {
    progress?.stop();
    await producer.close();
  }
  const seconds = (performance.now() - startMs) / 1_000;
  const latency = summarize(histogram);
  histogram.destroy();
  return {
    records: done.count,
    payloadBytes: done.count * request.recordBytes,
    seconds,
    isComplete: done.count === request.recordCount,
    latency,
  };
}
