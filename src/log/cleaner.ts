/**
 * Log compaction (`cleanup.policy=compact`, Kafka's log cleaner), the deciding half: which
 * records of a run of stored batches survive a cleaning pass, and which batches replace them.
 * No LevelDB, no clock (the caller passes nowMs), no timers; it uses the codec to decode and
 * rebuild batches. cleaner-task.ts runs it over a node's partitions, and PartitionLog.rewriteRange
 * stores its output, one atomic write per step.
 *
 * A pass over one partition (cleaner-task.ts):
 *   1. map: from the first offset not cleaned yet, read whole batches while each one is below the
 *      high watermark and older than min.compaction.lag.ms (its maxTimestamp), recording each
 *      key's latest offset in an OffsetMap; stop early when the map is full. cleanEnd = the end
 *      of the last batch mapped.
 *   2. clean: rewrite [logStart, cleanEnd) in steps with cleanBatches.
 *
 * The rules (Kafka's, with Brook's choices marked):
 * - A record is kept iff it is the last record with its key (key bytes compared exactly) in the
 *   cleaned range. Records before the mapped section are already the only ones with their key
 *   there (the previous pass made them so), so "not in the map" means "keep". A keyless record
 *   (possible only in a log written before the topic became compacted) is always kept.
 * - A tombstone (null value) that is the latest for its key is kept until its batch is older
 *   than delete.retention.ms: dropped once nowMs - batch maxTimestamp > delete.retention.ms.
 *   Brook's choice: Kafka counts from the first cleaning that saw the tombstone (a "delete
 *   horizon" stamped into the batch); Brook uses the record's batch time, which needs no extra
 *   state and is the same on every replica.
 * - A thinned batch keeps its header (baseOffset, lastOffsetDelta, leader epoch, producer
 *   fields, timestamp type, firstTimestamp, maxTimestamp, codec); the kept records keep their
 *   bytes, so their offsetDelta and timestampDelta (codec retainRecords).
 * - Brook's choice: the stored log stays gap-free. A batch left without records becomes an empty
 *   batch covering the same offsets, and consecutive empty batches of the same leader epoch are
 *   merged into one (up to an int32 of offsets). After a pass the number of batches is bounded by
 *   the records kept plus the leader epochs, so a compacted log such as __consumer_offsets does
 *   not grow with the updates it has seen.
 */
import {
  RecordBatch,
  decodeRecords,
  encodeEmptyBatch,
  retainRecords,
  type DecodedRecord,
} from '../codec/index.js';
import { limits } from '../config/limits.js';
import { assert } from '../util/assert.js';

/** A compacted topic's cleaning settings. */
export interface CleanerPolicy {
  /** How long a tombstone that is the latest for its key stays (delete.retention.ms). */
  readonly deleteRetentionMs: number;
  /** Batches whose maxTimestamp is newer than now minus this are not cleaned yet. */
  readonly minCompactionLagMs: number;
  /** Clean once dirty bytes / all bytes reach this (min.cleanable.dirty.ratio, in [0, 1]). */
  readonly minCleanableDirtyRatio: number;
}

/** The most offsets one empty batch covers: lastOffsetDelta is an int32. */
const EMPTY_BATCH_SPAN_MAX = 0x7fff_ffff;

/**
 * The latest offset of each key in the section a pass maps, bounded in keys and key bytes. Keys
 * are held as latin1 strings (one character per byte), so comparison is exact and there are no
 * hash collisions. Not shared: one map per pass.
 */
export class OffsetMap {
  private readonly offsets = new Map<string, number>();
  private bytes = 0;

  constructor(
    readonly keysMax: number = limits.cleanerKeysPerPassMax,
    readonly keyBytesMax: number = limits.cleanerKeyBytesPerPassMax,
  ) {
    assert(keysMax >= 1 && keyBytesMax >= 1, 'OffsetMap bounds >= 1');
  }

  /** Distinct keys held. */
  get size(): number {
    return this.offsets.size;
  }

  /** Bytes of the distinct keys held. */
  get keyBytes(): number {
    return this.bytes;
  }

