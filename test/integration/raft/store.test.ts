/**
 * RaftLogStore on a real LevelDB (src/raft/io/level-store.ts): what persist(), saveSnapshot()
 * and saveBootstrap() write must come back from load() exactly, truncation and snapshots must
 * leave a contiguous log and the bootstrap membership alone, every Ready must be one db.batch
 * with the Ready's sync flag, and a corrupt value must be refused. The crash test SIGKILLs a child process that persists Readies in a loop and checks,
 * after each kill, that the store holds exactly the state after the last acknowledged write or
 * the one after it: nothing acknowledged is lost and no write is torn.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerError } from '../../../src/errors/index.js';
import { AssertionError } from '../../../src/util/assert.js';
import { RaftLogStore, type StoredState } from '../../../src/raft/io/level-store.js';
import { BOOTSTRAP_KEY, entryKey } from '../../../src/raft/io/store-codec.js';
import {
  EntryType,
  type Entry,
  type HardState,
  type Ready,
  type RestoredState,
  type Snapshot,
} from '../../../src/raft/types.js';

type Db = ClassicLevel<Buffer, Buffer>;

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'store-child.mjs');
const BUILT_STORE = path.resolve(here, '../../../dist/src/raft/io/level-store.js');

const dirs: string[] = [];
const dbs: Db[] = [];
/** Children still running if a test failed before killing them; stopped by PID. */
const liveChildren = new Set<number>();

afterEach(async () => {
  for (const pid of liveChildren) process.kill(pid, 'SIGKILL');
  liveChildren.clear();
  for (const db of dbs.splice(0)) if (db.status === 'open') await db.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'brook-raft-store-'));
  dirs.push(dir);
  return dir;
}

async function openDb(dir: string): Promise<Db> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  await db.open({ createIfMissing: true, errorIfExists: false });
  dbs.push(db);
  return db;
}

/** A store over a fresh or reopened db, loaded. */
async function openStore(
  dir: string,
): Promise<{ db: Db; store: RaftLogStore; restored: StoredState }> {
  const db = await openDb(dir);
  const store = new RaftLogStore(db);
  const restored = await store.load();
  return { db, store, restored };
}

/** Closes `db` and loads the store again; `db` of the result is the reopened handle. */
async function reopen(dir: string, db: Db): Promise<StoredState & { db: Db }> {
  await db.close();
  const reopened = await openStore(dir);
  return { ...reopened.restored, db: reopened.db };
}

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) {
    out.push({ index, term, type: EntryType.NORMAL, data: Buffer.from(`e${index}t${term}`) });
  }
  return out;
}

function ready(fields: Partial<Ready>): Ready {
  return {
    softState: null,
    hardState: null,
    entries: [],
    snapshot: null,
    committed: [],
    messages: [],
    confState: null,
    mustSync: true,
    ...fields,
  };
}

const CONF = { voters: [{ id: 1, address: 'a:1' }], observers: [{ id: 2, address: 'b:2' }] };
const BOOTSTRAP = {
  voters: [
    { id: 1, address: 'a:1' },
    { id: 2, address: 'b:2' },
  ],
  observers: [],
};

function snapshot(index: number, term: number): Snapshot {
  return { meta: { index, term, confState: CONF }, data: Buffer.from(`state@${index}`) };
}

/** Entries as comparable [index, term, data] triples. */
function shape(list: readonly Entry[]): [number, number, string][] {
  return list.map((e) => [e.index, e.term, Buffer.from(e.data).toString()]);
}

/** Counts written batches (the store uses chained batches), their sizes and sync flags. */
function countBatches(db: Db): { sync: boolean; ops: number }[] {
  const calls: { sync: boolean; ops: number }[] = [];
  const original = db.batch.bind(db) as () => ReturnType<Db['batch']>;
  (db as unknown as { batch: unknown }).batch = () => {
    const batch = original();
    const write = batch.write.bind(batch) as (options: { sync: boolean }) => Promise<void>;
    (batch as unknown as { write: unknown }).write = (options: { sync: boolean }) => {
      calls.push({ sync: options.sync, ops: batch.length });
      return write(options);
    };
    return batch;
  };
  return calls;
}

