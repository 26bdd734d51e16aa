/**
 * The consumer-group side of the admin client (brook.v1.Groups): list, describe and delete
 * groups, and read, commit and reset their offsets from outside the group. Admin delegates here.
 *
 * Routing. ListGroups answers only for the groups the asked node coordinates, so listGroups asks
 * every live broker in parallel and merges. Every other call concerns one group and goes to its
 * coordinator through CoordinatorRouter, which retries coordinator moves (NOT_COORDINATOR,
 * COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS) and unreachable coordinators within
 * the Admin's retry policy.
 *
 * Errors follow admin.ts: an item of a batch call (a group, a partition) carries its own
 * `error` (a BrokerError with the Kafka code, e.g. GROUP_ID_NOT_FOUND); a call about one group
 * that the coordinator refuses as a whole (NON_EMPTY_GROUP for a reset, UNKNOWN_MEMBER_ID for a
 * commit while members are active) rejects with that BrokerError; a call that fails as a whole
 * (no broker reachable, a malformed request) rejects with a ClientError.
 */
import type * as grpc from '@grpc/grpc-js';
import { BrokerError } from '../errors/index.js';
import type {
  CommittedOffset__Output,
  DescribedGroup__Output,
  GroupMember__Output,
  GroupPartitionOffset__Output,
  GroupResult__Output,
  GroupsClient,
  ListGroupsResponse__Output,
  ListedGroup__Output,
  OffsetCommitResponse__Output,
  OffsetFetchResponse__Output,
  ResetOffsetsRequest,
  ResetOffsetsResponse__Output,
  TopicPartitions__Output,
} from '../proto/index.js';
import {
  BrookClientError,
  brokerErrorOf,
  callUnary,
  type ClientError,
  type ConnectionPool,
  type UnaryCallback,
} from './connection.js';
import type { CoordinatorAnswer, CoordinatorRouter } from './coordinator-router.js';
import type { MetadataCache } from './metadata-cache.js';
import { brokerAddress } from './metadata-cache.js';
import { withRetry, type RetryPolicy } from './retry.js';

/** The states a group can be in, as ListGroups and DescribeGroups name them. */
export const GROUP_STATES = ['Empty', 'Assigning', 'Reconciling', 'Stable'] as const;
export type GroupState = (typeof GROUP_STATES)[number];

/**
 * Calls about distinct groups in flight at once (describeGroups, deleteGroups): enough to hide
 * round trips, small enough that a long list does not open a burst of calls on one coordinator.
 */
export const GROUP_CALLS_INFLIGHT_MAX = 16;

/** Codes that mean "ask the (new) coordinator again": nothing was applied. */
const COORDINATOR_MOVES: ReadonlySet<string> = new Set([
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
]);

/** What the group calls need from the Admin that owns them. */
export interface GroupsContext {
  readonly pool: ConnectionPool;
  readonly metadataCache: MetadataCache;
  readonly router: CoordinatorRouter;
  readonly requestTimeoutMs: number;
  readonly retry: RetryPolicy;
}

/** Partitions of one topic. */
export interface GroupTopicPartitions {
  readonly topic: string;
  /** Ascending. */
  readonly partitions: readonly number[];
}

/** One group as ListGroups shows it. */
export interface ListedGroup {
  readonly groupId: string;
  /** One of GROUP_STATES (a newer broker may name another). */
  readonly state: string;
  /** Members now. */
  readonly members: number;
  /** Node id of the group's coordinator. */
  readonly coordinatorId: number;
}

/** A broker whose groups could not be listed (after the retries). */
export interface ListGroupsFailure {
  readonly nodeId: number;
  /** `host:port`. */
  readonly address: string;
  /** COORDINATOR_LOAD_IN_PROGRESS, or why the broker could not be asked (e.g. UNAVAILABLE). */
  readonly error: ClientError;
}

export interface ListGroupsResult {
  /** Every group listed, sorted by group id; a group listed by two brokers appears once. */
  readonly groups: readonly ListedGroup[];
  /**
   * Brokers that did not answer in full: empty when the list is complete. A broker still
   * loading some of its groups (COORDINATOR_LOAD_IN_PROGRESS) contributes the groups it has
   * loaded and an entry here.
   */
  readonly errors: readonly ListGroupsFailure[];
}

