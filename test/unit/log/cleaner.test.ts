// Goal: compaction's decision (src/log/cleaner.ts) keeps exactly Kafka's records: the latest per
// key, tombstones until delete.retention.ms after their batch's time, keyless records always,
// each at its original offset, in a gap-free run of batches that keeps leader epochs and merges
// empty batches per epoch; and cleaning is idempotent. Method: small hand-made cases for each
// rule, then fast-check properties over generated logs (random keys, tombstones, timestamps,
// epochs, codecs and empty batches), encoded with the real codec and decoded back.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  Compression,
  RecordBatch,
  checkBatch,
  decodeRecords,
  encodeBatch,
  encodeEmptyBatch,
  type DecodedRecord,
  type RecordInput,
} from '../../../src/codec/index.js';
import {
  OffsetMap,
  cleanBatches,
  isCleanable,
  isDirtyEnough,
  keepFlags,
  planBatches,
  type CleanerPolicy,
} from '../../../src/log/index.js';

const policy = (deleteRetentionMs: number): CleanerPolicy => ({
  deleteRetentionMs,
  minCompactionLagMs: 0,
  minCleanableDirtyRatio: 0.5,
});

function record(
  offset: number,
  key: string | null,
  value: string | null,
  timestampMs = 0,
): DecodedRecord {
  return {
    offset,
    timestampMs,
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    headers: [],
  };
}

/** A log of batches from per-batch record lists, starting at offset 0. */
async function logOf(
  batches: Array<{ records: RecordInput[]; epoch?: number; empty?: number }>,
  compression: Compression = Compression.NONE,
): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let offset = 0;
  for (const b of batches) {
    if (b.empty !== undefined) {
      out.push(
        encodeEmptyBatch({
          attributes: 0,
          baseOffset: offset,
          lastOffsetDelta: b.empty - 1,
          leaderEpoch: b.epoch ?? 0,
          firstTimestamp: 0,
          maxTimestamp: 0,
          producerId: -1,
          producerEpoch: -1,
          baseSequence: -1,
        }),
      );
      offset += b.empty;
      continue;
    }
    out.push(
      await encodeBatch(b.records, { baseOffset: offset, leaderEpoch: b.epoch ?? 0, compression }),
    );
    offset += b.records.length;
  }
  return out;
}

function input(key: string | null, value: string | null, timestampMs = 0): RecordInput {
  return {
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    timestampMs,
    headers: [],
  };
}

async function mapOf(batches: readonly Buffer[]): Promise<OffsetMap> {
  const map = new OffsetMap();
  for (const batch of batches) expect(map.putBatch(await decodeRecords(batch))).toBe(true);
  return map;
}

async function recordsOf(batches: readonly Buffer[]): Promise<DecodedRecord[]> {
  const out: DecodedRecord[] = [];
  for (const batch of batches) out.push(...(await decodeRecords(batch)));
  return out;
}

describe('OffsetMap', () => {
  test('holds the latest offset per key, comparing key bytes exactly', () => {
    const map = new OffsetMap();
    expect(
      map.putBatch([
        record(0, 'a', '1'),
        record(1, 'b', '1'),
        record(2, 'a', '2'),
        record(3, null, 'x'),
      ]),
    ).toBe(true);
    expect(map.latestOffset(Buffer.from('a'))).toBe(2);
    expect(map.latestOffset(Buffer.from('b'))).toBe(1);
    expect(map.latestOffset(Buffer.from('A'))).toBeUndefined();
    // Bytes that are not valid UTF-8 stay distinct keys.
    expect(
      map.putBatch([record(4, null, null), { ...record(5, null, 'v'), key: Buffer.from([0xff]) }]),
    ).toBe(true);
    expect(map.latestOffset(Buffer.from([0xfe]))).toBeUndefined();
    expect(map.latestOffset(Buffer.from([0xff]))).toBe(5);
    expect([map.size, map.keyBytes]).toEqual([3, 3]);
  });

  test('a batch whose new keys would not fit is mapped not at all', () => {
    const map = new OffsetMap(2, 100);
    expect(map.putBatch([record(0, 'a', '1')])).toBe(true);
    expect(map.putBatch([record(1, 'a', '2'), record(2, 'b', '1'), record(3, 'c', '1')])).toBe(
      false,
    );
    expect(map.latestOffset(Buffer.from('a'))).toBe(0);
    expect(map.size).toBe(1);
    // Known keys cost nothing: updates to them always fit.
    expect(map.putBatch([record(4, 'a', '3'), record(5, 'b', '2'), record(6, 'b', '3')])).toBe(
      true,
    );
    expect(map.latestOffset(Buffer.from('b'))).toBe(6);
    const small = new OffsetMap(10, 3);
    expect(small.putBatch([record(0, 'abcd', 'v')])).toBe(false);
    expect(small.putBatch([record(0, 'abc', 'v')])).toBe(true);
  });
});

