/**
 * The producer's failure handling against scripted in-process gRPC brokers: a partition moving
 * to another broker (NOT_LEADER_OR_FOLLOWER with a leader hint), retries running out, a refusal
 * that must reject exactly the affected records, a stream that breaks mid-request, a broker that
 * never answers, pipelining (several requests of one partition in flight, appended in send
 * order), and ordering under retries: kept with maxInflightRequestsPerPartition 1, not with
 * more (as documented, like Kafka without idempotence). The fakes speak the real brook.v1
 * contract over loopback and, like the broker, append the requests of one ProduceStream in
 * arrival order; each test scripts their answers.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRecords } from '../../../src/codec/index.js';
import { BrokerError, Producer } from '../../../src/client/index.js';
import { brookV1 } from '../../../src/proto/index.js';
import type {
  MetadataResponse,
  ProduceResult,
  ProduceStreamRequest__Output,
  ProduceStreamResponse,
} from '../../../src/proto/index.js';

/** The answer for one batch; `request` is the request's index in arrival order (from 0). */
type Answer = (
  partition: number,
  recordCount: number,
  request: number,
) => ProduceResult | 'hang' | 'break';

interface FakeBroker {
  readonly address: string;
  readonly nodeId: number;
  /** Partitions of each request this broker received, in arrival order. */
  readonly requests: number[][];
  /** Values received per partition, decoded, in arrival order. */
  readonly values: Map<number, string[]>;
  answer: Answer;
  /** How long the broker waits before answering a request, in ms. */
  answerDelayMs: number;
  /** Resolves when the answer to request number `request` (from 0) may go out. */
  holdAnswer: (request: number) => Promise<void>;
  /** Max requests observed in flight for one partition at once. */
  maxInflightPerPartition: number;
  close(): Promise<void>;
}

interface Cluster {
  brokers: FakeBroker[];
  /** Leader node id per partition of topic "t". */
  leaders: number[];
}

const servers: grpc.Server[] = [];
const producers: Producer[] = [];

afterEach(async () => {
  for (const producer of producers.splice(0)) {
    await producer.close();
  }
  for (const server of servers.splice(0)) server.forceShutdown();
});

function metadataOf(cluster: Cluster): MetadataResponse {
  return {
    clusterId: 'fake',
    controllerId: 0,
    brokers: cluster.brokers.map((b) => ({
      nodeId: b.nodeId,
      host: '127.0.0.1',
      port: Number(b.address.split(':')[1]),
    })),
    topics: [
      {
        name: 't',
        errorCode: 'NONE',
        topicId: 'id',
        partitions: cluster.leaders.map((leaderId, partition) => ({
          partition,
          errorCode: 'NONE',
          leaderId,
          leaderEpoch: 0,
          replicas: [leaderId],
          isr: [leaderId],
        })),
      },
    ],
  };
}

const ok =
  (offsets: Map<number, number>): ((partition: number, recordCount: number) => ProduceResult) =>
  (partition, recordCount) => {
    const offset = offsets.get(partition) ?? 0;
    offsets.set(partition, offset + recordCount);
    return { partition, errorCode: 'NONE', offset, logStartOffset: 0, logAppendTimeMs: -1 };
  };

