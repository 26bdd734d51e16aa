/**
 * Compaction of partition logs against a real LevelDB in a temp dir: CleanerTask passes over
 * partitions full of updates to few keys, then the log is read back from every offset (inside
 * removed ranges too), reopened, fed to a follower, cut by retention and deleteBefore, and read
 * while a clean runs. After each, the stored batches must cover the log gap-free, keep every
 * key's latest record at its offset, and agree with sizeBytes and the time index.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordBatch, decodeRecords, encodeBatch } from '../../../src/codec/index.js';
import {
  CleanerTask,
  RetentionTask,
  type CleanerPolicy,
  type CleanerTaskOptions,
  type PartitionLog,
} from '../../../src/log/index.js';
import { PartitionKeys, batchKeyOffset, decodeOffset } from '../../../src/log/keys.js';
import { newTopicId, openStore, type TestStore } from './helpers.js';

let store: TestStore;
let topicId: string;
let infoLines: Array<{ obj: Record<string, unknown>; msg: string }>;

beforeEach(async () => {
  infoLines = [];
  store = await openStore({
    logger: {
      info: (obj, msg) => infoLines.push({ obj: obj as Record<string, unknown>, msg }),
      error() {},
    },
  });
  topicId = newTopicId();
});

afterEach(async () => {
  expect(store.faults).toEqual([]);
  await store.close();
});

const NOW = 1_700_000_100_000;
const COMPACT: CleanerPolicy = {
  deleteRetentionMs: 1_000_000,
  minCompactionLagMs: 0,
  minCleanableDirtyRatio: 0.5,
};

function cleaner(
  policy: CleanerPolicy | null = COMPACT,
  options: Partial<CleanerTaskOptions> = {},
  nowMs = NOW,
): CleanerTask {
  return new CleanerTask(store.manager, () => policy, {
    backoffMs: 10,
    now: () => nowMs,
    ...options,
  });
}

type Update = [key: string, value: string | null];

/** One batch of updates, all at `timestampMs`. */
function batchOf(updates: readonly Update[], timestampMs = NOW - 10_000): Promise<Buffer> {
  return encodeBatch(
    updates.map(([key, value]) => ({
      key: Buffer.from(key),
      value: value === null ? null : Buffer.from(value),
      timestampMs,
      headers: [{ key: 'k', value: Buffer.from(key) }],
    })),
  );
}

/**
 * Appends `rounds` batches of updates to keys k0..k(keys-1): batch i writes `perBatch` updates,
 * value `v<offset>`. Returns the latest value per key with its offset.
 */
async function fill(
  log: PartitionLog,
  rounds: number,
  keys: number,
  perBatch = 3,
  epoch = 0,
): Promise<Map<string, { offset: number; value: string }>> {
  const latest = new Map<string, { offset: number; value: string }>();
  for (let i = 0; i < rounds; i++) {
    const updates: Update[] = [];
    for (let j = 0; j < perBatch; j++) {
      const offset = log.logEndOffset + j;
      updates.push([`k${(i * perBatch + j) % keys}`, `v${offset}`]);
    }
    const { baseOffset } = await log.append(await batchOf(updates), epoch, null);
    updates.forEach(([key, value], j) =>
      latest.set(key, { offset: baseOffset + j, value: value! }),
    );
  }
  return latest;
}

interface Stored {
  base: number;
  next: number;
  epoch: number;
  bytes: Buffer;
}

/** The partition's stored batches straight from LevelDB, in key order. */
async function storedBatches(log: PartitionLog): Promise<Stored[]> {
  const keys = new PartitionKeys(log.topicId, log.partition);
  const entries = await store.batchDb
    .iterator({ gte: keys.batches.gte, lt: keys.batches.lt })
    .all();
  return entries.map(([key, bytes]) => {
    const header = RecordBatch.of(bytes);
    expect(header.baseOffset).toBe(batchKeyOffset(key));
    return { base: header.baseOffset, next: header.nextOffset, epoch: header.leaderEpoch, bytes };
  });
}

