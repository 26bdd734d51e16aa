/**
 * The log's key layout: byte order must be numeric order (offsets, epochs, signed timestamps),
 * topic ids must round-trip, and a range end must bound exactly the keys under its prefix.
 * Properties are checked with fast-check over the whole safe-integer domain.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KeySpace,
  PartitionKeys,
  batchKeyOffset,
  decodeState,
  encodeState,
  prefixEnd,
  readSortableInt64,
  timeKeyTimestamp,
  topicIdFromBytes,
  topicIdToBytes,
  writeSortableInt64,
} from '../../../src/log/keys.js';

const offsetArb = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const timestampArb = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });

describe('keys', () => {
  it('round-trips topic ids through 16 raw bytes', () => {
    fc.assert(
      fc.property(fc.uuid(), (uuid) => {
        const bytes = topicIdToBytes(uuid);
        expect(bytes).toHaveLength(16);
        expect(topicIdFromBytes(bytes, 0)).toBe(uuid.toLowerCase());
      }),
    );
    expect(() => topicIdToBytes('not-a-uuid')).toThrow(/not a UUID/);
  });

  it('orders batch keys as their offsets, and reads the offset back', () => {
    const keys = new PartitionKeys(randomUUID(), 7);
    fc.assert(
      fc.property(offsetArb, offsetArb, (a, b) => {
        const ka = keys.batch(a);
        const kb = keys.batch(b);
        expect(batchKeyOffset(ka)).toBe(a);
        expect(Math.sign(Buffer.compare(ka, kb))).toBe(Math.sign(a - b));
        expect(Buffer.compare(ka, keys.batches.gte)).toBeGreaterThan(0);
        expect(Buffer.compare(ka, keys.batches.lt)).toBeLessThan(0);
      }),
    );
  });

  it('orders time keys as signed timestamps', () => {
    const keys = new PartitionKeys(randomUUID(), 0);
    fc.assert(
      fc.property(timestampArb, timestampArb, (a, b) => {
        const ka = keys.time(a);
        expect(timeKeyTimestamp(ka)).toBe(a);
        expect(Math.sign(Buffer.compare(ka, keys.time(b)))).toBe(Math.sign(a - b));
      }),
    );
    const buf = Buffer.alloc(8);
    writeSortableInt64(buf, 0, -1);
    expect(buf.toString('hex')).toBe('7fffffffffffffff');
    expect(readSortableInt64(buf, 0)).toBe(-1);
  });

  it('orders epoch keys as epochs and keeps partitions apart', () => {
    const topicId = randomUUID();
    const p0 = new PartitionKeys(topicId, 0);
    const p1 = new PartitionKeys(topicId, 1);
    expect(Buffer.compare(p0.epoch(5), p0.epoch(300))).toBeLessThan(0);
    // Every key of partition 0 sorts before every key of partition 1.
    expect(Buffer.compare(p0.batches.lt, p1.batches.gte)).toBeLessThanOrEqual(0);
    expect(Buffer.compare(p0.batch(Number.MAX_SAFE_INTEGER), p1.batch(0))).toBeLessThan(0);
    expect(p0.state[0]).toBe(KeySpace.STATE);
    expect(p0.allRanges()).toHaveLength(4);
  });

  it('ends a prefix range at the next prefix, carrying over 0xff bytes', () => {
    expect(prefixEnd(Buffer.from([0x10, 0x01, 0xff, 0xff]))).toEqual(Buffer.from([0x10, 0x02]));
    const last = new PartitionKeys(randomUUID(), 0xffffffff);
    expect(Buffer.compare(last.batch(Number.MAX_SAFE_INTEGER), last.batches.lt)).toBeLessThan(0);
  });

  it('round-trips the versioned partition state and refuses unknown versions', () => {
    fc.assert(
      fc.property(offsetArb, offsetArb, (logStartOffset, sizeBytes) => {
        expect(decodeState(encodeState({ logStartOffset, sizeBytes }))).toEqual({
          logStartOffset,
          sizeBytes,
        });
      }),
    );
    const value = encodeState({ logStartOffset: 1, sizeBytes: 2 });
    value[0] = 2;
    expect(() => decodeState(value)).toThrow(RangeError);
    expect(() => decodeState(Buffer.from([1, 2, 3]))).toThrow(RangeError);
  });
});
