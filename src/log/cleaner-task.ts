/**
 * The compaction loop (Kafka's LogCleaner threads, as one timer): every backoffMs, one pass over
 * each local partition of a topic whose cleanup.policy includes compact, leader or follower
 * alike (every replica cleans its own log, as in Kafka), once its dirty bytes reach
 * min.cleanable.dirty.ratio of its size. cleaner.ts holds the rules; PartitionLog.rewriteRange
 * stores each step.
 *
 * A pass over one partition:
 *   1. map: from the first offset not yet cleaned (the log start after a restart), read whole
 *      committed batches older than min.compaction.lag.ms into an OffsetMap, until one is not
 *      cleanable or the map is full; cleanEnd = the end of the last batch mapped;
 *   2. clean [logStart, cleanEnd) in steps of at most stepBatchesMax batches and about
 *      stepBytesMax bytes, each one atomic LevelDB write, yielding to the event loop between
 *      steps. A step whose output ends with an empty batch starts the next step at that batch,
 *      so empty batches merge across step boundaries.
 * A crash between steps leaves a valid log: each step replaces batches with batches covering
 * the same offsets that keep every key's latest record. Progress is in memory only, so after a
 * restart the whole log counts as dirty once.
 */
import { limits } from '../config/limits.js';
import { BrokerError } from '../errors/index.js';
import { RecordBatch, decodeRecords } from '../codec/index.js';
import { assert } from '../util/assert.js';
import {
  OffsetMap,
  cleanBatches,
  isCleanable,
  isDirtyEnough,
  type CleanerPolicy,
} from './cleaner.js';
import type { Logger } from './group-commit.js';
import type { LogManager } from './log-manager.js';
import type { PartitionLog, RewriteResult } from './partition-log.js';

export interface CleanerTaskOptions {
  /** How often the cleaner looks for work (log.cleaner.backoff.ms). */
  readonly backoffMs: number;
  readonly now: () => number;
  readonly logger?: Logger;
  /** Batches per step, 2 to limits.logMaintenanceBatchesMax (the default). */
  readonly stepBatchesMax?: number;
  /** Bytes per step, at least two of the largest batches; default limits.cleanerStepBytesMax. */
  readonly stepBytesMax?: number;
  /** Key-map bounds per pass; defaults limits.cleanerKeysPerPassMax / cleanerKeyBytesPerPassMax. */
  readonly keysMax?: number;
  readonly keyBytesMax?: number;
}

/** What one pass over one partition did. */
export interface CleanerPass {
  readonly topicId: string;
  readonly partition: number;
  /** The range cleaned, [fromOffset, endOffset): up to the planned end unless cut short. */
  readonly fromOffset: number;
  readonly endOffset: number;
  readonly steps: number;
  readonly batchesBefore: number;
  readonly batchesAfter: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly recordsRemoved: number;
}

/** Bytes per read while mapping; any size works, each read returns whole batches. */
const MAP_READ_BYTES = limits.fetchPartitionBytesDefault;

/**
 * Runs compaction over every partition every backoffMs (never two passes at once). `policyFor`
 * gives a topic's cleaning settings, or null to skip it (unknown topic, not compacted).
 */
export class CleanerTask {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<CleanerPass[]> | null = null;
  /** Set by stop(): a pass in progress ends at its next step boundary. */
  private isStopped = false;
  private readonly logger: Logger;
  private readonly stepBatchesMax: number;
  private readonly stepBytesMax: number;

  constructor(
    private readonly manager: LogManager,
    private readonly policyFor: (topicId: string) => CleanerPolicy | null,
    private readonly options: CleanerTaskOptions,
  ) {
    assert(options.backoffMs >= 1, 'cleaner backoffMs >= 1');
    this.logger = options.logger ?? manager.logger;
    this.stepBatchesMax = options.stepBatchesMax ?? limits.logMaintenanceBatchesMax;
    this.stepBytesMax = options.stepBytesMax ?? limits.cleanerStepBytesMax;
    // Two: a step that starts at the empty batch the last one ended with still moves on.
    assert(
      this.stepBatchesMax >= 2 && this.stepBatchesMax <= limits.logMaintenanceBatchesMax,
      'cleaner stepBatchesMax in [2, logMaintenanceBatchesMax]',
    );
    assert(this.stepBytesMax >= 2 * limits.batchBytesMax, 'cleaner stepBytesMax fits 2 batches');
  }

  start(): void {
    if (this.timer !== null) return;
    this.isStopped = false;
    this.timer = setInterval(() => {
      if (this.running !== null) return;
      this.runOnce().catch((error: unknown) => {
        this.logger.error({ err: error }, 'cleaner pass failed');
      });
    }, this.options.backoffMs);
    this.timer.unref();
  }

