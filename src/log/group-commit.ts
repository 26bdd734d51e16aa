/**
 * Group commit: every partition's writes share one queue, and at most one round of writes is in
 * flight. While it runs, new work waits; when it completes, everything that queued goes into ONE
 * round: one `batches.batch(ops, { sync })` of the batch store's ops, then one write of the index
 * store's ops (epoch and time-index entries, then one state record per dirty partition). So N
 * produces arriving together cost one batch-store write and, with fsync=always, one fsync
 * (STYLE.md §1.3: handlers enqueue, a driver drains in batches).
 *
 * Two stores, written in this order (README.md, "Two stores"): the batch store first, then the
 * index store, which therefore never counts a batch that is not stored. The index write is
 * synced only when the round asks for it (`syncNextWrite`, maintenance), on the 'interval' tick,
 * and under 'always' at most every INDEX_SYNC_INTERVAL_MS: an index that lags its batches after
 * a power loss is caught up by recovery, so it never holds up an ack. The two may be one LevelDB
 * (a data dir from before the split); the protocol is the same.
 *
 * Fsync policies (of the batch store's writes):
 * - 'always' (default): every write is synced; an acknowledged append survives power loss.
 * - 'interval': writes are not synced; a timer every fsyncIntervalMs makes the next round synced
 *   (with nothing queued, a marker key in each store that has unsynced writes), which makes
 *   LevelDB's WALs durable up to there. Acks do not wait for it, so a power loss can drop acknowledged appends
 *   from the last interval (a process crash cannot: the OS holds the WAL).
 * - 'never': no sync at all; survives a process crash, not a power loss.
 * Rounds that carry maintenance (truncation, deletion, compaction, a new partition) are synced
 * under every policy: each step must be on disk before the next one is written.
 *
 * Bounds: at most `appendsMax` appends and `bytesMax` bytes wait for the next write; an append
 * beyond that is admitted later, in FIFO order, when a write takes the queue (backpressure).
 * Maintenance ops (truncation, deletion) skip the admission count: each partition has at most
 * one such step queued, of at most limits.logMaintenanceBatchesMax keys.
 *
 * A failed write is fatal: local state after it is unknown, so the queue refuses all further
 * work and `onFatal` is called (the default exits the process). It never retries.
 */
import { BrokerError } from '../errors/index.js';
import { assert } from '../util/assert.js';
import { SYNC_MARKER_KEY } from './keys.js';

export type LogWriteOp =
  | { readonly type: 'put'; readonly key: Buffer; readonly value: Buffer }
  | { readonly type: 'del'; readonly key: Buffer };

/** The one LevelDB method the queue uses; a ClassicLevel<Buffer, Buffer> is one. */
export interface BatchWriter {
  batch(ops: LogWriteOp[], options: { sync: boolean }): Promise<void>;
}

/** Where the queue writes: batches in one store, everything that indexes them in the other. */
export interface LogWriters {
  readonly batches: BatchWriter;
  readonly index: BatchWriter;
}

/**
 * Under 'always', how often at most an index write is synced: after a power loss, recovery
 * re-reads and indexes the batches appended since the last synced index write, which is about
 * this long's worth of appends while traffic flows (and close() syncs the rest).
 */
export const INDEX_SYNC_INTERVAL_MS = 1_000;

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface Logger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Told when the write holding its ops completes or fails. Must not throw. */
export interface CommitWaiter {
  onDurable(): void;
  onFailed(error: Error): void;
}

/** An append waiting for room in the queue. `admit` must enqueue its ops synchronously. */
export interface Admission {
  readonly bytes: number;
  admit(): void;
  refuse(error: Error): void;
}

/** A partition whose state record goes at the end of the next write (once per write). */
export interface StateSource {
  stateOp(): LogWriteOp;
}

export interface GroupCommitOptions {
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  readonly appendsMax: number;
  readonly bytesMax: number;
  readonly logger: Logger;
  readonly onFatal: (error: Error) => void;
}

/** Counters for tests, metrics and benchmarks. */
export interface GroupCommitStats {
  /** LevelDB writes, to either store. */
  writes: number;
  /** Those of them that were synced. */
  syncedWrites: number;
  opsWritten: number;
  /** The most appends and bytes that ever waited for one write (must stay within the bounds). */
  queuedAppendsHigh: number;
  queuedBytesHigh: number;
}

export class GroupCommit {
  readonly stats: GroupCommitStats = {
    writes: 0,
    syncedWrites: 0,
    opsWritten: 0,
    queuedAppendsHigh: 0,
    queuedBytesHigh: 0,
  };
  private ops: LogWriteOp[] = [];
  private indexOps: LogWriteOp[] = [];
  private syncRound = false;
  private lastIndexSyncMs = 0;
  private waiters: CommitWaiter[] = [];
  private readonly dirty = new Set<StateSource>();
  private queuedAppends = 0;
  private queuedBytes = 0;
  private readonly admissions: Admission[] = [];
  private isWriting = false;
  private isScheduled = false;
  private isClosed = false;
  private syncRequested = false;
  /** Whether each store has writes that no synced write of it has made durable yet. */
  private readonly unsynced = { batches: false, index: false };
  private syncMarkerCount = 0;
  private failure: Error | null = null;
  private idleWaiters: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout | null;

