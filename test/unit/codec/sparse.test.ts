// Goal: the batches compaction writes, thinned (sparse) and empty, are valid stored batches that
// decode to exactly the records kept, at their original offsets and timestamps, under every codec
// and timestamp type; damage to them is still caught; and a producer still cannot send one.
// Method: build batches with encodeBatch, thin them with retainRecords over every keep mask (and
// random ones with fast-check), build empty batches with encodeEmptyBatch, and check, decode,
// flip and truncate them.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  BATCH,
  Compression,
  RecordBatch,
  TimestampType,
  checkBatch,
  checkBatchHeader,
  checkProducedBatch,
  decodeRecords,
  encodeBatch,
  encodeEmptyBatch,
  retainRecords,
  type RecordInput,
} from '../../../src/codec/index.js';
import { writeBatchCrc } from '../../../src/codec/crc.js';

const records: RecordInput[] = [
  { key: Buffer.from('a'), value: Buffer.from('a-1'), timestampMs: 1_000, headers: [] },
  {
    key: Buffer.from('b'),
    value: Buffer.from('b-1'),
    timestampMs: 1_020,
    headers: [{ key: 'h', value: Buffer.from([7]) }],
  },
  { key: Buffer.from('a'), value: null, timestampMs: 990, headers: [] },
  { key: null, value: Buffer.from('keyless'), timestampMs: 1_010, headers: [] },
];

const codecs = [
  ['none', Compression.NONE],
  ['gzip', Compression.GZIP],
  ['snappy', Compression.SNAPPY],
] as const;

const timestampTypes = [
  ['CreateTime', TimestampType.CREATE_TIME],
  ['LogAppendTime', TimestampType.LOG_APPEND_TIME],
] as const;

function maskOf(bits: number, length: number): Uint8Array {
  const keep = new Uint8Array(length);
  for (let i = 0; i < length; i++) keep[i] = (bits >> i) & 1;
  return keep;
}

function flipped(buf: Buffer, position: number): Buffer {
  const copy = Buffer.from(buf);
  copy[position] = copy[position]! ^ 0x01;
  return copy;
}

describe.each(codecs)('codec %s', (_name, compression) => {
  test.each(timestampTypes)(
    'retainRecords keeps exactly the flagged records, at their offsets (%s)',
    async (_type, timestampType) => {
      const original = await encodeBatch(records, {
        compression,
        timestampType,
        baseOffset: 500,
        leaderEpoch: 3,
      });
      const full = await decodeRecords(original);
      for (let bits = 0; bits < 1 << records.length; bits++) {
        const keep = maskOf(bits, records.length);
        const thinned = await retainRecords(original, keep);
        expect(await checkBatch(thinned)).toEqual({ ok: true });
        const header = RecordBatch.of(thinned);
        const source = RecordBatch.of(original);
        expect(header.baseOffset).toBe(500);
        expect(header.lastOffset).toBe(source.lastOffset);
        expect(header.leaderEpoch).toBe(3);
        expect(header.maxTimestamp).toBe(source.maxTimestamp);
        expect(header.timestampType).toBe(timestampType);
        const expected = full.filter((_r, i) => keep[i] === 1);
        expect(header.recordCount).toBe(expected.length);
        if (expected.length > 0) {
          expect(header.firstTimestamp).toBe(source.firstTimestamp);
          expect(header.compression).toBe(compression);
        } else {
          // An empty batch is never compressed and has no records section.
          expect(header.compression).toBe(Compression.NONE);
          expect(thinned.length).toBe(BATCH.RECORDS);
        }
        expect(await decodeRecords(thinned)).toEqual(expected);
        if (bits !== (1 << records.length) - 1) {
          // Not dense any more: a producer could not send it.
          expect((await checkProducedBatch(thinned)).ok).toBe(false);
        }
      }
    },
  );

  test('a flipped byte anywhere in a thinned batch is detected', async () => {
    const original = await encodeBatch(records, { compression, baseOffset: 9 });
    const thinned = await retainRecords(original, maskOf(0b1010, records.length));
    for (let position = 0; position < thinned.length; position++) {
      expect((await checkBatch(flipped(thinned, position))).ok, `byte ${position}`).toBe(false);
    }
    for (let length = 0; length < thinned.length; length++) {
      expect(checkBatchHeader(thinned.subarray(0, length)).ok, `length ${length}`).toBe(false);
    }
  });
});

