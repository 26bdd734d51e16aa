/**
 * Admin's consumer-group calls against a real 3-node cluster (broker processes on loopback,
 * LevelDB, __consumer_offsets with 3 partitions led by different nodes). Groups are made by
 * committing from outside (Admin.commitOffsets) or by joining members with raw GroupHeartbeat
 * calls on the coordinator, then listed, described, reset and deleted through the SDK; every
 * expected offset is computed from records the test produced itself.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer, type BrokerError } from '../../../src/client/index.js';
import { OFFSETS_TOPIC, partitionForGroup } from '../../../src/group/index.js';
import {
  brookV1,
  type FindCoordinatorResponse__Output,
  type GroupHeartbeatResponse__Output,
} from '../../../src/proto/index.js';
import { startCluster, type BrokerProcess } from '../../helpers/broker-process.js';
import {
  FAST_CLUSTER_ARGS,
  bootstrapOf,
  createTopic,
  partitionState,
  waitFor,
} from '../../helpers/cluster.js';
import { call } from '../../helpers/grpc.js';

const OFFSETS_PARTITIONS = 3;
const TOPIC = 'ag-orders';
/** Records produced to each partition of TOPIC: partition p holds 10 * (p + 1). */
const RECORDS_PER_PARTITION = [10, 20, 30];

let nodes: BrokerProcess[] = [];
let admin: Admin;
/** Create time of TOPIC's partition 0 records: record i has BASE_TIME_MS + i * 1000. */
const BASE_TIME_MS = Date.UTC(2024, 0, 1);

beforeAll(async () => {
  nodes = await startCluster(3, {
    extraArgs: [...FAST_CLUSTER_ARGS, '--offsets-topic-num-partitions', String(OFFSETS_PARTITIONS)],
  });
  await createTopic(nodes[0]!, TOPIC, 3, 3);
  await waitFor('a full ISR on every partition', async () => {
    for (let p = 0; p < 3; p++) {
      const s = await partitionState(nodes, TOPIC, p);
      if (s.leaderId < 0 || s.isr.length !== 3) return undefined;
    }
    return true;
  });
  admin = new Admin({ bootstrap: bootstrapOf(nodes), retries: 10 });
  const producer = new Producer({ bootstrap: bootstrapOf(nodes), acks: 'all', lingerMs: 0 });
  try {
    for (let p = 0; p < 3; p++) {
      const count = RECORDS_PER_PARTITION[p]!;
      await Promise.all(
        Array.from({ length: count }, (_, i) =>
          producer.send({
            topic: TOPIC,
            partition: p,
            value: `v${i}`,
            timestampMs: BASE_TIME_MS + i * 1000,
          }),
        ),
      );
    }
  } finally {
    await producer.close();
  }
}, 120_000);

afterAll(async () => {
  await admin?.close();
  await Promise.all(nodes.map((n) => n.cleanup()));
});

/** The first group id `${prefix}-N` that lives in partition `partition` of __consumer_offsets. */
function groupIn(prefix: string, partition: number): string {
  for (let i = 0; i < 1_000; i++) {
    const id = `${prefix}-${i}`;
    if (partitionForGroup(id, OFFSETS_PARTITIONS) === partition) return id;
  }
  throw new Error(`no group id for partition ${partition}`);
}

function groupsClient(address: string) {
  const v1 = brookV1();
  return new v1.Groups(address, grpc.credentials.createInsecure());
}

/** A member joined with raw GroupHeartbeat calls on the group's coordinator. */
interface RawMember {
  readonly memberId: string;
  readonly memberEpoch: number;
  leave(): Promise<void>;
}

