/**
 * A workload drives clients against the cluster while the nemesis works, records every
 * operation in the history, reads everything back once the faults are healed, and names the
 * checkers that judge its part of the history: queue.ts (producers and readers) and groups.ts
 * (producers and the members of a consumer group); later issues add their own beside them.
 */
import type { Rng } from '../../../src/util/rng.js';
import type { Checker } from '../checker/checker.js';
import type { HistoryRecorder } from '../history.js';

export interface WorkloadContext {
  /** Every broker address. */
  readonly bootstrap: readonly string[];
  readonly history: HistoryRecorder;
  readonly rng: Rng;
  /** The run folder, for the workload's own logs. */
  readonly runDir: string;
  /** Progress lines for the harness log. */
  readonly log: (line: string) => void;
}

export interface Workload {
  readonly name: string;
  /** The topic the producers write: the harness waits for its ISR, the nemesis finds leaders. */
  readonly topic: string;
  /** `brook server` flags the workload needs on every node (beyond the harness's own). */
  readonly serverArgs: readonly string[];
  /** What a negative control of this workload must show: any of these anomalies. */
  readonly lossAnomalies: readonly string[];
  /** Creates what the clients need (topics), before any fault. */
  setup(context: WorkloadContext): Promise<void>;
  /** Runs the clients until `stop` aborts; resolves once every client has settled. */
  run(context: WorkloadContext, stop: AbortSignal): Promise<void>;
  /** After every fault is healed: reads back everything the checkers need, within `deadlineMs`. */
  finalRead(context: WorkloadContext, deadlineMs: number): Promise<void>;
  /** The checkers of this workload's operations. */
  checkers(): Checker[];
  /**
   * Ends whatever the workload still runs (after a failure: processes it started), without
   * recording anything. Safe to call at any time, and more than once.
   */
  close(): Promise<void>;
}
