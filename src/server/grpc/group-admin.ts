/**
 * The group calls that also need partition offsets from their leaders: DescribeGroups (log end
 * and lag per partition) and ResetOffsets (earliest, latest, offset at a time). Offsets come from
 * ListOffsets, answered here for the partitions this node leads and asked of the leaders for the
 * rest.
 */
import { limits } from '../../config/index.js';
import { BrokerError, InvalidArgumentError, type ErrorCode } from '../../errors/index.js';
import {
  checkGroupId,
  partitionKey,
  splitPartitionKey,
  stateName,
  toWire,
  type GroupCoordinator,
  type GroupView,
} from '../../group/index.js';
import type { MetadataService } from '../../metadata/index.js';
import type {
  DescribedGroup,
  DescribeGroupsResponse,
  ListOffsetsRequest__Output,
  ListOffsetsResponse__Output,
  ResetOffsetResult,
  ResetOffsetsRequest__Output,
  ResetOffsetsResponse,
} from '../../proto/index.js';
import type { PartitionResolver } from '../partition-resolver.js';
import type { PeerClients } from '../peer-clients.js';
import { coded, validatePartitions } from './groups.js';
import { listOffsets } from './offsets.js';

type Spec = 'EARLIEST' | 'LATEST' | 'TIMESTAMP';

interface OffsetQuery {
  readonly topic: string;
  readonly partition: number;
  readonly spec: Spec;
  readonly timestampMs?: number;
}

/** One partition's reset; newOffset null when it could not be computed. */
interface ResetRow {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: ErrorCode;
  readonly errorMessage: string;
  readonly previousOffset: number;
  readonly newOffset: number | null;
}

/** An offset, or why it could not be read. */
type OffsetAnswer = { offset: number } | { error: { code: ErrorCode; message: string } };

export class GroupAdmin {
  constructor(
    private readonly nodeId: number,
    private readonly coordinator: GroupCoordinator,
    private readonly metadata: MetadataService,
    private readonly resolver: PartitionResolver,
    private readonly peers: PeerClients,
  ) {}

  async describeGroups(groupIds: readonly string[]): Promise<DescribeGroupsResponse> {
    const groups: DescribedGroup[] = [];
    for (const groupId of groupIds) {
      try {
        const view = this.coordinator.shardFor(groupId).view(groupId);
        if (view === undefined) {
          throw new BrokerError('GROUP_ID_NOT_FOUND', `group "${groupId}" does not exist`);
        }
        groups.push(await this.describe(view));
      } catch (error) {
        const { code, message, coordinator } = coded(error);
        groups.push({
          groupId,
          errorCode: code,
          errorMessage: message,
          ...(coordinator === null ? {} : { coordinator }),
          state: '',
          groupEpoch: -1,
          assignmentEpoch: -1,
          assignor: '',
          members: [],
          offsets: [],
          coordinatorId: -1,
        });
      }
    }
    return { groups };
  }

  async resetOffsets(request: ResetOffsetsRequest__Output): Promise<ResetOffsetsResponse> {
    checkGroupId(request.groupId, 'group_id');
    const topics = validatePartitions(request.topics, 'topics');
    if (request.to === undefined) {
      throw new InvalidArgumentError(
        'to',
        'is required: one of to_earliest, to_latest, to_datetime_ms, to_offset, shift_by',
      );
    }
    const to = request.to;
    if (to === 'toDatetimeMs' && (request.toDatetimeMs ?? -1) < 0) {
      throw new InvalidArgumentError('to_datetime_ms', 'must be at least 0');
    }
    if (to === 'toOffset' && (request.toOffset ?? -1) < 0) {
      throw new InvalidArgumentError('to_offset', 'must be at least 0');
    }
    try {
      const shard = this.coordinator.shardFor(request.groupId);
      const rows = await shard.resetOffsets(
        request.groupId,
        async (current) => {
          const targets = this.resetTargets(topics, current);
          return this.computeResets(request, targets, current);
        },
        request.execute,
      );
      const results: ResetOffsetResult[] = rows.map((r) => ({
        ...r,
        newOffset: r.newOffset ?? -1,
      }));
      return { errorCode: 'NONE', errorMessage: '', executed: request.execute, results };
    } catch (error) {
      const { code, message, coordinator } = coded(error);
      return {
        errorCode: code,
        errorMessage: message,
        ...(coordinator === null ? {} : { coordinator }),
        executed: false,
        results: [],
      };
    }
  }

