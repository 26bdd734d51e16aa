/**
 * What a negative control must show: a configuration known to break a guarantee did break it,
 * and the checker said so. For the queue workload (acks=leader with unclean leader election,
 * under leader kills and partitions): lost acknowledged writes, or one offset holding two
 * values. For the groups workload (members committing before processing, killed): acknowledged
 * records no member processed. A checker that stays quiet here could not be trusted when it
 * passes a safe configuration.
 */
import type { CombinedResult } from './checker/index.js';

/** `lossAnomalies`: the workload's (Workload.lossAnomalies); any one of them counts. */
export function isNegativeControlCaught(
  check: CombinedResult,
  lossAnomalies: readonly string[],
): boolean {
  return (
    !check.valid &&
    check.results.some((result) =>
      lossAnomalies.some((type) => (result.anomalies[type]?.count ?? 0) > 0),
    )
  );
}