/** What a member subscribes to: topic names, or one regular expression. */
export interface GroupSubscription {
  readonly topicNames: readonly string[];
  /** Empty when the member subscribes by name. */
  readonly topicRegex: string;
}

export interface GroupMemberDescription {
  readonly memberId: string;
  readonly clientId: string;
  /** The address the member connected from. */
  readonly host: string;
  readonly memberEpoch: number;
  /** "stable", "unrevoked_partitions" or "unreleased_partitions". */
  readonly state: string;
  readonly subscription: GroupSubscription;
  /** Partitions it owns now. */
  readonly assignment: readonly GroupTopicPartitions[];
  /** Partitions it is asked to revoke. */
  readonly pendingRevocation: readonly GroupTopicPartitions[];
  /** Partitions the target assignment gives it. */
  readonly targetAssignment: readonly GroupTopicPartitions[];
  readonly sessionTimeoutMs: number;
}

/** One partition of a described group. -1 stands for "none" or "unknown" in the numbers. */
export interface GroupPartitionDescription {
  readonly topic: string;
  readonly partition: number;
  /** The committed offset, -1 when none. */
  readonly committedOffset: number;
  /** The high watermark, -1 when it could not be read. */
  readonly logEndOffset: number;
  /** logEndOffset - committedOffset (from the log start when nothing is committed), -1 unknown. */
  readonly lag: number;
  /** Member id of the member owning the partition now; empty when none. */
  readonly owner: string;
  /** Metadata committed with the offset. */
  readonly metadata: string;
}

export interface GroupDescription {
  readonly groupId: string;
  /** One of GROUP_STATES; empty on error. */
  readonly state: string;
  /** Bumped on every change of membership or subscriptions; -1 on error. */
  readonly groupEpoch: number;
  /** The group epoch the target assignment was computed for; -1 on error. */
  readonly assignmentEpoch: number;
  /** Server-side assignor in use ("uniform", "range"); empty when none yet. */
  readonly assignor: string;
  /** Node id of the coordinator; -1 on error. */
  readonly coordinatorId: number;
  /** Sorted by member id. */
  readonly members: readonly GroupMemberDescription[];
  /** Every partition of a subscribed topic and every committed one, sorted. */
  readonly offsets: readonly GroupPartitionDescription[];
  /** GROUP_ID_NOT_FOUND for a group that does not exist. */
  readonly error?: BrokerError;
}

/** The outcome for one named group. */
export interface GroupOutcome {
  readonly groupId: string;
  /** GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, ... */
  readonly error?: BrokerError;
}

/** A partition of a topic. */
export interface GroupPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A committed offset as OffsetFetch reads it. */
export interface GroupCommittedOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to consume; -1 when the group has none for the partition. */
  readonly offset: number;
  /** Leader epoch committed with it, -1 when unknown. */
  readonly leaderEpoch: number;
  readonly metadata: string;
  /** When the coordinator stored it, in ms since the Unix epoch; 0 when none. */
  readonly commitTimestampMs: number;
}

/** An offset to commit. */
export interface GroupOffsetCommit {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to consume (the offset after the last one processed). */
  readonly offset: number;
  /** Leader epoch of the last consumed record (default -1, unknown). */
  readonly leaderEpoch?: number;
  /** Free-form metadata stored with the offset (default empty). */
  readonly metadata?: string;
}

/** The outcome of committing one partition. */
export interface GroupCommitResult {
  readonly topic: string;
  readonly partition: number;
  /** UNKNOWN_TOPIC_OR_PARTITION, OFFSET_METADATA_TOO_LARGE, ... */
  readonly error?: BrokerError;
}

/**
 * Where a reset moves each partition: the log start, the high watermark, the first offset at or
 * after a time (the high watermark when no record is that recent), an offset, or the committed
 * offset shifted (from the log start when nothing is committed). `offset` and `shiftBy` results
 * are clamped into [log start, high watermark] by the coordinator.
 */
export type ResetOffsetsTo =
  | { readonly earliest: true }
  | { readonly latest: true }
  | { readonly datetimeMs: number }
  | { readonly offset: number }
  | { readonly shiftBy: number };

