/**
 * Log compaction in a 3-node cluster of real `brook server` processes (cleanup.policy=compact,
 * replication factor 3, a cleaner that looks every 200 ms). Many updates to a few keys are
 * produced with acks=all; once the cleaner has run, an SDK consumer from offset 0 must read
 * exactly the latest value of each key at the offset it was acknowledged at, and every replica,
 * read straight from its stopped node's LevelDB, must hold those records and agree with the
 * others at every offset both hold records. A replica wiped clean refills from the compacted
 * leader. Keyless records and bad compaction configs are refused and change nothing.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Consumer, Producer } from '../../../src/client/index.js';
import { RecordBatch, decodeRecords, encodeBatch } from '../../../src/codec/index.js';
import { LogManager } from '../../../src/log/index.js';
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
import { openNodeStores } from '../../helpers/replica-log.js';

const TOPIC = 'compacted';
const KEYS = 12;
const UPDATES = 40;

let nodes: BrokerProcess[] = [];
let topicId = '';
/** key -> the latest acknowledged value and its offset. */
const latest = new Map<string, { value: string; offset: number }>();

beforeAll(async () => {
  nodes = await startCluster(3, {
    extraArgs: [...FAST_CLUSTER_ARGS, '--log-cleaner-backoff-ms', '200'],
  });
  await createTopic(nodes[0]!, TOPIC, 1, 3, {
    'cleanup.policy': 'compact',
    'min.insync.replicas': '2',
    'min.cleanable.dirty.ratio': '0.1',
  });
  const state = await waitFor('a leader with a full ISR', async () => {
    const s = await partitionState(nodes, TOPIC, 0);
    return s.leaderId >= 0 && s.isr.length === 3 ? s : undefined;
  });
  topicId = state.topicId;
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.cleanup()));
});

async function highWatermark(): Promise<number> {
  const admin = new Admin({ bootstrap: bootstrapOf(nodes), retries: 5 });
  try {
    const [end] = await admin.listOffsets([{ topic: TOPIC, partition: 0, spec: 'latest' }]);
    return end!.offset;
  } finally {
    await admin.close();
  }
}

/** Every record an SDK consumer reads from offset 0 up to the high watermark. */
async function consumeAll(): Promise<Array<{ offset: number; key: string; value: string }>> {
  const end = await highWatermark();
  const consumer = new Consumer({ bootstrap: bootstrapOf(nodes), autoOffsetReset: 'earliest' });
  const tp = { topic: TOPIC, partition: 0 };
  try {
    consumer.assign([tp]);
    await consumer.seek(tp, 0);
    const out: Array<{ offset: number; key: string; value: string }> = [];
    const deadline = Date.now() + 20_000;
    // The position moves past empty batches too, so it reaches the end even when the last
    // offsets hold no record.
    while ((await consumer.position(tp)) < end && Date.now() < deadline) {
      for (const record of await consumer.poll(500)) {
        out.push({
          offset: record.offset,
          key: record.key?.toString() ?? '',
          value: record.value?.toString() ?? '',
        });
      }
    }
    expect(await consumer.position(tp)).toBe(end);
    return out;
  } finally {
    await consumer.close();
  }
}

function expectedLatest(): Array<{ offset: number; key: string; value: string }> {
  return [...latest.entries()]
    .map(([key, { value, offset }]) => ({ offset, key, value }))
    .sort((a, b) => a.offset - b.offset);
}

interface StoredRecord {
  readonly offset: number;
  readonly key: string;
  readonly value: string;
}

/** The records of the partition in a stopped node's store, checked gap-free. */
async function storedRecords(dataDir: string): Promise<StoredRecord[]> {
  const node = await openNodeStores(dataDir);
  const logs = await LogManager.open(node.stores, {
    fsync: 'never',
    fsyncIntervalMs: 1_000,
    onFatal: (error) => {
      throw error;
    },
  });
  try {
    const log = logs.partition(topicId, 0)!;
    expect(log).toBeDefined();
    const records: StoredRecord[] = [];
    let offset = log.logStartOffset;
    while (offset < log.logEndOffset) {
      const read = await log.read(offset, 1 << 20);
      for (const batch of read.batches) {
        const header = RecordBatch.of(batch);
        expect(header.baseOffset <= offset && offset < header.nextOffset).toBe(true);
        for (const record of await decodeRecords(batch)) {
          records.push({
            offset: record.offset,
            key: record.key!.toString(),
            value: record.value!.toString(),
          });
        }
        offset = header.nextOffset;
      }
    }
    return records;
  } finally {
    await logs.close();
    await node.close();
  }
}