async function joinMember(groupId: string, topics: string[]): Promise<RawMember> {
  const any = groupsClient(nodes[0]!.address);
  const found = await waitFor('the coordinator', async () => {
    const r = await call<FindCoordinatorResponse__Output>(any, 'FindCoordinator', {
      groupIds: [groupId],
    });
    return r.coordinators[0]?.errorCode === 'NONE' ? r.coordinators[0] : undefined;
  });
  any.close();
  const client = groupsClient(found.address);
  const joined = await waitFor('a join', async () => {
    const r = await call<GroupHeartbeatResponse__Output>(client, 'GroupHeartbeat', {
      groupId,
      memberId: '',
      memberEpoch: 0,
      subscription: { topicNames: topics },
      ownedPartitionsSet: true,
      ownedPartitions: [],
      clientId: 'raw-member',
    });
    return r.errorCode === 'NONE' ? r : undefined;
  });
  return {
    memberId: joined.memberId,
    memberEpoch: joined.memberEpoch,
    async leave() {
      const r = await call<GroupHeartbeatResponse__Output>(client, 'GroupHeartbeat', {
        groupId,
        memberId: joined.memberId,
        memberEpoch: -1,
      });
      client.close();
      expect(r.errorCode).toBe('NONE');
    },
  };
}

function codeOf(error: BrokerError | undefined): string {
  return error?.code ?? 'NONE';
}

async function committed(groupId: string): Promise<Record<string, number>> {
  const offsets = await admin.fetchOffsets(groupId);
  return Object.fromEntries(offsets.map((o) => [`${o.topic}-${o.partition}`, o.offset]));
}

