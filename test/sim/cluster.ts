/**
 * The simulated cluster: N voters plus one spare node, a network, a nemesis, a client and a
 * membership changer, all driven by one event queue in virtual time. After every event the
 * nodes it touched report their role and commit index to the checker, and their next Ready is
 * taken. The run has two phases: faults until chaosTicks, then healing (network healed, every
 * node restarted, no more faults) until a proposal made after healing commits on every voter,
 * or the liveness bound runs out.
 */
import { assert } from '../../src/util/assert.js';
import {
  NO_NODE,
  Role,
  type Message,
  type NodeId,
  type RaftConfig,
  type Ready,
} from '../../src/raft/types.js';
import type { RaftCore } from '../../src/raft/core.js';
import { SeededRng, type Rng } from '../../src/util/rng.js';
import { Checker, Invariant, SimViolation } from './checker.js';
import { SimClient, type AcceptedProposal } from './client.js';
import { addressOf, type ClusterView } from './cluster-view.js';
import { EventQueue } from './event-queue.js';
import { MembershipChanger } from './membership.js';
import { describeAction, Nemesis, type NemesisAction } from './nemesis.js';
import { CALM_PROFILE, SimNetwork } from './network.js';
import { streamSeed, type SimConfig } from './sim-config.js';
import type { SimEvent } from './sim-event.js';
import { SimNode, type CoreFactory } from './sim-node.js';
import type { Trace } from './trace.js';

/** Events one run may process; past it the run is stuck in a loop, not simulating. */
export const EVENTS_PER_RUN_MAX = 20_000_000;
/** Proposals accepted after healing that the liveness check keeps. */
const ACCEPTED_AFTER_HEAL_MAX = 10_000;
/** Liveness allowance per uncommitted entry at healing (about one round trip and fsync each). */
const BACKLOG_TICKS_PER_ENTRY = 2;

const Stream = { NETWORK: 1, NEMESIS: 2, CLIENT: 3, MEMBERSHIP: 4, DRIVER: 5, CORE: 6 } as const;

export interface SimStats {
  events: number;
  virtualMs: number;
  proposals: number;
  accepted: number;
  committed: number;
  crashes: number;
  maxTerm: number;
}

type Phase = 'chaos' | 'healing' | 'done';

export class Cluster implements ClusterView {
  readonly nodeIds: readonly NodeId[];
  readonly checker: Checker;
  readonly stats: SimStats = {
    events: 0,
    virtualMs: 0,
    proposals: 0,
    accepted: 0,
    committed: 0,
    crashes: 0,
    maxTerm: 0,
  };
  private readonly nodes: SimNode[] = [];
  private readonly queue = new EventQueue<SimEvent>();
  private readonly network: SimNetwork;
  private readonly nemesis: Nemesis;
  private readonly client: SimClient;
  private readonly membership: MembershipChanger;
  private readonly rng: Rng;
  /** Last role and term seen per node (refreshed after every event that touches it). */
  private readonly roles: Role[] = [];
  private readonly terms: number[] = [];
  private readonly acceptedAfterHeal: AcceptedProposal[] = [];
  private readonly send: (message: Message) => void;
  private nowMs = 0;
  private phase: Phase = 'chaos';
  private committedAtHeal = 0;
  private backlogAtHeal = 0;
  private livenessTicks = 0;
  /** Leaders whose first commit in their term is awaited: commit index at election. */
  private readonly firstCommitWatch = new Map<NodeId, { term: number; commit: number }>();

  constructor(
    readonly config: SimConfig,
    private readonly factory: CoreFactory,
    private readonly trace: Trace,
  ) {
    this.checker = new Checker({ voteCheck: config.voteCheck });
    const ids: NodeId[] = [];
    for (let id = 0; id <= config.nodes; id++) ids.push(id);
    this.nodeIds = ids;
    this.network = new SimNetwork(
      ids.length,
      new SeededRng(streamSeed(config.seed, Stream.NETWORK)),
    );
    this.nemesis = new Nemesis(new SeededRng(streamSeed(config.seed, Stream.NEMESIS)), config, ids);
    this.client = new SimClient(new SeededRng(streamSeed(config.seed, Stream.CLIENT)), this);
    this.membership = new MembershipChanger(
      new SeededRng(streamSeed(config.seed, Stream.MEMBERSHIP)),
      this,
    );
    this.rng = new SeededRng(streamSeed(config.seed, Stream.DRIVER));
    this.send = (message) => this.sendMessage(message);
    for (const id of ids) {
      this.nodes.push(new SimNode(id));
      this.roles.push(Role.FOLLOWER);
      this.terms.push(0);
    }
  }