/** Checks the stored log: gap-free over [start, end), sizeBytes, time index; returns its records. */
async function checkStoredLog(log: PartitionLog) {
  const batches = await storedBatches(log);
  let expected = batches[0]?.base ?? log.logStartOffset;
  expect(expected).toBeLessThanOrEqual(log.logStartOffset);
  let bytes = 0;
  const records = [];
  for (const batch of batches) {
    expect(batch.base).toBe(expected);
    expected = batch.next;
    bytes += batch.bytes.length;
    records.push(...(await decodeRecords(batch.bytes)));
  }
  expect(expected).toBe(log.logEndOffset);
  expect(log.sizeBytes).toBe(bytes);
  expect(log.dirtyBytes).toBeGreaterThanOrEqual(0);
  expect(log.dirtyBytes).toBeLessThanOrEqual(log.sizeBytes);
  // Every time-index entry names a stored batch (or one before the log start).
  const keys = new PartitionKeys(log.topicId, log.partition);
  const bases = new Set(batches.map((b) => b.base));
  for (const [, value] of await store.db
    .iterator({ gte: keys.times.gte, lt: keys.times.lt })
    .all()) {
    const base = decodeOffset(value);
    if (base >= (batches[0]?.base ?? Infinity)) expect(bases.has(base)).toBe(true);
  }
  return { batches, records };
}

function expectLatest(
  records: Awaited<ReturnType<typeof decodeRecords>>,
  latest: Map<string, { offset: number; value: string }>,
): void {
  for (const [key, { offset, value }] of latest) {
    const found = records.find((r) => r.offset === offset);
    expect(found?.key?.toString(), `${key}@${offset}`).toBe(key);
    expect(found?.value?.toString()).toBe(value);
    expect(found?.headers).toEqual([{ key: 'k', value: Buffer.from(key) }]);
  }
  // One record per key, in offset order.
  const keys = records.map((r) => r.key!.toString());
  expect(new Set(keys).size).toBe(keys.length);
  for (let i = 1; i < records.length; i++) {
    expect(records[i]!.offset).toBeGreaterThan(records[i - 1]!.offset);
  }
}

/** Reads from every offset of the log: the first batch must cover it, the rest follow gap-free. */
async function readEveryOffset(log: PartitionLog): Promise<void> {
  for (let offset = log.logStartOffset; offset < log.highWatermark; offset++) {
    const read = await log.read(offset, 256);
    expect(read.batches.length).toBeGreaterThan(0);
    const first = RecordBatch.of(read.batches[0]!);
    expect(first.baseOffset).toBeLessThanOrEqual(offset);
    expect(first.nextOffset).toBeGreaterThan(offset);
    for (let i = 1; i < read.batches.length; i++) {
      expect(RecordBatch.of(read.batches[i]!).baseOffset).toBe(
        RecordBatch.of(read.batches[i - 1]!).nextOffset,
      );
    }
  }
}

