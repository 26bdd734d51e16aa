/**
 * One partition's log: record batches in LevelDB keyed by base offset, plus its state, leader-
 * epoch cache and time index (keys.ts). Offsets are assigned here, synchronously, so appends
 * made in one tick keep their order; a follower's batches (appendReplicated) come stamped by
 * their leader and are checked, not restamped. Durability comes from the shared GroupCommit.
 *
 * Offsets, all in memory, with logStartOffset <= highWatermark <= durableEndOffset <=
 * logEndOffset:
 * - logEndOffset: the next offset to assign; includes appends still waiting for their write.
 * - durableEndOffset: the end of the last completed write that held this partition's appends.
 * - highWatermark: what reads return by default. On one node it follows durableEndOffset; the
 *   replication layer turns that off and sets it itself.
 *
 * Batches may be sparse or empty once compaction (rewriteRange, cleaner.ts) has thinned them, but
 * the stored batches always cover every offset of the log exactly once. The first may start
 * before the log start: deleteBefore keeps the batch holding the new start, and a follower
 * whose log is empty at that start takes the leader's batch as it is (appendReplicated).
 */
import type { ClassicLevel } from 'classic-level';
import {
  BATCH,
  BATCH_HEADER_BYTES,
  RecordBatch,
  TimestampType,
  checkBatchHeader,
  decodeRecords,
  encodeEmptyBatch,
  stampBatch,
} from '../codec/index.js';
import { limits } from '../config/limits.js';
import { BrokerError } from '../errors/index.js';
import { assert } from '../util/assert.js';
import { LeaderEpochCache, type EpochEndOffset } from './epoch-cache.js';
import type { CommitWaiter, GroupCommit, LogWriteOp, Logger, StateSource } from './group-commit.js';
import { recoverPartition, storedBatchProblem } from './recovery.js';
import { TailCache, type TailCacheBudget } from './tail-cache.js';
import {
  PartitionKeys,
  batchKeyOffset,
  decodeOffset,
  encodeOffset,
  encodeState,
  timeKeyTimestamp,
  type KeyRange,
  type PartitionState,
} from './keys.js';

/** What a PartitionLog needs from its LogManager. */
export interface LogContext {
  /** The batch store: 0x10 batch keys only (README.md, "Two stores"). */
  readonly batchDb: ClassicLevel<Buffer, Buffer>;
  /** The index store: state, epoch and time-index keys (the node's main LevelDB). */
  readonly indexDb: ClassicLevel<Buffer, Buffer>;
  readonly commit: GroupCommit;
  readonly logger: Logger;
  /**
   * Reports an environment fault (a stored batch failing its check, unreadable state): calls the
   * fatal handler once and returns the error to throw to the caller.
   */
  fault(error: Error, details: object): BrokerError;
  /** The node's memory bound for every partition's in-memory tail. */
  readonly tailBudget: TailCacheBudget;
}

export interface AppendResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly logStartOffset: number;
}

export interface ReadOptions {
  /** Return no batch that ends at or past this offset; default the high watermark. */
  readonly maxOffset?: number;
}

export interface ReadResult {
  /**
   * Whole batches in offset order. They may be shared with the log's in-memory tail: read them,
   * never modify them.
   */
  readonly batches: Buffer[];
  readonly bytes: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
}

export interface TimestampOffset {
  readonly offset: number;
  readonly timestampMs: number;
  readonly leaderEpoch: number;
}

/** A batch header's placement, for retention and maintenance. */
export interface BatchSummary {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly byteLength: number;
}

/** Bounds of one rewriteRange step. */
export interface RewriteOptions {
  /** At most this many batches, 1 to limits.logMaintenanceBatchesMax. */
  readonly batchesMax: number;
  /** About this many bytes of input batches (always one batch when any is left). */
  readonly bytesMax: number;
  /**
   * The truncationCount the caller's plan was made at: the step does nothing when a truncation
   * or reset has run since (the offsets it planned for may hold other records now).
   */
  readonly truncationCount: number;
}

/**
 * Maps a contiguous run of stored batches to the batches that replace it, covering exactly the
 * same offsets with the same leader epochs (it may return input buffers unchanged). It must not
 * modify its input.
 */
export type RewriteTransform = (batches: readonly Buffer[]) => Promise<readonly Buffer[]>;

/** What one rewriteRange step did. */
export interface RewriteResult {
  /** The run rewritten, [firstOffset, endOffset): whole batches. */
  readonly firstOffset: number;
  readonly endOffset: number;
  readonly batchesBefore: number;
  readonly bytesBefore: number;
  /** The batches now stored for the run, in offset order; read them, never modify them. */
  readonly batchesAfter: readonly Buffer[];
  readonly bytesAfter: number;
  /** Whether anything was written (false when the transform changed nothing). */
  readonly isChanged: boolean;
}

/** What recovery found in LevelDB, or the empty state of a new partition. */
export interface RecoveredState {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly sizeBytes: number;
  readonly epochs: LeaderEpochCache;
  /** The largest batch maxTimestamp seen so far, -Infinity when none. */
  readonly maxTimestampSoFar: number;
  readonly highWatermarkFollowsDurableEnd: boolean;
}

type HighWatermarkListener = (highWatermark: number) => void;

/** An explicit LevelDB snapshot: reads given it see one version of the store. */
type LevelSnapshot = ReturnType<ClassicLevel<Buffer, Buffer>['snapshot']>;

const MAINTENANCE_BATCHES = limits.logMaintenanceBatchesMax;

/** The settle functions of every batch of an appendReplicated call but the last. */
function ignoreResult(): void {}

/**
 * One batch from admission to durability: one object per batch, none per record. A leader's
 * batch (append) is stamped at admission; a replicated one (appendReplicated) arrives stamped
 * and is stored as it is. A replicated call's promise is settled by its last batch alone: every
 * failure is terminal (a failed write poisons the queue, a deletion is for good), so when any
 * batch of the call fails the last one fails too, and when the last is durable all are.
 */
class PendingAppend implements CommitWaiter {
  baseOffset = -1;
  nextOffset = -1;

  constructor(
    readonly log: PartitionLog,
    readonly batch: Buffer,
    readonly leaderEpoch: number,
    readonly logAppendTimeMs: number | null,
    /** True for a batch a leader stamped (appendReplicated): never restamped. */
    readonly isStamped: boolean,
    /** The baseOffset the call resolves with: the call's first batch when stamped, else -1. */
    readonly firstOffset: number,
    readonly resolve: (result: AppendResult) => void,
    readonly reject: (error: Error) => void,
  ) {}

  get bytes(): number {
    return this.batch.length;
  }

  admit(): void {
    this.log.admitAppend(this);
  }

  refuse(error: Error): void {
    this.log.appendFailed(this, error, false);
  }

  onDurable(): void {
    this.log.appendDurable(this);
  }

  onFailed(error: Error): void {
    this.log.appendFailed(this, error, true);
  }
}

export class PartitionLog implements StateSource {
  readonly topicId: string;
  readonly partition: number;
  private readonly keys: PartitionKeys;
  private startOffset: number;
  private endOffset: number;
  /**
   * The log end offset and the latest leader epoch once every append waiting for room in the
   * commit queue is admitted; equal to endOffset and epochs.latestEpoch() when none waits. The
   * calls check against these, so an append checked now still fits when its turn comes.
   */
  private queuedEnd: number;
  private queuedEpoch: number;
  private durableEnd: number;
  private hw: number;
  private bytes: number;
  private readonly epochs: LeaderEpochCache;
  private maxTimestampSoFar: number;
  private followsDurableEnd: boolean;
  /** Appends admitted or waiting for admission, not yet durable. */
  private pendingAppends = 0;
  /** Commit waiters (appends and maintenance steps) not yet told. */
  private pendingCommits = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly listeners = new Set<HighWatermarkListener>();
  private isNotifyScheduled = false;
  private maintenance: Promise<unknown> = Promise.resolve();
  private isTruncating = false;
  /**
   * Bytes of stored batches that end before the log start, which a deletion step will remove:
   * part of `bytes`, not of the stored sizeBytes.
   */
  private headBytes = 0;
  /** The end a truncation cuts the log back to, until its last batch is gone; else null. */
  private truncateFrom: number | null = null;
  /** The run a compaction step is rewriting, until the rewrite is written; else null. */
  private rewriteIntent: { from: number; end: number; bytes: number } | null = null;
  private isDeleted = false;
  /** The newest durable batches, for reads that keep up (tail-cache.ts). */
  private readonly tail: TailCache;
  /**
   * Compaction progress, in memory only: batches ending before cleanedEnd count as clean, the
   * others as dirty, and `dirty` is the bytes of the dirty ones (every add and removal of a
   * stored batch applies the same test). A restart, truncation or reset makes everything dirty.
   */
  private cleanedEnd = 0;
  private dirty: number;
  private truncations = 0;

