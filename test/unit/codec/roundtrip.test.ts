// Goal: for every codec and both timestamp types, what encodeBatch writes passes checkBatch and
// decodes back to exactly the input, before and after the leader stamps it.
// Method: fast-check generates records (null, empty and non-empty keys and values, headers with
// Unicode keys, timestamps from far negative to near 2^52, all producer fields), encodes, checks,
// decodes and compares; then stamps random offsets, epochs and append times and checks again.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  Compression,
  RecordBatch,
  TimestampType,
  checkBatch,
  checkBatchHeader,
  decodeRecords,
  encodeBatch,
  stampBatch,
  type EncodeOptions,
  type RecordInput,
} from '../../../src/codec/index.js';

const INT32_MAX = 2147483647;
const TIMESTAMP_MAX = 2 ** 52 - 1; // Any two such timestamps differ by a safe integer.

const bytes = (maxLength: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));
const nullableBytes = fc.option(fc.oneof(bytes(8), bytes(300), fc.constant(Buffer.alloc(0))), {
  nil: null,
});
const timestampMs = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: INT32_MAX }),
  fc.integer({ min: -TIMESTAMP_MAX, max: TIMESTAMP_MAX }),
  fc.constantFrom(-1, 0, 1700000000000, TIMESTAMP_MAX, -TIMESTAMP_MAX),
);
const header = fc.record({ key: fc.string({ unit: 'grapheme', maxLength: 12 }), value: bytes(40) });
const record: fc.Arbitrary<RecordInput> = fc.record({
  key: nullableBytes,
  value: nullableBytes,
  timestampMs,
  headers: fc.array(header, { maxLength: 4 }),
});
const producer = fc.oneof(
  fc.constant({ producerId: -1, producerEpoch: -1, baseSequence: -1 }),
  fc.record({
    producerId: fc.maxSafeNat(),
    producerEpoch: fc.integer({ min: 0, max: 32767 }),
    baseSequence: fc.integer({ min: 0, max: INT32_MAX }),
  }),
);
const placement = fc.record({
  baseOffset: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER - 1000)),
  leaderEpoch: fc.integer({ min: -1, max: INT32_MAX }),
});
const stamp = fc.record({
  baseOffset: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER - 1000)),
  leaderEpoch: fc.integer({ min: 0, max: INT32_MAX }),
  logAppendTimeMs: fc.option(timestampMs, { nil: null }),
});

function expectDecodedEquals(
  decoded: Awaited<ReturnType<typeof decodeRecords>>,
  input: readonly RecordInput[],
  baseOffset: number,
  timestampOf: (record: RecordInput) => number,
): void {
  expect(decoded.length).toBe(input.length);
  for (let i = 0; i < input.length; i++) {
    const want = input[i]!;
    const got = decoded[i]!;
    expect(got.offset).toBe(baseOffset + i);
    expect(got.timestampMs).toBe(timestampOf(want));
    expect(sameBytes(got.key, want.key)).toBe(true);
    expect(sameBytes(got.value, want.value)).toBe(true);
    expect(got.headers.length).toBe(want.headers.length);
    for (let h = 0; h < want.headers.length; h++) {
      expect(got.headers[h]!.key).toBe(want.headers[h]!.key);
      expect(sameBytes(got.headers[h]!.value, want.headers[h]!.value)).toBe(true);
    }
  }
}

/** Byte equality with null distinct from empty; toEqual walks large Buffers byte by byte. */
function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

const codecs = [Compression.NONE, Compression.GZIP, Compression.SNAPPY] as const;
const codecCases = [
  ['none', Compression.NONE],
  ['gzip', Compression.GZIP],
  ['snappy', Compression.SNAPPY],
] as const;
const timestampTypeCases = [
  ['CreateTime', TimestampType.CREATE_TIME],
  ['LogAppendTime', TimestampType.LOG_APPEND_TIME],
] as const;

