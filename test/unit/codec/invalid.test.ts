// Goal: each rule of the batch format is enforced on its own, with the right error code and a
// reason that names the problem, even when the CRC is valid (a buggy client, not a bad network).
// Method: hand-build batches byte by byte, break exactly one rule, recompute the CRC, and assert
// checkBatch's code and reason; decodeRecords must refuse the same batches with CORRUPT_MESSAGE,
// and checkProducedBatch too. The producer-only rules (dense offsets, exact maxTimestamp) are
// refused by checkProducedBatch alone: a stored batch compaction thinned may break them.
import { gzipSync } from 'node:zlib';
import { compressSync } from 'snappy';
import { describe, expect, test } from 'vitest';
import { limits } from '../../../src/config/limits.js';
import {
  BATCH,
  checkBatch,
  checkBatchHeader,
  checkProducedBatch,
  decodeRecords,
} from '../../../src/codec/index.js';
import { writeBatchHeader, type BatchHeaderFields } from '../../../src/codec/batch.js';
import { RECORDS_UNCOMPRESSED_BYTES_MAX } from '../../../src/codec/compression.js';
import { writeBatchCrc } from '../../../src/codec/crc.js';
import { varintBytes, varlongBytes, writeVarint, writeVarlong } from '../../../src/codec/varint.js';

function varint(value: number): Buffer {
  const buf = Buffer.alloc(varintBytes(value));
  writeVarint(buf, 0, value);
  return buf;
}

function varlong(value: number): Buffer {
  const buf = Buffer.alloc(varlongBytes(value));
  writeVarlong(buf, 0, value);
  return buf;
}

interface RawHeader {
  keyLength?: number;
  key?: Buffer;
  valueLength?: number;
  value?: Buffer;
}

/** One record, written field by field; any field can be overridden to break one rule. */
interface RawRecord {
  offsetDelta: number;
  attributes?: number;
  timestampDelta?: number;
  key?: Buffer | null;
  keyLength?: number;
  value?: Buffer | null;
  valueLength?: number;
  headers?: RawHeader[];
  headerCount?: number;
  /** Bytes inside the record's length, after its headers. */
  inside?: Buffer;
  /** Raw bytes instead of the whole body (the length still counts them). */
  body?: Buffer;
  length?: number;
}

function recordBytes(r: RawRecord): Buffer {
  const key = r.key === undefined ? Buffer.from('k') : r.key;
  const value = r.value === undefined ? Buffer.from('v') : r.value;
  const headers = r.headers ?? [];
  const body =
    r.body ??
    Buffer.concat([
      Buffer.from([r.attributes ?? 0]),
      varlong(r.timestampDelta ?? 0),
      varint(r.offsetDelta),
      varint(r.keyLength ?? (key === null ? -1 : key.length)),
      key ?? Buffer.alloc(0),
      varint(r.valueLength ?? (value === null ? -1 : value.length)),
      value ?? Buffer.alloc(0),
      varint(r.headerCount ?? headers.length),
      ...headers.map(headerBytes),
      r.inside ?? Buffer.alloc(0),
    ]);
  return Buffer.concat([varint(r.length ?? body.length), body]);
}

function headerBytes(h: RawHeader): Buffer {
  const key = h.key ?? Buffer.from('h');
  const value = h.value ?? Buffer.from('x');
  return Buffer.concat([
    varint(h.keyLength ?? key.length),
    key,
    varint(h.valueLength ?? value.length),
    value,
  ]);
}

const defaultFields: BatchHeaderFields = {
  attributes: 0,
  baseOffset: 0,
  leaderEpoch: -1,
  recordCount: 1,
  firstTimestamp: 0,
  maxTimestamp: 0,
  producerId: -1,
  producerEpoch: -1,
  baseSequence: -1,
};

/** A batch with a valid CRC around `section`; `patch` may break header bytes before the CRC. */
function batchOf(
  section: Buffer,
  fields: Partial<BatchHeaderFields> = {},
  patch: (buf: Buffer) => void = () => {},
): Buffer {
  const buf = Buffer.alloc(BATCH.RECORDS + section.length);
  writeBatchHeader(buf, { ...defaultFields, ...fields });
  section.copy(buf, BATCH.RECORDS);
  patch(buf);
  writeBatchCrc(buf);
  return buf;
}

const oneRecord = recordBytes({ offsetDelta: 0 });

