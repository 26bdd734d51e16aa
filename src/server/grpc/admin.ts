/**
 * Admin calls. Topic and config changes go through the controller (MetadataService) and are
 * answered once their records are durable; DeleteRecords acts on the partition leader's log.
 */
import { OFFSETS_TOPIC } from '../../group/index.js';
import {
  BROKER_CONFIGS,
  DYNAMIC_BROKER_CONFIGS,
  limits,
  type BrokerConfig,
} from '../../config/index.js';
import { BrokerError, InvalidArgumentError } from '../../errors/index.js';
import type { ConfigChange, MetadataService } from '../../metadata/index.js';
import type {
  AlterConfigsRequest__Output,
  AlterConfigsResponse,
  AlterConfigsResult,
  ConfigEntry,
  CreatePartitionsRequest__Output,
  CreatePartitionsResponse,
  CreateTopicsRequest__Output,
  CreateTopicsResponse,
  DeleteRecordsRequest,
  DeleteRecordsRequest__Output,
  DeleteRecordsResponse,
  DeleteRecordsResponse__Output,
  DeleteRecordsResult,
  DeleteTopicsRequest__Output,
  DeleteTopicsResponse,
  DescribeConfigsRequest__Output,
  DescribeConfigsResponse,
  DescribeConfigsResult,
} from '../../proto/index.js';
import type { PartitionResolver } from '../partition-resolver.js';
import { describeTopicConfigs } from '../topic-settings.js';
import { requireCount, requireEnum, requireInt, requireNonEmpty } from '../validate.js';

const RESOURCE_TYPES = ['TOPIC', 'BROKER'] as const;

/** Sends a DeleteRecords request to a partition's leader (server/peer-clients.ts). */
export interface DeleteRecordsForwarder {
  forwardDeleteRecords(
    address: string,
    request: DeleteRecordsRequest,
  ): Promise<DeleteRecordsResponse__Output>;
}
const ALTER_OPS = ['SET', 'DELETE'] as const;
/** DeleteRecords' wait for the in-sync replicas when the request names none (Kafka's default). */
const DELETE_RECORDS_TIMEOUT_MS_DEFAULT = 30_000;

export class AdminHandler {
  constructor(
    private readonly nodeId: number,
    private readonly config: BrokerConfig,
    private readonly metadata: MetadataService,
    private readonly resolver: PartitionResolver,
    private readonly forwarder: DeleteRecordsForwarder,
    /** Ends waits for replicas when the node shuts down. */
    private readonly shutdown: AbortSignal,
  ) {}

  async createTopics(request: CreateTopicsRequest__Output): Promise<CreateTopicsResponse> {
    requireCount(request.topics, 'topics', limits.adminTopicsMax, 1);
    // Counts are checked per topic by the controller (INVALID_PARTITIONS and
    // INVALID_REPLICATION_FACTOR in the result, as Kafka answers), not as a whole-call error.
    const topics = request.topics.map((t) => {
      return {
        name: t.name,
        partitions: t.partitions ?? null,
        replicationFactor: t.replicationFactor ?? null,
        configs: new Map(Object.entries(t.configs)),
      };
    });
    const results = await this.metadata.createTopics(topics, request.validateOnly);
    return { results: results.map((r) => ({ ...r })), metadataOffset: this.offset() };
  }

  async deleteTopics(request: DeleteTopicsRequest__Output): Promise<DeleteTopicsResponse> {
    requireCount(request.names, 'names', limits.adminTopicsMax, 1);
    request.names.forEach((n, i) => requireNonEmpty(n, `names[${i}]`));
    // The group coordinator's own topic: deleting it would drop every group's offsets.
    const deletable = request.names.filter((n) => n !== OFFSETS_TOPIC);
    const deleted = deletable.length === 0 ? [] : await this.metadata.deleteTopics(deletable);
    const results = request.names.map((name) =>
      name === OFFSETS_TOPIC
        ? {
            name,
            errorCode: 'INVALID_TOPIC_EXCEPTION' as const,
            errorMessage: `${OFFSETS_TOPIC} is internal: it holds every consumer group's offsets and cannot be deleted (delete groups with DeleteGroups)`,
          }
        : { ...deleted[deletable.indexOf(name)]! },
    );
    return { results, metadataOffset: this.offset() };
  }

