/**
 * The simulated application: it applies committed entries by folding them into a rolling hash.
 * Two replicas that applied the same entries up to index i have the same hash at i, so a replica
 * restored from a snapshot (which carries only index and hash) can still be compared with every
 * other replica, entry by entry, after the restore.
 */
import { assert } from '../../src/util/assert.js';
import type { Entry } from '../../src/raft/types.js';

/** The hash of the empty state machine (index 0): FNV-1a's offset basis. */
export const HASH_EMPTY = 0x811c9dc5;

/** Entries of history one replica keeps for snapshotting; snapshots trim it far earlier. */
const HISTORY_ENTRIES_MAX = 100_000;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A readable, exact identity of an entry's content (type and payload, not position). */
export function entryText(entry: Entry): string {
  return `${entry.type}|${decoder.decode(entry.data)}`;
}

function fnvString(start: number, text: string): number {
  let h = start;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The state after applying (index, term, text) to a state whose hash is `previous`. */
export function rollHash(previous: number, index: number, term: number, text: string): number {
  return fnvString(previous, `${index}/${term}/${text};`);
}

/** What a snapshot carries: the state as of `index`. */
export interface StateMachineImage {
  readonly index: number;
  readonly hash: number;
}

export function encodeImage(image: StateMachineImage): Uint8Array {
  return encoder.encode(JSON.stringify({ index: image.index, hash: image.hash }));
}

export function decodeImage(data: Uint8Array): StateMachineImage {
  const parsed = JSON.parse(decoder.decode(data)) as { index?: unknown; hash?: unknown };
  assert(typeof parsed.index === 'number', 'snapshot data lacks an index');
  assert(typeof parsed.hash === 'number', 'snapshot data lacks a hash');
  return { index: parsed.index, hash: parsed.hash };
}

export class SimStateMachine {
  /** Index of the last applied entry. */
  index = 0;
  hash = HASH_EMPTY;
  /** Hash after each applied index since the last restore or trim, to snapshot at an older index. */
  private readonly history = new Map<number, number>();

  /** Applies the next entry; returns the new hash. */
  apply(entry: Entry): number {
    assert(entry.index === this.index + 1, `apply ${entry.index} after ${this.index}: a gap`);
    assert(this.history.size < HISTORY_ENTRIES_MAX, 'state machine history unbounded');
    this.hash = rollHash(this.hash, entry.index, entry.term, entryText(entry));
    this.index = entry.index;
    this.history.set(this.index, this.hash);
    return this.hash;
  }

  restore(image: StateMachineImage): void {
    this.index = image.index;
    this.hash = image.hash;
    this.history.clear();
    this.history.set(image.index, image.hash);
  }

  /** The image as of an applied index still in the history. */
  imageAt(index: number): StateMachineImage {
    const hash = this.history.get(index);
    assert(hash !== undefined, `no state kept for index ${index} (applied ${this.index})`);
    return { index, hash };
  }

  /** Forgets the history before `index` (a snapshot at `index` now covers it). */
  trimBefore(index: number): void {
    // Map iteration is in insertion order, which is index order here.
    for (const key of this.history.keys()) {
      if (key >= index) return;
      this.history.delete(key);
    }
  }
}