describe('RaftLogStore', () => {
  it('loads an empty store as term 0, no snapshot, no entries', async () => {
    const { restored } = await openStore(await tempDir());
    expect(restored).toEqual({
      hardState: { term: 0, vote: -1, commit: 0 },
      snapshot: null,
      entries: [],
      bootstrap: null,
    });
  });

  it('round-trips entries and hard state, one synced batch per Ready', async () => {
    const dir = await tempDir();
    const { db, store } = await openStore(dir);
    const calls = countBatches(db);
    const hardState: HardState = { term: 3, vote: 2, commit: 4 };
    await store.persist(ready({ hardState, entries: entries(1, 5, 3) }));
    await store.persist(ready({ hardState: { ...hardState, commit: 5 }, mustSync: false }));
    await store.persist(ready({}));
    expect(calls).toEqual([
      { sync: true, ops: 6 },
      { sync: false, ops: 1 },
    ]);
    const restored = await reopen(dir, db);
    expect(restored.hardState).toEqual({ term: 3, vote: 2, commit: 5 });
    expect(restored.snapshot).toBeNull();
    expect(shape(restored.entries)).toEqual(shape(entries(1, 5, 3)));
  });

  it('replaces a stored suffix from entries[0].index and deletes what lies beyond', async () => {
    const dir = await tempDir();
    const { db, store } = await openStore(dir);
    await store.persist(
      ready({ hardState: { term: 2, vote: 1, commit: 3 }, entries: entries(1, 10, 2) }),
    );
    await store.persist(
      ready({ hardState: { term: 4, vote: 2, commit: 3 }, entries: entries(6, 7, 4) }),
    );
    const restored = await reopen(dir, db);
    expect(shape(restored.entries)).toEqual(shape([...entries(1, 5, 2), ...entries(6, 7, 4)]));
    for (let index = 8; index <= 10; index++)
      expect(await restored.db.get(entryKey(index))).toBeUndefined();
  });

  it('installs a snapshot from the leader by dropping the whole stored log', async () => {
    const dir = await tempDir();
    const { db, store } = await openStore(dir);
    await store.persist(
      ready({ hardState: { term: 2, vote: 1, commit: 5 }, entries: entries(1, 10, 2) }),
    );
    await store.persist(
      ready({
        hardState: { term: 5, vote: 1, commit: 20 },
        snapshot: snapshot(20, 5),
        entries: entries(21, 22, 5),
      }),
    );
    const restored = await reopen(dir, db);
    expect(restored.snapshot?.meta).toEqual(snapshot(20, 5).meta);
    expect(Buffer.from(restored.snapshot!.data).toString()).toBe('state@20');
    expect(shape(restored.entries)).toEqual(shape(entries(21, 22, 5)));
    expect(restored.hardState.commit).toBe(20);
    let stale = 0;
    for await (const _ of restored.db.keys({
      gte: Buffer.from([0x03]),
      lt: Buffer.from([0x03, 0, 0, 0, 0, 0, 0, 0, 21]),
    })) {
      stale++;
    }
    expect(stale).toBe(0);
  });

  it('compacts with saveSnapshot: one synced batch, entries <= index deleted', async () => {
    const dir = await tempDir();
    const { db, store } = await openStore(dir);
    await store.persist(
      ready({ hardState: { term: 2, vote: 1, commit: 8 }, entries: entries(1, 10, 2) }),
    );
    const calls = countBatches(db);
    await store.saveSnapshot(snapshot(6, 2));
    expect(calls).toEqual([{ sync: true, ops: 2 + 6 }]);
    const restored = await reopen(dir, db);
    expect(restored.snapshot?.meta.index).toBe(6);
    expect(shape(restored.entries)).toEqual(shape(entries(7, 10, 2)));
    expect(restored.hardState.commit).toBe(8);
  });

  it('refuses a corrupt entry with KAFKA_STORAGE_ERROR', async () => {
    const dir = await tempDir();
    const { db, store } = await openStore(dir);
    await store.persist(
      ready({ hardState: { term: 1, vote: 1, commit: 0 }, entries: entries(1, 3, 1) }),
    );
    const value = (await db.get(entryKey(2)))!;
    value.writeUInt8(value.readUInt8(value.length - 1) ^ 0xff, value.length - 1);
    await db.put(entryKey(2), value, { sync: true });
    await db.close();
    const db2 = await openDb(dir);
    const error = await new RaftLogStore(db2).load().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('KAFKA_STORAGE_ERROR');
    expect((error as Error).message).toMatch(/CRC/);
  });

  it('stores the bootstrap membership in one synced write, before any state, and loads it back', async () => {
    const dir = await tempDir();
    const { db, store } = await openStore(dir);
    const calls = countBatches(db);
    await store.saveBootstrap(BOOTSTRAP);
    expect(calls).toEqual([{ sync: true, ops: 1 }]);
    await store.persist(
      ready({ hardState: { term: 1, vote: 1, commit: 2 }, entries: entries(1, 3, 1) }),
    );
    const restored = await reopen(dir, db);
    expect(restored.bootstrap).toEqual(BOOTSTRAP);
    expect(restored.hardState).toEqual({ term: 1, vote: 1, commit: 2 });
    expect(shape(restored.entries)).toEqual(shape(entries(1, 3, 1)));
  });

  it('keeps the bootstrap membership through a leader snapshot and a compaction', async () => {
    const dir = await tempDir();
    const { db, store } = await openStore(dir);
    await store.saveBootstrap(BOOTSTRAP);
    await store.persist(
      ready({ hardState: { term: 2, vote: 1, commit: 8 }, entries: entries(1, 10, 2) }),
    );
    await store.saveSnapshot(snapshot(6, 2));
    await store.persist(
      ready({ hardState: { term: 3, vote: 1, commit: 20 }, snapshot: snapshot(20, 3) }),
    );
    const restored = await reopen(dir, db);
    expect(restored.snapshot?.meta.index).toBe(20);
    // The snapshot's membership is what the core uses; the bootstrap stays as the log's start.
    expect(restored.bootstrap).toEqual(BOOTSTRAP);
  });

  it('records new addresses for the same voter ids', async () => {
    const dir = await tempDir();
    const { db, store } = await openStore(dir);
    await store.saveBootstrap(BOOTSTRAP);
    await store.persist(ready({ hardState: { term: 1, vote: 1, commit: 0 } }));
    const first = await reopen(dir, db);
    const moved = { voters: [{ id: 2, address: 'b:20' }, BOOTSTRAP.voters[0]!], observers: [] };
    const store2 = new RaftLogStore(first.db);
    await store2.load();
    await store2.saveBootstrap(moved);
    const second = await reopen(dir, first.db);
    expect(second.bootstrap).toEqual(moved);
    expect(second.hardState.term).toBe(1);
  });

  it('asserts that the bootstrap voter ids never change and that a bootstrap comes first', async () => {
    const dir = await tempDir();
    const { db, store } = await openStore(dir);
    await store.saveBootstrap(BOOTSTRAP);
    const other = { voters: [{ id: 1, address: 'a:1' }], observers: [] };
    await expect(store.saveBootstrap(other)).rejects.toThrow(AssertionError);
    // A store written without a bootstrap (before the key existed) never gets one afterwards.
    await db.del(BOOTSTRAP_KEY);
    await store.persist(
      ready({ hardState: { term: 1, vote: 1, commit: 0 }, entries: entries(1, 2, 1) }),
    );
    const legacy = await reopen(dir, db);
    expect(legacy.bootstrap).toBeNull();
    const store2 = new RaftLogStore(legacy.db);
    await store2.load();
    await expect(store2.saveBootstrap(BOOTSTRAP)).rejects.toThrow(/stored before any state/);
  });

  it('refuses a corrupt bootstrap membership with KAFKA_STORAGE_ERROR', async () => {
    const dir = await tempDir();
    const { db, store } = await openStore(dir);
    await store.saveBootstrap(BOOTSTRAP);
    const value = (await db.get(BOOTSTRAP_KEY))!;
    value.writeUInt8(value.readUInt8(value.length - 2) ^ 0x01, value.length - 2);
    await db.put(BOOTSTRAP_KEY, value, { sync: true });
    await db.close();
    const error = await new RaftLogStore(await openDb(dir)).load().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('KAFKA_STORAGE_ERROR');
    expect((error as Error).message).toMatch(/bootstrap membership fails its CRC/);
  });

  it('asserts against a gap in the Ready entries', async () => {
    const { store } = await openStore(await tempDir());
    await store.persist(
      ready({ hardState: { term: 1, vote: 1, commit: 0 }, entries: entries(1, 3, 1) }),
    );
    await expect(store.persist(ready({ entries: entries(5, 6, 1) }))).rejects.toThrow(/gap/);
  });
});

