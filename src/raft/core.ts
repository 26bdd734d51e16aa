/**
 * The Raft consensus state machine (README.md is its manual). Pure and deterministic: inputs
 * are step(message), tick(), propose*() and advance(ready); outputs are collected and handed
 * out as one Ready. No clock, I/O or ambient randomness: the driver (io/driver.ts) or the
 * simulator (test/sim/) does all of that, so one seed replays one history.
 *
 * Role logic lives in three flat functions (stepLeader, stepCandidate, stepFollower) chosen by
 * role, as in etcd/raft; term rules common to every role run first in step().
 */
import { assert, unreachable } from '../util/assert.js';
import type { Rng } from '../util/rng.js';
import { confChangeProblem, encodeConfChange, isVoter, peersOf, sameConf } from './conf.js';
import { Progress } from './progress.js';
import { quorumMatchIndex, VoteOutcome, voteOutcome } from './quorum.js';
import { RaftLog } from './raft-log.js';
import {
  EntryType,
  MessageType,
  NO_NODE,
  ProgressState,
  ProposeRefusal,
  Role,
  type AppendRequest,
  type AppendResponse,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type HeartbeatRequest,
  type Message,
  type NodeId,
  type ProposeResult,
  type RaftConfig,
  type RaftStatus,
  type Ready,
  type RestoredState,
  type Snapshot,
  type SnapshotRequest,
  type SnapshotResponse,
  type SoftState,
  type VoteRequest,
  type VoteResponse,
} from './types.js';

/** A message as role code writes it: the core fills in `from`, and `term` unless given. */
type Outgoing = Message extends infer M
  ? M extends Message
    ? Omit<M, 'from' | 'term'> & { term?: number }
    : never
  : never;

/**
 * A snapshot being received in chunks, from one leader in one term: two leaders' snapshots of
 * the same index need not be the same bytes, so chunks of different senders never mix.
 */
interface SnapshotReceive {
  readonly from: NodeId;
  readonly leaderTerm: number;
  readonly index: number;
  readonly term: number;
  readonly totalBytes: number;
  readonly chunks: Uint8Array[];
  received: number;
}

/**
 * The `index` of an APPEND_RESPONSE rejection that means "I no longer hold entries I
 * acknowledged" (hintIndex: my last index). A real rejection names a prevLogIndex, never 0:
 * every log matches at index 0.
 */
const LOST_LOG_INDEX = 0;

export class RaftCore {
  readonly id: NodeId;
  private readonly config: RaftConfig;
  private readonly rng: Rng;
  private readonly log: RaftLog;

  private term: number;
  private vote: NodeId;
  private leader: NodeId = NO_NODE;
  private role: Role = Role.FOLLOWER;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;

  /** Candidate and pre-candidate: answers received, by voter. */
  private readonly votes = new Map<NodeId, boolean>();
  /** Leader: one per other member. */
  private readonly progress = new Map<NodeId, Progress>();
  /** Leader: index of the latest conf change (or of its first entry); no new change until committed. */
  private pendingConfIndex = 0;
  /** Leader: bytes of entries appended in its term and not yet committed. */
  private uncommittedBytes = 0;
  /** Leader: target of a leadership transfer under way, and ticks since it began. */
  private transferTarget: NodeId = NO_NODE;
  private transferElapsed = 0;
  /** Leader: entries were appended since the last broadcast (sent lazily, once per Ready). */
  private broadcastPending = false;

  private snapshotReceive: SnapshotReceive | null = null;
  private messages: Message[] = [];
  private lastSoftState: SoftState;
  private lastHardState: HardState;
  private lastConf: ConfState;
  private readyInFlight = false;

  constructor(config: RaftConfig, restored: RestoredState, rng: Rng) {
    assert(config.id >= 0, 'node ids are non-negative');
    assert(config.heartbeatTicks >= 1, 'heartbeatTicks >= 1');
    assert(config.electionTicks > config.heartbeatTicks, 'electionTicks > heartbeatTicks');
    assert(config.appendBytesMax >= 1 && config.snapshotChunkBytes >= 1, 'byte limits >= 1');
    this.id = config.id;
    this.config = config;
    this.rng = rng;
    this.log = new RaftLog(config.initialConf, restored);
    this.term = restored.hardState.term;
    this.vote = restored.hardState.vote;
    assert(this.term >= this.log.lastTerm(), 'hard state term is behind the log');
    this.lastHardState = this.hardState();
    this.lastConf = this.log.conf();
    this.becomeFollower(this.term, NO_NODE);
    this.lastSoftState = this.softState();
  }

