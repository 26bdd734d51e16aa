/**
 * What every offset of every partition was seen holding, and where every value was read. Brook's
 * logs are contiguous and never rewritten (no compaction, no transactions), so one offset holds
 * one value forever: two values at one offset is an inconsistency whoever saw them and whenever,
 * and one value read at two places is a duplicate.
 */
import { EXAMPLES_MAX, type AnomalyLog } from './anomaly-log.js';

/** A place a value was read, and the op (a poll or final-poll completion) that read it. */
export interface ReadLocation {
  readonly partition: number;
  readonly offset: number;
  readonly opIndex: number;
}

interface Sighting {
  readonly value: string;
  readonly opIndex: number;
}

/** An offset seen with two or more values: each distinct value and the first op that saw it. */
interface Conflict {
  readonly partition: number;
  readonly offset: number;
  readonly values: string[];
  readonly opIndexes: number[];
}

export class LogObservations {
  /** Per partition, per offset: the first value seen there. */
  private readonly firstSeen = new Map<number, Map<number, Sighting>>();
  /** Offsets seen with differing values, by `${partition}/${offset}`, first found first. */
  private readonly conflicts = new Map<string, Conflict>();
  /** Per value read: the first place it was read (insertion order = first-read order). */
  private readonly firstReadAt = new Map<string, ReadLocation>();
  /** Per value read at more than one place: the other places, each once. Rare, hence apart. */
  private readonly alsoReadAt = new Map<string, ReadLocation[]>();

  /** Someone learned `offset` holds `value`: a send's ack, or a read. */
  observeOffset(partition: number, offset: number, value: string, opIndex: number): void {
    let offsets = this.firstSeen.get(partition);
    if (offsets === undefined) {
      offsets = new Map();
      this.firstSeen.set(partition, offsets);
    }
    const first = offsets.get(offset);
    if (first === undefined) {
      offsets.set(offset, { value, opIndex });
      return;
    }
    if (first.value === value) return;
    const key = `${partition}/${offset}`;
    let conflict = this.conflicts.get(key);
    if (conflict === undefined) {
      conflict = { partition, offset, values: [first.value], opIndexes: [first.opIndex] };
      this.conflicts.set(key, conflict);
    }
    // Bounded: a broker that returns garbage at one offset must not grow the report without end.
    if (!conflict.values.includes(value) && conflict.values.length < EXAMPLES_MAX) {
      conflict.values.push(value);
      conflict.opIndexes.push(opIndex);
    }
  }

  /** A poll or final-poll returned `value` at `offset`. */
  observeRead(partition: number, offset: number, value: string, opIndex: number): void {
    this.observeOffset(partition, offset, value, opIndex);
    const first = this.firstReadAt.get(value);
    if (first === undefined) {
      this.firstReadAt.set(value, { partition, offset, opIndex });
      return;
    }
    if (first.partition === partition && first.offset === offset) return;
    let others = this.alsoReadAt.get(value);
    if (others === undefined) {
      others = [];
      this.alsoReadAt.set(value, others);
    }
    // Each place once: re-reading a duplicate must not count it again.
    if (others.some((other) => other.partition === partition && other.offset === offset)) return;
    others.push({ partition, offset, opIndex });
  }

  /** Every value ever read, first read first, with each distinct place it was read. */
  *readValues(): Generator<[string, readonly ReadLocation[]]> {
    for (const [value, first] of this.firstReadAt) {
      const others = this.alsoReadAt.get(value);
      yield [value, others === undefined ? [first] : [first, ...others]];
    }
  }

  /** Adds one inconsistent-offsets anomaly per offset seen with more than one value. */
  reportInconsistentOffsets(anomalies: AnomalyLog, name: string): void {
    for (const conflict of this.conflicts.values()) {
      anomalies.add(name, true, { ...conflict });
    }
  }
}