describe('CleanerTask', () => {
  it('keeps the latest record per key at its offset, gap-free, and reads work from every offset', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const latest = await fill(log, 60, 5);
    const sizeBefore = log.sizeBytes;
    expect(log.dirtyBytes).toBe(sizeBefore);
    const passes = await cleaner().runOnce();
    expect(passes).toHaveLength(1);
    expect(passes[0]).toMatchObject({ fromOffset: 0, endOffset: 180, recordsRemoved: 175 });
    expect(passes[0]!.bytesAfter).toBeLessThan(passes[0]!.bytesBefore);
    expect(log.sizeBytes).toBeLessThan(sizeBefore);
    expect([log.dirtyBytes, log.cleanedEndOffset]).toEqual([0, 180]);
    const { batches, records } = await checkStoredLog(log);
    expectLatest(records, latest);
    expect(records).toHaveLength(5);
    // The batches emptied by the clean merged into one (a single leader epoch).
    expect(batches.filter((b) => RecordBatch.of(b.bytes).recordCount === 0)).toHaveLength(1);
    await readEveryOffset(log);
    // One info line for the pass.
    const lines = infoLines.filter((l) => l.msg === 'cleaned partition log');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.obj).toMatchObject({ partition: log.name, recordsRemoved: 175 });
    // Nothing new is dirty: the next pass does nothing.
    expect(await cleaner().runOnce()).toEqual([]);
  });

  it('skips topics without the policy, partitions below the dirty ratio, and batches past the HW or the compaction lag', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await fill(log, 10, 2);
    expect(await cleaner(null).runOnce()).toEqual([]);
    log.setHighWatermarkFollowsDurableEnd(false);
    log.setHighWatermark(RecordBatch.of((await storedBatches(log))[5]!.bytes).baseOffset);
    const [pass] = await cleaner().runOnce();
    expect(pass?.endOffset).toBe(15);
    // The batches from the HW on are untouched.
    const after = await storedBatches(log);
    expect(
      after.filter((b) => b.base >= 15).every((b) => RecordBatch.of(b.bytes).recordCount === 3),
    ).toBe(true);
    log.setHighWatermarkFollowsDurableEnd(true);
    // Recent batches wait for min.compaction.lag.ms.
    await log.append(await batchOf([['k0', 'new']], NOW - 5), 0, null);
    const lagged = await cleaner({
      ...COMPACT,
      minCompactionLagMs: 100,
      minCleanableDirtyRatio: 0,
    }).runOnce();
    expect(lagged[0]?.endOffset).toBe(30);
    // Below the ratio: not worth a pass.
    await log.append(await batchOf([['k1', 'x']]), 0, null);
    expect(await cleaner({ ...COMPACT, minCleanableDirtyRatio: 1 }).runOnce()).toEqual([]);
    const { records } = await checkStoredLog(log);
    expect(records.map((r) => r.value?.toString())).toContain('new');
  });

  it('drops a latest tombstone only once its batch is older than delete.retention.ms', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await log.append(
      await batchOf(
        [
          ['a', '1'],
          ['b', '1'],
        ],
        NOW - 5_000,
      ),
      0,
      null,
    );
    await log.append(await batchOf([['a', null]], NOW - 3_000), 0, null);
    await log.append(await batchOf([['b', '2']], NOW - 1_000), 0, null);
    await cleaner({ ...COMPACT, deleteRetentionMs: 3_000 }).runOnce();
    let { records } = await checkStoredLog(log);
    expect(records.map((r) => [r.offset, r.key?.toString(), r.value?.toString() ?? null])).toEqual([
      [2, 'a', null],
      [3, 'b', '2'],
    ]);
    // A pass at a later time (new dirty data makes one happen) drops it.
    await log.append(await batchOf([['c', '1']], NOW - 1_000), 0, null);
    await cleaner(
      { ...COMPACT, deleteRetentionMs: 3_000, minCleanableDirtyRatio: 0 },
      {},
      NOW + 1,
    ).runOnce();
    ({ records } = await checkStoredLog(log));
    expect(records.map((r) => r.offset)).toEqual([3, 4]);
    await readEveryOffset(log);
  });

  it('works in bounded steps, each one write, and merges empty batches across steps', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const latest = await fill(log, 40, 2, 1);
    const writesBefore = store.writes.length;
    const [pass] = await cleaner(COMPACT, { stepBatchesMax: 3 }).runOnce();
    const writes = store.writes.slice(writesBefore);
    expect(writes.length).toBeGreaterThan(5);
    for (const write of writes) expect(write.batchPuts).toBeLessThanOrEqual(3);
    expect(pass).toMatchObject({ batchesBefore: 40, recordsRemoved: 38 });
    const { batches, records } = await checkStoredLog(log);
    expectLatest(records, latest);
    expect(batches).toHaveLength(pass!.batchesAfter);
    expect(batches.map((b) => RecordBatch.of(b.bytes).recordCount)).toEqual([0, 1, 1]);
    await readEveryOffset(log);
  });

  it('stop() ends a pass at its next step boundary, leaving a valid log', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const latest = await fill(log, 200, 3, 1);
    const task = cleaner(COMPACT, { stepBatchesMax: 2 });
    const running = task.runOnce();
    // Let the pass get into its steps, then stop it.
    while (log.cleanedEndOffset === 0) await new Promise((resolve) => setImmediate(resolve));
    await task.stop();
    const passes = await running;
    expect(passes[0]!.endOffset).toBeLessThan(200);
    expect(log.cleanedEndOffset).toBe(passes[0]!.endOffset);
    expectLatest(
      (await checkStoredLog(log)).records.filter((r) => r.offset >= 197),
      latest,
    );
    await readEveryOffset(log);
  });

  it('cleans only as far as the key map reaches, and goes on in the next pass', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const latest = new Map<string, { offset: number; value: string }>();
    for (let i = 0; i < 12; i++) {
      const key = `k${Math.floor(i / 2)}`;
      const { baseOffset } = await log.append(await batchOf([[key, `v${i}`]]), 0, null);
      latest.set(key, { offset: baseOffset, value: `v${i}` });
    }
    const task = cleaner({ ...COMPACT, minCleanableDirtyRatio: 0 }, { keysMax: 2 });
    const [first] = await task.runOnce();
    expect(first?.endOffset).toBe(4);
    expect(log.cleanedEndOffset).toBe(4);
    for (let pass = 0; pass < 5 && log.cleanedEndOffset < 12; pass++) await task.runOnce();
    expect(log.cleanedEndOffset).toBe(12);
    const { records } = await checkStoredLog(log);
    expectLatest(records, latest);
  });

  it('keeps leader epochs: empty batches merge within an epoch only, and the epoch cache still answers', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await fill(log, 5, 1, 2, 0);
    await fill(log, 5, 1, 2, 3);
    const latest = await fill(log, 2, 1, 2, 4);
    const epochsBefore = [0, 3, 4].map((e) => log.endOffsetForEpoch(e));
    await cleaner().runOnce();
    const { batches, records } = await checkStoredLog(log);
    expectLatest(records, latest);
    expect(batches.map((b) => [b.base, b.next, b.epoch])).toEqual([
      [0, 10, 0],
      [10, 20, 3],
      [20, 22, 4],
      [22, 24, 4],
    ]);
    expect([0, 3, 4].map((e) => log.endOffsetForEpoch(e))).toEqual(epochsBefore);
    await readEveryOffset(log);
  });

  it('survives a restart: recovery, reads and a second clean that changes nothing', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const latest = await fill(log, 30, 4);
    await cleaner().runOnce();
    const before = await storedBatches(log);
    await store.reopen();
    const reopened = store.manager.partition(topicId, 0)!;
    expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([0, 90]);
    // Progress lives in memory: after a restart everything counts as dirty once.
    expect(reopened.dirtyBytes).toBe(reopened.sizeBytes);
    await readEveryOffset(reopened);
    const writesBefore = store.writes.length;
    const [pass] = await cleaner().runOnce();
    expect(pass?.recordsRemoved).toBe(0);
    expect(store.writes.length).toBe(writesBefore);
    expect(await storedBatches(reopened)).toEqual(before);
    expectLatest((await checkStoredLog(reopened)).records, latest);
    // Appends continue after the compacted log.
    await reopened.append(await batchOf([['k0', 'after']]), 0, null);
    expect(reopened.logEndOffset).toBe(91);
  });

  it('answers offsetForTimestamp over thinned and empty batches', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    for (let i = 0; i < 10; i++) {
      await log.append(await batchOf([['a', `${i}`]], NOW - 10_000 + i * 100), 0, null);
    }
    await log.append(await batchOf([['b', 'x']], NOW - 100), 0, null);
    await cleaner().runOnce();
    // Batches 0..8 merged into one empty batch: their time-index entries now all name it.
    const { batches } = await checkStoredLog(log);
    expect(batches.map((b) => [b.base, b.next])).toEqual([
      [0, 9],
      [9, 10],
      [10, 11],
    ]);
    const keys = new PartitionKeys(log.topicId, log.partition);
    const times = await store.db.iterator({ gte: keys.times.gte, lt: keys.times.lt }).all();
    expect(times.map(([, value]) => decodeOffset(value))).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 10,
    ]);
    // The records at 0..8 are gone; the first record at or after their times is a@9.
    expect(await log.offsetForTimestamp(NOW - 10_000)).toMatchObject({ offset: 9 });
    expect(await log.offsetForTimestamp(NOW - 100)).toMatchObject({ offset: 10 });
    expect(await log.offsetForTimestamp(NOW)).toBeNull();
  });

  it('hands reads that keep up the rewritten batches, not the cached old ones', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await fill(log, 10, 2);
    // Served from the tail cache before the clean.
    expect((await log.read(0, 1 << 20)).batches).toHaveLength(10);
    await cleaner().runOnce();
    const read = await log.read(0, 1 << 20);
    expect(read.batches.map((b) => RecordBatch.of(b).recordCount)).toEqual(
      (await storedBatches(log)).map((b) => RecordBatch.of(b.bytes).recordCount),
    );
  });

  it('reads running during a clean never see a gap or half a step', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const latest = await fill(log, 300, 3, 1);
    let done = false;
    let reads = 0;
    const reader = (async () => {
      while (!done) {
        const offset = reads % 300;
        const read = await log.read(offset, 512);
        const first = RecordBatch.of(read.batches[0]!);
        expect(first.baseOffset).toBeLessThanOrEqual(offset);
        expect(first.nextOffset).toBeGreaterThan(offset);
        for (let i = 1; i < read.batches.length; i++) {
          expect(RecordBatch.of(read.batches[i]!).baseOffset).toBe(
            RecordBatch.of(read.batches[i - 1]!).nextOffset,
          );
        }
        reads += 7;
        // Reads served from memory never leave the microtask queue; let the cleaner run.
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await cleaner(COMPACT, { stepBatchesMax: 4 }).runOnce();
    done = true;
    await reader;
    expect(reads).toBeGreaterThan(10);
    expectLatest((await checkStoredLog(log)).records, latest);
  });
});

