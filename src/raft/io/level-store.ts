/**
 * RaftLogStore: the durable half of the Raft module, on the node's one LevelDB. Raft owns key
 * spaces 0x03 (entries) and 0x04 (hard state, snapshot meta, snapshot data, bootstrap
 * membership); the byte layout is in store-codec.ts:
 *
 *   [0x03][index u64 BE]   one log entry per key, so LevelDB's order is log order
 *   [0x04][0x01]           hard state (term, vote, commit)
 *   [0x04][0x02]           snapshot meta (index, term, conf state, data length and CRC)
 *   [0x04][0x03]           snapshot data
 *   [0x04][0x04]           bootstrap membership (the conf state the log starts from: voter ids
 *                          and addresses), CRC-checked; written synced by saveBootstrap() on the
 *                          first start of an empty store, before any other Raft key
 *
 * The bootstrap membership is what makes a restart safe: the core starts from it whenever the
 * log holds no snapshot and no conf-change entry, so it must be the membership of the first
 * start, not whatever the latest configuration says (a voter of three restarted as a quorum of
 * one would elect itself and commit alone). The driver checks the configured voters against it
 * (bootstrap.ts); this store asserts the ids never change once written.
 *
 * Atomicity is LevelDB's: each persist() and saveSnapshot() is ONE db.batch, so a crash at any
 * instant leaves either all of a Ready's snapshot, truncation, entries and hard state or none of
 * them, and the log is always contiguous after the snapshot. Options are passed explicitly:
 * `sync: rd.mustSync` (LevelDB's default is no sync; an unsynced vote or append could be
 * forgotten after a power loss while its acknowledgement is already out, breaking Raft §5.2).
 *
 * The store keeps the bounds of what it holds (first and last entry index, snapshot index) in
 * memory, so truncation knows which keys to delete without reading. It serves no reads after
 * load(): the core keeps the log in memory (control plane, bounded by snapshots).
 *
 * A failed write leaves the store in an unknown state: the store refuses every later call, and
 * the driver must treat the error as fatal (STYLE.md §4: never carry on after a failed fsync).
 */
import type { ClassicLevel } from 'classic-level';
import { assert } from '../../util/assert.js';
import {
  EMPTY_HARD_STATE,
  type ConfState,
  type Entry,
  type HardState,
  type Ready,
  type RestoredState,
  type Snapshot,
} from '../types.js';
import {
  BOOTSTRAP_KEY,
  ENTRY_KEYS_END,
  ENTRY_KEYS_START,
  HARD_STATE_KEY,
  SNAPSHOT_DATA_KEY,
  SNAPSHOT_META_KEY,
  checkSnapshotData,
  decodeBootstrap,
  decodeEntry,
  decodeHardState,
  decodeSnapshotMeta,
  encodeBootstrap,
  encodeEntry,
  encodeHardState,
  encodeSnapshotMeta,
  entryKey,
  entryKeyIndex,
} from './store-codec.js';

type Op =
  | { readonly type: 'put'; readonly key: Buffer; readonly value: Buffer }
  | { readonly type: 'del'; readonly key: Buffer };

/** What load() finds: the core's RestoredState, plus the membership the store started from. */
export interface StoredState extends RestoredState {
  /**
   * The bootstrap membership (saveBootstrap()), or null in a store that never had one: a new,
   * empty store, or one written before the key existed.
   */
  readonly bootstrap: ConfState | null;
}

/** Counters for tests and metrics. */
export interface RaftLogStoreStats {
  writes: number;
  syncedWrites: number;
  entriesWritten: number;
  entriesDeleted: number;
  snapshotsWritten: number;
}

export class RaftLogStore {
  readonly stats: RaftLogStoreStats = {
    writes: 0,
    syncedWrites: 0,
    entriesWritten: 0,
    entriesDeleted: 0,
    snapshotsWritten: 0,
  };
  /** Index of the latest snapshot (0 before the first). */
  private snapshotIndex = 0;
  /** Index of the last stored entry; equals snapshotIndex when no entry is stored. */
  private lastIndex = 0;
  /** Whether the store holds no Raft state at all: no hard state, snapshot or entry. */
  private isEmpty = false;
  /** The stored bootstrap voter ids, sorted; null while none is stored. */
  private bootstrapVoterIds: string | null = null;
  private isLoaded = false;
  private isWriting = false;
  private failure: unknown = null;

  constructor(private readonly db: ClassicLevel<Buffer, Buffer>) {}

