/**
 * Per reader and partition, where the next record must be. A reader consumes a partition in
 * order, so within one poll offsets rise by exactly one, and each poll starts one past where the
 * previous one ended. An assign (a reader repositioning itself after a start or an error) sets
 * the position: the first record after it must be the offset assigned (Jepsen only forgets the
 * position; Brook's readers seek to offsets known to exist, so a consumer that starts elsewhere
 * is caught too). Offsets are contiguous in Brook, so "one past" is plain arithmetic
 * (Jepsen needs the observed version order because Kafka offsets may have gaps).
 */
import type { AnomalyLog } from './anomaly-log.js';

export const OrderAnomaly = {
  /** A reader went backwards or read an offset twice. */
  NONMONOTONIC: 'nonmonotonic',
  /** A reader jumped over offsets that exist. */
  SKIP: 'skip',
} as const;

interface Position {
  /** The offset the next record must have: the last one read, plus one. */
  readonly nextOffset: number;
  /** The poll that read the last record. */
  readonly opIndex: number;
}

export class ReaderPositions {
  private readonly positions = new Map<string, Position>();

  constructor(private readonly anomalies: AnomalyLog) {}

  /** The reader repositioned to `offset`: its next record on this partition must be that one. */
  assign(process: string, partition: number, offset: number, opIndex: number): void {
    this.positions.set(positionKey(process, partition), { nextOffset: offset, opIndex });
  }

  /** An ok poll by `process` of `partition` returned `records`, in the order returned. */
  observePoll(
    process: string,
    partition: number,
    records: ReadonlyArray<readonly [number, string]>,
    opIndex: number,
  ): void {
    const key = positionKey(process, partition);
    let previous = this.positions.get(key);
    for (const [offset] of records) {
      if (previous !== undefined) {
        this.checkStep(process, partition, previous, offset, opIndex);
      }
      previous = { nextOffset: offset + 1, opIndex };
    }
    // A poll that returned nothing leaves the reader where it was.
    if (previous !== undefined) this.positions.set(key, previous);
  }

  private checkStep(
    process: string,
    partition: number,
    previous: Position,
    offset: number,
    opIndex: number,
  ): void {
    if (offset === previous.nextOffset) return;
    const name = offset < previous.nextOffset ? OrderAnomaly.NONMONOTONIC : OrderAnomaly.SKIP;
    const opIndexes = previous.opIndex === opIndex ? [opIndex] : [previous.opIndex, opIndex];
    this.anomalies.add(name, true, {
      process,
      partition,
      previousOffset: previous.nextOffset - 1,
      offset,
      opIndexes,
    });
  }
}

function positionKey(process: string, partition: number): string {
  return `${process}/${partition}`;
}
