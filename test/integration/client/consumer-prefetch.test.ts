/**
 * The consumer's prefetch against a scripted in-process broker: the next Fetch of a partition
 * goes out while its buffered records are handed out, within two fetched chunks per partition;
 * a seek while a prefetch is in flight discards its answer; close() cancels it; and an error
 * answered to a prefetch, or found decoding it, applies only after the records buffered before
 * it. The fake serves one
 * partition of topic "t" whose records 0..RECORD_COUNT-1 have values "v<offset>", in stamped
 * batches of BATCH_RECORDS; each fetch returns at most one batch (partitionMaxBytes: 1 asks
 * for the minimum, and a fetch always returns at least one batch).
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeBatch, stampBatch } from '../../../src/codec/index.js';
import { Consumer, type ConsumerRecord } from '../../../src/client/index.js';
import { brookV1 } from '../../../src/proto/index.js';
import type {
  FetchPartitionResponse,
  FetchRequest__Output,
  FetchResponse,
  MetadataResponse,
} from '../../../src/proto/index.js';

const RECORD_COUNT = 200;
const BATCH_RECORDS = 10;
const TP = { topic: 't', partition: 0 };

interface FakeFetch {
  readonly offset: number;
  cancelled: boolean;
  answered: boolean;
}

interface FakeBroker {
  readonly address: string;
  /** Every Fetch received, in arrival order. */
  readonly fetches: FakeFetch[];
  /** Fetches whose answer waits for release() (true for the offset to hold). */
  hold: (offset: number) => boolean;
  /** Answers for an offset instead of the batch, e.g. an error code. */
  error: (offset: number) => FetchPartitionResponse['errorCode'] | null;
  /** Whether to answer a fetch at this offset with a copy of its batch that fails its CRC. */
  corrupt: (offset: number) => boolean;
  /** Sends the answers held so far. */
  release(): void;
}

const servers: grpc.Server[] = [];
const consumers: Consumer[] = [];

afterEach(async () => {
  for (const consumer of consumers.splice(0)) await consumer.close();
  for (const server of servers.splice(0)) server.forceShutdown();
});

async function storedBatches(): Promise<Buffer[]> {
  const batches: Buffer[] = [];
  for (let base = 0; base < RECORD_COUNT; base += BATCH_RECORDS) {
    const records = Array.from({ length: BATCH_RECORDS }, (_, i) => ({
      key: null,
      value: Buffer.from(`v${base + i}`),
      timestampMs: 1_700_000_000_000,
      headers: [],
    }));
    const batch = await encodeBatch(records);
    stampBatch(batch, { baseOffset: base, leaderEpoch: 0, logAppendTimeMs: null });
    batches.push(batch);
  }
  return batches;
}