  coreOf(id: NodeId): RaftCore | null {
    return this.node(id).core;
  }

  leader(): NodeId {
    let leader = NO_NODE;
    let term = -1;
    for (const node of this.nodes) {
      const nodeTerm = this.terms[node.id] ?? 0;
      if (node.isUp && this.roles[node.id] === Role.LEADER && nodeTerm > term) {
        leader = node.id;
        term = nodeTerm;
      }
    }
    return leader;
  }

  /** Runs to the end; throws SimViolation (or whatever the core threw) on the first failure. */
  run(): void {
    this.start();
    while (this.phase !== 'done') {
      assert(this.queue.size > 0, 'the event queue ran dry before the run ended');
      assert(this.stats.events < EVENTS_PER_RUN_MAX, 'too many events in one run');
      const { timeMs, item } = this.queue.pop();
      assert(timeMs >= this.nowMs, 'time went backwards');
      this.nowMs = timeMs;
      this.stats.events++;
      this.stats.virtualMs = timeMs;
      this.trace.event(timeMs, item);
      this.dispatch(item);
    }
    this.stats.proposals = this.client.proposedCount;
    this.stats.accepted = this.client.acceptedCount;
    this.stats.committed = this.checker.committedCount;
  }

  private start(): void {
    const c = this.config;
    for (const node of this.nodes) {
      node.tickFactor = this.nemesis.driftFactor();
      this.restart(node);
    }
    this.schedule(this.exponentialMs(c.clientIntervalMsMean), { kind: 'client' });
    this.schedule(this.exponentialMs(c.nemesisIntervalMsMean), { kind: 'nemesis' });
    this.schedule(this.exponentialMs(c.crashIntervalMsMean), { kind: 'crash-nemesis' });
    this.schedule(this.exponentialMs(c.membershipIntervalMsMean), { kind: 'membership' });
    this.schedule(this.exponentialMs(c.transferIntervalMsMean), { kind: 'transfer' });
    this.schedule(c.chaosTicks * c.tickMs, { kind: 'heal' });
  }

  private dispatch(event: SimEvent): void {
    switch (event.kind) {
      case 'tick':
        return this.onTick(event.node, event.incarnation);
      case 'deliver':
        return this.onDeliver(event.message);
      case 'fsync':
        return this.onFsync(event.node, event.incarnation);
      case 'crash':
        return this.onCrash(event.node, event.reason);
      case 'restart': {
        const node = this.node(event.node);
        if (!node.isUp) this.restart(node);
        return;
      }
      case 'nemesis':
        return this.onNemesis();
      case 'crash-nemesis':
        return this.onCrashNemesis();
      case 'client':
        return this.onClient();
      case 'membership':
        return this.onMembership();
      case 'transfer':
        return this.onTransfer();
      case 'heal':
        return this.onHeal();
      case 'deadline':
        throw new SimViolation(Invariant.LIVENESS, this.describeStall());
    }
  }

  private onTick(id: NodeId, incarnation: number): void {
    const node = this.node(id);
    if (node.core === null || node.incarnation !== incarnation) return;
    node.core.tick();
    this.scheduleTick(node);
    this.afterTouch(node);
  }

  private onDeliver(message: Message): void {
    const node = this.node(message.to);
    // A cut that happens while a message is in flight loses it, as on a real link.
    if (node.core === null || this.network.isCut(message.from, message.to)) return;
    node.core.step(message);
    this.afterTouch(node);
  }

  private onFsync(id: NodeId, incarnation: number): void {
    const node = this.node(id);
    if (node.core === null || node.incarnation !== incarnation) return;
    const c = this.config;
    node.completeReady(
      this.checker,
      this.send,
      this.rng,
      c.snapshotEveryEntries,
      c.snapshotTrailingEntries,
    );
    this.afterTouch(node);
    if (this.phase === 'healing' && this.isLive()) this.finish();
  }

  private onCrash(id: NodeId, reason: string): void {
    const node = this.node(id);
    if (this.phase !== 'chaos' || !node.isUp) return;
    node.crash(this.nowMs);
    this.stats.crashes++;
    this.schedule(this.nemesis.restartDelayMs(), { kind: 'restart', node: id });
    if (this.trace.isVerbose) this.trace.note(this.nowMs, `crashed ${id}: ${reason}`);
  }

