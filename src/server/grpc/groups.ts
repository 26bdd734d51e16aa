/**
 * brook.v1.Groups: validates each call (a malformed one is INVALID_ARGUMENT naming the field and
 * changes nothing), routes it to the group's coordinator shard, and turns the coordinator's
 * refusals into the Kafka codes of the response. A node that does not coordinate the group
 * answers NOT_COORDINATOR with the coordinator's address.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { limits } from '../../config/index.js';
import { BrokerError, InvalidArgumentError, type ErrorCode } from '../../errors/index.js';
import {
  checkGroupId,
  compileTopicRegex,
  fromWire,
  partitionKey,
  splitPartitionKey,
  stateName,
  toWire,
  type GroupCoordinator,
  type GroupView,
  type HeartbeatInput,
  type Subscription,
} from '../../group/index.js';
import type {
  FindCoordinatorRequest__Output,
  FindCoordinatorResponse,
  GroupHeartbeatRequest__Output,
  GroupHeartbeatResponse,
  GroupsHandlers,
  ListGroupsRequest__Output,
  ListGroupsResponse,
  OffsetCommitRequest__Output,
  OffsetCommitResponse,
  OffsetFetchRequest__Output,
  OffsetFetchResponse,
  TopicPartitions__Output,
  DeleteGroupsRequest__Output,
  DeleteGroupsResponse,
} from '../../proto/index.js';
import { unary } from '../error-status.js';
import { requireCount, requireInt, requireNonEmpty } from '../validate.js';
import type { GroupAdmin } from './group-admin.js';

const GROUPS_PER_CALL_MAX = limits.groupCallItemsMax;
const PARTITIONS_PER_CALL_MAX = limits.groupCallItemsMax;
const MEMBER_ID_LENGTH_MAX = 255;
const CLIENT_ID_LENGTH_MAX = 255;
const STATES = ['Empty', 'Assigning', 'Reconciling', 'Stable'];

export interface GroupsServiceDeps {
  readonly nodeId: number;
  readonly coordinator: GroupCoordinator;
  readonly admin: GroupAdmin;
  readonly logger: Logger;
}

export function groupsService(deps: GroupsServiceDeps): GroupsHandlers {
  const { logger, coordinator, admin } = deps;
  return {
    FindCoordinator: unary('FindCoordinator', logger, (r) => findCoordinator(coordinator, r)),
    GroupHeartbeat: unary('GroupHeartbeat', logger, (r, call) =>
      groupHeartbeat(coordinator, r, hostOf(call)),
    ),
    OffsetCommit: unary('OffsetCommit', logger, (r) => offsetCommit(coordinator, r)),
    OffsetFetch: unary('OffsetFetch', logger, (r) => Promise.resolve(offsetFetch(coordinator, r))),
    ListGroups: unary('ListGroups', logger, (r) =>
      Promise.resolve(listGroups(coordinator, deps.nodeId, r)),
    ),
    DescribeGroups: unary('DescribeGroups', logger, (r) => {
      requireCount(r.groupIds, 'group_ids', GROUPS_PER_CALL_MAX, 1);
      r.groupIds.forEach((id, i) => checkGroupId(id, `group_ids[${i}]`));
      return admin.describeGroups(r.groupIds);
    }),
    DeleteGroups: unary('DeleteGroups', logger, (r) => deleteGroups(coordinator, r)),
    ResetOffsets: unary('ResetOffsets', logger, (r) => admin.resetOffsets(r)),
  };
}

async function findCoordinator(
  coordinator: GroupCoordinator,
  request: FindCoordinatorRequest__Output,
): Promise<FindCoordinatorResponse> {
  requireCount(request.groupIds, 'group_ids', GROUPS_PER_CALL_MAX, 1);
  request.groupIds.forEach((id, i) => checkGroupId(id, `group_ids[${i}]`));
  const coordinators = [];
  for (const groupId of request.groupIds) {
    try {
      const found = await coordinator.locate(groupId);
      coordinators.push({ groupId, errorCode: 'NONE' as const, errorMessage: '', ...found });
    } catch (error) {
      const { code, message } = coded(error);
      coordinators.push({
        groupId,
        errorCode: code,
        errorMessage: message,
        nodeId: -1,
        address: '',
        partition: -1,
      });
    }
  }
  return { coordinators };
}

async function groupHeartbeat(
  coordinator: GroupCoordinator,
  request: GroupHeartbeatRequest__Output,
  host: string,
): Promise<GroupHeartbeatResponse> {
  const input = validateHeartbeat(request, host);
  try {
    const outcome = await coordinator.shardFor(input.groupId).heartbeat(input);
    return {
      errorCode: 'NONE',
      errorMessage: '',
      memberId: outcome.memberId,
      memberEpoch: outcome.memberEpoch,
      heartbeatIntervalMs: outcome.heartbeatIntervalMs,
      sessionTimeoutMs: outcome.sessionTimeoutMs,
      assignment: outcome.member === null ? [] : toWire(outcome.member.assigned),
    };
  } catch (error) {
    return {
      ...failureFields(error),
      memberId: input.memberId,
      memberEpoch: input.memberEpoch,
      heartbeatIntervalMs: 0,
      sessionTimeoutMs: 0,
      assignment: [],
    };
  }
}

function validateHeartbeat(request: GroupHeartbeatRequest__Output, host: string): HeartbeatInput {
  checkGroupId(request.groupId, 'group_id');
  const memberEpoch = requireInt(request.memberEpoch, 'member_epoch', -1, 2_147_483_647);
  if (request.memberId.length > MEMBER_ID_LENGTH_MAX) {
    throw new InvalidArgumentError(
      'member_id',
      `is longer than ${MEMBER_ID_LENGTH_MAX} characters`,
    );
  }
  if (memberEpoch !== 0) requireNonEmpty(request.memberId, 'member_id');
  if (request.clientId.length > CLIENT_ID_LENGTH_MAX) {
    throw new InvalidArgumentError(
      'client_id',
      `is longer than ${CLIENT_ID_LENGTH_MAX} characters`,
    );
  }
  const subscription =
    request.subscription == null ? null : validateSubscription(request.subscription);
  if (memberEpoch === 0 && subscription === null) {
    throw new InvalidArgumentError('subscription', 'is required when joining (member_epoch 0)');
  }
  const owned = request.ownedPartitionsSet
    ? fromWire(validatePartitions(request.ownedPartitions, 'owned_partitions'))
    : null;
  return {
    groupId: request.groupId,
    memberId: request.memberId,
    memberEpoch,
    subscription,
    owned,
    clientId: request.clientId,
    host,
    sessionTimeoutMs: requireInt(request.sessionTimeoutMs, 'session_timeout_ms', 0, 2_147_483_647),
    rebalanceTimeoutMs: requireInt(
      request.rebalanceTimeoutMs,
      'rebalance_timeout_ms',
      0,
      2_147_483_647,
    ),
    serverAssignor: request.serverAssignor,
  };
}

function validateSubscription(
  subscription: NonNullable<GroupHeartbeatRequest__Output['subscription']>,
): Subscription {
  const { topicNames, topicRegex } = subscription;
  if (topicRegex !== '') {
    if (topicNames.length > 0) {
      throw new InvalidArgumentError('subscription', 'give topic_names or topic_regex, not both');
    }
    try {
      compileTopicRegex(topicRegex);
    } catch (error) {
      throw new InvalidArgumentError(
        'subscription.topic_regex',
        `is not a valid regular expression: ${(error as Error).message}`,
      );
    }
    return { topicNames: [], topicRegex };
  }
  requireCount(topicNames, 'subscription.topic_names', PARTITIONS_PER_CALL_MAX, 1);
  topicNames.forEach((name, i) => requireNonEmpty(name, `subscription.topic_names[${i}]`));
  return { topicNames: [...new Set(topicNames)], topicRegex: '' };
}

/** Checks repeated TopicPartitions; returns them for fromWire. */
export function validatePartitions(
  topics: readonly TopicPartitions__Output[],
  field: string,
): TopicPartitions__Output[] {
  let total = 0;
  topics.forEach((t, i) => {
    requireNonEmpty(t.topic, `${field}[${i}].topic`);
    t.partitions.forEach((p, j) =>
      requireInt(p, `${field}[${i}].partitions[${j}]`, 0, 2_147_483_647),
    );
    total += t.partitions.length;
  });
  if (total > PARTITIONS_PER_CALL_MAX) {
    throw new InvalidArgumentError(
      field,
      `names ${total} partitions; the limit is ${PARTITIONS_PER_CALL_MAX}`,
    );
  }
  return [...topics];
}

