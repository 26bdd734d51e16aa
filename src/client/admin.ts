/**
 * The admin client: topics, partitions, configs, record deletion, cluster description, metadata,
 * offsets and consumer groups. Calls go to any reachable broker (the cluster routes them to the
 * controller); listOffsets goes to partition leaders; group calls go to each group's coordinator
 * (admin-groups.ts), and listGroups asks every broker.
 *
 * Batch calls with an empty list resolve [] without a call. Errors come in two kinds. Each item of a batch call (a topic, a resource, a partition) has its
 * own outcome: such calls resolve with one result per item, in request order, and a failed item
 * carries `error` (a BrokerError with the Kafka code) instead of making the whole call throw.
 * When the call fails as a whole (no broker reachable, a malformed request) the promise rejects
 * with a ClientError. Whole-call failures that are retriable are retried within `retries`; a
 * retried create can then report TOPIC_ALREADY_EXISTS for a topic the first attempt created.
 */
import type * as grpc from '@grpc/grpc-js';
import type { BrokerError } from '../errors/index.js';
import type {
  AdminClient,
  AlterConfigsResponse__Output,
  ConfigSource__Output,
  CreatePartitionsResponse__Output,
  AlterPartitionReassignmentsResponse__Output,
  ListPartitionReassignmentsResponse__Output,
  CreateTopicsResponse__Output,
  DeleteRecordsResponse__Output,
  DeleteTopicsResponse__Output,
  DescribeClusterResponse__Output,
  DescribeConfigsResponse__Output,
  NewTopic,
  QuorumInfo__Output,
  QuorumMemberKind__Output,
  QuorumRole__Output,
  ReplicationState__Output,
  TopicResult__Output,
  UnregisterBrokerResponse__Output,
} from '../proto/index.js';
import {
  brokerErrorOf,
  callUnary,
  isRetriable,
  parseBootstrap,
  ConnectionPool,
  type ClientError,
  type UnaryCallback,
} from './connection.js';
import {
  commitOffsets,
  deleteGroups,
  describeGroups,
  fetchOffsets,
  listGroups,
  resetOffsets,
  type GroupCommitResult,
  type GroupCommittedOffset,
  type GroupDescription,
  type GroupOffsetCommit,
  type GroupOutcome,
  type GroupPartition,
  type GroupsContext,
  type ListGroupsResult,
  type ResetOffsetsOptions,
  type ResetOffsetsResult,
} from './admin-groups.js';
import { CoordinatorRouter } from './coordinator-router.js';
import { listOffsets, type ListOffsetsQuery, type ListOffsetsResult } from './list-offsets.js';
import { MetadataCache, brokerAddress } from './metadata-cache.js';
import { checkInteger, checkRetryPolicy, withRetry, type RetryPolicy } from './retry.js';

export interface AdminOptions {
  /** Brokers to talk to: `host:port`, a list, or one comma-separated string. */
  readonly bootstrap: string | readonly string[];
  /** Deadline of one call, in ms (default 30000). */
  readonly requestTimeoutMs?: number;
  /** Retries of a call that failed retriably as a whole (default 5). */
  readonly retries?: number;
  /** First backoff between retries, in ms (default 100). */
  readonly retryBackoffMsMin?: number;
  /** Largest backoff between retries, in ms (default 1000). */
  readonly retryBackoffMsMax?: number;
}

/** A topic to create. Unset counts use the broker's defaults. */
export interface NewTopicSpec {
  readonly name: string;
  readonly partitions?: number;
  readonly replicationFactor?: number;
  /** Topic configs, e.g. `{ 'retention.ms': '86400000' }`. */
  readonly configs?: Readonly<Record<string, string>>;
}

export interface CreateTopicResult {
  readonly name: string;
  /** Id of the new topic; empty with validateOnly or on error. */
  readonly topicId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly error?: BrokerError;
}

/** The outcome for one named topic. */
export interface TopicOutcome {
  readonly name: string;
  readonly error?: BrokerError;
}