  /**
   * Stops the timer; resolves when a pass in progress has stopped, which it does after the step
   * it is in (a shutdown does not wait for a whole pass). Every step is atomic, so that is safe.
   */
  async stop(): Promise<void> {
    this.isStopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.running !== null) await this.running.catch(() => undefined);
  }

  /** One pass over all partitions; resolves with what each partition that was cleaned saw. */
  runOnce(): Promise<CleanerPass[]> {
    if (this.running !== null) return this.running;
    this.isStopped = false;
    const run = this.runAll().finally(() => {
      this.running = null;
    });
    this.running = run;
    return run;
  }

  private async runAll(): Promise<CleanerPass[]> {
    const passes: CleanerPass[] = [];
    for (const log of this.manager.partitions()) {
      if (this.isStopped) break;
      const policy = this.policyFor(log.topicId);
      if (policy === null) continue;
      try {
        const pass = await this.clean(log, policy, this.options.now());
        if (pass !== null) passes.push(pass);
      } catch (error) {
        // The partition was deleted or truncated under us: the next pass sees the new state.
        const isMoved =
          error instanceof BrokerError &&
          (error.code === 'UNKNOWN_TOPIC_OR_PARTITION' || error.code === 'OFFSET_OUT_OF_RANGE');
        if (!isMoved) {
          // One partition's failure must not stop the others from being cleaned.
          this.logger.error({ err: error, partition: log.name }, 'cleaning a partition failed');
        }
      }
      await yieldToEventLoop();
    }
    return passes;
  }

  /** One pass over one partition, or null when it is not dirty enough or nothing is cleanable. */
  private async clean(
    log: PartitionLog,
    policy: CleanerPolicy,
    nowMs: number,
  ): Promise<CleanerPass | null> {
    if (!isDirtyEnough(log.dirtyBytes, log.sizeBytes, policy.minCleanableDirtyRatio)) return null;
    const map = new OffsetMap(
      this.options.keysMax ?? limits.cleanerKeysPerPassMax,
      this.options.keyBytesMax ?? limits.cleanerKeyBytesPerPassMax,
    );
    // A truncation after this point (an unclean election can replace committed records) makes
    // every step of this pass do nothing: the map may describe records no longer there.
    const truncationCount = log.truncationCount;
    const mapStart = Math.max(log.cleanedEndOffset, log.logStartOffset);
    const cleanEnd = await this.buildMap(log, map, mapStart, nowMs, policy.minCompactionLagMs);
    if (cleanEnd <= mapStart) return null;
    return this.cleanRange(log, map, cleanEnd, nowMs, policy, truncationCount);
  }

  /**
   * Maps committed batches from `fromOffset` while each is cleanable and fits the map; returns
   * the end of the last batch mapped (fromOffset when none was).
   */
  private async buildMap(
    log: PartitionLog,
    map: OffsetMap,
    fromOffset: number,
    nowMs: number,
    minCompactionLagMs: number,
  ): Promise<number> {
    const highWatermark = log.highWatermark;
    let cleanEnd = fromOffset;
    // Each round maps at least one batch or stops, and the scan ends at the high watermark.
    while (cleanEnd < highWatermark && !this.isStopped) {
      const read = await log.read(cleanEnd, MAP_READ_BYTES, { maxOffset: highWatermark });
      if (read.batches.length === 0) return cleanEnd;
      for (const batch of read.batches) {
        const header = RecordBatch.of(batch);
        if (!isCleanable(header, highWatermark, nowMs, minCompactionLagMs)) return cleanEnd;
        const records = header.recordCount === 0 ? [] : await decodeRecords(batch);
        if (!map.putBatch(records)) return cleanEnd;
        cleanEnd = header.nextOffset;
      }
      await yieldToEventLoop();
    }
    return cleanEnd;
  }

  /** Rewrites [logStart, cleanEnd) step by step and logs one line for the pass. */
  private async cleanRange(
    log: PartitionLog,
    map: OffsetMap,
    cleanEnd: number,
    nowMs: number,
    policy: CleanerPolicy,
    truncationCount: number,
  ): Promise<CleanerPass> {
    const stepOptions = {
      batchesMax: this.stepBatchesMax,
      bytesMax: this.stepBytesMax,
      truncationCount,
    };
    const totals = { steps: 0, batchesBefore: 0, batchesAfter: 0, bytesBefore: 0, bytesAfter: 0 };
    let recordsRemoved = 0;
    const fromOffset = log.logStartOffset;
    let from = fromOffset;
    let reached = fromOffset;
    let carried: Buffer | null = null;
    // Each step moves `from` past at least one batch (see the carry below), up to cleanEnd.
    while (from < cleanEnd && !this.isStopped) {
      const step: RewriteResult | null = await log.rewriteRange(
        from,
        cleanEnd,
        stepOptions,
        async (batches) => {
          const cleaned = await cleanBatches(batches, map, nowMs, policy);
          recordsRemoved += cleaned.recordsBefore - cleaned.recordsAfter;
          return cleaned.batches;
        },
      );
      if (step === null) break;
      reached = step.endOffset;
      totals.steps++;
      totals.batchesBefore += step.batchesBefore;
      totals.bytesBefore += step.bytesBefore;
      totals.batchesAfter += step.batchesAfter.length;
      totals.bytesAfter += step.bytesAfter;
      if (carried !== null && step.firstOffset === RecordBatch.of(carried).baseOffset) {
        // The carried batch was counted as the last step's output; it is not a new input.
        totals.batchesBefore--;
        totals.bytesBefore -= carried.length;
        totals.batchesAfter--;
        totals.bytesAfter -= carried.length;
      }
      carried = null;
      const last = step.batchesAfter[step.batchesAfter.length - 1]!;
      const lastHeader = RecordBatch.of(last);
      // An empty batch at a step's end may merge with empty batches the next step produces, so
      // the next step starts with it. It still moves on: that batch is one small batch now, and
      // a step always has room for it and the (at most batchBytesMax) batch after it.
      if (step.endOffset < cleanEnd && lastHeader.recordCount === 0) {
        carried = last;
        from = lastHeader.baseOffset;
      } else {
        from = step.endOffset;
      }
      await yieldToEventLoop();
    }
    const pass: CleanerPass = {
      topicId: log.topicId,
      partition: log.partition,
      fromOffset,
      // cleanEnd, unless the log moved under the pass or the task was stopped.
      endOffset: reached,
      ...totals,
      recordsRemoved,
    };
    this.logger.info({ ...pass, partition: log.name }, 'cleaned partition log');
    return pass;
  }
}

/** Resolves after the event loop has polled for I/O once. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
