/**
 * Figures of a rehearsal, computed from the recorded history: how long producers went without
 * an acknowledgement around each step. Pure.
 */
import type { Op, SendValue } from '../../fault/history.js';

/** The times (history ms) of every acknowledged send, in order. */
export function ackTimesMs(history: readonly Op[]): number[] {
  const times: number[] = [];
  for (const op of history) {
    if (op.f === 'send' && op.type === 'ok' && (op.value as SendValue).offset !== undefined) {
      times.push(op.timeMs);
    }
  }
  return times;
}

/**
 * The longest time without an acknowledged send that overlaps [fromMs, toMs]: the gap between
 * two consecutive acks (or from the window's edge when no ack lies beyond it). `acks` sorted.
 */
export function longestAckGapMs(acks: readonly number[], fromMs: number, toMs: number): number {
  if (toMs < fromMs) throw new RangeError('window ends before it starts');
  let previous = fromMs;
  // The last ack at or before the window's start opens the first gap.
  for (const at of acks) {
    if (at <= fromMs) previous = at;
    else break;
  }
  let longest = 0;
  for (const at of acks) {
    if (at <= previous) continue;
    longest = Math.max(longest, at - previous);
    previous = at;
    if (at >= toMs) return longest;
  }
  // No ack after the window's end: the stall lasts at least to the end.
  return Math.max(longest, toMs - previous);
}

/** Acknowledged sends per second inside [fromMs, toMs]. */
export function ackRatePerS(acks: readonly number[], fromMs: number, toMs: number): number {
  const durationMs = toMs - fromMs;
  if (durationMs <= 0) return 0;
  const count = acks.filter((at) => at >= fromMs && at <= toMs).length;
  return (count * 1000) / durationMs;
}
