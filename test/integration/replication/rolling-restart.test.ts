/**
 * A rolling restart under a steady acks=all load (issue 4 item 6): each node of a 3-node
 * cluster in turn gets SIGTERM (controlled shutdown: its partition leaderships and its Raft
 * leadership move first), is started again on the same data dir, and the test waits until every
 * partition's ISR is full before the next. One producer per partition sends unique values one at
 * a time. Nothing acknowledged may be lost, and all replicas must end identical. The longest
 * pause between acknowledgements while each node restarts is printed (a figure for the issue
 * note; timing is a benchmark's business, so it is not asserted).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, type BrokerProcess } from '../../helpers/broker-process.js';
import {
  FAST_CLUSTER_ARGS,
  ProduceLoad,
  createTopic,
  longestStallMs,
  partitionState,
  readCommitted,
  waitFor,
} from '../../helpers/cluster.js';
import { readStoredReplica } from '../../helpers/replica-log.js';

const PARTITIONS = 3;
let nodes: BrokerProcess[] = [];

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.cleanup()));
  nodes = [];
});

async function fullIsr(): Promise<string> {
  return waitFor('every partition with a leader and a full ISR', async () => {
    const states = await Promise.all(
      Array.from({ length: PARTITIONS }, (_, p) => partitionState(nodes, 'rolling', p)),
    );
    return states.every((s) => s.leaderId >= 0 && s.isr.length === 3)
      ? states[0]!.topicId
      : undefined;
  });
}

describe('a rolling restart of a 3-node cluster', () => {
  it('under acks=all load loses nothing', { timeout: 180_000 }, async () => {
    nodes = await startCluster(3, { extraArgs: FAST_CLUSTER_ARGS });
    await createTopic(nodes[0]!, 'rolling', PARTITIONS, 3, { 'min.insync.replicas': '2' });
    const topicId = await fullIsr();
    const loads = Array.from(
      { length: PARTITIONS },
      (_, p) => new ProduceLoad(nodes, 'rolling', p, `p${p}`),
    );
    await Promise.all(loads.map((l) => l.waitForAcked(50)));
    const stalls: string[] = [];
    for (const node of nodes) {
      const fromMs = Date.now();
      await node.stop();
      await node.restart();
      await fullIsr();
      const toMs = Date.now();
      const worst = Math.max(...loads.map((l) => longestStallMs(l.acked, fromMs, toMs)));
      stalls.push(`node ${node.nodeId}: longest pause ${worst} ms over ${toMs - fromMs} ms`);
    }
    const counts = loads.map((l) => l.acked.length);
    await Promise.all(loads.map((l, i) => l.waitForAcked(counts[i]! + 20)));
    await Promise.all(loads.map((l) => l.stop()));
    console.info(`rolling restart under acks=all load:\n  ${stalls.join('\n  ')}`);

    for (let p = 0; p < PARTITIONS; p++) {
      const consumed = await readCommitted(nodes, 'rolling', p);
      const lost = loads[p]!.acked.filter((a) => consumed.get(a.offset) !== a.value);
      expect(lost.slice(0, 5), `partition ${p}`).toEqual([]);
    }
    await Promise.all(nodes.map((n) => n.stop()));
    for (let p = 0; p < PARTITIONS; p++) {
      const replicas = await Promise.all(
        nodes.map((n) => readStoredReplica(n.dataDir, topicId, p)),
      );
      const first = replicas[0]!;
      for (const replica of replicas) expect(replica?.records).toEqual(first.records);
    }
  });
});
