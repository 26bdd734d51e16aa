/**
 * LogManager: the partition logs of one node, over two LevelDBs the caller opens (the batch
 * store and the index store, which is the node's main LevelDB; README.md, "Two stores"; both
 * may be one LevelDB), sharing one GroupCommit. It loads every partition at start, creates and
 * deletes partitions as metadata says, and on close flushes the commit queue. It never closes
 * the stores.
 */
import type { ClassicLevel } from 'classic-level';
import { limits } from '../config/limits.js';
import { BrokerError } from '../errors/index.js';
import { assert } from '../util/assert.js';
import {
  GroupCommit,
  type FsyncPolicy,
  type GroupCommitStats,
  type Logger,
} from './group-commit.js';
import {
  KeySpace,
  LAYOUT_BATCH_STORE,
  LAYOUT_KEY,
  PARTITION_PREFIX_BYTES,
  PartitionKeys,
  decodeState,
  prefixEnd,
  topicIdFromBytes,
  type PartitionState,
} from './keys.js';
import { PartitionLog, type LogContext } from './partition-log.js';
import { TailCacheBudget } from './tail-cache.js';

/** Where the logs live: batches in one LevelDB, their state and indexes in the other. */
export interface LogStores {
  /** Batch keys (0x10) only. */
  readonly batches: ClassicLevel<Buffer, Buffer>;
  /** State, epoch and time-index keys (0x11-0x14), beside other modules' keys. */
  readonly index: ClassicLevel<Buffer, Buffer>;
}

export interface LogManagerConfig {
  /** 'always' (the safe default), 'interval' or 'never'; see group-commit.ts. */
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  readonly logger?: Logger;
  /**
   * Called once on an environment fault (failed write, corrupt read). Default: log, then
   * process.exit(1). A handler that returns leaves the log refusing every write.
   */
  readonly onFatal?: (error: Error) => void;
  /** Whether high watermarks follow the durable end (one node). Default true. */
  readonly highWatermarkFollowsDurableEnd?: boolean;
  /** Smaller queue bounds than limits.inflightAppendsMax / groupCommitBytesMax (for tests). */
  readonly inflightAppendsMax?: number;
  readonly groupCommitBytesMax?: number;
}

const consoleLogger: Logger = {
  info(): void {},
  error(obj: object, msg: string): void {
    console.error(msg, obj);
  },
};

function partitionId(topicId: string, partition: number): string {
  return `${topicId.toLowerCase()}/${partition}`;
}

export class LogManager {
  readonly logger: Logger;
  private readonly commit: GroupCommit;
  private readonly context: LogContext;
  private readonly logs = new Map<string, PartitionLog>();
  /** Creations and deletions in progress, so calls for one partition run one after another. */
  private readonly changes = new Map<string, Promise<unknown>>();
  private readonly followsDurableEnd: boolean;
  private hasFaulted = false;
  private isClosed = false;

  readonly batchDb: ClassicLevel<Buffer, Buffer>;
  readonly indexDb: ClassicLevel<Buffer, Buffer>;

  private constructor(stores: LogStores, config: LogManagerConfig) {
    this.batchDb = stores.batches;
    this.indexDb = stores.index;
    const logger = config.logger ?? consoleLogger;
    this.logger = logger;
    const onFatal =
      config.onFatal ??
      ((error: Error): void => {
        logger.error({ err: error }, 'fatal storage fault; exiting');
        process.exit(1);
      });
    const appendsMax = config.inflightAppendsMax ?? limits.inflightAppendsMax;
    const bytesMax = config.groupCommitBytesMax ?? limits.groupCommitBytesMax;
    assert(appendsMax >= 1 && appendsMax <= limits.inflightAppendsMax, 'inflightAppendsMax');
    assert(bytesMax >= 1 && bytesMax <= limits.groupCommitBytesMax, 'groupCommitBytesMax');
    this.followsDurableEnd = config.highWatermarkFollowsDurableEnd ?? true;
    this.commit = new GroupCommit(stores, {
      fsync: config.fsync,
      fsyncIntervalMs: config.fsyncIntervalMs,
      appendsMax,
      bytesMax,
      logger,
      onFatal: (error) => this.raiseFatal(error, onFatal),
    });
    this.context = {
      batchDb: stores.batches,
      indexDb: stores.index,
      commit: this.commit,
      logger,
      fault: (error, details) => this.fault(error, details, onFatal),
      tailBudget: new TailCacheBudget(limits.logTailCacheBytesMax),
    };
  }