export type ResourceType = 'topic' | 'broker';

/**
 * A topic (by name) or a broker (by node id). An empty broker name is the answering node when
 * describing, and every broker (the cluster-wide default) when altering.
 */
export interface ConfigResource {
  readonly type: ResourceType;
  readonly name: string;
}

/** Where a config value comes from. */
export type ConfigSource =
  | 'topic'
  /** A dynamic config set on this broker. */
  | 'dynamic-broker'
  /** A dynamic config set for every broker. */
  | 'dynamic-default'
  | 'static'
  | 'default'
  | 'unknown';

export interface ConfigEntry {
  readonly name: string;
  readonly value: string;
  readonly source: ConfigSource;
  readonly readOnly: boolean;
  readonly documentation: string;
}

export interface DescribeConfigsResult extends ConfigResource {
  readonly entries: readonly ConfigEntry[];
  readonly error?: BrokerError;
}

/** One config change: set `name` to `value`, or delete the resource's own value. */
export interface AlterConfigOp {
  readonly name: string;
  readonly value?: string;
  readonly op: 'set' | 'delete';
}

export interface AlterConfigsResource extends ConfigResource {
  /** Applied together or not at all. */
  readonly ops: readonly AlterConfigOp[];
}

export interface AlterConfigsResult extends ConfigResource {
  readonly error?: BrokerError;
}

export interface DeleteRecordsQuery {
  readonly topic: string;
  readonly partition: number;
  /** New log start offset; -1 deletes everything committed. */
  readonly offset: number;
}

export interface DeleteRecordsResult {
  readonly topic: string;
  readonly partition: number;
  /** The log start offset after the call; -1 on error. */
  readonly lowWatermark: number;
  readonly error?: BrokerError;
}

export interface BrokerDescription {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  /** `host:port`. */
  readonly address: string;
  readonly rack: string;
}

export interface ClusterDescription {
  readonly clusterId: string;
  readonly controllerId: number;
  readonly brokers: readonly (BrokerDescription & { readonly fenced: boolean })[];
  /** The Raft quorum as the answering node sees it; null from a broker that does not say. */
  readonly quorum: QuorumDescription | null;
}

/** A Raft role, as src/raft names them; 'unknown' for a value this SDK does not know. */
export type QuorumRole =
  'follower' | 'pre-candidate' | 'candidate' | 'leader' | 'observer' | 'unknown';

/** The Raft quorum as one node sees it (DescribeCluster's quorum section). */
export interface QuorumDescription {
  /** Node id of the leader the answering node knows of; -1 when it knows none. */
  readonly leaderId: number;
  /** The answering node's current term. */
  readonly term: number;
  /** Voters, then observers, each by node id. */
  readonly members: readonly QuorumMemberDescription[];
  /** The answering node's own Raft state. */
  readonly node: QuorumNodeDescription;
}

export interface QuorumMemberDescription {
  readonly nodeId: number;
  /** host:port the other members reach it on. */
  readonly address: string;
  readonly kind: 'voter' | 'observer' | 'unknown';
  /** How far the leader has replicated to it; null unless the answering node is the leader. */
  readonly replication: ReplicationDescription | null;
}

/** The leader's view of one member's log. */
export interface ReplicationDescription {
  readonly matchIndex: number;
  readonly nextIndex: number;
  /** The leader's last index minus matchIndex. */
  readonly lag: number;
  readonly state: 'probe' | 'replicate' | 'snapshot' | 'unknown';
  /** Heard from within the last election timeout. */
  readonly recentlyActive: boolean;
}

export interface QuorumNodeDescription {
  readonly nodeId: number;
  readonly role: QuorumRole;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  /** Hex digest of the state machine as of appliedIndex; equal across nodes at equal indexes. */
  readonly appliedDigest: string;
}

export interface PartitionDescription {
  readonly partition: number;
  /** Node id of the leader, -1 when none. */
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly error?: BrokerError;
}