/** A topic to reset: the listed partitions, or all of them. */
export interface ResetOffsetsTopic {
  readonly topic: string;
  /** Partition numbers; omitted or empty: every partition of the topic. */
  readonly partitions?: readonly number[];
}

export interface ResetOffsetsOptions {
  /** What to reset. Empty: every partition the group has a committed offset for. */
  readonly topics: readonly ResetOffsetsTopic[];
  readonly to: ResetOffsetsTo;
  /** Apply the new offsets; default false, a dry run that only computes them. */
  readonly execute?: boolean;
}

/** One partition of a reset. */
export interface PartitionResetResult {
  readonly topic: string;
  readonly partition: number;
  /** Committed offset before, -1 when none. */
  readonly previousOffset: number;
  /** The new offset (committed when executed); -1 on error. */
  readonly newOffset: number;
  /** UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, ...: this partition was not reset. */
  readonly error?: BrokerError;
}

export interface ResetOffsetsResult {
  /** Whether the new offsets were committed (false for a dry run). */
  readonly executed: boolean;
  /** One per partition, sorted by topic and partition. */
  readonly results: readonly PartitionResetResult[];
}

/** Adds `error` to `base` only when there is one (exactOptionalPropertyTypes forbids undefined). */
function withError<T extends object>(
  base: T,
  error: BrokerError | null,
): T & { error?: BrokerError } {
  return error === null ? base : { ...base, error };
}

/**
 * The groups of every live broker, merged. Each broker is asked with retries; one that still
 * fails (unreachable, or COORDINATOR_LOAD_IN_PROGRESS) is reported in `errors` rather than
 * failing the call, so a partial list stays usable. Rejects when no broker answers Metadata, or
 * with INVALID_ARGUMENT for a state the broker does not know.
 */
export async function listGroups(
  ctx: GroupsContext,
  options: { readonly states?: readonly string[] } = {},
): Promise<ListGroupsResult> {
  const metadata = await withRetry(() => ctx.metadataCache.fetch([]), ctx.retry);
  const states = [...(options.states ?? [])];
  const answers = await Promise.all(
    metadata.brokers.map((broker) =>
      listOnBroker(ctx, broker.nodeId, brokerAddress(broker.host, broker.port), states),
    ),
  );
  const byId = new Map<string, ListedGroup>();
  const errors: ListGroupsFailure[] = [];
  for (const answer of answers) {
    for (const group of answer.groups) {
      if (!byId.has(group.groupId)) byId.set(group.groupId, listedGroupOf(group));
    }
    if (answer.failure !== null) errors.push(answer.failure);
  }
  const groups = [...byId.values()].sort((a, b) => compareText(a.groupId, b.groupId));
  errors.sort((a, b) => a.nodeId - b.nodeId);
  return { groups, errors };
}

/** ListGroups on one broker, retried while it fails retriably; keeps a partial answer. */
async function listOnBroker(
  ctx: GroupsContext,
  nodeId: number,
  address: string,
  states: string[],
): Promise<{ groups: ListedGroup__Output[]; failure: ListGroupsFailure | null }> {
  let partial: ListedGroup__Output[] = [];
  try {
    const response = await withRetry(async () => {
      const answer = await callUnary<ListGroupsResponse__Output>(
        address,
        ctx.requestTimeoutMs,
        (options, callback) => ctx.pool.groups(address).listGroups({ states }, options, callback),
      );
      const error = brokerErrorOf(answer.errorCode, answer.errorMessage);
      if (error === null) return answer;
      partial = answer.groups;
      throw error;
    }, ctx.retry);
    return { groups: response.groups, failure: null };
  } catch (error: unknown) {
    // A malformed request (an unknown state) fails the same way everywhere: the caller's mistake.
    if (error instanceof BrookClientError && error.code === 'INVALID_ARGUMENT') throw error;
    if (!(error instanceof BrokerError) && !(error instanceof BrookClientError)) throw error;
    return { groups: partial, failure: { nodeId, address, error } };
  }
}

function listedGroupOf(group: ListedGroup__Output): ListedGroup {
  return {
    groupId: group.groupId,
    state: group.state,
    members: group.members,
    coordinatorId: group.coordinatorId,
  };
}

