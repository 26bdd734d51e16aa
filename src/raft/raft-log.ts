/**
 * The in-memory Raft log of one node: the latest snapshot, the entries after it, and three
 * positions over them — what is durable (stable), what is committed, and what the state
 * machine has been handed (applied). The core is the only writer; the driver mirrors it to
 * storage through Ready. Memory stays bounded because the driver compacts behind `applied`.
 *
 *   snapshot.index < applied <= commit <= stable <= last   (commit may pass stable on a
 *   follower whose newest entries are not yet durable; only durable entries are applied)
 */
import { assert } from '../util/assert.js';
import { applyConfChange, decodeConfChange, sameConf } from './conf.js';
import {
  EntryType,
  type ConfState,
  type Entry,
  type RestoredState,
  type Snapshot,
  type SnapshotMeta,
} from './types.js';

export class RaftLog {
  private snapshot: Snapshot;
  private entries: Entry[];
  /** Membership after each conf-change entry still in `entries`, in index order. */
  private confs: Array<{ readonly index: number; readonly conf: ConfState }> = [];
  /** Highest index durable on this node and matching the log in memory. */
  private stable: number;
  /** First index not yet handed to the driver to persist. */
  private unpersistedFrom: number;
  /** A snapshot received from the leader and not yet handed to the driver. */
  private snapshotToPersist: Snapshot | null = null;
  /** A snapshot handed to the driver and not yet persisted: nothing is applied meanwhile. */
  private snapshotInFlight = false;
  commit: number;
  /** Last index handed to the state machine. */
  applied: number;

  constructor(initialConf: ConfState, restored: RestoredState) {
    this.snapshot = restored.snapshot ?? {
      meta: { index: 0, term: 0, confState: initialConf },
      data: new Uint8Array(0),
    };
    this.entries = [...restored.entries];
    let expected = this.snapshot.meta.index + 1;
    for (const entry of this.entries) {
      assert(entry.index === expected, `restored log is not contiguous at ${entry.index}`);
      assert(
        entry.term >= this.snapshot.meta.term,
        `restored entry ${entry.index} has an old term`,
      );
      expected++;
    }
    this.stable = this.lastIndex();
    this.unpersistedFrom = this.lastIndex() + 1;
    this.applied = this.snapshot.meta.index;
    this.commit = Math.max(restored.hardState.commit, this.snapshot.meta.index);
    assert(this.commit <= this.lastIndex(), 'restored commit index is past the log');
    this.rebuildConfs();
  }

  snapshotMeta(): SnapshotMeta {
    return this.snapshot.meta;
  }

  latestSnapshot(): Snapshot {
    return this.snapshot;
  }

  firstIndex(): number {
    return this.snapshot.meta.index + 1;
  }

  lastIndex(): number {
    return this.snapshot.meta.index + this.entries.length;
  }

  lastTerm(): number {
    return this.termAt(this.lastIndex()) ?? 0;
  }

  stableIndex(): number {
    return this.stable;
  }

  /** The term of the entry at `index`, or undefined if compacted away or not yet appended. */
  termAt(index: number): number | undefined {
    const { meta } = this.snapshot;
    if (index === meta.index) return meta.term;
    if (index < meta.index || index > this.lastIndex()) return undefined;
    return this.entryAt(index).term;
  }

  entryAt(index: number): Entry {
    const entry = this.entries[index - this.firstIndex()];
    assert(entry !== undefined && entry.index === index, `no entry at ${index}`);
    return entry;
  }

  matchTerm(index: number, term: number): boolean {
    return this.termAt(index) === term;
  }