export interface TopicDescription {
  readonly name: string;
  readonly topicId: string;
  readonly isInternal: boolean;
  readonly partitions: readonly PartitionDescription[];
  /** UNKNOWN_TOPIC_OR_PARTITION for a named topic that does not exist. */
  readonly error?: BrokerError;
}

export interface ClusterMetadata {
  readonly clusterId: string;
  readonly controllerId: number;
  readonly brokers: readonly BrokerDescription[];
  readonly topics: readonly TopicDescription[];
}

const RESOURCE_TYPES = { topic: 'TOPIC', broker: 'BROKER' } as const;
/** How much earlier than the call's deadline a server-side wait is asked to end. */
const DEADLINE_MARGIN_MS = 1_000;
const CONFIG_SOURCES: Record<ConfigSource__Output, ConfigSource> = {
  CONFIG_SOURCE_UNSPECIFIED: 'unknown',
  TOPIC_CONFIG: 'topic',
  DYNAMIC_BROKER_CONFIG: 'dynamic-broker',
  DYNAMIC_DEFAULT_BROKER_CONFIG: 'dynamic-default',
  STATIC_BROKER_CONFIG: 'static',
  DEFAULT_CONFIG: 'default',
};

/** Adds `error` to `base` only when there is one (exactOptionalPropertyTypes forbids undefined). */
function withError<T extends object>(
  base: T,
  error: BrokerError | null,
): T & { error?: BrokerError } {
  return error === null ? base : { ...base, error };
}

function resourceTypeOf(type: string): ResourceType {
  return type === 'BROKER' ? 'broker' : 'topic';
}

/** Where a partition's replicas should go; `replicas: null` cancels its reassignment. */
export interface PartitionReassignment {
  readonly topic: string;
  readonly partition: number;
  /** Target broker ids, preferred leader first; null cancels the reassignment in progress. */
  readonly replicas: readonly number[] | null;
}

/** A partition's answer to alterPartitionReassignments. */
export interface ReassignmentOutcome {
  readonly topic: string;
  readonly partition: number;
  /** INVALID_REPLICA_ASSIGNMENT, NO_REASSIGNMENT_IN_PROGRESS, UNKNOWN_TOPIC_OR_PARTITION, ... */
  readonly error?: BrokerError;
}

/** A reassignment in progress. */
export interface OngoingReassignment {
  readonly topic: string;
  readonly partition: number;
  /** The target first, then the replicas being removed. */
  readonly replicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
  readonly isr: readonly number[];
  readonly leaderId: number;
}

/** Administration of a Brook cluster. Create one per application and close() it when done. */
export class Admin {
  private readonly pool = new ConnectionPool();
  private readonly metadataCache: MetadataCache;
  private readonly retry: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private readonly groups: GroupsContext;

  constructor(options: AdminOptions) {
    const bootstrap = parseBootstrap(options.bootstrap);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.retry = {
      retries: options.retries ?? 5,
      retryBackoffMsMin: options.retryBackoffMsMin ?? 100,
      retryBackoffMsMax: options.retryBackoffMsMax ?? 1_000,
    };
    checkRetryPolicy(this.retry);
    checkInteger('requestTimeoutMs', this.requestTimeoutMs, 1, 300_000);
    this.metadataCache = new MetadataCache(this.pool, bootstrap, {
      requestTimeoutMs: this.requestTimeoutMs,
      metadataMaxAgeMs: 0,
    });
    const router = new CoordinatorRouter({
      pool: this.pool,
      metadata: this.metadataCache,
      requestTimeoutMs: this.requestTimeoutMs,
      retry: this.retry,
    });
    this.groups = {
      pool: this.pool,
      metadataCache: this.metadataCache,
      router,
      requestTimeoutMs: this.requestTimeoutMs,
      retry: this.retry,
    };
  }