  /**
   * Loads every partition found under key space 0x11 and clears keys of partitions that have
   * no state (left by a deletion a crash interrupted). Throws (after the fatal handler) when
   * stored data fails its checks.
   */
  static async open(stores: LogStores, config: LogManagerConfig): Promise<LogManager> {
    assert(stores.batches.status === 'open', 'LogManager.open: the caller opens the batch store');
    assert(stores.index.status === 'open', 'LogManager.open: the caller opens the index store');
    const manager = new LogManager(stores, config);
    await manager.loadPartitions();
    await manager.clearOrphans(stores.batches, KeySpace.BATCH);
    for (const space of [KeySpace.EPOCH, KeySpace.TIME]) {
      await manager.clearOrphans(stores.index, space);
    }
    manager.logger.info({ partitions: manager.logs.size }, 'partition logs loaded');
    return manager;
  }

  /**
   * Whether `db` holds record batches: a node's main store from before the batch store split,
   * which then stays both stores (README.md, "Two stores").
   */
  static async holdsBatches(db: ClassicLevel<Buffer, Buffer>): Promise<boolean> {
    const gte = Buffer.from([KeySpace.BATCH]);
    const lt = Buffer.from([KeySpace.BATCH + 1]);
    const found = await db.keys({ gte, lt, limit: 1, fillCache: false }).all();
    return found.length > 0;
  }

  /**
   * Whether `db` (a node's main store) says the node keeps a batch store of its own
   * (`recordBatchStore`): then that store missing means its batches are lost.
   */
  static async expectsBatchStore(db: ClassicLevel<Buffer, Buffer>): Promise<boolean> {
    const value = await db.get(LAYOUT_KEY, { fillCache: false });
    return value !== undefined && value.equals(LAYOUT_BATCH_STORE);
  }

  /** Records in `db`, durably, that the node's batches live in a batch store of their own. */
  static async recordBatchStore(db: ClassicLevel<Buffer, Buffer>): Promise<void> {
    if (await LogManager.expectsBatchStore(db)) return;
    await db.put(LAYOUT_KEY, LAYOUT_BATCH_STORE, { sync: true });
  }

  /** Commit-queue counters (writes, synced writes, high-water marks of the queue). */
  get commitStats(): Readonly<GroupCommitStats> {
    return this.commit.stats;
  }

  /** The open partition, or undefined. */
  partition(topicId: string, partition: number): PartitionLog | undefined {
    return this.logs.get(partitionId(topicId, partition));
  }

  /** Every open partition (a new array). */
  partitions(): PartitionLog[] {
    return [...this.logs.values()];
  }

  /**
   * Opens the partition, creating it empty (durably) when it does not exist; idempotent, and
   * ordered after a deletion of the same partition that is still running.
   */
  createPartition(topicId: string, partition: number): Promise<PartitionLog> {
    assert(!this.isClosed, 'createPartition after close');
    const id = partitionId(topicId, partition);
    const existing = this.logs.get(id);
    if (existing !== undefined) return Promise.resolve(existing);
    return this.serialize(id, async () => {
      const log = this.logs.get(id);
      if (log !== undefined) return log;
      // Keys a crash left behind (an interrupted deletion) must not leak into the new log.
      const keys = new PartitionKeys(topicId, partition);
      await this.batchDb.clear({ gte: keys.batches.gte, lt: keys.batches.lt });
      for (const range of keys.allRanges()) {
        await this.indexDb.clear({ gte: range.gte, lt: range.lt });
      }
      const created = await PartitionLog.create(
        this.context,
        topicId,
        partition,
        this.followsDurableEnd,
      );
      this.logs.set(id, created);
      return created;
    });
  }

  /**
   * Forgets the partition and removes all its keys. Calls on it made after this starts fail
   * with UNKNOWN_TOPIC_OR_PARTITION (including reads already waiting on LevelDB). Idempotent.
   */
  deletePartition(topicId: string, partition: number): Promise<void> {
    const id = partitionId(topicId, partition);
    const log = this.logs.get(id);
    if (log === undefined) return (this.changes.get(id) ?? Promise.resolve()).then(() => undefined);
    this.logs.delete(id);
    return this.serialize(id, () => log.delete());
  }