async function offsetCommit(
  coordinator: GroupCoordinator,
  request: OffsetCommitRequest__Output,
): Promise<OffsetCommitResponse> {
  checkGroupId(request.groupId, 'group_id');
  requireInt(request.memberEpoch, 'member_epoch', -1, 2_147_483_647);
  if (request.memberId === '' && request.memberEpoch !== -1) {
    throw new InvalidArgumentError('member_epoch', 'must be -1 for a commit without a member_id');
  }
  requireCount(request.topics, 'topics', PARTITIONS_PER_CALL_MAX, 1);
  const commits = [];
  for (const [i, topic] of request.topics.entries()) {
    requireNonEmpty(topic.topic, `topics[${i}].topic`);
    requireCount(topic.partitions, `topics[${i}].partitions`, PARTITIONS_PER_CALL_MAX, 1);
    for (const [j, p] of topic.partitions.entries()) {
      const where = `topics[${i}].partitions[${j}]`;
      requireInt(p.partition, `${where}.partition`, 0, 2_147_483_647);
      requireInt(p.offset, `${where}.offset`, 0, Number.MAX_SAFE_INTEGER);
      requireInt(p.leaderEpoch, `${where}.leader_epoch`, -1, 2_147_483_647);
      commits.push({
        topic: topic.topic,
        partition: p.partition,
        offset: p.offset,
        leaderEpoch: p.leaderEpoch,
        metadata: p.metadata,
      });
    }
  }
  if (commits.length > PARTITIONS_PER_CALL_MAX) {
    throw new InvalidArgumentError(
      'topics',
      `commit ${commits.length} partitions; the limit is ${PARTITIONS_PER_CALL_MAX}`,
    );
  }
  try {
    const outcomes = await coordinator
      .shardFor(request.groupId)
      .commitOffsets(request.groupId, request.memberId, request.memberEpoch, commits);
    const byTopic = new Map<
      string,
      { partition: number; errorCode: ErrorCode; errorMessage: string }[]
    >();
    for (const o of outcomes) {
      let list = byTopic.get(o.topic);
      if (list === undefined) byTopic.set(o.topic, (list = []));
      list.push({
        partition: o.partition,
        errorCode: o.error?.code ?? 'NONE',
        errorMessage: o.error?.message ?? '',
      });
    }
    return {
      errorCode: 'NONE',
      errorMessage: '',
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    };
  } catch (error) {
    return {
      ...failureFields(error),
      topics: [],
    };
  }
}