  /** Creates topics; each gets its own result (e.g. TOPIC_ALREADY_EXISTS, INVALID_CONFIG). */
  async createTopics(
    topics: readonly NewTopicSpec[],
    options: { readonly validateOnly?: boolean } = {},
  ): Promise<CreateTopicResult[]> {
    if (topics.length === 0) return [];
    const request = {
      topics: topics.map((topic) => {
        const wire: NewTopic = { name: topic.name, configs: { ...topic.configs } };
        if (topic.partitions !== undefined) wire.partitions = topic.partitions;
        if (topic.replicationFactor !== undefined) {
          wire.replicationFactor = topic.replicationFactor;
        }
        return wire;
      }),
      validateOnly: options.validateOnly ?? false,
    };
    const response = await this.call<CreateTopicsResponse__Output>((client, o, cb) =>
      client.createTopics(request, o, cb),
    );
    return response.results.map((result) =>
      withError(
        {
          name: result.name,
          topicId: result.topicId,
          partitions: result.partitions,
          replicationFactor: result.replicationFactor,
        },
        brokerErrorOf(result.errorCode, result.errorMessage),
      ),
    );
  }

  /** Deletes topics and their data; each name gets its own outcome. */
  async deleteTopics(names: readonly string[]): Promise<TopicOutcome[]> {
    if (names.length === 0) return [];
    const response = await this.call<DeleteTopicsResponse__Output>((client, o, cb) =>
      client.deleteTopics({ names: [...names] }, o, cb),
    );
    return response.results.map(topicOutcome);
  }

  /** Grows topics to `count` partitions in total (never shrinks). */
  async createPartitions(
    topics: readonly { readonly name: string; readonly count: number }[],
    options: { readonly validateOnly?: boolean } = {},
  ): Promise<TopicOutcome[]> {
    if (topics.length === 0) return [];
    const request = {
      topics: topics.map(({ name, count }) => ({ name, count })),
      validateOnly: options.validateOnly ?? false,
    };
    const response = await this.call<CreatePartitionsResponse__Output>((client, o, cb) =>
      client.createPartitions(request, o, cb),
    );
    return response.results.map(topicOutcome);
  }

  /** Every config of each resource, with its effective value and source. */
  async describeConfigs(resources: readonly ConfigResource[]): Promise<DescribeConfigsResult[]> {
    if (resources.length === 0) return [];
    const request = {
      resources: resources.map((r) => ({ type: RESOURCE_TYPES[r.type], name: r.name })),
    };
    const response = await this.call<DescribeConfigsResponse__Output>((client, o, cb) =>
      client.describeConfigs(request, o, cb),
    );
    return response.results.map((result, i) =>
      withError(
        {
          ...resourceOf(result.resource, resources[i]),
          entries: result.entries.map((entry) => ({
            name: entry.name,
            value: entry.value,
            source: CONFIG_SOURCES[entry.source] ?? 'unknown',
            readOnly: entry.readOnly,
            documentation: entry.documentation,
          })),
        },
        brokerErrorOf(result.errorCode, result.errorMessage),
      ),
    );
  }

  /** Sets or deletes config entries (incremental); the ops of one resource apply atomically. */
  async alterConfigs(
    resources: readonly AlterConfigsResource[],
    options: { readonly validateOnly?: boolean } = {},
  ): Promise<AlterConfigsResult[]> {
    if (resources.length === 0) return [];
    const request = {
      resources: resources.map((r) => ({
        resource: { type: RESOURCE_TYPES[r.type], name: r.name },
        ops: r.ops.map((op) => ({
          name: op.name,
          value: op.value ?? '',
          op: op.op === 'delete' ? ('DELETE' as const) : ('SET' as const),
        })),
      })),
      validateOnly: options.validateOnly ?? false,
    };
    const response = await this.call<AlterConfigsResponse__Output>((client, o, cb) =>
      client.alterConfigs(request, o, cb),
    );
    return response.results.map((result, i) =>
      withError(
        {
          ...resourceOf(result.resource, resources[i]),
        },
        brokerErrorOf(result.errorCode, result.errorMessage),
      ),
    );
  }

