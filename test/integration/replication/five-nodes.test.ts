/**
 * Five real nodes: three Raft voters and two observer brokers (not in raft.voters) that join
 * the metadata log through the controller. Topics spread over all five; killing the leader of a
 * partition led by an observer or a voter moves leadership within the ISR and loses no
 * acknowledged record (issue 4 item 7, the 5-node case).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Admin } from '../../../src/client/index.js';
import { startCluster, type BrokerProcess } from '../../helpers/broker-process.js';
import {
  FAST_CLUSTER_ARGS,
  ProduceLoad,
  bootstrapOf,
  createTopic,
  partitionState,
  readCommitted,
  waitFor,
} from '../../helpers/cluster.js';

let nodes: BrokerProcess[] = [];

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.cleanup()));
  nodes = [];
});

describe('a 5-node cluster: 3 voters and 2 observers', () => {
  it(
    'observers register and host replicas; killing a partition leader loses nothing',
    { timeout: 120_000 },
    async () => {
      nodes = await startCluster(5, { voters: 3, extraArgs: FAST_CLUSTER_ARGS });
      const admin = new Admin({ bootstrap: bootstrapOf(nodes) });
      try {
        const cluster = await admin.describeCluster();
        expect(cluster.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3, 4, 5]);
        expect(cluster.brokers.every((b) => !b.fenced)).toBe(true);
        const observers = cluster.quorum?.members.filter((m) => m.kind === 'observer') ?? [];
        expect(observers.map((m) => m.nodeId).sort()).toEqual([4, 5]);
      } finally {
        await admin.close();
      }

      // Five partitions over five brokers: every broker leads one.
      await createTopic(nodes[4]!, 'wide', 5, 3, { 'min.insync.replicas': '2' });
      const states = await waitFor('every partition led with a full ISR', async () => {
        const all = await Promise.all([0, 1, 2, 3, 4].map((p) => partitionState(nodes, 'wide', p)));
        return all.every((s) => s.leaderId >= 0 && s.isr.length === 3) ? all : undefined;
      });
      expect(new Set(states.map((s) => s.leaderId)).size).toBe(5);

      // The partition an observer leads.
      const partition = states.findIndex((s) => s.leaderId === 5);
      const load = new ProduceLoad(nodes, 'wide', partition, 'w');
      await load.waitForAcked(150);
      await nodes[4]!.kill('SIGKILL');
      const atKill = load.acked.length;
      await load.waitForAcked(atKill + 150);
      await load.stop();
      const after = await partitionState(nodes, 'wide', partition);
      expect(after.leaderId).not.toBe(5);
      const consumed = await readCommitted(nodes, 'wide', partition);
      const lost = load.acked.filter((a) => consumed.get(a.offset) !== a.value);
      expect(lost.slice(0, 5)).toEqual([]);
    },
  );
});