  /**
   * Records every keyed record of one batch (records in offset order, so the latest wins), or,
   * when the batch's keys that are new to the map would not fit its bounds, nothing: false. A
   * batch is mapped whole or not at all, so the section a pass cleans ends on a batch boundary.
   */
  putBatch(records: readonly DecodedRecord[]): boolean {
    const keys: Array<string | null> = [];
    const fresh = new Set<string>();
    let freshBytes = 0;
    for (const record of records) {
      if (record.key === null) {
        keys.push(null);
        continue;
      }
      const key = record.key.toString('latin1');
      keys.push(key);
      if (!this.offsets.has(key) && !fresh.has(key)) {
        fresh.add(key);
        freshBytes += record.key.length;
      }
    }
    if (this.offsets.size + fresh.size > this.keysMax) return false;
    if (this.bytes + freshBytes > this.keyBytesMax) return false;
    for (let i = 0; i < records.length; i++) {
      const key = keys[i];
      if (key !== null && key !== undefined) this.offsets.set(key, records[i]!.offset);
    }
    this.bytes += freshBytes;
    return true;
  }

  /** The latest mapped offset of `key`, or undefined when the mapped section does not hold it. */
  latestOffset(key: Buffer): number | undefined {
    return this.offsets.get(key.toString('latin1'));
  }
}

/** The header fields the cleanable-end decision reads. */
export interface CleanableBatch {
  readonly nextOffset: number;
  readonly maxTimestamp: number;
}

/**
 * Whether a batch may be cleaned now: wholly below the high watermark (uncommitted records may
 * still be truncated, and replicas must agree on what they clean from) and no newer than
 * min.compaction.lag.ms (so a consumer gets that long to see every update).
 */
export function isCleanable(
  batch: CleanableBatch,
  highWatermark: number,
  nowMs: number,
  minCompactionLagMs: number,
): boolean {
  return batch.nextOffset <= highWatermark && batch.maxTimestamp <= nowMs - minCompactionLagMs;
}

/** Whether a partition is worth a pass: some dirty bytes, and at least the ratio of them. */
export function isDirtyEnough(dirtyBytes: number, sizeBytes: number, ratio: number): boolean {
  assert(ratio >= 0 && ratio <= 1, 'min.cleanable.dirty.ratio is in [0, 1]');
  if (dirtyBytes <= 0 || sizeBytes <= 0) return false;
  return dirtyBytes / sizeBytes >= ratio;
}

/**
 * Which records of one batch survive (1) or go (0), in record order. `records` are the batch's
 * decoded records; `map` holds the latest offset of each key in the cleaned range's mapped
 * section. A record whose key the map holds at a later offset goes; the latest record of a key
 * goes only when it is a tombstone whose batch is older than delete.retention.ms.
 */
export function keepFlags(
  records: readonly DecodedRecord[],
  map: OffsetMap,
  batchMaxTimestamp: number,
  nowMs: number,
  deleteRetentionMs: number,
): Uint8Array {
  const keep = new Uint8Array(records.length);
  const isTombstoneExpired = nowMs - batchMaxTimestamp > deleteRetentionMs;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (record.key === null) {
      keep[i] = 1;
      continue;
    }
    const latest = map.latestOffset(record.key);
    // Not mapped: the only record with its key before the mapped section (the previous pass
    // left one per key there). Mapped at or before this offset: this is the latest.
    const isLatest = latest === undefined || latest <= record.offset;
    if (!isLatest) continue;
    if (record.value === null && isTombstoneExpired) continue;
    keep[i] = 1;
  }
  return keep;
}

/** What planBatches needs of one input batch and its keep flags. */
export interface PlanInput {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly leaderEpoch: number;
  readonly recordCount: number;
  readonly keptCount: number;
}

/**
 * One output batch: an input kept as it is ('same'), an input thinned to its kept records
 * ('retain'), or one empty batch covering inputs first..last (all left without records).
 */
export type BatchPlan =
  | { readonly kind: 'same'; readonly index: number }
  | { readonly kind: 'retain'; readonly index: number }
  | { readonly kind: 'empty'; readonly first: number; readonly last: number };

/**
 * The output batches for a contiguous run of inputs: inputs that keep every record stay as they
 * are; inputs that keep some are thinned; consecutive inputs that keep none and share a leader
 * epoch become one empty batch (up to an int32 of offsets). A lone input that was already
 * empty stays as it is. The outputs cover exactly the inputs' offsets, in order.
 */
