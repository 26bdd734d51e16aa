/**
 * The checker contract. A checker reads a whole recorded history after the run and says whether
 * it shows a safety violation (`valid`), what anomalies it found, with a few readable examples of
 * each, and figures about the run (`stats`). Checkers are pure: the same history and options give
 * the same result, so a saved history can be checked again after a checker changes.
 */
import type { Op } from '../history.js';

export interface CheckOptions {
  /**
   * Producers ran with idempotence: a value at two offsets is then a broken guarantee. Without
   * it a retried send may legitimately land twice, so duplicates are reported but allowed.
   */
  readonly idempotence: boolean;
}

/** One kind of anomaly: how often it happened and up to EXAMPLES_MAX instances, first found first. */
export interface AnomalyReport {
  readonly count: number;
  /** Whether this anomaly makes the history invalid (some are facts worth seeing, not bugs). */
  readonly isError: boolean;
  /** Small plain objects (partition, offset, values, op indexes) a person can read. */
  readonly examples: readonly unknown[];
}

export interface CheckResult {
  /** The name of the checker that produced this result. */
  readonly checker: string;
  /** False when any anomaly with isError was found. */
  readonly valid: boolean;
  /** By anomaly name; only anomalies that occurred appear, so a clean history has none. */
  readonly anomalies: Readonly<Record<string, AnomalyReport>>;
  readonly stats: Readonly<Record<string, number>>;
}

export interface Checker {
  readonly name: string;
  /**
   * Checks a complete history, ops in recorded order. Throws MalformedHistoryError when the
   * history breaks the recorder's contract (a harness bug, not a finding about the broker).
   */
  check(history: readonly Op[], options: CheckOptions): CheckResult;
}

/** The results of several checkers over one history. */
export interface CombinedResult {
  /** True only when every checker found the history valid. */
  readonly valid: boolean;
  /** One per checker, in the order the checkers were given. */
  readonly results: readonly CheckResult[];
}

/** Runs each checker over the same history and combines their verdicts. */
export function checkAll(
  history: readonly Op[],
  checkers: readonly Checker[],
  options: CheckOptions,
): CombinedResult {
  const results = checkers.map((checker) => checker.check(history, options));
  return { valid: results.every((result) => result.valid), results };
}
