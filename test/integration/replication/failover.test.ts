/**
 * Partition replication under crashes, with real `brook server` processes on loopback (issue 4
 * item 7). A producer sends unique values one at a time with acks=all and records the offset
 * each acknowledgement named; nodes are killed with SIGKILL mid-load. The checks read every
 * replica straight from its stopped node's LevelDB (test/helpers/replica-log.ts), so they see
 * what each replica holds, not what some node serves:
 * - every acknowledged value is at its acknowledged offset on every replica that is in sync;
 * - no offset holds two different values on two replicas (replicas agree on the committed log);
 * - consumers read every acknowledged value at its offset.
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, type BrokerProcess } from '../../helpers/broker-process.js';
import {
  FAST_CLUSTER_ARGS,
  ProduceLoad,
  createTopic,
  partitionState,
  readCommitted,
  waitFor,
  type Acked,
} from '../../helpers/cluster.js';
import { readStoredReplica, type StoredReplica } from '../../helpers/replica-log.js';

let nodes: BrokerProcess[] = [];

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.cleanup()));
  nodes = [];
});

function nodeById(id: number): BrokerProcess {
  const node = nodes.find((n) => n.nodeId === id);
  if (node === undefined) throw new Error(`no node ${id}`);
  return node;
}

/** Stops every node and reads each one's replica of the partition from its store. */
async function storedReplicas(
  topicId: string,
  partition: number,
): Promise<Map<number, StoredReplica>> {
  await Promise.all(nodes.map((n) => n.stop()));
  const out = new Map<number, StoredReplica>();
  for (const node of nodes) {
    const replica = await readStoredReplica(node.dataDir, topicId, partition);
    if (replica !== null) out.set(node.nodeId, replica);
  }
  return out;
}

function expectAckedOn(replica: StoredReplica, acked: readonly Acked[], who: string): void {
  const byOffset = new Map(replica.records.map((r) => [r.offset, r.value]));
  const missing = acked.filter((a) => byOffset.get(a.offset) !== a.value);
  expect(missing.slice(0, 5), `${who}: acknowledged values missing or moved`).toEqual([]);
}

/** Replicas agree on every offset both hold below the smaller log end. */
function expectConsistent(replicas: Map<number, StoredReplica>): void {
  const all = [...replicas.entries()];
  for (const [idA, a] of all) {
    for (const [idB, b] of all) {
      if (idA >= idB) continue;
      const end = Math.min(a.logEndOffset, b.logEndOffset);
      const valuesB = new Map(b.records.map((r) => [r.offset, r.value]));
      const disagree = a.records.filter(
        (r) => r.offset < end && valuesB.has(r.offset) && valuesB.get(r.offset) !== r.value,
      );
      expect(disagree.slice(0, 5), `replicas ${idA} and ${idB} disagree`).toEqual([]);
    }
  }
}