  async createPartitions(
    request: CreatePartitionsRequest__Output,
  ): Promise<CreatePartitionsResponse> {
    requireCount(request.topics, 'topics', limits.adminTopicsMax, 1);
    request.topics.forEach((t, i) => {
      requireNonEmpty(t.name, `topics[${i}].name`);
      requireInt(t.count, `topics[${i}].count`, 1, limits.partitionsPerTopicMax);
    });
    const results = await this.metadata.createPartitions(request.topics, request.validateOnly);
    return { results: results.map((r) => ({ ...r })), metadataOffset: this.offset() };
  }

  describeConfigs(request: DescribeConfigsRequest__Output): DescribeConfigsResponse {
    requireCount(request.resources, 'resources', limits.adminTopicsMax, 1);
    const results = request.resources.map((resource, i): DescribeConfigsResult => {
      const type = requireEnum(resource.type, `resources[${i}].type`, RESOURCE_TYPES);
      const base = {
        resource: { type, name: resource.name },
        errorCode: 'NONE' as const,
        errorMessage: '',
      };
      if (type === 'BROKER') {
        if (resource.name !== '' && resource.name !== String(this.nodeId)) {
          return {
            ...base,
            errorCode: 'INVALID_REQUEST',
            errorMessage: `this is node ${this.nodeId}; ask node ${resource.name} for its configs`,
            entries: [],
          };
        }
        return { ...base, entries: this.brokerEntries() };
      }
      const topic = this.metadata.image().topic(resource.name);
      if (topic === undefined) {
        return {
          ...base,
          errorCode: 'UNKNOWN_TOPIC_OR_PARTITION',
          errorMessage: `topic "${resource.name}" does not exist`,
          entries: [],
        };
      }
      const entries = describeTopicConfigs(topic, this.config).map((c): ConfigEntry => ({
        name: c.name,
        value: c.value,
        source:
          c.source === 'topic'
            ? 'TOPIC_CONFIG'
            : c.source === 'broker'
              ? 'STATIC_BROKER_CONFIG'
              : 'DEFAULT_CONFIG',
        readOnly: false,
        documentation: c.doc,
      }));
      return { ...base, entries };
    });
    return { results };
  }

  async alterConfigs(request: AlterConfigsRequest__Output): Promise<AlterConfigsResponse> {
    requireCount(request.resources, 'resources', limits.adminTopicsMax, 1);
    const parsed = request.resources.map((r, i) => {
      if (r.resource === null)
        throw new InvalidArgumentError(`resources[${i}].resource`, 'is required');
      const type = requireEnum(r.resource.type, `resources[${i}].resource.type`, RESOURCE_TYPES);
      requireCount(r.ops, `resources[${i}].ops`, 1_000, 1);
      const changes = r.ops.map((op, j): ConfigChange => {
        requireNonEmpty(op.name, `resources[${i}].ops[${j}].name`);
        const kind = requireEnum(op.op, `resources[${i}].ops[${j}].op`, ALTER_OPS);
        return { name: op.name, value: kind === 'SET' ? op.value : null };
      });
      return { type, name: r.resource.name, changes };
    });
    const results: AlterConfigsResult[] = [];
    for (const { type, name, changes } of parsed) {
      const resource = { type, name };
      const result =
        type === 'BROKER'
          ? await this.metadata.alterBrokerConfigs(name, changes, request.validateOnly)
          : await this.metadata.alterTopicConfigs(name, changes, request.validateOnly);
      results.push({ resource, errorCode: result.errorCode, errorMessage: result.errorMessage });
    }
    return { results, metadataOffset: this.offset() };
  }