  constructor(
    private readonly context: LogContext,
    topicId: string,
    partition: number,
    recovered: RecoveredState,
  ) {
    this.topicId = topicId;
    this.partition = partition;
    this.keys = new PartitionKeys(topicId, partition);
    this.tail = new TailCache(context.tailBudget);
    assert(recovered.logStartOffset <= recovered.logEndOffset, 'recovered logStart <= logEnd');
    this.startOffset = recovered.logStartOffset;
    this.endOffset = recovered.logEndOffset;
    this.durableEnd = recovered.logEndOffset;
    this.followsDurableEnd = recovered.highWatermarkFollowsDurableEnd;
    // Without a checkpoint, a replica that does not own its HW starts at the log start and the
    // replication layer raises it.
    this.hw = this.followsDurableEnd ? this.durableEnd : this.startOffset;
    this.bytes = recovered.sizeBytes;
    this.dirty = recovered.sizeBytes;
    this.epochs = recovered.epochs;
    this.maxTimestampSoFar = recovered.maxTimestampSoFar;
    this.queuedEnd = this.endOffset;
    this.queuedEpoch = this.epochs.latestEpoch();
  }

  /** `topicId-partition`, for messages. */
  get name(): string {
    return `${this.topicId}-${this.partition}`;
  }

  get logStartOffset(): number {
    return this.startOffset;
  }

  /** The next offset to assign, including appends not yet durable. */
  get logEndOffset(): number {
    return this.endOffset;
  }

  /** The end of the last completed write of this partition's appends. */
  get durableEndOffset(): number {
    return this.durableEnd;
  }

  get highWatermark(): number {
    return this.hw;
  }

  /** Bytes of the batches stored for the partition, including appends not yet durable. */
  get sizeBytes(): number {
    return this.bytes;
  }

  /**
   * Bytes of the stored batches compaction has not cleaned since this log was opened (or last
   * truncated): those ending at or after cleanedEndOffset. At most sizeBytes.
   */
  get dirtyBytes(): number {
    return this.dirty;
  }

  /** Where the last compaction pass ended: batches before it are clean. 0 before the first. */
  get cleanedEndOffset(): number {
    return this.cleanedEnd;
  }

  /**
   * How many truncateTo and resetTo calls have started on this log object: when it changes, the
   * records at some offsets may have been replaced (compaction plans against it).
   */
  get truncationCount(): number {
    return this.truncations;
  }

  /**
   * Appends one batch the caller has validated (checkBatchHeader, limits). Synchronously, unless
   * the commit queue is full: assigns baseOffset = logEndOffset, stamps the batch in place (the
   * caller must not touch it afterwards), advances logEndOffset and queues the write. Resolves
   * once the write is done per the fsync policy; rejects with UNKNOWN_TOPIC_OR_PARTITION after
   * deletePartition and KAFKA_STORAGE_ERROR after a failed write.
   */
  append(
    batch: Buffer,
    leaderEpoch: number,
    logAppendTimeMs: number | null,
  ): Promise<AppendResult> {
    if (this.isDeleted) return Promise.reject(this.unknownPartition());
    assert(!this.isTruncating, `${this.name}: append during truncateTo or resetTo`);
    // Checked here too, before anything changes: a fenced leader must not append. Against the
    // queue's tail, since appends still waiting for admission come first.
    const latestEpoch = this.queuedEpoch;
    assert(
      leaderEpoch >= latestEpoch,
      `leader epoch ${leaderEpoch} is older than the latest ${latestEpoch}`,
    );
    let resolve!: (result: AppendResult) => void;
    let reject!: (error: Error) => void;
    const appended = new Promise<AppendResult>((onResolve, onReject) => {
      resolve = onResolve;
      reject = onReject;
    });
    // Admitted outside the promise executor, so an assertion in it throws instead of becoming
    // a rejection a caller might handle.
    const pending = new PendingAppend(
      this,
      batch,
      leaderEpoch,
      logAppendTimeMs,
      false,
      -1,
      resolve,
      reject,
    );
    this.queuedEnd += batch.readInt32BE(BATCH.LAST_OFFSET_DELTA) + 1;
    this.queuedEpoch = leaderEpoch;
    this.pendingAppends++;
    this.context.commit.admit(pending);
    return appended;
  }

  /**
   * Appends batches a leader already stamped (follower replication) and stores their bytes
   * exactly as received, never restamped. Each batch's baseOffset must equal the log end offset
   * at its turn: the first one logEndOffset (or, while earlier appends wait for room in the
   * commit queue, the end they will leave), each next one the previous one's lastOffset + 1.
   * Leader epochs must not decrease along the batches nor fall below latestEpoch(): a follower
   * never goes back in epoch without truncating first. Two exceptions to the base offset rule,
   * for a first batch that starts before the log end and reaches past it:
   * - While the log is empty at its start (after resetTo, say), the batch holding the log start
   *   is stored as it is, starting before the log start, which stays: the leader's log starts
   *   inside that batch too (deleteBefore keeps the batch holding the new start), and reads at
   *   the log start then return it, as on the leader. The log mirrors the leader's byte for
   *   byte.
   * - Otherwise an empty first batch (recordCount 0, left by the leader's compaction, which
   *   merges empty batches) is stored from the log end on, as an empty batch of its own.
   * `batches` holds 1 to
   * limits.logReadBatchesMax batches (what one read returns); the log keeps references to them,
   * so the caller must not change them afterwards.
   *
   * Every batch is checked before anything changes; a refused call changes nothing and rejects
   * with a BrokerError the follower's fetcher reacts to:
   * - CORRUPT_MESSAGE: a batch fails the read-side check (length, magic, CRC, header fields) or
   *   carries no leader epoch: the bytes were damaged on the way, so fetch the same offset again.
   * - RECORD_TOO_LARGE: a batch is above limits.batchBytesMax, which no leader stores.
   * - OFFSET_OUT_OF_RANGE: the batches do not continue this log (a base offset other than the
   *   log end, or a first batch not holding the start of an empty log, a gap between batches,
   *   or a leader epoch going backwards): the log and the
   *   leader's have diverged or the response is stale, so redo the leader-epoch handshake
   *   (endOffsetForEpoch on the leader, truncateTo here) and fetch from logEndOffset.
   * Goes through the commit queue like append (admission, backpressure, one LevelDB write with
   * the epoch-cache, time-index and state entries) and resolves once the last batch is durable,
   * with the first batch's baseOffset and the last one's lastOffset. Rejects like append after
   * deletePartition or a failed write. Asserts no truncateTo or resetTo is running.
   */
  appendReplicated(batches: readonly Buffer[]): Promise<AppendResult> {
    if (this.isDeleted) return Promise.reject(this.unknownPartition());
    assert(!this.isTruncating, `${this.name}: appendReplicated during truncateTo or resetTo`);
    assert(batches.length >= 1, `${this.name}: appendReplicated with no batch`);
    assert(batches.length <= limits.logReadBatchesMax, `${this.name}: too many batches at once`);
    const isEmptyAtStart = this.isEmptyAtStart();
    if (!isEmptyAtStart) batches = this.trimEmptyFirst(batches);
    const refusal = this.checkReplicated(batches, isEmptyAtStart);
    if (refusal !== null) return Promise.reject(refusal);
    let resolve!: (result: AppendResult) => void;
    let reject!: (error: Error) => void;
    const appended = new Promise<AppendResult>((onResolve, onReject) => {
      resolve = onResolve;
      reject = onReject;
    });
    const firstOffset = RecordBatch.of(batches[0]!).baseOffset;
    const last = batches.length - 1;
    const commit = this.context.commit;
    // One waiter per batch, as in append: each is admitted (and counted against the queue's
    // bounds) on its own, in order, so a long fetch response cannot overrun the queue.
    for (let i = 0; i <= last; i++) {
      const header = RecordBatch.of(batches[i]!);
      const pending = new PendingAppend(
        this,
        batches[i]!,
        header.leaderEpoch,
        null,
        true,
        firstOffset,
        i === last ? resolve : ignoreResult,
        i === last ? reject : ignoreResult,
      );
      this.queuedEnd = header.nextOffset;
      this.queuedEpoch = header.leaderEpoch;
      this.pendingAppends++;
      commit.admit(pending);
    }
    return appended;
  }

  /**
   * True when the log holds no batch at all and nothing waits to be appended: its end is its
   * start. Only then may a replicated first batch start before the log end (appendReplicated).
   * A batch still stored behind the log start (a deleteBefore midway) counts in sizeBytes, so
   * the batch taken can never share offsets or a key with one.
   */
  private isEmptyAtStart(): boolean {
    return this.queuedEnd === this.startOffset && this.bytes === 0;
  }

