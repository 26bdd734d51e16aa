// Goal: the header view reads what the layout says, stamping changes only the stamped fields and
// the CRC, batchesIn splits exactly on batch boundaries, and encodeBatch rejects bad input and
// never leaks stale memory from Buffer.allocUnsafe.
// Method: fixed batches inspected byte by byte, assertion checks for broker-side misuse, and
// encodeBatch run with allocUnsafe replaced by buffers pre-filled with two different patterns.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { limits } from '../../../src/config/limits.js';
import {
  BATCH,
  Compression,
  RecordBatch,
  TimestampType,
  batchesIn,
  checkBatch,
  checkBatchHeader,
  encodeBatch,
  stampBatch,
  type RecordInput,
} from '../../../src/codec/index.js';
import { AssertionError } from '../../../src/util/assert.js';

const record = (timestampMs: number, value = 'v'): RecordInput => ({
  key: Buffer.from('k'),
  value: Buffer.from(value),
  timestampMs,
  headers: [{ key: 'h', value: Buffer.from('x') }],
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('RecordBatch', () => {
  test('getters read each header field at its documented offset', async () => {
    const buf = await encodeBatch([record(100), record(90), record(120)], {
      compression: Compression.SNAPPY,
      producerId: 2 ** 40 + 3,
      producerEpoch: 12,
      baseSequence: 77,
      baseOffset: 5000,
      leaderEpoch: 4,
    });
    const batch = RecordBatch.of(buf);
    expect(batch.buffer).toBe(buf);
    expect(batch.byteLength).toBe(buf.readInt32BE(BATCH.LENGTH) + 4);
    expect(batch.crc).toBe(buf.readUInt32BE(BATCH.CRC));
    expect(batch.attributes).toBe(Compression.SNAPPY);
    expect(batch.compression).toBe(Compression.SNAPPY);
    expect(batch.timestampType).toBe(TimestampType.CREATE_TIME);
    expect(batch.baseOffset).toBe(5000);
    expect(batch.leaderEpoch).toBe(4);
    expect(batch.lastOffsetDelta).toBe(2);
    expect(batch.lastOffset).toBe(5002);
    expect(batch.nextOffset).toBe(5003);
    expect(batch.recordCount).toBe(3);
    expect(batch.firstTimestamp).toBe(100);
    expect(batch.maxTimestamp).toBe(120);
    expect(batch.producerId).toBe(2 ** 40 + 3);
    expect(batch.producerEpoch).toBe(12);
    expect(batch.baseSequence).toBe(77);
  });
});

describe('stampBatch', () => {
  test('changes only baseOffset, leaderEpoch and the CRC when the topic uses CreateTime', async () => {
    const buf = await encodeBatch([record(1), record(2)], { compression: Compression.GZIP });
    const before = Buffer.from(buf);
    stampBatch(buf, { baseOffset: 2 ** 50, leaderEpoch: 9, logAppendTimeMs: null });
    expect(checkBatchHeader(buf)).toEqual({ ok: true });
    const changed: number[] = [];
    for (let i = 0; i < buf.length; i++) if (buf[i] !== before[i]) changed.push(i);
    for (const i of changed) {
      const inCrc = i >= BATCH.CRC && i < BATCH.MAGIC;
      const inStamp = i >= BATCH.BASE_OFFSET && i < BATCH.LAST_OFFSET_DELTA;
      expect(inCrc || inStamp, `byte ${i} changed`).toBe(true);
    }
    expect(RecordBatch.of(buf).baseOffset).toBe(2 ** 50);
  });

  test('LogAppendTime sets the type bit and maxTimestamp, keeping the codec bits', async () => {
    const buf = await encodeBatch([record(1)], { compression: Compression.SNAPPY });
    stampBatch(buf, { baseOffset: 3, leaderEpoch: 0, logAppendTimeMs: -7 });
    const batch = RecordBatch.of(buf);
    expect(batch.compression).toBe(Compression.SNAPPY);
    expect(batch.timestampType).toBe(TimestampType.LOG_APPEND_TIME);
    expect(batch.maxTimestamp).toBe(-7);
    expect(batch.firstTimestamp).toBe(1);
    expect(await checkBatch(buf)).toEqual({ ok: true });
  });

  test('broker-side misuse asserts instead of writing a bad header', async () => {
    const buf = await encodeBatch([record(1)]);
    const bad = [
      { baseOffset: -1, leaderEpoch: 0, logAppendTimeMs: null },
      { baseOffset: 1.5, leaderEpoch: 0, logAppendTimeMs: null },
      { baseOffset: Number.MAX_SAFE_INTEGER, leaderEpoch: 0, logAppendTimeMs: null },
      { baseOffset: 0, leaderEpoch: 2 ** 31, logAppendTimeMs: null },
      { baseOffset: 0, leaderEpoch: -2, logAppendTimeMs: null },
      { baseOffset: 0, leaderEpoch: 0, logAppendTimeMs: 2 ** 60 },
    ];
    for (const fields of bad) expect(() => stampBatch(buf, fields)).toThrow(AssertionError);
    expect(() => stampBatch(buf.subarray(0, 40), bad[0]!)).toThrow(AssertionError);
  });
});

describe('batchesIn', () => {
  test('splits a concatenation into the original batches, as views', async () => {
    const batches = [
      await encodeBatch([record(1)]),
      await encodeBatch([record(2), record(3)], { compression: Compression.GZIP }),
      await encodeBatch([record(4, 'x'.repeat(500))], { compression: Compression.SNAPPY }),
    ];
    const joined = Buffer.concat(batches);
    const split = batchesIn(joined);
    expect(split.map((b) => b.toString('hex'))).toEqual(batches.map((b) => b.toString('hex')));
    expect(split[1]!.buffer).toBe(joined.buffer);
    expect(batchesIn(Buffer.alloc(0))).toEqual([]);
  });

  test('throws RangeError when the buffer does not end on a batch boundary', async () => {
    const one = await encodeBatch([record(1)]);
    expect(() => batchesIn(Buffer.concat([one, one.subarray(0, 10)]))).toThrow(RangeError);
    expect(() => batchesIn(Buffer.concat([one, Buffer.from([0, 0])]))).toThrow(RangeError);
    expect(() => batchesIn(one.subarray(0, one.length - 1))).toThrow(RangeError);
  });

  test('throws RangeError on a batchLength too small to hold a header, instead of looping', () => {
    const zero = Buffer.alloc(61);
    expect(() => batchesIn(zero)).toThrow(RangeError);
    const negative = Buffer.alloc(61);
    negative.writeInt32BE(-4, 0);
    expect(() => batchesIn(negative)).toThrow(RangeError);
  });
});

describe('encodeBatch input', () => {
  test.each<[string, readonly RecordInput[], object]>([
    ['no records', [], {}],
    ['an unsafe timestamp', [record(2 ** 53)], {}],
    ['a fractional timestamp', [record(1.5)], {}],
    [
      'a delta outside the safe range',
      [record(Number.MAX_SAFE_INTEGER), record(-Number.MAX_SAFE_INTEGER)],
      {},
    ],
    ['a negative baseOffset', [record(1)], { baseOffset: -1 }],
    ['an unsafe baseOffset', [record(1)], { baseOffset: 2 ** 53 }],
    ['a producerEpoch above int16', [record(1)], { producerEpoch: 32768 }],
    ['a baseSequence below -1', [record(1)], { baseSequence: -2 }],
    ['a leaderEpoch above int32', [record(1)], { leaderEpoch: 2 ** 31 }],
    ['a producerId below -1', [record(1)], { producerId: -2 }],
    ['an unknown codec', [record(1)], { compression: 3 }],
    ['an unknown timestamp type', [record(1)], { timestampType: 2 }],
    [
      'a lone surrogate in a header key',
      [{ ...record(1), headers: [{ key: 'a\uD800', value: Buffer.alloc(0) }] }],
      {},
    ],
    ['a string value', [{ ...record(1), value: 'v' as unknown as Buffer }], {}],
    [
      'a null header value',
      [{ ...record(1), headers: [{ key: 'h', value: null as unknown as Buffer }] }],
      {},
    ],
    [
      'too many headers',
      [
        {
          ...record(1),
          headers: Array.from({ length: limits.recordHeadersMax + 1 }, () => ({
            key: '',
            value: Buffer.alloc(0),
          })),
        },
      ],
      {},
    ],
  ])('rejects %s with RangeError', async (_name, records, options) => {
    await expect(encodeBatch(records, options)).rejects.toBeInstanceOf(RangeError);
  });

  test('rejects more records than limits.batchRecordsMax', async () => {
    const records = Array.from({ length: limits.batchRecordsMax + 1 }, () => record(1));
    await expect(encodeBatch(records)).rejects.toThrow(/exceed the limit/);
  });

  test('rejects a batch larger than limits.batchBytesMax', async () => {
    const big = { ...record(1), value: Buffer.alloc(limits.batchBytesMax) };
    await expect(encodeBatch([big])).rejects.toThrow(/above/);
    // The same records compress far below the limit, so gzip accepts them.
    expect(
      RecordBatch.of(await encodeBatch([big], { compression: Compression.GZIP })).recordCount,
    ).toBe(1);
  });

  test('writes every byte of the buffers it allocates unsafely (no stale memory leaks out)', async () => {
    const records = [record(10), { ...record(5), key: null, value: null, headers: [] }];
    const realAllocUnsafe = Buffer.allocUnsafe.bind(Buffer);
    for (const compression of [Compression.NONE, Compression.GZIP, Compression.SNAPPY] as const) {
      const outputs: string[] = [];
      for (const fill of [0xaa, 0x55]) {
        const spy = vi
          .spyOn(Buffer, 'allocUnsafe')
          .mockImplementation((size) => realAllocUnsafe(size).fill(fill));
        outputs.push((await encodeBatch(records, { compression })).toString('hex'));
        expect(spy).toHaveBeenCalled();
        spy.mockRestore();
      }
      expect(outputs[0]).toBe(outputs[1]);
    }
  });
});