describe('empty batches', () => {
  const fields = {
    attributes: TimestampType.CREATE_TIME,
    baseOffset: 1_000,
    lastOffsetDelta: 41,
    leaderEpoch: 2,
    firstTimestamp: 5,
    maxTimestamp: 9,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
  };

  test('an empty batch covers its offsets, decodes to nothing, and passes the stored checks only', async () => {
    const empty = encodeEmptyBatch(fields);
    expect(empty.length).toBe(BATCH.RECORDS);
    expect(checkBatchHeader(empty)).toEqual({ ok: true });
    expect(await checkBatch(empty)).toEqual({ ok: true });
    expect(await checkProducedBatch(empty)).toMatchObject({ ok: false, code: 'INVALID_RECORD' });
    expect(await decodeRecords(empty)).toEqual([]);
    const header = RecordBatch.of(empty);
    expect([header.baseOffset, header.lastOffset, header.nextOffset]).toEqual([
      1_000, 1_041, 1_042,
    ]);
    expect([header.recordCount, header.leaderEpoch, header.maxTimestamp]).toEqual([0, 2, 9]);
  });

  test('compression bits are dropped: an empty batch has no section to compress', () => {
    const empty = encodeEmptyBatch({ ...fields, attributes: Compression.GZIP | 0x08 });
    const header = RecordBatch.of(empty);
    expect(header.compression).toBe(Compression.NONE);
    expect(header.timestampType).toBe(TimestampType.LOG_APPEND_TIME);
  });

  test('every flipped byte and every truncation of an empty batch is detected', async () => {
    const empty = encodeEmptyBatch(fields);
    for (let position = 0; position < empty.length; position++) {
      expect((await checkBatch(flipped(empty, position))).ok, `byte ${position}`).toBe(false);
    }
    for (let length = 0; length < empty.length; length++) {
      expect(checkBatchHeader(empty.subarray(0, length)).ok).toBe(false);
    }
    // Bytes after the header are records the count does not declare.
    const extended = Buffer.concat([empty, Buffer.from([0])]);
    extended.writeInt32BE(extended.length - 4, BATCH.LENGTH);
    writeBatchCrc(extended);
    expect(await checkBatch(extended)).toMatchObject({ ok: false, code: 'INVALID_RECORD' });
  });
});

test('property: thinning random batches keeps the chosen records byte for byte, under every codec', async () => {
  const recordArb = fc.record({
    key: fc.option(
      fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
      { nil: null },
    ),
    value: fc.option(
      fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
      { nil: null },
    ),
    timestampMs: fc.integer({ min: 0, max: 1_000_000 }),
    headers: fc.array(
      fc.record({
        key: fc.string({ maxLength: 4 }).filter((k) => !/[\uD800-\uDFFF]/u.test(k)),
        value: fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)),
      }),
      { maxLength: 2 },
    ),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(recordArb, { minLength: 1, maxLength: 20 }),
      fc.constantFrom(Compression.NONE, Compression.GZIP, Compression.SNAPPY),
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
      async (inputs, compression, baseOffset, mask) => {
        const batch = await encodeBatch(inputs, { compression, baseOffset, leaderEpoch: 0 });
        const keep = Uint8Array.from(inputs.map((_r, i) => (mask[i] === true ? 1 : 0)));
        const thinned = await retainRecords(batch, keep);
        const expected = (await decodeRecords(batch)).filter((_r, i) => keep[i] === 1);
        expect(await checkBatch(thinned)).toEqual({ ok: true });
        expect(await decodeRecords(thinned)).toEqual(expected);
        // Thinning what is already thinned with every flag set changes nothing.
        const again = await retainRecords(thinned, new Uint8Array(expected.length).fill(1));
        expect(await decodeRecords(again)).toEqual(expected);
      },
    ),
    { numRuns: 150 },
  );
});
