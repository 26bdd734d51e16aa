/**
 * Shared fixtures for the log's integration tests: real LevelDBs in a fresh temp dir (the index
 * store and the batch store, as a broker opens them, or one LevelDB for both as in a data dir
 * from before the split), a LogManager over them with a fatal handler that records instead of
 * exiting, and batches built with the codec's encodeBatch.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { ClassicLevel } from 'classic-level';
import { encodeBatch } from '../../../src/codec/index.js';
import { LogManager, type LogManagerConfig } from '../../../src/log/index.js';

export type Db = ClassicLevel<Buffer, Buffer>;

export interface TestStore {
  readonly dir: string;
  /** The index store (state, epochs, time index). */
  db: Db;
  /** The batch store; the same object as `db` for a single-store TestStore. */
  batchDb: Db;
  manager: LogManager;
  readonly faults: Error[];
  /** Number of db.batch calls on either store, and the ops of each. */
  readonly writes: { sync: boolean; ops: number; batchPuts: number }[];
  config: Partial<LogManagerConfig>;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export async function openDb(dir: string): Promise<Db> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  await db.open();
  return db;
}

/** Wraps db.batch to count writes (the LogManager calls it through the db object). */
function countWrites(db: Db, writes: TestStore['writes']): void {
  const original = db.batch.bind(db) as (
    ops: unknown[],
    options: { sync: boolean },
  ) => Promise<void>;
  (db as unknown as { batch: unknown }).batch = (
    ops: { key: Buffer }[],
    options: { sync: boolean },
  ) => {
    let batchPuts = 0;
    for (const op of ops) if (op.key[0] === 0x10) batchPuts++;
    writes.push({ sync: options.sync, ops: ops.length, batchPuts });
    return original(ops, options);
  };
}

export interface StoreOptions {
  /** One LevelDB holds batches and index, as in a data dir from before the split. */
  readonly singleStore?: boolean;
}

export async function openStore(
  config: Partial<LogManagerConfig> = {},
  options: StoreOptions = {},
): Promise<TestStore> {
  const dir = await mkdtemp(os.tmpdir() + '/brook-');
  const openBoth = async (): Promise<void> => {
    store.db = await openDb(`${dir}/store`);
    countWrites(store.db, writes);
    if (options.singleStore === true) {
      store.batchDb = store.db;
    } else {
      store.batchDb = await openDb(`${dir}/log`);
      countWrites(store.batchDb, writes);
    }
  };
  const closeBoth = async (): Promise<void> => {
    if (store.batchDb !== store.db) await store.batchDb.close();
    await store.db.close();
  };
  const stores = () => ({ batches: store.batchDb, index: store.db });
  const faults: Error[] = [];
  const writes: TestStore['writes'] = [];
  const managerConfig = (): LogManagerConfig => ({
    fsync: 'always',
    fsyncIntervalMs: 1_000,
    logger: { info() {}, error() {} },
    onFatal: (error) => faults.push(error),
    ...store.config,
  });
  const store: TestStore = {
    dir,
    db: undefined as unknown as Db,
    batchDb: undefined as unknown as Db,
    manager: undefined as unknown as LogManager,
    faults,
    writes,
    config,
    async reopen() {
      await store.manager.close();
      await closeBoth();
      await openBoth();
      store.manager = await LogManager.open(stores(), managerConfig());
    },
    async close() {
      await store.manager.close();
      await closeBoth();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await openBoth();
  store.manager = await LogManager.open(stores(), managerConfig());
  return store;
}

/** A batch of `count` records with values `${tag}-${i}` and the given timestamps. */
export function makeBatch(count: number, tag = 'v', timestampsMs?: number[]): Promise<Buffer> {
  const records = [];
  for (let i = 0; i < count; i++) {
    records.push({
      key: null,
      value: Buffer.from(`${tag}-${i}`),
      timestampMs: timestampsMs?.[i] ?? 1_700_000_000_000 + i,
      headers: [],
    });
  }
  return encodeBatch(records);
}

export function newTopicId(): string {
  return randomUUID();
}

/**
 * Every key in both stores, as hex, for "nothing left behind" checks; without the fsync marker
 * (0x14), which a sync with nothing queued (close) writes and which belongs to no partition.
 */
export async function allKeys(store: { db: Db; batchDb: Db }): Promise<string[]> {
  const keys = await store.db.keys({ limit: 100_000 }).all();
  if (store.batchDb !== store.db)
    keys.push(...(await store.batchDb.keys({ limit: 100_000 }).all()));
  return keys
    .filter((key) => !(key.length === 1 && key[0] === 0x14))
    .map((key) => key.toString('hex'));
}