async function expectRejected(buf: Buffer, code: string, reason: string): Promise<void> {
  const result = await checkBatch(buf);
  expect(result).toMatchObject({ ok: false, code });
  expect(result.ok ? '' : result.reason).toContain(reason);
  expect(await checkProducedBatch(buf)).toMatchObject({ ok: false, code });
  await expect(decodeRecords(buf)).rejects.toMatchObject({
    name: 'BrokerError',
    code: 'CORRUPT_MESSAGE',
    message: expect.stringContaining(reason) as unknown,
  });
}

/** A producer-only rule: refused on produce, fine in a stored (possibly compacted) batch. */
async function expectRefusedOnProduce(buf: Buffer, reason: string): Promise<void> {
  const result = await checkProducedBatch(buf);
  expect(result).toMatchObject({ ok: false, code: 'INVALID_RECORD' });
  expect(result.ok ? '' : result.reason).toContain(reason);
  expect(await checkBatch(buf)).toEqual({ ok: true });
  await decodeRecords(buf);
}

test('the hand-built baseline batches are valid', async () => {
  expect(await checkBatch(batchOf(oneRecord))).toEqual({ ok: true });
  const two = Buffer.concat([oneRecord, recordBytes({ offsetDelta: 1, timestampDelta: 5 })]);
  expect(await checkBatch(batchOf(two, { recordCount: 2, maxTimestamp: 5 }))).toEqual({ ok: true });
});

describe('header rules', () => {
  test('magic other than 1 is CORRUPT_MESSAGE (a Kafka v2 batch is not misread)', async () => {
    const buf = batchOf(oneRecord, {}, (b) => b.writeInt8(2, BATCH.MAGIC));
    await expectRejected(buf, 'CORRUPT_MESSAGE', 'magic is 2');
  });

  test.each([
    ['transactional (bit 4)', 0x10],
    ['control (bit 5)', 0x20],
    ['the sign bit', -0x8000],
  ])('an unknown attribute bit, %s, is INVALID_RECORD', async (_name, attributes) => {
    await expectRejected(batchOf(oneRecord, { attributes }), 'INVALID_RECORD', 'attributes');
  });

  test.each([3, 4, 5, 7])('codec %i is UNSUPPORTED_COMPRESSION_TYPE', async (codec) => {
    const buf = batchOf(oneRecord, { attributes: codec });
    await expectRejected(buf, 'UNSUPPORTED_COMPRESSION_TYPE', `codec ${codec}`);
  });

  test('a negative recordCount or lastOffsetDelta, recordCount above the limit or above lastOffsetDelta + 1, is INVALID_RECORD', async () => {
    const negative = batchOf(Buffer.alloc(0), {}, (b) => b.writeInt32BE(-1, BATCH.RECORD_COUNT));
    await expectRejected(negative, 'INVALID_RECORD', 'recordCount is -1');
    const noOffsets = batchOf(Buffer.alloc(0), {}, (b) => {
      b.writeInt32BE(0, BATCH.RECORD_COUNT);
      b.writeInt32BE(-1, BATCH.LAST_OFFSET_DELTA);
    });
    await expectRejected(noOffsets, 'INVALID_RECORD', 'lastOffsetDelta is -1');
    const tooMany = limits.batchRecordsMax + 1;
    const huge = batchOf(oneRecord, {}, (b) => {
      b.writeInt32BE(tooMany, BATCH.RECORD_COUNT);
      b.writeInt32BE(tooMany - 1, BATCH.LAST_OFFSET_DELTA);
    });
    await expectRejected(huge, 'INVALID_RECORD', 'above the limit');
    const two = Buffer.concat([oneRecord, recordBytes({ offsetDelta: 1 })]);
    const crowded = batchOf(two, { recordCount: 2 }, (b) =>
      b.writeInt32BE(0, BATCH.LAST_OFFSET_DELTA),
    );
    await expectRejected(
      crowded,
      'INVALID_RECORD',
      'recordCount 2 is more than the lastOffsetDelta + 1 = 1',
    );
  });

  test('producer batches are dense: recordCount 0, or lastOffsetDelta other than recordCount - 1, is refused on produce only', async () => {
    const empty = batchOf(Buffer.alloc(0), { recordCount: 0, lastOffsetDelta: 4 });
    await expectRefusedOnProduce(empty, 'recordCount is 0');
    expect(await decodeRecords(empty)).toEqual([]);
    const sparse = batchOf(oneRecord, {}, (b) => b.writeInt32BE(3, BATCH.LAST_OFFSET_DELTA));
    await expectRefusedOnProduce(sparse, 'lastOffsetDelta is 3');
  });

  test('a negative or unsafe baseOffset, or one whose next offset is unsafe, is INVALID_RECORD', async () => {
    await expectRejected(batchOf(oneRecord, { baseOffset: -1 }), 'INVALID_RECORD', 'baseOffset');
    const unsafe = batchOf(oneRecord, {}, (b) => {
      b.writeInt32BE(0x20_0000, BATCH.BASE_OFFSET); // 2^53
      b.writeUInt32BE(0, BATCH.BASE_OFFSET + 4);
    });
    await expectRejected(unsafe, 'INVALID_RECORD', 'baseOffset');
    const edge = batchOf(oneRecord, { baseOffset: Number.MAX_SAFE_INTEGER });
    await expectRejected(edge, 'INVALID_RECORD', 'baseOffset + lastOffsetDelta + 1');
    const wide = batchOf(Buffer.alloc(0), {
      baseOffset: Number.MAX_SAFE_INTEGER - 10,
      recordCount: 0,
      lastOffsetDelta: 10,
    });
    await expectRejected(wide, 'INVALID_RECORD', 'baseOffset + lastOffsetDelta + 1');
  });

  test.each([
    ['firstTimestamp', BATCH.FIRST_TIMESTAMP],
    ['maxTimestamp', BATCH.MAX_TIMESTAMP],
    ['producerId', BATCH.PRODUCER_ID],
  ])('an unsafe %s is INVALID_RECORD', async (name, at) => {
    const buf = batchOf(oneRecord, {}, (b) => b.writeInt32BE(0x7fff_ffff, at));
    await expectRejected(buf, 'INVALID_RECORD', `${name} is not a safe integer`);
  });

  test('CreateTime with firstTimestamp after maxTimestamp is INVALID_RECORD', async () => {
    const buf = batchOf(oneRecord, { firstTimestamp: 10, maxTimestamp: 9 });
    await expectRejected(buf, 'INVALID_RECORD', 'firstTimestamp 10 is after maxTimestamp 9');
  });

  test('LogAppendTime allows any maxTimestamp (the broker clock may be behind)', async () => {
    const section = recordBytes({ offsetDelta: 0, timestampDelta: 50 });
    const buf = batchOf(section, { attributes: 0x08, firstTimestamp: 10, maxTimestamp: 9 });
    expect(await checkBatch(buf)).toEqual({ ok: true });
    expect((await decodeRecords(buf))[0]!.timestampMs).toBe(9);
  });

  test('a batch that is only a header is rejected by the record walk', async () => {
    await expectRejected(
      batchOf(Buffer.alloc(0)),
      'INVALID_RECORD',
      'declares 1 records but holds 0',
    );
  });
});

