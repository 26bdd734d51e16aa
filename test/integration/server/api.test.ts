/**
 * Every call of brook.v1 against a real `brook server` process over loopback gRPC, with its
 * error paths: the wire contract of shared/api.md checked without the SDK in between. One
 * server serves the whole file; each test uses its own topics.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch, partitionForKey, RecordBatch, BATCH } from '../../../src/codec/index.js';
import type {
  AlterConfigsResponse__Output as AlterConfigsResponse,
  CreatePartitionsResponse__Output as CreatePartitionsResponse,
  CreateTopicsResponse__Output as CreateTopicsResponse,
  DeleteRecordsResponse__Output as DeleteRecordsResponse,
  DeleteTopicsResponse__Output as DeleteTopicsResponse,
  DescribeClusterResponse__Output as DescribeClusterResponse,
  DescribeConfigsResponse__Output as DescribeConfigsResponse,
  FetchResponse__Output as FetchResponse,
  ListOffsetsResponse__Output as ListOffsetsResponse,
  MetadataResponse__Output as MetadataResponse,
  ProduceResponse__Output as ProduceResponse,
  SubscribeResponse__Output as SubscribeResponse,
  ProduceStreamResponse__Output as ProduceStreamResponse,
} from '../../../src/proto/index.js';
import { startBroker, type BrokerProcess } from '../../helpers/broker-process.js';
import { call, callError, rawClients, type RawClients } from '../../helpers/grpc.js';

let server: BrokerProcess;
let c: RawClients;

beforeAll(async () => {
  server = await startBroker();
  c = rawClients(server.address);
});
afterAll(async () => {
  c?.close();
  await server?.cleanup();
});

const v = (text: string) => Buffer.from(text);
const createTopic = (name: string, partitions = 1, configs: Record<string, string> = {}) =>
  call<CreateTopicsResponse>(c.admin, 'CreateTopics', { topics: [{ name, partitions, configs }] });
const produce = (request: object) => call<ProduceResponse>(c.broker, 'Produce', request);
const fetchAll = (topic: string, partition: number, offset = 0, extra: object = {}) =>
  call<FetchResponse>(c.broker, 'Fetch', { partitions: [{ topic, partition, offset }], ...extra });

describe('topics and metadata', () => {
  it('creates topics, answers per topic, and lists them in Metadata', async () => {
    const created = await call<CreateTopicsResponse>(c.admin, 'CreateTopics', {
      topics: [
        { name: 'meta-a', partitions: 3 },
        { name: 'meta-a', partitions: 1 },
        { name: 'bad/name' },
      ],
    });
    expect(created.results.map((r) => r.errorCode)).toEqual([
      'NONE',
      'TOPIC_ALREADY_EXISTS',
      'INVALID_TOPIC_EXCEPTION',
    ]);
    expect(created.results[0]?.topicId).toMatch(/^[0-9a-f-]{36}$/);
    const meta = await call<MetadataResponse>(c.broker, 'Metadata', {
      topics: ['meta-a', 'meta-missing'],
    });
    expect(meta.clusterId).not.toBe('');
    expect(meta.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: server.port, rack: '' }]);
    expect(
      meta.topics[0]?.partitions.map((p) => [p.partition, p.leaderId, p.replicas, p.isr]),
    ).toEqual([
      [0, 0, [0], [0]],
      [1, 0, [0], [0]],
      [2, 0, [0], [0]],
    ]);
    expect(meta.topics[1]?.errorCode).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('validate_only creates nothing', async () => {
    const res = await call<CreateTopicsResponse>(c.admin, 'CreateTopics', {
      topics: [{ name: 'meta-dry' }],
      validateOnly: true,
    });
    expect(res.results[0]?.errorCode).toBe('NONE');
    const meta = await call<MetadataResponse>(c.broker, 'Metadata', { topics: ['meta-dry'] });
    expect(meta.topics[0]?.errorCode).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('rejects malformed admin requests with INVALID_ARGUMENT naming the field', async () => {
    const error = await callError(c.admin, 'CreateTopics', { topics: [] });
    expect([error.code, error.details]).toEqual([
      grpc.status.INVALID_ARGUMENT,
      'topics: must not be empty',
    ]);
    const res = await call<CreateTopicsResponse>(c.admin, 'CreateTopics', {
      topics: [
        { name: 'x', replicationFactor: 3 },
        { name: 'y', configs: { 'retention.ms': 'soon' } },
        { name: 'z', partitions: 0 },
        { name: 'w', replicationFactor: -1 },
      ],
    });
    expect(res.results.map((r) => r.errorCode)).toEqual([
      'INVALID_REPLICATION_FACTOR',
      'INVALID_CONFIG',
      'INVALID_PARTITIONS',
      'INVALID_REPLICATION_FACTOR',
    ]);
    const empty = await callError(c.admin, 'DescribeConfigs', { resources: [] });
    expect([empty.code, empty.details]).toEqual([
      grpc.status.INVALID_ARGUMENT,
      'resources: must not be empty',
    ]);
  });

  it('DescribeCluster names this node as controller and broker', async () => {
    const res = await call<DescribeClusterResponse>(c.admin, 'DescribeCluster', {});
    expect(res.controllerId).toBe(0);
    expect(res.brokers).toEqual([
      { nodeId: 0, host: '127.0.0.1', port: server.port, rack: '', fenced: false },
    ]);
  });

  it('grows partitions, never shrinks them', async () => {
    await createTopic('grow', 1);
    const res = await call<CreatePartitionsResponse>(c.admin, 'CreatePartitions', {
      topics: [
        { name: 'grow', count: 3 },
        { name: 'grow-missing', count: 2 },
      ],
    });
    expect(res.results.map((r) => r.errorCode)).toEqual(['NONE', 'UNKNOWN_TOPIC_OR_PARTITION']);
    const shrink = await call<CreatePartitionsResponse>(c.admin, 'CreatePartitions', {
      topics: [{ name: 'grow', count: 2 }],
    });
    expect(shrink.results[0]?.errorCode).toBe('INVALID_PARTITIONS');
    const p = await produce({ topic: 'grow', partition: 2, records: [{ value: v('x') }] });
    expect(p.results[0]).toMatchObject({ errorCode: 'NONE', partition: 2, offset: 0 });
  });

  it('deletes a topic with its data; a re-created topic starts empty with a new id', async () => {
    const first = await createTopic('doomed', 1);
    await produce({ topic: 'doomed', partition: 0, records: [{ value: v('old') }] });
    const deleted = await call<DeleteTopicsResponse>(c.admin, 'DeleteTopics', {
      names: ['doomed', 'never-was'],
    });
    expect(deleted.results.map((r) => r.errorCode)).toEqual(['NONE', 'UNKNOWN_TOPIC_OR_PARTITION']);
    expect((await fetchAll('doomed', 0)).partitions[0]?.errorCode).toBe(
      'UNKNOWN_TOPIC_OR_PARTITION',
    );
    const second = await createTopic('doomed', 1);
    expect(second.results[0]?.topicId).not.toBe(first.results[0]?.topicId);
    const fetched = await fetchAll('doomed', 0);
    expect(fetched.partitions[0]).toMatchObject({
      errorCode: 'NONE',
      highWatermark: 0,
      records: [],
    });
  });
});

describe('produce', () => {
  it('assigns consecutive offsets per record and answers each in order', async () => {
    await createTopic('p-seq', 1);
    const a = await produce({
      topic: 'p-seq',
      partition: 0,
      records: [{ value: v('a') }, { value: v('b') }, { value: v('c') }],
    });
    expect(a.results.map((r) => [r.partition, r.offset, r.errorCode])).toEqual([
      [0, 0, 'NONE'],
      [0, 1, 'NONE'],
      [0, 2, 'NONE'],
    ]);
    const b = await produce({ topic: 'p-seq', partition: 0, records: [{ value: v('d') }] });
    expect(b.results[0]?.offset).toBe(3);
  });

  it('partitions keyed records by murmur2 like Kafka and spreads keyless ones', async () => {
    await createTopic('p-keys', 4);
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    const res = await produce({
      topic: 'p-keys',
      records: keys.map((k) => ({ key: v(k), value: v(k) })),
    });
    expect(res.results.map((r) => r.partition)).toEqual(keys.map((k) => partitionForKey(v(k), 4)));
    const spread = await produce({
      topic: 'p-keys',
      records: Array.from({ length: 8 }, () => ({ value: v('x') })),
    });
    expect(new Set(spread.results.map((r) => r.partition)).size).toBe(4);
  });

  it('stores pre-encoded batches byte for byte apart from offset and epoch', async () => {
    await createTopic('p-batch', 2);
    const batch = await encodeBatch(
      [
        {
          key: null,
          value: v('one'),
          timestampMs: 1_700_000_000_000,
          headers: [{ key: 'h', value: v('1') }],
        },
        { key: v(''), value: null, timestampMs: 1_700_000_000_001, headers: [] },
      ],
      { compression: 1 },
    );
    const res = await produce({
      topic: 'p-batch',
      batches: [
        { partition: 1, recordBatch: batch },
        { partition: 1, recordBatch: batch },
      ],
    });
    expect(res.results.map((r) => [r.partition, r.offset])).toEqual([
      [1, 0],
      [1, 2],
    ]);
    const fetched = await fetchAll('p-batch', 1, 0, { format: 'BATCHES' });
    const stored = fetched.partitions[0]!.recordBatches;
    expect(stored).toHaveLength(2);
    expect(RecordBatch.of(stored[1]!).baseOffset).toBe(2);
    expect(stored[1]!.subarray(BATCH.LAST_OFFSET_DELTA)).toEqual(
      batch.subarray(BATCH.LAST_OFFSET_DELTA),
    );
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for a missing topic or partition', async () => {
    const missing = await produce({ topic: 'p-missing', records: [{ value: v('x') }] });
    expect(missing.results[0]?.errorCode).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    await createTopic('p-one', 1);
    const beyond = await produce({ topic: 'p-one', partition: 5, records: [{ value: v('x') }] });
    expect(beyond.results[0]?.errorCode).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('rejects batches over max.message.bytes and appends nothing', async () => {
    await createTopic('p-small', 1, { 'max.message.bytes': '200' });
    const res = await produce({
      topic: 'p-small',
      partition: 0,
      records: [{ value: Buffer.alloc(500) }],
    });
    expect(res.results[0]?.errorCode).toBe('RECORD_TOO_LARGE');
    expect((await fetchAll('p-small', 0)).partitions[0]?.highWatermark).toBe(0);
  });

  it('refuses acks=all below min.insync.replicas before appending', async () => {
    await createTopic('p-isr', 1, { 'min.insync.replicas': '2' });
    const res = await produce({
      topic: 'p-isr',
      partition: 0,
      acks: 'ACKS_ALL',
      records: [{ value: v('x') }],
    });
    expect(res.results[0]?.errorCode).toBe('NOT_ENOUGH_REPLICAS');
    const leader = await produce({
      topic: 'p-isr',
      partition: 0,
      acks: 'ACKS_LEADER',
      records: [{ value: v('x') }],
    });
    expect(leader.results[0]).toMatchObject({ errorCode: 'NONE', offset: 0 });
  });

  it('acks=none answers without offsets but still appends', async () => {
    await createTopic('p-none', 1);
    const res = await produce({
      topic: 'p-none',
      partition: 0,
      acks: 'ACKS_NONE',
      records: [{ value: v('x') }],
    });
    expect(res.results[0]).toMatchObject({ errorCode: 'NONE', offset: -1 });
    const fetched = await fetchAll('p-none', 0, 0, { maxWaitMs: 2_000, minBytes: 1 });
    expect(fetched.partitions[0]?.records.map((r) => r.value?.toString())).toEqual(['x']);
  });

  it('stamps the broker clock on LogAppendTime topics', async () => {
    await createTopic('p-lat', 1, { 'message.timestamp.type': 'LogAppendTime' });
    const before = Date.now();
    const res = await produce({
      topic: 'p-lat',
      partition: 0,
      records: [{ value: v('x'), timestampMs: 5 }],
    });
    expect(res.results[0]!.logAppendTimeMs).toBeGreaterThanOrEqual(before);
    const record = (await fetchAll('p-lat', 0)).partitions[0]!.records[0]!;
    expect(record.timestampType).toBe('LOG_APPEND_TIME');
    expect(record.timestampMs).toBe(res.results[0]!.logAppendTimeMs);
  });

  it('rejects malformed produce requests with INVALID_ARGUMENT naming the field', async () => {
    await createTopic('p-bad', 1);
    const cases: [object, RegExp][] = [
      [{ topic: '', records: [{ value: v('x') }] }, /^topic: /],
      [{ topic: 'p-bad' }, /^records: must not be empty/],
      [{ topic: 'p-bad', partition: -1, records: [{ value: v('x') }] }, /^partition: /],
      [
        { topic: 'p-bad', records: [{ value: v('x'), timestampMs: -5 }] },
        /^records\[0\]\.timestamp_ms: /,
      ],
      [
        { topic: 'p-bad', batches: [{ partition: 0, recordBatch: v('garbage') }] },
        /^batches\[0\]\.record_batch: /,
      ],
      [{ topic: 'p-bad', acks: 99, records: [{ value: v('x') }] }, /^acks: unknown value 99/],
    ];
    for (const [request, message] of cases) {
      const error = await callError(c.broker, 'Produce', request);
      expect(error.code, JSON.stringify(request)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error.details).toMatch(message);
    }
    expect((await fetchAll('p-bad', 0)).partitions[0]?.highWatermark).toBe(0);
  });

  it('pipelines ProduceStream requests and keeps the stream open after a bad one', async () => {
    await createTopic('p-stream', 1);
    const stream = c.broker.ProduceStream();
    const answers: ProduceStreamResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (m: ProduceStreamResponse) => answers.push(m));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (let id = 1; id <= 20; id++)
      stream.write({
        requestId: id,
        request: { topic: 'p-stream', partition: 0, records: [{ value: v(`m${id}`) }] },
      });
    stream.write({ requestId: 99, request: { topic: '', records: [] } });
    stream.write({
      requestId: 100,
      request: { topic: 'p-stream', partition: 0, records: [{ value: v('last') }] },
    });
    stream.end();
    await done;
    expect(answers).toHaveLength(22);
    const bad = answers.find((a) => a.requestId === 99)!;
    expect(bad.statusCode).toBe(grpc.status.INVALID_ARGUMENT);
    const offsets = answers
      .filter((a) => a.statusCode === 0)
      .map((a) => a.response!.results[0]!.offset)
      .sort((x, y) => x - y);
    expect(offsets).toEqual(Array.from({ length: 21 }, (_, i) => i));
  });
});

describe('fetch, subscribe and offsets', () => {
  beforeAll(async () => {
    await createTopic('f', 1);
    await produce({
      topic: 'f',
      partition: 0,
      records: [
        {
          key: v('k'),
          value: v('v0'),
          timestampMs: 1000,
          headers: [
            { key: 'a', value: v('1') },
            { key: 'a', value: v('2') },
          ],
        },
        { key: v(''), value: v('v1'), timestampMs: 2000 },
        { value: null, timestampMs: 3000 },
      ],
    });
    await produce({ topic: 'f', partition: 0, records: [{ value: v('v3'), timestampMs: 4000 }] });
  });

  it('returns records with key presence, tombstones, headers and timestamps', async () => {
    const res = await fetchAll('f', 0);
    const p = res.partitions[0]!;
    expect(p).toMatchObject({ errorCode: 'NONE', highWatermark: 4, logStartOffset: 0 });
    expect(
      p.records.map((r) => [
        r.offset,
        r.key?.toString() ?? null,
        r.value?.toString() ?? null,
        r.timestampMs,
      ]),
    ).toEqual([
      [0, 'k', 'v0', 1000],
      [1, '', 'v1', 2000],
      [2, null, null, 3000],
      [3, null, 'v3', 4000],
    ]);
    expect(p.records[0]!.headers.map((h) => [h.key, h.value.toString()])).toEqual([
      ['a', '1'],
      ['a', '2'],
    ]);
  });

  it('starts mid-batch at the requested offset', async () => {
    const res = await fetchAll('f', 0, 2);
    expect(res.partitions[0]!.records.map((r) => r.offset)).toEqual([2, 3]);
  });

  it('answers OFFSET_OUT_OF_RANGE above the high watermark, and empty at it', async () => {
    expect((await fetchAll('f', 0, 5)).partitions[0]?.errorCode).toBe('OFFSET_OUT_OF_RANGE');
    expect((await fetchAll('f', 0, 4)).partitions[0]).toMatchObject({
      errorCode: 'NONE',
      records: [],
    });
  });

  it('answers next_offset just past the last batch returned, or the requested offset when none', async () => {
    // Topic f holds the batches [0, 2] and [3]; max_bytes 1 returns one batch per answer.
    const one = (offset: number, format: 'RECORDS' | 'BATCHES') =>
      call<FetchResponse>(c.broker, 'Fetch', {
        partitions: [{ topic: 'f', partition: 0, offset, maxBytes: 1 }],
        format,
      }).then((res) => res.partitions[0]!);
    for (const format of ['RECORDS', 'BATCHES'] as const) {
      expect((await one(0, format)).nextOffset, format).toBe(3);
      expect((await one(1, format)).nextOffset, format).toBe(3);
      expect((await one(3, format)).nextOffset, format).toBe(4);
      // At the high watermark nothing is returned; past it, an error. Either way: stay.
      expect(await one(4, format)).toMatchObject({ errorCode: 'NONE', nextOffset: 4 });
      expect(await one(5, format)).toMatchObject({
        errorCode: 'OFFSET_OUT_OF_RANGE',
        nextOffset: 5,
      });
    }
    // Following next_offset from 0 reads every record once, in order.
    const offsets: number[] = [];
    // Bounded: every answer below the high watermark moves on by a batch.
    for (let offset = 0; offset < 4;) {
      const p = await one(offset, 'RECORDS');
      expect(p.nextOffset).toBeGreaterThan(offset);
      offsets.push(...p.records.map((r) => r.offset));
      offset = p.nextOffset;
    }
    expect(offsets).toEqual([0, 1, 2, 3]);
  });

  it('long-polls until a record arrives', async () => {
    await createTopic('f-poll', 1);
    const pending = fetchAll('f-poll', 0, 0, { maxWaitMs: 10_000, minBytes: 1 });
    setTimeout(
      () => void produce({ topic: 'f-poll', partition: 0, records: [{ value: v('late') }] }),
      200,
    );
    const res = await pending;
    expect(res.partitions[0]!.records.map((r) => r.value?.toString())).toEqual(['late']);
  });

  it('still reports a bad offset once the response byte budget is spent', async () => {
    // Found by bad-input.test.ts (seed 820312047): the first partition used the whole
    // max_bytes, and the second, out of range, was answered NONE without being checked.
    const res = await call<FetchResponse>(c.broker, 'Fetch', {
      partitions: [
        { topic: 'f', partition: 0, offset: 0 },
        { topic: 'f', partition: 0, offset: 6 },
      ],
      maxBytes: 1,
    });
    expect(res.partitions.map((p) => p.errorCode)).toEqual(['NONE', 'OFFSET_OUT_OF_RANGE']);
    expect(res.partitions[0]!.records.length).toBeGreaterThan(0);
  });

  it('returns empty when max_wait_ms passes with no data', async () => {
    const res = await fetchAll('f', 0, 4, { maxWaitMs: 300, minBytes: 1 });
    expect(res.partitions[0]!.records).toEqual([]);
  });

  it('rejects malformed fetches with INVALID_ARGUMENT naming the field', async () => {
    const cases: [object, RegExp][] = [
      [{ partitions: [] }, /^partitions: must not be empty/],
      [{ partitions: [{ topic: 'f', partition: 0, offset: -1 }] }, /^partitions\[0\]\.offset: /],
      [{ partitions: [{ topic: '', partition: 0, offset: 0 }] }, /^partitions\[0\]\.topic: /],
      [
        { partitions: [{ topic: 'f', partition: 0, offset: 0 }], maxWaitMs: 10_000_000 },
        /^max_wait_ms: /,
      ],
      [{ partitions: [{ topic: 'f', partition: 0, offset: 0 }], format: 7 }, /^format: /],
    ];
    for (const [request, message] of cases) {
      const error = await callError(c.broker, 'Fetch', request);
      expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error.details).toMatch(message);
    }
  });

  it('Subscribe pushes existing records, then new ones as they commit', async () => {
    await createTopic('f-sub', 1);
    await produce({ topic: 'f-sub', partition: 0, records: [{ value: v('s0') }] });
    const stream = c.broker.Subscribe({ topic: 'f-sub', partition: 0, offset: 0 });
    const seen: string[] = [];
    const got = new Promise<void>((resolve, reject) => {
      stream.on('data', (m: SubscribeResponse) => {
        for (const r of m.records) seen.push(r.value?.toString() ?? '');
        if (seen.length === 2) resolve();
      });
      stream.on('error', (e: grpc.ServiceError) =>
        e.code === grpc.status.CANCELLED ? undefined : reject(e),
      );
    });
    setTimeout(
      () => void produce({ topic: 'f-sub', partition: 0, records: [{ value: v('s1') }] }),
      200,
    );
    await got;
    stream.cancel();
    expect(seen).toEqual(['s0', 's1']);
  });

  it('Subscribe ends with OUT_OF_RANGE beyond the log', async () => {
    const stream = c.broker.Subscribe({ topic: 'f', partition: 0, offset: 99 });
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      stream.on('error', resolve);
      stream.on('data', () => undefined);
    });
    expect(error.code).toBe(grpc.status.OUT_OF_RANGE);
  });

  it('ListOffsets finds earliest, latest and by timestamp', async () => {
    const res = await call<ListOffsetsResponse>(c.broker, 'ListOffsets', {
      partitions: [
        { topic: 'f', partition: 0, spec: 'EARLIEST' },
        { topic: 'f', partition: 0, spec: 'LATEST' },
        { topic: 'f', partition: 0, spec: 'TIMESTAMP', timestampMs: 2500 },
        { topic: 'f', partition: 0, spec: 'TIMESTAMP', timestampMs: 9_999_999 },
        { topic: 'nope', partition: 0, spec: 'LATEST' },
      ],
    });
    expect(res.partitions.map((p) => [p.errorCode, p.offset])).toEqual([
      ['NONE', 0],
      ['NONE', 4],
      ['NONE', 2],
      ['NONE', -1],
      ['UNKNOWN_TOPIC_OR_PARTITION', -1],
    ]);
    expect(res.partitions[2]!.timestampMs).toBe(3000);
  });

  it('DeleteRecords moves the log start; fetching below it is OFFSET_OUT_OF_RANGE', async () => {
    await createTopic('f-del', 1);
    for (let i = 0; i < 3; i++)
      await produce({ topic: 'f-del', partition: 0, records: [{ value: v(`d${i}`) }] });
    const res = await call<DeleteRecordsResponse>(c.admin, 'DeleteRecords', {
      partitions: [
        { topic: 'f-del', partition: 0, offset: 2 },
        { topic: 'f-del', partition: 0, offset: 50 },
      ],
    });
    expect(res.results.map((r) => [r.errorCode, r.lowWatermark])).toEqual([
      ['NONE', 2],
      ['OFFSET_OUT_OF_RANGE', -1],
    ]);
    expect((await fetchAll('f-del', 0, 0)).partitions[0]?.errorCode).toBe('OFFSET_OUT_OF_RANGE');
    expect(
      (await fetchAll('f-del', 0, 2)).partitions[0]!.records.map((r) => r.value?.toString()),
    ).toEqual(['d2']);
  });
});

describe('configs', () => {
  it('describes, sets and removes topic configs with their sources', async () => {
    await createTopic('cfg', 1);
    const describe = async () =>
      (
        await call<DescribeConfigsResponse>(c.admin, 'DescribeConfigs', {
          resources: [{ type: 'TOPIC', name: 'cfg' }],
        })
      ).results[0]!;
    const retention = (r: Awaited<ReturnType<typeof describe>>) =>
      r.entries.find((e) => e.name === 'retention.ms');
    expect(retention(await describe())).toMatchObject({
      value: '604800000',
      source: 'DEFAULT_CONFIG',
    });
    const set = await call<AlterConfigsResponse>(c.admin, 'AlterConfigs', {
      resources: [
        {
          resource: { type: 'TOPIC', name: 'cfg' },
          ops: [{ name: 'retention.ms', value: '1000', op: 'SET' }],
        },
      ],
    });
    expect(set.results[0]?.errorCode).toBe('NONE');
    expect(retention(await describe())).toMatchObject({ value: '1000', source: 'TOPIC_CONFIG' });
    await call(c.admin, 'AlterConfigs', {
      resources: [
        { resource: { type: 'TOPIC', name: 'cfg' }, ops: [{ name: 'retention.ms', op: 'DELETE' }] },
      ],
    });
    expect(retention(await describe())).toMatchObject({ source: 'DEFAULT_CONFIG' });
  });

  it('rejects bad config changes whole and reports per resource', async () => {
    await createTopic('cfg-bad', 1);
    const res = await call<AlterConfigsResponse>(c.admin, 'AlterConfigs', {
      resources: [
        {
          resource: { type: 'TOPIC', name: 'cfg-bad' },
          ops: [
            { name: 'retention.ms', value: '5', op: 'SET' },
            { name: 'retention.bytes', value: 'x', op: 'SET' },
          ],
        },
        {
          resource: { type: 'TOPIC', name: 'cfg-missing' },
          ops: [{ name: 'retention.ms', value: '5', op: 'SET' }],
        },
        {
          resource: { type: 'BROKER', name: '0' },
          ops: [{ name: 'num.partitions', value: '5', op: 'SET' }],
        },
      ],
    });
    expect(res.results.map((r) => r.errorCode)).toEqual([
      'INVALID_CONFIG',
      'UNKNOWN_TOPIC_OR_PARTITION',
      'INVALID_CONFIG',
    ]);
    expect(res.results[2]!.errorMessage).toContain('num.partitions is a static broker config');
    const after = await call<DescribeConfigsResponse>(c.admin, 'DescribeConfigs', {
      resources: [{ type: 'TOPIC', name: 'cfg-bad' }],
    });
    expect(after.results[0]!.entries.find((e) => e.name === 'retention.ms')?.source).toBe(
      'DEFAULT_CONFIG',
    );
  });

  it('describes the static broker config read-only, and the dynamic ones alterable', async () => {
    const res = await call<DescribeConfigsResponse>(c.admin, 'DescribeConfigs', {
      resources: [{ type: 'BROKER', name: '' }],
    });
    const entries = res.results[0]!.entries;
    expect(entries.find((e) => e.name === 'listen')).toMatchObject({
      source: 'STATIC_BROKER_CONFIG',
      readOnly: true,
    });
    expect(entries.find((e) => e.name === 'num.partitions')).toMatchObject({
      value: '1',
      source: 'DEFAULT_CONFIG',
    });
    expect(entries.find((e) => e.name === 'leader.replication.throttled.rate')).toMatchObject({
      value: '',
      source: 'DEFAULT_CONFIG',
      readOnly: false,
    });
  });
});

describe('health and reflection', () => {
  it('reports SERVING on grpc.health.v1.Health', async () => {
    const { HealthClient } = await healthClient();
    const client = new HealthClient(server.address, grpc.credentials.createInsecure());
    const res = await call<{ status: string }>(client, 'Check', { service: 'brook.v1.Broker' });
    client.close();
    expect(res.status).toBe('SERVING');
  });

  it('lists the public services through server reflection', async () => {
    const services = await reflectionServices(server.address);
    expect(services).toEqual(
      expect.arrayContaining(['brook.v1.Broker', 'brook.v1.Admin', 'grpc.health.v1.Health']),
    );
  });
});

async function healthClient(): Promise<{ HealthClient: grpc.ServiceClientConstructor }> {
  const { protoPath } = await import('grpc-health-check');
  const loader = await import('@grpc/proto-loader');
  const definition = loader.loadSync(protoPath, { enums: String });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  return { HealthClient: pkg.grpc.health.v1.Health };
}

async function reflectionServices(address: string): Promise<string[]> {
  const loader = await import('@grpc/proto-loader');
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const protoFile =
    require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto');
  const pkg = grpc.loadPackageDefinition(loader.loadSync(protoFile)) as unknown as {
    grpc: { reflection: { v1alpha: { ServerReflection: grpc.ServiceClientConstructor } } };
  };
  const client = new pkg.grpc.reflection.v1alpha.ServerReflection(
    address,
    grpc.credentials.createInsecure(),
  );
  const stream = (
    client as unknown as {
      ServerReflectionInfo(): grpc.ClientDuplexStream<
        object,
        { listServicesResponse?: { service: { name: string }[] } }
      >;
    }
  ).ServerReflectionInfo();
  const names = await new Promise<string[]>((resolve, reject) => {
    stream.on('data', (m: { listServicesResponse?: { service: { name: string }[] } }) =>
      resolve((m.listServicesResponse?.service ?? []).map((s) => s.name)),
    );
    stream.on('error', reject);
    stream.write({ listServices: '' });
  });
  stream.end();
  client.close();
  return names;
}