async function startFake(nodeId: number, cluster: Cluster): Promise<FakeBroker> {
  const server = new grpc.Server();
  const offsets = new Map<number, number>();
  const inflight = new Map<number, number>();
  const fake: FakeBroker = {
    address: '',
    nodeId,
    requests: [],
    values: new Map(),
    answer: ok(offsets),
    answerDelayMs: 5,
    holdAnswer: () => Promise.resolve(),
    maxInflightPerPartition: 0,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
  server.addService(brookV1().Broker.service, {
    Metadata: (_call: unknown, callback: grpc.sendUnaryData<MetadataResponse>) =>
      callback(null, metadataOf(cluster)),
    ProduceStream: (
      call: grpc.ServerDuplexStream<ProduceStreamRequest__Output, ProduceStreamResponse>,
    ) => {
      // Like the broker: requests of one stream are appended in arrival order, and answered
      // when ready, so several may be in flight.
      let appendTurn: Promise<unknown> = Promise.resolve();
      call.on('data', (message: ProduceStreamRequest__Output) => {
        const partitions = new Set((message.request?.batches ?? []).map((b) => b.partition));
        for (const partition of partitions) {
          const now = (inflight.get(partition) ?? 0) + 1;
          inflight.set(partition, now);
          fake.maxInflightPerPartition = Math.max(fake.maxInflightPerPartition, now);
        }
        const appended = appendTurn.then(() => append(fake, message));
        appendTurn = appended.catch(() => undefined);
        void appended.then((outcome) => answer(fake, call, message, outcome, partitions, inflight));
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
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

interface Outcome {
  /** The request's number on this broker, from 0. */
  readonly request: number;
  readonly results: ProduceResult[];
  readonly action: 'hang' | 'break' | null;
}

/** Appends the request's accepted batches, in the order the stream delivered the requests. */
async function append(fake: FakeBroker, message: ProduceStreamRequest__Output): Promise<Outcome> {
  const batches = message.request?.batches ?? [];
  const request = fake.requests.length;
  fake.requests.push(batches.map((b) => b.partition));
  const results: ProduceResult[] = [];
  for (const b of batches) {
    const records = await decodeRecords(b.recordBatch);
    const outcome = fake.answer(b.partition, records.length, request);
    if (outcome === 'hang' || outcome === 'break') return { request, results, action: outcome };
    if (outcome.errorCode === 'NONE') {
      const list = fake.values.get(b.partition) ?? [];
      list.push(...records.map((r) => r.value?.toString() ?? 'null'));
      fake.values.set(b.partition, list);
    }
    results.push(outcome);
  }
  return { request, results, action: null };
}

async function answer(
  fake: FakeBroker,
  call: grpc.ServerDuplexStream<ProduceStreamRequest__Output, ProduceStreamResponse>,
  message: ProduceStreamRequest__Output,
  outcome: Outcome,
  partitions: ReadonlySet<number>,
  inflight: Map<number, number>,
): Promise<void> {
  // Answer a little later, so pipelined requests really overlap.
  await new Promise((resolve) => setTimeout(resolve, fake.answerDelayMs));
  await fake.holdAnswer(outcome.request);
  for (const partition of partitions) inflight.set(partition, (inflight.get(partition) ?? 1) - 1);
  if (outcome.action === 'hang') return;
  if (outcome.action === 'break') {
    call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'connection lost' });
    return;
  }
  call.write({
    requestId: message.requestId,
    response: { results: outcome.results },
    statusCode: 0,
  });
}

async function cluster(brokerCount: number, leaders: number[]): Promise<Cluster> {
  const c: Cluster = { brokers: [], leaders };
  for (let id = 0; id < brokerCount; id++) c.brokers.push(await startFake(id, c));
  return c;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Sends `waves` waves of `perWave` records to partition 0 of "t", a few ms apart, so each wave's
 * batches close and go out while earlier requests are still unanswered. Resolves with the values
 * in send order once every send has resolved.
 */
async function sendInWaves(p: Producer, waves: number, perWave: number): Promise<string[]> {
  const values: string[] = [];
  const sends: Promise<unknown>[] = [];
  for (let wave = 0; wave < waves; wave++) {
    for (let i = 0; i < perWave; i++) {
      const value = String(values.length);
      values.push(value);
      sends.push(p.send({ topic: 't', partition: 0, value }));
    }
    await delay(3);
  }
  await Promise.all(sends);
  return values;
}

function producerFor(
  c: Cluster,
  options: Partial<ConstructorParameters<typeof Producer>[0]> = {},
): Producer {
  const producer = new Producer({
    bootstrap: c.brokers[0]!.address,
    lingerMs: 0,
    retryBackoffMsMin: 10,
    retryBackoffMsMax: 50,
    ...options,
  });
  producers.push(producer);
  return producer;
}

describe('producer against scripted brokers', () => {
  it('follows a NOT_LEADER_OR_FOLLOWER leader hint to the new leader', async () => {
    const c = await cluster(2, [0]);
    const [first, second] = c.brokers as [FakeBroker, FakeBroker];
    first.answer = (partition) => ({
      partition,
      errorCode: 'NOT_LEADER_OR_FOLLOWER',
      errorMessage: 'moved',
      offset: -1,
      leader: { nodeId: 1, address: second.address },
    });
    const p = producerFor(c);
    const result = await p.send({ topic: 't', value: 'v' });
    expect(result).toEqual({ topic: 't', partition: 0, offset: 0 });
    expect(first.requests.length).toBe(1);
    expect(second.values.get(0)).toEqual(['v']);
  });

  it('refreshes metadata after NOT_LEADER_OR_FOLLOWER without a hint', async () => {
    const c = await cluster(2, [0]);
    const [first, second] = c.brokers as [FakeBroker, FakeBroker];
    first.answer = (partition) => {
      c.leaders = [1];
      return { partition, errorCode: 'NOT_LEADER_OR_FOLLOWER', errorMessage: 'moved', offset: -1 };
    };
    const p = producerFor(c);
    await p.send({ topic: 't', value: 'v' });
    expect(second.values.get(0)).toEqual(['v']);
  });

  it('with retries 0, refreshes metadata after a failed send, so the next one reaches the new leader', async () => {
    // Found by the fault harness: a producer with retries 0 kept sending to a killed leader
    // until its metadata aged out, because only retried batches refreshed it.
    const c = await cluster(2, [0]);
    const [first, second] = c.brokers as [FakeBroker, FakeBroker];
    first.answer = (partition) => {
      c.leaders = [1];
      return { partition, errorCode: 'NOT_LEADER_OR_FOLLOWER', errorMessage: 'moved', offset: -1 };
    };
    const p = producerFor(c, { retries: 0 });
    const error = await p.send({ topic: 't', value: 'a' }).catch((e: unknown) => e);
    expect((error as BrokerError).code).toBe('NOT_LEADER_OR_FOLLOWER');
    await p.send({ topic: 't', value: 'b' });
    expect(first.requests.length).toBe(1);
    expect(second.values.get(0)).toEqual(['b']);
  });

  it('rejects with the last retriable error once retries run out', async () => {
    const c = await cluster(1, [0]);
    const broker = c.brokers[0]!;
    broker.answer = (partition) => ({
      partition,
      errorCode: 'NOT_ENOUGH_REPLICAS',
      errorMessage: 'isr too small',
      offset: -1,
    });
    const p = producerFor(c, { retries: 3 });
    const error = await p.send({ topic: 't', value: 'v' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('NOT_ENOUGH_REPLICAS');
    expect(broker.requests.length).toBe(4);
  });

  it('rejects only the records of the partition that was refused', async () => {
    const c = await cluster(1, [0, 0]);
    const broker = c.brokers[0]!;
    const offsets = new Map<number, number>();
    const fine = ok(offsets);
    broker.answer = (partition, count) =>
      partition === 1
        ? { partition, errorCode: 'RECORD_TOO_LARGE', errorMessage: 'too big', offset: -1 }
        : fine(partition, count);
    const p = producerFor(c, { lingerMs: 20 });
    const outcomes = await Promise.allSettled([
      p.send({ topic: 't', partition: 0, value: 'a' }),
      p.send({ topic: 't', partition: 1, value: 'b' }),
      p.send({ topic: 't', partition: 0, value: 'c' }),
      p.send({ topic: 't', partition: 1, value: 'd' }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
    ]);
    const reason = (outcomes[1] as PromiseRejectedResult).reason as BrokerError;
    expect(reason.code).toBe('RECORD_TOO_LARGE');
    // A non-retriable refusal is not retried: partition 1's batch went out exactly once. (The
    // two partitions' batches may share a request or not, depending on when each lingered out.)
    expect(broker.requests.flat().filter((partition) => partition === 1)).toEqual([1]);
  });

  it('retries on a new stream when the stream breaks mid-request', async () => {
    const c = await cluster(1, [0]);
    const broker = c.brokers[0]!;
    const fine = ok(new Map());
    let broken = false;
    broker.answer = (partition, count) => {
      if (!broken) {
        broken = true;
        return 'break';
      }
      return fine(partition, count);
    };
    const p = producerFor(c);
    expect((await p.send({ topic: 't', value: 'v' })).offset).toBe(0);
    expect(broker.requests.length).toBe(2);
  });

  it('gives up on a silent broker after requestTimeoutMs and retries', async () => {
    const c = await cluster(1, [0]);
    const broker = c.brokers[0]!;
    const fine = ok(new Map());
    let hung = false;
    broker.answer = (partition, count) => {
      if (!hung) {
        hung = true;
        return 'hang';
      }
      return fine(partition, count);
    };
    const p = producerFor(c, { requestTimeoutMs: 200 });
    const started = Date.now();
    expect((await p.send({ topic: 't', value: 'v' })).offset).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('with maxInflightRequestsPerPartition 1 keeps one request per partition in flight, in order', async () => {
    const c = await cluster(1, [0, 0, 0]);
    const broker = c.brokers[0]!;
    const p = producerFor(c, {
      batchBytesMax: 256,
      lingerMs: 1,
      maxInflightRequests: 5,
      maxInflightRequestsPerPartition: 1,
    });
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 600; i++)
      sends.push(p.send({ topic: 't', partition: i % 3, value: String(i) }));
    await Promise.all(sends);
    expect(broker.maxInflightPerPartition).toBe(1);
    for (let partition = 0; partition < 3; partition++) {
      const values = (broker.values.get(partition) ?? []).map(Number);
      expect(values).toHaveLength(200);
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
    // Pipelining: some request carried more than one batch or partitions shared requests.
    expect(broker.requests.some((partitions) => partitions.length > 1)).toBe(true);
  });

  it('pipelines several requests of one partition and appends them in send order', async () => {
    const c = await cluster(1, [0]);
    const broker = c.brokers[0]!;
    broker.answerDelayMs = 30;
    const p = producerFor(c, { batchBytesMax: 256, lingerMs: 0 });
    const values = await sendInWaves(p, 10, 60);
    expect(broker.maxInflightPerPartition).toBeGreaterThan(1);
    expect(broker.maxInflightPerPartition).toBeLessThanOrEqual(5);
    expect(broker.values.get(0)).toEqual(values);
  });

  it('never has more than maxInflightRequestsPerPartition requests of a partition in flight', async () => {
    const c = await cluster(1, [0, 0]);
    const broker = c.brokers[0]!;
    broker.answerDelayMs = 30;
    const p = producerFor(c, {
      batchBytesMax: 256,
      lingerMs: 0,
      maxInflightRequestsPerPartition: 2,
    });
    const sends: Promise<unknown>[] = [];
    for (let wave = 0; wave < 10; wave++) {
      for (let i = 0; i < 40; i++) {
        sends.push(p.send({ topic: 't', partition: i % 2, value: `${wave}-${i}` }));
      }
      await delay(3);
    }
    await Promise.all(sends);
    expect(broker.maxInflightPerPartition).toBe(2);
  });

  it('writes pipelined requests in the order they were made, whichever is encoded first', async () => {
    const c = await cluster(1, [0]);
    const broker = c.brokers[0]!;
    broker.answerDelayMs = 30;
    const p = producerFor(c, { compression: 'gzip', lingerMs: 0, batchBytesMax: 1_100_000 });
    // A large batch (slow to gzip) and right after it a small one (quick to gzip).
    const big = Array.from(
      { length: 1_000 },
      (_, i) => `big-${i}-${randomBytes(500).toString('hex')}`,
    );
    const sends = big.map((value) => p.send({ topic: 't', value }));
    await p.flush();
    expect((await Promise.all(sends)).length).toBe(1_000);
    const mixed: string[] = [];
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 1_000; i++) {
      mixed.push(`a-${i}-${randomBytes(500).toString('hex')}`);
      pending.push(p.send({ topic: 't', value: mixed[i]! }));
    }
    await delay(1);
    mixed.push('small');
    pending.push(p.send({ topic: 't', value: 'small' }));
    await Promise.all(pending);
    expect(broker.values.get(0)).toEqual([...big, ...mixed]);
  });

  it('with maxInflightRequestsPerPartition 1 a retried batch keeps send order', async () => {
    const c = await cluster(1, [0]);
    const broker = c.brokers[0]!;
    broker.answerDelayMs = 20;
    const fine = ok(new Map());
    broker.answer = (partition, count, request) =>
      request === 1
        ? { partition, errorCode: 'NOT_ENOUGH_REPLICAS', errorMessage: 'once', offset: -1 }
        : fine(partition, count);
    const p = producerFor(c, {
      batchBytesMax: 256,
      lingerMs: 0,
      maxInflightRequestsPerPartition: 1,
    });
    const values = await sendInWaves(p, 10, 60);
    expect(broker.maxInflightPerPartition).toBe(1);
    expect(broker.requests.length).toBeGreaterThan(2);
    // Nothing was appended by the refused request, and nothing overtook its retry.
    expect(broker.values.get(0)).toEqual(values);
  });

  it('puts the batches of several refused requests back in send order', async () => {
    const c = await cluster(1, [0]);
    const broker = c.brokers[0]!;
    // The first five requests fill the partition's five slots and are all refused, answered in
    // arrival order; their batches must go back ahead of later ones, in their own order.
    broker.answerDelayMs = 100;
    // The five refusals go out only once all five requests arrived, however slow the machine:
    // otherwise an early refusal could come back while fewer were in flight, and a retry may
    // then reorder (the next test), which is not what this one is about.
    let fiveArrived!: () => void;
    const allFive = new Promise<void>((resolve) => (fiveArrived = resolve));
    broker.holdAnswer = (request) => (request < 5 ? allFive : Promise.resolve());
    const fine = ok(new Map());
    broker.answer = (partition, count, request) => {
      if (request === 4) fiveArrived();
      return request < 5
        ? { partition, errorCode: 'NOT_ENOUGH_REPLICAS', errorMessage: 'not yet', offset: -1 }
        : fine(partition, count);
    };
    const p = producerFor(c, { batchBytesMax: 256, lingerMs: 0 });
    const values = await sendInWaves(p, 10, 60);
    expect(broker.maxInflightPerPartition).toBeGreaterThan(1);
    expect(broker.values.get(0)).toEqual(values);
  });

  it('with several requests in flight a retry can reorder, as documented', async () => {
    const c = await cluster(1, [0]);
    const broker = c.brokers[0]!;
    broker.answerDelayMs = 100;
    const fine = ok(new Map());
    broker.answer = (partition, count, request) =>
      request === 0
        ? { partition, errorCode: 'NOT_ENOUGH_REPLICAS', errorMessage: 'once', offset: -1 }
        : fine(partition, count);
    const p = producerFor(c, { batchBytesMax: 256, lingerMs: 0 });
    const values = await sendInWaves(p, 10, 60);
    const appended = broker.values.get(0) ?? [];
    // Every record exactly once, but the first wave's batch was appended after later ones.
    expect([...appended].sort()).toEqual([...values].sort());
    expect(appended).not.toEqual(values);
    expect(appended.indexOf(values[0]!)).toBeGreaterThan(0);
  });

  it('fails every record with UNAVAILABLE-derived errors when the cluster is gone', async () => {
    const c = await cluster(1, [0]);
    const p = producerFor(c, { retries: 2, deliveryTimeoutMs: 2_000 });
    await p.send({ topic: 't', value: 'first' });
    await c.brokers[0]!.close();
    for (const server of servers) server.forceShutdown();
    const error = await p.send({ topic: 't', value: 'second' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ retriable: true });
  });
});
