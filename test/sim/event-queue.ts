/**
 * The simulator's scheduler: a binary min-heap of events ordered by (virtual time, sequence
 * number). The sequence number makes the order total, so two events at the same millisecond
 * always run in the order they were scheduled and one seed replays one history exactly.
 */
import { assert } from '../../src/util/assert.js';

/** Events one run may have pending at once; a run past it has a feedback loop, not a load. */
export const EVENTS_PENDING_MAX = 1_000_000;

interface Slot<T> {
  readonly timeMs: number;
  readonly seq: number;
  readonly item: T;
}

export class EventQueue<T> {
  private readonly heap: Slot<T>[] = [];
  private seqNext = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `item` at `timeMs`; ties run in scheduling order. */
  push(timeMs: number, item: T): void {
    assert(Number.isFinite(timeMs) && timeMs >= 0, `event time must be finite, got ${timeMs}`);
    assert(this.heap.length < EVENTS_PENDING_MAX, 'event queue overflow');
    this.heap.push({ timeMs, seq: this.seqNext++, item });
    this.siftUp(this.heap.length - 1);
  }

  /** The time of the next event, or Infinity when none is pending. */
  peekTimeMs(): number {
    const top = this.heap[0];
    return top === undefined ? Infinity : top.timeMs;
  }

  /** Removes and returns the earliest event; the queue must not be empty. */
  pop(): { timeMs: number; item: T } {
    const top = this.heap[0];
    assert(top !== undefined, 'pop from an empty event queue');
    const last = this.heap.pop();
    assert(last !== undefined, 'heap lost its last slot');
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return { timeMs: top.timeMs, item: top.item };
  }

  // The sift loops compare slots inline and without asserts: they run once per event, and
  // indexes stay within [0, length) by construction.
  private siftUp(start: number): void {
    const heap = this.heap;
    const slot = heap[start] as Slot<T>;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent] as Slot<T>;
      if (!isBefore(slot, above)) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = slot;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const n = heap.length;
    const slot = heap[start] as Slot<T>;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let below = heap[left] as Slot<T>;
      if (right < n) {
        const other = heap[right] as Slot<T>;
        if (isBefore(other, below)) {
          child = right;
          below = other;
        }
      }
      if (!isBefore(below, slot)) break;
      heap[i] = below;
      i = child;
    }
    heap[i] = slot;
  }
}

function isBefore<T>(a: Slot<T>, b: Slot<T>): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq);
}