/**
 * State, members and per-partition offsets and lag of each group, asked of its coordinator; one
 * result per group, in request order. A group that does not exist gets GROUP_ID_NOT_FOUND.
 */
export async function describeGroups(
  ctx: GroupsContext,
  groupIds: readonly string[],
): Promise<GroupDescription[]> {
  return mapBounded(groupIds, GROUP_CALLS_INFLIGHT_MAX, async (groupId) => {
    const outcome = await perGroup<DescribedGroup__Output>(ctx, groupId, (client, o, cb) =>
      client.describeGroups({ groupIds: [groupId] }, o, (error, response) =>
        cb(error, response && only(response, groupId, describedFallback)),
      ),
    );
    if ('error' in outcome) return withError(emptyDescription(groupId), outcome.error);
    return withError(
      describedGroupOf(outcome.answer),
      brokerErrorOf(outcome.answer.errorCode, outcome.answer.errorMessage),
    );
  });
}

/**
 * Deletes groups that have no active member, with their committed offsets; one outcome per
 * group, in request order (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND). A delete retried after a lost
 * answer can report GROUP_ID_NOT_FOUND for a group the first attempt deleted.
 */
export async function deleteGroups(
  ctx: GroupsContext,
  groupIds: readonly string[],
): Promise<GroupOutcome[]> {
  return mapBounded(groupIds, GROUP_CALLS_INFLIGHT_MAX, async (groupId) => {
    const outcome = await perGroup<GroupResult__Output>(ctx, groupId, (client, o, cb) =>
      client.deleteGroups({ groupIds: [groupId] }, o, (error, response) =>
        cb(error, response && only(response, groupId, resultFallback)),
      ),
    );
    if ('error' in outcome) return { groupId, error: outcome.error };
    return withError(
      { groupId },
      brokerErrorOf(outcome.answer.errorCode, outcome.answer.errorMessage),
    );
  });
}

/**
 * One call about `groupId` through the router. A BrokerError that survives the retries (a
 * coordinator that stays unavailable) becomes the group's outcome; a ClientError (nothing
 * reachable, a malformed id) fails the whole call.
 */
async function perGroup<Answer extends CoordinatorAnswer>(
  ctx: GroupsContext,
  groupId: string,
  invoke: (
    client: GroupsClient,
    options: grpc.CallOptions,
    callback: UnaryCallback<Answer>,
  ) => grpc.ClientUnaryCall,
): Promise<{ answer: Answer } | { error: BrokerError }> {
  try {
    return { answer: await ctx.router.call<Answer>(groupId, invoke) };
  } catch (error: unknown) {
    if (error instanceof BrokerError) return { error };
    throw error;
  }
}

/** The one entry of a batch answer that was asked about one group. */
function only<Entry>(
  response: { readonly groups: Entry[] } | { readonly results: Entry[] },
  groupId: string,
  fallback: (groupId: string) => Entry,
): Entry {
  const entries = 'groups' in response ? response.groups : response.results;
  return entries[0] ?? fallback(groupId);
}

function describedFallback(groupId: string): DescribedGroup__Output {
  return {
    groupId,
    errorCode: 'UNKNOWN_SERVER_ERROR',
    errorMessage: `the coordinator answered nothing about group "${groupId}"`,
    coordinator: null,
    state: '',
    groupEpoch: -1,
    assignmentEpoch: -1,
    assignor: '',
    members: [],
    offsets: [],
    coordinatorId: -1,
  };
}

function resultFallback(groupId: string): GroupResult__Output {
  return {
    groupId,
    errorCode: 'UNKNOWN_SERVER_ERROR',
    errorMessage: `the coordinator answered nothing about group "${groupId}"`,
    coordinator: null,
  };
}

function emptyDescription(groupId: string): GroupDescription {
  return {
    groupId,
    state: '',
    groupEpoch: -1,
    assignmentEpoch: -1,
    assignor: '',
    coordinatorId: -1,
    members: [],
    offsets: [],
  };
}

function describedGroupOf(group: DescribedGroup__Output): GroupDescription {
  return {
    groupId: group.groupId,
    state: group.state,
    groupEpoch: group.groupEpoch,
    assignmentEpoch: group.assignmentEpoch,
    assignor: group.assignor,
    coordinatorId: group.coordinatorId,
    members: group.members.map(memberOf),
    offsets: group.offsets.map(partitionOffsetOf),
  };
}

