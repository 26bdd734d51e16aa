/**
 * RaftNode: the driver that runs one pure RaftCore against real time, LevelDB and gRPC. It is
 * the only place in the Raft module that owns timers.
 *
 * The loop. Timers, the network and callers only enqueue: a tick count, received messages,
 * proposals and commands. One async loop drains them into the core, then works through Ready
 * records one at a time, in the order the Ready contract (types.ts) fixes:
 *
 *   1. persist   snapshot, entries, hard state in ONE LevelDB batch, fsynced when mustSync;
 *   2. send      rd.messages to the transport (votes and acks leave only after step 1, §5.2);
 *   3. restore   the state machine from rd.snapshot, if any;
 *   4. apply     rd.committed in order, in slices, yielding to the event loop between them;
 *                then resolve the proposals whose (index, term) was applied, reject the ones
 *                another leader's entry superseded;
 *   5. advance   core.advance(rd); then maybe compact (snapshot every `snapshotEntries`).
 *
 * Work that arrives while a Ready is in flight waits and goes into the next one: that is the
 * group commit. The loop yields to the event loop between Readies.
 *
 * Errors. A failed write or state machine call makes local state untrustworthy: the node stops
 * (no more Readies, timers off), rejects everything pending with KAFKA_STORAGE_ERROR and calls
 * onFatal. It never carries on after a failed fsync (STYLE.md §4). An AssertionError anywhere
 * in the loop is treated the same way: the process is expected to exit.
 */
import { randomInt } from 'node:crypto';
import type { ClassicLevel } from 'classic-level';
import type { Logger } from 'pino';
import { limits, type RaftTuning } from '../../config/index.js';
import { BrokerError, type LeaderHint } from '../../errors/index.js';
import type { RaftStatusResponse } from '../../proto/index.js';
import { assert } from '../../util/assert.js';
import { SeededRng } from '../../util/rng.js';
import { RaftCore } from '../core.js';
import {
  NO_NODE,
  ProposeRefusal,
  Role,
  type ConfChange,
  type ConfState,
  type Entry,
  type Member,
  type Message,
  type NodeId,
  type ProposeResult,
  type RaftStatus,
  type Ready,
  type Snapshot,
  type SoftState,
} from '../types.js';
import { planBootstrap, type BootstrapPlan } from './bootstrap.js';
import { GrpcTransport } from './grpc-transport.js';
import { RaftLogStore } from './level-store.js';
import { PeerReceiver } from './peer-receiver.js';
import { statusToProto } from './wire.js';

/** What Raft replicates: the application's state, changed only by committed entries. */
export interface StateMachine {
  /**
   * Committed entries in log order, each exactly once per process (after a restart, from the
   * snapshot on). Leader no-ops are empty NORMAL entries; CONF_CHANGE entries are passed too.
   * A throw or rejection is fatal for the node.
   */
  apply(entries: readonly Entry[]): void | Promise<void>;
  /** The state as of the last applied entry; the bytes are owned by Raft afterwards. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's (at open, or when the leader sends one). */
  restore(snapshot: Snapshot): void | Promise<void>;
}

export interface RaftNodeOptions extends RaftTuning {
  readonly id: NodeId;
  readonly clusterId: string;
  /** The node's one LevelDB; Raft uses key spaces 0x03 and 0x04. Closed by the caller. */
  readonly db: ClassicLevel<Buffer, Buffer>;
  /**
   * The voters to bootstrap with. On the first start of an empty store they are recorded in it;
   * on every later start their ids must equal the recorded ones (open() refuses otherwise) and
   * their addresses replace the recorded ones. The log's snapshot and conf changes supersede them.
   */
  readonly initialVoters: readonly Member[];
  readonly stateMachine: StateMachine;
  readonly logger: Logger;
  /** Called once on an environment fault (failed write, failed apply); the node is stopped. */
  onFatal(error: unknown): void;
  /** Seed of the core's election jitter and the transport's backoff jitter; default random. */
  readonly seed?: number;
  /** How long propose() waits for its entries to apply; default limits.raftProposeTimeoutMs. */
  readonly proposeTimeoutMs?: number;
}

/** Where a propose() landed: its entries are [firstIndex, lastIndex], committed in `term`. */
export interface ProposeOutcome {
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly term: number;
}