describe.each(codecCases)('codec %s', (_name, compression) => {
  describe.each(timestampTypeCases)('%s', (_type, timestampType) => {
    test('encode, check and decode round-trip; stamping keeps the batch valid', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(record, { minLength: 1, maxLength: 12 }),
          producer,
          placement,
          stamp,
          async (records, producerFields, where, stampFields) => {
            const options: EncodeOptions = {
              compression,
              timestampType,
              ...producerFields,
              ...where,
            };
            const buf = await encodeBatch(records, options);
            expect(await checkBatch(buf)).toEqual({ ok: true });
            const maxTimestamp = Math.max(...records.map((r) => r.timestampMs));
            const batch = RecordBatch.of(buf);
            expect(batch.byteLength).toBe(buf.length);
            expect(batch.magic).toBe(1);
            expect(batch.compression).toBe(compression);
            expect(batch.timestampType).toBe(timestampType);
            expect(batch.baseOffset).toBe(where.baseOffset);
            expect(batch.leaderEpoch).toBe(where.leaderEpoch);
            expect(batch.recordCount).toBe(records.length);
            expect(batch.lastOffsetDelta).toBe(records.length - 1);
            expect(batch.nextOffset).toBe(where.baseOffset + records.length);
            expect(batch.firstTimestamp).toBe(records[0]!.timestampMs);
            expect(batch.maxTimestamp).toBe(maxTimestamp);
            expect(batch.producerId).toBe(producerFields.producerId);
            expect(batch.producerEpoch).toBe(producerFields.producerEpoch);
            expect(batch.baseSequence).toBe(producerFields.baseSequence);
            const isCreateTime = timestampType === TimestampType.CREATE_TIME;
            expectDecodedEquals(await decodeRecords(buf), records, where.baseOffset, (r) =>
              isCreateTime ? r.timestampMs : maxTimestamp,
            );

            stampBatch(buf, stampFields);
            expect(checkBatchHeader(buf)).toEqual({ ok: true });
            expect(await checkBatch(buf)).toEqual({ ok: true });
            expect(batch.baseOffset).toBe(stampFields.baseOffset);
            expect(batch.leaderEpoch).toBe(stampFields.leaderEpoch);
            const appendTimeMs = stampFields.logAppendTimeMs;
            const stampedAppendTime = appendTimeMs !== null || !isCreateTime;
            expect(batch.timestampType).toBe(
              stampedAppendTime ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME,
            );
            const stampedMax = appendTimeMs ?? maxTimestamp;
            expect(batch.maxTimestamp).toBe(stampedMax);
            expect(batch.firstTimestamp).toBe(records[0]!.timestampMs);
            expect(batch.producerId).toBe(producerFields.producerId);
            expectDecodedEquals(await decodeRecords(buf), records, stampFields.baseOffset, (r) =>
              stampedAppendTime ? stampedMax : r.timestampMs,
            );
          },
        ),
        { numRuns: 120 },
      );
    });
  });
});

describe('edge values', () => {
  test('timestamps one safe-integer step apart in both directions round-trip', async () => {
    // Deltas of ±(2^53 - 2) need all 8 varlong bytes.
    const records: RecordInput[] = [
      { key: null, value: null, timestampMs: TIMESTAMP_MAX, headers: [] },
      { key: null, value: null, timestampMs: -TIMESTAMP_MAX, headers: [] },
    ];
    const buf = await encodeBatch(records);
    expect(await checkBatch(buf)).toEqual({ ok: true });
    expect((await decodeRecords(buf)).map((r) => r.timestampMs)).toEqual([
      TIMESTAMP_MAX,
      -TIMESTAMP_MAX,
    ]);
  });

  test('a batch of the maximum header count and large values round-trips with every codec', async () => {
    const headers = Array.from({ length: 1000 }, (_, i) => ({
      key: `h${i}-é€😀`,
      value: Buffer.from([i & 0xff]),
    }));
    const records: RecordInput[] = [
      { key: Buffer.alloc(70_000, 7), value: Buffer.alloc(200_000, 9), timestampMs: 5, headers },
      { key: Buffer.alloc(0), value: Buffer.alloc(0), timestampMs: 4, headers: [] },
    ];
    for (const compression of codecs) {
      const buf = await encodeBatch(records, { compression });
      expect(await checkBatch(buf)).toEqual({ ok: true });
      expectDecodedEquals(await decodeRecords(buf), records, 0, (r) => r.timestampMs);
    }
  });

  test('decoded keys and values are views of the batch bytes, not copies', async () => {
    const buf = await encodeBatch([
      { key: Buffer.from('k'), value: Buffer.from('v'), timestampMs: 0, headers: [] },
    ]);
    const [decoded] = await decodeRecords(buf);
    expect(decoded!.key!.buffer).toBe(buf.buffer);
  });
});
