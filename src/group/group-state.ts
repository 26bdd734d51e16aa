/**
 * The consumer group protocol's decisions, pure (Kafka's newer protocol, KIP-848): a heartbeat
 * joins, keeps or removes a member; the group epoch moves on every change of membership,
 * subscriptions or subscribed topics' partitions; a new group epoch gets a new target assignment
 * from the group's assignor; and each member is reconciled toward its target one step at a time.
 *
 * The safety rule: a partition is in at most one member's `assigned` ∪ `pendingRevocation`.
 * A member is given a partition only when no other member holds it in either set, and a member
 * asked to revoke keeps the partition in `pendingRevocation` until its heartbeat shows it gone
 * (or it is removed). So no two members of a group ever own one partition at the same time.
 */
import { limits } from '../config/limits.js';
import { BrokerError } from '../errors/index.js';
import { assignorNamed, DEFAULT_ASSIGNOR, type TopicAssignment } from './assignors/index.js';
import { emptyGroup, type GroupMember, type GroupState, type Subscription } from './model.js';
import {
  NO_PARTITIONS,
  describe,
  intersect,
  isEmpty,
  minus,
  partitionSet,
  sameSet,
  union,
} from './topic-partitions.js';

export const JOIN_EPOCH = 0;
export const LEAVE_EPOCH = -1;

export interface SessionSettings {
  readonly sessionTimeoutMs: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
}

export interface GroupEnv {
  /** Every topic of the cluster with its partition count. */
  readonly topics: ReadonlyMap<string, number>;
  readonly newMemberId: () => string;
  readonly settings: SessionSettings;
}

export interface HeartbeatInput {
  readonly groupId: string;
  readonly memberId: string;
  readonly memberEpoch: number;
  /** Null: unchanged since the last heartbeat (required on join). */
  readonly subscription: Subscription | null;
  /** Null: unchanged since the last heartbeat. */
  readonly owned: TopicAssignment | null;
  readonly clientId: string;
  readonly host: string;
  /** 0: the broker default. */
  readonly sessionTimeoutMs: number;
  /** 0: the session timeout. */
  readonly rebalanceTimeoutMs: number;
  /** '': keep the group's. */
  readonly serverAssignor: string;
}

export interface HeartbeatOutcome {
  readonly group: GroupState;
  /** The member after the heartbeat; null after a leave. */
  readonly member: GroupMember | null;
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
}

export function heartbeat(
  current: GroupState | undefined,
  input: HeartbeatInput,
  env: GroupEnv,
): HeartbeatOutcome {
  const group = current ?? emptyGroup(input.groupId, DEFAULT_ASSIGNOR);
  if (input.memberEpoch === LEAVE_EPOCH) return leave(group, input, env);
  let next: GroupState;
  let member: GroupMember;
  if (input.memberEpoch === JOIN_EPOCH) {
    [next, member] = join(group, input, env);
  } else {
    [next, member] = stay(group, input);
  }
  next = refreshTarget(next, env.topics);
  member = reconcile(next, next.members.get(member.memberId) as GroupMember, input.owned);
  next = withMember(next, member);
  return {
    group: next,
    member,
    memberId: member.memberId,
    memberEpoch: member.memberEpoch,
    heartbeatIntervalMs: heartbeatIntervalOf(member, env.settings),
    sessionTimeoutMs: member.sessionTimeoutMs,
  };
}

/**
 * Removes a member whose session expired, who did not revoke within its rebalance timeout, or
 * who left: its partitions become free and the group epoch moves on.
 */
export function removeMember(group: GroupState, memberId: string): GroupState {
  if (!group.members.has(memberId)) return group;
  const members = new Map(group.members);
  members.delete(memberId);
  const target = new Map(group.target);
  target.delete(memberId);
  return { ...group, members, target, groupEpoch: group.groupEpoch + 1 };
}

/**
 * Refuses a commit (or fetch of offsets by a member) that the group's membership does not allow:
 * from outside the group while it has members, from an unknown member, or with another epoch.
 */
export function checkMemberCommit(
  group: GroupState | undefined,
  memberId: string,
  memberEpoch: number,
): void {
  const members = group?.members ?? new Map<string, GroupMember>();
  if (memberId === '') {
    if (members.size === 0) return;
    throw new BrokerError(
      'UNKNOWN_MEMBER_ID',
      `group "${group?.groupId}" has ${members.size} active member(s); only they may commit (with their member id and epoch)`,
    );
  }
  const member = members.get(memberId);
  if (member === undefined) {
    throw new BrokerError(
      'UNKNOWN_MEMBER_ID',
      `group "${group?.groupId ?? ''}" has no member "${memberId}" (it left or its session expired); join again`,
    );
  }
  if (memberEpoch > member.memberEpoch) {
    throw new BrokerError(
      'FENCED_MEMBER_EPOCH',
      `member epoch ${memberEpoch} is newer than the member's epoch ${member.memberEpoch}`,
    );
  }
  if (memberEpoch < member.memberEpoch) {
    throw new BrokerError(
      'STALE_MEMBER_EPOCH',
      `member epoch ${memberEpoch} is older than the member's epoch ${member.memberEpoch}; heartbeat, then commit again`,
    );
  }
}

