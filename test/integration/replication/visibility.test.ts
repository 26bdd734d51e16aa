/**
 * Consumers only ever see committed records (issue 4 item 3): with both followers frozen
 * (SIGSTOP), the leader still appends acks=leader writes, but a fetch from it returns nothing
 * past the high watermark, because the ISR has not got them. Once the followers run again and
 * catch up, the same fetch returns them. Sessions and lag bounds are long here (10 s) so the
 * frozen followers stay in the ISR for the whole check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FetchResponse__Output, ProduceResponse__Output } from '../../../src/proto/index.js';
import { startCluster, type BrokerProcess } from '../../helpers/broker-process.js';
import { createTopic, partitionState, waitFor } from '../../helpers/cluster.js';
import { call, rawClients, type RawClients } from '../../helpers/grpc.js';

let nodes: BrokerProcess[] = [];
let leaderClients: RawClients;
let followers: BrokerProcess[] = [];

beforeAll(async () => {
  nodes = await startCluster(3, {
    extraArgs: [
      '--broker-session-timeout-ms',
      '10000',
      '--replica-lag-time-max-ms',
      '10000',
      '--leader-imbalance-check-interval-ms',
      '0',
    ],
  });
  await createTopic(nodes[0]!, 'visible', 1, 3, { 'min.insync.replicas': '1' });
  const state = await waitFor('a full ISR', async () => {
    const s = await partitionState(nodes, 'visible', 0);
    return s.leaderId >= 0 && s.isr.length === 3 ? s : undefined;
  });
  const leader = nodes.find((n) => n.nodeId === state.leaderId)!;
  followers = nodes.filter((n) => n !== leader);
  leaderClients = rawClients(leader.address);
}, 60_000);

afterAll(async () => {
  for (const f of followers) if (f.isRunning()) process.kill(f.pid, 'SIGCONT');
  leaderClients?.close();
  await Promise.all(nodes.map((n) => n.cleanup()));
});

async function fetchValues(): Promise<{ values: string[]; highWatermark: number }> {
  const answer = await call<FetchResponse__Output>(leaderClients.broker, 'Fetch', {
    partitions: [{ topic: 'visible', partition: 0, offset: 0 }],
  });
  const partition = answer.partitions[0]!;
  expect(partition.errorCode).toBe('NONE');
  return {
    values: partition.records.map((r) => r.value?.toString() ?? ''),
    highWatermark: partition.highWatermark,
  };
}

describe('a fetch from the leader', () => {
  it(
    'returns only what the ISR has, then the rest once the followers catch up',
    { timeout: 60_000 },
    async () => {
      const committed = await call<ProduceResponse__Output>(leaderClients.broker, 'Produce', {
        topic: 'visible',
        partition: 0,
        records: [{ value: Buffer.from('committed') }],
        acks: 'ACKS_ALL',
      });
      expect(committed.results[0]?.errorCode).toBe('NONE');
      for (const f of followers) process.kill(f.pid, 'SIGSTOP');
      const appended = await call<ProduceResponse__Output>(leaderClients.broker, 'Produce', {
        topic: 'visible',
        partition: 0,
        records: [{ value: Buffer.from('a') }, { value: Buffer.from('b') }],
        acks: 'ACKS_LEADER',
      });
      expect(appended.results.map((r) => r.offset)).toEqual([1, 2]);
      expect(await fetchValues()).toEqual({ values: ['committed'], highWatermark: 1 });

      for (const f of followers) process.kill(f.pid, 'SIGCONT');
      const caughtUp = await waitFor('the followers to catch up', async () => {
        const read = await fetchValues();
        return read.highWatermark === 3 ? read : undefined;
      });
      expect(caughtUp.values).toEqual(['committed', 'a', 'b']);
    },
  );
});