  /** Whether a log ending at (lastIndex, lastTerm) is at least as up to date as ours (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries from `from` on, at most `bytesMax` of data but always at least one. */
  slice(from: number, bytesMax: number): Entry[] {
    assert(from >= this.firstIndex(), `slice from ${from} is compacted`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let index = from; index <= this.lastIndex(); index++) {
      const entry = this.entryAt(index);
      if (out.length > 0 && bytes + entry.data.length > bytesMax) break;
      out.push(entry);
      bytes += entry.data.length;
    }
    return out;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (fast backtracking): the leader's or
   * follower's guess of where two logs may agree. Never below the snapshot.
   */
  findConflictByTerm(index: number, term: number): number {
    let at = Math.min(index, this.lastIndex());
    while (at > this.snapshot.meta.index && (this.termAt(at) ?? 0) > term) at--;
    return at;
  }

  /** Appends after the leader's own log end. */
  append(entry: Entry): void {
    assert(
      entry.index === this.lastIndex() + 1,
      `append at ${entry.index} after ${this.lastIndex()}`,
    );
    assert(entry.term >= this.lastTerm(), 'terms in the log never decrease');
    this.entries.push(entry);
    this.noteConf(entry);
  }

  /**
   * Merges a leader's entries that follow a matching prevLogIndex: keeps what already agrees,
   * truncates at the first conflict, appends the rest. Returns the last index of `incoming`.
   */
  mergeFromLeader(incoming: readonly Entry[]): void {
    for (const entry of incoming) {
      const ours = this.termAt(entry.index);
      if (entry.index < this.firstIndex() || ours === entry.term) continue;
      if (ours !== undefined) this.truncateFrom(entry.index);
      this.append(entry);
    }
  }

  private truncateFrom(index: number): void {
    assert(index > this.commit, `truncating committed entry ${index} (commit ${this.commit})`);
    assert(index >= this.firstIndex(), 'truncating the snapshot');
    this.entries.length = index - this.firstIndex();
    this.stable = Math.min(this.stable, index - 1);
    this.unpersistedFrom = Math.min(this.unpersistedFrom, index);
    this.confs = this.confs.filter((c) => c.index < index);
  }

  commitTo(index: number): boolean {
    if (index <= this.commit) return false;
    assert(index <= this.lastIndex(), `commit ${index} past the last index ${this.lastIndex()}`);
    this.commit = index;
    return true;
  }

  /** Replaces the whole log with a snapshot from the leader (our log does not contain it). */
  installSnapshot(snapshot: Snapshot): void {
    assert(snapshot.meta.index > this.commit, 'installing a snapshot we already cover');
    this.snapshot = snapshot;
    this.entries = [];
    this.confs = [];
    this.commit = snapshot.meta.index;
    this.applied = snapshot.meta.index;
    this.stable = Math.min(this.stable, snapshot.meta.index);
    this.unpersistedFrom = snapshot.meta.index + 1;
    this.snapshotToPersist = snapshot;
  }

  /** Compacts through `index` (<= applied) with the state machine's data as of it. */
  compact(index: number, data: Uint8Array): Snapshot | null {
    if (this.snapshotInFlight || this.snapshotToPersist !== null) return null;
    if (index <= this.snapshot.meta.index) return null;
    assert(index <= this.applied, `compact(${index}) is past applied ${this.applied}`);
    const term = this.termAt(index);
    assert(term !== undefined, 'compacted entry exists');
    const snapshot: Snapshot = { meta: { index, term, confState: this.confAt(index) }, data };
    this.entries = this.entries.slice(index + 1 - this.firstIndex());
    this.snapshot = snapshot;
    this.confs = this.confs.filter((c) => c.index > index);
    return snapshot;
  }

  /** Membership in force: the latest conf change in the log, else the snapshot's. */
  conf(): ConfState {
    return this.confs.at(-1)?.conf ?? this.snapshot.meta.confState;
  }

  /** Membership as of `index` (>= the snapshot's index). */
  confAt(index: number): ConfState {
    let conf = this.snapshot.meta.confState;
    for (const c of this.confs) {
      if (c.index > index) break;
      conf = c.conf;
    }
    return conf;
  }

  /** Index of the latest conf-change entry, or the snapshot's index when there is none. */
  lastConfIndex(): number {
    return this.confs.at(-1)?.index ?? this.snapshot.meta.index;
  }

  hasWork(): boolean {
    return (
      this.snapshotToPersist !== null ||
      this.unpersistedFrom <= this.lastIndex() ||
      (!this.snapshotInFlight && this.applyLimit() > this.applied)
    );
  }

  /** Hands the driver what to persist and apply; the caller builds the Ready around it. */
  takeWork(): { snapshot: Snapshot | null; entries: Entry[]; committed: Entry[] } {
    const snapshot = this.snapshotToPersist;
    const from = Math.max(this.unpersistedFrom, this.firstIndex());
    const entries = this.entries.slice(from - this.firstIndex());
    this.unpersistedFrom = this.lastIndex() + 1;
    this.snapshotToPersist = null;
    if (snapshot !== null) this.snapshotInFlight = true;
    const committed: Entry[] = [];
    if (!this.snapshotInFlight) {
      const limit = this.applyLimit();
      for (let index = this.applied + 1; index <= limit; index++)
        committed.push(this.entryAt(index));
      this.applied = Math.max(this.applied, limit);
    }
    return { snapshot, entries, committed };
  }

  /** The driver persisted a Ready holding `snapshot` and `entries`. */
  persisted(snapshot: Snapshot | null, entries: readonly Entry[]): void {
    if (snapshot !== null) {
      this.snapshotInFlight = false;
      // A newer snapshot may have replaced it meanwhile; then that one is still to persist.
      if (this.snapshot === snapshot) this.stable = Math.max(this.stable, snapshot.meta.index);
    }
    // Entries count as durable only while the log still holds them: a conflicting Append may
    // have truncated them after they were handed out. Log matching makes the last agreeing
    // entry vouch for every one before it.
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i];
      assert(entry !== undefined, 'entry exists');
      if (this.matchTerm(entry.index, entry.term)) {
        if (entry.index > this.stable && this.stable >= this.snapshot.meta.index)
          this.stable = entry.index;
        break;
      }
    }
  }

  private applyLimit(): number {
    return Math.min(this.commit, this.stable);
  }

  private noteConf(entry: Entry): void {
    if (entry.type !== EntryType.CONF_CHANGE) return;
    const next = applyConfChange(this.conf(), decodeConfChange(entry.data));
    this.confs.push({ index: entry.index, conf: next });
  }

  private rebuildConfs(): void {
    this.confs = [];
    for (const entry of this.entries) this.noteConf(entry);
  }

  /** For assertions: whether the membership changed between two reads. */
  static confChanged(before: ConfState, after: ConfState): boolean {
    return !sameConf(before, after);
  }
}
