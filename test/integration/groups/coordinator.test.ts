/**
 * The group coordinator over raw gRPC on a 3-node cluster (issue 6 items 1-4 and 7's bad
 * inputs): placement in __consumer_offsets, the heartbeat protocol with revocation before
 * assignment, member epochs fencing commits, the api.md codes for bad calls, malformed and
 * generated requests that change nothing, session expiry, and a coordinator killed with -9
 * whose successor rebuilds members and offsets from the replicated partition.
 */
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFSETS_TOPIC, partitionForGroup } from '../../../src/group/index.js';
import type {
  DescribeConfigsResponse__Output,
  DescribeGroupsResponse__Output,
  FindCoordinatorResponse__Output,
  GroupHeartbeatResponse__Output,
  OffsetCommitResponse__Output,
  OffsetFetchResponse__Output,
  ResetOffsetsResponse__Output,
  DeleteGroupsResponse__Output,
  ListGroupsResponse__Output,
  ProduceResponse__Output,
  DeleteTopicsResponse__Output,
} from '../../../src/proto/index.js';
import { startCluster, type BrokerProcess } from '../../helpers/broker-process.js';
import { FAST_CLUSTER_ARGS, createTopic, waitFor } from '../../helpers/cluster.js';
import { call, callError, rawClients, type RawClients } from '../../helpers/grpc.js';

const GROUP_ARGS = [
  '--offsets-topic-num-partitions',
  '3',
  '--group-consumer-min-session-timeout-ms',
  '500',
  '--group-consumer-heartbeat-interval-ms',
  '200',
];

let nodes: BrokerProcess[] = [];
const clients = new Map<number, RawClients>();

function clientOf(node: BrokerProcess): RawClients {
  let c = clients.get(node.nodeId);
  if (c === undefined) clients.set(node.nodeId, (c = rawClients(node.address)));
  return c;
}

beforeAll(async () => {
  nodes = await startCluster(3, { extraArgs: [...FAST_CLUSTER_ARGS, ...GROUP_ARGS] });
  await createTopic(nodes[0]!, 'orders', 6, 3);
}, 60_000);

afterAll(async () => {
  for (const c of clients.values()) c.close();
  await Promise.all(nodes.map((n) => n.cleanup()));
});

/** The coordinator of `groupId`, asked of `via` until the answer is NONE. */
async function coordinatorOf(groupId: string, via = liveNodes()[0]!): Promise<BrokerProcess> {
  const found = await waitFor(`a coordinator for ${groupId}`, async () => {
    const answer = await call<FindCoordinatorResponse__Output>(
      clientOf(via).groups,
      'FindCoordinator',
      { groupIds: [groupId] },
    ).catch(() => undefined);
    const c = answer?.coordinators[0];
    return c?.errorCode === 'NONE' ? c : undefined;
  });
  return nodes.find((n) => n.nodeId === found.nodeId)!;
}

function liveNodes(): BrokerProcess[] {
  return nodes.filter((n) => n.isRunning());
}

interface Heartbeat {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  subscription?: { topicNames?: string[]; topicRegex?: string };
  ownedPartitions?: { topic: string; partitions: number[] }[];
  sessionTimeoutMs?: number;
}

/** One heartbeat to the group's coordinator; retries while it is loading or moving. */
async function heartbeat(request: Heartbeat): Promise<GroupHeartbeatResponse__Output> {
  return waitFor(`an answer to ${request.memberId}'s heartbeat`, async () => {
    const coordinator = await coordinatorOf(request.groupId);
    const answer = await call<GroupHeartbeatResponse__Output>(
      clientOf(coordinator).groups,
      'GroupHeartbeat',
      {
        clientId: `test-${request.memberId}`,
        ownedPartitionsSet: request.ownedPartitions !== undefined,
        ownedPartitions: request.ownedPartitions ?? [],
        ...request,
      },
    ).catch(() => undefined);
    const moving = ['NOT_COORDINATOR', 'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE'];
    return answer === undefined || moving.includes(answer.errorCode) ? undefined : answer;
  });
}

async function describeGroup(groupId: string) {
  const coordinator = await coordinatorOf(groupId);
  const answer = await call<DescribeGroupsResponse__Output>(
    clientOf(coordinator).groups,
    'DescribeGroups',
    { groupIds: [groupId] },
  );
  return answer.groups[0]!;
}

