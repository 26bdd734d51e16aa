/**
 * How available Brook stayed, for people reading a run: it never makes a run invalid, since
 * refusing writes during a partition is correct behaviour, but a drop to zero outside faults or a
 * stall that outlives the faults is worth seeing.
 *
 * Stats, for f = send and poll (the queue workload), and send, commit (a member's) and
 * committed (the observer's reads of committed offsets) in the groups workload, each only when
 * the history has some, where "in-faults" means the completion time lies in a fault window
 * (fault-windows.ts) and "outside-faults" that it does not:
 * - `<f>-{ok,fail,info,completions}-{in,outside}-faults`: counts;
 * - `<f>-ok-fraction-{in,outside}-faults`: ok / completions, absent when there were none;
 * - `longest-send-stall-ms`, `longest-send-stall-start-ms`: the longest time with at least one
 *   send outstanding and no send completing ok, and when it began;
 * - `fault-windows`, `fault-time-ms`: merged windows, and their total length (to the last op for
 *   a fault never healed).
 */
import type { Op } from '../history.js';
import type { Checker, CheckOptions, CheckResult } from './checker.js';
import { faultWindows, isInFault, type FaultWindow } from './fault-windows.js';

const MEASURED = ['send', 'poll', 'commit', 'committed'] as const;
type Measured = (typeof MEASURED)[number];
const PLACES = ['in-faults', 'outside-faults'] as const;

export class AvailabilityChecker implements Checker {
  readonly name = 'availability';

  check(history: readonly Op[], _options: CheckOptions): CheckResult {
    const windows = faultWindows(history);
    const counts = countCompletions(history, windows);
    const endMs = history[history.length - 1]?.timeMs ?? 0;
    const stall = longestSendStall(history, endMs);
    // The figures a person looks at first come first; the counts behind them after.
    const stats: Record<string, number> = {};
    for (const f of MEASURED) {
      for (const place of PLACES) {
        const completions = counts[`${f}-completions-${place}`] ?? 0;
        if (completions > 0) {
          stats[`${f}-ok-fraction-${place}`] = counts[`${f}-ok-${place}`]! / completions;
        }
      }
    }
    stats['longest-send-stall-ms'] = stall.lengthMs;
    stats['longest-send-stall-start-ms'] = stall.startMs;
    stats['fault-windows'] = windows.length;
    stats['fault-time-ms'] = faultTimeMs(windows, endMs);
    return { checker: this.name, valid: true, anomalies: {}, stats: { ...stats, ...counts } };
  }
}

/**
 * Completions of each measured f by outcome and place: every key of send, and of each other f
 * the history has any op of (a workload without readers shows no poll figures).
 */
function countCompletions(
  history: readonly Op[],
  windows: readonly FaultWindow[],
): Record<string, number> {
  const present = new Set<Measured>(['send']);
  for (const op of history) if (isMeasured(op.f)) present.add(op.f);
  const counts: Record<string, number> = {};
  for (const f of MEASURED) {
    if (!present.has(f)) continue;
    for (const place of PLACES) {
      for (const type of ['ok', 'fail', 'info', 'completions']) counts[`${f}-${type}-${place}`] = 0;
    }
  }
  for (const op of history) {
    if (op.type === 'invoke' || !isMeasured(op.f)) continue;
    const place = isInFault(windows, op.timeMs) ? 'in-faults' : 'outside-faults';
    counts[`${op.f}-${op.type}-${place}`]! += 1;
    counts[`${op.f}-completions-${place}`]! += 1;
  }
  return counts;
}

function isMeasured(f: string): f is Measured {
  return (MEASURED as readonly string[]).includes(f);
}

/**
 * The longest stretch with a send outstanding and none completing ok. A stretch begins when a
 * send is invoked with none outstanding, or at an ok with others still outstanding; it ends at
 * the next ok, when the last outstanding send fails, or at the end of the history.
 */
function longestSendStall(
  history: readonly Op[],
  endMs: number,
): { lengthMs: number; startMs: number } {
  let outstanding = 0;
  let sinceMs: number | undefined;
  let longest = { lengthMs: 0, startMs: 0 };
  const close = (atMs: number): void => {
    if (sinceMs !== undefined && atMs - sinceMs > longest.lengthMs) {
      longest = { lengthMs: atMs - sinceMs, startMs: sinceMs };
    }
  };
  for (const op of history) {
    if (op.f !== 'send') continue;
    if (op.type === 'invoke') {
      if (outstanding === 0) sinceMs = op.timeMs;
      outstanding += 1;
      continue;
    }
    outstanding -= 1;
    if (op.type === 'ok' || outstanding === 0) {
      close(op.timeMs);
      sinceMs = outstanding > 0 ? op.timeMs : undefined;
    }
  }
  close(endMs);
  return longest;
}

function faultTimeMs(windows: readonly FaultWindow[], endMs: number): number {
  let total = 0;
  for (const window of windows)
    total += Math.max(0, Math.min(window.endMs, endMs) - window.startMs);
  return total;
}
