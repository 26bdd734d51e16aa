/**
 * DeleteRecords into the middle of a batch, then a replica refilled from nothing, in a 3-node
 * cluster of real `brook server` processes. The leader keeps the batch holding its new log start
 * (that batch starts before it); a follower whose data dir was wiped restarts its log at that
 * start, fetches from there and is handed the batch. It must store it as it is and rejoin the
 * ISR, and every replica, read straight from its stopped node's LevelDB, must then hold the same
 * batches, records and log start.
 */
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Admin } from '../../../src/client/index.js';
import type { FetchResponse__Output, ProduceResponse__Output } from '../../../src/proto/index.js';
import { startCluster, type BrokerProcess } from '../../helpers/broker-process.js';
import {
  FAST_CLUSTER_ARGS,
  bootstrapOf,
  createTopic,
  partitionState,
  waitFor,
} from '../../helpers/cluster.js';
import { call, rawClients } from '../../helpers/grpc.js';
import { readStoredReplica } from '../../helpers/replica-log.js';

const TOPIC = 'trimmed';
const BATCH_RECORDS = 5;

let nodes: BrokerProcess[] = [];

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.cleanup()));
});

/** Produces one batch of BATCH_RECORDS values (acks=all); returns its base offset. */
async function produceBatch(tag: string): Promise<number> {
  const clients = rawClients(nodes[0]!.address);
  try {
    const records = Array.from({ length: BATCH_RECORDS }, (_, i) => ({
      value: Buffer.from(`${tag}-${i}`),
    }));
    const answer = await call<ProduceResponse__Output>(clients.broker, 'Produce', {
      topic: TOPIC,
      partition: 0,
      records,
      acks: 'ACKS_ALL',
    });
    expect(answer.results.map((r) => r.errorCode)).toEqual(records.map(() => 'NONE'));
    return answer.results[0]!.offset;
  } finally {
    clients.close();
  }
}

describe('DeleteRecords into a batch, replication factor 3', () => {
  it(
    'a wiped follower restarts its log inside the leader first batch, takes it as it is and rejoins the ISR',
    { timeout: 120_000 },
    async () => {
      nodes = await startCluster(3, { extraArgs: FAST_CLUSTER_ARGS });
      await createTopic(nodes[0]!, TOPIC, 1, 3, { 'min.insync.replicas': '2' });
      const state = await waitFor('a leader with a full ISR', async () => {
        const s = await partitionState(nodes, TOPIC, 0);
        return s.leaderId >= 0 && s.isr.length === 3 ? s : undefined;
      });
      for (let b = 0; b < 4; b++) expect(await produceBatch(`b${b}`)).toBe(b * BATCH_RECORDS);
      // Offset 7 lies inside the batch [5, 9]: the leader keeps it whole.
      const admin = new Admin({ bootstrap: bootstrapOf(nodes), retries: 5 });
      try {
        const [deleted] = await admin.deleteRecords([{ topic: TOPIC, partition: 0, offset: 7 }]);
        expect(deleted?.error).toBeUndefined();
        expect(deleted?.lowWatermark).toBe(7);
      } finally {
        await admin.close();
      }

      const victim = nodes.find((n) => n.nodeId !== state.leaderId)!;
      await victim.stop();
      await rm(victim.dataDir, { recursive: true, force: true });
      await victim.restart();
      await waitFor('the wiped node back in the ISR', async () => {
        const s = await partitionState(nodes, TOPIC, 0);
        return s.isr.includes(victim.nodeId) && s.isr.length === 3 ? s : undefined;
      });
      // It keeps following: an acks=all batch now reaches it too.
      expect(await produceBatch('after')).toBe(20);
      // A fetch from the log start gets the records from there on, though the batch holds more.
      const clients = rawClients(nodes[0]!.address);
      try {
        const fetched = await call<FetchResponse__Output>(clients.broker, 'Fetch', {
          partitions: [{ topic: TOPIC, partition: 0, offset: 7 }],
          format: 'RECORDS',
        });
        const records = fetched.partitions[0]!.records;
        expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 18 }, (_, i) => 7 + i));
        expect(records[0]!.value?.toString()).toBe('b1-2');
        expect(records.at(-1)!.value?.toString()).toBe('after-4');
      } finally {
        clients.close();
      }

      await Promise.all(nodes.map((n) => n.stop()));
      const replicas = [];
      for (const node of nodes) {
        replicas.push(await readStoredReplica(node.dataDir, state.topicId, 0));
      }
      const indexOf = (nodeId: number) => nodes.findIndex((n) => n.nodeId === nodeId);
      const leader = replicas[indexOf(state.leaderId)]!;
      expect([leader.logStartOffset, leader.logEndOffset]).toEqual([7, 25]);
      // The first stored batch starts at 5, before the log start; the wiped replica has it too.
      expect(leader.batchEpochs[0]![0]).toBe(5);
      expect(leader.records[0]).toEqual({ offset: 5, value: 'b1-0' });
      expect(replicas[indexOf(victim.nodeId)]).toEqual(leader);
      // The third replica was never reset, but took the leader's log start from its fetch
      // answers and removed the batch before it the same way: it agrees throughout.
      const other = replicas.find(
        (_, i) => i !== indexOf(victim.nodeId) && i !== indexOf(state.leaderId),
      )!;
      expect(other).toEqual(leader);
    },
  );
});
