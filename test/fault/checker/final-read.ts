/**
 * The read of every partition after the faults healed, assembled from final-poll ops. It is the
 * ground truth lost writes are judged against, so it must be complete: its records together must
 * cover every offset from 0 (no retention runs in fault tests) to the high watermark the last
 * final-poll of the partition reported.
 */

/** What the final read of one partition returned. */
export interface FinalReadOfPartition {
  /** The record at each offset, as first returned. */
  readonly offsets: ReadonlyMap<number, string>;
  /** Every value returned, at any offset. */
  readonly values: ReadonlySet<string>;
  /** From the last ok final-poll; undefined when it reported none. */
  readonly highWatermark: number | undefined;
}

/** Why a final read cannot be trusted as the whole log, for a report. */
export interface IncompleteFinalRead {
  readonly partition: number;
  readonly reason: 'no final read' | 'no high watermark' | 'offsets missing';
  readonly highWatermark: number | undefined;
  readonly missingOffsets: number;
  readonly firstMissingOffset: number | undefined;
}

interface MutableRead {
  readonly offsets: Map<number, string>;
  readonly values: Set<string>;
  highWatermark: number | undefined;
}

export class FinalRead {
  private readonly reads = new Map<number, MutableRead>();

  /** An ok final-poll of `partition` returned `records` and reported `highWatermark`. */
  observe(
    partition: number,
    records: ReadonlyArray<readonly [number, string]>,
    highWatermark: number | undefined,
  ): void {
    let read = this.reads.get(partition);
    if (read === undefined) {
      read = { offsets: new Map(), values: new Set(), highWatermark: undefined };
      this.reads.set(partition, read);
    }
    for (const [offset, value] of records) {
      // A second value at an offset is an inconsistency, reported by LogObservations.
      if (!read.offsets.has(offset)) read.offsets.set(offset, value);
      read.values.add(value);
    }
    read.highWatermark = highWatermark;
  }

  /** What the final read of `partition` returned, or undefined when no final-poll succeeded. */
  of(partition: number): FinalReadOfPartition | undefined {
    return this.reads.get(partition);
  }

  /** Why the final read of `partition` is incomplete, or null when it is complete. */
  incompleteness(partition: number): IncompleteFinalRead | null {
    const read = this.reads.get(partition);
    if (read === undefined) {
      return incomplete(partition, 'no final read', undefined, 0, undefined);
    }
    const { highWatermark } = read;
    if (highWatermark === undefined) {
      return incomplete(partition, 'no high watermark', undefined, 0, undefined);
    }
    let missingOffsets = 0;
    let firstMissingOffset: number | undefined;
    for (let offset = 0; offset < highWatermark; offset++) {
      if (read.offsets.has(offset)) continue;
      missingOffsets += 1;
      firstMissingOffset ??= offset;
    }
    if (missingOffsets === 0) return null;
    return incomplete(
      partition,
      'offsets missing',
      highWatermark,
      missingOffsets,
      firstMissingOffset,
    );
  }
}

function incomplete(
  partition: number,
  reason: IncompleteFinalRead['reason'],
  highWatermark: number | undefined,
  missingOffsets: number,
  firstMissingOffset: number | undefined,
): IncompleteFinalRead {
  return { partition, reason, highWatermark, missingOffsets, firstMissingOffset };
}
