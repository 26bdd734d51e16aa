/**
 * Raft gauges read RaftNode.status(); the leader-change counter listens to role changes. The
 * pure helpers are checked on hand-written statuses, the counter on a sequence of soft states.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { RaftStatus, SoftState } from '../../../src/raft/types.js';
import {
  applyLag,
  LeaderChangeCounter,
  memberLags,
  registerRaftMetrics,
} from '../../../src/server/metrics/raft-metrics.js';
import { leaderStatus, samplesOf, valueOf } from './metrics-fixtures.js';

const followerStatus: RaftStatus = { ...leaderStatus, id: 2, role: 'follower', peers: [] };

describe('raft metrics', () => {
  it('reports member lag on the leader only, from each match index', () => {
    expect(memberLags(leaderStatus)).toEqual([
      { nodeId: 2, entries: 0 },
      { nodeId: 3, entries: 25 },
    ]);
    expect(memberLags(followerStatus)).toEqual([]);
  });

  it('computes the apply lag as commit minus applied, never negative', () => {
    expect(applyLag(leaderStatus)).toBe(2);
    expect(applyLag({ ...leaderStatus, appliedIndex: 121 })).toBe(0);
  });

  it('counts a leader change per new leader or new term, not per election without a leader', () => {
    const counter = new LeaderChangeCounter();
    const states: SoftState[] = [
      { role: 'follower', leader: -1, term: 1 },
      { role: 'follower', leader: 1, term: 1 },
      { role: 'follower', leader: 1, term: 1 },
      { role: 'candidate', leader: -1, term: 2 },
      { role: 'follower', leader: 1, term: 3 },
      { role: 'leader', leader: 2, term: 4 },
    ];
    for (const state of states) counter.observe(state);
    expect(counter.changes).toBe(3);
  });

  it('exposes one role set to 1, the indexes and the controller flag', async () => {
    const registry = new Registry();
    const listeners: Array<(s: SoftState) => void> = [];
    registerRaftMetrics(registry, {
      status: () => leaderStatus,
      onRoleChange: (l) => listeners.push(l),
      isActiveController: () => true,
    });
    const roles = await samplesOf(registry, 'brook_raft_role');
    expect(roles.filter((s) => s.value === 1).map((s) => s.labels['role'])).toEqual(['leader']);
    expect(roles).toHaveLength(5);
    expect(await valueOf(registry, 'brook_raft_term')).toBe(4);
    expect(await valueOf(registry, 'brook_raft_commit_index')).toBe(120);
    expect(await valueOf(registry, 'brook_raft_apply_lag_entries')).toBe(2);
    expect(await valueOf(registry, 'brook_raft_member_lag_entries', { member: '3' })).toBe(25);
    expect(await valueOf(registry, 'brook_controller_active')).toBe(1);
    // The current leader counts as the first one seen; a new term's leader adds one.
    expect(await valueOf(registry, 'brook_raft_leader_changes_total')).toBe(1);
    for (const l of listeners) l({ role: 'follower', leader: 3, term: 5 });
    expect(await valueOf(registry, 'brook_raft_leader_changes_total')).toBe(2);
  });
});