  private async describe(view: GroupView): Promise<DescribedGroup> {
    const { state } = view;
    const members = [...(state?.members.values() ?? [])].sort((a, b) =>
      a.memberId < b.memberId ? -1 : 1,
    );
    const owners = new Map<string, string>();
    for (const m of members) {
      for (const [topic, partitions] of m.assigned) {
        for (const p of partitions) owners.set(partitionKey(topic, p), m.memberId);
      }
    }
    const keys = new Set(view.offsets.keys());
    for (const [topic, count] of state?.subscribedTopics ?? []) {
      for (let p = 0; p < count; p++) keys.add(partitionKey(topic, p));
    }
    const partitions = [...keys].map(splitPartitionKey).sort(byTopicPartition);
    const [ends, starts] = await Promise.all([
      this.lookup(partitions.map(([topic, partition]) => ({ topic, partition, spec: 'LATEST' }))),
      this.lookup(partitions.map(([topic, partition]) => ({ topic, partition, spec: 'EARLIEST' }))),
    ]);
    const offsets = partitions.map(([topic, partition]) => {
      const key = partitionKey(topic, partition);
      const committed = view.offsets.get(key);
      const end = offsetOf(ends.get(key));
      const start = offsetOf(starts.get(key));
      const from = committed?.offset ?? start;
      return {
        topic,
        partition,
        committedOffset: committed?.offset ?? -1,
        logEndOffset: end,
        lag: end < 0 || from < 0 ? -1 : Math.max(0, end - from),
        owner: owners.get(key) ?? '',
        metadata: committed?.metadata ?? '',
      };
    });
    return {
      groupId: view.groupId,
      errorCode: 'NONE',
      errorMessage: '',
      state: state === undefined ? 'Empty' : stateName(state),
      groupEpoch: state?.groupEpoch ?? 0,
      assignmentEpoch: state?.assignmentEpoch ?? 0,
      assignor: state?.assignor ?? '',
      members: members.map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        host: m.host,
        memberEpoch: m.memberEpoch,
        state: m.state,
        subscription: {
          topicNames: [...m.subscription.topicNames],
          topicRegex: m.subscription.topicRegex,
        },
        assignment: toWire(m.assigned),
        pendingRevocation: toWire(m.pendingRevocation),
        targetAssignment: toWire(state?.target.get(m.memberId) ?? new Map()),
        sessionTimeoutMs: m.sessionTimeoutMs,
      })),
      offsets,
      coordinatorId: this.nodeId,
    };
  }

  /**
   * The partitions a reset applies to: each named topic's listed partitions, or all of them;
   * with no topic named, every partition the group has an offset for.
   */
  private resetTargets(
    topics: readonly { topic: string; partitions: readonly number[] }[],
    current: ReadonlyMap<string, unknown>,
  ): [string, number][] {
    if (topics.length === 0)
      return [...current.keys()].map(splitPartitionKey).sort(byTopicPartition);
    const image = this.metadata.image();
    const out: [string, number][] = [];
    for (const t of topics) {
      const count = image.topic(t.topic)?.partitions.length ?? 0;
      const partitions =
        t.partitions.length > 0 ? t.partitions : Array.from({ length: count }, (_, p) => p);
      // A topic that does not exist still gets a result (UNKNOWN_TOPIC_OR_PARTITION) per
      // partition listed, or one for partition 0 when none was.
      const listed = partitions.length > 0 ? partitions : [0];
      for (const p of listed) out.push([t.topic, p]);
    }
    return [...new Map(out.map((e) => [partitionKey(...e), e])).values()].sort(byTopicPartition);
  }

  private async computeResets(
    request: ResetOffsetsRequest__Output,
    targets: [string, number][],
    current: ReadonlyMap<string, { offset: number }>,
  ): Promise<ResetRow[]> {
    const queries = (spec: Spec, timestampMs?: number): OffsetQuery[] =>
      targets.map(([topic, partition]) => ({
        topic,
        partition,
        spec,
        ...(timestampMs === undefined ? {} : { timestampMs }),
      }));
    const [starts, ends, atTime] = await Promise.all([
      this.lookup(queries('EARLIEST')),
      this.lookup(queries('LATEST')),
      request.to === 'toDatetimeMs'
        ? this.lookup(queries('TIMESTAMP', request.toDatetimeMs ?? 0))
        : Promise.resolve(new Map<string, OffsetAnswer>()),
    ]);
    return targets.map(([topic, partition]) => {
      const key = partitionKey(topic, partition);
      const previous = current.get(key)?.offset ?? -1;
      const failed = [starts.get(key), ends.get(key)].find((a) => a !== undefined && 'error' in a);
      if (failed !== undefined && 'error' in failed) {
        return {
          topic,
          partition,
          errorCode: failed.error.code,
          errorMessage: failed.error.message,
          previousOffset: previous,
          newOffset: null,
        };
      }
      const start = offsetOf(starts.get(key));
      const end = offsetOf(ends.get(key));
      const clamp = (n: number): number => Math.min(end, Math.max(start, n));
      let wanted: number;
      switch (request.to) {
        case 'toEarliest':
          wanted = start;
          break;
        case 'toLatest':
          wanted = end;
          break;
        case 'toDatetimeMs': {
          const found = offsetOf(atTime.get(key));
          wanted = found < 0 ? end : found;
          break;
        }
        case 'toOffset':
          wanted = clamp(request.toOffset ?? 0);
          break;
        default:
          wanted = clamp((previous < 0 ? start : previous) + (request.shiftBy ?? 0));
      }
      return {
        topic,
        partition,
        errorCode: 'NONE',
        errorMessage: '',
        previousOffset: previous,
        newOffset: wanted,
      };
    });
  }

  /** Offsets from the partitions' leaders: this node's own, then one call per other leader. */
  private async lookup(queries: readonly OffsetQuery[]): Promise<Map<string, OffsetAnswer>> {
    const answers = new Map<string, OffsetAnswer>();
    const remote = new Map<string, OffsetQuery[]>();
    for (let i = 0; i < queries.length; i += limits.fetchPartitionsMax) {
      const chunk = queries.slice(i, i + limits.fetchPartitionsMax);
      const local = await listOffsets(this.resolver, toRequest(chunk));
      (local.partitions ?? []).forEach((p, j) => {
        const query = chunk[j]!;
        const address = p.leader?.address;
        if (
          p.errorCode === 'NOT_LEADER_OR_FOLLOWER' &&
          typeof address === 'string' &&
          address !== ''
        ) {
          let list = remote.get(address);
          if (list === undefined) remote.set(address, (list = []));
          list.push(query);
          return;
        }
        answers.set(
          partitionKey(query.topic, query.partition),
          answerOf({
            errorCode: String(p.errorCode),
            errorMessage: p.errorMessage ?? '',
            offset: Number(p.offset ?? -1),
          }),
        );
      });
    }
    await Promise.all(
      [...remote].map(async ([address, list]) => {
        for (let i = 0; i < list.length; i += limits.fetchPartitionsMax) {
          const chunk = list.slice(i, i + limits.fetchPartitionsMax);
          try {
            const response = await this.peers.call<ListOffsetsResponse__Output>(
              'Broker',
              address,
              'ListOffsets',
              toRequest(chunk),
              { deadlineMs: limits.peerCallTimeoutMs },
            );
            response.partitions.forEach((p, j) => {
              const query = chunk[j]!;
              answers.set(partitionKey(query.topic, query.partition), answerOf(p));
            });
          } catch (error) {
            const message = `could not ask the leader at ${address}: ${(error as Error).message}`;
            for (const q of chunk) {
              answers.set(partitionKey(q.topic, q.partition), {
                error: { code: 'LEADER_NOT_AVAILABLE', message },
              });
            }
          }
        }
      }),
    );
    return answers;
  }
}

function toRequest(queries: readonly OffsetQuery[]): ListOffsetsRequest__Output {
  return {
    partitions: queries.map((q) => ({
      topic: q.topic,
      partition: q.partition,
      spec: q.spec,
      timestampMs: q.timestampMs ?? 0,
    })),
  };
}

function answerOf(p: { errorCode: string; errorMessage: string; offset: number }): OffsetAnswer {
  if (p.errorCode !== 'NONE') {
    return { error: { code: p.errorCode as ErrorCode, message: p.errorMessage } };
  }
  return { offset: p.offset };
}

function offsetOf(answer: OffsetAnswer | undefined): number {
  return answer !== undefined && 'offset' in answer ? answer.offset : -1;
}

function byTopicPartition([ta, pa]: [string, number], [tb, pb]: [string, number]): number {
  return ta < tb ? -1 : ta > tb ? 1 : pa - pb;
}