async function startFake(): Promise<FakeBroker> {
  const batches = await storedBatches();
  const server = new grpc.Server();
  let held: (() => void)[] = [];
  const fake: FakeBroker = {
    address: '',
    fetches: [],
    hold: () => false,
    error: () => null,
    corrupt: () => false,
    release: () => {
      const answers = held;
      held = [];
      for (const send of answers) send();
    },
  };
  const metadata = (): MetadataResponse => ({
    clusterId: 'fake',
    controllerId: 0,
    brokers: [{ nodeId: 0, host: '127.0.0.1', port: Number(fake.address.split(':')[1]) }],
    topics: [
      {
        name: 't',
        errorCode: 'NONE',
        topicId: 'id',
        partitions: [
          { partition: 0, errorCode: 'NONE', leaderId: 0, leaderEpoch: 0, replicas: [0], isr: [0] },
        ],
      },
    ],
  });
  server.addService(brookV1().Broker.service, {
    Metadata: (_call: unknown, callback: grpc.sendUnaryData<MetadataResponse>) =>
      callback(null, metadata()),
    Fetch: (
      call: grpc.ServerUnaryCall<FetchRequest__Output, FetchResponse>,
      callback: grpc.sendUnaryData<FetchResponse>,
    ) => {
      const offset = call.request.partitions[0]?.offset ?? 0;
      const fetch: FakeFetch = { offset, cancelled: false, answered: false };
      fake.fetches.push(fetch);
      call.on('cancelled', () => (fetch.cancelled = true));
      const errorCode = fake.error(offset);
      let batch = batches[Math.floor(offset / BATCH_RECORDS)];
      if (batch !== undefined && fake.corrupt(offset)) {
        batch = Buffer.from(batch);
        batch[batch.length - 1]! ^= 0xff;
      }
      const partition: FetchPartitionResponse = {
        topic: 't',
        partition: 0,
        errorCode: errorCode ?? 'NONE',
        errorMessage: errorCode === null ? '' : 'scripted',
        highWatermark: RECORD_COUNT,
        logStartOffset: 0,
        recordBatches: errorCode === null && batch !== undefined ? [batch] : [],
      };
      const send = (): void => {
        fetch.answered = true;
        callback(null, { partitions: [partition] });
      };
      if (fake.hold(offset)) held.push(send);
      else send();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  servers.push(server);
  Object.assign(fake, { address: `127.0.0.1:${port}` });
  return fake;
}

function consumerFor(fake: FakeBroker, options: { autoOffsetReset?: 'none' } = {}): Consumer {
  const consumer = new Consumer({
    bootstrap: fake.address,
    partitionMaxBytes: 1,
    fetchMaxWaitMs: 50,
    retryBackoffMsMin: 10,
    retryBackoffMsMax: 50,
    ...options,
  });
  consumers.push(consumer);
  return consumer;
}

/** Waits until `condition` holds, checking every 5 ms, for at most 5 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadlineMs = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadlineMs) throw new Error('condition not reached within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function offsetsOf(fake: FakeBroker): number[] {
  return fake.fetches.map((fetch) => fetch.offset);
}

async function nextRecord(records: AsyncIterator<ConsumerRecord>): Promise<ConsumerRecord> {
  const step = await records.next();
  if (step.done === true) throw new Error('the iterator ended');
  return step.value;
}

describe('consumer prefetch', () => {
  it('fetches the next chunk while one is handed out, and holds at most two', async () => {
    const fake = await startFake();
    const consumer = consumerFor(fake);
    consumer.assign([TP]);
    await consumer.seek(TP, 0);
    const records = consumer[Symbol.asyncIterator]();
    expect((await nextRecord(records)).offset).toBe(0);
    // Records 1..9 are still buffered, and the fetch for 10.. is already out.
    await until(() => fake.fetches.length >= 2 && fake.fetches[1]!.answered);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Two chunks held (0..9 and 10..19): no third fetch until the first one is handed out.
    expect(offsetsOf(fake)).toEqual([0, 10]);
    const seen: number[] = [];
    for (let i = 1; i < 25; i++) seen.push((await nextRecord(records)).offset);
    expect(seen).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    await until(() => fake.fetches.length >= 4);
    expect(offsetsOf(fake).slice(0, 4)).toEqual([0, 10, 20, 30]);
  });

  it('a seek while a prefetch is in flight hands out only records from the new position', async () => {
    const fake = await startFake();
    fake.hold = (offset) => offset === 10;
    const consumer = consumerFor(fake);
    consumer.assign([TP]);
    await consumer.seek(TP, 0);
    const records = consumer[Symbol.asyncIterator]();
    expect((await nextRecord(records)).offset).toBe(0);
    await until(() => offsetsOf(fake).includes(10));
    // Back to 3: records 1..9 buffered before the seek, and the prefetch's 10..19 answered
    // after it, must all be dropped; 3.. comes from a new fetch.
    await consumer.seek(TP, 3);
    fake.hold = () => false;
    fake.release();
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) seen.push((await nextRecord(records)).offset);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => 3 + i));
    expect(fake.fetches[1]).toMatchObject({ offset: 10, answered: true });
    expect(offsetsOf(fake)[2]).toBe(3);
    expect(await consumer.position(TP)).toBe(23);
  });

  it('poll() after a seek during a prefetch returns only records from the new position', async () => {
    const fake = await startFake();
    fake.hold = (offset) => offset === 10;
    const consumer = consumerFor(fake);
    consumer.assign([TP]);
    await consumer.seek(TP, 0);
    const first = await consumer.poll(2_000);
    expect(first.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await until(() => offsetsOf(fake).includes(10));
    await consumer.seek(TP, 120);
    fake.hold = () => false;
    fake.release();
    const next = await consumer.poll(2_000);
    expect(next[0]?.offset).toBe(120);
    expect(next.map((r) => r.value?.toString())).toEqual(next.map((r) => `v${r.offset}`));
    for (let i = 1; i < next.length; i++) expect(next[i]!.offset).toBe(120 + i);
  });

  it('close() with a prefetch in flight cancels it and leaves nothing running', async () => {
    const fake = await startFake();
    fake.hold = (offset) => offset === 10;
    const consumer = new Consumer({
      bootstrap: fake.address,
      partitionMaxBytes: 1,
      fetchMaxWaitMs: 50,
      // Without the cancel, the held fetch would keep close() waiting this long.
      requestTimeoutMs: 60_000,
    });
    consumer.assign([TP]);
    await consumer.seek(TP, 0);
    const records = consumer[Symbol.asyncIterator]();
    expect((await nextRecord(records)).offset).toBe(0);
    await until(() => offsetsOf(fake).includes(10));
    const started = Date.now();
    await consumer.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    await until(() => fake.fetches[1]!.cancelled);
    const count = fake.fetches.length;
    fake.release();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fake.fetches.length).toBe(count);
    expect(await records.next()).toEqual({ done: true, value: undefined });
  });

  it('an error answered to a prefetch applies after the records buffered before it', async () => {
    const fake = await startFake();
    fake.error = (offset) => (offset === 10 ? 'OFFSET_OUT_OF_RANGE' : null);
    const consumer = consumerFor(fake, { autoOffsetReset: 'none' });
    consumer.assign([TP]);
    await consumer.seek(TP, 0);
    const records = consumer[Symbol.asyncIterator]();
    expect((await nextRecord(records)).offset).toBe(0);
    await until(() => offsetsOf(fake).includes(10));
    const seen: number[] = [];
    for (let i = 1; i < 10; i++) seen.push((await nextRecord(records)).offset);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await expect(records.next()).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
  });

  it('a prefetched batch that fails its CRC is fetched again after the records before it', async () => {
    const fake = await startFake();
    let corrupted = 0;
    fake.corrupt = (offset) => offset === 10 && corrupted++ === 0;
    const consumer = consumerFor(fake);
    consumer.assign([TP]);
    await consumer.seek(TP, 0);
    const seen: number[] = [];
    for await (const record of consumer) {
      expect(record.value?.toString()).toBe(`v${record.offset}`);
      seen.push(record.offset);
      if (seen.length === 40) break;
    }
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(corrupted).toBeGreaterThan(1);
    // The corrupt answer was refetched from its offset (CORRUPT_MESSAGE is retriable).
    expect(offsetsOf(fake).filter((offset) => offset === 10).length).toBe(2);
  });
});
