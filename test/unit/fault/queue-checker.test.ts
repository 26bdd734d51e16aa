/**
 * The queue checker on hand-written histories, one per anomaly, each built so that exactly that
 * anomaly occurs (a test that saw others too could pass for the wrong reason). The first test is
 * a correct run touching every outcome (ok, fail, info that landed, info that did not, failed
 * polls, assigns, a fault) and must come out valid with no anomalies at all.
 */
import { describe, expect, it } from 'vitest';
import type { CheckOptions, CheckResult } from '../../fault/checker/checker.js';
import { MalformedHistoryError } from '../../fault/checker/invoke-tracker.js';
import { QueueAnomaly, QueueChecker } from '../../fault/checker/queue-checker.js';
import type { Op } from '../../fault/history.js';
import { FINAL_PROCESS, HistoryBuilder, recordsFrom } from './history-builder.js';

const LAX: CheckOptions = { idempotence: false };
const IDEMPOTENT: CheckOptions = { idempotence: true };

function check(history: readonly Op[], options: CheckOptions = LAX): CheckResult {
  return new QueueChecker().check(history, options);
}

/** The names of the anomalies found, to assert "this one and no other". */
function anomalyNames(result: CheckResult): string[] {
  return Object.keys(result.anomalies);
}

/** p0 holds a, b, e (e from an info send); c failed, d timed out and never landed. */
function correctRun(): HistoryBuilder {
  return new HistoryBuilder()
    .assign('reader-0', 0, 0)
    .send('producer-0', 0, 'a', 0)
    .invokeSend('producer-1', 0, 'b')
    .poll('reader-0', 0, 0, recordsFrom(0, ['a', 'b']), 2)
    .completeSend('producer-1', 0, 'b', 1)
    .nemesis('partition', 'start', [1])
    .send('producer-0', 0, 'c', 'fail')
    .send('producer-1', 0, 'd', 'info')
    .pollError('reader-0', 0, 2, 'info')
    .send('producer-0', 0, 'e', 'info')
    .nemesis('partition', 'heal', [1])
    .assign('reader-0', 0, 2)
    .poll('reader-0', 0, 2, recordsFrom(2, ['e']), 3)
    .poll('reader-0', 0, 3, [], 3)
    .send('producer-0', 1, 'x', 0)
    .assign('reader-0', 1, 0)
    .poll('reader-0', 1, 0, recordsFrom(0, ['x']), 1)
    .finalRead(0, ['a', 'b', 'e'])
    .finalRead(1, ['x']);
}

describe('QueueChecker: a correct history', () => {
  it('is valid with no anomalies, and counts what happened', () => {
    const result = check(correctRun().build(), IDEMPOTENT);
    expect(result.checker).toBe('queue');
    expect(result.valid).toBe(true);
    expect(result.anomalies).toEqual({});
    expect(result.stats).toMatchObject({
      partitions: 2,
      'sends-invoked': 6,
      'sends-ok': 3,
      'sends-fail': 1,
      'sends-info': 2,
      'sends-unfinished': 0,
      'acked-found-in-final-read': 3,
      'info-found-in-final-read': 1,
      'polls-ok': 4,
      'poll-records': 4,
      'final-read-records': 4,
      'final-read-records-p0': 3,
      'final-read-records-p1': 1,
    });
  });

  it('ignores nemesis ops and other workloads, and treats an unfinished send as unknown', () => {
    const history = new HistoryBuilder()
      .add('producer-0', 'invoke', 'txn', { key: 1 })
      .add('producer-0', 'ok', 'txn', { key: 1 })
      .send('producer-0', 0, 'a', 0)
      .invokeSend('producer-1', 0, 'b')
      .finalRead(0, ['a', 'b'])
      .build();
    const result = check(history);
    expect(result.anomalies).toEqual({});
    expect(result.stats['sends-unfinished']).toBe(1);
    expect(result.stats['info-found-in-final-read']).toBe(1);
  });
});