function offsetFetch(
  coordinator: GroupCoordinator,
  request: OffsetFetchRequest__Output,
): OffsetFetchResponse {
  checkGroupId(request.groupId, 'group_id');
  const wanted = validatePartitions(request.topics, 'topics');
  try {
    const view = coordinator.shardFor(request.groupId).view(request.groupId);
    const committed = view?.offsets ?? new Map();
    const keys: [string, number][] =
      wanted.length === 0
        ? [...committed.keys()].map((k) => splitPartitionKey(k))
        : wanted.flatMap((t) => t.partitions.map((p) => [t.topic, p] as [string, number]));
    keys.sort(([ta, pa], [tb, pb]) => (ta < tb ? -1 : ta > tb ? 1 : pa - pb));
    return {
      errorCode: 'NONE',
      errorMessage: '',
      offsets: keys.map(([topic, partition]) => {
        const value = committed.get(partitionKey(topic, partition));
        return {
          topic,
          partition,
          offset: value?.offset ?? -1,
          leaderEpoch: value?.leaderEpoch ?? -1,
          metadata: value?.metadata ?? '',
          commitTimestampMs: value?.commitTimestampMs ?? 0,
        };
      }),
    };
  } catch (error) {
    return {
      ...failureFields(error),
      offsets: [],
    };
  }
}

