/**
 * The partition log against a real LevelDB in a temp dir. Each test appends batches built by
 * the codec, then checks what reads, offsets, the epoch cache, the time index and a reopen give
 * back; write counts come from wrapping db.batch.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  RecordBatch,
  TimestampType,
  decodeRecords,
  encodeBatch,
} from '../../../src/codec/index.js';
import { BrokerError } from '../../../src/errors/index.js';
import type { PartitionLog } from '../../../src/log/index.js';
import { allKeys, makeBatch, newTopicId, openStore, type TestStore } from './helpers.js';

let store: TestStore;
let topicId: string;

beforeEach(async () => {
  store = await openStore();
  topicId = newTopicId();
});

afterEach(async () => {
  await store.close();
});

async function appendAll(log: PartitionLog, counts: number[], epoch = 0): Promise<void> {
  for (const count of counts) await log.append(await makeBatch(count), epoch, null);
}

function offsetsOf(batches: Buffer[]): number[][] {
  return batches.map((b) => {
    const header = RecordBatch.of(b);
    return [header.baseOffset, header.lastOffset];
  });
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<BrokerError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrokerError);
  expect((error as BrokerError).code).toBe(code);
  return error as BrokerError;
}

describe('append and read', () => {
  it('assigns contiguous offsets and reads the same bytes back', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const batches = [await makeBatch(3, 'a'), await makeBatch(1, 'b'), await makeBatch(5, 'c')];
    const results = [];
    for (const batch of batches) results.push(await log.append(batch, 0, null));
    expect(results.map((r) => [r.baseOffset, r.lastOffset])).toEqual([
      [0, 2],
      [3, 3],
      [4, 8],
    ]);
    expect(log.logEndOffset).toBe(9);
    expect(log.highWatermark).toBe(9);
    const read = await log.read(0, 1 << 20);
    expect(read.batches).toHaveLength(3);
    for (let i = 0; i < 3; i++) expect(read.batches[i]!.equals(batches[i]!)).toBe(true);
    expect(read.bytes).toBe(batches.reduce((s, b) => s + b.length, 0));
    expect(log.sizeBytes).toBe(read.bytes);
    const records = await decodeRecords(read.batches[2]!);
    expect(records.map((r) => [r.offset, r.value?.toString()])).toEqual([
      [4, 'c-0'],
      [5, 'c-1'],
      [6, 'c-2'],
      [7, 'c-3'],
      [8, 'c-4'],
    ]);
  });

  it('assigns offsets synchronously, so appends made in one tick keep their order', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const batches = await Promise.all([1, 2, 3, 4].map((n) => makeBatch(n)));
    const pending = batches.map((b) => log.append(b, 0, null));
    expect(log.logEndOffset).toBe(10);
    expect(log.highWatermark).toBe(0);
    const results = await Promise.all(pending);
    expect(results.map((r) => r.baseOffset)).toEqual([0, 1, 3, 6]);
    expect(log.highWatermark).toBe(10);
  });

  it('lands concurrent appends from many partitions in few LevelDB writes', async () => {
    const logs = [];
    for (let p = 0; p < 50; p++) logs.push(await store.manager.createPartition(topicId, p));
    const batch = await makeBatch(2);
    const before = store.writes.length;
    const pending = [];
    for (let round = 0; round < 4; round++) {
      for (const log of logs) pending.push(log.append(Buffer.from(batch), 0, null));
    }
    await Promise.all(pending);
    const writes = store.writes.slice(before).filter((write) => write.batchPuts > 0);
    // 200 appends issued in one tick: one batch store write holds them all.
    expect(writes).toHaveLength(1);
    expect(writes[0]!.batchPuts).toBe(200);
    expect(writes[0]!.sync).toBe(true);
    for (const log of logs) {
      expect(log.logEndOffset).toBe(8);
      const read = await log.read(0, 1 << 20);
      expect(offsetsOf(read.batches)).toEqual([
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7],
      ]);
    }
  });

  it('groups appends that arrive while a write is in flight into the next write', async () => {
    const logs = [];
    for (let p = 0; p < 20; p++) logs.push(await store.manager.createPartition(topicId, p));
    const batch = await makeBatch(1);
    const before = store.writes.length;
    const pending: Promise<unknown>[] = [];
    // Waves issued from successive event-loop turns while earlier writes run.
    for (let wave = 0; wave < 10; wave++) {
      for (const log of logs) pending.push(log.append(Buffer.from(batch), 0, null));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(pending);
    const writes = store.writes.slice(before).filter((write) => write.batchPuts > 0);
    expect(writes.reduce((s, w) => s + w.batchPuts, 0)).toBe(200);
    expect(writes.length).toBeLessThan(10);
  });

  it('reads from an offset inside a batch, starting with the batch that holds it', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAll(log, [5, 5, 5]);
    expect(offsetsOf((await log.read(7, 1 << 20)).batches)).toEqual([
      [5, 9],
      [10, 14],
    ]);
    expect(offsetsOf((await log.read(14, 1 << 20)).batches)).toEqual([[10, 14]]);
    expect(offsetsOf((await log.read(0, 1 << 20)).batches)).toHaveLength(3);
  });

  it('stops before maxBytes but always returns at least one batch', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAll(log, [4, 4, 4]);
    const size = (await log.read(0, 1 << 20)).batches[0]!.length;
    expect((await log.read(0, 1)).batches).toHaveLength(1);
    expect((await log.read(0, size)).batches).toHaveLength(1);
    expect((await log.read(0, 2 * size)).batches).toHaveLength(2);
    expect((await log.read(0, 2 * size - 1)).batches).toHaveLength(1);
    expect((await log.read(4, 3 * size)).batches).toHaveLength(2);
  });

  it('answers OFFSET_OUT_OF_RANGE outside [logStart, HW] and empty at the HW', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const empty = await log.read(0, 100);
    expect(empty).toEqual({ batches: [], bytes: 0, highWatermark: 0, logStartOffset: 0 });
    await appendAll(log, [3, 3]);
    const error = await expectCode(log.read(7, 100), 'OFFSET_OUT_OF_RANGE');
    expect(error.message).toContain('[0, 6]');
    expect((await log.read(6, 100)).batches).toEqual([]);
    await log.deleteBefore(3);
    await expectCode(log.read(2, 100), 'OFFSET_OUT_OF_RANGE');
    expect(offsetsOf((await log.read(3, 100)).batches)).toEqual([[3, 5]]);
  });

  it('returns only batches below maxOffset, and only committed ones by default', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAll(log, [2, 2, 2]);
    expect(offsetsOf((await log.read(0, 1 << 20, { maxOffset: 4 })).batches)).toEqual([
      [0, 1],
      [2, 3],
    ]);
    // A maxOffset inside a batch excludes that batch.
    expect(offsetsOf((await log.read(0, 1 << 20, { maxOffset: 3 })).batches)).toEqual([[0, 1]]);
    log.setHighWatermarkFollowsDurableEnd(false);
    log.setHighWatermark(2);
    expect(offsetsOf((await log.read(0, 1 << 20)).batches)).toEqual([[0, 1]]);
    await expectCode(log.read(3, 100), 'OFFSET_OUT_OF_RANGE');
    // A follower-style read past the HW, up to the durable end.
    expect(
      offsetsOf((await log.read(2, 1 << 20, { maxOffset: log.logEndOffset })).batches),
    ).toEqual([
      [2, 3],
      [4, 5],
    ]);
  });

  it('stamps LogAppendTime and finds it through the time index', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await log.append(await makeBatch(3, 'x', [10, 20, 30]), 0, 5_000);
    const [batch] = (await log.read(0, 1 << 20)).batches;
    const header = RecordBatch.of(batch!);
    expect(header.timestampType).toBe(TimestampType.LOG_APPEND_TIME);
    expect(header.maxTimestamp).toBe(5_000);
    expect(await log.offsetForTimestamp(4_000)).toEqual({
      offset: 0,
      timestampMs: 5_000,
      leaderEpoch: 0,
    });
    expect(await log.offsetForTimestamp(5_001)).toBeNull();
  });

  it('fails reads of a deleted partition with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAll(log, [2]);
    // A read begun before the deletion may still be answered (from the in-memory tail);
    // every read after it starts fails.
    const pendingRead = log.read(0, 100).catch((error: unknown) => error);
    const deleting = store.manager.deletePartition(topicId, 0);
    const early = await pendingRead;
    if (early instanceof Error)
      await expectCode(Promise.reject(early), 'UNKNOWN_TOPIC_OR_PARTITION');
    await expectCode(log.read(0, 100), 'UNKNOWN_TOPIC_OR_PARTITION');
    await deleting;
    await expectCode(log.append(await makeBatch(1), 0, null), 'UNKNOWN_TOPIC_OR_PARTITION');
    expect(store.manager.partition(topicId, 0)).toBeUndefined();
  });

  it('treats a corrupt stored batch as an environment fault', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAll(log, [2, 2]);
    const keys = await store.batchDb
      .keys({ gte: Buffer.from([0x10]), lt: Buffer.from([0x11]) })
      .all();
    // The first batch: recovery checks the last one, and would refuse to open.
    const value = (await store.batchDb.get(keys[0]!))!;
    value[value.length - 1] = value[value.length - 1]! ^ 0xff;
    await store.batchDb.put(keys[0]!, value);
    // After a reopen, so the read goes to LevelDB rather than the in-memory tail.
    await store.reopen();
    const reopened = store.manager.partition(topicId, 0)!;
    await expectCode(reopened.read(0, 1 << 20), 'KAFKA_STORAGE_ERROR');
    expect(store.faults).toHaveLength(1);
    expect(store.faults[0]!.message).toContain('corrupt');
  });
});

describe('high watermark listeners', () => {
  it('notify after the HW advances and after deleteBefore, outside the commit path', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const seen: number[] = [];
    const unsubscribe = log.onHighWatermark((hw) => {
      seen.push(hw);
      throw new Error('a listener that throws must not break the log');
    });
    await appendAll(log, [2, 3]);
    await log.deleteBefore(2);
    unsubscribe();
    await appendAll(log, [1]);
    expect(seen).toEqual([2, 5, 5]);
    expect(log.logEndOffset).toBe(6);
  });
});

describe('truncateTo', () => {
  it('cuts at a batch boundary and removes a batch holding the offset entirely', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAll(log, [3, 3, 3, 3]);
    expect(await log.truncateTo(9)).toBe(9);
    expect(log.logEndOffset).toBe(9);
    expect(await log.truncateTo(7)).toBe(6);
    expect(log.logEndOffset).toBe(6);
    expect(log.highWatermark).toBe(6);
    expect(offsetsOf((await log.read(0, 1 << 20)).batches)).toEqual([
      [0, 2],
      [3, 5],
    ]);
    expect(await log.truncateTo(100)).toBe(6);
    const sizes = (await log.read(0, 1 << 20)).bytes;
    expect(log.sizeBytes).toBe(sizes);
    // Appends continue from the new end.
    expect((await log.append(await makeBatch(2), 0, null)).baseOffset).toBe(6);
  });

  it('removes epoch-cache and time-index entries past the new end', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await log.append(await makeBatch(2, 'a', [100, 200]), 1, null);
    await log.append(await makeBatch(2, 'b', [300, 400]), 2, null);
    await log.append(await makeBatch(2, 'c', [500, 600]), 3, null);
    expect(log.epochEntries()).toEqual([
      [1, 0],
      [2, 2],
      [3, 4],
    ]);
    await log.truncateTo(3);
    expect(log.epochEntries()).toEqual([[1, 0]]);
    expect(log.latestEpoch()).toBe(1);
    expect(await log.offsetForTimestamp(300)).toBeNull();
    // A new batch at the same offsets with lower timestamps gets a fresh index entry.
    await log.append(await makeBatch(2, 'd', [250, 260]), 4, null);
    expect(await log.offsetForTimestamp(240)).toEqual({
      offset: 2,
      timestampMs: 250,
      leaderEpoch: 4,
    });
    await store.reopen();
    const reopened = store.manager.partition(topicId, 0)!;
    expect(reopened.epochEntries()).toEqual([
      [1, 0],
      [4, 2],
    ]);
    expect(await reopened.offsetForTimestamp(255)).toEqual({
      offset: 3,
      timestampMs: 260,
      leaderEpoch: 4,
    });
  });

  it('truncating everything leaves an empty log that accepts appends from 0', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAll(log, [2, 2]);
    expect(await log.truncateTo(0)).toBe(0);
    expect(log.sizeBytes).toBe(0);
    expect(log.latestEpoch()).toBe(-1);
    expect((await log.read(0, 100)).batches).toEqual([]);
    expect((await log.append(await makeBatch(1), 5, null)).baseOffset).toBe(0);
  });
});

describe('deleteBefore', () => {
  it('advances the log start and removes only whole batches before it', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAll(log, [3, 3, 3]);
    const sizeBefore = log.sizeBytes;
    expect(await log.deleteBefore(4)).toBe(4);
    expect(log.logStartOffset).toBe(4);
    // The batch [3, 5] holds the new start, so it stays.
    expect(offsetsOf((await log.read(4, 1 << 20)).batches)).toEqual([
      [3, 5],
      [6, 8],
    ]);
    expect(log.sizeBytes).toBe(sizeBefore - sizeBefore / 3);
    expect(await log.deleteBefore(2)).toBe(4);
    await expectCode(log.deleteBefore(10), 'OFFSET_OUT_OF_RANGE');
    expect(await log.deleteBefore(9)).toBe(9);
    expect(log.sizeBytes).toBe(0);
    expect((await log.read(9, 100)).batches).toEqual([]);
    expect((await log.append(await makeBatch(1), 0, null)).baseOffset).toBe(9);
  });

  it('refuses, changing nothing, when the high watermark moves back below it while it reads', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAll(log, [3, 3, 3]);
    // A follower's: the replication layer sets the HW, and may set it back.
    log.setHighWatermarkFollowsDurableEnd(false);
    log.setHighWatermark(9);
    const sizeBefore = log.sizeBytes;
    const deleting = log.deleteBefore(7);
    // The call has checked the HW and is reading the batches it will drop.
    await new Promise((resolve) => setImmediate(resolve));
    log.setHighWatermark(5);
    await expectCode(deleting, 'OFFSET_OUT_OF_RANGE');
    expect([log.logStartOffset, log.sizeBytes]).toEqual([0, sizeBefore]);
    await store.reopen();
    const reopened = store.manager.partition(topicId, 0)!;
    expect([reopened.logStartOffset, reopened.sizeBytes]).toEqual([0, sizeBefore]);
  });

  it('keeps the epoch of the first retained record (Kafka truncateFromStart)', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAll(log, [2], 1);
    await appendAll(log, [2], 2);
    await appendAll(log, [2], 3);
    await log.deleteBefore(3);
    expect(log.epochEntries()).toEqual([
      [2, 3],
      [3, 4],
    ]);
    await store.reopen();
    expect(store.manager.partition(topicId, 0)!.epochEntries()).toEqual([
      [2, 3],
      [3, 4],
    ]);
  });
});

describe('maintenance in bounded steps', () => {
  it('deletes and truncates thousands of batches in several atomic writes', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const batch = await makeBatch(1);
    await Promise.all(Array.from({ length: 2_500 }, () => log.append(Buffer.from(batch), 0, null)));
    const batchKeys = async () =>
      (await store.batchDb.keys({ gte: Buffer.from([0x10]), lt: Buffer.from([0x11]) }).all())
        .length;
    let before = store.writes.length;
    expect(await log.deleteBefore(2_400)).toBe(2_400);
    expect(await batchKeys()).toBe(100);
    expect(log.sizeBytes).toBe(100 * batch.length);
    // The state write, then steps of at most 1,000 deletions each.
    expect(store.writes.length - before).toBeGreaterThanOrEqual(4);
    for (const write of store.writes.slice(before)) expect(write.ops).toBeLessThanOrEqual(1_002);
    await Promise.all(Array.from({ length: 2_500 }, () => log.append(Buffer.from(batch), 0, null)));
    before = store.writes.length;
    expect(await log.truncateTo(2_450)).toBe(2_450);
    expect(await batchKeys()).toBe(50);
    expect(log.sizeBytes).toBe(50 * batch.length);
    expect(store.writes.length - before).toBeGreaterThanOrEqual(3);
    await store.reopen();
    const reopened = store.manager.partition(topicId, 0)!;
    expect([reopened.logStartOffset, reopened.logEndOffset, reopened.sizeBytes]).toEqual([
      2_400,
      2_450,
      50 * batch.length,
    ]);
  });
});

describe('leader epochs', () => {
  it('answers endOffsetForEpoch with Kafka semantics', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    expect(log.endOffsetForEpoch(0)).toEqual({ epoch: -1, endOffset: -1 });
    await appendAll(log, [2, 1], 2);
    await appendAll(log, [3], 5);
    await appendAll(log, [1], 7);
    expect(log.latestEpoch()).toBe(7);
    expect(log.endOffsetForEpoch(7)).toEqual({ epoch: 7, endOffset: 7 });
    expect(log.endOffsetForEpoch(5)).toEqual({ epoch: 5, endOffset: 6 });
    expect(log.endOffsetForEpoch(6)).toEqual({ epoch: 5, endOffset: 6 });
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 2, endOffset: 3 });
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 0 });
    expect(log.endOffsetForEpoch(8)).toEqual({ epoch: -1, endOffset: -1 });
  });

  it('refuses an epoch older than the latest (an assertion: a fenced leader must not append)', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAll(log, [1], 4);
    const batch = await makeBatch(1);
    expect(() => log.append(batch, 3, null)).toThrow(/older than the latest/);
  });
});

describe('time index', () => {
  it('finds the first record at or after a time with non-monotonic timestamps', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await log.append(await makeBatch(3, 'a', [100, 500, 300]), 0, null); // 0..2, max 500
    await log.append(await makeBatch(2, 'b', [200, 250]), 0, null); // 3..4, max 250
    await log.append(await makeBatch(2, 'c', [900, 400]), 1, null); // 5..6, max 900
    await log.append(await makeBatch(1, 'd', [1_000]), 1, null); // 7
    const at = (t: number) => log.offsetForTimestamp(t);
    expect(await at(0)).toEqual({ offset: 0, timestampMs: 100, leaderEpoch: 0 });
    expect(await at(150)).toEqual({ offset: 1, timestampMs: 500, leaderEpoch: 0 });
    expect(await at(500)).toEqual({ offset: 1, timestampMs: 500, leaderEpoch: 0 });
    expect(await at(501)).toEqual({ offset: 5, timestampMs: 900, leaderEpoch: 1 });
    expect(await at(950)).toEqual({ offset: 7, timestampMs: 1_000, leaderEpoch: 1 });
    expect(await at(1_001)).toBeNull();
    // Only [logStart, HW) counts: with the start at 3, the scan starts there.
    await log.deleteBefore(3);
    expect(await at(150)).toEqual({ offset: 3, timestampMs: 200, leaderEpoch: 0 });
    expect(await at(260)).toEqual({ offset: 5, timestampMs: 900, leaderEpoch: 1 });
    log.setHighWatermarkFollowsDurableEnd(false);
    log.setHighWatermark(5);
    expect(await at(260)).toBeNull();
  });

  it('writes an index entry only when the running maximum grows', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await log.append(await makeBatch(1, 'a', [100]), 0, null);
    await log.append(await makeBatch(1, 'b', [50]), 0, null);
    await log.append(await makeBatch(1, 'c', [100]), 0, null);
    await log.append(await makeBatch(1, 'd', [150]), 0, null);
    const entries = await store.db
      .keys({ gte: Buffer.from([0x13]), lt: Buffer.from([0x14]) })
      .all();
    expect(entries).toHaveLength(2);
  });
});

describe('reopen', () => {
  it('recovers log end, log start, size, epochs and the time index exactly', async () => {
    const logs: PartitionLog[] = [];
    for (let p = 0; p < 3; p++) logs.push(await store.manager.createPartition(topicId, p));
    await appendAll(logs[0]!, [3, 4], 1);
    await appendAll(logs[0]!, [2], 3);
    await logs[0]!.deleteBefore(5);
    await appendAll(logs[1]!, [1]);
    const before = logs.map((l) => ({
      start: l.logStartOffset,
      end: l.logEndOffset,
      hw: l.highWatermark,
      size: l.sizeBytes,
      epochs: l.epochEntries(),
    }));
    await store.reopen();
    const after = [0, 1, 2]
      .map((p) => store.manager.partition(topicId, p)!)
      .map((l) => ({
        start: l.logStartOffset,
        end: l.logEndOffset,
        hw: l.highWatermark,
        size: l.sizeBytes,
        epochs: l.epochEntries(),
      }));
    expect(after).toEqual(before);
    expect(store.manager.partitions()).toHaveLength(3);
    const reopened = store.manager.partition(topicId, 0)!;
    expect((await reopened.read(5, 1 << 20)).bytes).toBe(reopened.sizeBytes);
    expect((await reopened.append(await makeBatch(1), 3, null)).baseOffset).toBe(9);
  });

  it('flushes queued appends on close under every fsync policy', async () => {
    for (const fsync of ['never', 'interval'] as const) {
      store.config = { fsync, fsyncIntervalMs: 60_000 };
      await store.reopen();
      const log = await store.manager.createPartition(topicId, fsync === 'never' ? 10 : 11);
      const batches = await Promise.all([1, 2, 3].map((n) => makeBatch(n)));
      const pending = batches.map((batch) => log.append(batch, 0, null));
      // Close while the appends are still queued: close must write them.
      await store.reopen();
      await Promise.all(pending);
      expect(store.manager.partition(topicId, log.partition)!.logEndOffset).toBe(6);
    }
    // 'interval' ends with a synced write (the marker) on close.
    expect(store.writes.at(-1)?.sync).toBe(true);
  });
});

describe('deletePartition', () => {
  it('leaves no key of the partition behind, and others untouched', async () => {
    const keep = await store.manager.createPartition(topicId, 1);
    await appendAll(keep, [2], 1);
    const keysBefore = await allKeys(store);
    const log = await store.manager.createPartition(topicId, 0);
    await log.append(await makeBatch(2, 'a', [100, 200]), 1, null);
    await log.append(await makeBatch(2, 'b', [300, 400]), 2, null);
    await store.manager.deletePartition(topicId, 0);
    await store.manager.deletePartition(topicId, 0);
    expect(await allKeys(store)).toEqual(keysBefore);
    await store.reopen();
    expect(store.manager.partitions().map((l) => l.partition)).toEqual([1]);
    // Re-creating it starts empty.
    const again = await store.manager.createPartition(topicId, 0);
    expect(again.logEndOffset).toBe(0);
    expect(again.latestEpoch()).toBe(-1);
  });

  it('clears keys a crash left without a state record when the node reopens', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAll(log, [2, 2], 1);
    // Simulate a deletion interrupted after the state key went.
    await store.db.del(
      Buffer.concat([
        Buffer.from([0x11]),
        Buffer.from(topicId.replaceAll('-', ''), 'hex'),
        Buffer.alloc(4),
      ]),
    );
    await store.reopen();
    expect(store.manager.partitions()).toHaveLength(0);
    expect(await allKeys(store)).toEqual([]);
  });
});

describe('backpressure', () => {
  it('never queues more than the bound, and admits waiting appends in order', async () => {
    store.config = { inflightAppendsMax: 8, groupCommitBytesMax: 10_000 };
    await store.reopen();
    const log = await store.manager.createPartition(topicId, 0);
    const batch = await makeBatch(1);
    const pending = [];
    for (let i = 0; i < 100; i++) pending.push(log.append(Buffer.from(batch), 0, null));
    // Only the first 8 got offsets; the rest wait for room.
    expect(log.logEndOffset).toBe(8);
    const results = await Promise.all(pending);
    expect(results.map((r) => r.baseOffset)).toEqual([...Array(100).keys()]);
    expect(store.manager.commitStats.queuedAppendsHigh).toBe(8);
    for (const write of store.writes) expect(write.batchPuts).toBeLessThanOrEqual(8);
  });

  it('bounds queued bytes too', async () => {
    const big = await encodeBatch([
      { key: null, value: Buffer.alloc(3_000), timestampMs: 1, headers: [] },
    ]);
    store.config = { inflightAppendsMax: 1_000, groupCommitBytesMax: 2 * big.length };
    await store.reopen();
    const log = await store.manager.createPartition(topicId, 0);
    const pending = [];
    for (let i = 0; i < 20; i++) pending.push(log.append(Buffer.from(big), 0, null));
    await Promise.all(pending);
    expect(store.manager.commitStats.queuedBytesHigh).toBeLessThanOrEqual(2 * big.length);
    for (const write of store.writes) expect(write.batchPuts).toBeLessThanOrEqual(2);
    expect(log.logEndOffset).toBe(20);
  });
});

describe('write failure', () => {
  it('is fatal: the handler runs, the append fails, and nothing more is written', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const db = store.batchDb as unknown as { batch: (...args: unknown[]) => Promise<void> };
    const original = db.batch;
    db.batch = () => Promise.reject(new Error('disk on fire'));
    await expectCode(log.append(await makeBatch(1), 0, null), 'KAFKA_STORAGE_ERROR');
    expect(store.faults.map((e) => e.message)).toEqual(['disk on fire']);
    await expectCode(log.append(await makeBatch(1), 0, null), 'KAFKA_STORAGE_ERROR');
    db.batch = original;
  });
});
