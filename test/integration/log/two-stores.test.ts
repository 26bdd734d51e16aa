/**
 * The log over its two stores (README.md, "Two stores"), crashed at every write. A scenario
 * runs appends (two leader epochs, timestamps out of order), compaction, DeleteRecords, a
 * truncation, a reset and more appends against real LevelDBs; a run is repeated once per write
 * it makes, and run k "crashes" at its k-th write: that write and every later one never reach
 * either store. The stores are then reopened, with recovery itself crashed at its first write
 * and reopened again, and the recovered log must be one a reader can trust:
 * - its batches cover [log start, log end) gap-free, sizeBytes is their exact sum, and no batch
 *   is left behind the log start;
 * - the epoch cache and time index are what the stored batches imply;
 * - every stored record is the last one appended at its offset, and every acknowledged record
 *   at or after the log start is still there, unless a truncation that reached the store
 *   removed it;
 * - it takes appends again, and a second reopen finds the same log.
 * Both layouts run: two LevelDBs (new data dirs) and one (data dirs from before the split).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { RecordBatch, decodeRecords, encodeBatch } from '../../../src/codec/index.js';
import { CleanerTask, LogManager, type PartitionLog } from '../../../src/log/index.js';
import {
  PartitionKeys,
  batchKeyOffset,
  decodeOffset,
  encodeOffset,
} from '../../../src/log/keys.js';
import { newTopicId, openDb, type Db } from './helpers.js';

const topicId = newTopicId();
const PARTITION = 0;
const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Raised by a store's write once the crash point is reached: nothing more gets written. */
class Crash extends Error {}

type Op = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };
type Write = (ops: Op[], options: { sync: boolean }) => Promise<void>;

/**
 * Counts writes across both stores; from write number `crashAt` on, they all fail unapplied.
 * For a power loss it also keeps, per store, how to undo the writes no synced write of that
 * store has made durable yet (one WAL per store: a synced write makes every earlier one
 * durable), and `loseUnsynced` undoes them, newest first.
 */
class Injector {
  writes = 0;
  isCrashed = false;
  private readonly stores: Array<{ write: Write; undo: Op[][] }> = [];

  constructor(private readonly crashAt: number) {}

  wrap(db: Db): void {
    const write = db.batch.bind(db) as unknown as Write;
    const store = { write, undo: [] as Op[][] };
    this.stores.push(store);
    (db as unknown as { batch: Write }).batch = async (ops, options) => {
      this.writes++;
      if (this.isCrashed || this.writes === this.crashAt) {
        this.isCrashed = true;
        throw new Crash(`crash at write ${this.crashAt}`);
      }
      if (options.sync) {
        store.undo = [];
      } else {
        const before = await db.getMany(ops.map((op) => op.key));
        store.undo.push(
          ops
            .map((op, i): Op => {
              const value = before[i];
              return value === undefined
                ? { type: 'del', key: op.key }
                : { type: 'put', key: op.key, value };
            })
            .reverse(),
        );
      }
      return write(ops, options);
    };
  }

  /** The power loss: every store loses its writes since its last synced one. */
  async loseUnsynced(): Promise<void> {
    for (const store of this.stores) {
      for (const undo of store.undo.reverse()) await store.write(undo, { sync: true });
      store.undo = [];
    }
  }
}

interface Node {
  readonly dir: string;
  readonly singleStore: boolean;
  index: Db;
  batches: Db;
  manager: LogManager;
  faults: Error[];
}

async function openNode(dir: string, singleStore: boolean, injector?: Injector): Promise<Node> {
  const index = await openDb(`${dir}/store`);
  const batches = singleStore ? index : await openDb(`${dir}/log`);
  if (injector !== undefined) {
    injector.wrap(index);
    if (batches !== index) injector.wrap(batches);
  }
  const faults: Error[] = [];
  const node: Node = { dir, singleStore, index, batches, faults, manager: undefined as never };
  try {
    node.manager = await LogManager.open(
      { batches, index },
      {
        fsync: 'always',
        fsyncIntervalMs: 1_000,
        logger: { info() {}, error() {} },
        onFatal: (error) => faults.push(error),
      },
    );
  } catch (error) {
    await closeStores(node);
    throw error;
  }
  return node;
}

async function closeStores(node: Node): Promise<void> {
  if (node.batches !== node.index) await node.batches.close();
  await node.index.close();
}

async function closeNode(node: Node): Promise<void> {
  await node.manager.close();
  await closeStores(node);
}