describe('decisions', () => {
  test('isCleanable: wholly below the high watermark and older than the compaction lag', () => {
    expect(isCleanable({ nextOffset: 10, maxTimestamp: 100 }, 10, 1_000, 900)).toBe(true);
    expect(isCleanable({ nextOffset: 11, maxTimestamp: 100 }, 10, 1_000, 0)).toBe(false);
    expect(isCleanable({ nextOffset: 10, maxTimestamp: 101 }, 10, 1_000, 900)).toBe(false);
  });

  test('isDirtyEnough: some dirty bytes, at least the ratio', () => {
    expect(isDirtyEnough(50, 100, 0.5)).toBe(true);
    expect(isDirtyEnough(49, 100, 0.5)).toBe(false);
    expect(isDirtyEnough(0, 100, 0)).toBe(false);
    expect(isDirtyEnough(1, 100, 0)).toBe(true);
    expect(isDirtyEnough(0, 0, 0)).toBe(false);
  });

  test('keepFlags: superseded records go, the latest stays, keyless records stay', () => {
    const map = new OffsetMap();
    const batch = [
      record(0, 'a', '1'),
      record(1, null, 'x'),
      record(2, 'a', '2'),
      record(3, 'b', '1'),
    ];
    map.putBatch(batch);
    expect([...keepFlags(batch, map, 0, 0, 100)]).toEqual([0, 1, 1, 1]);
    // A record before the mapped section whose key the map lacks is the only one left: kept.
    expect([...keepFlags([record(-5, 'z', 'old')], map, 0, 0, 100)]).toEqual([1]);
  });

  test('keepFlags: a latest tombstone stays until now - batch maxTimestamp > delete.retention.ms', () => {
    const batch = [record(0, 'a', '1'), record(1, 'a', null)];
    const map = new OffsetMap();
    map.putBatch(batch);
    expect([...keepFlags(batch, map, 1_000, 1_100, 100)]).toEqual([0, 1]);
    expect([...keepFlags(batch, map, 1_000, 1_101, 100)]).toEqual([0, 0]);
  });

  test('planBatches: full batches stay, thinned ones are retained, empty ones merge per epoch', () => {
    const at = (base: number, count: number, kept: number, epoch = 0) => ({
      baseOffset: base,
      lastOffset: base + count - 1,
      leaderEpoch: epoch,
      recordCount: count,
      keptCount: kept,
    });
    expect(
      planBatches([
        at(0, 2, 2),
        at(2, 2, 1),
        at(4, 3, 0),
        at(7, 1, 0),
        at(8, 1, 0, 1),
        at(9, 2, 0, 1),
        at(11, 1, 1, 1),
        at(12, 0, 0, 1),
      ]),
    ).toEqual([
      { kind: 'same', index: 0 },
      { kind: 'retain', index: 1 },
      { kind: 'empty', first: 2, last: 3 },
      { kind: 'empty', first: 4, last: 5 },
      { kind: 'same', index: 6 },
      // Already empty and alone: nothing to rewrite.
      { kind: 'same', index: 7 },
    ]);
  });
});

