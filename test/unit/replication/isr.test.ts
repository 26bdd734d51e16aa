/**
 * The ISR rules a partition leader applies (src/replication/isr.ts), as pure functions: the
 * high watermark over the (maximal) ISR, when a follower counts as caught up (Kafka's
 * Partition.updateFollowerFetchState), who lags out of the ISR and who may join it (KIP-497).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  caughtUpAfterFetch,
  highWatermarkOf,
  joinableReplicas,
  laggingMembers,
  type FollowerProgress,
} from '../../../src/replication/index.js';

const progress = (entries: Array<[number, number, number]>): Map<number, FollowerProgress> =>
  new Map(
    entries.map(([replicaId, logEndOffset, lastCaughtUpMs]) => [
      replicaId,
      { replicaId, logEndOffset, lastCaughtUpMs },
    ]),
  );

describe('highWatermarkOf', () => {
  it('is the smallest log end offset over the ISR, the leader included', () => {
    const followers = progress([
      [2, 7, 0],
      [3, 5, 0],
    ]);
    expect(highWatermarkOf(1, 9, new Set([1, 2, 3]), followers)).toBe(5);
    expect(highWatermarkOf(1, 4, new Set([1, 2, 3]), followers)).toBe(4);
  });

  it('ignores replicas outside the ISR, however far behind', () => {
    const followers = progress([
      [2, 7, 0],
      [3, 0, 0],
    ]);
    expect(highWatermarkOf(1, 9, new Set([1, 2]), followers)).toBe(7);
  });

  it('holds (answers -1) while an ISR member has not fetched yet', () => {
    expect(highWatermarkOf(1, 9, new Set([1, 2]), progress([[2, -1, 0]]))).toBe(-1);
    expect(highWatermarkOf(1, 9, new Set([1, 2]), new Map())).toBe(-1);
  });

  it('with an ISR of one is the leader log end', () => {
    expect(highWatermarkOf(1, 9, new Set([1]), progress([[2, 3, 0]]))).toBe(9);
  });

  it('never exceeds any ISR member (generated)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 6 }),
        (leaderEnd, ends) => {
          const followers = progress(ends.map((end, i) => [i + 2, end, 0]));
          const isr = new Set([1, ...ends.map((_, i) => i + 2)]);
          const hw = highWatermarkOf(1, leaderEnd, isr, followers);
          expect(hw).toBeLessThanOrEqual(leaderEnd);
          for (const end of ends) expect(hw).toBeLessThanOrEqual(end);
          expect([leaderEnd, ...ends]).toContain(hw);
        },
      ),
    );
  });
});

describe('caughtUpAfterFetch', () => {
  const previous = { lastCaughtUpMs: 100, lastFetchMs: 500, leaderEndAtLastFetch: 40 };

  it('at the leader end: caught up now', () => {
    expect(caughtUpAfterFetch(previous, 50, 50, 900)).toBe(900);
  });

  it('at the end the leader had at the previous fetch: caught up as of that fetch', () => {
    expect(caughtUpAfterFetch(previous, 40, 50, 900)).toBe(500);
  });

  it('behind both: unchanged', () => {
    expect(caughtUpAfterFetch(previous, 39, 50, 900)).toBe(100);
  });
});

describe('laggingMembers and joinableReplicas', () => {
  it('finds ISR followers not caught up within the lag time, never the leader', () => {
    const followers = progress([
      [2, 9, 1_000],
      [3, 9, 8_000],
    ]);
    expect(laggingMembers(1, new Set([1, 2, 3]), followers, 12_000, 10_000)).toEqual([2]);
    expect(laggingMembers(1, new Set([1, 3]), followers, 12_000, 10_000)).toEqual([]);
  });

  it('lets a replica join once it reaches the HW and the start of the leader epoch', () => {
    const followers = progress([
      [2, 10, 0],
      [3, 7, 0],
    ]);
    expect(joinableReplicas([1, 2, 3], new Set([1]), followers, 10, 8)).toEqual([2]);
    expect(joinableReplicas([1, 2, 3], new Set([1]), followers, 6, 8)).toEqual([2]);
    expect(joinableReplicas([1, 2, 3], new Set([1]), followers, 6, 5)).toEqual([2, 3]);
    expect(joinableReplicas([1, 2, 3], new Set([1, 2]), followers, 6, 5)).toEqual([3]);
  });
});
