/**
 * Routing in a 3-node cluster, over raw gRPC (a client that knows one address, like a
 * Kubernetes Service; issue 4 item 4): a node that does not lead a partition forwards produce
 * and fetch to the leader unless the request says no_forward, in which case it answers
 * NOT_LEADER_OR_FOLLOWER with the leader's address. Admin calls go through any node to the
 * active controller, and keep working after the controller is killed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  DeleteRecordsResponse__Output,
  FetchResponse__Output,
  ProduceResponse__Output,
} from '../../../src/proto/index.js';
import { startCluster, type BrokerProcess } from '../../helpers/broker-process.js';
import { FAST_CLUSTER_ARGS, createTopic, partitionState, waitFor } from '../../helpers/cluster.js';
import { call, rawClients, type RawClients } from '../../helpers/grpc.js';
import { Admin } from '../../../src/client/index.js';

let nodes: BrokerProcess[] = [];
let leader: BrokerProcess;
let follower: BrokerProcess;
let clients: RawClients;

beforeAll(async () => {
  nodes = await startCluster(3, { extraArgs: FAST_CLUSTER_ARGS });
  await createTopic(nodes[0]!, 'routed', 1, 3);
  const state = await waitFor('a leader with a full ISR', async () => {
    const s = await partitionState(nodes, 'routed', 0);
    return s.leaderId >= 0 && s.isr.length === 3 ? s : undefined;
  });
  leader = nodes.find((n) => n.nodeId === state.leaderId)!;
  follower = nodes.find((n) => n.nodeId !== state.leaderId)!;
  clients = rawClients(follower.address);
}, 60_000);

afterAll(async () => {
  clients?.close();
  await Promise.all(nodes.map((n) => n.cleanup()));
});

const record = (text: string) => ({ value: Buffer.from(text) });

describe('a node that does not lead the partition', () => {
  it('forwards a produce to the leader and answers with its offsets', async () => {
    const answer = await call<ProduceResponse__Output>(clients.broker, 'Produce', {
      topic: 'routed',
      partition: 0,
      records: [record('a'), record('b')],
      acks: 'ACKS_ALL',
    });
    expect(answer.results.map((r) => [r.errorCode, r.offset])).toEqual([
      ['NONE', 0],
      ['NONE', 1],
    ]);
  });

  it('forwards a fetch, long poll included, to the leader', async () => {
    const fetched = await call<FetchResponse__Output>(clients.broker, 'Fetch', {
      partitions: [{ topic: 'routed', partition: 0, offset: 0 }],
      maxWaitMs: 1_000,
      minBytes: 1,
    });
    const partition = fetched.partitions[0]!;
    expect(partition.errorCode).toBe('NONE');
    expect(partition.records.map((r) => r.value?.toString())).toEqual(['a', 'b']);
    expect(partition.highWatermark).toBe(2);
  });

  it('answers NOT_LEADER_OR_FOLLOWER with the leader address when asked not to forward', async () => {
    const produced = await call<ProduceResponse__Output>(clients.broker, 'Produce', {
      topic: 'routed',
      partition: 0,
      records: [record('c')],
      noForward: true,
    });
    expect(produced.results[0]).toMatchObject({
      errorCode: 'NOT_LEADER_OR_FOLLOWER',
      leader: { nodeId: leader.nodeId, address: leader.address },
    });
    const fetched = await call<FetchResponse__Output>(clients.broker, 'Fetch', {
      partitions: [{ topic: 'routed', partition: 0, offset: 0 }],
      noForward: true,
    });
    expect(fetched.partitions[0]).toMatchObject({
      errorCode: 'NOT_LEADER_OR_FOLLOWER',
      leader: { nodeId: leader.nodeId, address: leader.address },
    });
  });
});

describe('DeleteRecords through a node that does not lead', () => {
  it('is forwarded to the leader, which moves the log start', async () => {
    const answer = await call<DeleteRecordsResponse__Output>(clients.admin, 'DeleteRecords', {
      partitions: [{ topic: 'routed', partition: 0, offset: 1 }],
    });
    expect(answer.results[0]).toMatchObject({ errorCode: 'NONE', lowWatermark: 1 });
    const fetched = await call<FetchResponse__Output>(clients.broker, 'Fetch', {
      partitions: [{ topic: 'routed', partition: 0, offset: 1 }],
    });
    expect(fetched.partitions[0]).toMatchObject({ errorCode: 'NONE', logStartOffset: 1 });
  });
});

describe('admin calls', () => {
  it(
    'reach the active controller through any node, and survive its failover',
    { timeout: 60_000 },
    async () => {
      const admin = new Admin({ bootstrap: nodes.map((n) => n.address) });
      const cluster = await admin.describeCluster();
      await admin.close();
      const controller = nodes.find((n) => n.nodeId === cluster.controllerId)!;
      const other = nodes.find((n) => n !== controller)!;
      await controller.kill('SIGKILL');
      // Through a surviving node that is not the controller: it forwards, retrying until a new
      // controller is elected.
      await createTopic(other, 'after-failover', 2, 2);
      // Placed while the killed node's session had not yet expired, a replica may sit on it; the
      // partition is then led by the live one once the dead node is fenced.
      const state = await waitFor('the new topic led by a live node', async () => {
        const s = await partitionState([other], 'after-failover', 1);
        return s.leaderId >= 0 && s.leaderId !== controller.nodeId ? s : undefined;
      });
      expect(state.replicas).toHaveLength(2);
    },
  );
});