  /**
   * Moves log starts forward on the partition leaders, and answers once every in-sync replica
   * has moved its own there too (the low watermark, as in Kafka), so a replica taking over the
   * lead cannot serve the deleted records again. A partition led by another node is forwarded
   * to it (once: `isForwarded` calls are answered here, NOT_LEADER_OR_FOLLOWER if need be), so
   * an admin tool that knows one node works.
   */
  async deleteRecords(
    request: DeleteRecordsRequest__Output,
    isForwarded = false,
  ): Promise<DeleteRecordsResponse> {
    requireCount(request.partitions, 'partitions', limits.fetchPartitionsMax, 1);
    request.partitions.forEach((p, i) => {
      requireNonEmpty(p.topic, `partitions[${i}].topic`);
      requireInt(p.partition, `partitions[${i}].partition`, 0, limits.partitionsPerTopicMax - 1);
      requireInt(p.offset, `partitions[${i}].offset`, -1, Number.MAX_SAFE_INTEGER);
    });
    const timeoutMs = Math.min(
      request.timeoutMs === 0 ? DELETE_RECORDS_TIMEOUT_MS_DEFAULT : request.timeoutMs,
      limits.produceTimeoutMsMax,
    );
    const deadlineMs = Date.now() + timeoutMs;
    const results: DeleteRecordsResult[] = [];
    for (const p of request.partitions) {
      const out: DeleteRecordsResult = {
        topic: p.topic,
        partition: p.partition,
        errorCode: 'NONE',
        errorMessage: '',
        lowWatermark: -1,
      };
      try {
        const { log, leader } = this.resolver.leader(p.topic, p.partition);
        out.lowWatermark = await log.deleteBefore(p.offset === -1 ? log.highWatermark : p.offset);
        const leftMs = Math.max(0, deadlineMs - Date.now());
        if (!(await leader.waitForLowWatermark(out.lowWatermark, leftMs, this.shutdown))) {
          out.errorCode = 'REQUEST_TIMED_OUT';
          out.errorMessage = `the records before ${out.lowWatermark} are deleted on the leader, but not yet on every in-sync replica (low watermark ${leader.lowWatermark()}) within ${timeoutMs} ms; they go once the replicas catch up`;
        }
      } catch (error) {
        if (!(error instanceof BrokerError)) throw error;
        const leader = error.code === 'NOT_LEADER_OR_FOLLOWER' ? error.leader : null;
        if (leader !== null && !isForwarded) {
          results.push(await this.forwardDeleteRecords(leader.address, p, timeoutMs, out));
          continue;
        }
        out.errorCode = error.code;
        out.errorMessage = error.message;
      }
      results.push(out);
    }
    return { results };
  }

  private async forwardDeleteRecords(
    address: string,
    wanted: DeleteRecordsRequest__Output['partitions'][number],
    timeoutMs: number,
    out: DeleteRecordsResult,
  ): Promise<DeleteRecordsResult> {
    try {
      const answer = await this.forwarder.forwardDeleteRecords(address, {
        partitions: [wanted],
        timeoutMs,
      });
      return answer.results[0] ?? { ...out, errorCode: 'UNKNOWN_SERVER_ERROR' };
    } catch (error) {
      const coded = error instanceof BrokerError;
      return {
        ...out,
        errorCode: coded ? error.code : 'NOT_LEADER_OR_FOLLOWER',
        errorMessage: coded ? error.message : `could not reach the leader at ${address}`,
      };
    }
  }

  /** The image offset after a change, for forwarding nodes to wait on (0 before any). */
  private offset(): number {
    return Math.max(0, this.metadata.image().offset);
  }

  /** The static configs (read-only), then the dynamic ones with the value in force. */
  private brokerEntries(): ConfigEntry[] {
    const image = this.metadata.image();
    const own = image.brokerConfigs.get(String(this.nodeId));
    const cluster = image.brokerConfigs.get('');
    const dynamic = DYNAMIC_BROKER_CONFIGS.map((definition): ConfigEntry => {
      const mine = own?.get(definition.name);
      const shared = cluster?.get(definition.name);
      return {
        name: definition.name,
        value: mine ?? shared ?? definition.defaultValue ?? '',
        source:
          mine !== undefined
            ? 'DYNAMIC_BROKER_CONFIG'
            : shared !== undefined
              ? 'DYNAMIC_DEFAULT_BROKER_CONFIG'
              : 'DEFAULT_CONFIG',
        readOnly: false,
        documentation: definition.doc,
      };
    });
    return [...this.staticBrokerEntries(), ...dynamic];
  }

  private staticBrokerEntries(): ConfigEntry[] {
    return BROKER_CONFIGS.map((definition) => {
      const entry = this.config.entries.get(definition.name);
      return {
        name: definition.name,
        value: entry?.value ?? '',
        source:
          entry === undefined || entry.source === 'default'
            ? 'DEFAULT_CONFIG'
            : 'STATIC_BROKER_CONFIG',
        readOnly: true,
        documentation: definition.doc,
      };
    });
  }
}
