/**
 * Pairs each client completion with its invoke. A process has at most one op outstanding (the
 * Jepsen model), so the open invoke of a process is the one its next completion answers.
 */
import type { Op } from '../history.js';

/** The history breaks the recorder's contract: a bug in the harness, not a finding about Brook. */
export class MalformedHistoryError extends Error {
  override readonly name = 'MalformedHistoryError';
}

export class InvokeTracker {
  /** The outstanding invoke of each process. */
  private readonly open = new Map<string, Op>();

  /** Opens `op`, an invoke; its process must have nothing outstanding. */
  invoke(op: Op): void {
    const outstanding = this.open.get(op.process);
    if (outstanding !== undefined) {
      throw new MalformedHistoryError(
        `op ${op.index}: ${op.process} invokes ${op.f} while op ${outstanding.index} (${outstanding.f}) is outstanding`,
      );
    }
    this.open.set(op.process, op);
  }

  /** Closes and returns the invoke that `op` (ok, fail or info) completes. */
  complete(op: Op): Op {
    const invoke = this.open.get(op.process);
    if (invoke === undefined || invoke.f !== op.f) {
      throw new MalformedHistoryError(
        `op ${op.index}: ${op.process} completes ${op.f} (${op.type}) with no ${op.f} outstanding`,
      );
    }
    this.open.delete(op.process);
    return invoke;
  }

  /** Invokes never completed (the history ended first): unknown outcomes, in history order. */
  unfinished(): Op[] {
    return [...this.open.values()].sort((a, b) => a.index - b.index);
  }
}