  // ---- inputs -------------------------------------------------------------------------------

  tick(): void {
    if (this.role === Role.LEADER) this.tickLeader();
    else this.tickElection();
  }

  step(m: Message): void {
    if (m.to !== this.id) return;
    if (m.term > this.term) {
      if (!this.acceptHigherTerm(m)) return;
    } else if (m.term < this.term) {
      this.answerLowerTerm(m);
      return;
    }
    if (m.type === MessageType.PRE_VOTE || m.type === MessageType.VOTE) {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case Role.LEADER:
        this.stepLeader(m);
        return;
      case Role.CANDIDATE:
      case Role.PRE_CANDIDATE:
        this.stepCandidate(m);
        return;
      case Role.FOLLOWER:
      case Role.OBSERVER:
        this.stepFollower(m);
        return;
      default:
        unreachable(this.role);
    }
  }

  propose(data: Uint8Array): ProposeResult {
    const refusal = this.proposalRefusal(data.length);
    if (refusal !== null) return refusal;
    return this.appendOwn(EntryType.NORMAL, data);
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    const refusal = this.proposalRefusal(0);
    if (refusal !== null) return refusal;
    if (this.pendingConfIndex > this.log.commit)
      return this.refuse(
        ProposeRefusal.CONF_CHANGE_PENDING,
        'a membership change (or the leader’s first entry) is not yet committed',
      );
    const problem = confChangeProblem(this.log.conf(), change);
    if (problem !== null) return this.refuse(ProposeRefusal.INVALID_CONF_CHANGE, problem);
    const result = this.appendOwn(EntryType.CONF_CHANGE, encodeConfChange(change));
    if (result.ok) this.pendingConfIndex = result.index;
    return result;
  }

  /** Starts handing leadership to `target` (a voter). False when this node cannot. */
  transferLeadership(target: NodeId): boolean {
    if (this.role !== Role.LEADER || target === this.id || !isVoter(this.log.conf(), target))
      return false;
    if (this.transferTarget === target) return true;
    this.transferTarget = target;
    this.transferElapsed = 0;
    const pr = this.progress.get(target);
    assert(pr !== undefined, 'a voter has progress');
    if (pr.matchIndex === this.log.lastIndex())
      this.send({ type: MessageType.TIMEOUT_NOW, to: target });
    else this.sendAppend(target, true);
    return true;
  }

  /** Starts an election now (with pre-vote), as if the election timer fired. */
  campaign(): void {
    if (this.role !== Role.LEADER && this.isPromotable()) this.becomePreCandidate();
  }

  /**
   * Takes a snapshot through `index` (<= applied) holding the state machine's `data`; call it
   * between advance() and the next ready(). The driver persists the result. Null when there is
   * nothing to compact: `index` is not past the snapshot, or a snapshot received from the
   * leader (newer than the state machine) is still being installed.
   */
  compact(index: number, data: Uint8Array): Snapshot | null {
    // Between advance() and the next ready(), `applied` is what the state machine really applied.
    assert(!this.readyInFlight, 'compact() while a Ready is in flight');
    return this.log.compact(index, data);
  }

  // ---- outputs ------------------------------------------------------------------------------

  hasReady(): boolean {
    if (this.readyInFlight) return false;
    return (
      this.broadcastPending ||
      this.messages.length > 0 ||
      this.log.hasWork() ||
      !sameHardState(this.hardState(), this.lastHardState) ||
      !sameSoftState(this.softState(), this.lastSoftState) ||
      !sameConf(this.log.conf(), this.lastConf)
    );
  }