  constructor(
    private readonly writers: LogWriters,
    private readonly options: GroupCommitOptions,
  ) {
    assert(options.appendsMax >= 1, 'group commit: appendsMax >= 1');
    assert(options.bytesMax >= 1, 'group commit: bytesMax >= 1');
    this.timer = null;
    if (options.fsync === 'interval') {
      assert(options.fsyncIntervalMs >= 1, 'group commit: fsyncIntervalMs >= 1');
      this.timer = setInterval(() => this.requestSync(), options.fsyncIntervalMs);
      // The marker only bounds the loss window; it must not keep the process alive.
      this.timer.unref();
    }
  }

  /**
   * Admits an append: calls `admission.admit()` now when the queue has room and nobody is
   * waiting before it, else later in FIFO order. After a write failure it refuses instead.
   */
  admit(admission: Admission): void {
    assert(!this.isClosed, 'group commit: admit after close');
    assert(admission.bytes <= this.options.bytesMax, 'group commit: one append exceeds bytesMax');
    if (this.failure !== null) {
      admission.refuse(storageError(this.failure));
      return;
    }
    if (this.admissions.length === 0 && this.hasRoom(admission.bytes)) {
      this.reserve(admission.bytes);
      admission.admit();
      return;
    }
    this.admissions.push(admission);
  }

  /**
   * Adds a batch-store op (a batch put or delete) to the next round. Call in the same
   * synchronous run as `onNextWrite`.
   */
  pushBatch(op: LogWriteOp): void {
    this.ops.push(op);
  }

  /** Adds an index-store op (epoch, time-index entry) to the next round's index write. */
  pushIndex(op: LogWriteOp): void {
    this.indexOps.push(op);
  }

  /** Puts `source.stateOp()` at the end of the next round's index write. */
  markDirty(source: StateSource): void {
    this.dirty.add(source);
  }

  /**
   * The next round syncs both its writes, whatever the policy (maintenance steps). Call it with
   * the `onNextWrite` of that step, in the same synchronous run.
   */
  syncNextWrite(): void {
    this.syncRound = true;
  }

  /** `waiter` hears about the next write, which holds every op pushed so far. */
  onNextWrite(waiter: CommitWaiter): void {
    if (this.failure !== null) {
      waiter.onFailed(storageError(this.failure));
      return;
    }
    this.waiters.push(waiter);
    this.schedule();
  }

  /** Resolves when nothing is queued or in flight. */
  drain(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops the fsync timer, waits for queued writes, and syncs once more if anything written
   * since the last sync is not durable yet, so a clean shutdown loses nothing under any policy.
   */
  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    await this.drain();
    if (this.hasUnsyncedWrites() && this.failure === null) {
      this.syncRequested = true;
      this.schedule();
      await this.drain();
    }
    this.isClosed = true;
  }

  /** Timer tick for 'interval': the next write syncs; alone, it writes the marker key. */
  requestSync(): void {
    if (this.failure !== null || (!this.hasUnsyncedWrites() && !this.isWriting)) return;
    this.syncRequested = true;
    this.schedule();
  }

  private hasRoom(bytes: number): boolean {
    if (this.queuedAppends >= this.options.appendsMax) return false;
    // An empty queue takes any single append, so one large batch can never starve.
    return this.queuedAppends === 0 || this.queuedBytes + bytes <= this.options.bytesMax;
  }

  private reserve(bytes: number): void {
    this.queuedAppends++;
    this.queuedBytes += bytes;
    if (this.queuedAppends > this.stats.queuedAppendsHigh) {
      this.stats.queuedAppendsHigh = this.queuedAppends;
    }
    if (this.queuedBytes > this.stats.queuedBytesHigh) {
      this.stats.queuedBytesHigh = this.queuedBytes;
    }
  }

  private isIdle(): boolean {
    return (
      !this.isWriting &&
      !this.isScheduled &&
      this.waiters.length === 0 &&
      this.admissions.length === 0 &&
      !this.syncRequested
    );
  }

  // The write starts from setImmediate, not inline: every append made by the callbacks of one
  // event-loop turn (many sockets' produce requests) then joins the same write.
  private schedule(): void {
    if (this.isScheduled || this.isWriting || this.failure !== null) return;
    this.isScheduled = true;
    setImmediate(() => this.write());
  }