/** What the scenario appended: the last value tried at each offset, and which were acked. */
class Model {
  readonly tried = new Map<number, string>();
  readonly acked = new Set<number>();
  /** Acked records a truncation under way may have cut (it reached the store or not). */
  readonly mayBeCut = new Set<number>();

  cutFrom(offset: number): void {
    for (const o of [...this.tried.keys()]) if (o >= offset) this.tried.delete(o);
    for (const o of [...this.acked]) if (o >= offset) this.acked.delete(o);
  }
}

let valueSeq = 0;

/** Appends one batch of `count` keyed records; the model learns of it before and after. */
async function append(
  log: PartitionLog,
  model: Model,
  count: number,
  epoch: number,
  timestampMs: number,
): Promise<void> {
  const values: string[] = [];
  const records = [];
  for (let i = 0; i < count; i++) {
    const value = `v${valueSeq++}`;
    values.push(value);
    records.push({
      key: Buffer.from(`k${valueSeq % 3}`),
      value: Buffer.from(value),
      timestampMs: timestampMs + i,
      headers: [],
    });
  }
  const batch = await encodeBatch(records);
  // Offsets are assigned in the call itself, so the base is read right before it.
  const base = log.logEndOffset;
  values.forEach((value, i) => model.tried.set(base + i, value));
  const result = await log.append(batch, epoch, null);
  expect(result.baseOffset).toBe(base);
  for (let i = 0; i < count; i++) model.acked.add(base + i);
}

/**
 * The scenario; returns normally, or throws once a write failed (the crash). Appends in one
 * turn share rounds; the others wait for each step.
 */
async function scenario(node: Node, model: Model): Promise<void> {
  const log = await node.manager.createPartition(topicId, PARTITION);
  await Promise.all([
    append(log, model, 3, 0, 1_000),
    append(log, model, 2, 0, 2_000),
    append(log, model, 4, 0, 1_500),
  ]);
  for (let i = 0; i < 4; i++) await append(log, model, 2, 1, 3_000 + i * 100);
  const cleaner = new CleanerTask(
    node.manager,
    () => ({ deleteRetentionMs: 1_000_000, minCompactionLagMs: 0, minCleanableDirtyRatio: 0 }),
    { backoffMs: 1_000, now: () => 10_000, stepBatchesMax: 2 },
  );
  const passes = await cleaner.runOnce();
  if (node.faults.length > 0) throw new Crash('the cleaner hit the crash');
  expect(passes.length).toBeGreaterThan(0);
  await log.deleteBefore(5);
  const cut = log.logEndOffset - 3;
  const holder = RecordBatch.of((await log.read(cut, 1)).batches[0]!).baseOffset;
  for (const offset of model.acked) if (offset >= holder) model.mayBeCut.add(offset);
  const newEnd = await log.truncateTo(cut);
  expect(newEnd).toBe(holder);
  model.cutFrom(newEnd);
  await Promise.all([append(log, model, 2, 2, 500), append(log, model, 1, 2, 5_000)]);
  await log.deleteBefore(log.logEndOffset - 1);
  const resetAt = log.logEndOffset + 4;
  await log.resetTo(resetAt);
  model.cutFrom(0);
  await append(log, model, 3, 3, 6_000);
}

/** Reads every stored batch of the partition straight from the batch store. */
async function storedBatches(node: Node): Promise<Array<{ key: Buffer; batch: Buffer }>> {
  const keys = new PartitionKeys(topicId, PARTITION);
  const entries = await node.batches.iterator({ gte: keys.batches.gte, lt: keys.batches.lt }).all();
  return entries.map(([key, batch]) => ({ key, batch }));
}