/** The topics `subscription` names that exist now. Internal topics never match a regex. */
export function resolveSubscription(
  subscription: Subscription,
  topics: ReadonlyMap<string, number>,
): Set<string> {
  if (subscription.topicRegex === '') {
    return new Set(subscription.topicNames.filter((name) => topics.has(name)));
  }
  const pattern = compileTopicRegex(subscription.topicRegex);
  return new Set([...topics.keys()].filter((name) => !name.startsWith('__') && pattern.test(name)));
}

/** The regex as a whole-name matcher; throws SyntaxError for an invalid one. */
export function compileTopicRegex(source: string): RegExp {
  return new RegExp(`^(?:${source})$`, 'u');
}

function leave(group: GroupState, input: HeartbeatInput, env: GroupEnv): HeartbeatOutcome {
  if (!group.members.has(input.memberId)) {
    throw unknownMember(group, input.memberId);
  }
  return {
    group: removeMember(group, input.memberId),
    member: null,
    memberId: input.memberId,
    memberEpoch: LEAVE_EPOCH,
    heartbeatIntervalMs: env.settings.heartbeatIntervalMs,
    sessionTimeoutMs: 0,
  };
}

function join(group: GroupState, input: HeartbeatInput, env: GroupEnv): [GroupState, GroupMember] {
  const { settings } = env;
  const sessionTimeoutMs =
    input.sessionTimeoutMs === 0 ? settings.sessionTimeoutMs : input.sessionTimeoutMs;
  if (
    sessionTimeoutMs < settings.minSessionTimeoutMs ||
    sessionTimeoutMs > settings.maxSessionTimeoutMs
  ) {
    throw new BrokerError(
      'INVALID_SESSION_TIMEOUT',
      `session timeout ${sessionTimeoutMs} ms is outside [${settings.minSessionTimeoutMs}, ${settings.maxSessionTimeoutMs}] (group.consumer.min/max.session.timeout.ms)`,
    );
  }
  if (input.serverAssignor !== '' && assignorNamed(input.serverAssignor) === undefined) {
    throw new BrokerError(
      'UNSUPPORTED_ASSIGNOR',
      `no server assignor named "${input.serverAssignor}"; use "uniform" or "range"`,
    );
  }
  if (input.subscription === null) {
    throw new BrokerError('INVALID_REQUEST', 'a join must carry the subscription');
  }
  const memberId = input.memberId === '' ? env.newMemberId() : input.memberId;
  const previous = group.members.get(memberId);
  if (previous === undefined && group.members.size >= limits.groupMembersMax) {
    throw new BrokerError(
      'GROUP_MAX_SIZE_REACHED',
      `group "${group.groupId}" has ${group.members.size} members, the most a group may have`,
    );
  }
  const member: GroupMember = {
    memberId,
    clientId: input.clientId,
    host: input.host,
    memberEpoch: JOIN_EPOCH,
    previousMemberEpoch: JOIN_EPOCH,
    state: 'stable',
    subscription: input.subscription,
    sessionTimeoutMs,
    rebalanceTimeoutMs:
      input.rebalanceTimeoutMs === 0 ? sessionTimeoutMs : input.rebalanceTimeoutMs,
    // A member that joins owns nothing: what a previous incarnation of it held is free now.
    assigned: NO_PARTITIONS,
    pendingRevocation: NO_PARTITIONS,
  };
  const assignor = input.serverAssignor === '' ? group.assignor : input.serverAssignor;
  const isChange =
    previous === undefined ||
    !sameSubscription(previous.subscription, member.subscription) ||
    assignor !== group.assignor;
  const next = withMember({ ...group, assignor }, member);
  return [isChange ? { ...next, groupEpoch: next.groupEpoch + 1 } : next, member];
}

function stay(group: GroupState, input: HeartbeatInput): [GroupState, GroupMember] {
  const member = group.members.get(input.memberId);
  if (member === undefined) throw unknownMember(group, input.memberId);
  checkHeartbeatEpoch(member, input);
  if (input.subscription === null || sameSubscription(member.subscription, input.subscription)) {
    return [group, member];
  }
  const changed = { ...member, subscription: input.subscription };
  const next = withMember(group, changed);
  return [{ ...next, groupEpoch: next.groupEpoch + 1 }, changed];
}

/**
 * As Kafka: the current epoch, or the previous one when the answer that moved it on was lost
 * (then the member owns no more than it was assigned). Anything else is a zombie: fenced.
 */
function checkHeartbeatEpoch(member: GroupMember, input: HeartbeatInput): void {
  if (input.memberEpoch === member.memberEpoch) return;
  const isLostAnswer =
    input.memberEpoch === member.previousMemberEpoch &&
    input.owned !== null &&
    isEmpty(minus(input.owned, member.assigned));
  if (input.memberEpoch < member.memberEpoch && isLostAnswer) return;
  throw new BrokerError(
    'FENCED_MEMBER_EPOCH',
    `member "${member.memberId}" sent epoch ${input.memberEpoch}, but its epoch is ${member.memberEpoch}; drop every partition and join again`,
  );
}