function memberOf(member: GroupMember__Output): GroupMemberDescription {
  return {
    memberId: member.memberId,
    clientId: member.clientId,
    host: member.host,
    memberEpoch: member.memberEpoch,
    state: member.state,
    subscription: {
      topicNames: member.subscription?.topicNames ?? [],
      topicRegex: member.subscription?.topicRegex ?? '',
    },
    assignment: member.assignment.map(topicPartitionsOf),
    pendingRevocation: member.pendingRevocation.map(topicPartitionsOf),
    targetAssignment: member.targetAssignment.map(topicPartitionsOf),
    sessionTimeoutMs: member.sessionTimeoutMs,
  };
}

function topicPartitionsOf(entry: TopicPartitions__Output): GroupTopicPartitions {
  return { topic: entry.topic, partitions: [...entry.partitions].sort((a, b) => a - b) };
}

function partitionOffsetOf(entry: GroupPartitionOffset__Output): GroupPartitionDescription {
  return {
    topic: entry.topic,
    partition: entry.partition,
    committedOffset: entry.committedOffset,
    logEndOffset: entry.logEndOffset,
    lag: entry.lag,
    owner: entry.owner,
    metadata: entry.metadata,
  };
}

/**
 * Committed offsets of a group for `partitions` (default: every partition it has an offset
 * for), sorted by topic and partition; -1 for a partition without one. A group that does not
 * exist has no offsets: [] (or -1 for each partition asked about).
 */
export async function fetchOffsets(
  ctx: GroupsContext,
  groupId: string,
  partitions: readonly GroupPartition[] = [],
): Promise<GroupCommittedOffset[]> {
  const response = await ctx.router.call<OffsetFetchResponse__Output>(groupId, (client, o, cb) =>
    client.offsetFetch({ groupId, topics: groupByTopic(partitions) }, o, cb),
  );
  throwGroupError(response);
  return response.offsets.map((entry: CommittedOffset__Output) => ({
    topic: entry.topic,
    partition: entry.partition,
    offset: entry.offset,
    leaderEpoch: entry.leaderEpoch,
    metadata: entry.metadata,
    commitTimestampMs: entry.commitTimestampMs,
  }));
}

/**
 * Commits offsets for a group from outside it (member id empty, member epoch -1), as admin
 * tools and consumers using assign() do: allowed only while the group has no active member,
 * else rejects with UNKNOWN_MEMBER_ID. Creates the group when it does not exist. One result per
 * offset, in request order.
 */
export async function commitOffsets(
  ctx: GroupsContext,
  groupId: string,
  offsets: readonly GroupOffsetCommit[],
): Promise<GroupCommitResult[]> {
  if (offsets.length === 0) return [];
  const topics = new Map<
    string,
    { partition: number; offset: number; leaderEpoch: number; metadata: string }[]
  >();
  for (const o of offsets) {
    let list = topics.get(o.topic);
    if (list === undefined) topics.set(o.topic, (list = []));
    list.push({
      partition: o.partition,
      offset: o.offset,
      leaderEpoch: o.leaderEpoch ?? -1,
      metadata: o.metadata ?? '',
    });
  }
  const request = {
    groupId,
    memberId: '',
    memberEpoch: -1,
    topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
  };
  const response = await ctx.router.call<OffsetCommitResponse__Output>(groupId, (client, o, cb) =>
    client.offsetCommit(request, o, cb),
  );
  throwGroupError(response);
  const outcomes = new Map<string, BrokerError | null>();
  for (const topic of response.topics) {
    for (const p of topic.partitions) {
      outcomes.set(keyOf(topic.topic, p.partition), brokerErrorOf(p.errorCode, p.errorMessage));
    }
  }
  return offsets.map(({ topic, partition }) => {
    const error = outcomes.get(keyOf(topic, partition));
    return withError(
      { topic, partition },
      error === undefined
        ? new BrokerError('UNKNOWN_SERVER_ERROR', `no commit result for ${topic}-${partition}`)
        : error,
    );
  });
}