describe('commitOffsets and fetchOffsets', () => {
  it('commits from outside the group and reads the offsets back, -1 for none', async () => {
    const groupId = 'ag-commit';
    const results = await admin.commitOffsets(groupId, [
      { topic: TOPIC, partition: 0, offset: 4, metadata: 'm0' },
      { topic: TOPIC, partition: 2, offset: 7, leaderEpoch: 0 },
      { topic: 'ag-no-such-topic', partition: 0, offset: 1 },
    ]);
    expect(results.map((r) => [r.topic, r.partition, codeOf(r.error)])).toEqual([
      [TOPIC, 0, 'NONE'],
      [TOPIC, 2, 'NONE'],
      ['ag-no-such-topic', 0, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ]);
    const all = await admin.fetchOffsets(groupId);
    expect(all.map((o) => [o.topic, o.partition, o.offset, o.leaderEpoch, o.metadata])).toEqual([
      [TOPIC, 0, 4, -1, 'm0'],
      [TOPIC, 2, 7, 0, ''],
    ]);
    expect(all.every((o) => o.commitTimestampMs > 0)).toBe(true);
    const some = await admin.fetchOffsets(groupId, [
      { topic: TOPIC, partition: 1 },
      { topic: TOPIC, partition: 2 },
    ]);
    expect(some.map((o) => [o.partition, o.offset])).toEqual([
      [1, -1],
      [2, 7],
    ]);
    expect(await admin.fetchOffsets('ag-never-committed')).toEqual([]);
    expect(await admin.commitOffsets(groupId, [])).toEqual([]);
  });

  it('refuses a commit from outside while the group has a member (UNKNOWN_MEMBER_ID)', async () => {
    const groupId = 'ag-commit-member';
    const member = await joinMember(groupId, [TOPIC]);
    try {
      await expect(
        admin.commitOffsets(groupId, [{ topic: TOPIC, partition: 0, offset: 1 }]),
      ).rejects.toMatchObject({ code: 'UNKNOWN_MEMBER_ID' });
    } finally {
      await member.leave();
    }
    expect(await committed(groupId)).toEqual({});
  });
});

describe('describeGroups', () => {
  it('describes an unknown group as GROUP_ID_NOT_FOUND, in request order', async () => {
    await admin.commitOffsets('ag-described', [{ topic: TOPIC, partition: 1, offset: 5 }]);
    const [unknown, known] = await admin.describeGroups(['ag-unknown', 'ag-described']);
    expect(unknown?.groupId).toBe('ag-unknown');
    expect(codeOf(unknown?.error)).toBe('GROUP_ID_NOT_FOUND');
    expect(known?.error).toBeUndefined();
    expect(known?.state).toBe('Empty');
    expect(known?.members).toEqual([]);
    expect(known?.offsets).toEqual([
      {
        topic: TOPIC,
        partition: 1,
        committedOffset: 5,
        logEndOffset: 20,
        lag: 15,
        owner: '',
        metadata: '',
      },
    ]);
    expect(await admin.describeGroups([])).toEqual([]);
  });

  it('shows members, their assignment, owners and lag of every subscribed partition', async () => {
    const groupId = 'ag-members';
    await admin.commitOffsets(groupId, [{ topic: TOPIC, partition: 0, offset: 3 }]);
    const member = await joinMember(groupId, [TOPIC]);
    try {
      const [group] = await admin.describeGroups([groupId]);
      expect(group?.error).toBeUndefined();
      expect(group?.state).toBe('Stable');
      expect(group?.groupEpoch).toBeGreaterThanOrEqual(1);
      expect(group?.assignmentEpoch).toBe(group?.groupEpoch);
      expect(group?.assignor).toBe('uniform');
      const coordinator = await partitionState(
        nodes,
        OFFSETS_TOPIC,
        partitionForGroup(groupId, OFFSETS_PARTITIONS),
      );
      expect(group?.coordinatorId).toBe(coordinator.leaderId);
      expect(group?.members).toHaveLength(1);
      const m = group!.members[0]!;
      expect(m).toMatchObject({
        memberId: member.memberId,
        clientId: 'raw-member',
        host: '127.0.0.1',
        memberEpoch: member.memberEpoch,
        state: 'stable',
        subscription: { topicNames: [TOPIC], topicRegex: '' },
        assignment: [{ topic: TOPIC, partitions: [0, 1, 2] }],
        pendingRevocation: [],
        targetAssignment: [{ topic: TOPIC, partitions: [0, 1, 2] }],
      });
      // Partition 0 has a commit; 1 and 2 have none, so their lag counts from the log start.
      expect(
        group?.offsets.map((p) => [p.partition, p.committedOffset, p.logEndOffset, p.lag, p.owner]),
      ).toEqual([
        [0, 3, 10, 7, member.memberId],
        [1, -1, 20, 20, member.memberId],
        [2, -1, 30, 30, member.memberId],
      ]);
    } finally {
      await member.leave();
    }
    const [after] = await admin.describeGroups([groupId]);
    expect(after?.state).toBe('Empty');
    expect(after?.members).toEqual([]);
  });
});

describe('deleteGroups', () => {
  it('deletes an empty group, refuses one with members, and reports an unknown one', async () => {
    await admin.commitOffsets('ag-delete-empty', [{ topic: TOPIC, partition: 0, offset: 1 }]);
    const member = await joinMember('ag-delete-busy', [TOPIC]);
    try {
      const results = await admin.deleteGroups(['ag-delete-empty', 'ag-delete-busy', 'ag-nope']);
      expect(results.map((r) => [r.groupId, codeOf(r.error)])).toEqual([
        ['ag-delete-empty', 'NONE'],
        ['ag-delete-busy', 'NON_EMPTY_GROUP'],
        ['ag-nope', 'GROUP_ID_NOT_FOUND'],
      ]);
    } finally {
      await member.leave();
    }
    const [gone, kept] = await admin.describeGroups(['ag-delete-empty', 'ag-delete-busy']);
    expect(codeOf(gone?.error)).toBe('GROUP_ID_NOT_FOUND');
    expect(kept?.error).toBeUndefined();
    expect(await admin.fetchOffsets('ag-delete-empty')).toEqual([]);
    // Once its member has left, the group can go.
    const [later] = await admin.deleteGroups(['ag-delete-busy']);
    expect(later?.error).toBeUndefined();
  });
});

describe('resetOffsets', () => {
  it('computes new offsets in a dry run without changing anything, then applies them', async () => {
    const groupId = 'ag-reset-dry';
    await admin.commitOffsets(groupId, [
      { topic: TOPIC, partition: 0, offset: 2 },
      { topic: TOPIC, partition: 1, offset: 3 },
    ]);
    const before = await committed(groupId);
    const dry = await admin.resetOffsets(groupId, {
      topics: [{ topic: TOPIC }],
      to: { latest: true },
    });
    expect(dry.executed).toBe(false);
    expect(dry.results.map((r) => [r.partition, r.previousOffset, r.newOffset])).toEqual([
      [0, 2, 10],
      [1, 3, 20],
      [2, -1, 30],
    ]);
    expect(await committed(groupId)).toEqual(before);

    const done = await admin.resetOffsets(groupId, {
      topics: [{ topic: TOPIC }],
      to: { latest: true },
      execute: true,
    });
    expect(done.executed).toBe(true);
    expect(done.results).toEqual(dry.results);
    expect(await committed(groupId)).toEqual({
      [`${TOPIC}-0`]: 10,
      [`${TOPIC}-1`]: 20,
      [`${TOPIC}-2`]: 30,
    });
  });

  it('moves to earliest, an offset and a shift, clamped into [log start, log end]', async () => {
    const groupId = 'ag-reset-to';
    const reset = async (to: Parameters<Admin['resetOffsets']>[1]['to'], partitions = [0, 1]) => {
      const r = await admin.resetOffsets(groupId, {
        topics: [{ topic: TOPIC, partitions }],
        to,
        execute: true,
      });
      expect(r.results.every((x) => x.error === undefined)).toBe(true);
      return r.results.map((x) => [x.partition, x.previousOffset, x.newOffset]);
    };
    // Nothing committed: a shift counts from the log start (0).
    expect(await reset({ shiftBy: 4 })).toEqual([
      [0, -1, 4],
      [1, -1, 4],
    ]);
    expect(await reset({ shiftBy: -1 })).toEqual([
      [0, 4, 3],
      [1, 4, 3],
    ]);
    // Shifts past either end stop at the log start and the log end (10 and 20).
    expect(await reset({ shiftBy: -100 })).toEqual([
      [0, 3, 0],
      [1, 3, 0],
    ]);
    expect(await reset({ shiftBy: 15 })).toEqual([
      [0, 0, 10],
      [1, 0, 15],
    ]);
    expect(await reset({ offset: 12 })).toEqual([
      [0, 10, 10],
      [1, 15, 12],
    ]);
    expect(await reset({ offset: 0 })).toEqual([
      [0, 10, 0],
      [1, 12, 0],
    ]);
    expect(await reset({ latest: true }, [2])).toEqual([[2, -1, 30]]);
    expect(await reset({ earliest: true }, [2])).toEqual([[2, 30, 0]]);
  });

  it('moves to the first offset at or after a time, and to the log end past the last record', async () => {
    const groupId = 'ag-reset-time';
    const at = async (datetimeMs: number) => {
      const r = await admin.resetOffsets(groupId, {
        topics: [{ topic: TOPIC, partitions: [0] }],
        to: { datetimeMs },
      });
      return r.results.map((x) => x.newOffset);
    };
    // Record i of partition 0 has BASE_TIME_MS + i s.
    expect(await at(BASE_TIME_MS + 3_000)).toEqual([3]);
    expect(await at(BASE_TIME_MS + 3_500)).toEqual([4]);
    expect(await at(0)).toEqual([0]);
    expect(await at(BASE_TIME_MS + 3_600_000)).toEqual([10]);
  });

  it('clamps to a log start moved by deleteRecords', async () => {
    const groupId = 'ag-reset-start';
    const [deleted] = await admin.deleteRecords([{ topic: TOPIC, partition: 2, offset: 5 }]);
    expect(deleted?.lowWatermark).toBe(5);
    const earliest = await admin.resetOffsets(groupId, {
      topics: [{ topic: TOPIC, partitions: [2] }],
      to: { earliest: true },
    });
    expect(earliest.results.map((r) => r.newOffset)).toEqual([5]);
    const below = await admin.resetOffsets(groupId, {
      topics: [{ topic: TOPIC, partitions: [2] }],
      to: { offset: 1 },
    });
    expect(below.results.map((r) => r.newOffset)).toEqual([5]);
  });

  it('resets every committed partition when no topic is named, and reports unknown topics', async () => {
    const groupId = 'ag-reset-all';
    await admin.commitOffsets(groupId, [
      { topic: TOPIC, partition: 1, offset: 9 },
      { topic: TOPIC, partition: 0, offset: 1 },
    ]);
    const all = await admin.resetOffsets(groupId, { topics: [], to: { shiftBy: 1 } });
    expect(all.results.map((r) => [r.partition, r.previousOffset, r.newOffset])).toEqual([
      [0, 1, 2],
      [1, 9, 10],
    ]);
    const unknown = await admin.resetOffsets(groupId, {
      topics: [{ topic: 'ag-no-such-topic' }],
      to: { earliest: true },
      execute: true,
    });
    expect(unknown.results.map((r) => [r.topic, r.newOffset, codeOf(r.error)])).toEqual([
      ['ag-no-such-topic', -1, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ]);
    expect(await committed(groupId)).toEqual({ [`${TOPIC}-0`]: 1, [`${TOPIC}-1`]: 9 });
  });

  it('is refused with NON_EMPTY_GROUP while the group has members, dry run included', async () => {
    const groupId = 'ag-reset-busy';
    await admin.commitOffsets(groupId, [{ topic: TOPIC, partition: 0, offset: 6 }]);
    const member = await joinMember(groupId, [TOPIC]);
    try {
      for (const execute of [false, true]) {
        await expect(
          admin.resetOffsets(groupId, {
            topics: [{ topic: TOPIC }],
            to: { earliest: true },
            execute,
          }),
        ).rejects.toMatchObject({ name: 'BrokerError', code: 'NON_EMPTY_GROUP' });
      }
    } finally {
      await member.leave();
    }
    expect(await committed(groupId)).toEqual({ [`${TOPIC}-0`]: 6 });
  });

  it('rejects a target that names none or two of the ways', async () => {
    await expect(admin.resetOffsets('ag-x', { topics: [], to: {} as never })).rejects.toThrow(
      /exactly one/,
    );
    await expect(
      admin.resetOffsets('ag-x', { topics: [], to: { earliest: true, offset: 1 } as never }),
    ).rejects.toThrow(/exactly one/);
  });
});

describe('listGroups', () => {
  it('lists the groups of every coordinator, sorted, with the coordinator of each', async () => {
    // One group in each partition of __consumer_offsets; the partitions' leaders differ.
    const ids = [0, 1, 2].map((p) => groupIn('ag-list', p));
    for (const id of ids)
      await admin.commitOffsets(id, [{ topic: TOPIC, partition: 0, offset: 1 }]);
    const leaders = await Promise.all(
      [0, 1, 2].map(async (p) => (await partitionState(nodes, OFFSETS_TOPIC, p)).leaderId),
    );
    expect(new Set(leaders).size).toBeGreaterThan(1);
    const member = await joinMember(ids[1]!, [TOPIC]);
    try {
      const listed = await admin.listGroups();
      expect(listed.errors).toEqual([]);
      const ours = listed.groups.filter((g) => g.groupId.startsWith('ag-list-'));
      expect(ours.map((g) => g.groupId)).toEqual([...ids].sort());
      for (const g of ours) {
        const p = partitionForGroup(g.groupId, OFFSETS_PARTITIONS);
        expect(g.coordinatorId).toBe(leaders[p]);
        expect(g.members).toBe(g.groupId === ids[1] ? 1 : 0);
        expect(g.state).toBe(g.groupId === ids[1] ? 'Stable' : 'Empty');
      }
      const sorted = [...listed.groups].map((g) => g.groupId).sort();
      expect(listed.groups.map((g) => g.groupId)).toEqual(sorted);

      const stable = await admin.listGroups({ states: ['Stable'] });
      expect(stable.groups.map((g) => g.groupId)).toEqual([ids[1]]);
      await expect(admin.listGroups({ states: ['Sleeping'] })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    } finally {
      await member.leave();
    }
  });
});
