/**
 * The SDK against a real broker process on loopback (test/helpers/broker-process.ts): records
 * go through Producer -> ProduceStream -> LevelDB -> Fetch -> Consumer and must come back
 * byte-identical, in order per partition, with keys, null keys and values, headers and every
 * codec. Admin calls are checked for their per-item errors. Each test uses its own topic, so
 * tests share one broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../../src/codec/index.js';
import {
  Admin,
  BrokerError,
  Consumer,
  Producer,
  type ConsumerRecord,
  type ProducerOptions,
  type TopicPartition,
} from '../../../src/client/index.js';
import { startBroker, type BrokerProcess } from '../../helpers/broker-process.js';

let broker: BrokerProcess;
let admin: Admin;
let topicCounter = 0;

beforeAll(async () => {
  broker = await startBroker();
  admin = new Admin({ bootstrap: broker.address });
});

afterAll(async () => {
  await admin?.close();
  await broker?.cleanup();
});

/** Creates a fresh topic and returns its name. */
async function newTopic(partitions: number, configs: Record<string, string> = {}): Promise<string> {
  const name = `t${++topicCounter}-${Date.now()}`;
  const [result] = await admin.createTopics([{ name, partitions, configs }]);
  expect(result?.error).toBeUndefined();
  return name;
}

function producer(options: Partial<ProducerOptions> = {}): Producer {
  return new Producer({ bootstrap: broker.address, ...options });
}

/** Reads `count` records from the given partitions (from their current positions). */
async function consume(
  partitions: readonly TopicPartition[],
  count: number,
  seekTo: 'earliest' | 'latest' | number = 'earliest',
): Promise<ConsumerRecord[]> {
  const consumer = new Consumer({ bootstrap: broker.address, fetchMaxWaitMs: 100 });
  try {
    consumer.assign(partitions);
    for (const tp of partitions) await consumer.seek(tp, seekTo);
    const records: ConsumerRecord[] = [];
    const deadlineMs = Date.now() + 20_000;
    while (records.length < count && Date.now() < deadlineMs) {
      records.push(...(await consumer.poll(500)));
    }
    return records;
  } finally {
    await consumer.close();
  }
}