/**
 * Computes (and with `execute`, commits) new offsets for a group with no active member. Rejects
 * with NON_EMPTY_GROUP while the group has members (nothing is changed, not even in a dry run's
 * answer). Partitions that could not be reset carry their own error.
 *
 * A reset to an absolute target is retried like any call. A `shiftBy` reset with `execute` is
 * not idempotent, so it is retried only after answers that prove nothing was applied (a
 * coordinator move); after a timeout or a lost connection it rejects, and the caller should
 * check with fetchOffsets before trying again.
 */
export async function resetOffsets(
  ctx: GroupsContext,
  groupId: string,
  options: ResetOffsetsOptions,
): Promise<ResetOffsetsResult> {
  const execute = options.execute ?? false;
  const request: ResetOffsetsRequest = {
    groupId,
    topics: options.topics.map((t) => ({ topic: t.topic, partitions: [...(t.partitions ?? [])] })),
    ...resetTargetOf(options.to),
    execute,
  };
  const invoke = (
    client: GroupsClient,
    o: grpc.CallOptions,
    cb: UnaryCallback<ResetOffsetsResponse__Output>,
  ): grpc.ClientUnaryCall => client.resetOffsets(request, o, cb);
  const response =
    execute && 'shiftBy' in options.to
      ? await withRetry(
          () => ctx.router.call(groupId, invoke, { retry: { ...ctx.retry, retries: 0 } }),
          ctx.retry,
          {
            isRetriable: (error) =>
              error instanceof BrokerError && COORDINATOR_MOVES.has(error.code),
          },
        )
      : await ctx.router.call(groupId, invoke);
  throwGroupError(response);
  return {
    executed: response.executed,
    results: response.results.map((r) => {
      const error = brokerErrorOf(r.errorCode, r.errorMessage);
      return withError(
        {
          topic: r.topic,
          partition: r.partition,
          previousOffset: r.previousOffset,
          newOffset: error === null ? r.newOffset : -1,
        },
        error,
      );
    }),
  };
}

/** The request's `to` oneof for a target; throws TypeError unless exactly one is given. */
function resetTargetOf(to: ResetOffsetsTo): Partial<ResetOffsetsRequest> {
  const keys = Object.keys(to);
  if (keys.length !== 1) {
    throw new TypeError(
      `resetOffsets: "to" must name exactly one of earliest, latest, datetimeMs, offset, shiftBy; got ${keys.length === 0 ? 'none' : keys.join(', ')}`,
    );
  }
  if ('earliest' in to) return { toEarliest: true };
  if ('latest' in to) return { toLatest: true };
  if ('datetimeMs' in to) return { toDatetimeMs: checkSafeInteger('datetimeMs', to.datetimeMs) };
  if ('offset' in to) return { toOffset: checkSafeInteger('offset', to.offset) };
  if ('shiftBy' in to) return { shiftBy: checkSafeInteger('shiftBy', to.shiftBy) };
  throw new TypeError(`resetOffsets: unknown target "${String(keys[0])}"`);
}

function checkSafeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`resetOffsets: ${name} must be a safe integer, got ${value}`);
  }
  return value;
}

/** Rejects with the response's group-level error, if it has one. */
function throwGroupError(response: CoordinatorAnswer): void {
  const error = brokerErrorOf(response.errorCode, response.errorMessage);
  if (error !== null) throw error;
}

/** Partitions as the wire's TopicPartitions: one entry per topic, partitions ascending. */
function groupByTopic(
  partitions: readonly GroupPartition[],
): { topic: string; partitions: number[] }[] {
  const topics = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    let list = topics.get(topic);
    if (list === undefined) topics.set(topic, (list = []));
    if (!list.includes(partition)) list.push(partition);
  }
  return [...topics].map(([topic, list]) => ({ topic, partitions: list.sort((a, b) => a - b) }));
}

function keyOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `fn` over `items` with at most `inflightMax` calls running; results in input order. */
async function mapBounded<Item, Result>(
  items: readonly Item[],
  inflightMax: number,
  fn: (item: Item) => Promise<Result>,
): Promise<Result[]> {
  const results: Result[] = new Array<Result>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as Item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflightMax, items.length) }, worker));
  return results;
}