// ---- the SIGKILL test ------------------------------------------------------------------------

type Intent =
  | {
      n: number;
      kind: 'ready';
      hardState: HardState;
      snapshot: { index: number; term: number } | null;
      entries: [number, number][];
    }
  | { n: number; kind: 'compact'; index: number; term: number };

interface Model {
  hardState: HardState;
  snapshot: { index: number; term: number } | null;
  /** index -> term, contiguous after the snapshot. */
  entries: Map<number, number>;
}

function applyIntent(model: Model, intent: Intent): Model {
  const next: Model = {
    hardState: model.hardState,
    snapshot: model.snapshot,
    entries: new Map(model.entries),
  };
  if (intent.kind === 'compact') {
    next.snapshot = { index: intent.index, term: intent.term };
    for (const index of [...next.entries.keys()])
      if (index <= intent.index) next.entries.delete(index);
    return next;
  }
  if (intent.snapshot !== null) {
    next.snapshot = intent.snapshot;
    next.entries.clear();
  }
  const first = intent.entries[0];
  if (first !== undefined) {
    for (const index of [...next.entries.keys()]) if (index >= first[0]) next.entries.delete(index);
    for (const [index, term] of intent.entries) next.entries.set(index, term);
  }
  next.hardState = intent.hardState;
  return next;
}