/** The checks of the header comment, on a freshly recovered node. */
async function checkRecovered(node: Node, model: Model, where: string): Promise<void> {
  expect(node.faults, where).toEqual([]);
  const log = node.manager.partition(topicId, PARTITION);
  if (log === undefined) {
    // The crash came before the partition's state record was durable.
    expect(await storedBatches(node), where).toEqual([]);
    return;
  }
  const stored = await storedBatches(node);
  let bytes = 0;
  let expected = stored.length === 0 ? log.logStartOffset : -1;
  const epochs: Array<[number, number]> = [];
  for (const { key, batch } of stored) {
    const header = RecordBatch.of(batch);
    expect(header.baseOffset, where).toBe(batchKeyOffset(key));
    if (expected === -1) {
      expect(header.baseOffset, `${where}: first batch holds the log start`).toBeLessThanOrEqual(
        log.logStartOffset,
      );
      expect(header.nextOffset, `${where}: no batch behind the start`).toBeGreaterThan(
        log.logStartOffset,
      );
    } else {
      expect(header.baseOffset, `${where}: gap-free`).toBe(expected);
    }
    expected = header.nextOffset;
    bytes += batch.length;
    const start = Math.max(header.baseOffset, log.logStartOffset);
    if (epochs.length === 0 || epochs.at(-1)![0] < header.leaderEpoch) {
      epochs.push([header.leaderEpoch, start]);
    }
    for (const record of await decodeRecords(batch)) {
      if (record.offset < log.logStartOffset) continue;
      expect(record.value?.toString(), `${where}: offset ${record.offset}`).toBe(
        model.tried.get(record.offset),
      );
    }
  }
  expect(expected, `${where}: batches end at the log end`).toBe(log.logEndOffset);
  expect(log.sizeBytes, `${where}: sizeBytes is the stored bytes`).toBe(bytes);
  expect(log.epochEntries(), `${where}: epoch cache`).toEqual(epochs);
  // The time index is sorted by offset as well as by time (compaction may retarget two entries
  // to one merged batch), and names no offset past the end.
  const keys = new PartitionKeys(topicId, PARTITION);
  const indexed = (await node.index.iterator({ gte: keys.times.gte, lt: keys.times.lt }).all()).map(
    ([, value]) => decodeOffset(value),
  );
  for (let i = 1; i < indexed.length; i++) {
    expect(indexed[i]!, `${where}: time entries in offset order`).toBeGreaterThanOrEqual(
      indexed[i - 1]!,
    );
  }
  if (indexed.length > 0) expect(indexed.at(-1)!, where).toBeLessThan(log.logEndOffset);
  for (const offset of model.acked) {
    if (offset < log.logStartOffset || model.mayBeCut.has(offset)) continue;
    expect(offset, `${where}: acked ${offset} is in the log`).toBeLessThan(log.logEndOffset);
  }
  // Timestamp lookups agree with a scan of the stored records.
  for (const t of [0, 1_600, 3_150, 5_000, 6_001, 99_999]) {
    let first: number | null = null;
    for (const { batch } of stored) {
      for (const record of await decodeRecords(batch)) {
        if (first === null && record.offset >= log.logStartOffset && record.timestampMs >= t) {
          first = record.offset;
        }
      }
    }
    const found = await log.offsetForTimestamp(t);
    expect(found?.offset ?? null, `${where}: offsetForTimestamp(${t})`).toBe(first);
  }
}

async function crashRun(
  crashAt: number,
  singleStore: boolean,
  isPowerLoss = false,
): Promise<number> {
  const dir = await mkdtemp(os.tmpdir() + '/brook-');
  dirs.push(dir);
  const injector = new Injector(crashAt);
  const model = new Model();
  let node = await openNode(dir, singleStore, injector);
  try {
    await scenario(node, model);
  } catch (error) {
    if (!injector.isCrashed) throw error;
  }
  if (isPowerLoss) {
    // Nothing more reaches the stores, and each loses what was not synced.
    injector.isCrashed = true;
    await node.manager.close().catch(() => undefined);
    await injector.loseUnsynced();
    await closeStores(node);
  } else {
    await closeNode(node).catch(() => undefined);
  }
  const writes = injector.writes;
  const kind = isPowerLoss ? 'power loss' : 'crash';
  const where = `${kind} at write ${crashAt} of ${singleStore ? 'one store' : 'two stores'}`;
  // Recovery crashed at its first write, if it makes one, then recovery again.
  const recoveryCrash = new Injector(1);
  try {
    node = await openNode(dir, singleStore, recoveryCrash);
    await closeNode(node).catch(() => undefined);
  } catch (error) {
    if (!recoveryCrash.isCrashed) throw error;
  }
  node = await openNode(dir, singleStore);
  try {
    await checkRecovered(node, model, where);
    const log = node.manager.partition(topicId, PARTITION);
    if (log !== undefined) {
      const end = log.logEndOffset;
      await append(log, model, 1, Math.max(0, log.latestEpoch()), 7_000);
      expect((await log.read(end, 1 << 20)).batches.length, where).toBe(1);
    }
  } finally {
    await closeNode(node);
  }
  node = await openNode(dir, singleStore);
  try {
    await checkRecovered(node, model, `${where}, reopened`);
  } finally {
    await closeNode(node);
  }
  return writes;
}

