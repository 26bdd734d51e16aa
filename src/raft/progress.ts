/**
 * What a leader knows of one follower's log, and the flow control of what it sends there
 * (etcd/raft's Progress): probe one Append at a time until one matches, then pipeline up to
 * `inflightAppendsMax` Appends, or stream a snapshot when the follower is behind the compacted
 * log. Pure bookkeeping; the core decides what to send.
 */
import { assert } from '../util/assert.js';
import { ProgressState, type NodeId, type Snapshot } from './types.js';

export class Progress {
  state: ProgressState = ProgressState.PROBE;
  /** Highest index known to match the leader's log (durable on the follower). */
  matchIndex = 0;
  /** Next index to send. */
  nextIndex: number;
  /** In PROBE: an Append is out and unanswered, so wait (a heartbeat response resumes). */
  probeSent = false;
  /** In REPLICATE: last index of each Append in flight, oldest first. */
  readonly inflight: number[] = [];
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** matchIndex when the previous heartbeat response arrived (detects lost pipelined Appends). */
  matchAtLastHeartbeat = -1;
  /**
   * In SNAPSHOT: the snapshot being streamed (pinned, so a compaction on the leader mid-transfer
   * does not restart it from byte 0), the next byte to send, and whether a chunk is out.
   */
  snapshot: Snapshot | null = null;
  snapshotIndex = 0;
  snapshotOffset = 0;
  snapshotChunkSent = false;

  constructor(
    readonly id: NodeId,
    nextIndex: number,
    private readonly inflightMax: number,
  ) {
    assert(nextIndex >= 1, 'nextIndex starts at 1');
    assert(inflightMax >= 1, 'at least one Append may be in flight');
    this.nextIndex = nextIndex;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.PROBE:
        return this.probeSent;
      case ProgressState.REPLICATE:
        return this.inflight.length >= this.inflightMax;
      case ProgressState.SNAPSHOT:
        return true;
    }
  }

  becomeProbe(): void {
    // After a snapshot the follower holds at least the snapshot's index.
    const from =
      this.state === ProgressState.SNAPSHOT
        ? Math.max(this.matchIndex, this.snapshotIndex)
        : this.matchIndex;
    this.reset(ProgressState.PROBE);
    this.nextIndex = from + 1;
  }

  becomeReplicate(): void {
    this.reset(ProgressState.REPLICATE);
    this.nextIndex = this.matchIndex + 1;
  }

  becomeSnapshot(snapshot: Snapshot): void {
    this.reset(ProgressState.SNAPSHOT);
    this.snapshot = snapshot;
    this.snapshotIndex = snapshot.meta.index;
  }

  /** Records Appends sent up to `lastIndex`. */
  sentEntries(lastIndex: number): void {
    if (this.state === ProgressState.REPLICATE) {
      assert(lastIndex >= this.nextIndex, 'replicate sends something new');
      this.nextIndex = lastIndex + 1;
      this.inflight.push(lastIndex);
    } else {
      assert(this.state === ProgressState.PROBE, 'no Appends while streaming a snapshot');
      this.probeSent = true;
    }
  }

  /** A successful Append response up to `index`; false when it tells nothing new. */
  maybeUpdate(index: number): boolean {
    this.probeSent = false;
    if (index <= this.matchIndex) return false;
    this.matchIndex = index;
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    while (this.inflight.length > 0 && (this.inflight[0] ?? Infinity) <= index)
      this.inflight.shift();
    return true;
  }

  /**
   * A rejected Append at `rejectedIndex`; `probeIndex` is where the leader should look next.
   * False when the rejection is stale (answers an Append older than what we now know).
   */
  maybeDecrease(rejectedIndex: number, probeIndex: number): boolean {
    if (this.state === ProgressState.REPLICATE) {
      if (rejectedIndex <= this.matchIndex) return false;
      this.becomeProbe();
      return true;
    }
    if (this.nextIndex - 1 !== rejectedIndex) return false;
    this.nextIndex = Math.max(Math.min(rejectedIndex, probeIndex + 1), this.matchIndex + 1);
    this.probeSent = false;
    return true;
  }

  /**
   * The follower lost its log (a wiped store) and holds only up to `lastIndex`: what it
   * acknowledged beyond that no longer counts, and replication restarts by probing from there.
   * The leader's commit index does not move back; see the note in raft/README.md on wiped voters.
   */
  forgetLostEntries(lastIndex: number): void {
    assert(lastIndex < this.matchIndex, 'only a loss moves the match index back');
    this.matchIndex = lastIndex;
    this.matchAtLastHeartbeat = Math.min(this.matchAtLastHeartbeat, lastIndex);
    this.reset(ProgressState.PROBE);
    this.nextIndex = lastIndex + 1;
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.inflight.length = 0;
    this.snapshot = null;
    this.snapshotIndex = 0;
    this.snapshotOffset = 0;
    this.snapshotChunkSent = false;
  }
}
