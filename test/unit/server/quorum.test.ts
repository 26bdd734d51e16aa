/**
 * DescribeCluster's quorum section, built from a Raft status by a pure function: members in a
 * fixed order with their kind, replication progress only where the answering node is the leader
 * (the only node that knows it), and this node's indexes paired with its digest.
 */
import { describe, expect, it } from 'vitest';
import { describeQuorum } from '../../../src/server/grpc/quorum.js';
import type { AppliedState } from '../../../src/server/grpc/quorum.js';
import type { RaftStatus } from '../../../src/raft/types.js';

const applied: AppliedState = { appliedIndex: 40, digest: 'ab' };

const base: RaftStatus = {
  id: 2,
  role: 'follower',
  term: 7,
  leader: 1,
  vote: 1,
  commitIndex: 41,
  appliedIndex: 40,
  lastIndex: 42,
  snapshotIndex: 10,
  confState: {
    voters: [
      { id: 3, address: 'h3:1' },
      { id: 1, address: 'h1:1' },
      { id: 2, address: 'h2:1' },
    ],
    observers: [{ id: 9, address: 'h9:1' }],
  },
  peers: [],
};

describe('describeQuorum', () => {
  it('on a follower: members by kind and id, no replication progress', () => {
    const quorum = describeQuorum(base, applied);
    expect(quorum.leaderId).toBe(1);
    expect(quorum.term).toBe(7);
    expect(quorum.members).toEqual([
      { nodeId: 1, address: 'h1:1', kind: 'QUORUM_MEMBER_VOTER', replication: null },
      { nodeId: 2, address: 'h2:1', kind: 'QUORUM_MEMBER_VOTER', replication: null },
      { nodeId: 3, address: 'h3:1', kind: 'QUORUM_MEMBER_VOTER', replication: null },
      { nodeId: 9, address: 'h9:1', kind: 'QUORUM_MEMBER_OBSERVER', replication: null },
    ]);
    expect(quorum.node).toEqual({
      nodeId: 2,
      role: 'QUORUM_ROLE_FOLLOWER',
      commitIndex: 41,
      appliedIndex: 40,
      lastIndex: 42,
      snapshotIndex: 10,
      appliedDigest: 'ab',
    });
  });

  it('on the leader: progress per member, lag against the leader’s last index', () => {
    const leader: RaftStatus = {
      ...base,
      id: 1,
      role: 'leader',
      leader: 1,
      peers: [
        {
          id: 2,
          isVoter: true,
          matchIndex: 42,
          nextIndex: 43,
          state: 'replicate',
          recentActive: true,
        },
        {
          id: 3,
          isVoter: true,
          matchIndex: 30,
          nextIndex: 31,
          state: 'probe',
          recentActive: false,
        },
      ],
    };
    const members = describeQuorum(leader, applied).members ?? [];
    const byId = new Map(members.map((m) => [m.nodeId, m]));
    expect(byId.get(1)?.replication).toEqual({
      matchIndex: 42,
      nextIndex: 43,
      lag: 0,
      state: 'REPLICATION_REPLICATE',
      recentlyActive: true,
    });
    expect(byId.get(3)?.replication).toEqual({
      matchIndex: 30,
      nextIndex: 31,
      lag: 12,
      state: 'REPLICATION_PROBE',
      recentlyActive: false,
    });
    // A member the leader has no progress for yet is shown without one, not as lagging.
    expect(byId.get(9)?.replication).toBeNull();
  });

  it('pairs applied_index with the digest, not with the driver’s counter', () => {
    const quorum = describeQuorum({ ...base, appliedIndex: 39 }, applied);
    expect(quorum.node?.appliedIndex).toBe(40);
  });
});