describe.each([
  { layout: 'two stores', singleStore: false },
  { layout: 'one store', singleStore: true },
])('the log on $layout, crashed at every write', ({ singleStore }) => {
  it('recovers a trustworthy log from every crash point', async () => {
    // A run that never crashes counts the writes.
    const total = await crashRun(Number.MAX_SAFE_INTEGER, singleStore);
    expect(total).toBeGreaterThan(20);
    for (let crashAt = 1; crashAt <= total; crashAt++) await crashRun(crashAt, singleStore);
  }, 120_000);
});

describe.each([
  { layout: 'two stores', singleStore: false },
  { layout: 'one store', singleStore: true },
])('the log on $layout under fsync=always, power lost at every write', ({ singleStore }) => {
  it('keeps every acknowledged record and recovers a trustworthy log', async () => {
    const total = await crashRun(Number.MAX_SAFE_INTEGER, singleStore, true);
    for (let crashAt = 1; crashAt <= total; crashAt++) await crashRun(crashAt, singleStore, true);
  }, 120_000);
});

describe('recovery of stores a crash left out of step', () => {
  it('recounts a log whose index is ahead of its batches (a power loss under fsync=never)', async () => {
    const dir = await mkdtemp(os.tmpdir() + '/brook-');
    dirs.push(dir);
    const model = new Model();
    let node = await openNode(dir, false);
    const log = await node.manager.createPartition(topicId, PARTITION);
    for (let i = 0; i < 4; i++) await append(log, model, 2, 0, 1_000 + i * 10);
    for (let i = 0; i < 3; i++) await append(log, model, 2, 5, 2_000 + i * 10);
    await closeNode(node);
    // The batch store lost its last four batches (epoch 5 started in the first of them); the
    // index store kept the entries and state written after them.
    const batches = await openDb(`${dir}/log`);
    const keys = new PartitionKeys(topicId, PARTITION);
    const lost = (await batches.keys({ gte: keys.batches.gte, lt: keys.batches.lt }).all()).slice(
      -4,
    );
    await batches.batch(
      lost.map((key) => ({ type: 'del' as const, key })),
      { sync: true },
    );
    await batches.close();
    for (const offset of [...model.acked]) if (offset >= 6) model.mayBeCut.add(offset);
    node = await openNode(dir, false);
    try {
      const recovered = node.manager.partition(topicId, PARTITION)!;
      expect([recovered.logStartOffset, recovered.logEndOffset]).toEqual([0, 6]);
      expect(recovered.epochEntries()).toEqual([[0, 0]]);
      await checkRecovered(node, model, 'index ahead');
      await append(recovered, model, 1, 6, 3_000);
    } finally {
      await closeNode(node);
    }
    node = await openNode(dir, false);
    try {
      await checkRecovered(node, model, 'index ahead, reopened');
    } finally {
      await closeNode(node);
    }
  });

  it('opens a version 1 state (one store, before the split), batches behind its start included', async () => {
    const dir = await mkdtemp(os.tmpdir() + '/brook-');
    dirs.push(dir);
    const model = new Model();
    let node = await openNode(dir, true);
    const log = await node.manager.createPartition(topicId, PARTITION);
    for (let i = 0; i < 5; i++) await append(log, model, 2, 0, 1_000 + i * 10);
    const total = log.sizeBytes;
    await closeNode(node);
    // Version 1 wrote [1][logStartOffset][sizeBytes], counting every stored batch: here a
    // deleteBefore(4) cut short before its deletion steps, with the first two batches left.
    const db = await openDb(`${dir}/store`);
    const keys = new PartitionKeys(topicId, PARTITION);
    const v1 = Buffer.alloc(17);
    v1[0] = 1;
    v1.writeBigUInt64BE(4n, 1);
    v1.writeBigUInt64BE(BigInt(total), 9);
    // That write also moved epoch 0's entry to the new start.
    await db.batch([
      { type: 'put', key: keys.state, value: v1 },
      { type: 'put', key: keys.epoch(0), value: encodeOffset(4) },
    ]);
    await db.close();
    node = await openNode(dir, true);
    try {
      const recovered = node.manager.partition(topicId, PARTITION)!;
      expect([recovered.logStartOffset, recovered.logEndOffset]).toEqual([4, 10]);
      await checkRecovered(node, model, 'version 1');
      expect((await node.index.get(keys.state))![0]).toBe(2);
    } finally {
      await closeNode(node);
    }
  });
});