  /**
   * A leader whose compaction merged empty batches answers a fetch from our log end with the
   * merged batch holding that offset, which may start before it: our log keeps its own batch
   * boundaries below the end. The batch holds no record, so its part from our end on, as an
   * empty batch of its own (same epoch, timestamps and producer fields), continues our log
   * exactly. Any other first batch is returned as it is, for checkReplicated to judge.
   */
  private trimEmptyFirst(batches: readonly Buffer[]): readonly Buffer[] {
    const first = batches[0]!;
    const end = this.queuedEnd;
    // Cheap tests first: the usual batch has records and starts at the end.
    if (first.length < BATCH_HEADER_BYTES || first.readInt32BE(BATCH.RECORD_COUNT) !== 0) {
      return batches;
    }
    if (!checkBatchHeader(first).ok) return batches;
    const header = RecordBatch.of(first);
    if (header.baseOffset >= end || header.lastOffset < end || header.leaderEpoch < 0) {
      return batches;
    }
    const trimmed = encodeEmptyBatch({
      attributes: header.attributes,
      baseOffset: end,
      lastOffsetDelta: header.lastOffset - end,
      leaderEpoch: header.leaderEpoch,
      firstTimestamp: header.firstTimestamp,
      maxTimestamp: header.maxTimestamp,
      producerId: header.producerId,
      producerEpoch: header.producerEpoch,
      baseSequence: header.baseSequence,
    });
    return [trimmed, ...batches.slice(1)];
  }

  /**
   * Why `batches` cannot be appended as they are, or null. The same integrity check a stored
   * batch passes on read (checkStored), then the placement rules of appendReplicated:
   * `mayStartBefore` lets the first batch start before the log end if it holds it.
   */
  private checkReplicated(batches: readonly Buffer[], mayStartBefore: boolean): BrokerError | null {
    let expectedOffset = this.queuedEnd;
    let epochFloor = this.queuedEpoch;
    for (let i = 0; i < batches.length; i++) {
      const batch = batches[i]!;
      const check = checkBatchHeader(batch);
      const where = `${this.name}: replicated batch ${i} of ${batches.length}`;
      if (!check.ok) {
        return new BrokerError('CORRUPT_MESSAGE', `${where} is corrupt: ${check.reason}`);
      }
      if (batch.length > limits.batchBytesMax) {
        return new BrokerError(
          'RECORD_TOO_LARGE',
          `${where} is ${batch.length} bytes, above the limit of ${limits.batchBytesMax}`,
        );
      }
      const header = RecordBatch.of(batch);
      const epoch = header.leaderEpoch;
      if (epoch < 0) {
        return new BrokerError('CORRUPT_MESSAGE', `${where} has no leader epoch (${epoch})`);
      }
      const holdsEnd =
        i === 0 &&
        mayStartBefore &&
        header.baseOffset < expectedOffset &&
        header.nextOffset > expectedOffset;
      if (header.baseOffset !== expectedOffset && !holdsEnd) {
        return new BrokerError(
          'OFFSET_OUT_OF_RANGE',
          `${where} starts at ${header.baseOffset}, but the log continues at ${expectedOffset}`,
        );
      }
      if (epoch < epochFloor) {
        return new BrokerError(
          'OFFSET_OUT_OF_RANGE',
          `${where} has leader epoch ${epoch}, older than the ${epochFloor} it must follow at ` +
            `offset ${expectedOffset}; truncate first`,
        );
      }
      expectedOffset = header.nextOffset;
      epochFloor = epoch;
    }
    return null;
  }

  /** @internal Called by GroupCommit, in admission order, when the queue has room. */
  admitAppend(pending: PendingAppend): void {
    if (this.isDeleted) {
      this.appendFailed(pending, this.unknownPartition(), false);
      return;
    }
    assert(!this.isTruncating, `${this.name}: append admitted during truncateTo or resetTo`);
    if (!pending.isStamped) {
      stampBatch(pending.batch, {
        baseOffset: this.endOffset,
        leaderEpoch: pending.leaderEpoch,
        logAppendTimeMs: pending.logAppendTimeMs,
      });
    }
    this.queueAtEnd(pending);
  }

  /**
   * Queues the write of a stamped batch at the log end, with the epoch-cache and time-index
   * entries it implies, and advances logEndOffset and sizeBytes: the part both append paths
   * share. The batch's baseOffset must be the log end: append stamped it so, appendReplicated
   * checked it when called (FIFO admission keeps that order). The one exception is a replicated
   * batch holding the start of an empty log (appendReplicated): stored under its own base, before
   * the log start, while its leader epoch starts at the log start, as on its leader.
   */
  private queueAtEnd(pending: PendingAppend): void {
    const endOffset = this.endOffset;
    const header = RecordBatch.of(pending.batch);
    // The batch is stored under its own baseOffset, so the key and the header agree (paired with
    // the read-side check); what must hold is where it lies.
    const baseOffset = header.baseOffset;
    if (baseOffset !== endOffset) {
      assert(pending.isStamped, `${this.name}: stamped baseOffset is the log end`);
      assert(
        endOffset === this.startOffset,
        `${this.name}: only an empty log takes a batch before its end`,
      );
      assert(
        this.bytes === 0,
        `${this.name}: no batch is stored before one that starts before the end`,
      );
      assert(baseOffset < endOffset, `${this.name}: a batch not at the log end starts before it`);
      assert(header.nextOffset > endOffset, `${this.name}: the first batch holds the log start`);
    }
    assert(header.leaderEpoch === pending.leaderEpoch, `${this.name}: stamped leader epoch`);
    // A leader's own appends are dense; a replicated batch may have been thinned by compaction.
    assert(
      header.recordCount >= 0 && header.recordCount <= header.lastOffsetDelta + 1,
      `${this.name}: a batch holds at most one record per offset`,
    );
    const commit = this.context.commit;
    // The epoch's first offset in this log: the log end, which is the batch's base but for a
    // batch holding the start of an empty log (there the log start, where the leader's
    // deleteBefore moved the same epoch's entry).
    const replacedEpochs = this.epochs.maybeAssign(pending.leaderEpoch, endOffset);
    if (replacedEpochs !== null) {
      for (const epoch of replacedEpochs) {
        commit.pushIndex({ type: 'del', key: this.keys.epoch(epoch) });
      }
      commit.pushIndex({
        type: 'put',
        key: this.keys.epoch(pending.leaderEpoch),
        value: encodeOffset(endOffset),
      });
    }
    const maxTimestamp = header.maxTimestamp;
    if (maxTimestamp > this.maxTimestampSoFar) {
      // Only a new running maximum gets an entry, so the index is sorted by offset as well.
      this.maxTimestampSoFar = maxTimestamp;
      commit.pushIndex({
        type: 'put',
        key: this.keys.time(maxTimestamp),
        value: encodeOffset(baseOffset),
      });
    }
    commit.pushBatch({ type: 'put', key: this.keys.batch(baseOffset), value: pending.batch });
    pending.baseOffset = baseOffset;
    pending.nextOffset = header.nextOffset;
    this.endOffset = pending.nextOffset;
    assert(this.endOffset <= this.queuedEnd, `${this.name}: admitted end <= queued end`);
    this.bytes += pending.batch.length;
    // It ends past the log end, so past anything compaction cleaned: dirty.
    assert(endOffset >= this.cleanedEnd, `${this.name}: appends land after the cleaned part`);
    this.dirty += pending.batch.length;
    this.pendingCommits++;
    commit.markDirty(this);
    commit.onNextWrite(pending);
  }

  /** @internal */
  appendDurable(pending: PendingAppend): void {
    this.pendingAppends--;
    // Writes complete in queue order, so one partition's appends become durable in offset order.
    assert(pending.nextOffset > this.durableEnd, `${this.name}: durable end moves forward`);
    this.durableEnd = pending.nextOffset;
    this.tail.add(pending.baseOffset, pending.nextOffset, pending.batch);
    if (this.followsDurableEnd) {
      this.hw = this.durableEnd;
      this.scheduleNotify();
    }
    this.commitDone();
    pending.resolve({
      baseOffset: pending.isStamped ? pending.firstOffset : pending.baseOffset,
      lastOffset: pending.nextOffset - 1,
      logStartOffset: this.startOffset,
    });
  }

  /** @internal */
  appendFailed(pending: PendingAppend, error: Error, wasQueued: boolean): void {
    this.pendingAppends--;
    if (wasQueued) this.commitDone();
    else this.maybeIdle();
    pending.reject(error);
  }

