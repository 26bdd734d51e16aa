/**
 * Partition reassignment against a real cluster: three voters and a fourth broker, partitions
 * of RF 3 moved onto the broker that held none of them while an acks=all producer keeps
 * writing. Checks: the move completes (replicas = target, all in sync, the leader moved off a
 * removed broker), every acknowledged record is still readable afterwards, the CLI starts and
 * follows a move to the end, and bad requests get the Kafka codes or INVALID_ARGUMENT naming the
 * field, changing nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Consumer, Producer } from '../../../src/client/index.js';
import type { AlterPartitionReassignmentsResponse__Output } from '../../../src/proto/index.js';
import { runCli, startCluster, type BrokerProcess } from '../../helpers/broker-process.js';
import {
  FAST_CLUSTER_ARGS,
  bootstrapOf,
  createTopic,
  partitionState,
  waitFor,
} from '../../helpers/cluster.js';
import { call, callError, rawClients } from '../../helpers/grpc.js';

const TOPIC = 'moving';

let nodes: BrokerProcess[] = [];
let admin: Admin;

beforeAll(async () => {
  nodes = await startCluster(4, { voters: 3, extraArgs: FAST_CLUSTER_ARGS });
  admin = new Admin({ bootstrap: bootstrapOf(nodes), retries: 5 });
  await waitFor('four brokers in service', async () => {
    const { brokers } = await admin.describeCluster();
    return brokers.filter((b) => !b.fenced).length === 4 ? true : undefined;
  });
  await createTopic(nodes[0]!, TOPIC, 2, 3);
}, 90_000);

afterAll(async () => {
  await admin?.close();
  await Promise.all(nodes.map((n) => n.cleanup()));
});

/** A target for `partition`: the broker that holds no replica first, the leader dropped. */
async function newHome(partition: number): Promise<{ target: number[]; removed: number }> {
  const state = await waitFor(`${TOPIC}-${partition} in sync`, async () => {
    const s = await partitionState(nodes, TOPIC, partition);
    return s.isr.length === 3 ? s : undefined;
  });
  const spare = nodes.map((n) => n.nodeId).find((id) => !state.replicas.includes(id))!;
  const kept = state.replicas.filter((id) => id !== state.leaderId);
  return { target: [spare, ...kept], removed: state.leaderId };
}