  ready(): Ready {
    assert(!this.readyInFlight, 'ready() before advance() of the previous Ready');
    if (this.broadcastPending) this.broadcastAppend();
    const hardState = this.hardState();
    const softState = this.softState();
    const conf = this.log.conf();
    const work = this.log.takeWork();
    const termOrVoteChanged =
      hardState.term !== this.lastHardState.term || hardState.vote !== this.lastHardState.vote;
    const rd: Ready = {
      softState: sameSoftState(softState, this.lastSoftState) ? null : softState,
      hardState: sameHardState(hardState, this.lastHardState) ? null : hardState,
      entries: work.entries,
      snapshot: work.snapshot,
      committed: work.committed,
      messages: this.messages,
      confState: sameConf(conf, this.lastConf) ? null : conf,
      mustSync: termOrVoteChanged || work.entries.length > 0 || work.snapshot !== null,
    };
    this.lastHardState = hardState;
    this.lastSoftState = softState;
    this.lastConf = conf;
    this.messages = [];
    this.readyInFlight = true;
    return rd;
  }

  /** The driver has persisted, sent and applied `rd`. */
  advance(rd: Ready): void {
    assert(this.readyInFlight, 'advance() without ready()');
    this.readyInFlight = false;
    this.log.persisted(rd.snapshot, rd.entries);
    // The leader's own durable log counts towards the quorum only now.
    if (this.role === Role.LEADER && this.maybeCommit()) this.broadcastPending = true;
  }

