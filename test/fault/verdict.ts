/**
 * What a negative control must show: a configuration known to lose data (acks=leader with
 * unclean leader election, under leader kills and partitions) did lose acknowledged writes or
 * let one offset hold two values, and the checker said so. A checker that stays quiet here
 * could not be trusted when it passes a safe configuration.
 */
import type { CombinedResult } from './checker/index.js';

const LOSS_ANOMALIES: readonly string[] = ['lost', 'inconsistent-offsets'];

export function isNegativeControlCaught(check: CombinedResult): boolean {
  return (
    !check.valid &&
    check.results.some((result) =>
      LOSS_ANOMALIES.some((type) => (result.anomalies[type]?.count ?? 0) > 0),
    )
  );
}
