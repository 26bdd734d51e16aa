/**
 * The internal services a node serves to its peers (BrokerLifecycle, ReplicaFetch) get bad
 * input like any other: a malformed request is INVALID_ARGUMENT naming the field, a request the
 * cluster state refuses gets its Kafka code, undecodable bytes never crash the node, and nothing
 * changes. Checked against one real node, with a topic whose partition it leads.
 */
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brookV1Peer } from '../../../src/proto/index.js';
import { startBroker, type BrokerProcess } from '../../helpers/broker-process.js';
import { createTopic, partitionState, readCommitted } from '../../helpers/cluster.js';
import { call } from '../../helpers/grpc.js';

let node: BrokerProcess;
let lifecycle: grpc.Client;
let fetcher: grpc.Client;
let topicId = '';

beforeAll(async () => {
  node = await startBroker();
  await createTopic(node, 'guarded', 1, 1);
  topicId = (await partitionState([node], 'guarded', 0)).topicId;
  const peer = brookV1Peer();
  lifecycle = new peer.BrokerLifecycle(node.address, grpc.credentials.createInsecure());
  fetcher = new peer.ReplicaFetch(node.address, grpc.credentials.createInsecure());
}, 60_000);

afterAll(async () => {
  lifecycle?.close();
  fetcher?.close();
  await node.cleanup();
});

async function statusOf(client: grpc.Client, method: string, request: object) {
  try {
    return {
      code: grpc.status.OK,
      details: '',
      response: await call<Record<string, unknown>>(client, method, request),
    };
  } catch (error) {
    const e = error as grpc.ServiceError;
    return { code: e.code, details: e.details, response: null };
  }
}

describe('BrokerLifecycle', () => {
  it.each([
    ['RegisterBroker', { brokerId: -1, incarnationId: 'x', host: 'h', port: 1 }, 'broker_id'],
    ['RegisterBroker', { brokerId: 5, incarnationId: '', host: 'h', port: 1 }, 'incarnation_id'],
    ['RegisterBroker', { brokerId: 5, incarnationId: 'x', host: 'h', port: 0 }, 'port'],
    ['AddRaftObserver', { nodeId: 9, address: 'no-port' }, 'address'],
    ['AlterPartition', { brokerId: 0, topicId: '' }, 'topic_id'],
  ])('%s refuses %j with INVALID_ARGUMENT naming %s', async (method, request, field) => {
    const answer = await statusOf(lifecycle, method, request);
    expect(answer.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(answer.details).toContain(field);
  });

  it('refuses a registration from another cluster and a heartbeat of a stale epoch', async () => {
    const foreign = await statusOf(lifecycle, 'RegisterBroker', {
      brokerId: 7,
      incarnationId: 'x',
      host: '127.0.0.1',
      port: 1,
      clusterId: 'another-cluster',
    });
    expect(foreign.response).toMatchObject({ errorCode: 'INCONSISTENT_CLUSTER_ID' });
    const stale = await statusOf(lifecycle, 'BrokerHeartbeat', { brokerId: 0, brokerEpoch: 1 });
    expect(stale.response).toMatchObject({ errorCode: 'STALE_BROKER_EPOCH' });
  });

  it('refuses an ISR change from a node that does not lead, in a stale epoch', async () => {
    const answer = await statusOf(lifecycle, 'AlterPartition', {
      brokerId: 3,
      brokerEpoch: 1,
      topicId,
      partition: 0,
      leaderEpoch: 0,
      partitionEpoch: 0,
      newIsr: [3],
    });
    expect(answer.response?.['errorCode']).toBe('STALE_BROKER_EPOCH');
    expect((await partitionState([node], 'guarded', 0)).isr).toEqual([0]);
  });
});

describe('ReplicaFetch', () => {
  it('answers fencing and range errors per partition', async () => {
    const answer = await statusOf(fetcher, 'Fetch', {
      replicaId: 1,
      partitions: [
        { topicId, partition: 0, fetchOffset: 0, currentLeaderEpoch: 5 },
        { topicId, partition: 0, fetchOffset: 99, currentLeaderEpoch: 0 },
        { topicId: 'nope', partition: 0, fetchOffset: 0, currentLeaderEpoch: 0 },
      ],
    });
    const codes = (answer.response?.['partitions'] as { errorCode: string }[]).map(
      (p) => p.errorCode,
    );
    expect(codes).toEqual([
      'UNKNOWN_LEADER_EPOCH',
      'OFFSET_OUT_OF_RANGE',
      'NOT_LEADER_OR_FOLLOWER',
    ]);
  });

  it.each([
    [{ replicaId: 1, partitions: [] }, 'partitions'],
    [{ replicaId: -3, partitions: [{ topicId, partition: 0 }] }, 'replica_id'],
    [{ replicaId: 1, partitions: [{ topicId, partition: -1 }] }, 'partitions[0].partition'],
    [{ replicaId: 1, partitions: [{ topicId, partition: 0, fetchOffset: -5 }] }, 'fetch_offset'],
  ])('refuses %j with INVALID_ARGUMENT naming %s', async (request, field) => {
    const answer = await statusOf(fetcher, 'Fetch', request);
    expect(answer.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(answer.details).toContain(field);
  });
});

describe('generated garbage', () => {
  it('never gets INTERNAL or UNKNOWN, and the node keeps serving its data', async () => {
    const methods: Array<[grpc.Client, string]> = [
      [lifecycle, 'RegisterBroker'],
      [lifecycle, 'BrokerHeartbeat'],
      [lifecycle, 'AlterPartition'],
      [lifecycle, 'AddRaftObserver'],
      [fetcher, 'Fetch'],
      [fetcher, 'OffsetsForLeaderEpoch'],
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...methods),
        fc.record({
          brokerId: fc.integer({ min: -5, max: 5 }),
          nodeId: fc.integer({ min: -5, max: 5 }),
          replicaId: fc.integer({ min: -5, max: 5 }),
          topicId: fc.oneof(fc.constant(topicId), fc.string({ maxLength: 40 })),
          partition: fc.integer({ min: -3, max: 3 }),
          address: fc.string({ maxLength: 30 }),
          newIsr: fc.array(fc.integer({ min: -2, max: 5 }), { maxLength: 5 }),
          partitions: fc.array(
            fc.record({
              topicId: fc.oneof(fc.constant(topicId), fc.string({ maxLength: 40 })),
              partition: fc.integer({ min: -3, max: 3 }),
              fetchOffset: fc.integer({ min: -3, max: 1_000 }),
              currentLeaderEpoch: fc.integer({ min: -2, max: 3 }),
              leaderEpoch: fc.integer({ min: -2, max: 3 }),
            }),
            { maxLength: 4 },
          ),
        }),
        async ([client, method], request) => {
          const answer = await statusOf(client, method, request);
          expect([grpc.status.INTERNAL, grpc.status.UNKNOWN]).not.toContain(answer.code);
        },
      ),
      { numRuns: 60 },
    );
    const committed = await readCommitted([node], 'guarded', 0);
    expect(committed.size).toBe(0);
    expect((await partitionState([node], 'guarded', 0)).isr).toEqual([0]);
  }, 60_000);
});