describe('cleanBatches', () => {
  test('the latest value per key survives at its offset; the rest becomes empty batches', async () => {
    const log = await logOf([
      { records: [input('a', 'a1'), input('b', 'b1')] },
      { records: [input('a', 'a2'), input('a', 'a3')] },
      { records: [input('b', 'b2')] },
      { records: [input('c', null)], epoch: 1 },
    ]);
    const cleaned = await cleanBatches(log, await mapOf(log), 0, policy(1_000));
    expect(cleaned.isChanged).toBe(true);
    expect([cleaned.recordsBefore, cleaned.recordsAfter]).toEqual([6, 3]);
    const kept = await recordsOf(cleaned.batches);
    expect(kept.map((r) => [r.offset, r.key?.toString(), r.value?.toString() ?? null])).toEqual([
      [3, 'a', 'a3'],
      [4, 'b', 'b2'],
      [5, 'c', null],
    ]);
    const spans = cleaned.batches.map((b) => {
      const h = RecordBatch.of(b);
      return [h.baseOffset, h.lastOffset, h.recordCount, h.leaderEpoch];
    });
    expect(spans).toEqual([
      [0, 1, 0, 0],
      [2, 3, 1, 0],
      [4, 4, 1, 0],
      [5, 5, 1, 1],
    ]);
  });
});

// ---- properties over generated logs ---------------------------------------------------------

interface GeneratedBatch {
  readonly records: RecordInput[];
  readonly epochStep: number;
  /** Offsets of an empty batch instead of records (a log compacted before). */
  readonly empty: number | null;
}

const KEYS = ['a', 'b', 'c', 'd', 'e'];

const recordArb: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...KEYS).map((k) => Buffer.from(k)) },
    { weight: 1, arbitrary: fc.constant(null) },
  ),
  value: fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 6 }).map((v) => Buffer.from(v)) },
    { weight: 1, arbitrary: fc.constant(null) },
  ),
  timestampMs: fc.integer({ min: 0, max: 1_000 }),
  headers: fc.array(
    fc.record({
      key: fc.constantFrom('h', 'trace'),
      value: fc.uint8Array({ maxLength: 3 }).map((a) => Buffer.from(a)),
    }),
    { maxLength: 1 },
  ),
});

const logArb = fc.record({
  batches: fc.array(
    fc.record({
      records: fc.array(recordArb, { minLength: 1, maxLength: 5 }),
      epochStep: fc.constantFrom(0, 0, 0, 1),
      empty: fc.oneof(
        { weight: 6, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) },
      ),
    }),
    { minLength: 1, maxLength: 25 },
  ),
  compression: fc.constantFrom(Compression.NONE, Compression.GZIP, Compression.SNAPPY),
  nowMs: fc.integer({ min: 0, max: 3_000 }),
  deleteRetentionMs: fc.integer({ min: 0, max: 2_000 }),
});

async function build(generated: readonly GeneratedBatch[], compression: Compression) {
  let epoch = 0;
  return logOf(
    generated.map((b) => {
      epoch += b.epochStep;
      return b.empty === null
        ? { records: b.records, epoch }
        : { records: [], epoch, empty: b.empty };
    }),
    compression,
  );
}

function same(a: DecodedRecord, b: DecodedRecord): boolean {
  return (
    a.offset === b.offset &&
    a.timestampMs === b.timestampMs &&
    Buffer.compare(a.key ?? Buffer.alloc(0), b.key ?? Buffer.alloc(0)) === 0 &&
    (a.key === null) === (b.key === null) &&
    (a.value === null) === (b.value === null) &&
    Buffer.compare(a.value ?? Buffer.alloc(0), b.value ?? Buffer.alloc(0)) === 0 &&
    JSON.stringify(a.headers) === JSON.stringify(b.headers)
  );
}

/** Each original record with the maxTimestamp of its batch. */
async function annotated(log: readonly Buffer[]) {
  const out: Array<{ record: DecodedRecord; batchMaxTimestamp: number }> = [];
  for (const batch of log) {
    const batchMaxTimestamp = RecordBatch.of(batch).maxTimestamp;
    for (const record of await decodeRecords(batch)) out.push({ record, batchMaxTimestamp });
  }
  return out;
}