  status(): RaftStatus {
    const conf = this.log.conf();
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leader: this.leader,
      vote: this.vote,
      commitIndex: this.log.commit,
      appliedIndex: this.log.applied,
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.log.snapshotMeta().index,
      confState: conf,
      peers: [...this.progress.values()].map((pr) => ({
        id: pr.id,
        isVoter: isVoter(conf, pr.id),
        matchIndex: pr.matchIndex,
        nextIndex: pr.nextIndex,
        state: pr.state,
        recentActive: pr.recentActive,
      })),
    };
  }

  // ---- hooks the simulator's deliberately broken variants override (test/sim) ---------------

  /** Whether to grant a (pre-)vote to `m` (its term is >= ours; see handleVoteRequest). */
  protected canGrantVote(m: VoteRequest): boolean {
    const canVote =
      this.vote === m.from ||
      (this.vote === NO_NODE && this.leader === NO_NODE) ||
      (m.type === MessageType.PRE_VOTE && m.term > this.term);
    return canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
  }

  /** The commit rule (§5.4.2): a leader commits by counting replicas only entries of its term. */
  protected canCommitByCounting(entryTerm: number): boolean {
    return entryTerm === this.term;
  }

  // ---- term rules ---------------------------------------------------------------------------

  /** A message from a higher term: adopt it unless it is a vote that must not disturb a leader. */
  private acceptHigherTerm(m: Message): boolean {
    if (m.type === MessageType.PRE_VOTE || m.type === MessageType.VOTE) {
      // Check-quorum lease: while we heard from a live leader within the election timeout, a
      // (pre-)vote from a higher term is ignored, so a node that was partitioned away cannot
      // force a new term on a healthy cluster. A transfer's campaign is the exception.
      const inLease = this.leader !== NO_NODE && this.electionElapsed < this.config.electionTicks;
      if (inLease && !m.transfer) return false;
      // A pre-vote never changes our term; it is answered below.
      if (m.type === MessageType.VOTE) this.becomeFollower(m.term, NO_NODE);
      return true;
    }
    if (m.type === MessageType.PRE_VOTE_RESPONSE && (m as VoteResponse).granted) {
      // Granted pre-votes carry the term we would campaign in, not a term anyone holds.
      return true;
    }
    const fromLeader =
      m.type === MessageType.APPEND ||
      m.type === MessageType.HEARTBEAT ||
      m.type === MessageType.SNAPSHOT;
    this.becomeFollower(m.term, fromLeader ? m.from : NO_NODE);
    return true;
  }

  /** A message from an older term: tell a stale leader or candidate our term, else drop it. */
  private answerLowerTerm(m: Message): void {
    if (
      m.type === MessageType.APPEND ||
      m.type === MessageType.HEARTBEAT ||
      m.type === MessageType.SNAPSHOT
    ) {
      // A leader cut off by a partition learns of the new term from this and steps down.
      this.send({ type: MessageType.HEARTBEAT_RESPONSE, to: m.from });
    } else if (m.type === MessageType.PRE_VOTE) {
      this.send({ type: MessageType.PRE_VOTE_RESPONSE, to: m.from, granted: false });
    }
  }

  private handleVoteRequest(m: VoteRequest): void {
    const responseType =
      m.type === MessageType.PRE_VOTE ? MessageType.PRE_VOTE_RESPONSE : MessageType.VOTE_RESPONSE;
    if (!this.canGrantVote(m)) {
      this.send({ type: responseType, to: m.from, granted: false });
      return;
    }
    // A granted pre-vote answers in the requested term and changes nothing here.
    if (m.type === MessageType.VOTE) {
      this.electionElapsed = 0;
      this.vote = m.from;
    }
    this.send({ type: responseType, to: m.from, term: m.term, granted: true });
  }

  // ---- roles --------------------------------------------------------------------------------

  private becomeFollower(term: number, leader: NodeId): void {
    assert(term >= this.term, 'terms never go backwards');
    if (term > this.term) {
      this.term = term;
      this.vote = NO_NODE;
    }
    this.leader = leader;
    this.role = isVoter(this.log.conf(), this.id) ? Role.FOLLOWER : Role.OBSERVER;
    this.resetTimers();
    this.votes.clear();
    this.progress.clear();
    this.transferTarget = NO_NODE;
    this.broadcastPending = false;
  }

  private becomePreCandidate(): void {
    assert(this.role !== Role.LEADER, 'a leader does not campaign');
    this.role = Role.PRE_CANDIDATE;
    this.leader = NO_NODE;
    this.votes.clear();
    this.resetTimers();
    this.requestVotes(MessageType.PRE_VOTE, this.term + 1, false);
  }

  private becomeCandidate(transfer: boolean): void {
    assert(this.role !== Role.LEADER, 'a leader does not campaign');
    this.term += 1;
    this.vote = this.id;
    this.role = Role.CANDIDATE;
    this.leader = NO_NODE;
    this.votes.clear();
    this.resetTimers();
    this.requestVotes(MessageType.VOTE, this.term, transfer);
  }

  private becomeLeader(): void {
    assert(this.role === Role.CANDIDATE, 'only a candidate becomes leader');
    this.role = Role.LEADER;
    this.leader = this.id;
    this.resetTimers();
    this.uncommittedBytes = 0;
    this.transferTarget = NO_NODE;
    this.resetProgress();
    // The no-op of §8: committing it commits everything before it, and until then no
    // membership change may start (the fix to single-server changes in Ongaro's 2015 note).
    const noop = this.appendOwn(EntryType.NORMAL, new Uint8Array(0));
    assert(noop.ok, 'a new leader can append');
    this.pendingConfIndex = noop.index;
    // A single voter commits as soon as the no-op is durable (see advance).
  }

  private requestVotes(
    type: typeof MessageType.PRE_VOTE | typeof MessageType.VOTE,
    term: number,
    transfer: boolean,
  ): void {
    this.votes.set(this.id, true);
    if (this.tallyVotes(type === MessageType.PRE_VOTE)) return;
    for (const member of this.log.conf().voters) {
      if (member.id === this.id) continue;
      this.send({
        type,
        to: member.id,
        term,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        transfer,
      });
    }
  }

  /** Acts on the votes so far; true when the (pre-)election is decided. */
  private tallyVotes(preVote: boolean): boolean {
    const voters = this.log.conf().voters.map((m) => m.id);
    const outcome = voteOutcome(voters, this.votes);
    if (outcome === VoteOutcome.PENDING) return false;
    if (outcome === VoteOutcome.LOST) this.becomeFollower(this.term, NO_NODE);
    else if (preVote) this.becomeCandidate(false);
    else this.becomeLeader();
    return true;
  }

  // ---- role step functions ------------------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.APPEND:
        this.heardFromLeader(m.from);
        this.handleAppend(m);
        return;
      case MessageType.HEARTBEAT:
        this.heardFromLeader(m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.SNAPSHOT:
        this.heardFromLeader(m.from);
        this.handleSnapshotChunk(m);
        return;
      case MessageType.TIMEOUT_NOW:
        // Leadership transfer: campaign at once, skipping pre-vote (the leader asked for it).
        if (this.isPromotable()) this.becomeCandidate(true);
        return;
      default:
        // Responses meant for an earlier role of ours, now stale.
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case MessageType.APPEND:
      case MessageType.HEARTBEAT:
      case MessageType.SNAPSHOT:
        // Someone won this term: follow it.
        this.becomeFollower(this.term, m.from);
        this.stepFollower(m);
        return;
      case MessageType.PRE_VOTE_RESPONSE:
        // A grant names the term we campaign for; a stale grant from an earlier round must not count.
        if (this.role !== Role.PRE_CANDIDATE || (m.granted && m.term !== this.term + 1)) return;
        this.votes.set(m.from, m.granted);
        this.tallyVotes(true);
        return;
      case MessageType.VOTE_RESPONSE:
        if (this.role !== Role.CANDIDATE) return;
        this.votes.set(m.from, m.granted);
        this.tallyVotes(false);
        return;
      default:
        return;
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return; // not (or no longer) a member
    switch (m.type) {
      case MessageType.APPEND_RESPONSE:
        pr.recentActive = true;
        this.handleAppendResponse(pr, m);
        return;
      case MessageType.HEARTBEAT_RESPONSE:
        pr.recentActive = true;
        this.handleHeartbeatResponse(pr);
        return;
      case MessageType.SNAPSHOT_RESPONSE:
        pr.recentActive = true;
        this.handleSnapshotResponse(pr, m);
        return;
      default:
        // Another leader in our term is impossible; other messages are stale.
        assert(
          m.type !== MessageType.APPEND &&
            m.type !== MessageType.HEARTBEAT &&
            m.type !== MessageType.SNAPSHOT,
          `two leaders in term ${this.term}: ${this.id} and ${m.from}`,
        );
        return;
    }
  }

  // ---- follower side ------------------------------------------------------------------------

  private heardFromLeader(leader: NodeId): void {
    this.electionElapsed = 0;
    this.leader = leader;
  }

  private handleAppend(m: AppendRequest): void {
    if (m.prevLogIndex < this.log.commit) {
      // Everything up to our commit index matches any leader's log; say how far we are.
      this.replyAppend(m.from, true, this.log.commit);
      return;
    }
    if (!this.log.matchTerm(m.prevLogIndex, m.prevLogTerm)) {
      const hintIndex = this.log.findConflictByTerm(
        Math.min(m.prevLogIndex, this.log.lastIndex()),
        m.prevLogTerm,
      );
      this.send({
        type: MessageType.APPEND_RESPONSE,
        to: m.from,
        success: false,
        index: m.prevLogIndex,
        hintIndex,
        hintTerm: this.log.termAt(hintIndex) ?? 0,
      });
      return;
    }
    const before = this.log.conf();
    this.log.mergeFromLeader(m.entries);
    if (!sameConf(before, this.log.conf())) this.syncMembership();
    const lastNew = m.prevLogIndex + m.entries.length;
    this.log.commitTo(Math.min(m.commit, lastNew));
    this.replyAppend(m.from, true, lastNew);
  }

  private replyAppend(to: NodeId, success: boolean, index: number): void {
    this.send({ type: MessageType.APPEND_RESPONSE, to, success, index, hintIndex: 0, hintTerm: 0 });
  }

  private handleHeartbeat(m: HeartbeatRequest): void {
    // The leader never sends a commit past what we acknowledged holding, and what we
    // acknowledged is durable: unless our store was lost (a data dir wiped and the node
    // restarted with the same id). Then say so, so the leader stops counting on entries we no
    // longer hold and sends them again; committing them here would be a lie.
    if (m.commit > this.log.lastIndex()) {
      this.send({
        type: MessageType.APPEND_RESPONSE,
        to: m.from,
        success: false,
        index: LOST_LOG_INDEX,
        hintIndex: this.log.lastIndex(),
        hintTerm: 0,
      });
      return;
    }
    this.log.commitTo(m.commit);
    this.send({ type: MessageType.HEARTBEAT_RESPONSE, to: m.from });
  }

  private handleSnapshotChunk(m: SnapshotRequest): void {
    const { meta } = m;
    const answer = (nextOffset: number, done: boolean) =>
      this.send({
        type: MessageType.SNAPSHOT_RESPONSE,
        to: m.from,
        snapshotIndex: meta.index,
        nextOffset,
        done,
      });
    if (meta.index <= this.log.commit) {
      // We already hold everything it covers (committed entries match every leader's).
      this.snapshotReceive = null;
      answer(m.totalBytes, true);
      return;
    }
    let receive = this.snapshotReceive;
    const sameTransfer =
      receive !== null &&
      receive.from === m.from &&
      receive.leaderTerm === m.term &&
      receive.index === meta.index &&
      receive.term === meta.term &&
      receive.totalBytes === m.totalBytes;
    if (receive === null || !sameTransfer || m.offset === 0) {
      if (m.offset !== 0) {
        answer(0, false);
        return;
      }
      receive = {
        from: m.from,
        leaderTerm: m.term,
        index: meta.index,
        term: meta.term,
        totalBytes: m.totalBytes,
        chunks: [],
        received: 0,
      };
      this.snapshotReceive = receive;
    }
    if (m.offset !== receive.received) {
      answer(receive.received, false);
      return;
    }
    receive.chunks.push(m.chunk);
    receive.received += m.chunk.length;
    assert(receive.received <= m.totalBytes, 'snapshot chunks exceed the announced size');
    if (!m.done) {
      answer(receive.received, false);
      return;
    }
    assert(receive.received === m.totalBytes, 'last snapshot chunk completes it');
    this.snapshotReceive = null;
    this.restoreSnapshot({ meta, data: concat(receive.chunks, receive.received) });
    answer(m.totalBytes, true);
  }

  private restoreSnapshot(snapshot: Snapshot): void {
    const { meta } = snapshot;
    if (this.log.matchTerm(meta.index, meta.term)) {
      // Our log already holds the snapshot's last entry: keep the log, just commit.
      this.log.commitTo(meta.index);
      return;
    }
    this.log.installSnapshot(snapshot);
    // Membership comes with the snapshot; our role may change with it.
    this.syncMembership();
  }

  // ---- leader side --------------------------------------------------------------------------

  private handleAppendResponse(pr: Progress, m: AppendResponse): void {
    if (!m.success && m.index === LOST_LOG_INDEX) {
      // The follower lost entries it acknowledged: it holds only up to hintIndex now.
      if (m.hintIndex < pr.matchIndex) {
        pr.forgetLostEntries(m.hintIndex);
        this.sendAppend(pr.id, true);
      }
      return;
    }
    if (!m.success) {
      const probeIndex =
        m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex;
      if (pr.maybeDecrease(m.index, probeIndex)) this.sendAppend(pr.id, true);
      return;
    }
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === ProgressState.PROBE) pr.becomeReplicate();
    else if (pr.state === ProgressState.SNAPSHOT && pr.matchIndex >= pr.snapshotIndex)
      pr.becomeProbe();
    if (this.maybeCommit()) this.broadcastAppend();
    else this.sendAppendsWhileOpen(pr.id);
    if (pr.id === this.transferTarget && pr.matchIndex === this.log.lastIndex())
      this.send({ type: MessageType.TIMEOUT_NOW, to: pr.id });
  }

  private handleHeartbeatResponse(pr: Progress): void {
    if (pr.state === ProgressState.SNAPSHOT) {
      // Resend the chunk in flight: a lost chunk or answer must not stall the transfer.
      pr.snapshotChunkSent = false;
      this.sendSnapshotChunk(pr);
      return;
    }
    pr.probeSent = false;
    if (pr.state === ProgressState.REPLICATE && pr.matchIndex < this.log.lastIndex()) {
      // Pipelined Appends may have been lost: with no progress across two heartbeats, fall
      // back to probing from what the follower is known to hold.
      if (pr.matchIndex === pr.matchAtLastHeartbeat) pr.becomeProbe();
      pr.matchAtLastHeartbeat = pr.matchIndex;
    }
    if (pr.matchIndex < this.log.lastIndex()) this.sendAppend(pr.id, true);
  }

  private handleSnapshotResponse(pr: Progress, m: SnapshotResponse): void {
    if (pr.state !== ProgressState.SNAPSHOT || m.snapshotIndex !== pr.snapshotIndex) {
      if (m.done && pr.maybeUpdate(m.snapshotIndex) && pr.state === ProgressState.PROBE)
        this.sendAppend(pr.id, true);
      return;
    }
    if (m.done) {
      pr.maybeUpdate(m.snapshotIndex);
      pr.becomeProbe();
      if (this.maybeCommit()) this.broadcastAppend();
      else this.sendAppend(pr.id, true);
      return;
    }
    pr.snapshotOffset = m.nextOffset;
    pr.snapshotChunkSent = false;
    this.sendSnapshotChunk(pr);
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.transferTarget !== NO_NODE && ++this.transferElapsed >= this.config.electionTicks) {
      // The target did not take over within an election timeout: give up, accept proposals.
      this.transferTarget = NO_NODE;
    }
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (!this.hasActiveQuorum()) {
        // Check-quorum: a leader that cannot reach a majority steps down, so clients go
        // elsewhere instead of waiting on a leader that cannot commit.
        this.becomeFollower(this.term, NO_NODE);
        return;
      }
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      for (const pr of this.progress.values())
        this.send({
          type: MessageType.HEARTBEAT,
          to: pr.id,
          commit: Math.min(pr.matchIndex, this.log.commit),
        });
    }
  }

  private hasActiveQuorum(): boolean {
    const voters = this.log.conf().voters.map((m) => m.id);
    const answers = new Map<NodeId, boolean>();
    for (const id of voters)
      answers.set(id, id === this.id || this.progress.get(id)?.recentActive === true);
    for (const pr of this.progress.values()) pr.recentActive = false;
    return voteOutcome(voters, answers) === VoteOutcome.WON;
  }

  /** Advances the commit index to what a quorum holds, under the commit rule. */
  private maybeCommit(): boolean {
    const conf = this.log.conf();
    const matches = conf.voters.map((m) =>
      m.id === this.id ? this.log.stableIndex() : (this.progress.get(m.id)?.matchIndex ?? 0),
    );
    const candidate = quorumMatchIndex(matches);
    if (candidate <= this.log.commit) return false;
    const term = this.log.termAt(candidate);
    if (term === undefined || !this.canCommitByCounting(term)) return false;
    const before = this.log.commit;
    this.log.commitTo(candidate);
    for (let index = before + 1; index <= candidate; index++)
      this.uncommittedBytes = Math.max(
        0,
        this.uncommittedBytes - this.log.entryAt(index).data.length,
      );
    if (!isVoter(conf, this.id) && this.log.commit >= this.pendingConfIndex) {
      // We committed our own removal: hand over by stepping down (thesis §4.2.2).
      this.becomeFollower(this.term, NO_NODE);
      return false;
    }
    return true;
  }

  private broadcastAppend(): void {
    this.broadcastPending = false;
    for (const id of this.progress.keys()) this.sendAppend(id, true);
  }

  /** In REPLICATE, keep the pipeline full: send Appends until paused or caught up. */
  private sendAppendsWhileOpen(to: NodeId): void {
    const pr = this.progress.get(to);
    for (
      let i = 0;
      pr !== undefined &&
      i < this.config.inflightAppendsMax &&
      pr.nextIndex <= this.log.lastIndex();
      i++
    ) {
      if (!this.sendAppend(to, false)) break;
    }
  }

  /** Sends `to` what it lacks; returns whether a message went out. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    assert(pr !== undefined, `no progress for ${to}`);
    if (pr.isPaused()) return false;
    const prevLogIndex = pr.nextIndex - 1;
    assert(prevLogIndex <= this.log.lastIndex(), `next index of ${to} is past our log`);
    const prevLogTerm = this.log.termAt(prevLogIndex);
    if (prevLogTerm === undefined) {
      // The follower needs entries we compacted away: stream the snapshot instead.
      pr.becomeSnapshot(this.log.latestSnapshot());
      this.sendSnapshotChunk(pr);
      return true;
    }
    const entries =
      pr.nextIndex <= this.log.lastIndex()
        ? this.log.slice(pr.nextIndex, this.config.appendBytesMax)
        : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({
      type: MessageType.APPEND,
      to,
      prevLogIndex,
      prevLogTerm,
      entries,
      commit: this.log.commit,
    });
    const last = entries.at(-1);
    if (last !== undefined || pr.state === ProgressState.PROBE)
      pr.sentEntries(last?.index ?? prevLogIndex);
    return true;
  }

  private sendSnapshotChunk(pr: Progress): void {
    if (pr.snapshotChunkSent) return;
    const snapshot = pr.snapshot;
    assert(snapshot !== null, 'a snapshot transfer has its snapshot');
    const total = snapshot.data.length;
    const offset = Math.min(pr.snapshotOffset, total);
    const end = Math.min(total, offset + this.config.snapshotChunkBytes);
    this.send({
      type: MessageType.SNAPSHOT,
      to: pr.id,
      meta: snapshot.meta,
      offset,
      chunk: snapshot.data.subarray(offset, end),
      totalBytes: total,
      done: end === total,
    });
    pr.snapshotChunkSent = true;
  }

  private resetProgress(): void {
    this.progress.clear();
    for (const id of peersOf(this.log.conf(), this.id))
      this.progress.set(
        id,
        new Progress(id, this.log.lastIndex() + 1, this.config.inflightAppendsMax),
      );
  }

  /** After the membership in force changed: track new members, forget removed ones. */
  private syncMembership(): void {
    const conf = this.log.conf();
    if (this.role === Role.LEADER) {
      const peers = new Set(peersOf(conf, this.id));
      for (const id of this.progress.keys()) if (!peers.has(id)) this.progress.delete(id);
      for (const id of peers)
        if (!this.progress.has(id))
          this.progress.set(
            id,
            new Progress(id, this.log.lastIndex(), this.config.inflightAppendsMax),
          );
      if (this.transferTarget !== NO_NODE && !isVoter(conf, this.transferTarget))
        this.transferTarget = NO_NODE;
    } else if (this.role === Role.FOLLOWER || this.role === Role.OBSERVER) {
      this.role = isVoter(conf, this.id) ? Role.FOLLOWER : Role.OBSERVER;
    } else if (!isVoter(conf, this.id)) {
      this.becomeFollower(this.term, NO_NODE);
    }
  }

  // ---- shared helpers -----------------------------------------------------------------------

  private proposalRefusal(bytes: number): ProposeResult | null {
    if (this.role !== Role.LEADER)
      return this.refuse(ProposeRefusal.NOT_LEADER, 'this node is not the leader');
    if (this.transferTarget !== NO_NODE)
      return this.refuse(
        ProposeRefusal.TRANSFERRING,
        `leadership is moving to node ${this.transferTarget}`,
      );
    if (
      this.uncommittedBytes > 0 &&
      this.uncommittedBytes + bytes > this.config.uncommittedBytesMax
    )
      return this.refuse(
        ProposeRefusal.BUSY,
        `${this.uncommittedBytes} bytes are waiting to commit`,
      );
    return null;
  }

  private refuse(reason: ProposeRefusal, message: string): ProposeResult {
    return { ok: false, reason, leader: this.leader, message };
  }

  private appendOwn(type: Entry['type'], data: Uint8Array): ProposeResult {
    const before = this.log.conf();
    const entry: Entry = { term: this.term, index: this.log.lastIndex() + 1, type, data };
    this.log.append(entry);
    this.uncommittedBytes += data.length;
    this.broadcastPending = true;
    if (!sameConf(before, this.log.conf())) this.syncMembership();
    return { ok: true, index: entry.index, term: entry.term };
  }

  private isPromotable(): boolean {
    return isVoter(this.log.conf(), this.id);
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.isPromotable() && this.electionElapsed >= this.randomizedElectionTicks) {
      this.electionElapsed = 0;
      this.becomePreCandidate();
    }
  }

  private resetTimers(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTicks =
      this.config.electionTicks + this.rng.int(this.config.electionTicks);
  }

  private send(message: Outgoing): void {
    this.messages.push({ ...message, from: this.id, term: message.term ?? this.term } as Message);
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.commit };
  }

  private softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term;
}

function concat(chunks: readonly Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