  /**
   * Moves log start offsets forward, deleting the records before them. A partition's answer
   * comes once every in-sync replica has deleted them (REQUEST_TIMED_OUT if that takes longer
   * than the request timeout: the leader's are gone, the replicas' go when they catch up).
   */
  async deleteRecords(partitions: readonly DeleteRecordsQuery[]): Promise<DeleteRecordsResult[]> {
    if (partitions.length === 0) return [];
    const request = {
      partitions: partitions.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
      // Answered before the call's own deadline.
      timeoutMs: Math.max(1, this.requestTimeoutMs - DEADLINE_MARGIN_MS),
    };
    const response = await this.call<DeleteRecordsResponse__Output>((client, o, cb) =>
      client.deleteRecords(request, o, cb),
    );
    return response.results.map((result) => {
      const error = brokerErrorOf(result.errorCode, result.errorMessage);
      return withError(
        {
          topic: result.topic,
          partition: result.partition,
          lowWatermark: error === null ? result.lowWatermark : -1,
        },
        error,
      );
    });
  }

  /** Cluster id, active controller and every registered broker with its fenced state. */
  async describeCluster(): Promise<ClusterDescription> {
    const response = await this.call<DescribeClusterResponse__Output>((client, o, cb) =>
      client.describeCluster({}, o, cb),
    );
    return {
      clusterId: response.clusterId,
      controllerId: response.controllerId,
      brokers: response.brokers.map((broker) => ({ ...brokerOf(broker), fenced: broker.fenced })),
      quorum: response.quorum === null ? null : quorumOf(response.quorum),
    };
  }

  /**
   * Live brokers and the named topics (all topics when `topics` is omitted or empty) with their
   * partitions. A named topic that does not exist comes back with an UNKNOWN_TOPIC_OR_PARTITION
   * error rather than failing the call.
   */
  async metadata(topics: readonly string[] = []): Promise<ClusterMetadata> {
    const response = await withRetry(() => this.metadataCache.fetch(topics), this.retry);
    return {
      clusterId: response.clusterId,
      controllerId: response.controllerId,
      brokers: response.brokers.map(brokerOf),
      topics: response.topics.map((topic) =>
        withError(
          {
            name: topic.name,
            topicId: topic.topicId,
            isInternal: topic.isInternal,
            partitions: topic.partitions.map((p) =>
              withError(
                {
                  partition: p.partition,
                  leaderId: p.leaderId,
                  leaderEpoch: p.leaderEpoch,
                  replicas: p.replicas,
                  isr: p.isr,
                },
                brokerErrorOf(p.errorCode, `${topic.name}-${p.partition}`),
              ),
            ),
          },
          brokerErrorOf(topic.errorCode, `topic "${topic.name}"`),
        ),
      ),
    };
  }

  /**
   * Earliest offset, latest (the high watermark), or the first offset at or after a timestamp
   * (-1 when no record is that recent), per partition, asked of each partition's leader.
   */
  listOffsets(queries: readonly ListOffsetsQuery[]): Promise<ListOffsetsResult[]> {
    return listOffsets(this.pool, this.metadataCache, queries, this.requestTimeoutMs, this.retry);
  }

  /**
   * Consumer groups of the whole cluster (each broker lists the groups it coordinates), sorted by
   * id, optionally only those in `states` ("Empty", "Assigning", "Reconciling", "Stable"). A
   * broker that cannot be asked, or is still loading groups, after the retries is reported in
   * `errors` next to the groups the others listed; the call rejects only when no broker answers.
   */
  listGroups(options: { readonly states?: readonly string[] } = {}): Promise<ListGroupsResult> {
    return listGroups(this.groups, options);
  }

