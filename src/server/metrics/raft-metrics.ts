/**
 * The node's Raft member and controller, read from RaftNode.status() at scrape time, plus a
 * counter of leader changes that the driver's role listener feeds (a scrape every 15 s would
 * miss a leader that came and went in between).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { Role, type RaftStatus, type SoftState } from '../../raft/types.js';
import { oncePerTurn, valueGauge } from './collect.js';

export const RAFT_ROLES: readonly Role[] = Object.values(Role);

export interface RaftSource {
  status(): RaftStatus;
  /** `listener` hears every role, leader or term change (RaftNode.onRoleChange). */
  onRoleChange(listener: (state: SoftState) => void): void;
  /** Whether this node is the active controller now. */
  isActiveController(): boolean;
}

/** How far one member's log is behind the leader's. */
export interface MemberLag {
  readonly nodeId: number;
  /** Leader's last index minus the member's match index; never negative. */
  readonly entries: number;
}

/**
 * On the leader, each other member's lag behind the leader's log (as DescribeCluster reports
 * it); elsewhere empty, since only the leader knows its followers' match indexes.
 */
export function memberLags(status: RaftStatus): MemberLag[] {
  if (status.role !== Role.LEADER) return [];
  return status.peers
    .filter((peer) => peer.id !== status.id)
    .map((peer) => ({
      nodeId: peer.id,
      entries: Math.max(0, status.lastIndex - peer.matchIndex),
    }));
}

/** Committed entries this node has not applied to its metadata image yet. */
export function applyLag(status: RaftStatus): number {
  return Math.max(0, status.commitIndex - status.appliedIndex);
}

/**
 * Counts leader changes: each time the listener hears a leader other than the last known one,
 * or the same node leading again in a newer term. Hearing "no leader" (an election under way)
 * is not a change by itself.
 */
export class LeaderChangeCounter {
  private leader = -1;
  private term = -1;
  private count = 0;

  observe(state: SoftState): void {
    if (state.leader < 0) return;
    if (state.leader === this.leader && state.term === this.term) return;
    this.leader = state.leader;
    this.term = state.term;
    this.count++;
  }

  get changes(): number {
    return this.count;
  }
}

export function registerRaftMetrics(registry: Registry, source: RaftSource): void {
  const status = oncePerTurn(() => source.status());
  const changes = new LeaderChangeCounter();
  changes.observe(source.status());
  source.onRoleChange((state) => changes.observe(state));
  new Gauge({
    name: 'brook_raft_role',
    help: "This node's Raft role: 1 for the current one, 0 for the others.",
    labelNames: ['role'],
    registers: [registry],
    collect(this: Gauge<'role'>) {
      const role = status().role;
      for (const candidate of RAFT_ROLES) this.set({ role: candidate }, candidate === role ? 1 : 0);
    },
  });
  const gauges: ReadonlyArray<[string, string, (s: RaftStatus) => number]> = [
    ['brook_raft_term', 'Current Raft term of this node.', (s) => s.term],
    [
      'brook_raft_leader',
      'Node id of the Raft leader this node knows of; -1 for none.',
      (s) => s.leader,
    ],
    [
      'brook_raft_commit_index',
      'Highest Raft log index this node knows to be committed.',
      (s) => s.commitIndex,
    ],
    [
      'brook_raft_applied_index',
      'Highest Raft log index applied to the metadata image.',
      (s) => s.appliedIndex,
    ],
    [
      'brook_raft_last_index',
      "Index of the last entry in this node's Raft log.",
      (s) => s.lastIndex,
    ],
    [
      'brook_raft_snapshot_index',
      'Raft log index of the latest snapshot (the log is compacted up to it).',
      (s) => s.snapshotIndex,
    ],
    [
      'brook_raft_apply_lag_entries',
      'Committed Raft entries not yet applied to the metadata image (commit index minus applied index).',
      applyLag,
    ],
  ];
  for (const [name, help, read] of gauges) {
    valueGauge(registry, { name, help, read: () => read(status()) });
  }
  new Gauge({
    name: 'brook_raft_member_lag_entries',
    help: "On the Raft leader only: how many entries each other member's log is behind the leader's last index (its match index). Observers included.",
    labelNames: ['member'],
    registers: [registry],
    collect(this: Gauge<'member'>) {
      this.reset();
      for (const lag of memberLags(status())) this.set({ member: String(lag.nodeId) }, lag.entries);
    },
  });
  valueGauge(registry, {
    name: 'brook_controller_active',
    help: 'Whether this node is the active controller (the Raft leader running the controller): 1 or 0. The cluster has one when sum() is 1.',
    read: () => (source.isActiveController() ? 1 : 0),
  });
  new Counter({
    name: 'brook_raft_leader_changes_total',
    help: 'Raft leader changes this node observed (a new leader, or the same one in a newer term).',
    registers: [registry],
    collect(this: Counter) {
      this.reset();
      this.inc(changes.changes);
    },
  });
}