describe('producer to consumer', () => {
  it('round-trips keys, null keys, null values, empty values and headers', async () => {
    const topic = await newTopic(1);
    const p = producer();
    const sent = await Promise.all([
      p.send({ topic, key: 'k1', value: 'v1', headers: [{ key: 'h', value: 'x' }] }),
      p.send({ topic, value: Buffer.from([0, 1, 2, 255]) }),
      p.send({ topic, key: Buffer.alloc(0), value: null, timestampMs: 1_700_000_000_000 }),
      p.send({ topic, key: 'k4', value: '', headers: { a: 'b', c: Buffer.from([9]) } }),
    ]);
    await p.close();
    expect(sent.map((m) => m.offset)).toEqual([0, 1, 2, 3]);
    expect(sent.every((m) => m.partition === 0 && m.topic === topic)).toBe(true);

    const records = await consume([{ topic, partition: 0 }], 4);
    expect(records.map((r) => r.offset)).toEqual([0, 1, 2, 3]);
    expect(records[0]?.key?.toString()).toBe('k1');
    expect(records[0]?.value?.toString()).toBe('v1');
    expect(records[0]?.headers.map((h) => [h.key, h.value.toString()])).toEqual([['h', 'x']]);
    expect(records[1]?.key).toBeNull();
    expect(records[1]?.value).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(records[2]?.key).toEqual(Buffer.alloc(0));
    expect(records[2]?.value).toBeNull();
    expect(records[2]?.timestampMs).toBe(1_700_000_000_000);
    expect(records[3]?.value).toEqual(Buffer.alloc(0));
    expect(records[3]?.headers.map((h) => h.key)).toEqual(['a', 'c']);
    expect(records.every((r) => r.leaderEpoch >= 0)).toBe(true);
  });

  it.each(['gzip', 'snappy', 'none'] as const)('round-trips %s batches', async (compression) => {
    const topic = await newTopic(2);
    const p = producer({ compression, lingerMs: 20 });
    const values = Array.from({ length: 500 }, (_, i) => `value-${i}-${'x'.repeat(i % 50)}`);
    await Promise.all(values.map((value, i) => p.send({ topic, key: `key-${i % 7}`, value })));
    await p.close();
    const records = await consume(
      [
        { topic, partition: 0 },
        { topic, partition: 1 },
      ],
      values.length,
    );
    expect(records.map((r) => r.value?.toString()).sort()).toEqual([...values].sort());
  });

  it('keeps per-partition order and routes keys by murmur2 over many partitions', async () => {
    const partitionCount = 8;
    const topic = await newTopic(partitionCount);
    const p = producer({ lingerMs: 2, batchBytesMax: 2048 });
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 2000; i++) {
      const key = `user-${i % 37}`;
      sends.push(p.send({ topic, key, value: String(i) }));
    }
    const results = (await Promise.all(sends)) as { partition: number; offset: number }[];
    await p.close();
    for (let i = 0; i < results.length; i++) {
      expect(results[i]?.partition).toBe(
        partitionForKey(Buffer.from(`user-${i % 37}`), partitionCount),
      );
    }
    const partitions = Array.from({ length: partitionCount }, (_, partition) => ({
      topic,
      partition,
    }));
    const records = await consume(partitions, 2000);
    expect(records).toHaveLength(2000);
    // Within a partition, offsets and send order agree: values increase with offsets.
    for (let partition = 0; partition < partitionCount; partition++) {
      const mine = records.filter((r) => r.partition === partition);
      const offsets = mine.map((r) => r.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
      const values = mine.map((r) => Number(r.value?.toString()));
      expect(values).toEqual([...values].sort((a, b) => a - b));
      for (const r of mine) expect(partitionForKey(r.key!, partitionCount)).toBe(partition);
    }
  });

  it('spreads keyless records with the sticky partitioner and keeps each batch together', async () => {
    const topic = await newTopic(4);
    const p = producer({ lingerMs: 1, batchBytesMax: 1024 });
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) => p.send({ topic, value: `v${i}`.padEnd(40, '.') })),
    );
    await p.close();
    const used = new Set(results.map((r) => r.partition));
    expect(used.size).toBeGreaterThan(1);
    // Offsets within each partition are dense from 0: nothing lost, nothing doubled.
    for (const partition of used) {
      const offsets = results.filter((r) => r.partition === partition).map((r) => r.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
  });

  it('honours an explicit partition and resolves acks none with offset -1', async () => {
    const topic = await newTopic(3);
    const p = producer({ acks: 'leader' });
    const first = await p.send({ topic, partition: 2, key: 'any', value: 'a' });
    expect(first).toEqual({ topic, partition: 2, offset: 0 });
    await p.close();
    const q = producer({ acks: 'none' });
    const second = await q.send({ topic, partition: 2, value: 'b' });
    expect(second.offset).toBe(-1);
    await q.close();
    const records = await consume([{ topic, partition: 2 }], 2);
    expect(records.map((r) => r.value?.toString())).toEqual(['a', 'b']);
  });

  it('rejects a send to a topic that does not exist with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const p = producer({ retries: 1, retryBackoffMsMin: 10, retryBackoffMsMax: 20 });
    const error = await p.send({ topic: 'no-such-topic', value: 'x' }).catch((e: unknown) => e);
    await p.close();
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('rejects exactly the records of a refused batch and delivers the others', async () => {
    const topic = await newTopic(2, { 'max.message.bytes': '2000' });
    const p = producer({ lingerMs: 0 });
    const small = p.send({ topic, partition: 0, value: 'fits' });
    const large = p.send({ topic, partition: 1, value: 'y'.repeat(10_000) });
    const [smallResult, largeResult] = await Promise.allSettled([small, large]);
    await p.close();
    expect(smallResult.status).toBe('fulfilled');
    expect(largeResult.status).toBe('rejected');
    const reason = (largeResult as PromiseRejectedResult).reason as BrokerError;
    expect(reason).toBeInstanceOf(BrokerError);
    expect(reason.code).toBe('RECORD_TOO_LARGE');
    expect(reason.retriable).toBe(false);
  });

  it('rejects an invalid record before sending, naming the field', async () => {
    const p = producer();
    await expect(p.send({ topic: '', value: 'x' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'topic',
    });
    await expect(p.send({ topic: 't', value: 'x', partition: -1 })).rejects.toMatchObject({
      field: 'partition',
    });
    await p.close();
    await expect(p.send({ topic: 't', value: 'x' })).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('pipelines requests of one partition and the broker appends them in send order', async () => {
    const topic = await newTopic(1);
    // Small batches sent in waves: each wave's request goes out while earlier ones are in
    // flight (up to maxInflightRequestsPerPartition, default 5).
    const p = producer({ lingerMs: 0, batchBytesMax: 4096 });
    const sends: Promise<{ offset: number }>[] = [];
    for (let wave = 0; wave < 20; wave++) {
      for (let i = 0; i < 100; i++) {
        sends.push(p.send({ topic, value: `${sends.length}`.padEnd(200, '.') }));
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const results = await Promise.all(sends);
    await p.close();
    expect(results.map((r) => r.offset)).toEqual(results.map((_, i) => i));
    const records = await consume([{ topic, partition: 0 }], 2000);
    expect(records.map((r) => Number(r.value?.toString().replace(/\.+$/, '')))).toEqual(
      records.map((_, i) => i),
    );
  });

  it('flush() waits for every accepted record and bounds memory with whenReady()', async () => {
    const topic = await newTopic(1);
    const p = producer({ lingerMs: 1000, bufferBytesMax: 64 * 1024, batchBytesMax: 16 * 1024 });
    let acked = 0;
    for (let i = 0; i < 3000; i++) {
      await p.whenReady();
      void p.send({ topic, value: 'z'.repeat(100) }).then(() => acked++);
    }
    await p.flush();
    expect(acked).toBe(3000);
    await p.close();
  });
});

describe('consumer positions', () => {
  it('seeks to earliest, latest, an offset and a timestamp', async () => {
    const topic = await newTopic(1);
    const tp = { topic, partition: 0 };
    const p = producer({ lingerMs: 0 });
    const base = 1_800_000_000_000;
    for (let i = 0; i < 10; i++)
      await p.send({ topic, value: `m${i}`, timestampMs: base + i * 1000 });
    await p.close();

    const consumer = new Consumer({ bootstrap: broker.address, fetchMaxWaitMs: 100 });
    try {
      consumer.assign([tp]);
      await consumer.seek(tp, 'earliest');
      expect(await consumer.position(tp)).toBe(0);
      await consumer.seek(tp, 'latest');
      expect(await consumer.position(tp)).toBe(10);
      expect(await consumer.poll(200)).toEqual([]);
      await consumer.seek(tp, { timestampMs: base + 4500 });
      expect(await consumer.position(tp)).toBe(5);
      const fromTime = await consumer.poll(2000);
      expect(fromTime[0]?.value?.toString()).toBe('m5');
      await consumer.seek(tp, { timestampMs: base + 60_000 });
      expect(await consumer.position(tp)).toBe(10);
      await consumer.seek(tp, 7);
      const iterated: number[] = [];
      for await (const record of consumer) {
        iterated.push(record.offset);
        if (record.offset === 9) break;
      }
      expect(iterated).toEqual([7, 8, 9]);
      expect(await consumer.position(tp)).toBe(10);
    } finally {
      await consumer.close();
    }
  });

  it('sees records produced while it waits, and ends its iterator on close()', async () => {
    const topic = await newTopic(1);
    const tp = { topic, partition: 0 };
    const consumer = new Consumer({ bootstrap: broker.address, fetchMaxWaitMs: 200 });
    consumer.assign([tp]);
    await consumer.seek(tp, 'latest');
    const seen: string[] = [];
    const reading = (async () => {
      for await (const record of consumer) {
        seen.push(record.value?.toString() ?? '');
        if (seen.length === 3) void consumer.close();
      }
    })();
    const p = producer({ lingerMs: 0 });
    for (const value of ['a', 'b', 'c']) await p.send({ topic, value });
    await p.close();
    await reading;
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('prefetches in order across many fetches, and a seek mid-stream restarts exactly there', async () => {
    const topic = await newTopic(1);
    const tp = { topic, partition: 0 };
    const p = producer({ lingerMs: 0, batchBytesMax: 2048 });
    await Promise.all(
      Array.from({ length: 3000 }, (_, i) => p.send({ topic, value: `m${i}`.padEnd(100, '.') })),
    );
    await p.close();
    // About 2 KiB per fetch: hundreds of fetches, each prefetched while the last is read.
    const consumer = new Consumer({
      bootstrap: broker.address,
      fetchMaxWaitMs: 100,
      partitionMaxBytes: 2048,
    });
    try {
      consumer.assign([tp]);
      await consumer.seek(tp, 'earliest');
      const offsets: number[] = [];
      for await (const record of consumer) {
        expect(record.value?.toString().startsWith(`m${record.offset}.`)).toBe(true);
        offsets.push(record.offset);
        if (offsets.length === 1500) break;
      }
      expect(offsets).toEqual(offsets.map((_, i) => i));
      // The next fetch is likely in flight or buffered now; the seek must discard it.
      await consumer.seek(tp, 100);
      const after: number[] = [];
      for await (const record of consumer) {
        after.push(record.offset);
        if (record.offset === 2999) break;
      }
      expect(after).toEqual(after.map((_, i) => 100 + i));
      expect(after).toHaveLength(2900);
    } finally {
      await consumer.close();
    }
  });

  it('applies autoOffsetReset: earliest by default, an error with none', async () => {
    const topic = await newTopic(1);
    const tp = { topic, partition: 0 };
    const p = producer({ lingerMs: 0 });
    await p.send({ topic, value: 'first' });
    await p.close();

    const reset = new Consumer({ bootstrap: broker.address, fetchMaxWaitMs: 50 });
    reset.assign([tp]);
    const records = await reset.poll(3000);
    expect(records[0]?.value?.toString()).toBe('first');
    // An offset beyond the high watermark is out of range and resets to the log start.
    await reset.seek(tp, 1000);
    const again = await reset.poll(3000);
    expect(again[0]?.offset).toBe(0);
    await reset.close();

    const strict = new Consumer({ bootstrap: broker.address, autoOffsetReset: 'none' });
    strict.assign([tp]);
    await expect(strict.poll(1000)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    await strict.seek(tp, 1000);
    await expect(strict.poll(3000)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    await strict.close();
  });
});

describe('admin', () => {
  it('creates topics with per-topic results, including errors', async () => {
    const name = `admin-${Date.now()}`;
    const results = await admin.createTopics([
      { name, partitions: 2, configs: { 'retention.ms': '60000' } },
      { name, partitions: 2 },
      { name: 'bad name!', partitions: 1 },
    ]);
    expect(results).toHaveLength(3);
    expect(results[0]?.error).toBeUndefined();
    expect(results[0]?.partitions).toBe(2);
    expect(results[0]?.topicId).not.toBe('');
    expect(results[1]?.error?.code).toBe('TOPIC_ALREADY_EXISTS');
    expect(results[2]?.error?.code).toBe('INVALID_TOPIC_EXCEPTION');
    // A count outside the valid range fails that topic only, as in Kafka.
    const [zero] = await admin.createTopics([{ name: `${name}-zero`, partitions: 0 }]);
    expect(zero?.error?.code).toBe('INVALID_PARTITIONS');

    const validated = await admin.createTopics([{ name: `${name}-v`, partitions: 1 }], {
      validateOnly: true,
    });
    expect(validated[0]?.error).toBeUndefined();
    const metadata = await admin.metadata([`${name}-v`]);
    expect(metadata.topics[0]?.error?.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('describes and alters configs, with errors per resource', async () => {
    const topic = await newTopic(1);
    const altered = await admin.alterConfigs([
      { type: 'topic', name: topic, ops: [{ name: 'retention.ms', value: '12345', op: 'set' }] },
      { type: 'topic', name: topic, ops: [{ name: 'no.such.config', value: '1', op: 'set' }] },
      {
        type: 'topic',
        name: 'missing-topic',
        ops: [{ name: 'retention.ms', value: '1', op: 'set' }],
      },
    ]);
    expect(altered[0]?.error).toBeUndefined();
    expect(altered[1]?.error?.code).toBe('INVALID_CONFIG');
    expect(altered[2]?.error?.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');

    const described = await admin.describeConfigs([
      { type: 'topic', name: topic },
      { type: 'topic', name: 'missing-topic' },
      { type: 'broker', name: '' },
    ]);
    const retention = described[0]?.entries.find((e) => e.name === 'retention.ms');
    expect(retention).toMatchObject({ value: '12345', source: 'topic' });
    expect(described[1]?.error?.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(described[2]?.error).toBeUndefined();
    expect(described[2]?.entries.length).toBeGreaterThan(0);

    await admin.alterConfigs([
      { type: 'topic', name: topic, ops: [{ name: 'retention.ms', op: 'delete' }] },
    ]);
    const reset = await admin.describeConfigs([{ type: 'topic', name: topic }]);
    expect(reset[0]?.entries.find((e) => e.name === 'retention.ms')?.source).not.toBe('topic');
  });

  it('sets and removes dynamic broker configs, for every broker and for one', async () => {
    const THROTTLE = 'leader.replication.throttled.rate';
    const throttleOf = async () =>
      (await admin.describeConfigs([{ type: 'broker', name: '' }]))[0]?.entries.find(
        (e) => e.name === THROTTLE,
      );
    expect(await throttleOf()).toMatchObject({ value: '', source: 'default', readOnly: false });

    const set = (name: string, value: string) =>
      admin.alterConfigs([{ type: 'broker', name, ops: [{ name: THROTTLE, value, op: 'set' }] }]);
    expect((await set('', '1048576'))[0]?.error).toBeUndefined();
    expect(await throttleOf()).toMatchObject({ value: '1048576', source: 'dynamic-default' });
    expect((await set(String(broker.nodeId), '2048'))[0]?.error).toBeUndefined();
    expect(await throttleOf()).toMatchObject({ value: '2048', source: 'dynamic-broker' });

    const refused = await admin.alterConfigs([
      { type: 'broker', name: '', ops: [{ name: 'log.retention.ms', value: '1', op: 'set' }] },
      { type: 'broker', name: '', ops: [{ name: THROTTLE, value: 'fast', op: 'set' }] },
      { type: 'broker', name: 'one', ops: [{ name: THROTTLE, value: '1', op: 'set' }] },
    ]);
    expect(refused.map((r) => r.error?.code)).toEqual([
      'INVALID_CONFIG',
      'INVALID_CONFIG',
      'INVALID_REQUEST',
    ]);
    expect(refused[0]?.error?.message).toContain('static broker config');
    expect(await throttleOf()).toMatchObject({ value: '2048', source: 'dynamic-broker' });

    for (const name of [String(broker.nodeId), '']) {
      await admin.alterConfigs([{ type: 'broker', name, ops: [{ name: THROTTLE, op: 'delete' }] }]);
    }
    expect(await throttleOf()).toMatchObject({ value: '', source: 'default' });
  });

  it('grows partitions, refuses to shrink, and deletes topics', async () => {
    const topic = await newTopic(2);
    const grown = await admin.createPartitions([
      { name: topic, count: 5 },
      { name: 'missing-topic', count: 3 },
    ]);
    expect(grown[0]?.error).toBeUndefined();
    expect(grown[1]?.error?.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    const shrink = await admin.createPartitions([{ name: topic, count: 1 }]);
    expect(shrink[0]?.error?.code).toBe('INVALID_PARTITIONS');
    const metadata = await admin.metadata([topic]);
    expect(metadata.topics[0]?.partitions).toHaveLength(5);

    // A producer that knew 2 partitions learns about the new ones.
    const p = producer();
    expect((await p.send({ topic, partition: 4, value: 'new' })).partition).toBe(4);
    await p.close();

    const deleted = await admin.deleteTopics([topic, 'missing-topic']);
    expect(deleted[0]?.error).toBeUndefined();
    expect(deleted[1]?.error?.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    const after = await admin.metadata([topic]);
    expect(after.topics[0]?.error?.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('lists offsets and deletes records before an offset', async () => {
    const topic = await newTopic(1);
    const p = producer({ lingerMs: 0 });
    for (let i = 0; i < 5; i++) await p.send({ topic, value: `r${i}` });
    await p.close();
    const tp = { topic, partition: 0 };
    const [earliest, latest, missing] = await admin.listOffsets([
      { ...tp, spec: 'earliest' },
      { ...tp, spec: 'latest' },
      { topic, partition: 9, spec: 'latest' },
    ]);
    expect(earliest).toMatchObject({ offset: 0 });
    expect(latest).toMatchObject({ offset: 5 });
    expect(missing?.error?.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');

    const deleted = await admin.deleteRecords([
      { ...tp, offset: 3 },
      { topic, partition: 0, offset: 99 },
    ]);
    expect(deleted[0]?.error).toBeUndefined();
    expect(deleted[0]?.lowWatermark).toBe(3);
    expect(deleted[1]?.error?.code).toBe('OFFSET_OUT_OF_RANGE');
    const [start] = await admin.listOffsets([{ ...tp, spec: 'earliest' }]);
    expect(start?.offset).toBe(3);
    const records = await consume([tp], 2);
    expect(records.map((r) => r.value?.toString())).toEqual(['r3', 'r4']);
  });

  it('describes the cluster and its metadata', async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.clusterId).not.toBe('');
    expect(cluster.controllerId).toBe(0);
    expect(cluster.brokers).toEqual([
      expect.objectContaining({ nodeId: 0, address: broker.address, fenced: false }),
    ]);
    const topic = await newTopic(3);
    const metadata = await admin.metadata([topic]);
    expect(metadata.brokers[0]?.address).toBe(broker.address);
    expect(metadata.topics[0]?.partitions.map((p) => p.leaderId)).toEqual([0, 0, 0]);
  });
});

describe('availability', () => {
  it('a producer rides out a broker restart with retries', async () => {
    const topic = await newTopic(1);
    const p = producer({ lingerMs: 0, retries: 30, retryBackoffMsMin: 50, retryBackoffMsMax: 500 });
    await p.send({ topic, value: 'before' });
    await broker.restart();
    const after = await p.send({ topic, value: 'after' });
    expect(after.offset).toBe(1);
    await p.close();
    const records = await consume([{ topic, partition: 0 }], 2);
    expect(records.map((r) => r.value?.toString())).toEqual(['before', 'after']);
  });

  it('fails fast and clearly when nothing listens at the bootstrap address', async () => {
    const lonely = new Admin({
      bootstrap: '127.0.0.1:1',
      retries: 1,
      retryBackoffMsMin: 10,
      retryBackoffMsMax: 10,
    });
    await expect(lonely.describeCluster()).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      retriable: true,
    });
    await lonely.close();
  });
});