  private onCrashNemesis(): void {
    if (this.phase !== 'chaos') return;
    this.onCrash(this.nemesis.crashTarget(this.leader()), 'nemesis');
    this.schedule(this.exponentialMs(this.config.crashIntervalMsMean), { kind: 'crash-nemesis' });
  }

  private onNemesis(): void {
    if (this.phase !== 'chaos') return;
    const action = this.nemesis.nextAction(this.leader());
    this.applyAction(action);
    this.trace.note(this.nowMs, describeAction(action));
    this.schedule(this.exponentialMs(this.config.nemesisIntervalMsMean), { kind: 'nemesis' });
  }

  private applyAction(action: NemesisAction): void {
    switch (action.kind) {
      case 'heal-network':
        return this.network.heal();
      case 'partition':
        this.network.heal();
        return this.network.partition(action.groups, action.bridges);
      case 'isolate':
        this.network.heal();
        return this.network.isolate(action.node);
      case 'cut-one-way':
        for (const [from, to] of action.links) this.network.cutOneWay(from, to);
        return;
      case 'profile':
        this.network.profile = action.profile;
        return;
      case 'drift':
        this.node(action.node).tickFactor = action.factor;
        return;
    }
  }

  private onClient(): void {
    const outcome = this.client.propose();
    const result = outcome.result;
    if (result !== null && result.ok && this.phase === 'healing') {
      assert(
        this.acceptedAfterHeal.length < ACCEPTED_AFTER_HEAL_MAX,
        'too many proposals after healing',
      );
      this.acceptedAfterHeal.push({ index: result.index, term: result.term, timeMs: this.nowMs });
    }
    if (this.trace.isVerbose) {
      const text =
        result === null
          ? 'down'
          : result.ok
            ? `ok ${result.index}/${result.term}`
            : `${result.reason} leader=${result.leader}`;
      this.trace.note(this.nowMs, `propose ${outcome.payload} at ${outcome.target}: ${text}`);
    }
    const node = this.node(outcome.target);
    if (node.isUp) this.afterTouch(node);
    this.schedule(this.exponentialMs(this.config.clientIntervalMsMean), { kind: 'client' });
  }

  private onMembership(): void {
    if (this.phase !== 'chaos') return;
    const outcome = this.membership.changeMembership();
    if (outcome !== null) {
      const r = outcome.result;
      const text = r.ok ? `ok ${r.index}/${r.term}` : r.reason;
      this.trace.note(
        this.nowMs,
        `conf change ${outcome.change.type} ${outcome.change.nodeId} at ${outcome.leader}: ${text}`,
      );
      this.afterTouch(this.node(outcome.leader));
    }
    this.schedule(this.exponentialMs(this.config.membershipIntervalMsMean), { kind: 'membership' });
  }

  private onTransfer(): void {
    if (this.phase !== 'chaos') return;
    const outcome = this.membership.transferLeadership();
    if (outcome !== null) {
      this.trace.note(
        this.nowMs,
        `transfer ${outcome.leader} -> ${outcome.target}: ${outcome.started ? 'started' : 'refused'}`,
      );
      this.afterTouch(this.node(outcome.leader));
    }
    this.schedule(this.exponentialMs(this.config.transferIntervalMsMean), { kind: 'transfer' });
  }

  /** End of faults: heal the network, restart every crashed node, start the liveness clock. */
  private onHeal(): void {
    this.phase = 'healing';
    this.network.heal();
    this.network.profile = CALM_PROFILE;
    this.committedAtHeal = this.checker.committedCount;
    this.trace.note(this.nowMs, `healing: committed ${this.committedAtHeal}`);
    for (const node of this.nodes) {
      if (!node.isUp) this.restart(node);
    }
    // Entries already in some log but not committed must commit (or be replaced) before any new
    // proposal can: with one-entry Appends that takes about one round trip and one fsync each,
    // so the bound grows with that backlog instead of failing overloaded but healthy runs.
    let lastIndex = 0;
    for (const node of this.nodes)
      lastIndex = Math.max(lastIndex, node.core?.status().lastIndex ?? 0);
    this.backlogAtHeal = lastIndex - this.committedAtHeal;
    this.livenessTicks = this.config.livenessTicks + BACKLOG_TICKS_PER_ENTRY * this.backlogAtHeal;
    this.schedule(this.livenessTicks * this.config.tickMs, { kind: 'deadline' });
  }

