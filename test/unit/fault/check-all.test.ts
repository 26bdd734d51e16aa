/**
 * checkAll and summarize: several checkers over one history give one verdict, valid only if each
 * is, and the summary a person reads first names every anomaly with its count.
 */
import { describe, expect, it } from 'vitest';
import { AvailabilityChecker } from '../../fault/checker/availability.js';
import { checkAll, type Checker } from '../../fault/checker/checker.js';
import { QueueChecker } from '../../fault/checker/queue-checker.js';
import { summarize } from '../../fault/checker/summary.js';
import { HistoryBuilder } from './history-builder.js';

const OPTIONS = { idempotence: false };

describe('checkAll', () => {
  it('is valid when every checker is, and keeps the results in checker order', () => {
    const history = new HistoryBuilder().send('producer-0', 0, 'a', 0).finalRead(0, ['a']).build();
    const combined = checkAll(history, [new QueueChecker(), new AvailabilityChecker()], OPTIONS);
    expect(combined.valid).toBe(true);
    expect(combined.results.map((result) => result.checker)).toEqual(['queue', 'availability']);
    expect(summarize(combined).split('\n')[0]).toBe('VALID');
  });

  it('is invalid when one checker is, and the summary names each anomaly and its count', () => {
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 0)
      .send('producer-0', 0, 'b', 'info')
      .send('producer-0', 0, 'c', 1)
      .finalRead(0, ['a', 'b', 'b'])
      .build();
    const combined = checkAll(history, [new AvailabilityChecker(), new QueueChecker()], OPTIONS);
    expect(combined.valid).toBe(false);
    const summary = summarize(combined);
    const lines = summary.split('\n');
    expect(lines[0]).toBe('INVALID: queue found errors');
    expect(lines).toContain('availability: valid');
    expect(lines).toContain('queue: INVALID');
    expect(summary).toMatch(/^ {2}duplicates: 1 \(allowed\), e\.g\. \{"value":"b"/m);
    expect(summary).toMatch(/^ {2}lost: 1 \(error\), e\.g\. \{"value":"c"/m);
    expect(summary).toMatch(/inconsistent-offsets: 1 \(error\)/);
    expect(summary).toMatch(/^ {2}send-ok-fraction-outside-faults=0\.667 /m);
    expect(summary).toMatch(/ sends-ok=2 /);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(200);
  });

  it('passes the options to every checker', () => {
    const seen: boolean[] = [];
    const spy: Checker = {
      name: 'spy',
      check: (_history, options) => {
        seen.push(options.idempotence);
        return { checker: 'spy', valid: true, anomalies: {}, stats: {} };
      },
    };
    checkAll([], [spy, spy], { idempotence: true });
    expect(seen).toEqual([true, true]);
  });
});