describe('QueueChecker: lost and the final read', () => {
  it('flags an acked send missing from a complete final read (lost)', () => {
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 0)
      .send('producer-0', 0, 'b', 1)
      .finalRead(0, ['a'])
      .build();
    const result = check(history);
    expect(result.valid).toBe(false);
    expect(anomalyNames(result)).toEqual([QueueAnomaly.LOST]);
    expect(result.anomalies[QueueAnomaly.LOST]).toEqual({
      count: 1,
      isError: true,
      examples: [{ value: 'b', partition: 0, offset: 1, sendIndex: 3 }],
    });
  });

  it('flags a partition with no final read, and does not call its sends lost', () => {
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 0)
      .send('producer-0', 1, 'x', 0)
      .finalRead(0, ['a'])
      .build();
    const result = check(history);
    expect(result.valid).toBe(false);
    expect(anomalyNames(result)).toEqual([QueueAnomaly.FINAL_READ_INCOMPLETE]);
    expect(result.anomalies[QueueAnomaly.FINAL_READ_INCOMPLETE]!.examples).toEqual([
      {
        partition: 1,
        reason: 'no final read',
        highWatermark: undefined,
        missingOffsets: 0,
        firstMissingOffset: undefined,
      },
    ]);
  });

  it('flags a final read with a hole below the high watermark, judging lost only where it read', () => {
    // b (offset 1) sits in the hole: unknown, not lost. c was acked at 2, which the read returned
    // holding c: found.
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 0)
      .send('producer-0', 0, 'b', 1)
      .send('producer-0', 0, 'c', 2)
      .assign(FINAL_PROCESS, 0, 0)
      .finalPoll(0, 0, recordsFrom(0, ['a']), 3)
      .assign(FINAL_PROCESS, 0, 2)
      .finalPoll(0, 2, recordsFrom(2, ['c']), 3)
      .build();
    const result = check(history);
    expect(anomalyNames(result)).toEqual([QueueAnomaly.FINAL_READ_INCOMPLETE]);
    expect(result.anomalies[QueueAnomaly.FINAL_READ_INCOMPLETE]!.examples[0]).toMatchObject({
      partition: 0,
      reason: 'offsets missing',
      highWatermark: 3,
      missingOffsets: 1,
      firstMissingOffset: 1,
    });
    expect(result.stats['acked-found-in-final-read']).toBe(2);
  });

  it('calls an acked send lost when an incomplete final read returned its offset without it', () => {
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 0)
      .send('producer-0', 0, 'b', 1)
      .send('producer-0', 0, 'c', 'info')
      .finalPoll(0, 0, recordsFrom(0, ['c']), 2)
      .build();
    const result = check(history);
    expect(anomalyNames(result).sort()).toEqual(
      [
        QueueAnomaly.FINAL_READ_INCOMPLETE,
        QueueAnomaly.INCONSISTENT_OFFSETS,
        QueueAnomaly.LOST,
      ].sort(),
    );
    expect(result.anomalies[QueueAnomaly.LOST]!.examples).toEqual([
      { value: 'a', partition: 0, offset: 0, sendIndex: 1 },
    ]);
  });

  it('flags a final read whose last final-poll reported no high watermark', () => {
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 0)
      .invokePoll(FINAL_PROCESS, 0, 0, 'final-poll')
      .add(FINAL_PROCESS, 'ok', 'final-poll', { partition: 0, offset: 0, records: [[0, 'a']] })
      .build();
    const result = check(history);
    expect(anomalyNames(result)).toEqual([QueueAnomaly.FINAL_READ_INCOMPLETE]);
    expect(result.anomalies[QueueAnomaly.FINAL_READ_INCOMPLETE]!.examples[0]).toMatchObject({
      reason: 'no high watermark',
    });
  });
});

