/**
 * Partition choice as Kafka's default partitioner makes it: an explicit partition wins, keyed
 * records follow murmur2 of the key (so all Kafka clients agree), and keyless records stick to
 * one partition until its batch closes, then move to a different one (KIP-480). Randomness is
 * injected, so the sticky choices are deterministic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../../src/codec/index.js';
import { StickyPartitioner, choosePartition } from '../../../src/client/partitioner.js';

function sequence(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}

describe('choosePartition', () => {
  it('uses the explicit partition whatever the key', () => {
    const sticky = new StickyPartitioner(() => 0);
    expect(choosePartition('t', Buffer.from('k'), 3, 8, sticky)).toBe(3);
    expect(choosePartition('t', null, 5, 8, sticky)).toBe(5);
  });

  it('sends a keyed record to murmur2(key) mod partitions, the same every time', () => {
    const sticky = new StickyPartitioner(() => 0.7);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 1, max: 1000 }),
        (bytes, count) => {
          const key = Buffer.from(bytes);
          const partition = choosePartition('t', key, undefined, count, sticky);
          expect(partition).toBe(partitionForKey(key, count));
          expect(partition).toBeGreaterThanOrEqual(0);
          expect(partition).toBeLessThan(count);
          expect(choosePartition('other', key, undefined, count, sticky)).toBe(partition);
        },
      ),
    );
  });
});

describe('StickyPartitioner', () => {
  it('keeps keyless records on one partition until that batch closes', () => {
    const sticky = new StickyPartitioner(sequence([0.5, 0.1]));
    const first = sticky.partition('t', 4);
    for (let i = 0; i < 100; i++) expect(sticky.partition('t', 4)).toBe(first);
    // Closing another partition's batch does not move the sticky choice.
    sticky.onBatchClosed('t', 4, (first + 1) % 4);
    expect(sticky.partition('t', 4)).toBe(first);
  });

  it('moves to a different partition when the sticky batch closes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 64 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 2,
          maxLength: 20,
        }),
        (count, randoms) => {
          const sticky = new StickyPartitioner(sequence(randoms));
          for (let round = 0; round < 10; round++) {
            const before = sticky.partition('t', count);
            sticky.onBatchClosed('t', count, before);
            const after = sticky.partition('t', count);
            expect(after).not.toBe(before);
            expect(after).toBeGreaterThanOrEqual(0);
            expect(after).toBeLessThan(count);
          }
        },
      ),
    );
  });

  it('stays on partition 0 of a one-partition topic', () => {
    const sticky = new StickyPartitioner(Math.random);
    for (let i = 0; i < 20; i++) {
      expect(sticky.partition('t', 1)).toBe(0);
      sticky.onBatchClosed('t', 1, 0);
    }
  });

  it('keeps one sticky choice per topic', () => {
    const sticky = new StickyPartitioner(sequence([0.1, 0.9]));
    const a = sticky.partition('a', 10);
    const b = sticky.partition('b', 10);
    expect(a).toBe(1);
    expect(b).toBe(9);
    sticky.onBatchClosed('a', 10, a);
    expect(sticky.partition('b', 10)).toBe(b);
  });

  it('re-chooses when the topic shrank below the sticky partition', () => {
    const sticky = new StickyPartitioner(sequence([0.99, 0.0]));
    expect(sticky.partition('t', 10)).toBe(9);
    expect(sticky.partition('t', 4)).toBe(0);
  });

  it('spreads sticky choices over all partitions', () => {
    const sticky = new StickyPartitioner(Math.random);
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const p = sticky.partition('t', 8);
      seen.add(p);
      sticky.onBatchClosed('t', 8, p);
    }
    expect(seen.size).toBe(8);
  });
});
