// Goal: no damaged batch passes, and no input makes the checks throw. Every byte of a batch is
// covered (batchLength by the buffer length, the rest by the CRC), so a flip anywhere is caught.
// Method: flip every byte of sample batches of each codec, flip random bytes of random batches
// with fast-check, truncate and extend them, and feed random bytes, including random records
// sections under a valid header and CRC, where checkBatch and decodeRecords must also agree.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  BATCH,
  Compression,
  checkBatch,
  checkBatchHeader,
  decodeRecords,
  encodeBatch,
  type BatchCheck,
  type RecordInput,
} from '../../../src/codec/index.js';
import { writeBatchCrc } from '../../../src/codec/crc.js';
import { BrokerError } from '../../../src/errors/index.js';

const sampleRecords: RecordInput[] = [
  { key: Buffer.from('user-1'), value: Buffer.from('{"a":1}'), timestampMs: 1000, headers: [] },
  {
    key: null,
    value: Buffer.from('tombstone next'),
    timestampMs: 1005,
    headers: [{ key: 'trace', value: Buffer.from([1, 2, 3]) }],
  },
  { key: Buffer.alloc(0), value: null, timestampMs: 990, headers: [] },
];

const codecCases = [
  ['none', Compression.NONE],
  ['gzip', Compression.GZIP],
  ['snappy', Compression.SNAPPY],
] as const;

/** Both checks, as the broker runs them; checkBatch repeats the header check, so it suffices. */
async function fullCheck(buf: Buffer): Promise<BatchCheck> {
  const header = checkBatchHeader(buf);
  const full = await checkBatch(buf);
  if (!header.ok) expect(full).toEqual(header);
  return full;
}

function flipped(buf: Buffer, position: number, mask: number): Buffer {
  const copy = Buffer.from(buf);
  copy[position] = copy[position]! ^ mask;
  return copy;
}

describe.each(codecCases)('codec %s', (_name, compression) => {
  test('a flipped byte at every position is detected', async () => {
    const buf = await encodeBatch(sampleRecords, { compression, producerId: 7, producerEpoch: 1 });
    for (let position = 0; position < buf.length; position++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const result = await fullCheck(flipped(buf, position, mask));
        expect(result.ok, `byte ${position} ^ 0x${mask.toString(16)}`).toBe(false);
        if (!result.ok && position >= BATCH.MAGIC + 1) {
          // Past batchLength and magic, only the CRC can notice, and it does first.
          expect(result.code).toBe('CORRUPT_MESSAGE');
        }
      }
    }
  });

  test('a flip in batchLength reads as a length mismatch', async () => {
    const buf = await encodeBatch(sampleRecords, { compression });
    const result = checkBatchHeader(flipped(buf, 3, 0x01));
    expect(result).toMatchObject({ ok: false, code: 'CORRUPT_MESSAGE' });
    expect(!result.ok && result.reason).toContain('batchLength');
  });

  test('every truncation and appended garbage is rejected', async () => {
    const buf = await encodeBatch(sampleRecords, { compression });
    for (let length = 0; length < buf.length; length++) {
      expect((await fullCheck(buf.subarray(0, length))).ok, `length ${length}`).toBe(false);
    }
    for (const garbage of [Buffer.from([0]), Buffer.from('garbage'), Buffer.from(buf)]) {
      expect((await fullCheck(Buffer.concat([buf, garbage]))).ok).toBe(false);
    }
  });
});

describe('random damage', () => {
  const record: fc.Arbitrary<RecordInput> = fc.record({
    key: fc.option(
      fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
      { nil: null },
    ),
    value: fc.option(
      fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a)),
      { nil: null },
    ),
    timestampMs: fc.integer({ min: -1e12, max: 1e13 }),
    headers: fc.array(
      fc.record({
        key: fc.string({ maxLength: 5 }),
        value: fc.uint8Array().map((a) => Buffer.from(a)),
      }),
      { maxLength: 2 },
    ),
  });
  const batchArbitrary = fc
    .tuple(
      fc.array(record, { minLength: 1, maxLength: 6 }),
      fc.constantFrom(Compression.NONE, Compression.GZIP, Compression.SNAPPY),
    )
    .map(([records, compression]) => encodeBatch(records, { compression }));

  test('a flipped byte at a random position of a random batch is detected', async () => {
    await fc.assert(
      fc.asyncProperty(
        batchArbitrary,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (pending, at, mask) => {
          const buf = await pending;
          expect((await fullCheck(flipped(buf, at % buf.length, mask))).ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('random bytes never make the checks throw, and never pass', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        const buf = Buffer.from(bytes);
        expect(checkBatchHeader(buf).ok).toBe(false);
        expect((await checkBatch(buf)).ok).toBe(false);
        await expect(decodeRecords(buf)).rejects.toBeInstanceOf(BrokerError);
      }),
      { numRuns: 500 },
    );
  });

  test('random bytes after a valid header, re-CRCed, never throw; check and decode agree', async () => {
    // The CRC is recomputed after the damage, so the record walk itself must catch it.
    await fc.assert(
      fc.asyncProperty(
        batchArbitrary,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        async (pending, flips) => {
          const buf = Buffer.from(await pending); // A copy: fast-check may replay the value.
          const sectionBytes = buf.length - BATCH.RECORDS;
          for (const [at, mask] of flips) {
            const position = BATCH.RECORDS + (at % sectionBytes);
            buf[position] = buf[position]! ^ mask;
          }
          writeBatchCrc(buf);
          await expectCheckAndDecodeAgree(buf);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a random records section with a plausible header never throws', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 120 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(0, 1, 2, 8),
        async (section, recordCount, attributes) => {
          const buf = Buffer.alloc(BATCH.RECORDS + section.length);
          buf.writeInt32BE(buf.length - 4, BATCH.LENGTH);
          buf.writeInt8(1, BATCH.MAGIC);
          buf.writeInt16BE(attributes, BATCH.ATTRIBUTES);
          buf.writeInt32BE(recordCount - 1, BATCH.LAST_OFFSET_DELTA);
          buf.writeInt32BE(recordCount, BATCH.RECORD_COUNT);
          Buffer.from(section).copy(buf, BATCH.RECORDS);
          writeBatchCrc(buf);
          await expectCheckAndDecodeAgree(buf);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

/** checkBatch resolves (never rejects), and decodeRecords succeeds exactly when it says ok. */
async function expectCheckAndDecodeAgree(buf: Buffer): Promise<void> {
  const result = await checkBatch(buf);
  if (result.ok) {
    const records = await decodeRecords(buf);
    expect(records.length).toBe(buf.readInt32BE(BATCH.RECORD_COUNT));
  } else {
    await expect(decodeRecords(buf)).rejects.toMatchObject({
      name: 'BrokerError',
      code: 'CORRUPT_MESSAGE',
    });
  }
}