describe('QueueChecker: what was read', () => {
  it('flags one offset read with two values (inconsistent-offsets)', () => {
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 0)
      .send('producer-0', 0, 'b', 'info')
      .send('producer-1', 0, 'c', 'info')
      .assign('reader-0', 0, 0)
      .poll('reader-0', 0, 0, recordsFrom(0, ['a', 'b']), 2)
      .finalRead(0, ['a', 'c'])
      .build();
    const result = check(history);
    expect(anomalyNames(result)).toEqual([QueueAnomaly.INCONSISTENT_OFFSETS]);
    expect(result.anomalies[QueueAnomaly.INCONSISTENT_OFFSETS]).toEqual({
      count: 1,
      isError: true,
      examples: [{ partition: 0, offset: 1, values: ['b', 'c'], opIndexes: [8, 11] }],
    });
  });

  it('flags two acks naming one offset (inconsistent-offsets from sends alone)', () => {
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 0)
      .send('producer-1', 0, 'b', 0)
      .build();
    const result = check(history);
    expect(result.anomalies[QueueAnomaly.INCONSISTENT_OFFSETS]!.examples).toEqual([
      { partition: 0, offset: 0, values: ['a', 'b'], opIndexes: [1, 3] },
    ]);
  });

  it('reports a value at two offsets (duplicates), an error only with idempotence', () => {
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 0)
      .send('producer-0', 0, 'b', 'info')
      .finalRead(0, ['a', 'b', 'b'])
      .build();
    const lax = check(history, LAX);
    expect(lax.valid).toBe(true);
    expect(anomalyNames(lax)).toEqual([QueueAnomaly.DUPLICATES]);
    expect(lax.anomalies[QueueAnomaly.DUPLICATES]).toEqual({
      count: 1,
      isError: false,
      examples: [
        {
          value: 'b',
          locations: [
            { partition: 0, offset: 1, opIndex: 6 },
            { partition: 0, offset: 2, opIndex: 6 },
          ],
        },
      ],
    });
    const strict = check(history, IDEMPOTENT);
    expect(strict.valid).toBe(false);
    expect(strict.anomalies[QueueAnomaly.DUPLICATES]!.isError).toBe(true);
  });

  it('counts a value read in two partitions as a duplicate, once however often it is read', () => {
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 'info')
      .assign('reader-0', 1, 0)
      .poll('reader-0', 1, 0, recordsFrom(0, ['a']), 1)
      .finalRead(0, ['a'])
      .finalRead(1, ['a'])
      .build();
    const result = check(history);
    expect(anomalyNames(result).sort()).toEqual([
      QueueAnomaly.DUPLICATES,
      QueueAnomaly.WRONG_PARTITION,
    ]);
    expect(result.anomalies[QueueAnomaly.DUPLICATES]).toMatchObject({
      count: 1,
      examples: [{ value: 'a', locations: [{ partition: 1 }, { partition: 0 }] }],
    });
  });

  it('flags a value read that was never sent (unexpected)', () => {
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 0)
      .finalRead(0, ['a', 'z'])
      .build();
    const result = check(history);
    expect(anomalyNames(result)).toEqual([QueueAnomaly.UNEXPECTED]);
    expect(result.anomalies[QueueAnomaly.UNEXPECTED]!.examples).toEqual([
      { value: 'z', partition: 0, offset: 1, opIndex: 4 },
    ]);
  });

  it('flags a value read whose send failed (failed-read, G1a)', () => {
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 0)
      .send('producer-0', 0, 'b', 'fail')
      .assign('reader-0', 0, 1)
      .poll('reader-0', 0, 1, recordsFrom(1, ['b']), 2)
      .finalRead(0, ['a', 'b'])
      .build();
    const result = check(history);
    expect(result.valid).toBe(false);
    expect(anomalyNames(result)).toEqual([QueueAnomaly.FAILED_READ]);
    expect(result.anomalies[QueueAnomaly.FAILED_READ]).toEqual({
      count: 1,
      isError: true,
      examples: [{ value: 'b', partition: 0, offset: 1, opIndex: 6, sendIndex: 3 }],
    });
  });

  it('flags an acked value read at another offset than its ack named (offset-mismatch)', () => {
    const history = new HistoryBuilder().send('producer-0', 0, 'a', 5).finalRead(0, ['a']).build();
    const result = check(history);
    expect(anomalyNames(result)).toEqual([QueueAnomaly.OFFSET_MISMATCH]);
    expect(result.anomalies[QueueAnomaly.OFFSET_MISMATCH]!.examples).toEqual([
      { value: 'a', partition: 0, ackOffset: 5, readOffset: 0, sendIndex: 1, opIndex: 4 },
    ]);
  });

  it('flags a value read in a partition it was not sent to (wrong-partition)', () => {
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 'info')
      .finalRead(0, [])
      .finalRead(1, ['a'])
      .build();
    const result = check(history);
    expect(anomalyNames(result)).toEqual([QueueAnomaly.WRONG_PARTITION]);
    expect(result.anomalies[QueueAnomaly.WRONG_PARTITION]!.examples).toEqual([
      { value: 'a', sentPartition: 0, partition: 1, offset: 0, opIndex: 7 },
    ]);
  });
});