describe('record rules', () => {
  test('on produce, offsetDelta must equal the record index', async () => {
    const section = Buffer.concat([oneRecord, recordBytes({ offsetDelta: 5 })]);
    const buf = batchOf(section, { recordCount: 2, lastOffsetDelta: 5 }, (b) =>
      b.writeInt32BE(1, BATCH.LAST_OFFSET_DELTA),
    );
    const result = await checkProducedBatch(buf);
    expect(result.ok ? '' : result.reason).toContain(
      "record 1: offsetDelta is 5, but it must equal the record's index 1",
    );
  });

  test('a sparse stored batch: offsetDeltas strictly increase up to lastOffsetDelta', async () => {
    const sparse = Buffer.concat([
      recordBytes({ offsetDelta: 1 }),
      recordBytes({ offsetDelta: 5, key: Buffer.from('b') }),
    ]);
    const buf = batchOf(sparse, { recordCount: 2, lastOffsetDelta: 6, baseOffset: 100 });
    await expectRefusedOnProduce(buf, 'lastOffsetDelta is 6');
    const records = await decodeRecords(buf);
    expect(records.map((r) => r.offset)).toEqual([101, 105]);
    const past = batchOf(sparse, { recordCount: 2, lastOffsetDelta: 4 });
    await expectRejected(
      past,
      'INVALID_RECORD',
      "offsetDelta is 5, past the batch's lastOffsetDelta 4",
    );
    const backwards = Buffer.concat([
      recordBytes({ offsetDelta: 3 }),
      recordBytes({ offsetDelta: 3 }),
    ]);
    await expectRejected(
      batchOf(backwards, { recordCount: 2, lastOffsetDelta: 6 }),
      'INVALID_RECORD',
      "record 1: offsetDelta is 3, not above the previous record's 3",
    );
    const negative = recordBytes({ offsetDelta: -1 });
    await expectRejected(
      batchOf(negative, { lastOffsetDelta: 2 }),
      'INVALID_RECORD',
      "offsetDelta is -1, not above the previous record's -1",
    );
  });

  test('fewer records than recordCount, more records, or trailing bytes are rejected', async () => {
    const two = Buffer.concat([oneRecord, recordBytes({ offsetDelta: 1 })]);
    await expectRejected(
      batchOf(two, { recordCount: 3 }),
      'INVALID_RECORD',
      'declares 3 records but holds 2',
    );
    await expectRejected(
      batchOf(two, { recordCount: 1 }),
      'INVALID_RECORD',
      'bytes follow the last of the 1 records',
    );
    const trailing = Buffer.concat([oneRecord, Buffer.from([0, 0, 0])]);
    await expectRejected(batchOf(trailing), 'INVALID_RECORD', '3 bytes follow the last');
  });

  test.each([
    ['key', { keyLength: -2 }, 'key length is -2'],
    ['value', { valueLength: -7 }, 'value length is -7'],
  ])('a negative %s length other than -1 is rejected', async (_name, fields, reason) => {
    await expectRejected(
      batchOf(recordBytes({ offsetDelta: 0, ...fields })),
      'INVALID_RECORD',
      reason,
    );
  });

  test('null (-1) keys and values are valid', async () => {
    const section = recordBytes({ offsetDelta: 0, key: null, value: null });
    const records = await decodeRecords(batchOf(section));
    expect(records[0]).toMatchObject({ key: null, value: null });
  });

  test('key or value lengths running past the record are rejected', async () => {
    const longKey = recordBytes({ offsetDelta: 0, keyLength: 40 });
    await expectRejected(batchOf(longKey), 'INVALID_RECORD', 'key length 40 runs past');
    const longValue = recordBytes({ offsetDelta: 0, valueLength: 3 });
    await expectRejected(batchOf(longValue), 'INVALID_RECORD', 'value length 3 runs past');
  });

  test('header lengths: -1 key or value, and overruns, are rejected', async () => {
    const nullKey = recordBytes({ offsetDelta: 0, headers: [{ keyLength: -1 }] });
    await expectRejected(batchOf(nullKey), 'INVALID_RECORD', 'header 0 key length -1');
    const nullValue = recordBytes({ offsetDelta: 0, headers: [{}, { valueLength: -1 }] });
    await expectRejected(batchOf(nullValue), 'INVALID_RECORD', 'header 1 value length -1');
    const overrun = recordBytes({ offsetDelta: 0, headers: [{ valueLength: 9 }] });
    await expectRejected(batchOf(overrun), 'INVALID_RECORD', 'header 0 value length 9');
  });

  test('header count must be in [0, recordHeadersMax] and match the headers present', async () => {
    const negative = recordBytes({ offsetDelta: 0, headerCount: -1 });
    await expectRejected(batchOf(negative), 'INVALID_RECORD', 'header count -1');
    const tooMany = recordBytes({ offsetDelta: 0, headerCount: limits.recordHeadersMax + 1 });
    await expectRejected(
      batchOf(tooMany),
      'INVALID_RECORD',
      `header count ${limits.recordHeadersMax + 1}`,
    );
    const missing = recordBytes({ offsetDelta: 0, headerCount: 2, headers: [{}] });
    await expectRejected(batchOf(missing), 'INVALID_RECORD', 'record 0: a varint runs past');
  });

  test.each([
    ['a stray 0xff', [0xff]],
    ['an overlong NUL', [0xc0, 0x80]],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a truncated sequence', [0x61, 0xe2, 0x82]],
  ])('a header key with %s is not well-formed UTF-8', async (_name, bytes) => {
    const section = recordBytes({ offsetDelta: 0, headers: [{ key: Buffer.from(bytes) }] });
    await expectRejected(
      batchOf(section),
      'INVALID_RECORD',
      'header 0 key is not well-formed UTF-8',
    );
  });

  test('well-formed multi-byte UTF-8 header keys pass', async () => {
    const key = Buffer.from('é€😀\u{10ffff}', 'utf8');
    const section = recordBytes({ offsetDelta: 0, headers: [{ key }] });
    expect((await decodeRecords(batchOf(section)))[0]!.headers[0]!.key).toBe('é€😀\u{10ffff}');
  });

  test('record attributes must be 0', async () => {
    const section = recordBytes({ offsetDelta: 0, attributes: 1 });
    await expectRejected(batchOf(section), 'INVALID_RECORD', 'record attributes must be 0');
  });

  test('record lengths below the minimum, past the section, or with bytes left inside fail', async () => {
    const short = Buffer.concat([varint(3), Buffer.from([0, 0, 0])]);
    await expectRejected(batchOf(short), 'INVALID_RECORD', 'length 3 is below the 6-byte minimum');
    const long = recordBytes({ offsetDelta: 0, length: 100 });
    await expectRejected(batchOf(long), 'INVALID_RECORD', 'length 100 runs past the end');
    const inside = recordBytes({ offsetDelta: 0, inside: Buffer.from([1, 2]) });
    await expectRejected(batchOf(inside), 'INVALID_RECORD', '2 bytes follow its headers');
  });

  test('a varint longer than 5 bytes is rejected', async () => {
    const body = Buffer.concat([
      Buffer.from([0, 0]),
      Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
      Buffer.from([2, 2, 0]),
    ]);
    const section = Buffer.concat([varint(body.length), body]);
    await expectRejected(batchOf(section), 'INVALID_RECORD', 'longer than 5 bytes');
  });
});

