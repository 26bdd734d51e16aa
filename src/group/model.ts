/**
 * The state the coordinator keeps per group, as it is persisted (records.ts) and reconciled
 * (group-state.ts). Immutable: every change builds a new GroupState.
 */
import type { TopicAssignment } from './assignors/index.js';

/**
 * Where a member is on its way to its target assignment (KIP-848's member states):
 * - stable: it owns its whole target;
 * - unrevoked_partitions: it was asked to revoke partitions and has not confirmed yet; its
 *   epoch stays until it does;
 * - unreleased_partitions: it has its new epoch, but part of its target is still owned by
 *   members revoking it, and comes once they confirm.
 */
export type MemberState = 'stable' | 'unrevoked_partitions' | 'unreleased_partitions';

export interface Subscription {
  /** Topic names; used when topicRegex is empty. */
  readonly topicNames: readonly string[];
  /** A JavaScript regular expression matched against whole topic names; '' for none. */
  readonly topicRegex: string;
}

export interface GroupMember {
  readonly memberId: string;
  readonly clientId: string;
  readonly host: string;
  readonly memberEpoch: number;
  /** The epoch before the last bump: a heartbeat whose answer was lost may still carry it. */
  readonly previousMemberEpoch: number;
  readonly state: MemberState;
  readonly subscription: Subscription;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** Partitions the member may own now (the answer to its heartbeats). */
  readonly assigned: TopicAssignment;
  /** Partitions it was asked to revoke; nobody else gets them before it confirms or leaves. */
  readonly pendingRevocation: TopicAssignment;
}

export interface GroupState {
  readonly groupId: string;
  /** Bumped on every change of membership, subscriptions or subscribed topics' partitions. */
  readonly groupEpoch: number;
  /** The group epoch the target assignment was computed for. */
  readonly assignmentEpoch: number;
  /** Server-side assignor in use. */
  readonly assignor: string;
  /** Partition count of each subscribed topic when the group epoch was last bumped. */
  readonly subscribedTopics: ReadonlyMap<string, number>;
  readonly members: ReadonlyMap<string, GroupMember>;
  /** memberId -> its partitions in the target assignment of assignmentEpoch. */
  readonly target: ReadonlyMap<string, TopicAssignment>;
}

export interface OffsetAndMetadata {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
  /**
   * The id of the topic the offset was committed for. A topic deleted and created again under
   * the same name has a new id, so the old offset is not taken for the new topic's. Absent in
   * offsets written before Brook recorded it.
   */
  readonly topicId?: string;
}

/** "Empty", "Assigning", "Reconciling" or "Stable", as DescribeGroups and ListGroups show it. */
export type GroupStateName = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable';

export function stateName(group: GroupState): GroupStateName {
  if (group.members.size === 0) return 'Empty';
  if (group.groupEpoch > group.assignmentEpoch) return 'Assigning';
  for (const member of group.members.values()) {
    if (member.state !== 'stable' || member.memberEpoch !== group.assignmentEpoch) {
      return 'Reconciling';
    }
  }
  return 'Stable';
}

export function emptyGroup(groupId: string, assignor: string): GroupState {
  return {
    groupId,
    groupEpoch: 0,
    assignmentEpoch: 0,
    assignor,
    subscribedTopics: new Map(),
    members: new Map(),
    target: new Map(),
  };
}
