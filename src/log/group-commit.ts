/**
 * Group commit: every partition's writes share one queue, and at most one LevelDB write is in
 * flight. While it runs, new work waits; when it completes, everything that queued goes into ONE
 * `db.batch(ops, { sync })`. So N produces arriving together cost one write and, with
 * fsync=always, one fsync (STYLE.md §1.3: handlers enqueue, a driver drains in batches).
 *
 * Fsync policies:
 * - 'always' (default): every write is synced; an acknowledged append survives power loss.
 * - 'interval': writes are not synced; a timer every fsyncIntervalMs writes a marker key with
 *   sync, which makes LevelDB's WAL durable up to there. Acks do not wait for it, so a power
 *   loss can drop acknowledged appends from the last interval (a process crash cannot: the OS
 *   holds the WAL).
 * - 'never': no sync at all; survives a process crash, not a power loss.
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
  writes: number;
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
  private waiters: CommitWaiter[] = [];
  private readonly dirty = new Set<StateSource>();
  private queuedAppends = 0;
  private queuedBytes = 0;
  private readonly admissions: Admission[] = [];
  private isWriting = false;
  private isScheduled = false;
  private isClosed = false;
  private syncRequested = false;
  private hasUnsyncedWrites = false;
  private syncMarkerCount = 0;
  private failure: Error | null = null;
  private idleWaiters: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout | null;

  constructor(
    private readonly writer: BatchWriter,
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

  /** Adds an op to the next write. Call in the same synchronous run as `onNextWrite`. */
  push(op: LogWriteOp): void {
    this.ops.push(op);
  }

  /** Puts `source.stateOp()` at the end of the next write, after every op pushed before it. */
  markDirty(source: StateSource): void {
    this.dirty.add(source);
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
    if (this.hasUnsyncedWrites && this.failure === null) {
      this.syncRequested = true;
      this.schedule();
      await this.drain();
    }
    this.isClosed = true;
  }

  /** Timer tick for 'interval': the next write syncs; alone, it writes the marker key. */
  requestSync(): void {
    if (this.failure !== null || (!this.hasUnsyncedWrites && !this.isWriting)) return;
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
      assert(this.ops.length === 0, 'group commit: ops queued without a waiter');
      this.notifyIdle();
      return;
    }
    const ops = this.ops;
    const waiters = this.waiters;
    for (const source of this.dirty) ops.push(source.stateOp());
    const sync = this.options.fsync === 'always' || this.syncRequested;
    if (ops.length === 0) ops.push(this.syncMarkerOp());
    this.ops = [];
    this.waiters = [];
    this.dirty.clear();
    this.syncRequested = false;
    this.queuedAppends = 0;
    this.queuedBytes = 0;
    this.isWriting = true;
    // The queue is empty again: admit waiting appends into the next write while this one runs.
    this.admitWaiting();
    // Options are passed explicitly (STYLE.md §8): LevelDB's default is sync: false.
    this.writer.batch(ops, { sync }).then(
      () => this.completed(ops.length, waiters, sync),
      (error: unknown) => this.failed(error, waiters),
    );
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

  private completed(opCount: number, waiters: CommitWaiter[], sync: boolean): void {
    this.isWriting = false;
    this.stats.writes++;
    this.stats.opsWritten += opCount;
    if (sync) this.stats.syncedWrites++;
    this.hasUnsyncedWrites = !sync;
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