describe('a compacted log with retention, deleteBefore and truncation', () => {
  it('deleteBefore into a merged empty batch or a thinned one, then retention, keep the log valid', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const latest = await fill(log, 50, 4);
    await cleaner().runOnce();
    const batches = await storedBatches(log);
    const empty = batches.find((b) => RecordBatch.of(b.bytes).recordCount === 0)!;
    // Inside the merged empty batch.
    await log.deleteBefore(empty.base + 3);
    expect(log.logStartOffset).toBe(empty.base + 3);
    await readEveryOffset(log);
    let checked = await checkStoredLog(log);
    expectLatest(checked.records, latest);
    // Inside a thinned batch, past some kept records.
    const firstKept = checked.records[0]!.offset;
    await log.deleteBefore(firstKept + 1);
    await readEveryOffset(log);
    checked = await checkStoredLog(log);
    expect(checked.records.every((r) => r.offset >= firstKept)).toBe(true);
    // Retention by time removes whole batches from the front.
    const retention = new RetentionTask(
      store.manager,
      () => ({ retentionMs: 0, retentionBytes: -1 }),
      {
        intervalMs: 10,
        now: () => NOW,
      },
    );
    expect(await retention.runOnce()).toBeGreaterThan(0);
    expect(log.logStartOffset).toBe(log.logEndOffset);
    expect(log.sizeBytes).toBe(0);
    expect(log.dirtyBytes).toBe(0);
    await checkStoredLog(log);
  });

  it('a truncation below the cleaned part makes everything dirty again', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await fill(log, 20, 3);
    await cleaner().runOnce();
    expect(log.dirtyBytes).toBe(0);
    const planned = log.truncationCount;
    await log.truncateTo(58);
    // A step planned before the truncation does nothing: its offsets may hold other records.
    const options = { batchesMax: 10, bytesMax: 1 << 24, truncationCount: planned };
    const identity = (batches: readonly Buffer[]) => Promise.resolve(batches);
    expect(await log.rewriteRange(0, 57, options, identity)).toBeNull();
    expect(log.logEndOffset).toBe(57);
    expect(log.cleanedEndOffset).toBe(0);
    expect(log.dirtyBytes).toBe(log.sizeBytes);
    // Planned now, it runs; unchanged batches are not written, but count as clean.
    const now = { ...options, truncationCount: log.truncationCount };
    expect(await log.rewriteRange(0, 57, now, identity)).toMatchObject({ isChanged: false });
    expect([log.cleanedEndOffset, log.dirtyBytes]).toEqual([57, 0]);
    await checkStoredLog(log);
    await readEveryOffset(log);
  });
});