  private write(): void {
    this.isScheduled = false;
    assert(!this.isWriting, 'group commit: two writes in flight');
    if (this.failure !== null) return;
    if (this.waiters.length === 0 && this.dirty.size === 0 && !this.syncRequested) {
      assert(
        this.ops.length === 0 && this.indexOps.length === 0,
        'group commit: ops queued without a waiter',
      );
      this.notifyIdle();
      return;
    }
    const ops = this.ops;
    const indexOps = this.indexOps;
    const waiters = this.waiters;
    // State records are taken now, before waiting appends are admitted below: each then counts
    // exactly the batches of this round and the rounds before it.
    for (const source of this.dirty) indexOps.push(source.stateOp());
    const syncAll = this.syncRound || this.syncRequested;
    const syncBatches = this.options.fsync === 'always' || syncAll;
    const now = Date.now();
    const syncIndex =
      syncAll ||
      (this.options.fsync === 'always' && now - this.lastIndexSyncMs >= INDEX_SYNC_INTERVAL_MS);
    if (ops.length === 0 && indexOps.length === 0) {
      // Nothing queued (a sync on the 'interval' tick or at close, or a bare waiter): a marker
      // key syncs each store that has unsynced writes.
      if (this.unsynced.batches || !this.unsynced.index) ops.push(this.syncMarkerOp());
      if (this.unsynced.index) indexOps.push(this.syncMarkerOp());
    }
    if (syncIndex && indexOps.length > 0) this.lastIndexSyncMs = now;
    this.ops = [];
    this.indexOps = [];
    this.waiters = [];
    this.dirty.clear();
    this.syncRequested = false;
    this.syncRound = false;
    this.queuedAppends = 0;
    this.queuedBytes = 0;
    this.isWriting = true;
    // The queue is empty again: admit waiting appends into the next write while this one runs.
    this.admitWaiting();
    this.writeRound(ops, syncBatches, indexOps, syncIndex).then(
      () => {
        if (ops.length > 0) this.unsynced.batches = !syncBatches;
        if (indexOps.length > 0) this.unsynced.index = !syncIndex;
        this.completed(waiters);
      },
      (error: unknown) => this.failed(error, waiters),
    );
  }

  /** The batch store's write, then the index store's: never the other way round. */
  private async writeRound(
    ops: LogWriteOp[],
    syncBatches: boolean,
    indexOps: LogWriteOp[],
    syncIndex: boolean,
  ): Promise<void> {
    // Options are passed explicitly (STYLE.md §8): LevelDB's default is sync: false.
    if (ops.length > 0) {
      await this.writers.batches.batch(ops, { sync: syncBatches });
      this.counted(ops.length, syncBatches);
    }
    if (indexOps.length > 0) {
      await this.writers.index.batch(indexOps, { sync: syncIndex });
      this.counted(indexOps.length, syncIndex);
    }
  }

  private counted(opCount: number, sync: boolean): void {
    this.stats.writes++;
    this.stats.opsWritten += opCount;
    if (sync) this.stats.syncedWrites++;
  }

  private admitWaiting(): void {
    let admitted = 0;
    while (admitted < this.admissions.length) {
      const next = this.admissions[admitted]!;
      if (!this.hasRoom(next.bytes)) break;
      this.reserve(next.bytes);
      admitted++;
      next.admit();
    }
    this.admissions.splice(0, admitted);
  }

  private hasUnsyncedWrites(): boolean {
    return this.unsynced.batches || this.unsynced.index;
  }

  private completed(waiters: CommitWaiter[]): void {
    this.isWriting = false;
    for (let i = 0; i < waiters.length; i++) waiters[i]!.onDurable();
    if (this.waiters.length > 0 || this.dirty.size > 0 || this.syncRequested) this.schedule();
    else this.notifyIdle();
  }

  private failed(error: unknown, waiters: CommitWaiter[]): void {
    this.isWriting = false;
    const cause = error instanceof Error ? error : new Error(String(error));
    this.failure = cause;
    this.options.logger.error(
      { err: cause, waiters: waiters.length },
      'LevelDB write failed; the log cannot continue',
    );
    const refusal = storageError(cause);
    for (const waiter of waiters) waiter.onFailed(refusal);
    for (const waiter of this.waiters) waiter.onFailed(refusal);
    for (const admission of this.admissions) admission.refuse(refusal);
    this.waiters = [];
    this.ops = [];
    this.indexOps = [];
    this.admissions.length = 0;
    this.notifyIdle();
    this.options.onFatal(cause);
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const idleWaiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of idleWaiters) resolve();
  }

  private syncMarkerOp(): LogWriteOp {
    this.syncMarkerCount++;
    const value = Buffer.alloc(8);
    value.writeUInt32BE(this.syncMarkerCount >>> 0, 4);
    return { type: 'put', key: SYNC_MARKER_KEY, value };
  }
}

function storageError(cause: Error): BrokerError {
  return new BrokerError(
    'KAFKA_STORAGE_ERROR',
    `the partition log could not be written: ${cause.message}`,
    null,
    { cause },
  );
}
