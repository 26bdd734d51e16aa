/**
 * The leader-epoch cache alone: Kafka's OffsetsForLeaderEpoch answers (KIP-101, KIP-279), and
 * truncation from either end. Each test builds a cache by hand and checks the answers.
 */
import { describe, expect, it } from 'vitest';
import { EPOCH_UNDEFINED, LeaderEpochCache } from '../../../src/log/epoch-cache.js';

function cacheOf(entries: Array<[number, number]>): LeaderEpochCache {
  const cache = new LeaderEpochCache();
  for (const [epoch, start] of entries) cache.maybeAssign(epoch, start);
  return cache;
}

describe('LeaderEpochCache', () => {
  it('adds an entry only when the epoch is new, and refuses older epochs', () => {
    const cache = new LeaderEpochCache();
    expect(cache.latestEpoch()).toBe(EPOCH_UNDEFINED);
    expect(cache.maybeAssign(2, 0)).toEqual([]);
    expect(cache.maybeAssign(2, 5)).toBeNull();
    expect(cache.maybeAssign(4, 7)).toEqual([]);
    expect(cache.entries()).toEqual([
      [2, 0],
      [4, 7],
    ]);
    expect(() => cache.maybeAssign(3, 9)).toThrow(/older than the latest/);
  });

  it('answers endOffsetFor like Kafka', () => {
    const cache = cacheOf([
      [1, 0],
      [3, 10],
      [6, 20],
    ]);
    expect(cache.endOffsetFor(6, 25)).toEqual({ epoch: 6, endOffset: 25 });
    expect(cache.endOffsetFor(3, 25)).toEqual({ epoch: 3, endOffset: 20 });
    expect(cache.endOffsetFor(5, 25)).toEqual({ epoch: 3, endOffset: 20 });
    expect(cache.endOffsetFor(1, 25)).toEqual({ epoch: 1, endOffset: 10 });
    expect(cache.endOffsetFor(0, 25)).toEqual({ epoch: 0, endOffset: 0 });
    expect(cache.endOffsetFor(7, 25)).toEqual({ epoch: -1, endOffset: -1 });
    expect(cache.endOffsetFor(-1, 25)).toEqual({ epoch: -1, endOffset: -1 });
    expect(new LeaderEpochCache().endOffsetFor(0, 0)).toEqual({ epoch: -1, endOffset: -1 });
  });

  it('truncates from the end', () => {
    const cache = cacheOf([
      [1, 0],
      [3, 10],
      [6, 20],
    ]);
    expect(cache.truncateFromEnd(20)).toEqual([{ epoch: 6, startOffset: 20 }]);
    expect(cache.truncateFromEnd(11)).toEqual([]);
    expect(cache.latestEpoch()).toBe(3);
  });

  it('truncates from the start, moving the covering entry to the new start', () => {
    const cache = cacheOf([
      [1, 0],
      [3, 10],
      [6, 20],
    ]);
    expect(cache.truncateFromStart(15)).toEqual({
      removedEpochs: [1],
      moved: { epoch: 3, startOffset: 15 },
    });
    expect(cache.truncateFromStart(20)).toEqual({ removedEpochs: [3], moved: null });
    expect(cache.entries()).toEqual([[6, 20]]);
    expect(cache.truncateFromStart(5)).toEqual({ removedEpochs: [], moved: null });
  });

  it('lets a new epoch replace an entry that truncateFromStart left at the log end', () => {
    const cache = cacheOf([[1, 0]]);
    cache.truncateFromStart(4);
    expect(cache.maybeAssign(2, 4)).toEqual([1]);
    expect(cache.entries()).toEqual([[2, 4]]);
  });
});