describe('timestamp rules', () => {
  test('CreateTime: a record after maxTimestamp is rejected', async () => {
    const section = recordBytes({ offsetDelta: 0, timestampDelta: 11 });
    await expectRejected(
      batchOf(section, { maxTimestamp: 10 }),
      'INVALID_RECORD',
      'record 0: timestamp 11 is after maxTimestamp 10',
    );
  });

  test('CreateTime: on produce, maxTimestamp must equal the largest record timestamp (a compacted batch keeps its maxTimestamp)', async () => {
    const section = Buffer.concat([oneRecord, recordBytes({ offsetDelta: 1, timestampDelta: -4 })]);
    await expectRefusedOnProduce(
      batchOf(section, { recordCount: 2, maxTimestamp: 3 }),
      'maxTimestamp is 3 but the largest record timestamp is 0',
    );
  });

  test('a record timestamp outside the safe range is rejected', async () => {
    const section = recordBytes({ offsetDelta: 0, timestampDelta: 2 ** 52 });
    const buf = batchOf(section, {
      firstTimestamp: 2 ** 52,
      maxTimestamp: 2 ** 52,
      attributes: 0x08,
    });
    await expectRejected(buf, 'INVALID_RECORD', 'outside the safe integer range');
  });
});

describe('compressed sections', () => {
  test('gzip bytes that do not inflate are CORRUPT_MESSAGE', async () => {
    await expectRejected(
      batchOf(Buffer.from('not gzip'), { attributes: 1 }),
      'CORRUPT_MESSAGE',
      'gzip',
    );
    const cut = gzipSync(oneRecord).subarray(0, 10);
    await expectRejected(batchOf(cut, { attributes: 1 }), 'CORRUPT_MESSAGE', 'gzip');
    await expectRejected(batchOf(Buffer.alloc(0), { attributes: 1 }), 'CORRUPT_MESSAGE', 'gzip');
  });

  test('snappy bytes that do not inflate are CORRUPT_MESSAGE', async () => {
    const xerial = Buffer.from('82534e4150505900', 'hex'); // Kafka's Java framing, not raw snappy.
    await expectRejected(batchOf(xerial, { attributes: 2 }), 'CORRUPT_MESSAGE', 'snappy');
  });

  test('a snappy section declaring more than the uncompressed limit is refused before inflating', async () => {
    // Unsigned varint 2^27 (128 MiB), then nothing: the preamble alone is over the limit.
    const preamble = Buffer.from([0x80, 0x80, 0x80, 0x40]);
    await expectRejected(batchOf(preamble, { attributes: 2 }), 'CORRUPT_MESSAGE', 'declare');
  });

  test('a gzip section inflating past the uncompressed limit is CORRUPT_MESSAGE', async () => {
    const bomb = gzipSync(Buffer.alloc(RECORDS_UNCOMPRESSED_BYTES_MAX + 1));
    expect(bomb.length).toBeLessThan(limits.batchBytesMax);
    await expectRejected(batchOf(bomb, { attributes: 1 }), 'CORRUPT_MESSAGE', 'gzip');
  });

  test('valid compression around an invalid record is INVALID_RECORD', async () => {
    const section = Buffer.concat([oneRecord, recordBytes({ offsetDelta: 7 })]);
    const gzip = batchOf(gzipSync(section), { attributes: 1, recordCount: 2 });
    await expectRejected(gzip, 'INVALID_RECORD', 'offsetDelta is 7');
    const snappy = batchOf(compressSync(section), { attributes: 2, recordCount: 2 });
    await expectRejected(snappy, 'INVALID_RECORD', 'offsetDelta is 7');
  });

  test('the header check alone does not inflate: it passes a batch whose records are bad', () => {
    expect(checkBatchHeader(batchOf(Buffer.from('not gzip'), { attributes: 1 }))).toEqual({
      ok: true,
    });
  });
});
