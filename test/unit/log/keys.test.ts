/**
 * The log's key layout: byte order must be numeric order (offsets, epochs, signed timestamps),
 * topic ids must round-trip, and a range end must bound exactly the keys under its prefix.
 * Properties are checked with fast-check over the whole safe-integer domain. Partition state
 * records are versioned: version 2 is written, versions 1 and 2 are read, anything else refused.
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
  type PartitionState,
} from '../../../src/log/keys.js';
import { AssertionError } from '../../../src/util/assert.js';

const offsetArb = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const timestampArb = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
/** Any state version 2 can hold; about one in six optional fields is null. */
const stateArb: fc.Arbitrary<PartitionState> = fc
  .record({
    logStartOffset: offsetArb,
    sizeBytes: offsetArb,
    indexedEnd: offsetArb,
    truncateFrom: fc.option(offsetArb, { nil: null }),
    rewrite: fc.option(
      fc
        .tuple(offsetArb, offsetArb)
        .filter(([a, b]) => a !== b)
        .map(([a, b]) => ({ from: Math.min(a, b), end: Math.max(a, b) })),
      { nil: null },
    ),
  })
  // The index never ends before the log start.
  .map((state) => ({
    ...state,
    logStartOffset: Math.min(state.logStartOffset, state.indexedEnd),
    indexedEnd: Math.max(state.logStartOffset, state.indexedEnd),
  }));
const STATE: PartitionState = {
  logStartOffset: 1,
  sizeBytes: 2,
  indexedEnd: 3,
  truncateFrom: 4,
  rewrite: { from: 5, end: 6 },
};

/** A version 1 record as the build before the two stores wrote it: [1][logStart u64][size u64]. */
function stateV1(logStartOffset: number, sizeBytes: number): Buffer {
  const value = Buffer.alloc(17);
  value[0] = 1;
  value.writeBigUInt64BE(BigInt(logStartOffset), 1);
  value.writeBigUInt64BE(BigInt(sizeBytes), 9);
  return value;
}

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

  it('round-trips the partition state through version 2, nulls included', () => {
    fc.assert(
      fc.property(stateArb, (state) => {
        const value = encodeState(state);
        expect(value).toHaveLength(50);
        expect(value[0]).toBe(2);
        expect(decodeState(value)).toEqual(state);
      }),
    );
    const value = encodeState(STATE);
    // [version][flags = truncation | rewrite][six u64s, big-endian]
    expect(value.subarray(0, 2)).toEqual(Buffer.from([2, 0x03]));
    expect([2, 10, 18, 26, 34, 42].map((at) => Number(value.readBigUInt64BE(at)))).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    const bare = encodeState({ ...STATE, truncateFrom: null, rewrite: null });
    expect(bare[1]).toBe(0);
    expect(bare.subarray(26).equals(Buffer.alloc(24))).toBe(true);
    // A record always says where its index ends: only a version 1 record, read back, has null.
    expect(() => encodeState({ ...STATE, indexedEnd: null })).toThrow(AssertionError);
  });

  it('reads a version 1 state record as counting every batch, with nothing under way', () => {
    fc.assert(
      fc.property(offsetArb, offsetArb, (logStartOffset, sizeBytes) => {
        expect(decodeState(stateV1(logStartOffset, sizeBytes))).toEqual({
          logStartOffset,
          sizeBytes,
          indexedEnd: null,
          truncateFrom: null,
          rewrite: null,
        });
      }),
    );
  });

  it('refuses state records it cannot read with a RangeError', () => {
    const refused = (value: Buffer, message: RegExp): void => {
      expect(() => decodeState(value)).toThrow(RangeError);
      expect(() => decodeState(value)).toThrow(message);
    };
    const value = encodeState(STATE);
    const changed = (at: number, byte: number): Buffer => {
      const copy = Buffer.from(value);
      copy[at] = byte;
      return copy;
    };
    // Unknown versions, and no version at all.
    refused(changed(0, 0), /version 0/);
    refused(changed(0, 3), /version 3/);
    refused(Buffer.alloc(0), /version undefined/);
    // Wrong lengths for version 1 (17 bytes) and version 2 (50 bytes).
    const v1 = stateV1(1, 2);
    refused(v1.subarray(0, 16), /v1 is 17 bytes, not 16/);
    refused(Buffer.concat([v1, Buffer.alloc(1)]), /v1 is 17 bytes, not 18/);
    refused(Buffer.from([1, 2, 3]), /v1 is 17 bytes, not 3/);
    refused(value.subarray(0, 49), /v2 is 50 bytes, not 49/);
    refused(Buffer.concat([value, Buffer.alloc(1)]), /v2 is 50 bytes, not 51/);
    refused(value.subarray(0, 17), /v2 is 50 bytes, not 17/);
    // Flag bits this build does not know.
    for (const flags of [0x04, 0x08, 0x80, 0x07]) refused(changed(1, flags), /unknown flags/);
    const endsEarly = encodeState({ ...STATE, logStartOffset: 4, indexedEnd: 4 });
    endsEarly.writeBigUInt64BE(3n, 18);
    refused(endsEarly, /before its log start/);
    // A rewrite must be a non-empty range: from < end.
    for (const [from, end] of [
      [6, 6],
      [7, 6],
    ] as const) {
      const copy = Buffer.from(value);
      copy.writeBigUInt64BE(BigInt(from), 34);
      copy.writeBigUInt64BE(BigInt(end), 42);
      refused(copy, /empty rewrite/);
    }
    // Negative offsets (-1 as an int64), in either version.
    for (const at of [2, 10, 18, 26]) {
      const copy = Buffer.from(value);
      copy.writeBigInt64BE(-1n, at);
      refused(copy, /negative/);
    }
    const negativeV1 = Buffer.from(v1);
    negativeV1.writeBigInt64BE(-1n, 9);
    refused(negativeV1, /negative/);
  });
});