test('property: cleaning keeps every key latest record, at its offset, in a gap-free log with its epochs', async () => {
  await fc.assert(
    fc.asyncProperty(logArb, async ({ batches, compression, nowMs, deleteRetentionMs }) => {
      const log = await build(batches, compression);
      const cleaned = await cleanBatches(log, await mapOf(log), nowMs, policy(deleteRetentionMs));
      const out = cleaned.batches;

      // Gap-free over the same offsets, each batch valid, each offset keeping its leader epoch.
      let expected = 0;
      const epochAt = (offset: number): number =>
        RecordBatch.of(log.find((b) => RecordBatch.of(b).nextOffset > offset)!).leaderEpoch;
      for (const batch of out) {
        expect(await checkBatch(batch)).toEqual({ ok: true });
        const header = RecordBatch.of(batch);
        expect(header.baseOffset).toBe(expected);
        expect(header.leaderEpoch).toBe(epochAt(header.baseOffset));
        expect(epochAt(header.lastOffset)).toBe(header.leaderEpoch);
        expected = header.nextOffset;
      }
      expect(expected).toBe(RecordBatch.of(log[log.length - 1]!).nextOffset);

      const original = await annotated(log);
      const kept = await recordsOf(out);
      // In offset order; every kept record is an original one, unchanged, at its offset.
      for (let i = 1; i < kept.length; i++)
        expect(kept[i]!.offset).toBeGreaterThan(kept[i - 1]!.offset);
      for (const record of kept) {
        expect(original.some((o) => same(o.record, record))).toBe(true);
      }
      // No two kept records share a key.
      const keys = kept.filter((r) => r.key !== null).map((r) => r.key!.toString('latin1'));
      expect(new Set(keys).size).toBe(keys.length);
      // The latest record of each key is there, unless it is an expired tombstone.
      const latest = new Map<string, (typeof original)[number]>();
      for (const o of original)
        if (o.record.key !== null) latest.set(o.record.key.toString('latin1'), o);
      for (const [key, o] of latest) {
        const isExpiredTombstone =
          o.record.value === null && nowMs - o.batchMaxTimestamp > deleteRetentionMs;
        const found = kept.find((r) => r.key !== null && r.key.toString('latin1') === key);
        if (isExpiredTombstone) expect(found).toBeUndefined();
        else expect(found !== undefined && same(found, o.record)).toBe(true);
      }
      // Keyless records all stay.
      expect(kept.filter((r) => r.key === null).length).toBe(
        original.filter((o) => o.record.key === null).length,
      );

      // Empty batches are merged per epoch: no two neighbours are empty with one epoch, so the
      // batch count is bounded by the records kept plus the epochs.
      for (let i = 1; i < out.length; i++) {
        const a = RecordBatch.of(out[i - 1]!);
        const b = RecordBatch.of(out[i]!);
        expect(a.recordCount === 0 && b.recordCount === 0 && a.leaderEpoch === b.leaderEpoch).toBe(
          false,
        );
      }
      const epochs = new Set(out.map((b) => RecordBatch.of(b).leaderEpoch)).size;
      const nonEmpty = out.filter((b) => RecordBatch.of(b).recordCount > 0).length;
      expect(out.length - nonEmpty).toBeLessThanOrEqual(nonEmpty + epochs);

      // Idempotent: cleaning the cleaned log again changes nothing.
      const again = await cleanBatches(out, await mapOf(out), nowMs, policy(deleteRetentionMs));
      expect(again.isChanged).toBe(false);
      expect(again.batches).toEqual(out);
    }),
    { numRuns: 200 },
  );
});

test('property: cleaning in steps that carry a trailing empty batch gives the same log as one run', async () => {
  await fc.assert(
    fc.asyncProperty(
      logArb,
      fc.integer({ min: 2, max: 6 }),
      async ({ batches, compression, nowMs, deleteRetentionMs }, stepBatches) => {
        const log = await build(batches, compression);
        const map = await mapOf(log);
        const whole = await cleanBatches(log, map, nowMs, policy(deleteRetentionMs));
        // As CleanerTask does: steps of stepBatches stored batches; a step ending with an empty
        // batch hands it to the next step.
        let stored = [...log];
        let from = 0;
        while (from < stored.length) {
          const run = stored.slice(from, from + stepBatches);
          const cleaned = await cleanBatches(run, map, nowMs, policy(deleteRetentionMs));
          stored = [
            ...stored.slice(0, from),
            ...cleaned.batches,
            ...stored.slice(from + run.length),
          ];
          const end = from + cleaned.batches.length;
          const last = cleaned.batches[cleaned.batches.length - 1]!;
          const isLastStep = end >= stored.length;
          from = !isLastStep && RecordBatch.of(last).recordCount === 0 ? end - 1 : end;
        }
        expect(stored).toEqual(whole.batches);
      },
    ),
    { numRuns: 150 },
  );
});