describe('QueueChecker: reader order', () => {
  /** p0 holds a, b, c, d, all acked; the final read is complete. */
  function fourSends(): HistoryBuilder {
    return new HistoryBuilder()
      .send('producer-0', 0, 'a', 0)
      .send('producer-0', 0, 'b', 1)
      .send('producer-0', 0, 'c', 2)
      .send('producer-0', 0, 'd', 3)
      .assign('reader-0', 0, 0);
  }
  const ABCD = ['a', 'b', 'c', 'd'];

  it('flags records going backwards within one poll (nonmonotonic)', () => {
    const records = [
      [0, 'a'],
      [2, 'c'],
      [1, 'b'],
      [3, 'd'],
    ] as const;
    const history = fourSends().poll('reader-0', 0, 0, records, 4).finalRead(0, ABCD).build();
    const result = check(history);
    expect(anomalyNames(result).sort()).toEqual([QueueAnomaly.NONMONOTONIC, QueueAnomaly.SKIP]);
    expect(result.anomalies[QueueAnomaly.NONMONOTONIC]!.examples).toEqual([
      { process: 'reader-0', partition: 0, previousOffset: 2, offset: 1, opIndexes: [10] },
    ]);
  });

  it('flags a poll that repeats the previous poll without an assign (nonmonotonic)', () => {
    const history = fourSends()
      .poll('reader-0', 0, 0, recordsFrom(0, ['a', 'b']), 4)
      .poll('reader-0', 0, 2, recordsFrom(1, ['b', 'c', 'd']), 4)
      .finalRead(0, ABCD)
      .build();
    const result = check(history);
    expect(anomalyNames(result)).toEqual([QueueAnomaly.NONMONOTONIC]);
    expect(result.anomalies[QueueAnomaly.NONMONOTONIC]!.examples).toEqual([
      { process: 'reader-0', partition: 0, previousOffset: 1, offset: 1, opIndexes: [10, 12] },
    ]);
  });

  it('flags a gap within one poll (skip)', () => {
    const records = [
      [0, 'a'],
      [2, 'c'],
      [3, 'd'],
    ] as const;
    const history = fourSends().poll('reader-0', 0, 0, records, 4).finalRead(0, ABCD).build();
    const result = check(history);
    expect(anomalyNames(result)).toEqual([QueueAnomaly.SKIP]);
    expect(result.anomalies[QueueAnomaly.SKIP]).toEqual({
      count: 1,
      isError: true,
      examples: [
        { process: 'reader-0', partition: 0, previousOffset: 0, offset: 2, opIndexes: [10] },
      ],
    });
  });

  it('flags a gap between successive polls, across an empty poll and a failed one (skip)', () => {
    const history = fourSends()
      .poll('reader-0', 0, 0, recordsFrom(0, ['a']), 4)
      .poll('reader-0', 0, 1, [], 4)
      .pollError('reader-0', 0, 1, 'fail')
      .poll('reader-0', 0, 1, recordsFrom(2, ['c', 'd']), 4)
      .finalRead(0, ABCD)
      .build();
    const result = check(history);
    expect(anomalyNames(result)).toEqual([QueueAnomaly.SKIP]);
    expect(result.anomalies[QueueAnomaly.SKIP]!.examples).toEqual([
      { process: 'reader-0', partition: 0, previousOffset: 0, offset: 2, opIndexes: [10, 16] },
    ]);
  });

  it('accepts any jump across an assign, and keeps positions per reader and partition', () => {
    const history = fourSends()
      .send('producer-0', 1, 'x', 0)
      .assign('reader-1', 0, 0)
      .poll('reader-0', 0, 0, recordsFrom(0, ['a', 'b']), 4)
      .assign('reader-0', 1, 0)
      .poll('reader-0', 1, 0, recordsFrom(0, ['x']), 1)
      .poll('reader-1', 0, 0, recordsFrom(0, ['a']), 4)
      .poll('reader-0', 0, 2, recordsFrom(2, ['c']), 4)
      .assign('reader-0', 0, 0)
      .poll('reader-0', 0, 0, recordsFrom(0, ['a']), 4)
      .assign('reader-0', 0, 3)
      .poll('reader-0', 0, 3, recordsFrom(3, ['d']), 4)
      .finalRead(0, ABCD)
      .finalRead(1, ['x'])
      .build();
    expect(check(history).anomalies).toEqual({});
  });

  it('flags a first record after an assign that is not the offset assigned (skip, nonmonotonic)', () => {
    const history = fourSends()
      .assign('reader-0', 0, 1)
      .poll('reader-0', 0, 1, recordsFrom(2, ['c']), 4)
      .assign('reader-1', 0, 2)
      .poll('reader-1', 0, 2, recordsFrom(1, ['b']), 4)
      .finalRead(0, ABCD)
      .build();
    const result = check(history);
    expect(anomalyNames(result).sort()).toEqual([QueueAnomaly.NONMONOTONIC, QueueAnomaly.SKIP]);
    expect(result.anomalies[QueueAnomaly.SKIP]!.examples[0]).toMatchObject({
      process: 'reader-0',
      previousOffset: 0,
      offset: 2,
    });
  });

  it('checks the final read in order too', () => {
    const history = fourSends()
      .assign(FINAL_PROCESS, 0, 0)
      .finalPoll(0, 0, recordsFrom(0, ['a', 'b']), 4)
      .finalPoll(0, 2, recordsFrom(3, ['d']), 4)
      .assign(FINAL_PROCESS, 0, 2)
      .finalPoll(0, 2, recordsFrom(2, ['c']), 4)
      .build();
    const result = check(history);
    expect(anomalyNames(result)).toEqual([QueueAnomaly.SKIP]);
    expect(result.anomalies[QueueAnomaly.SKIP]!.examples[0]).toMatchObject({
      process: FINAL_PROCESS,
      previousOffset: 1,
      offset: 3,
    });
  });
});

describe('QueueChecker: malformed histories', () => {
  it('throws on a completion with nothing outstanding', () => {
    const history = new HistoryBuilder().completeSend('producer-0', 0, 'a', 0).build();
    expect(() => check(history)).toThrow(MalformedHistoryError);
  });

  it('throws on a second invoke while one is outstanding', () => {
    const history = new HistoryBuilder()
      .invokeSend('producer-0', 0, 'a')
      .invokePoll('producer-0', 0, 0)
      .build();
    expect(() => check(history)).toThrow(/outstanding/);
  });

  it('throws on a value sent twice, since every check keys on the value', () => {
    const history = new HistoryBuilder()
      .send('producer-0', 0, 'a', 'fail')
      .send('producer-0', 0, 'a', 0)
      .build();
    expect(() => check(history)).toThrow(/already sent/);
  });
});
