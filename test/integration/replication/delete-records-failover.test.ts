/**
 * DeleteRecords survives a failover, in a 3-node cluster of real `brook server` processes: every
 * replica, not only the leader, moves its log start (Kafka's followers take the leader's log
 * start from each fetch answer, and report their own in the next fetch). Records are produced
 * with acks=all and DeleteRecords moves the log start into a batch; it answers only once every
 * in-sync replica has moved its log start too (Kafka's low watermark). The leader is killed
 * (SIGKILL) the moment the answer comes; the new leader must answer the same earliest offset,
 * refuse fetches below it and serve the records from it on. Last, every replica read from its
 * stopped node's LevelDB must have that log start, and the two survivors the same batches.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Admin } from '../../../src/client/index.js';
import type {
  DeleteRecordsResponse__Output,
  FetchResponse__Output,
  ListOffsetsResponse__Output,
  ProduceResponse__Output,
} from '../../../src/proto/index.js';
import { startCluster, type BrokerProcess } from '../../helpers/broker-process.js';
import {
  FAST_CLUSTER_ARGS,
  bootstrapOf,
  createTopic,
  partitionState,
  waitFor,
} from '../../helpers/cluster.js';
import { call, rawClients } from '../../helpers/grpc.js';
import { readStoredReplica, type StoredReplica } from '../../helpers/replica-log.js';

const TOPIC = 'trimmed-failover';
const BATCH_RECORDS = 5;
/** Inside the batch [5, 9]: every replica keeps that batch whole. */
const DELETE_BEFORE = 7;

let nodes: BrokerProcess[] = [];

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.cleanup()));
});

function nodeById(id: number): BrokerProcess {
  const node = nodes.find((n) => n.nodeId === id);
  if (node === undefined) throw new Error(`no node ${id}`);
  return node;
}

