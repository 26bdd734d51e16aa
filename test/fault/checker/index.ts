/**
 * Checkers for fault-run histories (history.ts). Each checker reads the whole history after a
 * run and returns a CheckResult: a verdict, anomalies with counts and a few examples, and stats.
 * `checkAll` runs several over one history and `summarize` prints the result for people.
 *
 * - queue-checker.ts: safety of the queue workload (lost, inconsistent offsets, duplicates,
 *   aborted reads, reader order), after Jepsen's Kafka checker;
 * - group-checker.ts: safety of the consumer group workload (exclusive ownership, committed
 *   offsets never going back, every acked record delivered);
 * - availability.ts: how many ops succeeded inside and outside fault windows; never invalid.
 *
 * A checker is pure and linear in the history: histories reach a million ops.
 */
export { EXAMPLES_MAX } from './anomaly-log.js';
export { AvailabilityChecker } from './availability.js';
export {
  checkAll,
  type AnomalyReport,
  type Checker,
  type CheckOptions,
  type CheckResult,
  type CombinedResult,
} from './checker.js';
export { GroupAnomaly, GroupChecker } from './group-checker.js';
export { faultWindows, isInFault, type FaultWindow } from './fault-windows.js';
export { MalformedHistoryError } from './invoke-tracker.js';
export { QueueAnomaly, QueueChecker } from './queue-checker.js';
export { summarize } from './summary.js';