/**
 * Moves the group epoch on when a subscribed topic appeared, vanished or grew, then computes the
 * target assignment of the group epoch if it has none yet.
 */
function refreshTarget(group: GroupState, topics: ReadonlyMap<string, number>): GroupState {
  const resolved = new Map<string, Set<string>>();
  const subscribed = new Map<string, number>();
  for (const member of group.members.values()) {
    const names = resolveSubscription(member.subscription, topics);
    resolved.set(member.memberId, names);
    for (const name of names) subscribed.set(name, topics.get(name) as number);
  }
  let next = group;
  if (!sameCounts(subscribed, group.subscribedTopics)) {
    next = { ...next, subscribedTopics: subscribed };
    if (next.groupEpoch === next.assignmentEpoch)
      next = { ...next, groupEpoch: next.groupEpoch + 1 };
  }
  if (next.groupEpoch === next.assignmentEpoch) return next;
  const assignor =
    assignorNamed(next.assignor) ??
    (assignorNamed(DEFAULT_ASSIGNOR) as NonNullable<ReturnType<typeof assignorNamed>>);
  const assigned = assignor.assign({
    members: [...next.members.values()].map((m) => ({
      memberId: m.memberId,
      subscribedTopics: resolved.get(m.memberId) as Set<string>,
      previousTarget: next.target.get(m.memberId) ?? NO_PARTITIONS,
    })),
    topics: next.subscribedTopics,
  });
  const target = new Map<string, TopicAssignment>();
  for (const memberId of next.members.keys()) {
    target.set(memberId, partitionSet(assigned.get(memberId) ?? NO_PARTITIONS));
  }
  return { ...next, target, assignmentEpoch: next.groupEpoch };
}

/**
 * One step of a member toward its target: first revoke what the target no longer gives it (its
 * epoch waits until it confirms), then take what the target adds and nobody else holds (its
 * epoch moves to the target's; partitions others still revoke come on a later heartbeat).
 */
export function reconcile(
  group: GroupState,
  member: GroupMember,
  owned: TopicAssignment | null,
): GroupMember {
  let m = member;
  if (m.state === 'unrevoked_partitions') {
    const unrevoked = owned === null ? m.pendingRevocation : intersect(owned, m.pendingRevocation);
    if (!isEmpty(unrevoked)) return m;
    m = { ...m, state: 'stable', pendingRevocation: NO_PARTITIONS };
  }
  if (m.memberEpoch === group.assignmentEpoch && m.state === 'stable') return m;
  const target = group.target.get(m.memberId) ?? NO_PARTITIONS;
  const revoke = minus(m.assigned, target);
  if (!isEmpty(revoke)) {
    return {
      ...m,
      state: 'unrevoked_partitions',
      assigned: intersect(m.assigned, target),
      pendingRevocation: revoke,
    };
  }
  const wanted = minus(target, m.assigned);
  const free = minus(wanted, heldByOthers(group, m.memberId));
  const isWaiting = !sameSet(free, wanted);
  return {
    ...m,
    state: isWaiting ? 'unreleased_partitions' : 'stable',
    assigned: union(m.assigned, free),
    previousMemberEpoch:
      m.memberEpoch === group.assignmentEpoch ? m.previousMemberEpoch : m.memberEpoch,
    memberEpoch: group.assignmentEpoch,
  };
}

/** Partitions some other member owns or still revokes. */
export function heldByOthers(group: GroupState, memberId: string): TopicAssignment {
  const held: (readonly [string, readonly number[]])[] = [];
  for (const other of group.members.values()) {
    if (other.memberId === memberId) continue;
    held.push(...other.assigned, ...other.pendingRevocation);
  }
  return partitionSet(held);
}

function heartbeatIntervalOf(member: GroupMember, settings: SessionSettings): number {
  return Math.max(
    1,
    Math.min(settings.heartbeatIntervalMs, Math.floor(member.sessionTimeoutMs / 3)),
  );
}

function withMember(group: GroupState, member: GroupMember): GroupState {
  const members = new Map(group.members);
  members.set(member.memberId, member);
  return { ...group, members };
}

function sameSubscription(a: Subscription, b: Subscription): boolean {
  if (a.topicRegex !== b.topicRegex) return false;
  const x = [...a.topicNames].sort();
  const y = [...b.topicNames].sort();
  return x.length === y.length && x.every((name, i) => name === y[i]);
}

function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [topic, n] of a) if (b.get(topic) !== n) return false;
  return true;
}

function unknownMember(group: GroupState, memberId: string): BrokerError {
  return new BrokerError(
    'UNKNOWN_MEMBER_ID',
    `group "${group.groupId}" has no member "${memberId}" (it left, or its session expired); join again with member epoch 0`,
  );
}

/** For logs: what a member owns and is asked to revoke. */
export function describeMember(member: GroupMember): string {
  return `${member.memberId} epoch ${member.memberEpoch} ${member.state}: owns ${describe(member.assigned)}; revoking ${describe(member.pendingRevocation)}`;
}
