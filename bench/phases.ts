/**
 * The measured produce phases against running brokers, one or a cluster alike: the batching
 * produce (workloads.ts) with the brokers' CPU and disk counters around it and the wait for
 * their compactions after it, and the one-record-at-a-time latency phase (one-at-a-time.ts)
 * with the CPU around it. With several brokers, CPU seconds and I/O counters are their sums.
 */
import {
  ioDelta,
  readProcIo,
  startCpuMeterOf,
  waitForWritesToSettle,
  type CpuUse,
  type ProcIo,
} from './measure.js';
import { produceOneAtATime, type OneAtATimeRequest } from './one-at-a-time.js';
import type { BenchOptions } from './options.js';
import { produce, type ProduceResult } from './workloads.js';

/** Brokers to measure: where clients connect, and the processes whose counters count. */
export interface Brokers {
  /** One address, or several comma-separated. */
  readonly bootstrap: string;
  readonly pids: readonly number[];
}

export interface ProducePhase {
  readonly produced: ProduceResult;
  readonly cpu: CpuUse;
  /** The brokers' /proc/<pid>/io over the produce phase. */
  readonly io: ProcIo | null;
  /** From the start of the produce phase until the brokers' compactions were done. */
  readonly settledIo: ProcIo | null;
  readonly settleSeconds: number;
}

export interface OneAtATimePhase {
  readonly produced: ProduceResult;
  readonly cpu: CpuUse;
}

/**
 * The batching produce (`label` on the progress line), then waits until the brokers have
 * stopped writing (their compactions belong to the phase's cost, and must not disturb what
 * comes next).
 */
export async function measureProducePhase(
  options: BenchOptions,
  brokers: Brokers,
  topic: string,
  pool: readonly Buffer[],
  deadlineMs: number,
  label: string,
): Promise<ProducePhase> {
  const ioBefore = await readProcIoSum(brokers.pids);
  const stopMeter = await startCpuMeterOf(brokers.pids);
  const produced = await produce(options, brokers.bootstrap, topic, pool, deadlineMs, label);
  const cpu = await stopMeter();
  const ioAfter = await readProcIoSum(brokers.pids);
  const settled = await Promise.all(
    brokers.pids.map((pid) => waitForWritesToSettle(pid, deadlineMs)),
  );
  const settledIo = sumIo(settled.map((s) => s.io));
  return {
    produced,
    cpu,
    io: ioDelta(ioBefore, ioAfter),
    settledIo: ioDelta(ioBefore, settledIo),
    settleSeconds: Math.max(0, ...settled.map((s) => s.seconds)),
  };
}

/** One record at a time to partition 0 of `topic`, each ack awaited (one-at-a-time.ts). */
export async function measureOneAtATimePhase(
  options: BenchOptions,
  brokers: Brokers,
  topic: string,
  pool: readonly Buffer[],
  deadlineMs: number,
  label: string,
): Promise<OneAtATimePhase> {
  const request: OneAtATimeRequest = {
    bootstrap: brokers.bootstrap,
    topic,
    partition: 0,
    acks: options.acks,
    recordCount: options.oneAtATimeRecords,
    recordBytes: options.recordBytes,
    deadlineMs,
    label,
  };
  // The CPU meter starts after the warm-up, when the clock of the measured records does.
  const meter: { stop: (() => Promise<CpuUse>) | null } = { stop: null };
  const produced = await produceOneAtATime(request, pool, async () => {
    meter.stop = await startCpuMeterOf(brokers.pids);
  });
  const cpu = meter.stop === null ? NO_CPU : await meter.stop();
  return { produced, cpu };
}

const NO_CPU: CpuUse = { brokerSeconds: null, clientSeconds: null, otherSeconds: null };

/** The I/O counters of several processes, summed; null when any cannot be read. */
async function readProcIoSum(pids: readonly number[]): Promise<ProcIo | null> {
  return sumIo(await Promise.all(pids.map((pid) => readProcIo(pid))));
}

function sumIo(ios: readonly (ProcIo | null)[]): ProcIo | null {
  let sum: ProcIo = { wcharBytes: 0, writeBytes: 0, readBytes: 0 };
  for (const io of ios) {
    if (io === null) return null;
    sum = {
      wcharBytes: sum.wcharBytes + io.wcharBytes,
      writeBytes: sum.writeBytes + io.writeBytes,
      readBytes: sum.readBytes + io.readBytes,
    };
  }
  return sum;
}