/** Produces one batch of BATCH_RECORDS values (acks=all) through `via`; returns its base. */
async function produceBatch(via: BrokerProcess, tag: string): Promise<number> {
  const clients = rawClients(via.address);
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

/** ListOffsets earliest, asked of `node` itself (it answers only while it leads). */
async function earliestOn(node: BrokerProcess): Promise<number> {
  const clients = rawClients(node.address);
  try {
    const answer = await call<ListOffsetsResponse__Output>(clients.broker, 'ListOffsets', {
      partitions: [{ topic: TOPIC, partition: 0, spec: 'EARLIEST' }],
    });
    const p = answer.partitions[0]!;
    expect(p.errorCode).toBe('NONE');
    return p.offset;
  } finally {
    clients.close();
  }
}

/** A Fetch of RECORDS from `offset`, asked of `node` without forwarding. */
async function fetchOn(
  node: BrokerProcess,
  offset: number,
): Promise<FetchResponse__Output['partitions'][number]> {
  const clients = rawClients(node.address);
  try {
    const answer = await call<FetchResponse__Output>(clients.broker, 'Fetch', {
      partitions: [{ topic: TOPIC, partition: 0, offset }],
      format: 'RECORDS',
      noForward: true,
    });
    return answer.partitions[0]!;
  } finally {
    clients.close();
  }
}

describe('DeleteRecords then failover, replication factor 3', () => {
  it(
    'followers take the leader log start, so a new leader neither serves deleted records nor moves earliest back',
    { timeout: 120_000 },
    async () => {
      nodes = await startCluster(3, { extraArgs: FAST_CLUSTER_ARGS });
      await createTopic(nodes[0]!, TOPIC, 1, 3, { 'min.insync.replicas': '2' });
      const state = await waitFor('a leader with a full ISR', async () => {
        const s = await partitionState(nodes, TOPIC, 0);
        return s.leaderId >= 0 && s.isr.length === 3 ? s : undefined;
      });
      const oldLeader = nodeById(state.leaderId);
      for (let b = 0; b < 4; b++) {
        expect(await produceBatch(oldLeader, `b${b}`)).toBe(b * BATCH_RECORDS);
      }
      const admin = new Admin({ bootstrap: bootstrapOf(nodes), retries: 5 });
      try {
        const [deleted] = await admin.deleteRecords([
          { topic: TOPIC, partition: 0, offset: DELETE_BEFORE },
        ]);
        expect(deleted?.error).toBeUndefined();
        expect(deleted?.lowWatermark).toBe(DELETE_BEFORE);
      } finally {
        await admin.close();
      }
      // Nothing in between: the answer alone says every in-sync replica has the new start.
      await oldLeader.kill('SIGKILL');
      const next = await waitFor('a new leader', async () => {
        const s = await partitionState(nodes, TOPIC, 0);
        return s.leaderId >= 0 && s.leaderId !== state.leaderId ? s : undefined;
      });
      const newLeader = nodeById(next.leaderId);
      // Asked until the node knows it leads; once it answers, the answer must be the new start.
      const earliest = await waitFor('the new leader answering ListOffsets', () =>
        earliestOn(newLeader),
      );
      expect(earliest).toBe(DELETE_BEFORE);
      for (const offset of [0, 4, DELETE_BEFORE - 1]) {
        const below = await fetchOn(newLeader, offset);
        expect(below.errorCode, `fetch at ${offset}`).toBe('OFFSET_OUT_OF_RANGE');
        expect(below.records).toEqual([]);
      }
      const from = await fetchOn(newLeader, DELETE_BEFORE);
      expect(from.errorCode).toBe('NONE');
      expect(from.logStartOffset).toBe(DELETE_BEFORE);
      expect(from.records[0]?.offset).toBe(DELETE_BEFORE);
      expect(from.records[0]?.value?.toString()).toBe('b1-2');
      // The surviving pair keeps taking writes.
      expect(await produceBatch(newLeader, 'later')).toBe(20);

      await Promise.all(nodes.map((n) => n.stop()));
      const replicas = new Map<number, StoredReplica>();
      for (const node of nodes) {
        const replica = await readStoredReplica(node.dataDir, state.topicId, 0);
        expect(replica, `node ${node.nodeId} holds the partition`).not.toBeNull();
        replicas.set(node.nodeId, replica!);
      }
      for (const [nodeId, replica] of replicas) {
        expect(replica.logStartOffset, `node ${nodeId} log start`).toBe(DELETE_BEFORE);
        // The batch holding the log start stays whole; nothing before it is left.
        expect(replica.batchEpochs[0]![0], `node ${nodeId} first batch`).toBe(5);
      }
      const survivors = [...replicas.entries()].filter(([id]) => id !== state.leaderId);
      expect(survivors.length).toBe(2);
      expect(survivors[0]![1]).toEqual(survivors[1]![1]);
      expect(survivors[0]![1].logEndOffset).toBe(25);
    },
  );
});

describe('DeleteRecords and an in-sync follower that does not fetch', () => {
  it(
    'answers REQUEST_TIMED_OUT after timeout_ms, with the leader records gone',
    { timeout: 120_000 },
    async () => {
      await Promise.all(nodes.map((n) => n.cleanup()));
      nodes = await startCluster(3, { extraArgs: FAST_CLUSTER_ARGS });
      await createTopic(nodes[0]!, TOPIC, 1, 3, { 'min.insync.replicas': '2' });
      const state = await waitFor('a leader with a full ISR', async () => {
        const s = await partitionState(nodes, TOPIC, 0);
        return s.leaderId >= 0 && s.isr.length === 3 ? s : undefined;
      });
      const leader = nodeById(state.leaderId);
      for (let b = 0; b < 2; b++) await produceBatch(leader, `b${b}`);
      const follower = nodes.find((n) => n.nodeId !== state.leaderId)!;
      // Paused (by PID) for less than the broker session: still registered and in the ISR.
      process.kill(follower.pid, 'SIGSTOP');
      try {
        const clients = rawClients(leader.address);
        try {
          const answer = await call<DeleteRecordsResponse__Output>(clients.admin, 'DeleteRecords', {
            partitions: [{ topic: TOPIC, partition: 0, offset: DELETE_BEFORE }],
            timeoutMs: 200,
          });
          const result = answer.results[0]!;
          expect(result.errorCode).toBe('REQUEST_TIMED_OUT');
          expect(result.errorMessage).toContain('not yet on every in-sync replica');
          expect(result.lowWatermark).toBe(DELETE_BEFORE);
        } finally {
          clients.close();
        }
      } finally {
        process.kill(follower.pid, 'SIGCONT');
      }
      expect(await earliestOn(leader)).toBe(DELETE_BEFORE);
      // Once the follower fetches again, a repeat of the call is answered at once.
      const admin = new Admin({ bootstrap: bootstrapOf(nodes), retries: 5 });
      try {
        const [again] = await admin.deleteRecords([
          { topic: TOPIC, partition: 0, offset: DELETE_BEFORE },
        ]);
        expect(again?.error).toBeUndefined();
        expect(again?.lowWatermark).toBe(DELETE_BEFORE);
      } finally {
        await admin.close();
      }
    },
  );
});