  /** State, members, assignments and per-partition offsets and lag of groups (see admin-groups.ts). */
  describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    return describeGroups(this.groups, groupIds);
  }

  /** Deletes groups without active members; each gets its own outcome (NON_EMPTY_GROUP, ...). */
  deleteGroups(groupIds: readonly string[]): Promise<GroupOutcome[]> {
    return deleteGroups(this.groups, groupIds);
  }

  /**
   * Computes a group's new offsets and, with `execute`, commits them; rejects with
   * NON_EMPTY_GROUP while the group has active members (see admin-groups.ts).
   */
  resetOffsets(groupId: string, options: ResetOffsetsOptions): Promise<ResetOffsetsResult> {
    return resetOffsets(this.groups, groupId, options);
  }

  /** A group's committed offsets (OffsetFetch): for `partitions`, or every committed one. */
  fetchOffsets(
    groupId: string,
    partitions?: readonly GroupPartition[],
  ): Promise<GroupCommittedOffset[]> {
    return fetchOffsets(this.groups, groupId, partitions);
  }

  /** Commits offsets from outside the group; only while it has no active member. */
  commitOffsets(
    groupId: string,
    offsets: readonly GroupOffsetCommit[],
  ): Promise<GroupCommitResult[]> {
    return commitOffsets(this.groups, groupId, offsets);
  }

  /**
   * Moves partitions onto other brokers (or cancels moves). Answers once the controller has
   * started each move; the data is copied afterwards: follow it with listPartitionReassignments.
   */
  async alterPartitionReassignments(
    partitions: readonly PartitionReassignment[],
  ): Promise<ReassignmentOutcome[]> {
    if (partitions.length === 0) return [];
    const request = {
      partitions: partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        replicas: p.replicas === null ? [] : [...p.replicas],
        cancel: p.replicas === null,
      })),
    };
    const response = await this.call<AlterPartitionReassignmentsResponse__Output>((client, o, cb) =>
      client.alterPartitionReassignments(request, o, cb),
    );
    return response.results.map((r) =>
      withError(
        { topic: r.topic, partition: r.partition },
        brokerErrorOf(r.errorCode, r.errorMessage),
      ),
    );
  }

  /** The reassignments in progress (of `topics`, or all), sorted by topic and partition. */
  async listPartitionReassignments(topics: readonly string[] = []): Promise<OngoingReassignment[]> {
    const response = await this.call<ListPartitionReassignmentsResponse__Output>((client, o, cb) =>
      client.listPartitionReassignments({ topics: [...topics] }, o, cb),
    );
    return response.reassignments.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      replicas: r.replicas,
      addingReplicas: r.addingReplicas,
      removingReplicas: r.removingReplicas,
      isr: r.isr,
      leaderId: r.leaderId,
    }));
  }

  /**
   * Removes a broker from the cluster: drops its registration and, if it is a Raft observer,
   * takes it out of the metadata quorum. For a broker that holds no replicas (move them first,
   * e.g. with `brook brokers drain`) and whose process is gone. Rejects with a BrokerError when
   * refused: BROKER_ID_NOT_REGISTERED, or INVALID_REQUEST for a Raft voter, a broker that still
   * holds replicas, or one that is running; the message says what to do first. A call retried
   * after its first attempt succeeded can report BROKER_ID_NOT_REGISTERED.
   */
  async unregisterBroker(brokerId: number): Promise<void> {
    checkInteger('brokerId', brokerId, 0, 2 ** 31 - 1);
    const response = await this.call<UnregisterBrokerResponse__Output>((client, o, cb) =>
      client.unregisterBroker({ brokerId }, o, cb),
    );
    const error = brokerErrorOf(response.errorCode, response.errorMessage);
    if (error !== null) throw error;
  }

  /** Closes the channels; calls in flight fail with CANCELLED. */
  close(): Promise<void> {
    this.pool.close();
    return Promise.resolve();
  }

  /**
   * One admin call with retries: each attempt tries the known addresses in turn until one
   * answers (a connection failure moves on to the next), and a retriable failure of the whole
   * call is retried after a backoff.
   */
  private call<Response>(
    invoke: (
      client: AdminClient,
      options: grpc.CallOptions,
      callback: UnaryCallback<Response>,
    ) => grpc.ClientUnaryCall,
  ): Promise<Response> {
    return withRetry(async () => {
      let lastError: unknown = null;
      for (const address of this.metadataCache.addresses()) {
        try {
          return await callUnary<Response>(address, this.requestTimeoutMs, (options, callback) =>
            invoke(this.pool.admin(address), options, callback),
          );
        } catch (error: unknown) {
          lastError = error;
          if (!isRetriable(error)) throw error;
        }
      }
      throw lastError;
    }, this.retry);
  }
}