/** Each replica holds every key's latest record; replicas agree wherever both hold a record. */
async function expectReplicasAgree(): Promise<Map<number, StoredRecord[]>> {
  await Promise.all(nodes.map((n) => n.stop()));
  const replicas = new Map<number, StoredRecord[]>();
  for (const node of nodes) replicas.set(node.nodeId, await storedRecords(node.dataDir));
  for (const [nodeId, records] of replicas) {
    const byOffset = new Map(records.map((r) => [r.offset, r]));
    for (const wanted of expectedLatest()) {
      expect(byOffset.get(wanted.offset), `node ${nodeId} at ${wanted.offset}`).toEqual(wanted);
    }
    for (const [otherId, others] of replicas) {
      if (otherId <= nodeId) continue;
      for (const other of others) {
        const mine = byOffset.get(other.offset);
        if (mine !== undefined) expect(mine, `nodes ${nodeId}, ${otherId}`).toEqual(other);
      }
    }
  }
  await Promise.all(nodes.map((n) => n.restart()));
  return replicas;
}

describe('a compacted topic, replication factor 3', () => {
  it(
    'a consumer from offset 0 reads exactly the latest value per key at its offset, and replicas agree',
    { timeout: 120_000 },
    async () => {
      const producer = new Producer({ bootstrap: bootstrapOf(nodes), acks: 'all', lingerMs: 5 });
      try {
        for (let round = 0; round < UPDATES; round++) {
          const sends = [];
          for (let k = 0; k < KEYS; k++) {
            const key = `key-${k}`;
            const value = `${key}=${round}`;
            sends.push(
              producer
                .send({ topic: TOPIC, partition: 0, key, value })
                .then((m) => latest.set(key, { value, offset: m.offset })),
            );
          }
          await Promise.all(sends);
        }
      } finally {
        await producer.close();
      }
      const end = await highWatermark();
      expect(end).toBe(KEYS * UPDATES);
      const wanted = expectedLatest();
      expect(wanted.every((w) => w.value.endsWith(`=${UPDATES - 1}`))).toBe(true);
      const consumed = await waitFor(
        'the cleaner to leave one record per key',
        async () => {
          const records = await consumeAll();
          return records.length === KEYS ? records : undefined;
        },
        60_000,
      );
      expect(consumed).toEqual(wanted);
      // Followers clean their own logs too; once they have, every replica holds just these.
      await waitFor(
        'every replica cleaned',
        async () => {
          const replicas = await expectReplicasAgree();
          return [...replicas.values()].every((r) => r.length === KEYS) ? true : undefined;
        },
        60_000,
      );
    },
  );

  it(
    'a replica wiped clean (empty data dir, same node id) refills from the compacted leader',
    { timeout: 120_000 },
    async () => {
      const state = await waitFor('a leader with a full ISR', async () => {
        const s = await partitionState(nodes, TOPIC, 0);
        return s.leaderId >= 0 && s.isr.length === 3 ? s : undefined;
      });
      const victim = nodes.find((n) => n.nodeId !== state.leaderId)!;
      await victim.stop();
      await rm(victim.dataDir, { recursive: true, force: true });
      await victim.restart();
      await waitFor('the wiped node back in the ISR', async () => {
        const s = await partitionState(nodes, TOPIC, 0);
        return s.isr.length === 3 ? s : undefined;
      });
      const replicas = await expectReplicasAgree();
      expect(replicas.get(victim.nodeId)!.length).toBeGreaterThanOrEqual(KEYS);
      expect(await consumeAll()).toEqual(expectedLatest());
    },
  );

  it('a Fetch in the RECORDS format gives the kept records at their offsets', async () => {
    const clients = rawClients(nodes[1]!.address);
    try {
      const fetched = await call<FetchResponse__Output>(clients.broker, 'Fetch', {
        partitions: [{ topic: TOPIC, partition: 0, offset: 0, maxBytes: 1 << 20 }],
        format: 'RECORDS',
      });
      const partition = fetched.partitions[0]!;
      expect(partition.errorCode).toBe('NONE');
      const records = partition.records.map((r) => ({
        offset: r.offset,
        key: r.key?.toString() ?? '',
        value: r.value?.toString() ?? '',
      }));
      expect(records).toEqual(expectedLatest());
      // From an offset whose record was removed: the records after it.
      const from = expectedLatest()[0]!.offset + 1;
      const later = await call<FetchResponse__Output>(clients.broker, 'Fetch', {
        partitions: [{ topic: TOPIC, partition: 0, offset: from, maxBytes: 1 << 20 }],
        format: 'RECORDS',
      });
      expect(later.partitions[0]!.records.map((r) => r.offset)).toEqual(
        expectedLatest()
          .slice(1)
          .map((r) => r.offset),
      );
    } finally {
      clients.close();
    }
  });

  it('a RECORDS-format client following next_offset reads to the high watermark over empty batches, through any node', async () => {
    const end = await highWatermark();
    // The leader answers itself; the other nodes forward to it.
    for (const node of nodes) {
      const clients = rawClients(node.address);
      const fetchOne = async (offset: number) => {
        const fetched = await call<FetchResponse__Output>(clients.broker, 'Fetch', {
          partitions: [{ topic: TOPIC, partition: 0, offset, maxBytes: 1 }],
          format: 'RECORDS',
        });
        const partition = fetched.partitions[0]!;
        expect(partition.errorCode, `node ${node.nodeId} at ${offset}`).toBe('NONE');
        return partition;
      };
      try {
        // max_bytes 1: one batch per answer, so runs of empty batches come as answers with no
        // record that must still move on.
        const records: Array<{ offset: number; key: string; value: string }> = [];
        let answersWithoutRecords = 0;
        let offset = 0;
        for (let round = 0; offset < end; round++) {
          expect(round).toBeLessThan(end);
          const partition = await fetchOne(offset);
          expect(partition.nextOffset, `node ${node.nodeId} at ${offset}`).toBeGreaterThan(offset);
          if (partition.records.length === 0) answersWithoutRecords++;
          for (const r of partition.records) {
            expect(r.offset).toBeLessThan(partition.nextOffset);
            records.push({
              offset: r.offset,
              key: r.key?.toString() ?? '',
              value: r.value?.toString() ?? '',
            });
          }
          offset = partition.nextOffset;
        }
        expect(offset).toBe(end);
        expect(records).toEqual(expectedLatest());
        expect(answersWithoutRecords).toBeGreaterThan(0);
        // From inside the first run of removed records: no record, but an offset past the run.
        const inside = await fetchOne(1);
        expect(inside.records).toEqual([]);
        expect(inside.nextOffset).toBeGreaterThan(1);
        expect(inside.nextOffset).toBeLessThanOrEqual(expectedLatest()[0]!.offset);
        // At the high watermark: nothing, and the same offset again.
        const atEnd = await fetchOne(end);
        expect([atEnd.records.length, atEnd.nextOffset]).toEqual([0, end]);
      } finally {
        clients.close();
      }
    }
  });

  it('refuses a keyless record with INVALID_RECORD and appends nothing, in both produce modes', async () => {
    const before = await highWatermark();
    // Any node: one that does not lead forwards to the leader.
    const clients = rawClients(nodes[0]!.address);
    try {
      const records = await call<ProduceResponse__Output>(clients.broker, 'Produce', {
        topic: TOPIC,
        partition: 0,
        records: [
          { key: Buffer.from('key-0'), value: Buffer.from('x') },
          { value: Buffer.from('y') },
        ],
        acks: 'ACKS_ALL',
      });
      expect(records.results.map((r) => r.errorCode)).toEqual(['INVALID_RECORD', 'INVALID_RECORD']);
      expect(records.results[0]!.errorMessage).toContain('compacted');
      expect(records.results[0]!.errorMessage).toContain('records[1]');
      const batch = await encodeBatch([
        { key: null, value: Buffer.from('z'), timestampMs: Date.now(), headers: [] },
      ]);
      const batches = await call<ProduceResponse__Output>(clients.broker, 'Produce', {
        topic: TOPIC,
        batches: [{ partition: 0, recordBatch: batch }],
        acks: 'ACKS_ALL',
      });
      expect(batches.results[0]).toMatchObject({ errorCode: 'INVALID_RECORD' });
      expect(batches.results[0]!.errorMessage).toContain('batches[0] record 0');
    } finally {
      clients.close();
    }
    const producer = new Producer({ bootstrap: bootstrapOf(nodes), acks: 'all', retries: 0 });
    try {
      await expect(
        producer.send({ topic: TOPIC, partition: 0, value: 'no key' }),
      ).rejects.toMatchObject({
        code: 'INVALID_RECORD',
      });
    } finally {
      await producer.close();
    }
    expect(await highWatermark()).toBe(before);
  });

  it('refuses bad compaction configs with INVALID_CONFIG and changes nothing', async () => {
    const admin = new Admin({ bootstrap: bootstrapOf(nodes), retries: 5 });
    try {
      const bad = [
        ['cleanup.policy', 'foo'],
        ['min.cleanable.dirty.ratio', '2'],
        ['delete.retention.ms', '-5'],
      ] as const;
      for (const [name, value] of bad) {
        const [created] = await admin.createTopics([
          { name: `bad-${name}`, partitions: 1, replicationFactor: 1, configs: { [name]: value } },
        ]);
        expect(created?.error?.code, `${name}=${value}`).toBe('INVALID_CONFIG');
        const [altered] = await admin.alterConfigs([
          { type: 'topic', name: TOPIC, ops: [{ name, value, op: 'set' }] },
        ]);
        expect(altered?.error?.code, `${name}=${value}`).toBe('INVALID_CONFIG');
      }
      const metadata = await admin.metadata();
      expect(metadata.topics.filter((t) => t.name.startsWith('bad-'))).toEqual([]);
      const [described] = await admin.describeConfigs([{ type: 'topic', name: TOPIC }]);
      const valueOf = (name: string) => described!.entries.find((e) => e.name === name)?.value;
      expect(valueOf('cleanup.policy')).toBe('compact');
      expect(valueOf('min.cleanable.dirty.ratio')).toBe('0.1');
      expect(valueOf('delete.retention.ms')).toBe('86400000');
    } finally {
      await admin.close();
    }
  });
});
