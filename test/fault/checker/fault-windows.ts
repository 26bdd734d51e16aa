/**
 * When faults were in force. A window runs from a nemesis start to the next heal of the same
 * fault (f); faults of different kinds may overlap, and a start never healed lasts to the end of
 * the history. Overlapping windows are merged, so "inside a fault" means inside any of them.
 */
import { NEMESIS_PROCESS, type NemesisOp, type Op } from '../history.js';

export interface FaultWindow {
  readonly startMs: number;
  /** Infinity for a fault never healed. */
  readonly endMs: number;
}

/** The merged fault windows of `history`, sorted and disjoint. */
export function faultWindows(history: readonly Op[]): FaultWindow[] {
  const openSinceMs = new Map<string, number>();
  const windows: FaultWindow[] = [];
  for (const op of history) {
    if (op.process !== NEMESIS_PROCESS) continue;
    const { phase } = (op as NemesisOp).value;
    const startMs = openSinceMs.get(op.f);
    if (phase === 'start') {
      // A second start of a fault already in force extends nothing: the window began earlier.
      if (startMs === undefined) openSinceMs.set(op.f, op.timeMs);
    } else if (startMs !== undefined) {
      windows.push({ startMs, endMs: op.timeMs });
      openSinceMs.delete(op.f);
    }
  }
  for (const startMs of openSinceMs.values()) windows.push({ startMs, endMs: Infinity });
  return merge(windows);
}

function merge(windows: FaultWindow[]): FaultWindow[] {
  windows.sort((a, b) => a.startMs - b.startMs);
  const merged: FaultWindow[] = [];
  for (const window of windows) {
    const last = merged[merged.length - 1];
    if (last !== undefined && window.startMs <= last.endMs) {
      merged[merged.length - 1] = {
        startMs: last.startMs,
        endMs: Math.max(last.endMs, window.endMs),
      };
    } else {
      merged.push(window);
    }
  }
  return merged;
}

/** Whether `timeMs` falls inside one of `windows` (sorted, disjoint), ends included. */
export function isInFault(windows: readonly FaultWindow[], timeMs: number): boolean {
  // Binary search for the last window starting at or before timeMs.
  let low = 0;
  let high = windows.length - 1;
  let candidate: FaultWindow | undefined;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const window = windows[middle]!;
    if (window.startMs <= timeMs) {
      candidate = window;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return candidate !== undefined && timeMs <= candidate.endMs;
}