describe('partition reassignment', () => {
  it('moves a partition onto another broker under acks=all load, losing no acknowledged record', async () => {
    const { target, removed } = await newHome(0);
    const producer = new Producer({ bootstrap: bootstrapOf(nodes), acks: 'all' });
    const acked: string[] = [];
    let producing = true;
    const load = (async () => {
      // Bounded: at most 3,000 records, stopped once the move is done.
      for (let i = 0; producing && i < 3_000; i++) {
        const value = `record-${i}`;
        await producer.send({ topic: TOPIC, partition: 0, value: Buffer.from(value) });
        acked.push(value);
      }
    })();
    try {
      await waitFor('some records acknowledged before the move', () =>
        acked.length >= 200 ? true : undefined,
      );
      const [outcome] = await admin.alterPartitionReassignments([
        { topic: TOPIC, partition: 0, replicas: target },
      ]);
      expect(outcome).toEqual({ topic: TOPIC, partition: 0 });
      await waitFor('the move to finish', async () =>
        (await admin.listPartitionReassignments([TOPIC])).length === 0 ? true : undefined,
      );
      const ackedDuringMove = acked.length;
      await waitFor('more records acknowledged after the move', () =>
        acked.length >= ackedDuringMove + 100 ? true : undefined,
      );
    } finally {
      producing = false;
      await load;
      await producer.close();
    }
    const after = await partitionState(nodes, TOPIC, 0);
    expect(after.replicas).toEqual(target);
    expect([...after.isr].sort()).toEqual([...target].sort());
    expect(target).toContain(after.leaderId);
    expect(after.leaderId).not.toBe(removed);

    const read = await readAll(0, acked.length);
    const missing = acked.filter((value) => !read.has(value));
    expect(missing).toEqual([]);
  });

  it('the CLI starts a move and follows it to the end', async () => {
    const { target } = await newHome(1);
    const result = await runCli([
      'partitions',
      'reassign',
      '--topic',
      TOPIC,
      '--partition',
      '1',
      '--replicas',
      target.join(','),
      '--bootstrap',
      bootstrapOf(nodes).join(','),
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Moving ${TOPIC}-1.`);
    expect(result.stdout).toMatch(/Done: 1 of 1 partition\(s\) moved/);
    expect((await partitionState(nodes, TOPIC, 1)).replicas).toEqual(target);
    const listed = await runCli([
      'partitions',
      'reassignments',
      '--bootstrap',
      bootstrapOf(nodes).join(','),
    ]);
    expect(listed.stdout).toBe('No reassignment in progress.\n');
    const refused = await runCli([
      'partitions',
      'reassign',
      '--topic',
      TOPIC,
      '--partition',
      '1',
      '--replicas',
      '99',
      '--bootstrap',
      bootstrapOf(nodes).join(','),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `brook: ${TOPIC}-1: broker(s) 99 are not registered (INVALID_REPLICA_ASSIGNMENT)\n`,
    );
  });

  it('a throttled move copies no faster than the throttle, while in-sync replicas keep up', async () => {
    const topic = 'throttled';
    await createTopic(nodes[0]!, topic, 1, 2);
    const state = await waitFor(`${topic}-0 in sync`, async () => {
      const s = await partitionState(nodes, topic, 0);
      return s.isr.length === 2 ? s : undefined;
    });
    // 3 MiB in 64 KiB records; at 1 MiB/s, starting from an empty bucket, copying it takes
    // about 3 s, so finishing in under 1.5 s would mean the throttle did not hold.
    const producer = new Producer({ bootstrap: bootstrapOf(nodes), acks: 'all' });
    const value = Buffer.alloc(64 * 1024, 'x');
    for (let i = 0; i < 48; i++) await producer.send({ topic, partition: 0, value });
    const spare = nodes.map((n) => n.nodeId).find((id) => !state.replicas.includes(id))!;
    const startedAt = performance.now();
    const move = runCli([
      'partitions',
      'reassign',
      '--topic',
      topic,
      '--partition',
      '0',
      '--replicas',
      [...state.replicas, spare].join(','),
      '--throttle',
      '1MiB',
      '--bootstrap',
      bootstrapOf(nodes).join(','),
    ]);
    try {
      await waitFor('the move to start', async () =>
        (await admin.listPartitionReassignments([topic])).length === 1 ? true : undefined,
      );
      // The ISR is the old replicas: acks=all does not wait for the throttled copy.
      await producer.send({ topic, partition: 0, value: Buffer.from('during the move') });
      expect((await admin.listPartitionReassignments([topic])).length).toBe(1);
    } finally {
      await producer.close();
    }
    const result = await move;
    const elapsedMs = performance.now() - startedAt;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('throttled to 1.0 MiB/s per leader');
    expect(result.stdout).toMatch(/Done: 1 of 1 partition\(s\) moved/);
    expect(result.stdout).toContain('Replication throttle removed.');
    expect(elapsedMs).toBeGreaterThan(1_500);
    const after = await partitionState(nodes, topic, 0);
    expect([...after.isr].sort()).toEqual([...state.replicas, spare].sort());
    const [described] = await admin.describeConfigs([{ type: 'broker', name: '' }]);
    const throttle = described?.entries.find((e) => e.name === 'leader.replication.throttled.rate');
    expect(throttle?.source).toBe('default');
  });

  it('refuses bad requests with the Kafka codes, changing nothing', async () => {
    const before = await partitionState(nodes, TOPIC, 0);
    const outcomes = await admin.alterPartitionReassignments([
      { topic: 'no-such-topic', partition: 0, replicas: [1, 2, 3] },
      { topic: TOPIC, partition: 9, replicas: [1, 2, 3] },
      { topic: TOPIC, partition: 0, replicas: [1, 1, 2] },
      { topic: TOPIC, partition: 1, replicas: [1, 99] },
    ]);
    expect(outcomes.map((o) => o.error?.code)).toEqual([
      'UNKNOWN_TOPIC_OR_PARTITION',
      'UNKNOWN_TOPIC_OR_PARTITION',
      'INVALID_REPLICA_ASSIGNMENT',
      'INVALID_REPLICA_ASSIGNMENT',
    ]);
    const [cancel] = await admin.alterPartitionReassignments([
      { topic: TOPIC, partition: 0, replicas: null },
    ]);
    expect(cancel?.error?.code).toBe('NO_REASSIGNMENT_IN_PROGRESS');

    const raw = rawClients(nodes[0]!.address);
    try {
      const cases: [object, string][] = [
        [{ partitions: [] }, 'partitions'],
        [{ partitions: [{ topic: '', partition: 0, replicas: [1] }] }, 'partitions[0].topic'],
        [
          { partitions: [{ topic: TOPIC, partition: -1, replicas: [1] }] },
          'partitions[0].partition',
        ],
        [{ partitions: [{ topic: TOPIC, partition: 0, replicas: [] }] }, 'partitions[0].replicas'],
        [
          { partitions: [{ topic: TOPIC, partition: 0, replicas: [1], cancel: true }] },
          'partitions[0].replicas',
        ],
        [
          { partitions: [{ topic: TOPIC, partition: 0, replicas: [-4] }] },
          'partitions[0].replicas[0]',
        ],
      ];
      for (const [request, field] of cases) {
        const error = await callError(raw.admin, 'AlterPartitionReassignments', request);
        expect(error.details, JSON.stringify(request)).toContain(field);
      }
      const answer = await call<AlterPartitionReassignmentsResponse__Output>(
        raw.admin,
        'AlterPartitionReassignments',
        { partitions: [{ topic: TOPIC, partition: 0, replicas: [1, 99] }] },
      );
      expect(answer.results[0]?.errorCode).toBe('INVALID_REPLICA_ASSIGNMENT');
    } finally {
      raw.close();
    }
    const after = await partitionState(nodes, TOPIC, 0);
    expect(after).toEqual(before);
  });
});

/** Every value in `partition`, read from the log start until `count` records came. */
async function readAll(partition: number, count: number): Promise<Set<string>> {
  const consumer = new Consumer({ bootstrap: bootstrapOf(nodes), autoOffsetReset: 'earliest' });
  const values = new Set<string>();
  try {
    consumer.assign([{ topic: TOPIC, partition }]);
    await waitFor(`${count} records read back`, async () => {
      for (const record of await consumer.poll(500)) {
        values.add(record.value?.toString('utf8') ?? '');
      }
      return values.size >= count ? true : undefined;
    });
  } finally {
    await consumer.close();
  }
  return values;
}