function topicOutcome(result: TopicResult__Output): TopicOutcome {
  return withError({ name: result.name }, brokerErrorOf(result.errorCode, result.errorMessage));
}

export type { ClientError, ListOffsetsQuery, ListOffsetsResult };

/** The resource an answer names, falling back to the one asked for at the same index. */
function resourceOf(
  answered: { type: string; name: string } | null,
  asked: { type: ConfigResource['type']; name: string } | undefined,
): { type: ConfigResource['type']; name: string } {
  if (answered !== null) return { type: resourceTypeOf(answered.type), name: answered.name };
  return { type: asked?.type ?? 'topic', name: asked?.name ?? '' };
}

const QUORUM_ROLES: Record<QuorumRole__Output, QuorumRole> = {
  QUORUM_ROLE_UNSPECIFIED: 'unknown',
  QUORUM_ROLE_FOLLOWER: 'follower',
  QUORUM_ROLE_PRE_CANDIDATE: 'pre-candidate',
  QUORUM_ROLE_CANDIDATE: 'candidate',
  QUORUM_ROLE_LEADER: 'leader',
  QUORUM_ROLE_OBSERVER: 'observer',
};
const MEMBER_KINDS: Record<QuorumMemberKind__Output, QuorumMemberDescription['kind']> = {
  QUORUM_MEMBER_KIND_UNSPECIFIED: 'unknown',
  QUORUM_MEMBER_VOTER: 'voter',
  QUORUM_MEMBER_OBSERVER: 'observer',
};
const REPLICATION_STATES: Record<ReplicationState__Output, ReplicationDescription['state']> = {
  REPLICATION_STATE_UNSPECIFIED: 'unknown',
  REPLICATION_PROBE: 'probe',
  REPLICATION_REPLICATE: 'replicate',
  REPLICATION_SNAPSHOT: 'snapshot',
};

/** The quorum section of a DescribeCluster answer, in the SDK's terms. */
function quorumOf(quorum: QuorumInfo__Output): QuorumDescription {
  const node = quorum.node;
  return {
    leaderId: quorum.leaderId,
    term: quorum.term,
    members: quorum.members.map((m) => ({
      nodeId: m.nodeId,
      address: m.address,
      kind: MEMBER_KINDS[m.kind] ?? 'unknown',
      replication:
        m.replication === null
          ? null
          : {
              matchIndex: m.replication.matchIndex,
              nextIndex: m.replication.nextIndex,
              lag: m.replication.lag,
              state: REPLICATION_STATES[m.replication.state] ?? 'unknown',
              recentlyActive: m.replication.recentlyActive,
            },
    })),
    node: {
      nodeId: node?.nodeId ?? -1,
      role: node === null ? 'unknown' : (QUORUM_ROLES[node.role] ?? 'unknown'),
      commitIndex: node?.commitIndex ?? 0,
      appliedIndex: node?.appliedIndex ?? 0,
      lastIndex: node?.lastIndex ?? 0,
      snapshotIndex: node?.snapshotIndex ?? 0,
      appliedDigest: node?.appliedDigest ?? '',
    },
  };
}

/** A broker as the SDK describes it, from a Metadata or DescribeCluster answer. */
function brokerOf(broker: { nodeId: number; host: string; port: number; rack: string }) {
  return {
    nodeId: broker.nodeId,
    host: broker.host,
    port: broker.port,
    address: brokerAddress(broker.host, broker.port),
    rack: broker.rack,
  };
}