function modelOf(restored: RestoredState): Model {
  const meta = restored.snapshot?.meta;
  return {
    hardState: restored.hardState,
    snapshot: meta === undefined ? null : { index: meta.index, term: meta.term },
    entries: new Map(restored.entries.map((e) => [e.index, e.term])),
  };
}

function sameModel(a: Model, b: Model): boolean {
  return (
    JSON.stringify({ ...a, entries: [...a.entries] }) ===
    JSON.stringify({ ...b, entries: [...b.entries] })
  );
}

/** The data the child writes for an entry (see store-child.mjs). */
function childEntryData(index: number, term: number): string {
  return `entry ${index} of term ${term}`.padEnd(20 + (index % 200), '.');
}

interface ChildRun {
  intents: Map<number, Intent>;
  acked: number;
  exit: Promise<void>;
  pid: number;
}

function startChild(dir: string, onAck: (acked: number) => void): ChildRun {
  const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: ChildRun = { intents: new Map(), acked: 0, exit: Promise.resolve(), pid: child.pid! };
  liveChildren.add(run.pid);
  let stderr = '';
  let pending = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('intent ')) {
        const intent = JSON.parse(line.slice(7)) as Intent;
        run.intents.set(intent.n, intent);
      } else if (line.startsWith('ack ')) {
        run.acked = Number(line.slice(4));
        onAck(run.acked);
      }
    }
  });
  run.exit = new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      liveChildren.delete(run.pid);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child exited with ${code ?? signal}: ${stderr}`));
    });
  });
  return run;
}

describe('RaftLogStore under SIGKILL', () => {
  it('keeps every acknowledged write and never a torn one, across kills at random moments', async () => {
    expect(existsSync(BUILT_STORE), `${BUILT_STORE} is missing; run npm run build`).toBe(true);
    const dir = await tempDir();
    let model: Model = {
      hardState: { term: 0, vote: -1, commit: 0 },
      snapshot: null,
      entries: new Map(),
    };
    const ROUNDS = 5;
    for (let round = 0; round < ROUNDS; round++) {
      const killAfterAcks = 20 + Math.floor(Math.random() * 200);
      let run: ChildRun | null = null;
      await new Promise<void>((resolve) => {
        run = startChild(dir, (acked) => {
          if (acked === killAfterAcks) resolve();
        });
      });
      const child = run! as ChildRun;
      // A random pause lands the kill anywhere: between writes, or in the middle of one.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
      process.kill(child.pid, 'SIGKILL');
      await child.exit;

      const acked = child.acked;
      let atAck = model;
      for (let n = 1; n <= acked; n++) atAck = applyIntent(atAck, child.intents.get(n)!);
      const next = child.intents.get(acked + 1);
      const afterNext = next === undefined ? null : applyIntent(atAck, next);

      const { db, restored } = await openStore(dir);
      const onDisk = modelOf(restored);
      const matches =
        sameModel(onDisk, atAck) || (afterNext !== null && sameModel(onDisk, afterNext));
      expect(matches, `round ${round}: disk does not match write ${acked} or ${acked + 1}`).toBe(
        true,
      );
      // The log is contiguous after the snapshot (load() asserts it too) and holds its bytes.
      let expected = (restored.snapshot?.meta.index ?? 0) + 1;
      for (const entry of restored.entries) {
        expect(entry.index).toBe(expected++);
        expect(Buffer.from(entry.data).toString()).toBe(childEntryData(entry.index, entry.term));
      }
      if (restored.snapshot !== null) {
        expect(Buffer.from(restored.snapshot.data).toString()).toBe(
          `snapshot ${restored.snapshot.meta.index}`,
        );
      }
      model = onDisk;
      await db.close();
    }
  });
});