  /**
   * Everything the store holds, as last persisted. Call once, before any write. Throws
   * BrokerError KAFKA_STORAGE_ERROR when a value fails its checks, and asserts that the stored
   * log is contiguous after the snapshot and holds the committed index (a gap or a torn write
   * would be a broken invariant of this store, not an operating error).
   */
  async load(): Promise<StoredState> {
    assert(!this.isLoaded, 'raft store: load() twice');
    const bootstrapValue = await this.db.get(BOOTSTRAP_KEY);
    const bootstrap = bootstrapValue === undefined ? null : decodeBootstrap(bootstrapValue);
    const hardValue = await this.db.get(HARD_STATE_KEY);
    const hardState = hardValue === undefined ? EMPTY_HARD_STATE : decodeHardState(hardValue);
    const snapshot = await this.loadSnapshot();
    const snapshotIndex = snapshot?.meta.index ?? 0;
    const entries: Entry[] = [];
    const range = { gte: ENTRY_KEYS_START, lt: ENTRY_KEYS_END, keys: true, values: true };
    for await (const [key, value] of this.db.iterator(range)) {
      const expected = snapshotIndex + 1 + entries.length;
      const index = entryKeyIndex(key);
      assert(index === expected, `raft store: entry ${index} found where ${expected} belongs`);
      const entry = decodeEntry(value, index);
      const previousTerm = entries.at(-1)?.term ?? snapshot?.meta.term ?? 0;
      assert(entry.term >= previousTerm, `raft store: entry ${index} has a lower term than before`);
      entries.push(entry);
    }
    this.snapshotIndex = snapshotIndex;
    this.lastIndex = snapshotIndex + entries.length;
    assert(
      hardState.commit <= this.lastIndex,
      `raft store: commit ${hardState.commit} is past the last stored index ${this.lastIndex}`,
    );
    // The same test as bootstrap.ts's: a stored hard state equal to the empty one is no state.
    this.isEmpty =
      snapshot === null &&
      entries.length === 0 &&
      hardState.term === EMPTY_HARD_STATE.term &&
      hardState.vote === EMPTY_HARD_STATE.vote &&
      hardState.commit === EMPTY_HARD_STATE.commit;
    this.bootstrapVoterIds = bootstrap === null ? null : voterIds(bootstrap);
    this.isLoaded = true;
    return { hardState, snapshot, entries, bootstrap };
  }

  /**
   * Stores the bootstrap membership in one synced write: on the first start of an empty store
   * (before any other write), or later to record new addresses of the same voters. Synced,
   * because the first Ready's vote or entries must never be durable without it: a store holding
   * Raft state but no bootstrap is refused at the next start.
   */
  async saveBootstrap(conf: ConfState): Promise<void> {
    const ids = voterIds(conf);
    if (this.bootstrapVoterIds === null) {
      assert(this.isEmpty, 'raft store: a bootstrap membership is stored before any state');
    } else {
      assert(ids === this.bootstrapVoterIds, 'raft store: the bootstrap voter ids never change');
    }
    this.beginWrite();
    await this.write([{ type: 'put', key: BOOTSTRAP_KEY, value: encodeBootstrap(conf) }], true);
    this.bootstrapVoterIds = ids;
  }

  /**
   * Makes a Ready's storage work durable in ONE batch, in the Ready contract's order: the
   * snapshot (which replaces the whole stored log), then the entries (a stored suffix from
   * entries[0].index on is replaced), then the hard state; fsynced when rd.mustSync.
   */
  async persist(rd: Ready): Promise<void> {
    this.beginWrite();
    const ops: Op[] = [];
    let snapshotIndex = this.snapshotIndex;
    let lastIndex = this.lastIndex;
    if (rd.snapshot !== null) {
      const { index } = rd.snapshot.meta;
      assert(index > this.snapshotIndex, `raft store: snapshot ${index} is not newer`);
      this.pushSnapshot(ops, rd.snapshot);
      this.pushDeletes(ops, this.snapshotIndex + 1, this.lastIndex);
      snapshotIndex = index;
      lastIndex = index;
    }
    if (rd.entries.length > 0)
      lastIndex = this.pushEntries(ops, rd.entries, snapshotIndex, lastIndex);
    if (rd.hardState !== null) this.pushHardState(ops, rd.hardState, lastIndex);
    if (ops.length > 0) {
      await this.write(ops, rd.mustSync);
      this.isEmpty = false;
    } else {
      this.isWriting = false;
    }
    this.snapshotIndex = snapshotIndex;
    this.lastIndex = lastIndex;
  }

