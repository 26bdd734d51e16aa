/**
 * DescribeCluster's quorum section: the Raft module's status as the answering node sees it,
 * turned into the public QuorumInfo message. Pure: the caller passes the status and the state
 * machine's digest, so this can be tested without a node.
 */
import type {
  QuorumInfo,
  QuorumMember,
  QuorumMemberKind,
  QuorumRole,
  ReplicationProgress,
  ReplicationState,
} from '../../proto/index.js';
import {
  ProgressState,
  Role,
  type Member,
  type PeerStatus,
  type RaftStatus,
} from '../../raft/types.js';

/** The metadata state machine as of one applied index. */
export interface AppliedState {
  /** Raft index of the last entry applied; 0 before any. */
  readonly appliedIndex: number;
  /** Hex SHA-256 of the metadata image (MetadataState.digest). */
  readonly digest: string;
}

/** What DescribeCluster reads from the node's Raft module. */
export interface QuorumSource {
  status(): RaftStatus;
  /** The state machine's state, read at once (index and digest of one image). */
  applied(): AppliedState;
}

const ROLES: Record<Role, QuorumRole> = {
  [Role.FOLLOWER]: 'QUORUM_ROLE_FOLLOWER',
  [Role.PRE_CANDIDATE]: 'QUORUM_ROLE_PRE_CANDIDATE',
  [Role.CANDIDATE]: 'QUORUM_ROLE_CANDIDATE',
  [Role.LEADER]: 'QUORUM_ROLE_LEADER',
  [Role.OBSERVER]: 'QUORUM_ROLE_OBSERVER',
};

const STATES: Record<ProgressState, ReplicationState> = {
  [ProgressState.PROBE]: 'REPLICATION_PROBE',
  [ProgressState.REPLICATE]: 'REPLICATION_REPLICATE',
  [ProgressState.SNAPSHOT]: 'REPLICATION_SNAPSHOT',
};

export function describeQuorum(status: RaftStatus, applied: AppliedState): QuorumInfo {
  const isLeader = status.role === Role.LEADER;
  const peers = new Map<number, PeerStatus>();
  for (const peer of status.peers) peers.set(peer.id, peer);
  const member = (m: Member, kind: QuorumMemberKind): QuorumMember => ({
    nodeId: m.id,
    address: m.address,
    kind,
    replication: isLeader ? progressOf(m.id, status, peers.get(m.id)) : null,
  });
  const byId = (a: Member, b: Member): number => a.id - b.id;
  return {
    leaderId: status.leader,
    term: status.term,
    members: [
      ...[...status.confState.voters].sort(byId).map((m) => member(m, 'QUORUM_MEMBER_VOTER')),
      ...[...status.confState.observers].sort(byId).map((m) => member(m, 'QUORUM_MEMBER_OBSERVER')),
    ],
    node: {
      nodeId: status.id,
      role: ROLES[status.role],
      commitIndex: status.commitIndex,
      // From the digest, not the driver's counter: the pair (applied_index, applied_digest) is
      // what callers compare across nodes, so both must come from one read of one object.
      appliedIndex: applied.appliedIndex,
      lastIndex: status.lastIndex,
      snapshotIndex: status.snapshotIndex,
      appliedDigest: applied.digest,
    },
  };
}

/**
 * The leader's progress for one member. The leader itself is in sync with its own log by
 * definition (etcd reports it the same way); a member the leader has no progress for yet (just
 * added) is left without one rather than shown as lagging by a made-up amount.
 */
function progressOf(
  id: number,
  status: RaftStatus,
  peer: PeerStatus | undefined,
): ReplicationProgress | null {
  if (id === status.id) {
    return {
      matchIndex: status.lastIndex,
      nextIndex: status.lastIndex + 1,
      lag: 0,
      state: 'REPLICATION_REPLICATE',
      recentlyActive: true,
    };
  }
  if (peer === undefined) return null;
  return {
    matchIndex: peer.matchIndex,
    nextIndex: peer.nextIndex,
    lag: Math.max(0, status.lastIndex - peer.matchIndex),
    state: STATES[peer.state],
    recentlyActive: peer.recentActive,
  };
}
