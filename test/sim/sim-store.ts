/**
 * A node's simulated disk: what survives a crash. Writes land here only when the simulated
 * fsync of a Ready completes, so a crash during the fsync loses that Ready entirely, exactly
 * like an unsynced write. The layout follows the Storage contract of src/raft/types.ts: a
 * snapshot, then the entries after it, contiguous, then the hard state.
 */
import { assert } from '../../src/util/assert.js';
import {
  EMPTY_HARD_STATE,
  type Entry,
  type HardState,
  type RestoredState,
  type Snapshot,
} from '../../src/raft/types.js';

export class SimStore {
  hardState: HardState = EMPTY_HARD_STATE;
  snapshot: Snapshot | null = null;
  /** Entries after the snapshot, contiguous from snapshotIndex + 1. */
  entries: Entry[] = [];

  get snapshotIndex(): number {
    return this.snapshot === null ? 0 : this.snapshot.meta.index;
  }

  get snapshotTerm(): number {
    return this.snapshot === null ? 0 : this.snapshot.meta.term;
  }

  get lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  /** The stored entry at `index`, or undefined when compacted away or not stored. */
  entryAt(index: number): Entry | undefined {
    const offset = index - this.snapshotIndex - 1;
    if (offset < 0) return undefined;
    return this.entries[offset];
  }

  /** Term of the entry at `index`: the snapshot's term at its index, undefined if unknown. */
  termAt(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    return this.entryAt(index)?.term;
  }

  /** A snapshot from the leader replaces everything stored (Ready.snapshot). */
  installSnapshot(snapshot: Snapshot): void {
    assert(snapshot.meta.index >= 0, 'snapshot index must be >= 0');
    this.snapshot = snapshot;
    this.entries = [];
  }

  /** Ready.entries: drop any stored suffix from entries[0].index, then append. */
  appendEntries(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    assert(
      first.index > this.snapshotIndex,
      `append at ${first.index} <= snapshot ${this.snapshotIndex}`,
    );
    assert(
      first.index <= this.lastIndex + 1,
      `append at ${first.index} leaves a gap after ${this.lastIndex}`,
    );
    this.entries.length = first.index - this.snapshotIndex - 1;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      assert(entry !== undefined, 'entries array has a hole');
      assert(entry.index === first.index + i, `Ready.entries not contiguous at ${entry.index}`);
      this.entries.push(entry);
    }
  }

  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  /** A locally taken snapshot (RaftCore.compact): entries up to its index are dropped. */
  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    assert(index > this.snapshotIndex, `compact to ${index} <= snapshot ${this.snapshotIndex}`);
    assert(index <= this.lastIndex, `compact to ${index} past the stored log (${this.lastIndex})`);
    assert(
      this.termAt(index) === snapshot.meta.term,
      `snapshot term differs from the log at ${index}`,
    );
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshot = snapshot;
  }

  /** What a restarting node reads back. Copies the array: the store keeps changing. */
  restoredState(): RestoredState {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: this.entries.slice() };
  }
}
