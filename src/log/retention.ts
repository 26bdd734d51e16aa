/**
 * Retention by time (`retention.ms`) and size (`retention.bytes`): whole batches go from the
 * front of a partition and its log start offset advances. The decision is a pure function of
 * batch header summaries; RetentionTask reads those in bounded chunks and calls deleteBefore.
 */
import { limits } from '../config/limits.js';
import { BrokerError } from '../errors/index.js';
import { assert } from '../util/assert.js';
import type { Logger } from './group-commit.js';
import type { LogManager } from './log-manager.js';
import type { BatchSummary, PartitionLog } from './partition-log.js';

export interface RetentionPolicy {
  /** Delete batches whose maxTimestamp is older than this; -1 keeps them forever. */
  readonly retentionMs: number;
  /** Delete from the front while the log stays at least this big without the batch; -1: no limit. */
  readonly retentionBytes: number;
}

export interface RetentionInput {
  /** Summaries of the first stored batches, in offset order, starting at the log start. */
  readonly batches: readonly BatchSummary[];
  /** The whole partition's stored bytes, not only those of `batches`. */
  readonly sizeBytes: number;
  readonly highWatermark: number;
}

/**
 * The new log start offset, or null when nothing should go. Walks the front batches in order and
 * removes one while it is expired by time (maxTimestamp < nowMs - retentionMs) or the log without
 * it is still at least retentionBytes; stops at the first batch neither rule removes, and never
 * removes a batch that is not wholly below the high watermark. The result is a batch boundary.
 */
export function retentionCutoff(
  input: RetentionInput,
  policy: RetentionPolicy,
  nowMs: number,
): number | null {
  assert(policy.retentionMs >= -1 && policy.retentionBytes >= -1, 'retention settings >= -1');
  const hasTimeLimit = policy.retentionMs >= 0;
  const hasSizeLimit = policy.retentionBytes >= 0;
  if (!hasTimeLimit && !hasSizeLimit) return null;
  const expiredBeforeMs = nowMs - policy.retentionMs;
  let sizeBytes = input.sizeBytes;
  let cutoff: number | null = null;
  for (let i = 0; i < input.batches.length; i++) {
    const batch = input.batches[i]!;
    assert(batch.lastOffset >= batch.baseOffset, 'retention: a batch holds a record');
    if (batch.lastOffset >= input.highWatermark) break;
    const isExpired = hasTimeLimit && batch.maxTimestamp < expiredBeforeMs;
    const isOverSize = hasSizeLimit && sizeBytes - batch.byteLength >= policy.retentionBytes;
    if (!isExpired && !isOverSize) break;
    sizeBytes -= batch.byteLength;
    cutoff = batch.lastOffset + 1;
  }
  return cutoff;
}

export interface RetentionTaskOptions {
  readonly intervalMs: number;
  readonly now: () => number;
  readonly logger?: Logger;
}

/** Summaries read per step start small (most passes delete nothing) and double up to this. */
const CHUNK_BATCHES_MIN = 8;

/**
 * Runs retention over every partition every intervalMs (never two passes at once). `policyFor`
 * gives a topic's settings, or null to skip it (unknown topic, compacted topic).
 */
export class RetentionTask {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private readonly logger: Logger;

  constructor(
    private readonly manager: LogManager,
    private readonly policyFor: (topicId: string) => RetentionPolicy | null,
    private readonly options: RetentionTaskOptions,
  ) {
    assert(options.intervalMs >= 1, 'retention intervalMs >= 1');
    this.logger = options.logger ?? manager.logger;
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      if (this.running !== null) return;
      this.runOnce().catch((error: unknown) => {
        this.logger.error({ err: error }, 'retention pass failed');
      });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer; resolves when a pass in progress has finished. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.running !== null) await this.running.catch(() => undefined);
  }

  /** One pass over all partitions; resolves with the number of batches deleted. */
  runOnce(): Promise<number> {
    if (this.running !== null) return this.running;
    const run = this.runAll().finally(() => {
      this.running = null;
    });
    this.running = run;
    return run;
  }

  private async runAll(): Promise<number> {
    const nowMs = this.options.now();
    let deleted = 0;
    for (const log of this.manager.partitions()) {
      const policy = this.policyFor(log.topicId);
      if (policy === null) continue;
      try {
        deleted += await this.retain(log, policy, nowMs);
      } catch (error) {
        // The partition was deleted or truncated under us: the next pass sees the new state.
        const isMoved =
          error instanceof BrokerError &&
          (error.code === 'UNKNOWN_TOPIC_OR_PARTITION' || error.code === 'OFFSET_OUT_OF_RANGE');
        if (!isMoved) throw error;
      }
    }
    return deleted;
  }

  /** Applies the policy to one partition; returns the batches it deleted. */
  private async retain(log: PartitionLog, policy: RetentionPolicy, nowMs: number): Promise<number> {
    if (
      policy.retentionMs < 0 &&
      (policy.retentionBytes < 0 || log.sizeBytes <= policy.retentionBytes)
    ) {
      return 0;
    }
    const highWatermark = log.highWatermark;
    let sizeBytes = log.sizeBytes;
    let cursor = log.logStartOffset;
    let cutoff: number | null = null;
    let deleted = 0;
    let chunk = CHUNK_BATCHES_MIN;
    for (let scanned = 0; scanned < limits.retentionBatchesPerRunMax && cursor < highWatermark;) {
      const batches = await log.batchSummaries(cursor, chunk);
      const cut = retentionCutoff({ batches, sizeBytes, highWatermark }, policy, nowMs);
      if (cut === null) break;
      let removed = 0;
      while (removed < batches.length && batches[removed]!.lastOffset < cut) {
        sizeBytes -= batches[removed]!.byteLength;
        removed++;
      }
      deleted += removed;
      scanned += batches.length;
      cutoff = cut;
      cursor = cut;
      if (removed < batches.length) break;
      chunk = Math.min(chunk * 2, limits.logMaintenanceBatchesMax);
    }
    if (cutoff === null) return 0;
    await log.deleteBefore(cutoff);
    return deleted;
  }
}