/**
 * What the RaftPeer gRPC service (server/grpc/raft-peer.ts) needs from a node. The server owns
 * the service's definition, request checks and statuses; the node only answers.
 */
export interface RaftPeerEndpoint {
  /** The RaftPeer.Send handler: peers' message streams into this node (peer-receiver.ts). */
  readonly handleSend: PeerReceiver['handleSend'];
  /** RaftNode.propose(): resolves once committed and applied here; rejects with a BrokerError. */
  propose(entries: readonly Uint8Array[]): Promise<ProposeOutcome>;
  /** This node's status as RaftPeer.RaftStatus answers it. */
  statusResponse(): RaftStatusResponse;
}

/** Counters for tests and metrics. */
export interface RaftNodeStats {
  readies: number;
  entriesApplied: number;
  snapshotsTaken: number;
  snapshotsRestored: number;
  messagesDroppedInbox: number;
  ticksDropped: number;
}

/** A proposal (or conf change) accepted by the core, waiting for its last entry to apply. */
interface Waiter {
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly term: number;
  readonly settle: Settle<ProposeOutcome>;
}

interface QueuedProposal {
  readonly entries: readonly Uint8Array[];
  readonly waiter: (
    result: { firstIndex: number; lastIndex: number; term: number } | BrokerError,
  ) => void;
}

type Command = () => void;

/** Settles one pending call once: with an error, or with its value. */
type Settle<T> = (error: BrokerError | null, value: T | null) => void;

const State = { OPEN: 'open', RUNNING: 'running', CLOSED: 'closed', FAILED: 'failed' } as const;
type State = (typeof State)[keyof typeof State];

export class RaftNode {
  readonly stats: RaftNodeStats = {
    readies: 0,
    entriesApplied: 0,
    snapshotsTaken: 0,
    snapshotsRestored: 0,
    messagesDroppedInbox: 0,
    ticksDropped: 0,
  };
  /** What the node's RaftPeer service answers with; add the service before the server binds. */
  readonly peer: RaftPeerEndpoint;

  private state: State = State.OPEN;
  private readonly logger: Logger;
  private readonly transport: GrpcTransport;
  private readonly receiver: PeerReceiver;
  private tickTimer: NodeJS.Timeout | null = null;
  private pendingTicks = 0;
  private inbox: Message[] = [];
  private proposals: QueuedProposal[] = [];
  private commands: Command[] = [];
  /** Accepted proposals by the index of their last entry (several when a term overwrote one). */
  private readonly waiters = new Map<number, Waiter[]>();
  /** Proposals queued or waiting, against limits.raftPendingProposalsMax. */
  private pendingProposals = 0;
  private readonly roleListeners: Array<(s: SoftState) => void> = [];
  private readonly leaderWaiters = new Set<(s: SoftState) => void>();
  private members = new Map<NodeId, string>();
  private applied: number;
  private snapshotIndex: number;
  /** The state machine serialised at `index`, to compact with at the next snapshot point. */
  private staged: { readonly index: number; readonly data: Uint8Array } | null = null;
  /** Every pending call's settle function, so close() and fail() can reject them all. */
  private readonly settlers = new Set<Settle<unknown>>();
  /** Pending leadership transfers, ended with an error by close() and fail(). */
  private readonly transferAborts = new Set<(error: BrokerError) => void>();
  private isLoopScheduled = false;
  private loop: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  /**
   * Loads storage, settles the bootstrap membership (bootstrap.ts: recorded on the first start,
   * checked on every later one), restores the state machine from the latest snapshot and builds
   * the core. Throws RaftBootstrapError, having written nothing, when `initialVoters` does not
   * match the voter ids the store was bootstrapped with.
   */
  static async open(options: RaftNodeOptions): Promise<RaftNode> {
    checkOptions(options);
    const store = new RaftLogStore(options.db);
    const restored = await store.load();
    const bootstrap = planBootstrap(restored, options.initialVoters);
    // Synced before the core exists, so no vote or entry is ever durable without it.
    if (bootstrap.kind !== 'keep') await store.saveBootstrap(bootstrap.conf);
    if (restored.snapshot !== null) await options.stateMachine.restore(restored.snapshot);
    const seed = options.seed ?? randomInt(0, 2 ** 31);
    const rng = new SeededRng(seed);
    const core = new RaftCore(
      {
        id: options.id,
        initialConf: bootstrap.conf,
        electionTicks: options.electionTicks,
        heartbeatTicks: options.heartbeatTicks,
        inflightAppendsMax: options.inflightAppendsMax,
        appendBytesMax: options.appendBytesMax,
        snapshotChunkBytes: options.snapshotChunkBytes,
        uncommittedBytesMax: options.uncommittedBytesMax,
      },
      restored,
      rng,
    );
    const node = new RaftNode(options, store, core, new SeededRng(seed ^ 0x5bd1e995));
    node.logBootstrap(bootstrap);
    node.logger.info(
      {
        seed,
        term: restored.hardState.term,
        snapshotIndex: restored.snapshot?.meta.index ?? 0,
        entries: restored.entries.length,
        commit: restored.hardState.commit,
      },
      'raft node opened',
    );
    return node;
  }

