/**
 * The leader-epoch cache of one partition (Kafka's LeaderEpochFileCache, KIP-101 / KIP-279): for
 * every leader epoch that appended records, the offset of its first record. Pure and in memory;
 * PartitionLog persists each change under key space 0x12 in the same LevelDB batch as the data
 * that caused it. Epochs and start offsets both strictly increase along the arrays.
 */
import { assert } from '../util/assert.js';

/** Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET. */
export const EPOCH_UNDEFINED = -1;
export const EPOCH_OFFSET_UNDEFINED = -1;

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export interface EpochEndOffset {
  readonly epoch: number;
  readonly endOffset: number;
}

/** What truncateFromStart changed, so the caller can persist exactly that. */
export interface EpochStartChange {
  /** Epochs whose entries were removed. */
  readonly removedEpochs: number[];
  /** The entry whose start offset moved up to the new log start, or null. */
  readonly moved: EpochEntry | null;
}

export class LeaderEpochCache {
  private readonly epochs: number[] = [];
  private readonly startOffsets: number[] = [];

  get size(): number {
    return this.epochs.length;
  }

  /** The newest epoch, or EPOCH_UNDEFINED when no epoch has appended yet. */
  latestEpoch(): number {
    return this.epochs.length === 0 ? EPOCH_UNDEFINED : this.epochs[this.epochs.length - 1]!;
  }

  /** Start offset of the newest epoch, or -1 when the cache is empty. */
  latestStartOffset(): number {
    const count = this.startOffsets.length;
    return count === 0 ? EPOCH_OFFSET_UNDEFINED : this.startOffsets[count - 1]!;
  }

  /** Entries in order, as [epoch, startOffset] pairs (a copy, for tests and inspection). */
  entries(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.epochs.length; i++) out.push([this.epochs[i]!, this.startOffsets[i]!]);
    return out;
  }

  /**
   * Records that `epoch` starts at `startOffset` when it is newer than the latest. Returns null
   * when nothing changed, else the epochs whose entries it removed (usually none): an entry
   * starting at or after `startOffset` held no record of its own (truncateFromStart moved it to
   * the log start), so, as in Kafka's assign, the new epoch replaces it. An older epoch is a bug
   * in the caller (a fenced leader must not append), so it asserts.
   */
  maybeAssign(epoch: number, startOffset: number): number[] | null {
    assert(Number.isInteger(epoch) && epoch >= 0, `leader epoch ${epoch} is not >= 0`);
    const latest = this.latestEpoch();
    assert(epoch >= latest, `leader epoch ${epoch} is older than the latest ${latest}`);
    if (epoch === latest) return null;
    const removed = this.truncateFromEnd(startOffset);
    assert(removed.length <= 1, 'only a moved entry can start at the log end');
    this.epochs.push(epoch);
    this.startOffsets.push(startOffset);
    return removed.length === 0 ? [] : [removed[0]!.epoch];
  }

  /** Loads one stored entry; entries must come in epoch order (LevelDB key order). */
  load(epoch: number, startOffset: number): void {
    const latest = this.latestEpoch();
    assert(epoch > latest, `stored epoch ${epoch} is not after ${latest}`);
    const lastStart = this.startOffsets[this.startOffsets.length - 1];
    assert(lastStart === undefined || startOffset > lastStart, 'stored epoch starts increase');
    this.epochs.push(epoch);
    this.startOffsets.push(startOffset);
  }

  /**
   * Kafka's OffsetsForLeaderEpoch answer for `requestedEpoch`: the largest epoch <= requested
   * and the start offset of the next larger epoch, or logEndOffset when the requested epoch is
   * the latest. A requested epoch older than every entry gets (requested, first start offset);
   * one newer than the latest, or an empty cache, gets (UNDEFINED, UNDEFINED), as in Kafka.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const count = this.epochs.length;
    if (requestedEpoch === EPOCH_UNDEFINED || count === 0) {
      return { epoch: EPOCH_UNDEFINED, endOffset: EPOCH_OFFSET_UNDEFINED };
    }
    if (requestedEpoch === this.epochs[count - 1]) {
      return { epoch: requestedEpoch, endOffset: logEndOffset };
    }
    // Index of the first epoch greater than the requested one: a plain scan, the cache holds
    // one entry per leader change within the retained log.
    let higher = 0;
    while (higher < count && this.epochs[higher]! <= requestedEpoch) higher++;
    if (higher === count) return { epoch: EPOCH_UNDEFINED, endOffset: EPOCH_OFFSET_UNDEFINED };
    const endOffset = this.startOffsets[higher]!;
    if (higher === 0) return { epoch: requestedEpoch, endOffset };
    return { epoch: this.epochs[higher - 1]!, endOffset };
  }

  /** Removes the entries that start at or after `endOffset`; returns them, newest first. */
  truncateFromEnd(endOffset: number): EpochEntry[] {
    const removed: EpochEntry[] = [];
    // Bounded by the entry count.
    while (
      this.startOffsets.length > 0 &&
      this.startOffsets[this.startOffsets.length - 1]! >= endOffset
    ) {
      removed.push({ epoch: this.epochs.pop()!, startOffset: this.startOffsets.pop()! });
    }
    return removed;
  }

  /**
   * Drops entries wholly before the new log start: every entry starting at or before
   * `startOffset` goes, except the last one, which now starts at `startOffset` (Kafka's
   * truncateFromStart), so the epoch of the first retained record is still known.
   */
  truncateFromStart(startOffset: number): EpochStartChange {
    let covered = 0;
    while (covered < this.startOffsets.length && this.startOffsets[covered]! <= startOffset) {
      covered++;
    }
    if (covered === 0) return { removedEpochs: [], moved: null };
    const removedEpochs = this.epochs.splice(0, covered - 1);
    this.startOffsets.splice(0, covered - 1);
    assert(this.startOffsets[0]! <= startOffset, 'the kept entry starts at or before the cut');
    if (this.startOffsets[0] === startOffset) return { removedEpochs, moved: null };
    this.startOffsets[0] = startOffset;
    return { removedEpochs, moved: { epoch: this.epochs[0]!, startOffset } };
  }
}