  /** Flushes queued writes (and syncs them, whatever the policy) and stops the fsync timer. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await Promise.allSettled([...this.changes.values()]);
    // A deleteBefore or truncateTo still running would queue its next step after the flush.
    await Promise.allSettled(this.partitions().map((log) => log.settle()));
    await this.commit.close();
  }

  private serialize<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.changes.get(id) ?? Promise.resolve();
    const run = previous.then(task, task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.changes.set(id, settled);
    void settled.then(() => {
      if (this.changes.get(id) === settled) this.changes.delete(id);
    });
    return run;
  }

  private async loadPartitions(): Promise<void> {
    const gte = Buffer.from([KeySpace.STATE]);
    const lt = Buffer.from([KeySpace.STATE + 1]);
    const chunkMax = limits.logMaintenanceBatchesMax;
    let cursor: { gte?: Buffer; gt?: Buffer } = { gte };
    // Chunked so the state of many partitions never sits in one array.
    for (;;) {
      const chunk = await this.indexDb
        .iterator({ ...cursor, lt, limit: chunkMax, fillCache: false })
        .all();
      for (const [key, value] of chunk) await this.loadPartition(key, value);
      if (chunk.length < chunkMax) return;
      cursor = { gt: chunk[chunk.length - 1]![0] };
    }
  }

  private async loadPartition(key: Buffer, value: Buffer): Promise<void> {
    if (key.length !== PARTITION_PREFIX_BYTES) {
      throw this.context.fault(new Error(`state key of ${key.length} bytes`), {
        key: key.toString('hex'),
      });
    }
    const topicId = topicIdFromBytes(key, 1);
    const partition = key.readUInt32BE(1 + 16);
    let state: PartitionState;
    try {
      state = decodeState(value);
    } catch (error) {
      throw this.context.fault(error as Error, { topicId, partition });
    }
    const log = await PartitionLog.recover(
      this.context,
      topicId,
      partition,
      state,
      this.followsDurableEnd,
    );
    this.logs.set(partitionId(topicId, partition), log);
    this.logger.info(
      {
        topicId,
        partition,
        logStartOffset: log.logStartOffset,
        logEndOffset: log.logEndOffset,
        sizeBytes: log.sizeBytes,
      },
      'partition log recovered',
    );
  }

  /**
   * Skip-scans one key space of `db` partition by partition (one seek each) and clears the keys
   * of partitions that have no state record.
   */
  private async clearOrphans(db: ClassicLevel<Buffer, Buffer>, space: KeySpace): Promise<void> {
    const lt = Buffer.from([space + 1]);
    let gte: Buffer = Buffer.from([space]);
    // Each round moves past one partition's keys, so it ends after the last partition.
    for (;;) {
      const keys = await db.keys({ gte, lt, limit: 1, fillCache: false }).all();
      if (keys.length === 0) return;
      const prefix = keys[0]!.subarray(0, PARTITION_PREFIX_BYTES);
      const end = prefixEnd(prefix);
      const topicId = topicIdFromBytes(prefix, 1);
      const partition = prefix.readUInt32BE(1 + 16);
      if (this.partition(topicId, partition) === undefined) {
        this.logger.info({ topicId, partition, space }, 'clearing keys of a deleted partition');
        await db.clear({ gte: prefix, lt: end });
      }
      gte = end;
    }
  }

  private fault(error: Error, details: object, onFatal: (error: Error) => void): BrokerError {
    this.logger.error(
      { err: error, ...details },
      'storage fault: local log state cannot be trusted',
    );
    this.raiseFatal(error, onFatal);
    return new BrokerError('KAFKA_STORAGE_ERROR', `storage fault: ${error.message}`, null, {
      cause: error,
    });
  }

  /** The fatal handler runs once, whichever fault comes first. */
  private raiseFatal(error: Error, onFatal: (error: Error) => void): void {
    if (this.hasFaulted) return;
    this.hasFaulted = true;
    onFatal(error);
  }
}