describe('a follower fed from a compacted leader', () => {
  /** Copies the leader's committed batches from the follower's log end until it has them all. */
  async function replicate(leader: PartitionLog, follower: PartitionLog): Promise<void> {
    // Bounded: every round appends at least one batch.
    while (follower.logEndOffset < leader.highWatermark) {
      const read = await leader.read(follower.logEndOffset, 300, {
        maxOffset: leader.highWatermark,
      });
      await follower.appendReplicated(read.batches);
    }
  }

  it('an empty follower refills from the compacted leader and agrees record for record', async () => {
    const leader = await store.manager.createPartition(topicId, 0);
    const latest = await fill(leader, 40, 3);
    await cleaner().runOnce();
    const follower = await store.manager.createPartition(newTopicId(), 0);
    await replicate(leader, follower);
    const ours = await checkStoredLog(follower);
    const theirs = await checkStoredLog(leader);
    expect(ours.batches.map((b) => b.bytes)).toEqual(theirs.batches.map((b) => b.bytes));
    expectLatest(ours.records, latest);
    expect(follower.epochEntries()).toEqual(leader.epochEntries());
    await store.reopen();
    await checkStoredLog(store.manager.partition(follower.topicId, 0)!);
  });

  it('a follower reset to a log start inside a merged empty batch stores that batch as the leader has it', async () => {
    const leader = await store.manager.createPartition(topicId, 0);
    const latest = await fill(leader, 50, 4);
    await cleaner().runOnce();
    const empty = (await storedBatches(leader)).find(
      (b) => RecordBatch.of(b.bytes).recordCount === 0 && b.next - b.base > 3,
    )!;
    await leader.deleteBefore(empty.base + 3);
    const follower = await store.manager.createPartition(newTopicId(), 0);
    await follower.resetTo(leader.logStartOffset);
    await replicate(leader, follower);
    // Not trimmed to the log start: the log is empty there, so the batch goes in as it is.
    const ours = await checkStoredLog(follower);
    const theirs = await checkStoredLog(leader);
    expect(ours.batches[0]!.base).toBe(empty.base);
    expect(ours.batches.map((b) => b.bytes)).toEqual(theirs.batches.map((b) => b.bytes));
    expect(follower.logStartOffset).toBe(leader.logStartOffset);
    expect(follower.epochEntries()).toEqual(leader.epochEntries());
    expectLatest(ours.records, latest);
    await readEveryOffset(follower);
    // The follower's own cleaning keeps it valid, and so does a restart.
    await cleaner().runOnce();
    expect((await checkStoredLog(follower)).records).toEqual(theirs.records);
    await store.reopen();
    const reopened = store.manager.partition(follower.topicId, 0)!;
    expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([
      leader.logStartOffset,
      leader.logEndOffset,
    ]);
    await checkStoredLog(reopened);
    await readEveryOffset(reopened);
  });

  it('a lagging follower whose log end falls inside a merged empty batch continues from it', async () => {
    const leader = await store.manager.createPartition(topicId, 0);
    await fill(leader, 30, 2, 1);
    const follower = await store.manager.createPartition(newTopicId(), 0);
    // The follower took the first 7 batches before the leader cleaned.
    const early = await leader.read(0, 1 << 20, { maxOffset: 7 });
    await follower.appendReplicated(early.batches);
    expect(follower.logEndOffset).toBe(7);
    const latest = await fill(leader, 5, 2, 1);
    await cleaner().runOnce();
    const merged = (await storedBatches(leader))[0]!;
    expect([merged.base, RecordBatch.of(merged.bytes).recordCount]).toEqual([0, 0]);
    expect(merged.next).toBeGreaterThan(7);
    await replicate(leader, follower);
    const ours = await checkStoredLog(follower);
    const theirs = await checkStoredLog(leader);
    expectLatest(theirs.records, latest);
    // Where both hold a record at an offset it is the same record, and every key's latest
    // value is on the follower too.
    for (const record of ours.records) {
      const other = theirs.records.find((r) => r.offset === record.offset);
      if (other !== undefined) expect(other).toEqual(record);
    }
    for (const { offset } of latest.values()) {
      expect(ours.records.some((r) => r.offset === offset)).toBe(true);
    }
    // The follower cleans its own log to the same records.
    await cleaner().runOnce();
    expect((await checkStoredLog(follower)).records).toEqual(theirs.records);
  });
});
