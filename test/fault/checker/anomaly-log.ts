/**
 * Collects anomalies while a checker runs: a count per anomaly name and the first few examples.
 * Examples are bounded so a badly broken run of a million ops still gives a small report.
 */
import { assert } from '../../../src/util/assert.js';
import type { AnomalyReport } from './checker.js';

export const EXAMPLES_MAX = 10;

interface MutableReport {
  count: number;
  readonly isError: boolean;
  readonly examples: unknown[];
}

export class AnomalyLog {
  private readonly reports = new Map<string, MutableReport>();

  /** Counts one occurrence of `name`, keeping `example` if fewer than EXAMPLES_MAX are kept. */
  add(name: string, isError: boolean, example: unknown): void {
    let report = this.reports.get(name);
    if (report === undefined) {
      report = { count: 0, isError, examples: [] };
      this.reports.set(name, report);
    }
    // One name means one kind of finding: it cannot be an error in one place and not another.
    assert(report.isError === isError, `anomaly ${name} reported as error and as non-error`);
    report.count += 1;
    if (report.examples.length < EXAMPLES_MAX) report.examples.push(example);
  }

  get hasErrors(): boolean {
    for (const report of this.reports.values()) if (report.isError) return true;
    return false;
  }

  /** A snapshot of the reports, by name in the order each was first added. */
  toRecord(): Record<string, AnomalyReport> {
    const record: Record<string, AnomalyReport> = {};
    for (const [name, report] of this.reports) {
      record[name] = {
        count: report.count,
        isError: report.isError,
        examples: [...report.examples],
      };
    }
    return record;
  }
}