  private constructor(
    private readonly options: RaftNodeOptions,
    private readonly store: RaftLogStore,
    private readonly core: RaftCore,
    transportRng: SeededRng,
  ) {
    this.logger = options.logger.child({ component: 'raft', nodeId: options.id });
    const status = core.status();
    this.applied = status.snapshotIndex;
    this.snapshotIndex = status.snapshotIndex;
    this.transport = new GrpcTransport({
      id: options.id,
      clusterId: options.clusterId,
      logger: this.logger,
      rng: transportRng,
    });
    this.receiver = new PeerReceiver({
      id: options.id,
      clusterId: options.clusterId,
      logger: this.logger,
      onMessages: (messages) => this.receive(messages),
    });
    this.peer = {
      handleSend: this.receiver.handleSend,
      propose: (entries) => this.propose(entries),
      statusResponse: () => this.statusProto(),
    };
    this.setMembers(status.confState);
  }

  /** Starts the tick timer and the loop. Messages received before start() wait in the inbox. */
  start(): void {
    assert(this.state === State.OPEN, `raft node: start() in state ${this.state}`);
    this.state = State.RUNNING;
    this.tickTimer = setInterval(() => {
      this.pendingTicks++;
      this.kick();
    }, this.options.tickMs);
    this.kick();
  }