describe('a 3-node cluster, replication factor 3', () => {
  it(
    'SIGKILL of the partition leader under acks=all load loses no acknowledged record',
    { timeout: 120_000 },
    async () => {
      nodes = await startCluster(3, { extraArgs: FAST_CLUSTER_ARGS });
      await createTopic(nodes[1]!, 'orders', 1, 3, { 'min.insync.replicas': '2' });
      const before = await waitFor('a leader with a full ISR', async () => {
        const s = await partitionState(nodes, 'orders', 0);
        return s.leaderId >= 0 && s.isr.length === 3 ? s : undefined;
      });
      const load = new ProduceLoad(nodes, 'orders', 0, 'v');
      await load.waitForAcked(200);
      await nodeById(before.leaderId).kill('SIGKILL');
      const ackedAtKill = load.acked.length;
      // A new leader serves: acknowledgements resume.
      await load.waitForAcked(ackedAtKill + 200);
      const after = await partitionState(nodes, 'orders', 0);
      expect(after.leaderId).not.toBe(before.leaderId);
      expect(after.leaderEpoch).toBeGreaterThan(before.leaderEpoch);
      expect(after.isr).not.toContain(before.leaderId);
      await load.stop();

      const consumed = await readCommitted(nodes, 'orders', 0);
      const lost = load.acked.filter((a) => consumed.get(a.offset) !== a.value);
      expect(lost.slice(0, 5)).toEqual([]);

      // The killed node comes back, truncates what it must, catches up and rejoins the ISR.
      await nodeById(before.leaderId).restart();
      await waitFor('the old leader back in the ISR', async () => {
        const s = await partitionState(nodes, 'orders', 0);
        return s.isr.length === 3 ? s : undefined;
      });
      const replicas = await storedReplicas(before.topicId, 0);
      expect(replicas.size).toBe(3);
      for (const [id, replica] of replicas) expectAckedOn(replica, load.acked, `node ${id}`);
      expectConsistent(replicas);
    },
  );

  it(
    'with min.insync.replicas=1, two of three nodes killed: every acknowledged record is still readable, and they rejoin the ISR',
    { timeout: 120_000 },
    async () => {
      nodes = await startCluster(3, { extraArgs: FAST_CLUSTER_ARGS });
      await createTopic(nodes[0]!, 'events', 1, 3, { 'min.insync.replicas': '1' });
      const state = await waitFor('a leader with a full ISR', async () => {
        const s = await partitionState(nodes, 'events', 0);
        return s.leaderId >= 0 && s.isr.length === 3 ? s : undefined;
      });
      const load = new ProduceLoad(nodes, 'events', 0, 'e');
      await load.waitForAcked(300);
      await load.stop();
      // Kill both followers: a majority of the metadata quorum goes with them, so nothing can
      // change leadership; the leader keeps serving what it committed.
      const followers = nodes.filter((n) => n.nodeId !== state.leaderId);
      await Promise.all(followers.map((n) => n.kill('SIGKILL')));
      const consumed = await readCommitted(nodes, 'events', 0);
      const lost = load.acked.filter((a) => consumed.get(a.offset) !== a.value);
      expect(lost.slice(0, 5)).toEqual([]);

      for (const follower of followers) await follower.restart();
      await waitFor('both followers back in the ISR', async () => {
        const s = await partitionState(nodes, 'events', 0);
        return s.isr.length === 3 ? s : undefined;
      });
      const more = new ProduceLoad(nodes, 'events', 0, 'f');
      await more.waitForAcked(50);
      await more.stop();
      const replicas = await storedReplicas(state.topicId, 0);
      for (const [id, replica] of replicas) {
        expectAckedOn(replica, [...load.acked, ...more.acked], `node ${id}`);
      }
      expectConsistent(replicas);
    },
  );

  it(
    'a restarted old leader truncates the records it appended but never replicated (KIP-101)',
    { timeout: 120_000 },
    async () => {
      nodes = await startCluster(3, { extraArgs: FAST_CLUSTER_ARGS });
      await createTopic(nodes[2]!, 'log', 1, 3, { 'min.insync.replicas': '1' });
      const state = await waitFor('a leader with a full ISR', async () => {
        const s = await partitionState(nodes, 'log', 0);
        return s.leaderId >= 0 && s.isr.length === 3 ? s : undefined;
      });
      const committed = new ProduceLoad(nodes, 'log', 0, 'committed');
      await committed.waitForAcked(100);
      await committed.stop();

      // Followers frozen: the leader appends acks=leader records nobody else receives.
      const leader = nodeById(state.leaderId);
      const followers = nodes.filter((n) => n !== leader);
      for (const f of followers) process.kill(f.pid, 'SIGSTOP');
      const orphans = new ProduceLoad([leader], 'log', 0, 'orphan', 'leader');
      try {
        await orphans.waitForAcked(20);
        // Stopped before the leader dies: no orphan may reach a later leader through a retry.
        await orphans.stop();
      } finally {
        await leader.kill('SIGKILL');
        for (const f of followers) process.kill(f.pid, 'SIGCONT');
      }
      await waitFor('a new leader', async () => {
        const s = await partitionState(followers, 'log', 0);
        return s.leaderId >= 0 && s.leaderId !== leader.nodeId ? s : undefined;
      });
      const later = new ProduceLoad(followers, 'log', 0, 'later');
      await later.waitForAcked(50);
      await later.stop();

      await leader.restart();
      await waitFor('the old leader back in the ISR', async () => {
        const s = await partitionState(nodes, 'log', 0);
        return s.isr.length === 3 ? s : undefined;
      });
      const replicas = await storedReplicas(state.topicId, 0);
      // An orphan a follower fetched just before it froze may have survived on the new leader
      // (acks=leader promises no more); the old leader's other orphans must be gone: every
      // replica, the old leader's included, holds exactly the same log.
      const old = replicas.get(leader.nodeId);
      expect(old).toBeDefined();
      for (const [id, replica] of replicas) {
        expectAckedOn(replica, [...committed.acked, ...later.acked], `node ${id}`);
        expect(replica.records, `node ${id} against the old leader`).toEqual(old!.records);
      }
      expect(old!.records.filter((r) => r.value.startsWith('orphan-')).length).toBeLessThan(
        orphans.acked.length,
      );
    },
  );

  it(
    'a node wiped clean (empty data dir, same id) refills from the others',
    { timeout: 120_000 },
    async () => {
      nodes = await startCluster(3, { extraArgs: FAST_CLUSTER_ARGS });
      await createTopic(nodes[0]!, 'refill', 1, 3, { 'min.insync.replicas': '2' });
      const state = await waitFor('a full ISR', async () => {
        const s = await partitionState(nodes, 'refill', 0);
        return s.leaderId >= 0 && s.isr.length === 3 ? s : undefined;
      });
      const load = new ProduceLoad(nodes, 'refill', 0, 'r');
      await load.waitForAcked(300);
      await load.stop();
      const victim = nodes.find((n) => n.nodeId !== state.leaderId)!;
      await victim.stop();
      await rm(victim.dataDir, { recursive: true, force: true });
      await victim.restart();
      await waitFor('the wiped node back in the ISR', async () => {
        const s = await partitionState(nodes, 'refill', 0);
        return s.isr.length === 3 ? s : undefined;
      });
      const replicas = await storedReplicas(state.topicId, 0);
      const refilled = replicas.get(victim.nodeId);
      expect(refilled).toBeDefined();
      expectAckedOn(refilled!, load.acked, 'the wiped node');
      expectConsistent(replicas);
    },
  );
});