export function planBatches(inputs: readonly PlanInput[]): BatchPlan[] {
  const plans: BatchPlan[] = [];
  let run: { first: number; last: number } | null = null;
  const closeRun = (): void => {
    if (run === null) return;
    const isAlreadyEmpty = run.first === run.last && inputs[run.first]!.recordCount === 0;
    plans.push(
      isAlreadyEmpty
        ? { kind: 'same', index: run.first }
        : { kind: 'empty', first: run.first, last: run.last },
    );
    run = null;
  };
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    assert(input.keptCount >= 0 && input.keptCount <= input.recordCount, 'planBatches: kept');
    assert(i === 0 || input.baseOffset === inputs[i - 1]!.lastOffset + 1, 'planBatches: gap');
    if (input.keptCount > 0) {
      closeRun();
      plans.push({ kind: input.keptCount === input.recordCount ? 'same' : 'retain', index: i });
      continue;
    }
    if (run !== null) {
      const head = inputs[run.first]!;
      const fits = input.lastOffset - head.baseOffset <= EMPTY_BATCH_SPAN_MAX;
      if (head.leaderEpoch === input.leaderEpoch && fits) {
        run.last = i;
        continue;
      }
      closeRun();
    }
    run = { first: i, last: i };
  }
  closeRun();
  return plans;
}

/** The result of cleaning one run of batches. */
export interface CleanedRun {
  /** The batches that replace the run, covering exactly its offsets; unchanged inputs reused. */
  readonly batches: Buffer[];
  /** Whether any batch differs from the input. */
  readonly isChanged: boolean;
  readonly recordsBefore: number;
  readonly recordsAfter: number;
}

/**
 * Cleans a contiguous run of checked, stored batches against `map` (the latest offset per key of
 * the pass's mapped section) at time nowMs: decodes each batch, decides with keepFlags and
 * planBatches, and builds the output with the codec (retainRecords, encodeEmptyBatch).
 * Recompression runs off the event loop. The inputs are not modified. Rejects with
 * BrokerError('CORRUPT_MESSAGE') when a batch's records do not decode.
 */
export async function cleanBatches(
  batches: readonly Buffer[],
  map: OffsetMap,
  nowMs: number,
  policy: CleanerPolicy,
): Promise<CleanedRun> {
  const inputs: PlanInput[] = [];
  const flags: Uint8Array[] = [];
  let recordsBefore = 0;
  let recordsAfter = 0;
  for (const batch of batches) {
    const header = RecordBatch.of(batch);
    const records = header.recordCount === 0 ? [] : await decodeRecords(batch);
    const keep = keepFlags(records, map, header.maxTimestamp, nowMs, policy.deleteRetentionMs);
    let keptCount = 0;
    for (let i = 0; i < keep.length; i++) keptCount += keep[i]!;
    flags.push(keep);
    inputs.push({
      baseOffset: header.baseOffset,
      lastOffset: header.lastOffset,
      leaderEpoch: header.leaderEpoch,
      recordCount: header.recordCount,
      keptCount,
    });
    recordsBefore += header.recordCount;
    recordsAfter += keptCount;
  }
  const output: Buffer[] = [];
  let isChanged = false;
  for (const plan of planBatches(inputs)) {
    switch (plan.kind) {
      case 'same':
        output.push(batches[plan.index]!);
        break;
      case 'retain':
        output.push(await retainRecords(batches[plan.index]!, flags[plan.index]!));
        isChanged = true;
        break;
      case 'empty':
        output.push(emptyBatchFor(batches, plan.first, plan.last));
        isChanged = true;
        break;
    }
  }
  return { batches: output, isChanged, recordsBefore, recordsAfter };
}

/**
 * One empty batch for inputs first..last: the first one's header (epoch, producer fields,
 * timestamp type, firstTimestamp), spanning to the last one's end, with the run's largest
 * maxTimestamp so retention and the time index still see the newest time the run held.
 */
function emptyBatchFor(batches: readonly Buffer[], first: number, last: number): Buffer {
  const head = RecordBatch.of(batches[first]!);
  let maxTimestamp = head.maxTimestamp;
  for (let i = first + 1; i <= last; i++) {
    maxTimestamp = Math.max(maxTimestamp, RecordBatch.of(batches[i]!).maxTimestamp);
  }
  return encodeEmptyBatch({
    attributes: head.attributes,
    baseOffset: head.baseOffset,
    lastOffsetDelta: RecordBatch.of(batches[last]!).lastOffset - head.baseOffset,
    leaderEpoch: head.leaderEpoch,
    firstTimestamp: head.firstTimestamp,
    maxTimestamp,
    producerId: head.producerId,
    producerEpoch: head.producerEpoch,
    baseSequence: head.baseSequence,
  });
}