const flat = (a: { topic: string; partitions: number[] }[]): string[] =>
  a.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p}`)).sort();

describe('placement', () => {
  it('FindCoordinator creates __consumer_offsets (compacted) and names the leader of partition hash(G) mod P', async () => {
    const coordinator = await coordinatorOf('placement');
    const answer = await call<FindCoordinatorResponse__Output>(
      clientOf(nodes[1]!).groups,
      'FindCoordinator',
      { groupIds: ['placement'] },
    );
    const c = answer.coordinators[0]!;
    expect(c.partition).toBe(partitionForGroup('placement', 3));
    expect(c.nodeId).toBe(coordinator.nodeId);
    expect(c.address).toBe(coordinator.address);
    const configs = await call<DescribeConfigsResponse__Output>(
      clientOf(nodes[0]!).admin,
      'DescribeConfigs',
      {
        resources: [{ type: 'TOPIC', name: OFFSETS_TOPIC }],
      },
    );
    const policy = configs.results[0]!.entries.find((e) => e.name === 'cleanup.policy');
    expect(policy?.value).toBe('compact');
  });

  it('a node that is not the coordinator answers NOT_COORDINATOR with where it is', async () => {
    const coordinator = await coordinatorOf('placement');
    const other = nodes.find((n) => n.nodeId !== coordinator.nodeId)!;
    const answer = await call<GroupHeartbeatResponse__Output>(
      clientOf(other).groups,
      'GroupHeartbeat',
      {
        groupId: 'placement',
        memberId: 'x',
        memberEpoch: 0,
        subscription: { topicNames: ['orders'] },
      },
    );
    expect(answer.errorCode).toBe('NOT_COORDINATOR');
    expect(answer.coordinator).toEqual({
      nodeId: coordinator.nodeId,
      address: coordinator.address,
    });
  });
});

describe('the internal topic', () => {
  it('refuses produce to __consumer_offsets and its deletion, and changes nothing', async () => {
    await coordinatorOf('placement');
    const admin = clientOf(nodes[0]!);
    const produced = await call<ProduceResponse__Output>(admin.broker, 'Produce', {
      topic: OFFSETS_TOPIC,
      partition: 0,
      records: [{ key: Buffer.from('k'), value: Buffer.from('garbage') }],
    });
    expect(produced.results.map((r) => r.errorCode)).toEqual(['INVALID_TOPIC_EXCEPTION']);
    const deleted = await call<DeleteTopicsResponse__Output>(admin.admin, 'DeleteTopics', {
      names: [OFFSETS_TOPIC],
    });
    expect(deleted.results.map((r) => r.errorCode)).toEqual(['INVALID_TOPIC_EXCEPTION']);
    const still = await call<FindCoordinatorResponse__Output>(admin.groups, 'FindCoordinator', {
      groupIds: ['placement'],
    });
    expect(still.coordinators[0]!.errorCode).toBe('NONE');
  });
});

describe('the heartbeat protocol', () => {
  it('moves a partition to a new member only after its owner revoked it, and fences stale epochs', async () => {
    const group = 'protocol';
    const a1 = await heartbeat({
      groupId: group,
      memberId: 'a',
      memberEpoch: 0,
      subscription: { topicNames: ['orders'] },
      ownedPartitions: [],
    });
    expect(a1.errorCode).toBe('NONE');
    expect(flat(a1.assignment)).toHaveLength(6);
    const b1 = await heartbeat({
      groupId: group,
      memberId: 'b',
      memberEpoch: 0,
      subscription: { topicNames: ['orders'] },
      ownedPartitions: [],
    });
    expect(flat(b1.assignment)).toEqual([]);
    // a is asked to revoke three; until it reports them gone, b gets none of them.
    const a2 = await heartbeat({
      groupId: group,
      memberId: 'a',
      memberEpoch: a1.memberEpoch,
      ownedPartitions: a1.assignment,
    });
    expect(flat(a2.assignment)).toHaveLength(3);
    expect(a2.memberEpoch).toBe(a1.memberEpoch);
    const b2 = await heartbeat({
      groupId: group,
      memberId: 'b',
      memberEpoch: b1.memberEpoch,
      ownedPartitions: [],
    });
    expect(flat(b2.assignment)).toEqual([]);
    const a3 = await heartbeat({
      groupId: group,
      memberId: 'a',
      memberEpoch: a2.memberEpoch,
      ownedPartitions: a2.assignment,
    });
    expect(a3.memberEpoch).toBeGreaterThan(a2.memberEpoch);
    const b3 = await heartbeat({
      groupId: group,
      memberId: 'b',
      memberEpoch: b2.memberEpoch,
      ownedPartitions: [],
    });
    expect(flat(b3.assignment)).toHaveLength(3);
    expect([...flat(a3.assignment), ...flat(b3.assignment)].sort()).toEqual(
      [0, 1, 2, 3, 4, 5].map((p) => `orders-${p}`),
    );
    const described = await describeGroup(group);
    expect(described.state).toBe('Stable');
    expect(described.members.map((m) => m.memberId)).toEqual(['a', 'b']);

    const coordinator = await coordinatorOf(group);
    const groups = clientOf(coordinator).groups;
    // A heartbeat with an epoch the member never had is a zombie's: fenced.
    const fenced = await call<GroupHeartbeatResponse__Output>(groups, 'GroupHeartbeat', {
      groupId: group,
      memberId: 'a',
      memberEpoch: a3.memberEpoch + 5,
    });
    expect(fenced.errorCode).toBe('FENCED_MEMBER_EPOCH');
    const unknown = await call<GroupHeartbeatResponse__Output>(groups, 'GroupHeartbeat', {
      groupId: group,
      memberId: 'ghost',
      memberEpoch: 3,
    });
    expect(unknown.errorCode).toBe('UNKNOWN_MEMBER_ID');

    const commit = (memberId: string, memberEpoch: number, partition: number, topic = 'orders') =>
      call<OffsetCommitResponse__Output>(groups, 'OffsetCommit', {
        groupId: group,
        memberId,
        memberEpoch,
        topics: [{ topic, partitions: [{ partition, offset: 7, leaderEpoch: -1, metadata: 'm' }] }],
      });
    expect((await commit('a', a3.memberEpoch - 1, 0)).errorCode).toBe('STALE_MEMBER_EPOCH');
    expect((await commit('a', a3.memberEpoch + 1, 0)).errorCode).toBe('FENCED_MEMBER_EPOCH');
    expect((await commit('ghost', 1, 0)).errorCode).toBe('UNKNOWN_MEMBER_ID');
    expect((await commit('', -1, 0)).errorCode).toBe('UNKNOWN_MEMBER_ID');
    const missing = await commit('a', a3.memberEpoch, 9);
    expect(missing.errorCode).toBe('NONE');
    expect(missing.topics[0]!.partitions[0]!.errorCode).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(
      (await commit('a', a3.memberEpoch, 0, 'no-such-topic')).topics[0]!.partitions[0]!.errorCode,
    ).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect((await commit('a', a3.memberEpoch, 2)).topics[0]!.partitions[0]!.errorCode).toBe('NONE');
    const fetched = await call<OffsetFetchResponse__Output>(groups, 'OffsetFetch', {
      groupId: group,
    });
    expect(fetched.offsets.map((o) => [o.topic, o.partition, o.offset, o.metadata])).toEqual([
      ['orders', 2, 7, 'm'],
    ]);

    const deleted = await call<DeleteGroupsResponse__Output>(groups, 'DeleteGroups', {
      groupIds: [group],
    });
    expect(deleted.results.map((r) => r.errorCode)).toEqual(['NON_EMPTY_GROUP']);
    const elsewhere = await coordinatorOf('never-existed');
    const notFound = await call<DeleteGroupsResponse__Output>(
      clientOf(elsewhere).groups,
      'DeleteGroups',
      { groupIds: ['never-existed'] },
    );
    expect(notFound.results.map((r) => r.errorCode)).toEqual(['GROUP_ID_NOT_FOUND']);
    const reset = await call<ResetOffsetsResponse__Output>(groups, 'ResetOffsets', {
      groupId: group,
      topics: [{ topic: 'orders', partitions: [] }],
      toEarliest: true,
      execute: true,
    });
    expect(reset.errorCode).toBe('NON_EMPTY_GROUP');

    // Leaving: the other member gets everything.
    const left = await heartbeat({ groupId: group, memberId: 'a', memberEpoch: -1 });
    expect(left.memberEpoch).toBe(-1);
    const b4 = await heartbeat({
      groupId: group,
      memberId: 'b',
      memberEpoch: b3.memberEpoch,
      ownedPartitions: b3.assignment,
    });
    expect(flat(b4.assignment)).toHaveLength(6);
    const unknownGroup = await describeGroup('never-existed');
    expect(unknownGroup.errorCode).toBe('GROUP_ID_NOT_FOUND');
  });

  it('a member that stops heartbeating is removed after its session timeout and its partitions move', async () => {
    const group = 'expiry';
    const a1 = await heartbeat({
      groupId: group,
      memberId: 'a',
      memberEpoch: 0,
      sessionTimeoutMs: 800,
      subscription: { topicNames: ['orders'] },
      ownedPartitions: [],
    });
    const b1 = await heartbeat({
      groupId: group,
      memberId: 'b',
      memberEpoch: 0,
      sessionTimeoutMs: 800,
      subscription: { topicNames: ['orders'] },
      ownedPartitions: [],
    });
    expect(flat(a1.assignment)).toHaveLength(6);
    // a goes silent while still owning everything; b keeps heartbeating and gets all six once a
    // is removed.
    let b = b1;
    const all = await waitFor('b to own every partition', async () => {
      b = await heartbeat({
        groupId: group,
        memberId: 'b',
        memberEpoch: b.memberEpoch,
        ownedPartitions: b.assignment,
      });
      await new Promise((r) => setTimeout(r, 100));
      return flat(b.assignment).length === 6 ? b : undefined;
    });
    expect(all.errorCode).toBe('NONE');
    const late = await heartbeat({
      groupId: group,
      memberId: 'a',
      memberEpoch: a1.memberEpoch,
      ownedPartitions: a1.assignment,
    });
    expect(late.errorCode).toBe('UNKNOWN_MEMBER_ID');
  });
});

describe('offsets of a deleted topic', () => {
  it('are not taken for a new topic of the same name', async () => {
    const group = 'recycler';
    const topic = 'recycled';
    await createTopic(nodes[0]!, topic, 2, 3);
    const joined = await heartbeat({
      groupId: group,
      memberId: 'r',
      memberEpoch: 0,
      subscription: { topicNames: [topic] },
      sessionTimeoutMs: 5_000,
    });
    expect(joined.errorCode).toBe('NONE');
    const coordinator = await coordinatorOf(group);
    const { groups } = clientOf(coordinator);
    const committed = await call<OffsetCommitResponse__Output>(groups, 'OffsetCommit', {
      groupId: group,
      memberId: 'r',
      memberEpoch: joined.memberEpoch,
      topics: [
        { topic, partitions: [{ partition: 0, offset: 500, leaderEpoch: -1, metadata: '' }] },
      ],
    });
    expect(committed.topics[0]!.partitions[0]!.errorCode).toBe('NONE');
    await heartbeat({ groupId: group, memberId: 'r', memberEpoch: -1 });
    const fetch = () =>
      call<OffsetFetchResponse__Output>(groups, 'OffsetFetch', { groupId: group }).then((f) =>
        f.offsets.map((o) => [o.topic, o.partition, o.offset]),
      );
    expect(await fetch()).toEqual([[topic, 0, 500]]);

    const deleted = await call<DeleteTopicsResponse__Output>(
      clientOf(nodes[0]!).admin,
      'DeleteTopics',
      {
        names: [topic],
      },
    );
    expect(deleted.results.map((r) => r.errorCode)).toEqual(['NONE']);
    await waitFor('the deleted topic offsets gone from OffsetFetch', async () =>
      (await fetch()).length === 0 ? true : undefined,
    );
    // Created again under the name: a new topic id, so offset 500 is not its committed offset
    // (a consumer would start past its records, or out of range).
    await waitFor('the topic created again', () =>
      createTopic(nodes[0]!, topic, 2, 3).then(
        () => true,
        () => undefined,
      ),
    );
    await waitFor('the new topic seen by the coordinator', async () => {
      const answer = await call<DescribeConfigsResponse__Output>(
        clientOf(coordinator).admin,
        'DescribeConfigs',
        {
          resources: [{ type: 'TOPIC', name: topic }],
        },
      );
      return answer.results[0]?.errorCode === 'NONE' ? true : undefined;
    });
    expect(await fetch()).toEqual([]);
  });
});

describe('bad input', () => {
  const malformed: [string, string, object][] = [
    [
      'GroupHeartbeat',
      'group_id',
      { groupId: ' ', memberEpoch: 0, subscription: { topicNames: ['orders'] } },
    ],
    ['GroupHeartbeat', 'subscription', { groupId: 'bad', memberEpoch: 0 }],
    ['GroupHeartbeat', 'member_id', { groupId: 'bad', memberEpoch: 3 }],
    ['GroupHeartbeat', 'member_epoch', { groupId: 'bad', memberId: 'm', memberEpoch: -2 }],
    [
      'GroupHeartbeat',
      'subscription.topic_regex',
      { groupId: 'bad', memberEpoch: 0, subscription: { topicRegex: '(' } },
    ],
    [
      'GroupHeartbeat',
      'subscription.topic_names',
      { groupId: 'bad', memberEpoch: 0, subscription: { topicNames: [] } },
    ],
    [
      'GroupHeartbeat',
      'owned_partitions[0].partitions[0]',
      {
        groupId: 'bad',
        memberEpoch: 0,
        subscription: { topicNames: ['orders'] },
        ownedPartitionsSet: true,
        ownedPartitions: [{ topic: 'orders', partitions: [-1] }],
      },
    ],
    [
      'OffsetCommit',
      'topics[0].partitions[0].offset',
      {
        groupId: 'bad',
        memberEpoch: -1,
        topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: -5 }] }],
      },
    ],
    ['OffsetCommit', 'topics', { groupId: 'bad', memberEpoch: -1, topics: [] }],
    [
      'OffsetCommit',
      'member_epoch',
      {
        groupId: 'bad',
        memberEpoch: 4,
        topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: 1 }] }],
      },
    ],
    ['FindCoordinator', 'group_ids', { groupIds: [] }],
    ['DescribeGroups', 'group_ids[1]', { groupIds: ['ok', ''] }],
    ['ListGroups', 'states[0]', { states: ['Sleeping'] }],
    ['ResetOffsets', 'to', { groupId: 'bad', topics: [{ topic: 'orders' }] }],
    ['ResetOffsets', 'to_offset', { groupId: 'bad', toOffset: -3 }],
  ];

  it.each(malformed)(
    '%s without a valid %s is INVALID_ARGUMENT naming it, and changes nothing',
    async (method, field, request) => {
      const coordinator = await coordinatorOf('bad');
      const error = await callError(clientOf(coordinator).groups, method, request);
      expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error.details.startsWith(`${field}:`)).toBe(true);
      const described = await describeGroup('bad');
      expect(described.errorCode).toBe('GROUP_ID_NOT_FOUND');
    },
  );

  it('generated heartbeats and commits never take a node down or create a group by accident', async () => {
    const coordinator = await coordinatorOf('fuzz');
    const groups = clientOf(coordinator).groups;
    const partitions = fc.array(
      fc.record({
        topic: fc.string({ maxLength: 8 }),
        partitions: fc.array(fc.integer({ min: -3, max: 100 }), { maxLength: 4 }),
      }),
      { maxLength: 3 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          groupId: fc.constantFrom('fuzz', '', ' ', 'x'.repeat(300)),
          memberId: fc.string({ maxLength: 10 }),
          memberEpoch: fc.integer({ min: -5, max: 5 }),
          subscription: fc.option(
            fc.record({
              topicNames: fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
              topicRegex: fc.constantFrom('', '[', 'ord.*', '(a'),
            }),
            { nil: undefined },
          ),
          ownedPartitionsSet: fc.boolean(),
          ownedPartitions: partitions,
          sessionTimeoutMs: fc.integer({ min: -10, max: 100_000 }),
          serverAssignor: fc.constantFrom('', 'uniform', 'bogus'),
        }),
        async (request) => {
          const answer = await call<GroupHeartbeatResponse__Output>(
            groups,
            'GroupHeartbeat',
            request,
          ).catch((error: grpc.ServiceError) => error);
          if ('code' in answer && typeof answer.code === 'number') {
            expect(answer.code).toBe(grpc.status.INVALID_ARGUMENT);
          }
          // Leave any member a generated join created, so the group stays empty.
          if (!('code' in answer) && answer.errorCode === 'NONE' && answer.memberEpoch > 0) {
            await call(groups, 'GroupHeartbeat', {
              groupId: request.groupId,
              memberId: answer.memberId,
              memberEpoch: -1,
            });
          }
        },
      ),
      { numRuns: 60 },
    );
    for (const node of liveNodes()) {
      expect(node.isRunning()).toBe(true);
      expect(node.errorLines()).toEqual([]);
    }
    const listed = await call<ListGroupsResponse__Output>(groups, 'ListGroups', {});
    expect(listed.groups.filter((g) => g.groupId === 'fuzz' && g.members > 0)).toEqual([]);
  });
});

describe('coordinator failover', () => {
  it('a coordinator killed with -9 is replaced by one that rebuilt members, epochs and offsets', async () => {
    const group = 'failover';
    let a = await heartbeat({
      groupId: group,
      memberId: 'a',
      memberEpoch: 0,
      sessionTimeoutMs: 30_000,
      subscription: { topicNames: ['orders'] },
      ownedPartitions: [],
    });
    let b = await heartbeat({
      groupId: group,
      memberId: 'b',
      memberEpoch: 0,
      sessionTimeoutMs: 30_000,
      subscription: { topicNames: ['orders'] },
      ownedPartitions: [],
    });
    for (let i = 0; i < 4; i++) {
      a = await heartbeat({
        groupId: group,
        memberId: 'a',
        memberEpoch: a.memberEpoch,
        ownedPartitions: a.assignment,
      });
      b = await heartbeat({
        groupId: group,
        memberId: 'b',
        memberEpoch: b.memberEpoch,
        ownedPartitions: b.assignment,
      });
    }
    const before = await describeGroup(group);
    expect(before.state).toBe('Stable');
    const old = await coordinatorOf(group);
    const committed = await call<OffsetCommitResponse__Output>(
      clientOf(old).groups,
      'OffsetCommit',
      {
        groupId: group,
        memberId: 'a',
        memberEpoch: a.memberEpoch,
        topics: [
          {
            topic: 'orders',
            partitions: a.assignment[0]!.partitions.map((p) => ({
              partition: p,
              offset: 100 + p,
              leaderEpoch: -1,
              metadata: '',
            })),
          },
        ],
      },
    );
    expect(committed.errorCode).toBe('NONE');

    await old.kill('SIGKILL');
    const successor = await waitFor('another coordinator', async () => {
      const c = await coordinatorOf(group).catch(() => undefined);
      return c !== undefined && c.nodeId !== old.nodeId ? c : undefined;
    });
    const fetched = await waitFor('the offsets from the new coordinator', async () => {
      const answer = await call<OffsetFetchResponse__Output>(
        clientOf(successor).groups,
        'OffsetFetch',
        { groupId: group },
      ).catch(() => undefined);
      return answer?.errorCode === 'NONE' ? answer : undefined;
    });
    expect(fetched.offsets.map((o) => [o.partition, o.offset])).toEqual(
      a.assignment[0]!.partitions.map((p) => [p, 100 + p]),
    );
    const after = await describeGroup(group);
    expect(after.groupEpoch).toBe(before.groupEpoch);
    expect(after.members.map((m) => [m.memberId, m.memberEpoch, flat(m.assignment)])).toEqual(
      before.members.map((m) => [m.memberId, m.memberEpoch, flat(m.assignment)]),
    );
    // The members carry on with the epochs they had.
    const a2 = await heartbeat({
      groupId: group,
      memberId: 'a',
      memberEpoch: a.memberEpoch,
      ownedPartitions: a.assignment,
    });
    expect(a2.errorCode).toBe('NONE');
    expect(flat(a2.assignment)).toEqual(flat(a.assignment));
    await old.restart();
  });
});