  /**
   * Compaction: stores a snapshot this node took and deletes the entries it covers, in one
   * synced batch. The snapshot must cover only entries this store holds (index <= last index).
   */
  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.beginWrite();
    const { index } = snapshot.meta;
    assert(index > this.snapshotIndex, `raft store: snapshot ${index} is not newer`);
    assert(index <= this.lastIndex, `raft store: snapshot ${index} is past the log end`);
    const ops: Op[] = [];
    this.pushSnapshot(ops, snapshot);
    this.pushDeletes(ops, this.snapshotIndex + 1, index);
    // Synced: the deletes drop entries that exist nowhere else on this node but in the snapshot.
    await this.write(ops, true);
    this.isEmpty = false;
    this.snapshotIndex = index;
  }

  /** Stored bounds, for tests and status. */
  bounds(): { snapshotIndex: number; lastIndex: number } {
    return { snapshotIndex: this.snapshotIndex, lastIndex: this.lastIndex };
  }

  private async loadSnapshot(): Promise<Snapshot | null> {
    const metaValue = await this.db.get(SNAPSHOT_META_KEY);
    if (metaValue === undefined) return null;
    const stored = decodeSnapshotMeta(metaValue);
    const data = (await this.db.get(SNAPSHOT_DATA_KEY)) ?? Buffer.alloc(0);
    checkSnapshotData(stored, data);
    return { meta: stored.meta, data };
  }

  private beginWrite(): void {
    assert(this.isLoaded, 'raft store: write before load()');
    assert(!this.isWriting, 'raft store: two writes in flight');
    if (this.failure !== null) throw this.failure;
    this.isWriting = true;
  }

  private pushSnapshot(ops: Op[], snapshot: Snapshot): void {
    const data = Buffer.from(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.length);
    ops.push({
      type: 'put',
      key: SNAPSHOT_META_KEY,
      value: encodeSnapshotMeta(snapshot.meta, data),
    });
    ops.push({ type: 'put', key: SNAPSHOT_DATA_KEY, value: data });
  }

  /** Deletes entry keys [from, to]; the store knows exactly which exist, so no read is needed. */
  private pushDeletes(ops: Op[], from: number, to: number): void {
    for (let index = from; index <= to; index++) ops.push({ type: 'del', key: entryKey(index) });
  }

  /** Appends after truncating the stored suffix from entries[0].index; returns the new end. */
  private pushEntries(
    ops: Op[],
    entries: readonly Entry[],
    snapshotIndex: number,
    lastIndex: number,
  ): number {
    const first = entries[0]!.index;
    assert(first > snapshotIndex, `raft store: entry ${first} is covered by the snapshot`);
    assert(first <= lastIndex + 1, `raft store: entry ${first} leaves a gap after ${lastIndex}`);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      assert(entry.index === first + i, 'raft store: the entries of a Ready are contiguous');
      ops.push({ type: 'put', key: entryKey(entry.index), value: encodeEntry(entry) });
    }
    const end = first + entries.length - 1;
    // Puts overwrite indexes up to `end`; a longer stored suffix is a conflict Raft dropped.
    this.pushDeletes(ops, end + 1, lastIndex);
    return end;
  }

  private pushHardState(ops: Op[], hardState: HardState, lastIndex: number): void {
    assert(hardState.commit <= lastIndex, 'raft store: commit is past the entries it persists');
    ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeHardState(hardState) });
  }

  private async write(ops: Op[], sync: boolean): Promise<void> {
    try {
      // A chained batch: classic-level's array form spends ~15 µs of JavaScript per operation,
      // which capped small-entry throughput at a third of LevelDB's own rate (see
      // docs/benchmarks.md, Raft). Options are explicit: LevelDB's default is sync: false.
      const batch = this.db.batch();
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
      }
      await batch.write({ sync });
    } catch (error) {
      this.failure = error;
      throw error;
    } finally {
      this.isWriting = false;
    }
    this.stats.writes++;
    if (sync) this.stats.syncedWrites++;
    for (const op of ops) {
      if (op.key[0] !== ENTRY_KEYS_START[0]) continue;
      if (op.type === 'put') this.stats.entriesWritten++;
      else this.stats.entriesDeleted++;
    }
    if (ops.some((op) => op.key.equals(SNAPSHOT_META_KEY))) this.stats.snapshotsWritten++;
  }
}

/** The voter ids of `conf`, sorted, as one comparable string. */
function voterIds(conf: ConfState): string {
  return conf.voters
    .map((v) => v.id)
    .sort((a, b) => a - b)
    .join(',');
}
