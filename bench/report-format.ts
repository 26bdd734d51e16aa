/**
 * Text pieces the benchmark's human-readable blocks share: one phase's figures, CPU per process,
 * MB and percentages, and the labelled row every line is printed as.
 */
import { MB, formatInt } from './measure.js';
import type { CpuFigures, PhaseFigures } from './report.js';
import type { LatencySummary } from './workloads.js';

/** Adds one labelled line to the text block. */
export type Row = (label: string, text: string) => void;

/** Width of the label column of every line. */
export const LABEL_WIDTH = 18;

export function phaseText(phase: PhaseFigures): string {
  const records = phase.records > 0 ? `${formatInt(phase.records)} records, ` : '';
  const rate = phase.records > 0 ? `${formatInt(phase.recordsPerSec)} records/s, ` : '';
  return (
    `${records}${mb(phase.payloadBytes)} in ${phase.seconds.toFixed(2)} s: ${rate}` +
    `${phase.mbPerSec.toFixed(1)} MB/s${phase.isComplete ? '' : ' (stopped by the time limit)'}`
  );
}

/**
 * CPU per process; a raw LevelDB phase has no broker, and its child is the "client". `brokers`
 * names the broker figure (e.g. "3 brokers" for a cluster's sum).
 */
export function cpuText(cpu: CpuFigures, brokers = 'broker'): string {
  const one = (name: string, seconds: number | null, cores: number | null): string =>
    seconds === null ? `${name} n/a` : `${name} ${seconds.toFixed(2)} s (${cores} cores)`;
  const isRaw = cpu.brokerSeconds === null;
  const parts = isRaw ? [] : [one(brokers, cpu.brokerSeconds, cpu.brokerCores)];
  parts.push(one(isRaw ? 'raw child' : 'client', cpu.clientSeconds, cpu.clientCores));
  parts.push(one('other processes', cpu.otherSeconds, cpu.otherCores));
  return parts.join(', ');
}

export function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

export function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

/** Percentiles, max and mean of a latency histogram, in ms. */
export function latencyText(latency: LatencySummary): string {
  return (
    `p50 ${latency.p50Ms}  p99 ${latency.p99Ms}  p99.9 ${latency.p999Ms}  ` +
    `max ${latency.maxMs}  mean ${latency.meanMs}`
  );
}