  /**
   * Appends `entries` through the quorum. Resolves once all are committed and applied on this
   * node. Rejects with BrokerError: NOT_CONTROLLER (with the leader's address when known) when
   * this node is not the leader or the entries were superseded by another leader's;
   * REQUEST_TIMED_OUT when too many proposals are pending, or after the propose timeout, or
   * when a snapshot made the outcome unknowable (the entries may have committed then).
   * A refusal in the middle of a call (e.g. the leader became busy) rejects the call while
   * its earlier entries may still commit, like a timeout.
   */
  propose(entries: readonly Uint8Array[]): Promise<ProposeOutcome> {
    assert(entries.length >= 1, 'raft node: propose() needs at least one entry');
    const refusal = this.refuseNewWork();
    if (refusal !== null) return Promise.reject(refusal);
    if (this.pendingProposals >= limits.raftPendingProposalsMax) {
      return Promise.reject(
        new BrokerError(
          'REQUEST_TIMED_OUT',
          `${this.pendingProposals} raft proposals are pending (raftPendingProposalsMax); retry later`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const settle = this.pendingSettler(resolve, reject);
      this.proposals.push({
        entries,
        waiter: (result) =>
          result instanceof BrokerError ? settle(result, null) : this.awaitApply(result, settle),
      });
      this.kick();
    });
  }

  /** Proposes a single-server membership change; resolves when it is committed and applied. */
  changeMembership(change: ConfChange): Promise<void> {
    const refusal = this.refuseNewWork();
    if (refusal !== null) return Promise.reject(refusal);
    return new Promise((resolve, reject) => {
      const settle = this.pendingSettler<ProposeOutcome>(() => resolve(), reject);
      this.commands.push(() => {
        const result = this.core.proposeConfChange(change);
        if (result.ok)
          this.awaitApply(
            { firstIndex: result.index, lastIndex: result.index, term: result.term },
            settle,
          );
        else settle(this.refusalError(result), null);
      });
      this.kick();
    });
  }

  /**
   * Hands leadership to `target`, or to the most caught-up other voter. Resolves once another
   * node is known to lead. Rejects NOT_CONTROLLER when this node is not the leader,
   * INVALID_REQUEST when the target is not another voter, REQUEST_TIMED_OUT when no other
   * leader emerged within a few election timeouts.
   */
  transferLeadership(target?: NodeId): Promise<void> {
    const refusal = this.refuseNewWork();
    if (refusal !== null) return Promise.reject(refusal);
    return new Promise((resolve, reject) => {
      // Registered before the command runs, so close() and fail() also end a queued transfer.
      const transfer = this.pendingTransfer(resolve, reject);
      this.commands.push(() => {
        const error = this.startTransfer(target);
        if (error !== null) transfer.done(error);
        else transfer.started();
      });
      this.kick();
    });
  }

  /** The core's status, with `appliedIndex` as far as the state machine has really applied. */
  status(): RaftStatus {
    return { ...this.core.status(), appliedIndex: this.applied };
  }

  /** `listener` hears every role, leader or term change, after the Ready that made it durable. */
  onRoleChange(listener: (s: SoftState) => void): void {
    this.roleListeners.push(listener);
  }

  /**
   * Stops timers, refuses new streams and calls, waits for the Ready in flight (its persist and
   * apply), closes the transport and rejects whatever is pending. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---- inputs (enqueue only) ----------------------------------------------------------------

  private receive(messages: Message[]): void {
    if (this.state === State.CLOSED || this.state === State.FAILED) return;
    for (const message of messages) this.inbox.push(message);
    const excess = this.inbox.length - limits.raftInboxMessagesMax;
    if (excess > 0) {
      // Drop the oldest: Raft tolerates loss, and newer messages carry newer state.
      this.inbox.splice(0, excess);
      this.stats.messagesDroppedInbox += excess;
    }
    this.kick();
  }

  private refuseNewWork(): BrokerError | null {
    if (this.state === State.FAILED) {
      return new BrokerError('KAFKA_STORAGE_ERROR', 'the raft node stopped after a storage fault');
    }
    if (this.state === State.CLOSED) {
      return new BrokerError('NOT_CONTROLLER', 'the raft node is closing');
    }
    return null;
  }

  /**
   * A settle function for one pending call, counted against raftPendingProposalsMax: the first
   * settle wins, and the call is rejected with REQUEST_TIMED_OUT if nothing settles it in time.
   */
  private pendingSettler<T>(
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
  ): Settle<T> {
    const timeoutMs = this.options.proposeTimeoutMs ?? limits.raftProposeTimeoutMs;
    const settle = (error: BrokerError | null, value: T | null): void => {
      if (!this.settlers.delete(settle as Settle<unknown>)) return;
      clearTimeout(timer);
      this.pendingProposals--;
      if (error !== null) reject(error);
      else resolve(value as T);
    };
    const timer = setTimeout(() => {
      const message = `not applied within ${timeoutMs} ms; the entries may still commit`;
      settle(new BrokerError('REQUEST_TIMED_OUT', message), null);
    }, timeoutMs);
    this.settlers.add(settle as Settle<unknown>);
    this.pendingProposals++;
    return settle;
  }

  /** Registers an accepted proposal; it settles when its last index is applied. */
  private awaitApply(
    accepted: { firstIndex: number; lastIndex: number; term: number },
    settle: Settle<ProposeOutcome>,
  ): void {
    const waiter: Waiter = { ...accepted, settle };
    const list = this.waiters.get(accepted.lastIndex);
    if (list === undefined) this.waiters.set(accepted.lastIndex, [waiter]);
    else list.push(waiter);
  }

  // ---- the loop -----------------------------------------------------------------------------

  private kick(): void {
    if (this.state !== State.RUNNING || this.isLoopScheduled || this.loop !== null) return;
    this.isLoopScheduled = true;
    setImmediate(() => {
      this.isLoopScheduled = false;
      if (this.state !== State.RUNNING || this.loop !== null) return;
      this.loop = this.runLoop().finally(() => {
        this.loop = null;
        if (this.hasInput()) this.kick();
      });
    });
  }

  /** A method, not an inline check: the state changes across the loop's awaits. */
  private isRunning(): boolean {
    return this.state === State.RUNNING;
  }

  private hasInput(): boolean {
    return (
      this.pendingTicks > 0 ||
      this.inbox.length > 0 ||
      this.proposals.length > 0 ||
      this.commands.length > 0
    );
  }

  private async runLoop(): Promise<void> {
    try {
      while (this.isRunning()) {
        this.feedCore();
        if (!this.core.hasReady()) return;
        const rd = this.core.ready();
        this.stats.readies++;
        await this.handleReady(rd);
        // Closing lets the Ready in flight finish, but starts no compaction.
        if (!this.isRunning()) return;
        await this.maybeCompact();
        // Let sockets and timers run between Readies; what they enqueue joins the next one.
        await yieldToEventLoop();
      }
    } catch (error) {
      this.fail(error);
    }
  }

  /** Hands everything queued to the core: messages first, then ticks, proposals, commands. */
  private feedCore(): void {
    // Messages before ticks: a heartbeat that waited through a long pause should reset the
    // election timer before the pause's ticks count against it.
    const inbox = this.inbox;
    this.inbox = [];
    for (let i = 0; i < inbox.length; i++) this.core.step(inbox[i]!);
    // A stalled event loop leaves many ticks pending; more than an election timeout's worth
    // would only make this node campaign for a pause it caused itself.
    const ticks = Math.min(this.pendingTicks, this.options.electionTicks);
    this.stats.ticksDropped += this.pendingTicks - ticks;
    this.pendingTicks = 0;
    for (let i = 0; i < ticks; i++) this.core.tick();
    const proposals = this.proposals;
    this.proposals = [];
    for (const proposal of proposals) proposal.waiter(this.proposeEntries(proposal.entries));
    const commands = this.commands;
    this.commands = [];
    for (const command of commands) command();
  }

  private proposeEntries(
    entries: readonly Uint8Array[],
  ): { firstIndex: number; lastIndex: number; term: number } | BrokerError {
    let first: ProposeResult | null = null;
    let last: ProposeResult | null = null;
    for (const data of entries) {
      const result = this.core.propose(data);
      if (!result.ok) return this.refusalError(result);
      first ??= result;
      last = result;
    }
    assert(first !== null && first.ok && last !== null && last.ok, 'at least one entry');
    // Accepted in one synchronous run, so by one leader in one term, contiguously.
    assert(first.term === last.term, 'one proposal call spans one term');
    assert(last.index - first.index === entries.length - 1, 'proposal entries are contiguous');
    return { firstIndex: first.index, lastIndex: last.index, term: last.term };
  }

  private async handleReady(rd: Ready): Promise<void> {
    try {
      await this.store.persist(rd);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (rd.confState !== null) this.setMembers(rd.confState);
    this.transport.send(rd.messages);
    if (rd.snapshot !== null) await this.restoreSnapshot(rd.snapshot);
    if (rd.committed.length > 0) await this.applyCommitted(rd.committed);
    this.core.advance(rd);
    if (rd.softState !== null) this.announceRole(rd.softState);
  }

  private async restoreSnapshot(snapshot: Snapshot): Promise<void> {
    const { index } = snapshot.meta;
    assert(index > this.applied, 'a snapshot from the leader is ahead of what we applied');
    await this.options.stateMachine.restore(snapshot);
    this.applied = index;
    this.snapshotIndex = index;
    this.staged = null;
    this.stats.snapshotsRestored++;
    this.logger.info({ snapshotIndex: index, bytes: snapshot.data.length }, 'restored a snapshot');
    // The snapshot hides which entries it holds: proposals it covers have an unknown outcome.
    for (const [lastIndex, list] of this.waiters) {
      if (lastIndex > index) continue;
      this.waiters.delete(lastIndex);
      for (const waiter of list) {
        waiter.settle(
          new BrokerError(
            'REQUEST_TIMED_OUT',
            `a snapshot through ${index} replaced the log; the entries may have committed`,
          ),
          null,
        );
      }
    }
  }

  /** Applies in slices of raftApplyBatchEntriesMax, yielding between slices. */
  private async applyCommitted(committed: readonly Entry[]): Promise<void> {
    assert(committed[0]!.index === this.applied + 1, 'committed entries follow the applied ones');
    const sliceMax = limits.raftApplyBatchEntriesMax;
    for (let from = 0; from < committed.length; from += sliceMax) {
      if (from > 0) await yieldToEventLoop();
      const slice = committed.slice(from, from + sliceMax);
      await this.options.stateMachine.apply(slice);
      this.applied = slice.at(-1)!.index;
      this.stats.entriesApplied += slice.length;
      this.settleApplied(slice);
    }
  }

  private settleApplied(entries: readonly Entry[]): void {
    if (this.waiters.size === 0) return;
    for (const entry of entries) {
      const list = this.waiters.get(entry.index);
      if (list === undefined) continue;
      this.waiters.delete(entry.index);
      for (const waiter of list) {
        // Log matching: the last entry committed with our term means every earlier one did.
        if (waiter.term === entry.term) {
          const { firstIndex, lastIndex, term } = waiter;
          waiter.settle(null, { firstIndex, lastIndex, term });
        } else {
          waiter.settle(
            this.notControllerError('another leader’s entry replaced this proposal'),
            null,
          );
        }
      }
    }
  }

  /**
   * Every `snapshotEntries` applied entries, serialises the state machine, and compacts the log
   * with the serialisation taken the previous time. The log so keeps at least `snapshotEntries`
   * entries behind the snapshot, so a follower a little behind catches up from the log rather
   * than chasing a snapshot that is replaced faster than it can be sent.
   */
  private async maybeCompact(): Promise<void> {
    const lastTakenIndex = this.staged?.index ?? this.snapshotIndex;
    if (this.applied - lastTakenIndex < this.options.snapshotEntries) return;
    const previous = this.staged;
    this.staged = { index: this.applied, data: this.options.stateMachine.snapshot() };
    if (previous === null) return;
    const { data } = previous;
    const snapshot = this.core.compact(previous.index, data);
    if (snapshot === null) return;
    try {
      await this.store.saveSnapshot(snapshot);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.snapshotIndex = snapshot.meta.index;
    this.stats.snapshotsTaken++;
    this.logger.debug(
      { snapshotIndex: snapshot.meta.index, bytes: data.length },
      'took a snapshot',
    );
  }

  private announceRole(soft: SoftState): void {
    const leaderAddress = this.members.get(soft.leader) ?? '';
    this.logger.info(
      { role: soft.role, term: soft.term, leader: soft.leader, leaderAddress },
      'raft role changed',
    );
    for (const listener of this.roleListeners) listener(soft);
    for (const waiter of [...this.leaderWaiters]) waiter(soft);
  }

  // ---- leadership transfer ------------------------------------------------------------------

  private startTransfer(target: NodeId | undefined): BrokerError | null {
    const status = this.core.status();
    if (status.role !== Role.LEADER)
      return this.notControllerError('only the leader can transfer leadership');
    const chosen = target ?? mostCaughtUpVoter(status);
    if (chosen === undefined) {
      return new BrokerError('INVALID_REQUEST', 'there is no other voter to hand leadership to');
    }
    if (!this.core.transferLeadership(chosen)) {
      return new BrokerError(
        'INVALID_REQUEST',
        `node ${chosen} is not another voter of the quorum`,
      );
    }
    this.logger.info({ target: chosen, term: status.term }, 'transferring raft leadership');
    return null;
  }

  /**
   * A transfer's completion: once started, it resolves when a role change names another node
   * as leader, and fails after a bound, or when the node closes or fails.
   */
  private pendingTransfer(
    resolve: () => void,
    reject: (error: unknown) => void,
  ): { started(): void; done(error: BrokerError | null): void } {
    // A transfer takes the target's catch-up (bounded by one election timeout in the core)
    // plus one election; four election timeouts leave room for a lost message.
    const timeoutMs = 4 * this.options.electionTicks * this.options.tickMs;
    let timer: NodeJS.Timeout | null = null;
    const onRole = (soft: SoftState): void => {
      if (soft.leader !== NO_NODE && soft.leader !== this.options.id) done(null);
    };
    const done = (error: BrokerError | null): void => {
      if (!this.transferAborts.delete(done)) return;
      if (timer !== null) clearTimeout(timer);
      this.leaderWaiters.delete(onRole);
      if (error === null) resolve();
      else reject(error);
    };
    this.transferAborts.add(done);
    const started = (): void => {
      this.leaderWaiters.add(onRole);
      timer = setTimeout(() => {
        done(new BrokerError('REQUEST_TIMED_OUT', `no other leader within ${timeoutMs} ms`));
      }, timeoutMs);
    };
    return { started, done };
  }

  // ---- errors, membership, status -----------------------------------------------------------

  private refusalError(result: Extract<ProposeResult, { ok: false }>): BrokerError {
    switch (result.reason) {
      case ProposeRefusal.NOT_LEADER:
      case ProposeRefusal.TRANSFERRING:
        return this.notControllerError(result.message, result.leader);
      case ProposeRefusal.BUSY:
      case ProposeRefusal.CONF_CHANGE_PENDING:
        return new BrokerError('REQUEST_TIMED_OUT', `${result.message}; retry later`);
      case ProposeRefusal.INVALID_CONF_CHANGE:
        return new BrokerError('INVALID_REQUEST', result.message);
    }
  }

  private notControllerError(message: string, leader = this.core.status().leader): BrokerError {
    return new BrokerError('NOT_CONTROLLER', message, this.leaderHint(leader));
  }

  /** The leader's id and address, or null when the leader or its address is unknown. */
  private leaderHint(leader: NodeId): LeaderHint | null {
    if (leader === NO_NODE || leader === this.options.id) return null;
    const address = this.members.get(leader);
    return address === undefined ? null : { nodeId: leader, address };
  }

  private setMembers(conf: ConfState): void {
    const members = [...conf.voters, ...conf.observers];
    this.members = new Map(members.map((m) => [m.id, m.address]));
    this.transport.setPeers(members);
  }

  private logBootstrap(plan: BootstrapPlan): void {
    if (plan.kind === 'record') {
      this.logger.info({ voters: plan.conf.voters }, 'recorded the raft bootstrap membership');
    } else if (plan.kind === 'readdress') {
      this.logger.info(
        { changes: plan.changes },
        'raft voter addresses changed since the last start; the new ones are recorded',
      );
    }
  }

  private statusProto(): RaftStatusResponse {
    const status = this.status();
    return statusToProto(status, this.members.get(status.leader) ?? '');
  }

  // ---- stopping -----------------------------------------------------------------------------

  private async shutdown(): Promise<void> {
    const wasRunning = this.state === State.RUNNING || this.state === State.OPEN;
    if (wasRunning) this.state = State.CLOSED;
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.receiver.close();
    // The Ready in flight finishes (its persist cannot be recalled); no new one starts.
    await this.loop;
    await this.transport.close();
    this.rejectAll(new BrokerError('NOT_CONTROLLER', 'the raft node is closing'));
    this.logger.info({ applied: this.applied }, 'raft node closed');
  }

  private fail(error: unknown): void {
    if (this.state === State.FAILED) return;
    this.state = State.FAILED;
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.logger.error({ err: error }, 'raft node stopped: local state cannot be trusted');
    this.receiver.close();
    void this.transport.close();
    this.rejectAll(
      new BrokerError('KAFKA_STORAGE_ERROR', 'the raft node stopped after a fault', null, {
        cause: error,
      }),
    );
    this.options.onFatal(error);
  }

  private rejectAll(error: BrokerError): void {
    this.proposals = [];
    this.commands = [];
    this.waiters.clear();
    for (const settle of [...this.settlers]) settle(error, null);
    for (const abort of [...this.transferAborts]) abort(error);
  }
}

function checkOptions(options: RaftNodeOptions): void {
  assert(options.tickMs >= 1, 'raft node: tickMs >= 1');
  assert(
    options.electionTicks > options.heartbeatTicks,
    'raft node: electionTicks > heartbeatTicks',
  );
  assert(options.snapshotEntries >= 1, 'raft node: snapshotEntries >= 1');
  assert(options.initialVoters.length >= 1, 'raft node: at least one initial voter');
  // An Append or a snapshot chunk must fit one peer batch, and so one gRPC message.
  assert(
    options.appendBytesMax < limits.raftPeerBatchBytesMax,
    'raft node: appendBytesMax fits a batch',
  );
  assert(
    options.snapshotChunkBytes < limits.raftPeerBatchBytesMax,
    'raft node: chunk fits a batch',
  );
}

/** The other voter with the highest match index (ties: the lowest id), if any. */
function mostCaughtUpVoter(status: RaftStatus): NodeId | undefined {
  let best: { id: NodeId; matchIndex: number } | undefined;
  for (const peer of status.peers) {
    if (!peer.isVoter || peer.id === status.id) continue;
    if (best === undefined || peer.matchIndex > best.matchIndex) best = peer;
  }
  return best?.id;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