  /**
   * @internal The state record GroupCommit puts at the end of the index write of each round we
   * took part in; taken when the round starts, so `indexedEnd` is the end of its batches.
   */
  stateOp(): LogWriteOp {
    // Deleted: the state key goes, and with it the partition (open() finds partitions by it).
    if (this.isDeleted) return { type: 'del', key: this.keys.state };
    const intent = this.rewriteIntent;
    const value = encodeState({
      logStartOffset: this.startOffset,
      sizeBytes: this.bytes - this.headBytes - (intent === null ? 0 : intent.bytes),
      indexedEnd: this.endOffset,
      truncateFrom: this.truncateFrom,
      rewrite: intent === null ? null : { from: intent.from, end: intent.end },
    });
    return { type: 'put', key: this.keys.state, value };
  }

  /**
   * Reads whole batches starting with the one holding `offset`, up to about maxBytes (always
   * one batch when any is available) and never a batch ending at or past `maxOffset` (default
   * the high watermark; capped at the durable end). Throws OFFSET_OUT_OF_RANGE outside
   * [logStartOffset, maxOffset]; at maxOffset the result is empty. Every batch read is checked
   * (header, CRC, key = baseOffset, no gap); a failure is an environment fault.
   */
  async read(offset: number, maxBytes: number, options?: ReadOptions): Promise<ReadResult> {
    this.assertLive();
    assert(Number.isSafeInteger(offset), `${this.name}: read offset ${offset} is not an integer`);
    assert(Number.isSafeInteger(maxBytes) && maxBytes > 0, `${this.name}: read maxBytes > 0`);
    const limitOffset = this.readLimit(options);
    this.checkReadRange(offset, limitOffset);
    let batches: Buffer[] = [];
    if (offset < limitOffset) {
      batches =
        this.tail.read(offset, limitOffset, maxBytes) ??
        (await this.readRange(offset, limitOffset, maxBytes));
    }
    this.assertLive();
    // A deleteBefore or truncateTo that ran meanwhile may have moved the range under us.
    this.checkReadRange(offset, Math.max(offset, this.readLimit(options)));
    const limitNow = this.readLimit(options);
    let bytes = 0;
    let kept = 0;
    while (kept < batches.length && RecordBatch.of(batches[kept]!).nextOffset <= limitNow) {
      bytes += batches[kept]!.length;
      kept++;
    }
    if (kept < batches.length) batches.length = kept;
    return { batches, bytes, highWatermark: this.hw, logStartOffset: this.startOffset };
  }

  private readLimit(options: ReadOptions | undefined): number {
    const maxOffset = options?.maxOffset;
    if (maxOffset === undefined) return this.hw;
    assert(Number.isSafeInteger(maxOffset) && maxOffset >= 0, `${this.name}: maxOffset >= 0`);
    return Math.min(maxOffset, this.durableEnd);
  }

  /**
   * Throws OFFSET_OUT_OF_RANGE exactly when read(offset, …) would, without reading: for a fetch
   * whose byte budget is spent but whose offsets must still be checked.
   */
  checkReadable(offset: number, options?: ReadOptions): void {
    this.assertLive();
    this.checkReadRange(offset, this.readLimit(options));
  }