  /**
   * Liveness after healing: a leader exists, a proposal it accepted after healing committed,
   * and every voter applied it and everything committed before healing.
   */
  private isLive(): boolean {
    const leader = this.leader();
    const core = leader === NO_NODE ? null : this.coreOf(leader);
    if (core === null) return false;
    let target = -1;
    for (const p of this.acceptedAfterHeal) {
      if (this.checker.committedTermAt(p.index) === p.term) {
        target = Math.max(p.index, this.committedAtHeal);
        break;
      }
    }
    if (target < 0) return false;
    for (const voter of core.status().confState.voters) {
      const node = this.node(voter.id);
      if (!node.isUp || node.sm.index < target) return false;
    }
    return true;
  }

  /** Why liveness failed: who leads, and how far each node got. */
  private describeStall(): string {
    const parts = [
      `no proposal made after healing committed on every voter within ${this.livenessTicks} ticks`,
      `(backlog ${this.backlogAtHeal} entries at healing, ${this.committedAtHeal} committed then, ${this.acceptedAfterHeal.length} proposals accepted since, first at ${this.acceptedAfterHeal[0]?.index ?? '-'});`,
      `leader ${this.leader()};`,
    ];
    for (const node of this.nodes) {
      const status = node.core?.status();
      if (status === undefined) {
        parts.push(`node ${node.id} down;`);
        continue;
      }
      const voters = status.confState.voters.map((m) => m.id).join(',');
      const observers = status.confState.observers.map((m) => m.id).join(',');
      parts.push(
        `node ${node.id} ${status.role} t${status.term} applied ${node.sm.index} commit ${status.commitIndex} last ${status.lastIndex} snapshot ${status.snapshotIndex} conf v[${voters}] o[${observers}];`,
      );
    }
    return parts.join(' ');
  }

  /** The run passed liveness: check that no voter lost anything committed, then stop. */
  private finish(): void {
    const core = this.coreOf(this.leader());
    assert(core !== null, 'finish without a leader');
    for (const voter of core.status().confState.voters) {
      const sm = this.node(voter.id).sm;
      this.checker.checkNothingLost(
        voter.id,
        { index: sm.index, hash: sm.hash },
        this.committedAtHeal,
      );
    }
    this.trace.note(
      this.nowMs,
      `live: leader ${this.leader()}, ${this.checker.committedCount} committed`,
    );
    this.phase = 'done';
  }

  private restart(node: SimNode): void {
    const c = this.config;
    const voters = [];
    for (let id = 0; id < c.nodes; id++) voters.push({ id, address: addressOf(id) });
    const raftConfig: RaftConfig = {
      id: node.id,
      initialConf: { voters, observers: [] },
      electionTicks: c.electionTicks,
      heartbeatTicks: c.heartbeatTicks,
      inflightAppendsMax: c.inflightAppendsMax,
      appendBytesMax: c.appendBytesMax,
      snapshotChunkBytes: c.snapshotChunkBytes,
      uncommittedBytesMax: c.uncommittedBytesMax,
    };
    const coreSeed = streamSeed(c.seed, Stream.CORE + 1000 * node.id + node.incarnation);
    node.start(this.factory, raftConfig, new SeededRng(coreSeed));
    this.checker.observeRestart(node.id);
    this.trace.note(
      this.nowMs,
      `started ${node.id} (incarnation ${node.incarnation}, store ${node.store.snapshotIndex}..${node.store.lastIndex}, term ${node.store.hardState.term})`,
    );
    // Nodes do not tick in lockstep: the first tick of a life comes at a random phase.
    this.schedule(this.rng.next() * c.tickMs * node.tickFactor, {
      kind: 'tick',
      node: node.id,
      incarnation: node.incarnation,
    });
    this.afterTouch(node);
  }

