/**
 * A workload drives clients against the cluster while the nemesis works, records every
 * operation in the history, reads everything back once the faults are healed, and names the
 * checkers that judge its part of the history. Later issues add their own (consumer groups,
 * idempotent producers) beside queue.ts.
 */
import type { Rng } from '../../../src/util/rng.js';
import type { Checker } from '../checker/checker.js';
import type { HistoryRecorder } from '../history.js';

export interface WorkloadContext {
  /** Every broker address. */
  readonly bootstrap: readonly string[];
  readonly history: HistoryRecorder;
  readonly rng: Rng;
  /** Progress lines for the harness log. */
  readonly log: (line: string) => void;
}

export interface Workload {
  readonly name: string;
  /** Creates what the clients need (topics), before any fault. */
  setup(context: WorkloadContext): Promise<void>;
  /** Runs the clients until `stop` aborts; resolves once every client has settled. */
  run(context: WorkloadContext, stop: AbortSignal): Promise<void>;
  /** After every fault is healed: reads back everything the checkers need, within `deadlineMs`. */
  finalRead(context: WorkloadContext, deadlineMs: number): Promise<void>;
  /** The checkers of this workload's operations. */
  checkers(): Checker[];
}