function listGroups(
  coordinator: GroupCoordinator,
  nodeId: number,
  request: ListGroupsRequest__Output,
): ListGroupsResponse {
  request.states.forEach((s, i) => {
    if (!STATES.includes(s)) {
      throw new InvalidArgumentError(
        `states[${i}]`,
        `unknown state "${s}"; expected one of ${STATES.join(', ')}`,
      );
    }
  });
  const { active, loading } = coordinator.localShards();
  const listed: GroupView[] = [];
  let refusal: BrokerError | null = null;
  for (const shard of active) {
    try {
      listed.push(...shard.list());
    } catch (error) {
      // Without its controller lease the node lists none of its groups, and says why.
      if (!(error instanceof BrokerError)) throw error;
      refusal = error;
    }
  }
  const groups = listed
    .map((g) => ({
      groupId: g.groupId,
      state: g.state === undefined ? 'Empty' : stateName(g.state),
      members: g.state?.members.size ?? 0,
      coordinatorId: nodeId,
    }))
    .filter((g) => request.states.length === 0 || request.states.includes(g.state))
    .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  if (refusal !== null) {
    return { errorCode: refusal.code, errorMessage: refusal.message, groups };
  }
  return {
    errorCode: loading > 0 ? 'COORDINATOR_LOAD_IN_PROGRESS' : 'NONE',
    errorMessage:
      loading > 0
        ? `${loading} partition(s) of __consumer_offsets are still loading on this node; their groups are not listed`
        : '',
    groups,
  };
}

async function deleteGroups(
  coordinator: GroupCoordinator,
  request: DeleteGroupsRequest__Output,
): Promise<DeleteGroupsResponse> {
  requireCount(request.groupIds, 'group_ids', GROUPS_PER_CALL_MAX, 1);
  request.groupIds.forEach((id, i) => checkGroupId(id, `group_ids[${i}]`));
  const results = [];
  for (const groupId of request.groupIds) {
    try {
      await coordinator.shardFor(groupId).deleteGroup(groupId);
      results.push({ groupId, errorCode: 'NONE' as const, errorMessage: '' });
    } catch (error) {
      results.push({
        groupId,
        ...failureFields(error),
      });
    }
  }
  return { results };
}

/** A coordinator refusal as a response's error fields (with the coordinator hint when known). */
function failureFields(error: unknown): {
  errorCode: ErrorCode;
  errorMessage: string;
  coordinator?: { nodeId: number; address: string };
} {
  const { code, message, coordinator } = coded(error);
  return {
    errorCode: code,
    errorMessage: message,
    ...(coordinator === null ? {} : { coordinator }),
  };
}

/** A coordinator refusal as response fields; anything but a BrokerError is a bug and rethrown. */
export function coded(error: unknown): {
  code: ErrorCode;
  message: string;
  coordinator: { nodeId: number; address: string } | null;
} {
  if (!(error instanceof BrokerError)) throw error;
  return {
    code: error.code,
    message: error.message,
    coordinator:
      error.leader === null ? null : { nodeId: error.leader.nodeId, address: error.leader.address },
  };
}

/** The client's address as the member's host ("ipv4:127.0.0.1:5000" -> "127.0.0.1"). */
function hostOf(call: grpc.ServerUnaryCall<unknown, unknown>): string {
  const peer = call.getPeer();
  const withoutScheme = peer.replace(/^ipv[46]:/, '');
  const at = withoutScheme.lastIndexOf(':');
  return (at > 0 ? withoutScheme.slice(0, at) : withoutScheme).replace(/^\[|\]$/g, '');
}