  /** After any event at a node: report its role and commit, then take its next Ready. */
  private afterTouch(node: SimNode): void {
    const core = node.core;
    assert(core !== null, `node ${node.id} touched while down`);
    const status = core.status();
    this.roles[node.id] = status.role;
    this.terms[node.id] = status.term;
    this.stats.maxTerm = Math.max(this.stats.maxTerm, status.term);
    const isNewLeader = this.checker.observeRole(node.id, status.role, status.term);
    this.checker.observeCommitIndex(node.id, status.commitIndex);
    if (isNewLeader) this.onNewLeader(node.id, status.term, status.commitIndex);
    const watch = this.firstCommitWatch.get(node.id);
    if (watch !== undefined && (watch.term !== status.term || status.commitIndex > watch.commit)) {
      this.firstCommitWatch.delete(node.id);
      if (watch.term === status.term && status.role === Role.LEADER)
        this.onFirstCommit(node.id, status.term);
    }
    const rd = node.takeReady(this.checker);
    if (rd === null) return;
    if (this.trace.isVerbose) this.trace.note(this.nowMs, describeReady(node.id, rd));
    const fsyncMs = rd.mustSync ? this.rng.next() * this.config.fsyncMsMax : 0;
    this.schedule(fsyncMs, { kind: 'fsync', node: node.id, incarnation: node.incarnation });
  }

  /** Figure 8 needs leaders that fail right after replicating to a minority: make some. */
  private onNewLeader(id: NodeId, term: number, commitIndex: number): void {
    this.trace.note(this.nowMs, `leader ${id} term ${term}`);
    if (this.phase !== 'chaos') return;
    this.firstCommitWatch.set(id, { term, commit: commitIndex });
    const soonMs = this.rng.next() * 3 * this.config.heartbeatTicks * this.config.tickMs;
    if (this.rng.next() < this.config.leaderCrashProbability) {
      this.schedule(soonMs, { kind: 'crash', node: id, reason: `new leader of term ${term}` });
    } else if (this.rng.next() < this.config.leaderIsolateProbability) {
      this.network.isolate(id);
      this.trace.note(this.nowMs, `isolate new leader ${id}`);
    }
  }

  /**
   * A new leader's first commit is a moment worth failing at: it is when a leader that commits
   * by the wrong rule has just declared an entry committed that is not yet safe.
   */
  private onFirstCommit(id: NodeId, term: number): void {
    if (this.phase !== 'chaos' || this.rng.next() >= this.config.firstCommitCrashProbability)
      return;
    const soonMs = this.rng.next() * this.config.tickMs;
    this.schedule(soonMs, { kind: 'crash', node: id, reason: `first commit of term ${term}` });
  }

  private sendMessage(message: Message): void {
    for (const delayMs of this.network.fate(message.from, message.to)) {
      this.schedule(delayMs, { kind: 'deliver', message });
    }
  }

  private scheduleTick(node: SimNode): void {
    this.schedule(this.config.tickMs * node.tickFactor, {
      kind: 'tick',
      node: node.id,
      incarnation: node.incarnation,
    });
  }

  private schedule(afterMs: number, event: SimEvent): void {
    if (afterMs === Infinity) return;
    this.queue.push(this.nowMs + afterMs, event);
  }

  private exponentialMs(meanMs: number): number {
    if (meanMs === Infinity) return Infinity;
    return -Math.log(1 - this.rng.next()) * meanMs;
  }

  private node(id: NodeId): SimNode {
    const node = this.nodes[id];
    assert(node !== undefined, `no node ${id}`);
    return node;
  }
}

function describeReady(id: NodeId, rd: Ready): string {
  const parts = [`ready ${id}:`];
  if (rd.softState !== null)
    parts.push(`${rd.softState.role} t${rd.softState.term} leader=${rd.softState.leader}`);
  if (rd.hardState !== null)
    parts.push(`hs=t${rd.hardState.term}/v${rd.hardState.vote}/c${rd.hardState.commit}`);
  const first = rd.entries[0];
  const last = rd.entries[rd.entries.length - 1];
  if (first !== undefined && last !== undefined)
    parts.push(`entries=${first.index}/${first.term}..${last.index}/${last.term}`);
  if (rd.snapshot !== null)
    parts.push(`snapshot=${rd.snapshot.meta.index}/${rd.snapshot.meta.term}`);
  const c0 = rd.committed[0];
  const c1 = rd.committed[rd.committed.length - 1];
  if (c0 !== undefined && c1 !== undefined) parts.push(`committed=${c0.index}..${c1.index}`);
  if (rd.messages.length > 0) parts.push(`msgs=${rd.messages.length}`);
  if (rd.confState !== null)
    parts.push(
      `conf=v[${rd.confState.voters.map((m) => m.id).join(',')}] o[${rd.confState.observers.map((m) => m.id).join(',')}]`,
    );
  if (rd.mustSync) parts.push('sync');
  return parts.join(' ');
}