  private checkReadRange(offset: number, limitOffset: number): void {
    if (offset < this.startOffset || offset > limitOffset) {
      throw new BrokerError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is outside the range [${this.startOffset}, ${limitOffset}] of ${this.name}`,
      );
    }
  }

  private async readRange(
    offset: number,
    limitOffset: number,
    maxBytes: number,
    batchesMax: number = limits.logReadBatchesMax,
  ): Promise<Buffer[]> {
    const open = (base: number, snapshot?: LevelSnapshot) =>
      this.context.batchDb.iterator({
        gte: this.keys.batch(base),
        lt: this.keys.batch(limitOffset),
        limit: batchesMax,
        fillCache: true,
        highWaterMarkBytes: maxBytes,
        ...(snapshot === undefined ? {} : { snapshot }),
      });
    // The usual fetch starts exactly at a batch (the previous read's end): one seek finds it.
    let iterator = open(offset);
    let snapshot: LevelSnapshot | null = null;
    try {
      let entry = await iterator.next();
      if (entry === undefined || batchKeyOffset(entry[0]) !== offset) {
        // `offset` is inside a batch: a reverse seek finds where that batch starts. Both seeks
        // read one snapshot, so a compaction step that merges batches in between (the base
        // found would be gone) cannot make the second miss the batch the first found.
        await iterator.close();
        snapshot = this.context.batchDb.snapshot();
        const base = await this.baseOfBatchAtOrBefore(offset, snapshot);
        if (base === null) return this.inconsistent(offset, `no batch holds offset ${offset}`);
        iterator = open(base, snapshot);
        entry = await iterator.next();
      }
      if (entry === undefined)
        return this.inconsistent(offset, `the batch holding ${offset} vanished`);
      return await this.collectBatches(iterator, entry, offset, limitOffset, maxBytes);
    } finally {
      await iterator.close();
      if (snapshot !== null) await snapshot.close();
    }
  }

  /** Takes checked, gap-free batches from `iterator`, starting with `first`, within the limits. */
  private async collectBatches(
    iterator: { next(): Promise<[Buffer, Buffer] | undefined> },
    first: [Buffer, Buffer],
    offset: number,
    limitOffset: number,
    maxBytes: number,
  ): Promise<Buffer[]> {
    const batches: Buffer[] = [];
    let expected = -1;
    let bytes = 0;
    // Bounded by the iterator's limit.
    for (let entry: [Buffer, Buffer] | undefined = first; entry !== undefined;) {
      const [key, batch] = entry;
      const header = this.checkStored(key, batch);
      if (expected === -1 && !(header.baseOffset <= offset && offset < header.nextOffset)) {
        return this.inconsistent(offset, `batch ${header.baseOffset} does not hold ${offset}`);
      }
      if (expected !== -1 && header.baseOffset !== expected) {
        return this.inconsistent(offset, `gap before ${header.baseOffset}, expected ${expected}`);
      }
      if (header.nextOffset > limitOffset) break;
      if (batches.length > 0 && bytes + batch.length > maxBytes) break;
      batches.push(batch);
      bytes += batch.length;
      expected = header.nextOffset;
      entry = await iterator.next();
    }
    return batches;
  }

  /**
   * A hole where a batch should be. If the log moved under the read (deleted, start advanced,
   * truncated) that explains it and the caller re-checks the range; otherwise the store lost
   * data, which is an environment fault.
   */
  private inconsistent(offset: number, reason: string): never {
    this.assertLive();
    if (offset < this.startOffset || offset >= this.durableEnd) {
      throw new BrokerError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} left the range [${this.startOffset}, ${this.durableEnd}) of ${this.name} during the read`,
      );
    }
    throw this.context.fault(new Error(`${this.name}: ${reason}`), {
      topicId: this.topicId,
      partition: this.partition,
    });
  }

  /**
   * The read-side half of the paired check: header, CRC and key agree. Returns the header view.
   */
  private checkStored(key: Buffer, batch: Buffer): RecordBatch {
    const problem = storedBatchProblem(key, batch);
    if (problem !== null) {
      throw this.context.fault(new Error(`${this.name}: ${problem}`), {
        topicId: this.topicId,
        partition: this.partition,
        baseOffset: batchKeyOffset(key),
      });
    }
    return RecordBatch.of(batch);
  }

  /** Base offset of the last stored batch starting at or before `offset`, or null. */
  private async baseOfBatchAtOrBefore(
    offset: number,
    snapshot?: LevelSnapshot,
  ): Promise<number | null> {
    const keys = await this.context.batchDb
      .keys({
        gte: this.keys.batches.gte,
        lte: this.keys.batch(offset),
        reverse: true,
        limit: 1,
        fillCache: true,
        ...(snapshot === undefined ? {} : { snapshot }),
      })
      .all();
    return keys.length === 0 ? null : batchKeyOffset(keys[0]!);
  }

  // ---- Leader epochs -------------------------------------------------------------------------

  /** The newest leader epoch that appended, or -1 (EPOCH_UNDEFINED). */
  latestEpoch(): number {
    return this.epochs.latestEpoch();
  }

  /** OffsetsForLeaderEpoch for `epoch` (see LeaderEpochCache.endOffsetFor). */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.epochs.endOffsetFor(epoch, this.endOffset);
  }

  /** The epoch cache as [epoch, startOffset] pairs, oldest first (a copy). */
  epochEntries(): Array<[number, number]> {
    return this.epochs.entries();
  }

  // ---- High watermark ------------------------------------------------------------------------

  /**
   * Sets the high watermark (the replication layer's call). It may move back (a follower takes
   * its leader's), but must stay within [logStartOffset, durableEndOffset].
   */
  setHighWatermark(offset: number): void {
    assert(Number.isSafeInteger(offset), `${this.name}: high watermark is an integer`);
    assert(offset >= this.startOffset, `${this.name}: high watermark ${offset} below log start`);
    assert(offset <= this.durableEnd, `${this.name}: high watermark ${offset} past durable end`);
    if (offset === this.hw) return;
    this.hw = offset;
    this.scheduleNotify();
  }

  /** Whether completed writes move the high watermark (true on a single node). */
  setHighWatermarkFollowsDurableEnd(follows: boolean): void {
    this.followsDurableEnd = follows;
    if (follows) this.setHighWatermark(this.durableEnd);
  }

  /**
   * Calls `listener` (with the new high watermark) after it advances, and after deleteBefore,
   * truncateTo and deletePartition so waiters re-check. Listeners run from a microtask, never
   * inside the commit path; one that throws is logged. Returns the unsubscribe function.
   */
  onHighWatermark(listener: HighWatermarkListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private scheduleNotify(): void {
    if (this.isNotifyScheduled || this.listeners.size === 0) return;
    this.isNotifyScheduled = true;
    queueMicrotask(() => this.notify());
  }

  private notify(): void {
    this.isNotifyScheduled = false;
    const highWatermark = this.hw;
    for (const listener of this.listeners) {
      try {
        listener(highWatermark);
      } catch (error) {
        this.context.logger.error(
          { err: error, partition: this.name },
          'high watermark listener threw',
        );
      }
    }
  }

  // ---- Maintenance: deleteBefore, truncateTo, delete -----------------------------------------

  /**
   * Advances the log start offset to `offset` (DeleteRecords, retention) and removes the batches
   * that end before it. `offset` must be <= highWatermark, else OFFSET_OUT_OF_RANGE; an offset at
   * or below the current start changes nothing. Resolves with the new log start offset once
   * durable. The new start, with a size that no longer counts those batches, is written first;
   * the batches then go in steps of limits.logMaintenanceBatchesMax, so a crash midway leaves
   * only unreachable batches that recovery removes.
   */
  deleteBefore(offset: number): Promise<number> {
    assert(Number.isSafeInteger(offset) && offset >= 0, `${this.name}: deleteBefore offset >= 0`);
    return this.exclusive(async () => {
      this.checkDeletable(offset);
      if (offset <= this.startOffset) return this.startOffset;
      // Read first, changed nothing yet: the batches that will end before the new start.
      const leaving = await this.bytesEndingBefore(offset);
      // A follower's high watermark may have moved back meanwhile.
      this.checkDeletable(offset);
      this.startOffset = offset;
      this.headBytes += leaving;
      this.tail.clear();
      const change = this.epochs.truncateFromStart(offset);
      const ops: LogWriteOp[] = [];
      for (const epoch of change.removedEpochs)
        ops.push({ type: 'del', key: this.keys.epoch(epoch) });
      if (change.moved !== null) {
        ops.push({
          type: 'put',
          key: this.keys.epoch(change.moved.epoch),
          value: encodeOffset(change.moved.startOffset),
        });
      }
      const durable = this.commitOps({ index: ops, state: true });
      this.scheduleNotify();
      await durable;
      await this.removeHead();
      return this.startOffset;
    });
  }

  private checkDeletable(offset: number): void {
    this.assertLive();
    if (offset > this.hw) {
      throw new BrokerError(
        'OFFSET_OUT_OF_RANGE',
        `cannot delete before ${offset}: ${this.name} is committed up to ${this.hw} (log start ${this.startOffset})`,
      );
    }
  }

  /**
   * Bytes of the stored batches from the first one that end before `offset` and at or after the
   * log start (those not counted yet in headBytes), read in chunks.
   */
  private async bytesEndingBefore(offset: number): Promise<number> {
    let total = 0;
    let gte = this.keys.batches.gte;
    // Each round moves past a full chunk, or is the last.
    for (;;) {
      const summaries = await this.summaries(
        { gte, lt: this.keys.batch(offset) },
        false,
        MAINTENANCE_BATCHES,
      );
      for (const summary of summaries) {
        if (summary.lastOffset >= offset) return total;
        if (summary.lastOffset >= this.startOffset) total += summary.byteLength;
      }
      if (summaries.length < MAINTENANCE_BATCHES) return total;
      gte = this.keys.batch(summaries[summaries.length - 1]!.lastOffset + 1);
    }
  }

  /**
   * Removes stored batches that end before the log start (their bytes are headBytes: the stored
   * size no longer counts them), then old time-index entries.
   */
  private async removeHead(): Promise<void> {
    // Each round removes at least one batch or stops, so the loop ends.
    for (;;) {
      this.assertLive();
      const start = this.startOffset;
      const summaries = await this.summaries(
        { gte: this.keys.batches.gte, lt: this.keys.batch(start) },
        false,
        MAINTENANCE_BATCHES,
      );
      const ops: LogWriteOp[] = [];
      let freedBytes = 0;
      let freedDirtyBytes = 0;
      for (const summary of summaries) {
        if (summary.lastOffset >= start) break;
        ops.push({ type: 'del', key: this.keys.batch(summary.baseOffset) });
        freedBytes += summary.byteLength;
        if (summary.lastOffset >= this.cleanedEnd) freedDirtyBytes += summary.byteLength;
      }
      if (ops.length === 0) break;
      this.bytes -= freedBytes;
      this.headBytes -= freedBytes;
      this.dirty -= freedDirtyBytes;
      assert(this.bytes >= 0, `${this.name}: sizeBytes stays >= 0`);
      assert(this.headBytes >= 0, `${this.name}: headBytes stays >= 0`);
      assert(this.dirty >= 0 && this.dirty <= this.bytes, `${this.name}: 0 <= dirty <= size`);
      await this.commitOps({ batch: ops, state: false });
      if (ops.length < MAINTENANCE_BATCHES) break;
    }
    await this.trimTimeIndexHead();
  }

  /**
   * Deletes time-index entries for batches before the log start, keeping the last of them: a
   * lookup whose first entry >= t points before the start must then scan from the start (see
   * offsetForTimestamp), and only that kept entry tells it so.
   */
  private async trimTimeIndexHead(): Promise<void> {
    for (;;) {
      this.assertLive();
      const entries = await this.entries(this.keys.times, false, MAINTENANCE_BATCHES);
      let below = 0;
      while (below < entries.length && decodeOffset(entries[below]![1]) < this.startOffset) below++;
      if (below <= 1) return;
      const ops: LogWriteOp[] = [];
      for (let i = 0; i < below - 1; i++) ops.push({ type: 'del', key: entries[i]![0] });
      await this.commitOps({ index: ops, state: false });
      if (below < entries.length) return;
    }
  }

  /**
   * Removes every batch from the one holding `offset` on, and the epoch-cache and time-index
   * entries past the new end; returns the new logEndOffset (the base of that batch, or `offset`
   * at a boundary). A no-op at or past the end. The caller must have no append pending for the
   * partition (asserted). The high watermark drops to the new end if above it.
   *
   * Crash-safe across the two stores: the first write (index store) is the truncation: the new
   * end, a size without the cut batches, and `truncateFrom`, which tells recovery to finish the
   * job. The batches then go from the batch store in steps, and a last write clears
   * `truncateFrom` before any append may land at the new end.
   */
  truncateTo(offset: number): Promise<number> {
    assert(Number.isSafeInteger(offset) && offset >= 0, `${this.name}: truncateTo offset >= 0`);
    assert(this.pendingAppends === 0, `${this.name}: truncateTo with appends pending`);
    return this.exclusive(async () => {
      this.assertLive();
      assert(this.pendingAppends === 0, `${this.name}: truncateTo with appends pending`);
      if (offset >= this.endOffset) return this.endOffset;
      // No append waits for admission, so the queue's tail is the log end.
      assert(this.queuedEnd === this.endOffset, `${this.name}: nothing queued past the end`);
      this.isTruncating = true;
      this.tail.clear();
      this.forgetCleaning();
      try {
        const base = await this.baseOfBatchAtOrBefore(offset);
        const newEnd = base === null ? offset : base;
        const cutBytes = await this.bytesFrom(newEnd);
        this.assertLive();
        this.endOffset = newEnd;
        this.durableEnd = newEnd;
        if (this.hw > newEnd) this.hw = newEnd;
        // Below the log start: the log empties and restarts at newEnd (every batch is cut).
        if (this.startOffset > newEnd) this.startOffset = newEnd;
        this.bytes -= cutBytes;
        this.dirty = this.bytes;
        assert(this.bytes >= this.headBytes, `${this.name}: sizeBytes stays >= headBytes`);
        this.truncateFrom = newEnd;
        const removedEpochs = this.epochs.truncateFromEnd(newEnd);
        this.queuedEnd = newEnd;
        this.queuedEpoch = this.epochs.latestEpoch();
        const ops: LogWriteOp[] = [];
        for (const entry of removedEpochs) {
          ops.push({ type: 'del', key: this.keys.epoch(entry.epoch) });
        }
        const durable = this.commitOps({ index: ops, state: true });
        this.scheduleNotify();
        await durable;
        await this.removeTail(newEnd);
        this.truncateFrom = null;
        await this.commitOps({ state: true });
        this.maxTimestampSoFar = await this.lastTimeIndexTimestamp();
        return newEnd;
      } finally {
        this.isTruncating = false;
      }
    });
  }

  /** Bytes of the stored batches from `offset` on (a batch boundary), read in chunks. */
  private async bytesFrom(offset: number): Promise<number> {
    let total = 0;
    let gte = this.keys.batch(offset);
    // Each round moves past a full chunk, or is the last.
    for (;;) {
      const summaries = await this.summaries(
        { gte, lt: this.keys.batches.lt },
        false,
        MAINTENANCE_BATCHES,
      );
      for (const summary of summaries) total += summary.byteLength;
      if (summaries.length < MAINTENANCE_BATCHES) return total;
      gte = this.keys.batch(summaries[summaries.length - 1]!.lastOffset + 1);
    }
  }

  /**
   * Empties the log and restarts it at `offset`: logStartOffset = logEndOffset = highWatermark
   * = offset, with no batch, leader-epoch entry or time-index entry left (Kafka's
   * truncateFullyAndStartAt). The follower's fetcher calls it when its log ends below the
   * leader's log start (retention or DeleteRecords removed, on the leader, the records it would
   * fetch next, and the leader answered OFFSET_OUT_OF_RANGE with a higher log start): after
   * resetTo(leader's log start) it fetches from there, and appendReplicated takes the leader's
   * batches whatever their epochs. `offset` must be >= logEndOffset (asserted): records at or
   * after it are cut with truncateTo instead, which also restarts an empty log lower. As with
   * truncateTo, the caller must have no append pending (asserted) and appends assert until
   * this resolves.
   *
   * Crash-safe: the first write stores the new log start (size 0) and deletes every epoch entry,
   * and that write alone is the reset (recovery takes the log end from the start when no batch
   * ends past it). The old batches and time-index entries then go in steps behind the new
   * start, as deleteBefore's do; recovery removes what a crash leaves of them.
   */
  resetTo(offset: number): Promise<void> {
    assert(Number.isSafeInteger(offset) && offset >= 0, `${this.name}: resetTo offset >= 0`);
    assert(this.pendingAppends === 0, `${this.name}: resetTo with appends pending`);
    return this.exclusive(async () => {
      this.assertLive();
      assert(this.pendingAppends === 0, `${this.name}: resetTo with appends pending`);
      assert(
        offset >= this.endOffset,
        `${this.name}: resetTo(${offset}) below the log end ${this.endOffset}; truncate instead`,
      );
      assert(this.truncateFrom === null, `${this.name}: resetTo during a truncation`);
      this.isTruncating = true;
      this.tail.clear();
      this.forgetCleaning();
      try {
        this.startOffset = offset;
        this.endOffset = offset;
        this.durableEnd = offset;
        this.hw = offset;
        this.queuedEnd = offset;
        // Every stored batch ends before the new start now.
        this.headBytes = this.bytes;
        // Every entry starts at or after 0, so this empties the cache.
        const removedEpochs = this.epochs.truncateFromEnd(0);
        this.queuedEpoch = this.epochs.latestEpoch();
        this.maxTimestampSoFar = -Infinity;
        const ops: LogWriteOp[] = [];
        for (const entry of removedEpochs) {
          ops.push({ type: 'del', key: this.keys.epoch(entry.epoch) });
        }
        const durable = this.commitOps({ index: ops, state: true });
        this.scheduleNotify();
        await durable;
        await this.removeHead();
        await this.clearTimeIndex();
        assert(this.bytes === 0, `${this.name}: no batch is left after resetTo`);
      } finally {
        this.isTruncating = false;
      }
    });
  }

  /**
   * Deletes every time-index entry in steps, for resetTo once no batch is left. Any prefix is
   * valid: what is left points before the log start, where lookups scan from the start.
   */
  private async clearTimeIndex(): Promise<void> {
    // Each round deletes a full chunk, or is the last.
    for (;;) {
      this.assertLive();
      const entries = await this.entries(this.keys.times, false, MAINTENANCE_BATCHES);
      if (entries.length === 0) return;
      const ops: LogWriteOp[] = [];
      for (const [key] of entries) ops.push({ type: 'del', key });
      await this.commitOps({ index: ops, state: false });
      if (entries.length < MAINTENANCE_BATCHES) return;
    }
  }

  /**
   * Deletes batches at or after `newEnd`, newest first, with the time-index entries that name
   * them. The state (truncateFrom, written before) already leaves them out, so every prefix a
   * crash can leave is one recovery finishes.
   */
  private async removeTail(newEnd: number): Promise<void> {
    // Each round removes at least one batch, or is the last.
    for (;;) {
      this.assertLive();
      const range = { gte: this.keys.batch(newEnd), lt: this.keys.batches.lt };
      const summaries = await this.summaries(range, true, MAINTENANCE_BATCHES);
      if (summaries.length === 0) break;
      const ops: LogWriteOp[] = [];
      for (const summary of summaries) {
        ops.push({ type: 'del', key: this.keys.batch(summary.baseOffset) });
      }
      await this.commitOps({ batch: ops, state: false });
    }
    await this.removeTimeEntriesFrom(newEnd);
  }

  /** Deletes the time-index entries naming a batch at or after `offset`, newest first. */
  private async removeTimeEntriesFrom(offset: number): Promise<void> {
    // Each round deletes a full chunk, or is the last.
    for (;;) {
      this.assertLive();
      const times = await this.entries(this.keys.times, true, MAINTENANCE_BATCHES);
      const ops: LogWriteOp[] = [];
      for (const [key, value] of times) {
        if (decodeOffset(value) < offset) break;
        ops.push({ type: 'del', key });
      }
      if (ops.length > 0) await this.commitOps({ index: ops, state: false });
      if (ops.length < MAINTENANCE_BATCHES) return;
    }
  }

  /**
   * Forgets the partition: later calls fail with UNKNOWN_TOPIC_OR_PARTITION, then, after pending
   * writes and maintenance finish, the state key is deleted through the commit queue (that alone
   * makes the partition gone for a restart) and its keys are cleared from both stores.
   * @internal Called by LogManager.deletePartition.
   */
  async delete(): Promise<void> {
    this.isDeleted = true;
    this.tail.clear();
    this.scheduleNotify();
    await this.exclusive(async () => {
      await this.idle();
      await this.commitOps({ state: true });
      await this.context.batchDb.clear({ gte: this.keys.batches.gte, lt: this.keys.batches.lt });
      for (const range of this.keys.allRanges()) {
        await this.context.indexDb.clear({ gte: range.gte, lt: range.lt });
      }
    });
    this.scheduleNotify();
  }

  // ---- Compaction ----------------------------------------------------------------------------

  /**
   * One compaction step (cleaner-task.ts): replaces a contiguous run of stored batches with
   * `transform`'s output, in one atomic LevelDB write. The run starts with the batch holding
   * max(fromOffset, logStartOffset) and takes whole batches, none ending past endOffset, up to
   * options.batchesMax batches and about options.bytesMax bytes. Runs as maintenance (one task
   * at a time per partition, after those queued before it) and re-checks the bounds once it has
   * the partition: resolves null, changing nothing, when a truncation or reset ran since
   * options.truncationCount, endOffset is now above the high watermark, or the run is empty (the
   * log start passed it).
   *
   * The output must cover exactly the run's offsets, gap-free, each batch with the leader epoch
   * of the run's batch holding its base (asserted): so the log stays gap-free, the epoch cache
   * stays right, and a reader sees the old run or the new one, never a mix (one write; reads
   * that seek twice use one snapshot). Batches the output drops are deleted, new or changed ones
   * written, time-index entries naming a dropped base are moved to the batch now covering it,
   * and sizeBytes, the tail cache and the compaction progress (dirtyBytes, cleanedEndOffset:
   * the run counts as clean) follow. Resolves once the write is durable; rejects with
   * UNKNOWN_TOPIC_OR_PARTITION after deletePartition, KAFKA_STORAGE_ERROR after a failed write.
   */
  rewriteRange(
    fromOffset: number,
    endOffset: number,
    options: RewriteOptions,
    transform: RewriteTransform,
  ): Promise<RewriteResult | null> {
    assert(Number.isSafeInteger(fromOffset) && fromOffset >= 0, `${this.name}: rewrite from`);
    assert(Number.isSafeInteger(endOffset), `${this.name}: rewrite end is an integer`);
    assert(
      options.batchesMax >= 1 && options.batchesMax <= MAINTENANCE_BATCHES,
      `${this.name}: rewrite batchesMax`,
    );
    assert(options.bytesMax >= 1, `${this.name}: rewrite bytesMax`);
    return this.exclusive(async () => {
      this.assertLive();
      if (options.truncationCount !== this.truncations) return null;
      const from = Math.max(fromOffset, this.startOffset);
      if (endOffset > this.hw || from >= endOffset) return null;
      const input = await this.readRange(from, endOffset, options.bytesMax, options.batchesMax);
      if (input.length === 0) return null;
      const output = await transform(input);
      this.assertLive();
      this.checkRewrite(input, output);
      const retargets = await this.timeIndexRetargets(input, output);
      this.assertLive();
      return this.commitRewrite(input, output, retargets);
    });
  }

  /** Asserts the output of a rewrite covers exactly its input's offsets, with its epochs. */
  private checkRewrite(input: readonly Buffer[], output: readonly Buffer[]): void {
    assert(output.length >= 1, `${this.name}: a rewrite leaves at least one batch`);
    let expected = RecordBatch.of(input[0]!).baseOffset;
    let holder = 0;
    for (const batch of output) {
      const check = checkBatchHeader(batch);
      assert(check.ok, `${this.name}: rewritten batch fails its check: ${JSON.stringify(check)}`);
      const header = RecordBatch.of(batch);
      assert(header.baseOffset === expected, `${this.name}: rewritten batches are gap-free`);
      while (RecordBatch.of(input[holder]!).nextOffset <= header.baseOffset) holder++;
      assert(
        header.leaderEpoch === RecordBatch.of(input[holder]!).leaderEpoch,
        `${this.name}: a rewrite keeps each offset's leader epoch`,
      );
      expected = header.nextOffset;
    }
    const inputEnd = RecordBatch.of(input[input.length - 1]!).nextOffset;
    assert(expected === inputEnd, `${this.name}: rewritten batches end where the run ended`);
  }

  /**
   * Time-index entries that name a batch base the output drops (merged into the batch before),
   * moved to the base of the output batch now covering it, so every entry names a stored batch.
   * An entry naming a batch is keyed by that batch's maxTimestamp, so one lookup per dropped
   * batch finds it.
   */
  private async timeIndexRetargets(
    input: readonly Buffer[],
    output: readonly Buffer[],
  ): Promise<Array<{ key: Buffer; value: Buffer }>> {
    const outputBases = new Set<number>();
    for (const batch of output) outputBases.add(RecordBatch.of(batch).baseOffset);
    const dropped: RecordBatch[] = [];
    for (const batch of input) {
      const header = RecordBatch.of(batch);
      if (!outputBases.has(header.baseOffset)) dropped.push(header);
    }
    if (dropped.length === 0) return [];
    const keys = dropped.map((header) => this.keys.time(header.maxTimestamp));
    const values = await this.context.indexDb.getMany(keys, { fillCache: false });
    const retargets: Array<{ key: Buffer; value: Buffer }> = [];
    let holder = 0;
    for (let i = 0; i < dropped.length; i++) {
      const value = values[i];
      const base = dropped[i]!.baseOffset;
      if (value === undefined || decodeOffset(value) !== base) continue;
      while (RecordBatch.of(output[holder]!).nextOffset <= base) holder++;
      const newBase = RecordBatch.of(output[holder]!).baseOffset;
      retargets.push({ key: keys[i]!, value: encodeOffset(newBase) });
    }
    return retargets;
  }

  /**
   * Queues the rewrite's write and applies it in memory in the same synchronous run (so the
   * state record in that write carries the new sizeBytes); resolves once it is durable.
   */
  private async commitRewrite(
    input: readonly Buffer[],
    output: readonly Buffer[],
    retargets: ReadonlyArray<{ key: Buffer; value: Buffer }>,
  ): Promise<RewriteResult> {
    const inputByBase = new Map<number, Buffer>();
    let bytesBefore = 0;
    let dirtyBefore = 0;
    for (const batch of input) {
      const header = RecordBatch.of(batch);
      inputByBase.set(header.baseOffset, batch);
      bytesBefore += batch.length;
      if (header.lastOffset >= this.cleanedEnd) dirtyBefore += batch.length;
    }
    const batchOps: LogWriteOp[] = [];
    let bytesAfter = 0;
    for (const batch of output) {
      const base = RecordBatch.of(batch).baseOffset;
      bytesAfter += batch.length;
      if (inputByBase.get(base) !== batch)
        batchOps.push({ type: 'put', key: this.keys.batch(base), value: batch });
      inputByBase.delete(base);
    }
    // What is left are the bases the output no longer has.
    for (const base of inputByBase.keys()) {
      batchOps.push({ type: 'del', key: this.keys.batch(base) });
    }
    const indexOps: LogWriteOp[] = retargets.map(({ key, value }) => ({ type: 'put', key, value }));
    const firstOffset = RecordBatch.of(input[0]!).baseOffset;
    const endOffset = RecordBatch.of(input[input.length - 1]!).nextOffset;
    // The run is clean now, whether or not anything in it changed.
    this.dirty -= dirtyBefore;
    this.cleanedEnd = Math.max(this.cleanedEnd, endOffset);
    const result: RewriteResult = {
      firstOffset,
      endOffset,
      batchesBefore: input.length,
      bytesBefore,
      batchesAfter: output,
      bytesAfter,
      isChanged: batchOps.length > 0,
    };
    if (batchOps.length === 0) return result;
    // The stores do not commit together: first a state that leaves the run's bytes out and names
    // the run, so recovery recounts it whichever side of the rewrite it finds.
    this.rewriteIntent = { from: firstOffset, end: endOffset, bytes: bytesBefore };
    try {
      await this.commitOps({ state: true });
    } finally {
      this.rewriteIntent = null;
    }
    this.assertLive();
    this.bytes += bytesAfter - bytesBefore;
    assert(this.bytes >= 0 && this.dirty >= 0, `${this.name}: sizes stay >= 0`);
    assert(this.dirty <= this.bytes, `${this.name}: dirty bytes <= sizeBytes`);
    // Reads answered from the tail must not hand out the old batches once the new are stored.
    this.tail.dropBefore(endOffset);
    await this.commitOps({ batch: batchOps, index: indexOps, state: true });
    return result;
  }

  /** A truncation or reset starts: compaction forgets its progress and its plans. */
  private forgetCleaning(): void {
    this.truncations++;
    this.cleanedEnd = 0;
    this.dirty = this.bytes;
  }

  // ---- Time index ----------------------------------------------------------------------------

  /**
   * The first record at or after `timestampMs` within [logStartOffset, highWatermark), with its
   * timestamp and its batch's leader epoch, or null when there is none. The time index gives the
   * first batch whose running maximum timestamp reached `timestampMs`; every earlier batch is
   * older, so the record is in it. When that batch is before the log start, the batches from the
   * start are scanned instead.
   */
  async offsetForTimestamp(timestampMs: number): Promise<TimestampOffset | null> {
    this.assertLive();
    assert(Number.isSafeInteger(timestampMs), `${this.name}: timestamp is an integer`);
    const found = await this.context.indexDb
      .iterator({
        gte: this.keys.time(timestampMs),
        lt: this.keys.times.lt,
        limit: 1,
        fillCache: false,
      })
      .all();
    if (found.length === 0) return null;
    const indexedBase = decodeOffset(found[0]![1]);
    const from = Math.max(indexedBase, this.startOffset);
    // Bounded: each round moves `cursor` past at least one batch, and the scan ends at the HW.
    for (let cursor = from; cursor < this.hw;) {
      const batches = await this.readCommitted(cursor);
      if (batches.length === 0) return null;
      for (const batch of batches) {
        const hit = await this.firstRecordAtOrAfter(batch, timestampMs, cursor);
        if (hit !== null) return hit.offset < this.hw ? hit : null;
        cursor = RecordBatch.of(batch).nextOffset;
      }
    }
    return null;
  }

  /** Committed batches from the one holding `offset`, checked; empty once out of range. */
  private async readCommitted(offset: number): Promise<Buffer[]> {
    try {
      const result = await this.read(offset, limits.fetchPartitionBytesDefault);
      return result.batches;
    } catch (error) {
      if (error instanceof BrokerError && error.code === 'OFFSET_OUT_OF_RANGE') return [];
      throw error;
    }
  }

  private async firstRecordAtOrAfter(
    batch: Buffer,
    timestampMs: number,
    fromOffset: number,
  ): Promise<TimestampOffset | null> {
    const header = RecordBatch.of(batch);
    // An empty batch (compaction removed every record) holds nothing to find.
    if (header.maxTimestamp < timestampMs || header.recordCount === 0) return null;
    const leaderEpoch = header.leaderEpoch;
    const isDense = header.recordCount === header.lastOffsetDelta + 1;
    if (header.timestampType === TimestampType.LOG_APPEND_TIME && isDense) {
      // Every record carries the append time, the batch's maxTimestamp.
      return {
        offset: Math.max(header.baseOffset, fromOffset),
        timestampMs: header.maxTimestamp,
        leaderEpoch,
      };
    }
    // A control-plane lookup (ListOffsets): decoding one batch's records is fine here.
    const records = await decodeRecords(batch);
    for (const record of records) {
      if (record.offset >= fromOffset && record.timestampMs >= timestampMs) {
        return { offset: record.offset, timestampMs: record.timestampMs, leaderEpoch };
      }
    }
    return null;
  }

  private async lastTimeIndexTimestamp(): Promise<number> {
    const last = await this.context.indexDb
      .keys({
        gte: this.keys.times.gte,
        lt: this.keys.times.lt,
        reverse: true,
        limit: 1,
        fillCache: false,
      })
      .all();
    return last.length === 0 ? -Infinity : timeKeyTimestamp(last[0]!);
  }

  // ---- Retention support ---------------------------------------------------------------------

  /**
   * Header summaries of up to `maxBatches` stored batches, from the one holding `fromOffset`
   * (or the first after it), in offset order. Reads whole values (LevelDB has no partial read)
   * but keeps only the summaries.
   */
  async batchSummaries(fromOffset: number, maxBatches: number): Promise<BatchSummary[]> {
    this.assertLive();
    assert(maxBatches >= 1 && maxBatches <= MAINTENANCE_BATCHES, `${this.name}: summary count`);
    // One snapshot for both seeks, as in readRange: compaction may merge batches in between.
    const snapshot = this.context.batchDb.snapshot();
    try {
      let base = await this.baseOfBatchAtOrBefore(fromOffset, snapshot);
      if (base === null) base = fromOffset;
      return await this.summaries(
        { gte: this.keys.batch(base), lt: this.keys.batches.lt },
        false,
        maxBatches,
        snapshot,
      );
    } finally {
      await snapshot.close();
    }
  }

  // ---- Helpers -------------------------------------------------------------------------------

  /** Summaries of stored batches in a key range; checks the key against the header. */
  private async summaries(
    range: { gte: Buffer; lt: Buffer },
    reverse: boolean,
    limit: number,
    snapshot?: LevelSnapshot,
  ): Promise<BatchSummary[]> {
    const summaries: BatchSummary[] = [];
    const iterator = this.context.batchDb.iterator({
      gte: range.gte,
      lt: range.lt,
      reverse,
      limit,
      fillCache: false,
      highWaterMarkBytes: limits.batchBytesMax,
      ...(snapshot === undefined ? {} : { snapshot }),
    });
    try {
      // Bounded by the iterator's limit.
      for (let entry = await iterator.next(); entry !== undefined; entry = await iterator.next()) {
        const [key, batch] = entry;
        const header = RecordBatch.of(batch);
        const keyOffset = batchKeyOffset(key);
        if (
          batch.length < BATCH_HEADER_BYTES ||
          batch.readInt32BE(0) !== batch.length - 4 ||
          header.baseOffset !== keyOffset
        ) {
          throw this.context.fault(
            new Error(`${this.name}: stored batch ${keyOffset} has a bad header`),
            {
              topicId: this.topicId,
              partition: this.partition,
              baseOffset: keyOffset,
            },
          );
        }
        summaries.push({
          baseOffset: keyOffset,
          lastOffset: header.lastOffset,
          maxTimestamp: header.maxTimestamp,
          byteLength: batch.length,
        });
      }
    } finally {
      await iterator.close();
    }
    return summaries;
  }

  private entries(
    range: KeyRange,
    reverse: boolean,
    limit: number,
  ): Promise<Array<[Buffer, Buffer]>> {
    return this.context.indexDb
      .iterator({ gte: range.gte, lt: range.lt, reverse, limit, fillCache: false })
      .all();
  }

  /**
   * Queues a maintenance step as one round of the commit queue: `batch` ops in its batch-store
   * write, `index` ops (and the state record when `state`) in its index-store write, both synced
   * whatever the policy, so each step is on disk before the next is written. Resolves once done.
   * Call it in the same synchronous run as the in-memory change the ops persist, so the state
   * record always matches memory at the time of the write.
   */
  private commitOps(step: {
    readonly batch?: readonly LogWriteOp[];
    readonly index?: readonly LogWriteOp[];
    readonly state: boolean;
  }): Promise<void> {
    const commit = this.context.commit;
    for (const op of step.batch ?? []) commit.pushBatch(op);
    for (const op of step.index ?? []) commit.pushIndex(op);
    if (step.state) commit.markDirty(this);
    commit.syncNextWrite();
    return new Promise<void>((resolve, reject) => {
      this.pendingCommits++;
      commit.onNextWrite({
        onDurable: () => {
          this.commitDone();
          resolve();
        },
        onFailed: (error) => {
          this.commitDone();
          reject(error);
        },
      });
    });
  }

  private commitDone(): void {
    this.pendingCommits--;
    assert(this.pendingCommits >= 0, `${this.name}: pending commits >= 0`);
    this.maybeIdle();
  }

  private maybeIdle(): void {
    if (this.pendingCommits > 0 || this.pendingAppends > 0 || this.idleWaiters.length === 0) {
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves when none of this partition's writes are queued or in flight. */
  private idle(): Promise<void> {
    if (this.pendingCommits === 0 && this.pendingAppends === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve)).then(() => this.idle());
  }

  /**
   * Resolves when the maintenance running now and every write queued now are done.
   * @internal For LogManager.close.
   */
  settle(): Promise<void> {
    return this.exclusive(() => this.idle());
  }

  /** Runs `task` after every earlier maintenance task of this partition, failed or not. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.maintenance.then(task, task);
    this.maintenance = run.catch(() => undefined);
    return run;
  }

  private assertLive(): void {
    if (this.isDeleted) throw this.unknownPartition();
  }

  private unknownPartition(): BrokerError {
    return new BrokerError(
      'UNKNOWN_TOPIC_OR_PARTITION',
      `partition ${this.name} was deleted from this node`,
    );
  }

  // ---- Recovery ------------------------------------------------------------------------------

  /**
   * Opens a partition found under key space 0x11 (recovery.ts reconciles the two stores: a
   * truncation to finish, batches to index, a compaction run to recount), writes the index ops
   * and state that brings the index store up to date, then removes any batches a crash left
   * before the log start. Throws (after the fatal handler) when stored data fails its checks.
   */
  static async recover(
    context: LogContext,
    topicId: string,
    partition: number,
    state: PartitionState,
    highWatermarkFollowsDurableEnd: boolean,
  ): Promise<PartitionLog> {
    const keys = new PartitionKeys(topicId, partition);
    const name = `${topicId}-${partition}`;
    const found = await recoverPartition(context, keys, name, state);
    if (found.repairs.length > 0) {
      context.logger.info({ partition: name, repairs: found.repairs }, 'partition log repaired');
    }
    const log = new PartitionLog(context, topicId, partition, {
      logStartOffset: found.logStartOffset,
      logEndOffset: found.logEndOffset,
      sizeBytes: found.sizeBytes,
      epochs: found.epochs,
      maxTimestampSoFar: found.maxTimestampSoFar,
      highWatermarkFollowsDurableEnd,
    });
    log.headBytes = found.headBytes;
    // A version 1 state (indexedEnd null) is rewritten as version 2 once, here.
    if (found.repairs.length > 0 || state.indexedEnd === null) {
      await log.commitOps({ index: found.indexOps, state: true });
    }
    await log.exclusive(() => log.removeHead());
    return log;
  }

  /** A new, empty partition; resolves once its state record is durable. */
  static async create(
    context: LogContext,
    topicId: string,
    partition: number,
    highWatermarkFollowsDurableEnd: boolean,
  ): Promise<PartitionLog> {
    const log = new PartitionLog(context, topicId, partition, {
      logStartOffset: 0,
      logEndOffset: 0,
      sizeBytes: 0,
      epochs: new LeaderEpochCache(),
      maxTimestampSoFar: -Infinity,
      highWatermarkFollowsDurableEnd,
    });
    await log.commitOps({ state: true });
    return log;
  }
}
