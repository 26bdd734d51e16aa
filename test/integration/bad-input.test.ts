/**
 * Goal: no malformed request, of any RPC, can crash the node, hang a call, or change its data: each
 * is refused with INVALID_ARGUMENT naming the field, or answered with the per-item Kafka code
 * (api.md, "Errors"). Method: one live `brook server` with known records; fast-check generates
 * requests with injected defects (and raw garbage bytes) plus hand-written cases with their exact
 * codes; afterwards the node must be alive, SERVING, and hold byte-for-byte the same data.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BATCH,
  Compression,
  crc32c,
  decodeRecords,
  encodeBatch,
  type RecordInput,
} from '../../src/codec/index.js';
import type {
  CreateTopicsResponse__Output,
  DescribeConfigsResponse__Output,
  FetchResponse__Output,
  ListOffsetsResponse__Output,
  MetadataResponse__Output,
  ProduceResponse__Output,
  ProduceStreamResponse__Output,
  SubscribeResponse__Output,
} from '../../src/proto/index.js';
import { BUILT_CLI, startBroker, type BrokerProcess } from '../helpers/broker-process.js';
import { call, rawClients, type RawClients } from '../helpers/grpc.js';

/** The topic with the known records; no generated request may change it. */
const KNOWN = 'known';
const KNOWN_PARTITIONS = 3;
/** A topic for the few hand-written requests that are well-formed up to the one bad detail. */
const SCRATCH = 'scratch';
const SCRATCH_MAX_MESSAGE_BYTES = 1024;
/**
 * Target of the one request whose refusal is disputable (a batch with negative timestamps): if
 * the broker accepts it, only this topic grows, and the final checks leave it out.
 */
const TIMESTAMPS = 'timestamps';
/** Prefix of names that never exist. */
const MISSING = 'nx-';
const DEADLINE_MS = 5_000;
const SEED = Number(process.env['BROOK_FC_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

// ---- raw gRPC --------------------------------------------------------------------------------

/** The typed Broker and Admin stubs, plus an untyped client for raw bytes and a Health client. */
interface Clients extends RawClients {
  raw: grpc.Client;
  health: grpc.Client;
}

function connect(address: string): Clients {
  const typed = rawClients(address);
  const creds = grpc.credentials.createInsecure();
  const raw = new grpc.Client(address, creds, {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  const Health = grpc.makeClientConstructor(
    healthService as unknown as grpc.ServiceDefinition,
    'grpc.health.v1.Health',
  );
  const health = new Health(address, creds);
  const close = (): void => [typed, raw, health].forEach((c) => c.close());
  return { ...typed, raw, health, close };
}

/** One unary call with this test's deadline. */
function unary<Res>(client: grpc.Client, method: string, request: object): Promise<Res> {
  return call<Res>(client, method, request, DEADLINE_MS);
}

/** Sends `bytes` as the request message of a method, bypassing the protobuf encoder. */
function rawUnary(client: grpc.Client, method: string, bytes: Buffer): Promise<Buffer> {
  const identity = (b: Buffer): Buffer => b;
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method,
      identity,
      identity,
      bytes,
      new grpc.Metadata(),
      { deadline: Date.now() + DEADLINE_MS },
      (error, response) => (error ? reject(error) : resolve(response!)),
    );
  });
}

function statusName(code: number): string {
  return grpc.status[code] ?? String(code);
}

/** JSON of a request for failure messages, with buffers shortened. */
function show(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer') {
      const data = (v as { data: number[] }).data;
      return `<${data.length} bytes ${Buffer.from(data.slice(0, 16)).toString('hex')}...>`;
    }
    return v;
  });
  return text.length > 2_000 ? `${text.slice(0, 2_000)}...` : text;
}

// ---- expectations ----------------------------------------------------------------------------

/**
 * What a request must get. With `invalid` entries, the call must fail INVALID_ARGUMENT with a
 * message starting `<field>:` for one of them. `either` lists fields the contract lets the server
 * refuse either way: INVALID_ARGUMENT naming it, or the item's Kafka code (listed in `items`).
 * Without `invalid`, the call must succeed with one item per entry of `items`, item i carrying one
 * of items[i].
 */
interface Expectation {
  invalid: string[];
  either: string[];
  items: string[][];
}

/** An expectation to fill in: no field named, no item yet. */
function expectation(): Expectation {
  return { invalid: [], either: [], items: [] };
}

interface Case extends Expectation {
  method: string;
  request: Record<string, unknown>;
  /** Extra checks on a successful answer. */
  check?: (response: unknown) => void;
}

/** The service of each method, and where its answer lists its per-item outcomes. */
const METHODS: Record<string, { service: 'broker' | 'admin'; items: string }> = {
  Produce: { service: 'broker', items: 'results' },
  Fetch: { service: 'broker', items: 'partitions' },
  ListOffsets: { service: 'broker', items: 'partitions' },
  Metadata: { service: 'broker', items: 'topics' },
  CreateTopics: { service: 'admin', items: 'results' },
  DeleteTopics: { service: 'admin', items: 'results' },
  CreatePartitions: { service: 'admin', items: 'results' },
  DescribeConfigs: { service: 'admin', items: 'results' },
  AlterConfigs: { service: 'admin', items: 'results' },
  DeleteRecords: { service: 'admin', items: 'results' },
};

/** How often each outcome was seen, per method: printed at the end, to show what was covered. */
const outcomes = new Map<string, number>();

function count(outcome: string): void {
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
}

async function expectOutcome(clients: Clients, c: Case): Promise<void> {
  const method = METHODS[c.method];
  if (method === undefined) throw new Error(`no method ${c.method}`);
  const client = clients[method.service];
  const context = `${c.method} ${show(c.request)}`;
  let response: unknown;
  try {
    response = await unary(client, c.method, c.request);
  } catch (caught) {
    const error = caught as grpc.ServiceError;
    const fields = [...c.invalid, ...c.either];
    const named = fields.some((f) => error.details.startsWith(`${f}:`));
    if (error.code !== grpc.status.INVALID_ARGUMENT || !named) {
      throw new Error(
        `${context}\n  failed with ${statusName(error.code)} "${error.details}"\n  expected ` +
          (fields.length === 0
            ? `success with items ${show(c.items)}`
            : `INVALID_ARGUMENT naming one of ${fields.join(', ')}`),
      );
    }
    count(`${c.method} INVALID_ARGUMENT ${error.details.split(':')[0]!.replace(/\d+/g, 'i')}`);
    return;
  }
  if (c.invalid.length > 0) {
    throw new Error(
      `${context}\n  succeeded with ${show(response)}\n  expected INVALID_ARGUMENT naming one of ${c.invalid.join(', ')}`,
    );
  }
  const items = (response as Record<string, unknown[] | undefined>)[method.items];
  const codes = (items ?? []).map((item) => (item as { errorCode: string }).errorCode);
  const ok =
    codes.length === c.items.length && codes.every((code, i) => c.items[i]!.includes(code));
  if (!ok) {
    throw new Error(
      `${context}\n  answered item codes ${show(codes)} (${show(response)})\n  expected ${show(c.items)}`,
    );
  }
  c.check?.(response);
  count(`${c.method} OK ${[...new Set(codes)].sort().join(',')}`);
}

// ---- the known data --------------------------------------------------------------------------

interface KnownRecord {
  key: Buffer | null;
  value: Buffer | null;
  timestampMs: number;
  headers: { key: string; value: Buffer }[];
}

interface Snapshot {
  /** Per partition: the stored batches, byte for byte, from offset 0. */
  batches: Buffer[][];
  highWatermarks: number[];
  scratchHighWatermark: number;
  /** name -> topic id and partition count. */
  topics: Map<string, string>;
  configs: string;
}

const knownRecords: KnownRecord[][] = [[], [], []];

function rec(
  key: string | Buffer | null,
  value: string | Buffer | null,
  timestampMs: number,
  headers: [string, string][] = [],
): KnownRecord {
  const bytes = (v: string | Buffer | null): Buffer | null =>
    v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);
  return {
    key: bytes(key),
    value: bytes(value),
    timestampMs,
    headers: headers.map(([k, v]) => ({ key: k, value: Buffer.from(v) })),
  };
}

function toProtoRecord(r: KnownRecord): Record<string, unknown> {
  return {
    ...(r.key === null ? {} : { key: r.key }),
    ...(r.value === null ? {} : { value: r.value }),
    timestampMs: r.timestampMs,
    headers: r.headers,
  };
}

async function produceKnownData(clients: Clients): Promise<void> {
  const t0 = 1_700_000_000_000;
  const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  knownRecords[0] = [
    rec('a', 'v0', t0, [
      ['h1', 'x'],
      ['h1', 'y'],
    ]),
    rec(null, 'keyless', t0 + 1),
    rec('', '', t0 + 2),
    rec('tomb', null, t0 + 3),
    rec(binary, randomBytes(3000), t0 + 4, [['bin', '\u0000\u00ff']]),
  ];
  knownRecords[1] = [
    rec('b1', 'gzip-1', t0 + 10),
    rec('b2', 'gzip-2', t0 + 11),
    rec(null, 'gzip-3', t0 + 12),
    rec('s1', 'snappy-1', t0 + 20, [['k', 'v']]),
    rec('s2', 'snappy-2'.repeat(50), t0 + 21),
    rec('n1', 'plain-1', t0 + 30),
  ];
  knownRecords[2] = [rec('c', 'snappy-records-1', t0 + 40), rec(null, null, t0 + 41)];
  for (const p of [0, 2]) {
    const response = await unary<ProduceResponse__Output>(clients.broker, 'Produce', {
      topic: KNOWN,
      partition: p,
      records: knownRecords[p]!.map(toProtoRecord),
      acks: 'ACKS_ALL',
      compression: p === 2 ? 'COMPRESSION_SNAPPY' : 'COMPRESSION_NONE',
    });
    expect(response.results.map((r) => [r.errorCode, r.offset])).toEqual(
      knownRecords[p]!.map((_, i) => ['NONE', i]),
    );
  }
  const p1 = knownRecords[1]!;
  const asInput = (r: KnownRecord): RecordInput => ({ ...r });
  const batches = [
    await encodeBatch(p1.slice(0, 3).map(asInput), { compression: Compression.GZIP }),
    await encodeBatch(p1.slice(3, 5).map(asInput), { compression: Compression.SNAPPY }),
    await encodeBatch(p1.slice(5).map(asInput)),
  ];
  const response = await unary<ProduceResponse__Output>(clients.broker, 'Produce', {
    topic: KNOWN,
    batches: batches.map((recordBatch) => ({ partition: 1, recordBatch })),
    acks: 'ACKS_ALL',
  });
  expect(response.results.map((r) => [r.errorCode, r.offset])).toEqual([
    ['NONE', 0],
    ['NONE', 3],
    ['NONE', 5],
  ]);
}

async function readBatches(
  clients: Clients,
  topic: string,
  partition: number,
): Promise<{ batches: Buffer[]; highWatermark: number }> {
  const response = await unary<FetchResponse__Output>(clients.broker, 'Fetch', {
    partitions: [{ topic, partition, offset: 0 }],
    format: 'BATCHES',
  });
  const part = response.partitions[0]!;
  expect(part.errorCode, part.errorMessage).toBe('NONE');
  expect(part.logStartOffset).toBe(0);
  return { batches: part.recordBatches, highWatermark: part.highWatermark };
}

async function takeSnapshot(clients: Clients): Promise<Snapshot> {
  const batches: Buffer[][] = [];
  const highWatermarks: number[] = [];
  for (let p = 0; p < KNOWN_PARTITIONS; p++) {
    const read = await readBatches(clients, KNOWN, p);
    batches.push(read.batches);
    highWatermarks.push(read.highWatermark);
  }
  const scratch = await readBatches(clients, SCRATCH, 0);
  const metadata = await unary<MetadataResponse__Output>(clients.broker, 'Metadata', {});
  const topics = new Map(
    metadata.topics.map((t) => [t.name, `${t.topicId}/${t.partitions.length}`]),
  );
  const configs = await unary<DescribeConfigsResponse__Output>(clients.admin, 'DescribeConfigs', {
    resources: [
      { type: 'TOPIC', name: KNOWN },
      { type: 'TOPIC', name: SCRATCH },
    ],
  });
  return {
    batches,
    highWatermarks,
    scratchHighWatermark: scratch.highWatermark,
    topics,
    configs: JSON.stringify(configs.results),
  };
}

// ---- generators ------------------------------------------------------------------------------

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const UINT32_MAX = 2 ** 32 - 1;

/** An enum number the proto does not declare (known values are 0..maxKnown). */
function unknownEnum(maxKnown: number): fc.Arbitrary<number> {
  return fc.oneof(
    fc.integer({ min: maxKnown + 1, max: 10_000 }),
    fc.integer({ min: -1000, max: -1 }),
  );
}

function weighted<T>(...pairs: [number, fc.Arbitrary<T>][]): fc.Arbitrary<T> {
  return fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));
}

/** Usually 1..max entries, sometimes none (an empty list is a defect of its own). */
function entries<T>(arbitrary: fc.Arbitrary<T>, max: number): fc.Arbitrary<T[]> {
  return weighted<T[]>(
    [1, fc.constant<T[]>([])],
    [8, fc.array(arbitrary, { minLength: 1, maxLength: max })],
  );
}

type TopicKind = 'known' | 'missing' | 'bad' | 'empty';

/** Non-empty names that break the topic name rules: too long, ".", "..", a bad character. */
const badTopicName = fc.oneof(
  fc.constantFrom('.', '..'),
  fc.integer({ min: 250, max: 400 }).map((n) => 't'.repeat(n)),
  fc
    .tuple(
      fc.stringMatching(/^[a-z0-9]{0,6}$/),
      fc.constantFrom(' ', '/', '\\', '*', ':', '\u00e9', '\u0000', '#', '?', '\n', '\u{1f600}'),
      fc.stringMatching(/^[a-z0-9]{0,6}$/),
    )
    .map(([a, c, b]) => `${a}${c}${b}`),
);

const missingTopicName = fc.stringMatching(/^[a-zA-Z0-9._-]{1,40}$/).map((s) => MISSING + s);

function topicArb(
  weights: Record<TopicKind, number>,
): fc.Arbitrary<{ kind: TopicKind; name: string }> {
  return weighted<{ kind: TopicKind; name: string }>(
    [weights.known, fc.constant({ kind: 'known', name: KNOWN })],
    [weights.missing, missingTopicName.map((name) => ({ kind: 'missing', name }))],
    [weights.bad, badTopicName.map((name) => ({ kind: 'bad', name }))],
    [weights.empty, fc.constant({ kind: 'empty', name: '' })],
  );
}

type PartitionKind = 'valid' | 'beyond' | 'negative' | 'huge';

const partitionArb = weighted<{ kind: PartitionKind; value: number }>(
  [5, fc.integer({ min: 0, max: KNOWN_PARTITIONS - 1 }).map((value) => ({ kind: 'valid', value }))],
  [
    2,
    fc.integer({ min: KNOWN_PARTITIONS, max: 9_999 }).map((value) => ({ kind: 'beyond', value })),
  ],
  [1, fc.integer({ min: INT32_MIN, max: -1 }).map((value) => ({ kind: 'negative', value }))],
  [1, fc.integer({ min: 10_000, max: INT32_MAX }).map((value) => ({ kind: 'huge', value }))],
);

const isBadPartition = (kind: PartitionKind): boolean => kind === 'negative' || kind === 'huge';

/** A valid batch index into the pre-encoded ones, or a mutation of one that no check may pass. */
type BatchSpec =
  | { kind: 'valid'; base: number }
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'flip'; base: number; at: number; bit: number }
  | { kind: 'truncate'; base: number; keep: number }
  | { kind: 'count'; base: number; count: number; fixDelta: boolean; fixCrc: boolean };

const batchSpecArb = weighted<BatchSpec>(
  [8, fc.nat(2).map((base) => ({ kind: 'valid', base }))],
  [2, fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ kind: 'random', bytes }))],
  [
    2,
    fc
      .record({
        base: fc.nat(2),
        at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        bit: fc.nat(7),
      })
      .map((r) => ({ kind: 'flip', ...r })),
  ],
  [
    2,
    fc
      .record({
        base: fc.nat(2),
        keep: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      })
      .map((r) => ({ kind: 'truncate', ...r })),
  ],
  [
    2,
    fc
      .record({
        base: fc.nat(2),
        count: fc.oneof(
          fc.integer({ min: INT32_MIN, max: 0 }),
          fc.integer({ min: 1, max: 200 }),
          fc.integer({ min: 100_001, max: INT32_MAX }),
        ),
        fixDelta: fc.boolean(),
        fixCrc: fc.boolean(),
      })
      .map((r) => ({ kind: 'count', ...r })),
  ],
);

/** Builds the bytes of a batch spec from the pre-encoded valid batches. */
function batchBytes(spec: BatchSpec, valid: readonly Buffer[]): Buffer {
  if (spec.kind === 'random') return Buffer.from(spec.bytes);
  const bytes = Buffer.from(valid[spec.base]!);
  switch (spec.kind) {
    case 'valid':
      return bytes;
    case 'flip': {
      const at = Math.floor(spec.at * bytes.length);
      bytes[at] = bytes[at]! ^ (1 << spec.bit);
      return bytes;
    }
    case 'truncate':
      return bytes.subarray(0, Math.floor(spec.keep * bytes.length));
    case 'count': {
      const actual = bytes.readInt32BE(BATCH.RECORD_COUNT);
      const count = spec.count === actual ? actual + 1 : spec.count;
      bytes.writeInt32BE(count, BATCH.RECORD_COUNT);
      if (spec.fixDelta) bytes.writeInt32BE((count - 1) | 0, BATCH.LAST_OFFSET_DELTA);
      if (spec.fixCrc) bytes.writeUInt32BE(crc32c(bytes.subarray(BATCH.MAGIC)), BATCH.CRC);
      return bytes;
    }
  }
}

const recordArb = fc.record(
  {
    key: fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)),
    value: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    timestampMs: weighted<number>(
      [12, fc.integer({ min: 0, max: 2 ** 42 })],
      [1, fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 })],
    ),
    headers: fc.array(
      fc.record({
        key: fc.string({ maxLength: 8 }),
        value: fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
      }),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: ['headers'] },
);

function produceCases(valid: readonly Buffer[]): fc.Arbitrary<Case> {
  return fc
    .record({
      topic: topicArb({ known: 6, missing: 2, bad: 1, empty: 1 }),
      mode: weighted<'records' | 'batches' | 'none' | 'both'>(
        [6, fc.constant('records')],
        [6, fc.constant('batches')],
        [1, fc.constant('none')],
        [1, fc.constant('both')],
      ),
      partition: fc.option(partitionArb, { nil: undefined, freq: 4 }),
      /** Whether `partition` is sent along with batches too (a defect). */
      partitionWithBatches: weighted<boolean>([1, fc.constant(true)], [6, fc.constant(false)]),
      acks: weighted<string | number>(
        [10, fc.constantFrom('ACKS_UNSPECIFIED', 'ACKS_NONE', 'ACKS_LEADER', 'ACKS_ALL')],
        [1, unknownEnum(3)],
      ),
      compression: weighted<string | number>(
        [10, fc.constantFrom('COMPRESSION_NONE', 'COMPRESSION_GZIP', 'COMPRESSION_SNAPPY')],
        [1, unknownEnum(2)],
      ),
      records: fc.array(recordArb, { minLength: 1, maxLength: 4 }),
      batches: fc.array(fc.record({ partition: partitionArb, spec: batchSpecArb }), {
        minLength: 1,
        maxLength: 3,
      }),
    })
    .map((g) => {
      const invalid: string[] = [];
      const withRecords = g.mode === 'records' || g.mode === 'both';
      const withBatches = g.mode === 'batches' || g.mode === 'both';
      if (g.topic.kind === 'bad' || g.topic.kind === 'empty') invalid.push('topic');
      if (g.mode === 'none' || g.mode === 'both') invalid.push('records', 'batches');
      const sendPartition = g.partition !== undefined && (!withBatches || g.partitionWithBatches);
      if (sendPartition && (withBatches || isBadPartition(g.partition!.kind))) {
        invalid.push('partition');
      }
      if (typeof g.acks === 'number') invalid.push('acks');
      if (typeof g.compression === 'number') invalid.push('compression');
      if (withRecords) {
        g.records.forEach((r, i) => {
          if (r.timestampMs !== undefined && r.timestampMs < 0) {
            invalid.push(`records[${i}].timestamp_ms`);
          }
        });
      }
      if (withBatches) {
        g.batches.forEach((b, i) => {
          if (isBadPartition(b.partition.kind)) invalid.push(`batches[${i}].partition`);
          if (b.spec.kind !== 'valid') invalid.push(`batches[${i}].record_batch`);
        });
      }
      // A well-formed request to the known topic must miss its partitions, or it would append.
      let partition = sendPartition ? g.partition?.value : undefined;
      const batchPartitions = g.batches.map((b) => b.partition.value);
      if (invalid.length === 0 && g.topic.kind === 'known') {
        if (withRecords && (partition === undefined || partition < KNOWN_PARTITIONS)) {
          partition = KNOWN_PARTITIONS + (partition ?? 0);
        }
        batchPartitions.forEach((p, i) => {
          if (p < KNOWN_PARTITIONS) batchPartitions[i] = p + KNOWN_PARTITIONS;
        });
      }
      const request: Record<string, unknown> = {
        topic: g.topic.name,
        acks: g.acks,
        compression: g.compression,
        timeoutMs: 2_000,
      };
      if (partition !== undefined) request['partition'] = partition;
      if (withRecords) request['records'] = g.records;
      if (withBatches) {
        request['batches'] = g.batches.map((b, i) => ({
          partition: batchPartitions[i],
          recordBatch: batchBytes(b.spec, valid),
        }));
      }
      const count = withRecords ? g.records.length : withBatches ? g.batches.length : 0;
      const items = Array.from({ length: count }, () => ['UNKNOWN_TOPIC_OR_PARTITION']);
      return { method: 'Produce', request, invalid, either: [], items };
    });
}

/** Topic, partition and offset of one Fetch / ListOffsets / DeleteRecords entry. */
const entryArb = fc.record({
  topic: topicArb({ known: 6, missing: 2, bad: 1, empty: 1 }),
  partition: partitionArb,
  offset: weighted<{ kind: 'inside' | 'beyond' | 'negative'; at: number }>(
    [4, fc.double({ min: 0, max: 1, noNaN: true }).map((at) => ({ kind: 'inside', at }))],
    [2, fc.integer({ min: 1, max: 2 ** 52 }).map((at) => ({ kind: 'beyond', at }))],
    [
      1,
      fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -2 }).map((at) => ({ kind: 'negative', at })),
    ],
  ),
});

type Entry = typeof entryArb extends fc.Arbitrary<infer T> ? T : never;

/** Fills the entry's invalid fields and returns its expected item codes. */
function entryExpectation(
  e: Entry,
  prefix: string,
  exp: Expectation,
  highWatermarks: readonly number[],
): { offset: number; codes: string[] } {
  if (e.topic.kind === 'empty') exp.invalid.push(`${prefix}.topic`);
  if (e.topic.kind === 'bad') exp.either.push(`${prefix}.topic`);
  if (isBadPartition(e.partition.kind)) exp.invalid.push(`${prefix}.partition`);
  const hw = e.partition.kind === 'valid' ? highWatermarks[e.partition.value]! : 0;
  let offset: number;
  if (e.offset.kind === 'negative') {
    // At most -2: DeleteRecords takes -1 as "up to the high watermark".
    offset = e.offset.at;
    exp.invalid.push(`${prefix}.offset`);
  } else if (e.offset.kind === 'beyond') {
    offset = hw + e.offset.at;
  } else {
    offset = Math.floor(e.offset.at * hw);
  }
  const known = e.topic.kind === 'known' && e.partition.kind === 'valid';
  let codes: string[];
  if (e.topic.kind === 'bad') codes = ['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_TOPIC_EXCEPTION'];
  else if (!known) codes = ['UNKNOWN_TOPIC_OR_PARTITION'];
  else if (e.offset.kind === 'beyond') codes = ['OFFSET_OUT_OF_RANGE'];
  else codes = ['NONE'];
  return { offset, codes };
}

function fetchCases(snapshot: Snapshot): fc.Arbitrary<Case> {
  const stored = new Set(snapshot.batches.flat().map((b) => b.toString('hex')));
  return fc
    .record({
      entries: entries(entryArb, 3),
      maxBytesPerPartition: fc.array(
        weighted<number>(
          [12, fc.integer({ min: 0, max: 1 << 20 })],
          [1, fc.integer({ min: 32 * 2 ** 20 + 1, max: UINT32_MAX })],
        ),
        { minLength: 3, maxLength: 3 },
      ),
      maxWaitMs: weighted<number>(
        [12, fc.integer({ min: 0, max: 50 })],
        [1, fc.integer({ min: 60_001, max: UINT32_MAX })],
      ),
      minBytes: weighted<number>(
        [12, fc.integer({ min: 0, max: 100_000 })],
        [1, fc.integer({ min: 56 * 2 ** 20 + 1, max: UINT32_MAX })],
      ),
      maxBytes: weighted<number>(
        [12, fc.integer({ min: 0, max: 8 << 20 })],
        [1, fc.integer({ min: 56 * 2 ** 20 + 1, max: UINT32_MAX })],
      ),
      format: weighted<string | number>(
        [12, fc.constantFrom('RECORDS', 'BATCHES')],
        [1, unknownEnum(1)],
      ),
    })
    .map((g) => {
      const exp = expectation();
      if (g.entries.length === 0) exp.invalid.push('partitions');
      const partitions = g.entries.map((e, i) => {
        const { offset, codes } = entryExpectation(
          e,
          `partitions[${i}]`,
          exp,
          snapshot.highWatermarks,
        );
        const maxBytes = g.maxBytesPerPartition[i]!;
        if (maxBytes > 32 * 2 ** 20) exp.invalid.push(`partitions[${i}].max_bytes`);
        exp.items.push(codes);
        return { topic: e.topic.name, partition: e.partition.value, offset, maxBytes };
      });
      if (g.maxWaitMs > 60_000) exp.invalid.push('max_wait_ms');
      if (g.minBytes > 56 * 2 ** 20) exp.invalid.push('min_bytes');
      if (g.maxBytes > 56 * 2 ** 20) exp.invalid.push('max_bytes');
      if (typeof g.format === 'number') exp.invalid.push('format');
      const request = {
        partitions,
        maxWaitMs: g.maxWaitMs,
        minBytes: g.minBytes,
        maxBytes: g.maxBytes,
        format: g.format,
      };
      const check = (response: unknown): void => {
        for (const part of (response as FetchResponse__Output).partitions) {
          if (part.errorCode !== 'NONE') continue;
          expect(part.highWatermark).toBe(snapshot.highWatermarks[part.partition]);
          for (const batch of part.recordBatches) {
            expect(
              stored.has(batch.toString('hex')),
              'a fetched batch is one of the stored ones',
            ).toBe(true);
          }
        }
      };
      return { method: 'Fetch', request, check, ...exp };
    });
}

function listOffsetsCases(snapshot: Snapshot): fc.Arbitrary<Case> {
  return fc
    .record({
      entries: entries(entryArb, 3),
      specs: fc.array(
        weighted<string | number>(
          [6, fc.constantFrom('EARLIEST', 'LATEST', 'TIMESTAMP')],
          [1, unknownEnum(2)],
        ),
        { minLength: 3, maxLength: 3 },
      ),
      timestamps: fc.array(
        weighted<number>(
          [3, fc.integer({ min: 0, max: 2 ** 42 })],
          [1, fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 })],
        ),
        { minLength: 3, maxLength: 3 },
      ),
    })
    .map((g) => {
      const exp = expectation();
      if (g.entries.length === 0) exp.invalid.push('partitions');
      const partitions = g.entries.map((e, i) => {
        const prefix = `partitions[${i}]`;
        // ListOffsets has no offset field: only the topic and partition of the entry apply.
        const { codes } = entryExpectation(
          { ...e, offset: { kind: 'inside', at: 0 } },
          prefix,
          exp,
          snapshot.highWatermarks,
        );
        const spec = g.specs[i]!;
        const timestampMs = g.timestamps[i]!;
        if (typeof spec === 'number') exp.invalid.push(`${prefix}.spec`);
        if (spec === 'TIMESTAMP' && timestampMs < 0) exp.invalid.push(`${prefix}.timestamp_ms`);
        exp.items.push(codes);
        return { topic: e.topic.name, partition: e.partition.value, spec, timestampMs };
      });
      const check = (response: unknown): void => {
        (response as ListOffsetsResponse__Output).partitions.forEach((part, i) => {
          if (part.errorCode !== 'NONE') return;
          const spec = partitions[i]!.spec;
          if (spec === 'EARLIEST') expect(part.offset).toBe(0);
          if (spec === 'LATEST') expect(part.offset).toBe(snapshot.highWatermarks[part.partition]);
        });
      };
      return {
        method: 'ListOffsets',
        request: { partitions },
        check,
        ...exp,
      };
    });
}

function deleteRecordsCases(snapshot: Snapshot): fc.Arbitrary<Case> {
  return entries(entryArb, 3).map((list) => {
    const exp = expectation();
    if (list.length === 0) exp.invalid.push('partitions');
    const partitions = list.map((e, i) => {
      // Only offsets beyond the high watermark may reach a known partition: anything at or
      // below it (or -1, "everything") would really delete records.
      const entry: Entry =
        e.offset.kind === 'inside'
          ? { ...e, offset: { kind: 'beyond', at: 1 + Math.floor(e.offset.at * 100) } }
          : e;
      const { offset, codes } = entryExpectation(
        entry,
        `partitions[${i}]`,
        exp,
        snapshot.highWatermarks,
      );
      exp.items.push(codes);
      return { topic: e.topic.name, partition: e.partition.value, offset };
    });
    return { method: 'DeleteRecords', request: { partitions }, ...exp };
  });
}

function metadataCases(): fc.Arbitrary<Case> {
  return fc
    .array(topicArb({ known: 2, missing: 3, bad: 2, empty: 1 }), { maxLength: 4 })
    .map((topics) => {
      const exp = expectation();
      topics.forEach((t, i) => {
        if (t.kind === 'empty') exp.invalid.push(`topics[${i}]`);
        if (t.kind === 'bad') exp.either.push(`topics[${i}]`);
        exp.items.push(
          t.kind === 'known' ? ['NONE'] : ['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_TOPIC_EXCEPTION'],
        );
      });
      // No names: every topic (KNOWN, SCRATCH, TIMESTAMPS).
      if (topics.length === 0) exp.items = [['NONE'], ['NONE'], ['NONE']];
      return {
        method: 'Metadata',
        request: { topics: topics.map((t) => t.name) },
        ...exp,
      };
    });
}

const TOPIC_CONFIG_NAMES = [
  'retention.ms',
  'retention.bytes',
  'max.message.bytes',
  'message.timestamp.type',
  'cleanup.policy',
  'min.insync.replicas',
];

/** A config change that is valid, or one with a defect the broker must refuse. */
const configArb = weighted<{ name: string; value: string; bad: boolean }>(
  [
    2,
    // Valid values that would do no harm even if wrongly applied (no retention deletes).
    fc.constantFrom(
      { name: 'retention.ms', value: '-1', bad: false },
      { name: 'retention.bytes', value: '-1', bad: false },
      { name: 'max.message.bytes', value: '8388608', bad: false },
      { name: 'message.timestamp.type', value: 'CreateTime', bad: false },
      { name: 'min.insync.replicas', value: '1', bad: false },
    ),
  ],
  [
    2,
    fc
      .stringMatching(/^[a-z.]{1,20}$/)
      .filter((name) => !TOPIC_CONFIG_NAMES.includes(name))
      .map((name) => ({ name, value: '1', bad: true })),
  ],
  [
    3,
    fc
      .tuple(
        fc.constantFrom(...TOPIC_CONFIG_NAMES),
        fc.oneof(
          fc
            .stringMatching(/^[a-zA-Z ]{1,10}$/)
            .filter((v) => !['delete', 'CreateTime', 'LogAppendTime'].includes(v)),
          fc.constantFrom('', '1.5', '0x10', '99999999999999999999999', '-2', ' '),
        ),
      )
      .map(([name, value]) => ({ name, value, bad: true })),
  ],
);

function createTopicsCases(): fc.Arbitrary<Case> {
  const topicSpec = fc.record({
    name: topicArb({ known: 1, missing: 3, bad: 2, empty: 1 }),
    partitions: fc.option(
      weighted<number>(
        [4, fc.integer({ min: 1, max: 16 })],
        [1, fc.integer({ min: INT32_MIN, max: 0 })],
        [1, fc.integer({ min: 10_001, max: INT32_MAX })],
      ),
      { nil: undefined },
    ),
    replicationFactor: fc.option(
      weighted<number>(
        [4, fc.constant(1)],
        [1, fc.integer({ min: 2, max: 32 })],
        [1, fc.integer({ min: INT32_MIN, max: 0 })],
        [1, fc.integer({ min: 33, max: INT32_MAX })],
      ),
      { nil: undefined },
    ),
    configs: fc.array(configArb, { maxLength: 3 }),
  });
  return fc
    .record({
      topics: entries(topicSpec, 3),
      validateOnly: fc.boolean(),
    })
    .map((g) => {
      const exp = expectation();
      if (g.topics.length === 0) exp.invalid.push('topics');
      const topics = g.topics.map((t, i) => {
        const prefix = `topics[${i}]`;
        // Names are made unique within the request, so "already exists" only means KNOWN.
        const name = t.name.kind === 'missing' ? `${t.name.name}-${i}` : t.name.name;
        const codes: string[] = [];
        if (t.name.kind === 'bad' || t.name.kind === 'empty') {
          exp.either.push(`${prefix}.name`);
          codes.push('INVALID_TOPIC_EXCEPTION');
        }
        if (t.name.kind === 'known') codes.push('TOPIC_ALREADY_EXISTS');
        if (t.partitions !== undefined && (t.partitions < 1 || t.partitions > 10_000)) {
          exp.either.push(`${prefix}.partitions`);
          codes.push('INVALID_PARTITIONS');
        }
        const rf = t.replicationFactor;
        if (rf !== undefined && rf !== 1) {
          if (rf < 1 || rf > 32) exp.either.push(`${prefix}.replication_factor`);
          codes.push('INVALID_REPLICATION_FACTOR');
        }
        const configs: Record<string, string> = {};
        for (const c of t.configs) configs[c.name] = c.value;
        // The last value of a repeated name wins in a map.
        const badConfig = Object.entries(configs).some(([n, v]) =>
          t.configs.some((c) => c.name === n && c.value === v && c.bad),
        );
        if (badConfig) codes.push('INVALID_CONFIG');
        if (codes.length === 0 && !g.validateOnly) {
          // A valid topic would really be created: give it a defect.
          configs['no.such.config'] = '1';
          codes.push('INVALID_CONFIG');
        }
        exp.items.push(codes.length === 0 ? ['NONE'] : codes);
        return {
          name,
          ...(t.partitions === undefined ? {} : { partitions: t.partitions }),
          ...(rf === undefined ? {} : { replicationFactor: rf }),
          configs,
        };
      });
      const request = { topics, validateOnly: g.validateOnly };
      return { method: 'CreateTopics', request, ...exp };
    });
}

function deleteTopicsCases(): fc.Arbitrary<Case> {
  // Never KNOWN: deleting it would be a real change.
  const names = weighted<{ kind: TopicKind; name: string }>(
    [3, missingTopicName.map((name) => ({ kind: 'missing', name }))],
    [2, badTopicName.map((name) => ({ kind: 'bad', name }))],
    [1, fc.constant({ kind: 'empty', name: '' })],
  );
  return fc.array(names, { maxLength: 3 }).map((list) => {
    const exp = expectation();
    if (list.length === 0) exp.invalid.push('names');
    list.forEach((t, i) => {
      if (t.kind === 'empty') exp.invalid.push(`names[${i}]`);
      if (t.kind === 'bad') exp.either.push(`names[${i}]`);
      exp.items.push(['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_TOPIC_EXCEPTION']);
    });
    return {
      method: 'DeleteTopics',
      request: { names: list.map((t) => t.name) },
      ...exp,
    };
  });
}

function createPartitionsCases(): fc.Arbitrary<Case> {
  const spec = fc.record({
    name: topicArb({ known: 3, missing: 2, bad: 1, empty: 1 }),
    count: weighted<number>(
      [3, fc.integer({ min: 1, max: KNOWN_PARTITIONS })],
      [1, fc.integer({ min: INT32_MIN, max: 0 })],
      [1, fc.integer({ min: 10_001, max: INT32_MAX })],
    ),
  });
  return fc
    .record({ topics: fc.array(spec, { maxLength: 3 }), validateOnly: fc.boolean() })
    .map((g) => {
      const exp = expectation();
      if (g.topics.length === 0) exp.invalid.push('topics');
      g.topics.forEach((t, i) => {
        if (t.name.kind === 'empty') exp.invalid.push(`topics[${i}].name`);
        if (t.name.kind === 'bad') exp.either.push(`topics[${i}].name`);
        const badCount = t.count < 1 || t.count > 10_000;
        if (badCount) exp.either.push(`topics[${i}].count`);
        exp.items.push(
          t.name.kind === 'known'
            ? ['INVALID_PARTITIONS']
            : badCount
              ? ['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_TOPIC_EXCEPTION', 'INVALID_PARTITIONS']
              : ['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_TOPIC_EXCEPTION'],
        );
      });
      const request = {
        topics: g.topics.map((t) => ({ name: t.name.name, count: t.count })),
        validateOnly: g.validateOnly,
      };
      return { method: 'CreatePartitions', request, ...exp };
    });
}

/** TOPIC (2) and BROKER (4) are the only resource types a request may name. */
const resourceTypeArb = weighted<string | number>(
  [5, fc.constantFrom('TOPIC', 'BROKER')],
  [1, fc.constantFrom(0, 1, 3, 'RESOURCE_TYPE_UNSPECIFIED')],
  [1, unknownEnum(4)],
);

const isValidType = (t: string | number): boolean => t === 'TOPIC' || t === 'BROKER';

function describeConfigsCases(): fc.Arbitrary<Case> {
  const resource = fc.record({
    type: resourceTypeArb,
    name: weighted<string>(
      [3, fc.constant(KNOWN)],
      [2, missingTopicName],
      [1, badTopicName],
      [1, fc.constantFrom('', '0', '7', '-1')],
    ),
  });
  return fc.array(resource, { maxLength: 3 }).map((resources) => {
    const exp = expectation();
    if (resources.length === 0) exp.invalid.push('resources');
    resources.forEach((r, i) => {
      if (!isValidType(r.type)) exp.invalid.push(`resources[${i}].type`);
      if (r.type === 'TOPIC' && r.name !== KNOWN) exp.either.push(`resources[${i}].name`);
      if (r.type === 'BROKER') {
        exp.items.push(r.name === '' || r.name === '0' ? ['NONE'] : ['INVALID_REQUEST']);
      } else {
        exp.items.push(
          r.name === KNOWN
            ? ['NONE']
            : ['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_TOPIC_EXCEPTION', 'INVALID_REQUEST'],
        );
      }
    });
    return { method: 'DescribeConfigs', request: { resources }, ...exp };
  });
}

function alterConfigsCases(): fc.Arbitrary<Case> {
  const op = fc.record({
    change: configArb,
    kind: weighted<string | number>(
      [4, fc.constant('SET')],
      [1, fc.constant('DELETE')],
      [1, unknownEnum(1)],
    ),
    emptyName: weighted<boolean>([1, fc.constant(true)], [6, fc.constant(false)]),
  });
  const resource = fc.record({
    present: weighted<boolean>([8, fc.constant(true)], [1, fc.constant(false)]),
    type: resourceTypeArb,
    name: weighted<string>(
      [4, fc.constant(KNOWN)],
      [2, missingTopicName],
      [1, badTopicName],
      [1, fc.constant('')],
    ),
    ops: entries(op, 3),
  });
  return fc
    .record({ resources: fc.array(resource, { maxLength: 2 }), validateOnly: fc.boolean() })
    .map((g) => {
      const exp = expectation();
      if (g.resources.length === 0) exp.invalid.push('resources');
      const resources = g.resources.map((r, i) => {
        const prefix = `resources[${i}]`;
        if (!r.present) {
          exp.invalid.push(`${prefix}.resource`);
          exp.items.push([]);
          return { ops: [] };
        }
        if (!isValidType(r.type)) exp.invalid.push(`${prefix}.resource.type`);
        if (r.type === 'TOPIC' && r.name !== KNOWN) exp.either.push(`${prefix}.resource.name`);
        if (r.ops.length === 0) exp.invalid.push(`${prefix}.ops`);
        let anyBad = false;
        const ops = r.ops.map((o, j) => {
          if (typeof o.kind === 'number') exp.invalid.push(`${prefix}.ops[${j}].op`);
          const name = o.emptyName ? '' : o.change.name;
          if (name === '') exp.invalid.push(`${prefix}.ops[${j}].name`);
          // DELETE takes no value, so only an unknown name makes it bad.
          if (o.kind === 'DELETE' ? !TOPIC_CONFIG_NAMES.includes(name) : o.change.bad)
            anyBad = true;
          return { name, value: o.change.value, op: o.kind };
        });
        if (
          r.type === 'TOPIC' &&
          r.name === KNOWN &&
          ops.length > 0 &&
          !anyBad &&
          !g.validateOnly
        ) {
          // A valid change would really alter the known topic: add a defect.
          ops.push({ name: 'no.such.config', value: '1', op: 'SET' });
          anyBad = true;
        }
        // Only node ids (or '') name brokers, and no generated name is a dynamic broker config.
        if (r.type === 'BROKER') exp.items.push(['INVALID_REQUEST', 'INVALID_CONFIG']);
        else if (r.name !== KNOWN)
          exp.items.push([
            'UNKNOWN_TOPIC_OR_PARTITION',
            'INVALID_CONFIG',
            'INVALID_TOPIC_EXCEPTION',
          ]);
        // Kafka refuses a name set twice in one resource with INVALID_REQUEST.
        else if (anyBad && new Set(ops.map((o) => o.name)).size < ops.length) {
          exp.items.push(['INVALID_CONFIG', 'INVALID_REQUEST']);
        } else exp.items.push(anyBad ? ['INVALID_CONFIG'] : ['NONE']);
        return { resource: { type: r.type, name: r.name }, ops };
      });
      return {
        method: 'AlterConfigs',
        request: { resources, validateOnly: g.validateOnly },
        ...exp,
      };
    });
}

// ---- the tests -------------------------------------------------------------------------------

let broker: BrokerProcess | undefined;
let clients: Clients;
let snapshot: Snapshot;
/** Pre-encoded valid batches the generators mutate: plain, gzip with headers, snappy. */
const validBatches: Buffer[] = [];
const fcOptions = (numRuns: number): fc.Parameters<[Case]> => ({
  numRuns,
  seed: SEED,
  interruptAfterTimeLimit: 60_000,
  markInterruptAsFailure: true,
});

beforeAll(async () => {
  expect(existsSync(BUILT_CLI), `${BUILT_CLI} is missing; run npm run build`).toBe(true);
  console.log(`[bad-input] fast-check seed ${SEED} (set BROOK_FC_SEED to replay)`);
  broker = await startBroker();
  clients = connect(broker.address);
  const created = await unary<CreateTopicsResponse__Output>(clients.admin, 'CreateTopics', {
    topics: [
      { name: KNOWN, partitions: KNOWN_PARTITIONS, replicationFactor: 1 },
      {
        name: SCRATCH,
        partitions: 1,
        configs: { 'max.message.bytes': String(SCRATCH_MAX_MESSAGE_BYTES) },
      },
      { name: TIMESTAMPS, partitions: 1 },
    ],
  });
  expect(created.results.map((r) => r.errorCode)).toEqual(['NONE', 'NONE', 'NONE']);
  await produceKnownData(clients);
  const t = Date.now();
  const input = (n: number): RecordInput[] =>
    Array.from({ length: n }, (_, i) => ({
      key: i % 2 === 0 ? null : Buffer.from(`k${i}`),
      value: Buffer.from(`fuzz-${n}-${i}`),
      timestampMs: t + i,
      headers: i === 0 ? [{ key: 'h', value: Buffer.from('v') }] : [],
    }));
  validBatches.push(await encodeBatch(input(1)));
  validBatches.push(await encodeBatch(input(3), { compression: Compression.GZIP }));
  validBatches.push(await encodeBatch(input(4), { compression: Compression.SNAPPY }));
  snapshot = await takeSnapshot(clients);
  // The known records read back as produced (the baseline for the final check).
  for (let p = 0; p < KNOWN_PARTITIONS; p++) {
    const decoded = (await Promise.all(snapshot.batches[p]!.map((b) => decodeRecords(b)))).flat();
    expect(
      decoded.map((r) => ({
        key: r.key,
        value: r.value,
        timestampMs: r.timestampMs,
        headers: r.headers,
      })),
    ).toEqual(knownRecords[p]);
  }
}, 60_000);

afterAll(async () => {
  const summary = [...outcomes].sort(([a], [b]) => a.localeCompare(b));
  console.log(`[bad-input] outcomes:\n${summary.map(([k, n]) => `  ${n} x ${k}`).join('\n')}`);
  clients?.close();
  await broker?.cleanup();
});

describe('generated bad input', () => {
  /** Runs `numRuns` generated cases through expectOutcome. */
  const assertCases = (cases: fc.Arbitrary<Case>, numRuns: number): Promise<void> =>
    fc.assert(
      fc.asyncProperty(cases, (c) => expectOutcome(clients, c)),
      fcOptions(numRuns),
    );

  it('Produce: malformed requests are refused naming the field; none appends', async () => {
    await assertCases(produceCases(validBatches), 40);
  });

  it('Fetch and ListOffsets: bad entries are refused or answered per partition', async () => {
    await assertCases(fc.oneof(fetchCases(snapshot), listOffsetsCases(snapshot)), 30);
  });

  it('Admin changes: bad topics, counts, configs and offsets are refused; nothing changes', async () => {
    const cases = fc.oneof(
      createTopicsCases(),
      deleteTopicsCases(),
      createPartitionsCases(),
      alterConfigsCases(),
      deleteRecordsCases(snapshot),
    );
    await assertCases(cases, 45);
  });

  it('DescribeConfigs and Metadata: bad resources and names are refused or answered per item', async () => {
    await assertCases(fc.oneof(describeConfigsCases(), metadataCases()), 15);
  });

  it('garbage bytes as a request message get an error status, never a crash', async () => {
    const anyMethod = [
      '/brook.v1.Broker/Produce',
      '/brook.v1.Broker/Fetch',
      '/brook.v1.Admin/CreateTopics',
      '/brook.v1.Admin/DeleteTopics',
      '/brook.v1.Admin/CreatePartitions',
      '/brook.v1.Admin/AlterConfigs',
      '/brook.v1.Admin/DeleteRecords',
      '/brook.v1.Admin/AlterPartitionReassignments',
      '/brook.v1.Admin/UnregisterBroker',
    ];
    const neverWaiting = [
      '/brook.v1.Broker/ListOffsets',
      '/brook.v1.Broker/Metadata',
      '/brook.v1.Admin/DescribeConfigs',
      '/brook.v1.Admin/DescribeCluster',
      '/brook.v1.Admin/ListPartitionReassignments',
    ];
    const garbage = fc.oneof(
      // Field 2047 with wire type 7 (or 6): no protobuf decoder can accept it.
      fc
        .record({
          method: fc.constantFrom(...anyMethod, ...neverWaiting),
          tag: fc.constantFrom([0xff, 0x7f], [0xfe, 0x7f]),
          tail: fc.uint8Array({ maxLength: 64 }),
        })
        .map((g) => ({
          method: g.method,
          bytes: Buffer.concat([Buffer.from(g.tag), g.tail]),
          decodable: false,
        })),
      // Anything at all, to calls that change nothing and never wait.
      fc
        .record({
          method: fc.constantFrom(...neverWaiting),
          bytes: fc.uint8Array({ maxLength: 200 }),
        })
        .map((g) => ({ method: g.method, bytes: Buffer.from(g.bytes), decodable: true })),
    );
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(garbage, async (g) => {
        let code = grpc.status.OK;
        let details = '';
        try {
          await rawUnary(clients.raw, g.method, g.bytes);
        } catch (caught) {
          const error = caught as grpc.ServiceError;
          code = error.code;
          details = error.details;
        }
        const key = `${statusName(code)} ${details.slice(0, 40)}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        const context = `${g.method} <${g.bytes.toString('hex')}>: ${statusName(code)} "${details}"`;
        expect(code, `${context}: hung`).not.toBe(grpc.status.DEADLINE_EXCEEDED);
        expect(code, `${context}: UNKNOWN`).not.toBe(grpc.status.UNKNOWN);
        expect(code, `${context}: INTERNAL`).not.toBe(grpc.status.INTERNAL);
        if (!g.decodable) {
          // The broker decodes tolerantly, so bytes that are not the method's message are a
          // malformed request like any other (api.md), not grpc-js's INTERNAL.
          expect(code, `${context}: an undecodable request succeeded`).toBe(
            grpc.status.INVALID_ARGUMENT,
          );
          expect(details, context).toMatch(/^request: is not a valid protobuf message/);
        }
      }),
      { numRuns: 20, seed: SEED },
    );
    console.log(`[bad-input] garbage outcomes: ${show(Object.fromEntries(seen))}`);
  });
});

describe('hand-written bad input', () => {
  type Request = Record<string, unknown>;
  /**
   * Cases by name (after the method's): the request, or a function that builds it when the case
   * runs (for what beforeAll makes), and what it must get.
   */
  type Table = Record<string, [request: Request | (() => Request), expected: Expectation]>;

  /** Refused with INVALID_ARGUMENT naming one of `fields`. */
  const refused = (...fields: string[]): Expectation => ({
    invalid: fields,
    either: [],
    items: [],
  });
  /** Answered with item i carrying one of items[i]. */
  const answered = (...items: string[][]): Expectation => ({ invalid: [], either: [], items });
  /** Refused with INVALID_ARGUMENT naming `field`, or answered with these item codes. */
  const refusedOr = (field: string, ...items: string[][]): Expectation => ({
    invalid: [],
    either: [field],
    items,
  });
  /** The cases of one method, named "<method> <name>"; `wrap` adds what all its requests carry. */
  const rows = (
    method: string,
    table: Table,
    wrap: (request: Request) => Request = (request) => request,
  ): [string, () => Case][] =>
    Object.entries(table).map(([name, [request, expected]]) => [
      `${method} ${name}`,
      () => ({
        method,
        request: wrap(typeof request === 'function' ? request() : request),
        ...expected,
      }),
    ]);
  /** "no <field> -> INVALID_ARGUMENT <field>": the request's one list left empty. */
  const emptyList = (field: string): Table => ({
    [`no ${field} -> INVALID_ARGUMENT ${field}`]: [{ [field]: [] }, refused(field)],
  });

  const UNKNOWN = ['UNKNOWN_TOPIC_OR_PARTITION'];
  const OUT_OF_RANGE = ['OFFSET_OUT_OF_RANGE'];
  const INVALID_TOPIC = ['INVALID_TOPIC_EXCEPTION'];
  const INVALID_CONFIG = ['INVALID_CONFIG'];
  const INVALID_REQUEST = ['INVALID_REQUEST'];

  const produce = (request: Request): Request => ({ acks: 'ACKS_ALL', ...request });
  const records = [{ value: Buffer.from('x') }];
  /** A Produce of batches to the known topic, each given as [partition, bytes]. */
  const batchesToKnown = (...batches: [number, Buffer | undefined][]): Request => ({
    topic: KNOWN,
    batches: batches.map(([partition, recordBatch]) => ({ partition, recordBatch })),
  });
  /** Valid batch `base` claiming `count` records, its last offset delta and CRC made to match. */
  const miscounted = (base: number, count: number): Buffer =>
    batchBytes({ kind: 'count', base, count, fixDelta: true, fixCrc: true }, validBatches);
  const p0 = { topic: KNOWN, partition: 0, offset: 0 };
  /** An AlterConfigs of one resource (the known topic unless given). */
  const alter = (ops: object[], resource: object = { type: 'TOPIC', name: KNOWN }): Request => ({
    resources: [{ resource, ops }],
  });
  const retention1 = { name: 'retention.ms', value: '1' };

  const cases: [string, () => Case][] = [
    ...rows(
      'Produce',
      {
        'topic "" -> INVALID_ARGUMENT topic': [{ topic: '', records }, refused('topic')],
        'topic of 250 chars -> INVALID_ARGUMENT topic': [
          { topic: 'a'.repeat(250), records },
          refused('topic'),
        ],
        'topic "a/b" -> INVALID_ARGUMENT topic': [{ topic: 'a/b', records }, refused('topic')],
        'topic ".." -> INVALID_ARGUMENT topic': [{ topic: '..', records }, refused('topic')],
        'to a missing topic -> UNKNOWN_TOPIC_OR_PARTITION per record': [
          { topic: `${MISSING}x`, records: [...records, ...records] },
          answered(UNKNOWN, UNKNOWN),
        ],
        'partition -1 -> INVALID_ARGUMENT partition': [
          { topic: KNOWN, partition: -1, records },
          refused('partition'),
        ],
        'partition 3 of 3 -> UNKNOWN_TOPIC_OR_PARTITION': [
          { topic: KNOWN, partition: 3, records },
          answered(UNKNOWN),
        ],
        'partition 2^31-1 -> INVALID_ARGUMENT partition': [
          { topic: KNOWN, partition: INT32_MAX, records },
          refused('partition'),
        ],
        'with no records -> INVALID_ARGUMENT records': [
          { topic: KNOWN },
          refused('records', 'batches'),
        ],
        'with records and batches -> INVALID_ARGUMENT': [
          () => ({ ...batchesToKnown([0, validBatches[0]]), records }),
          refused('records', 'batches'),
        ],
        'acks 9 -> INVALID_ARGUMENT acks': [
          { topic: KNOWN, partition: 0, records, acks: 9 },
          refused('acks'),
        ],
        'acks -1 -> INVALID_ARGUMENT acks': [
          { topic: KNOWN, partition: 0, records, acks: -1 },
          refused('acks'),
        ],
        'compression 3 (zstd) -> INVALID_ARGUMENT compression': [
          { topic: KNOWN, partition: 0, records, compression: 3 },
          refused('compression'),
        ],
        'records[1].timestamp_ms -5 -> INVALID_ARGUMENT': [
          {
            topic: KNOWN,
            partition: 0,
            records: [
              { value: Buffer.from('a'), timestampMs: 1 },
              { value: Buffer.from('b'), timestampMs: -5 },
            ],
          },
          refused('records[1].timestamp_ms'),
        ],
        'batches[0] of random bytes -> INVALID_ARGUMENT batches[0].record_batch': [
          () => batchesToKnown([0, randomBytes(100)]),
          refused('batches[0].record_batch'),
        ],
        'batches[0] empty -> INVALID_ARGUMENT batches[0].record_batch': [
          () => batchesToKnown([0, Buffer.alloc(0)]),
          refused('batches[0].record_batch'),
        ],
        'batches[1] with a flipped byte -> INVALID_ARGUMENT batches[1].record_batch': [
          () =>
            batchesToKnown(
              [0, validBatches[0]],
              [1, batchBytes({ kind: 'flip', base: 1, at: 0.7, bit: 3 }, validBatches)],
            ),
          refused('batches[1].record_batch'),
        ],
        'batches[0] truncated -> INVALID_ARGUMENT batches[0].record_batch': [
          () => batchesToKnown([0, validBatches[2]!.subarray(0, validBatches[2]!.length - 1)]),
          refused('batches[0].record_batch'),
        ],
        'batches[0] claiming 2^31-1 records (CRC fixed) -> INVALID_ARGUMENT': [
          () => batchesToKnown([0, miscounted(0, INT32_MAX)]),
          refused('batches[0].record_batch'),
        ],
        'batches[0] claiming 5 of its 3 records (CRC fixed) -> INVALID_ARGUMENT': [
          () => batchesToKnown([0, miscounted(1, 5)]),
          refused('batches[0].record_batch'),
        ],
        'batches[0].partition -3 -> INVALID_ARGUMENT': [
          () => batchesToKnown([-3, validBatches[0]]),
          refused('batches[0].partition'),
        ],
        'batches to partition 7 of 3 -> UNKNOWN_TOPIC_OR_PARTITION': [
          () => batchesToKnown([7, validBatches[0]]),
          answered(UNKNOWN),
        ],
        'a record over the 8 MiB limit -> INVALID_ARGUMENT records[0]': [
          () => ({
            topic: SCRATCH,
            partition: 0,
            records: [{ value: Buffer.alloc(8 * 1024 * 1024 + 1) }],
          }),
          refused('records[0]', 'records[0].value'),
        ],
        'a batch over max.message.bytes -> RECORD_TOO_LARGE': [
          () => ({
            topic: SCRATCH,
            partition: 0,
            records: [{ value: Buffer.alloc(SCRATCH_MAX_MESSAGE_BYTES * 2) }],
          }),
          refusedOr('records[0]', ['RECORD_TOO_LARGE']),
        ],
      },
      produce,
    ),

    ...rows('Fetch', {
      ...emptyList('partitions'),
      'offset -1 -> INVALID_ARGUMENT partitions[0].offset': [
        { partitions: [{ ...p0, offset: -1 }] },
        refused('partitions[0].offset'),
      ],
      'partition -1 -> INVALID_ARGUMENT partitions[0].partition': [
        { partitions: [{ ...p0, partition: -1 }] },
        refused('partitions[0].partition'),
      ],
      'topic "" -> INVALID_ARGUMENT partitions[1].topic': [
        { partitions: [p0, { ...p0, topic: '' }] },
        refused('partitions[1].topic'),
      ],
      'max_wait_ms 2^32-1 -> INVALID_ARGUMENT max_wait_ms': [
        { partitions: [p0], maxWaitMs: UINT32_MAX },
        refused('max_wait_ms'),
      ],
      'format 5 -> INVALID_ARGUMENT format': [{ partitions: [p0], format: 5 }, refused('format')],
      'beyond the high watermark -> OFFSET_OUT_OF_RANGE': [
        () => ({ partitions: [{ ...p0, offset: snapshot.highWatermarks[0]! + 1 }] }),
        answered(OUT_OF_RANGE),
      ],
      'a missing topic and partition 3 -> UNKNOWN_TOPIC_OR_PARTITION': [
        {
          partitions: [
            { ...p0, topic: `${MISSING}x` },
            { ...p0, partition: 3 },
          ],
        },
        answered(UNKNOWN, UNKNOWN),
      ],
    }),

    ...rows('ListOffsets', {
      ...emptyList('partitions'),
      'spec 7 -> INVALID_ARGUMENT partitions[0].spec': [
        { partitions: [{ topic: KNOWN, partition: 0, spec: 7 }] },
        refused('partitions[0].spec'),
      ],
      'TIMESTAMP -2 -> INVALID_ARGUMENT partitions[0].timestamp_ms': [
        { partitions: [{ topic: KNOWN, partition: 0, spec: 'TIMESTAMP', timestampMs: -2 }] },
        refused('partitions[0].timestamp_ms'),
      ],
      'partition -1 -> INVALID_ARGUMENT partitions[0].partition': [
        { partitions: [{ topic: KNOWN, partition: -1, spec: 'LATEST' }] },
        refused('partitions[0].partition'),
      ],
      'missing topic -> UNKNOWN_TOPIC_OR_PARTITION': [
        { partitions: [{ topic: `${MISSING}x`, partition: 0, spec: 'LATEST' }] },
        answered(UNKNOWN),
      ],
    }),

    ...rows('Metadata', {
      'topic "" -> INVALID_ARGUMENT topics[0]': [{ topics: [''] }, refused('topics[0]')],
      'missing topic -> UNKNOWN_TOPIC_OR_PARTITION': [
        { topics: [KNOWN, `${MISSING}x`] },
        answered(['NONE'], UNKNOWN),
      ],
    }),

    ...rows('CreateTopics', {
      ...emptyList('topics'),
      'bad names -> INVALID_TOPIC_EXCEPTION': [
        { topics: [{ name: 'bad name!' }, { name: '..' }, { name: 'x'.repeat(250) }] },
        answered(INVALID_TOPIC, INVALID_TOPIC, INVALID_TOPIC),
      ],
      'existing -> TOPIC_ALREADY_EXISTS': [
        { topics: [{ name: KNOWN }] },
        answered(['TOPIC_ALREADY_EXISTS']),
      ],
      'replication factor 2 on 1 broker -> INVALID_REPLICATION_FACTOR': [
        { topics: [{ name: `${MISSING}rf`, replicationFactor: 2 }] },
        answered(['INVALID_REPLICATION_FACTOR']),
      ],
      'partitions 0 -> INVALID_ARGUMENT or INVALID_PARTITIONS': [
        { topics: [{ name: `${MISSING}p`, partitions: 0 }] },
        refusedOr('topics[0].partitions', ['INVALID_PARTITIONS']),
      ],
      'unknown config -> INVALID_CONFIG': [
        { topics: [{ name: `${MISSING}c`, configs: { 'no.such.config': '1' } }] },
        answered(INVALID_CONFIG),
      ],
      'retention.ms "forever" -> INVALID_CONFIG': [
        { topics: [{ name: `${MISSING}c`, configs: { 'retention.ms': 'forever' } }] },
        answered(INVALID_CONFIG),
      ],
    }),

    ...rows('DeleteTopics', {
      ...emptyList('names'),
      '"" -> INVALID_ARGUMENT names[0]': [{ names: [''] }, refused('names[0]')],
      'missing -> UNKNOWN_TOPIC_OR_PARTITION': [{ names: [`${MISSING}x`] }, answered(UNKNOWN)],
    }),

    ...rows('CreatePartitions', {
      'count 0 -> INVALID_ARGUMENT topics[0].count': [
        { topics: [{ name: KNOWN, count: 0 }] },
        refusedOr('topics[0].count', ['INVALID_PARTITIONS']),
      ],
      'shrink or same -> INVALID_PARTITIONS': [
        { topics: [{ name: KNOWN, count: 2 }] },
        answered(['INVALID_PARTITIONS']),
      ],
      'missing -> UNKNOWN_TOPIC_OR_PARTITION': [
        { topics: [{ name: `${MISSING}x`, count: 5 }] },
        answered(UNKNOWN),
      ],
    }),

    ...rows('DescribeConfigs', {
      ...emptyList('resources'),
      'type 3 -> INVALID_ARGUMENT resources[0].type': [
        { resources: [{ type: 3, name: KNOWN }] },
        refused('resources[0].type'),
      ],
      'type UNSPECIFIED -> INVALID_ARGUMENT resources[0].type': [
        { resources: [{ type: 'RESOURCE_TYPE_UNSPECIFIED', name: KNOWN }] },
        refused('resources[0].type'),
      ],
      'missing topic -> UNKNOWN_TOPIC_OR_PARTITION': [
        { resources: [{ type: 'TOPIC', name: `${MISSING}x` }] },
        answered(UNKNOWN),
      ],
      'another broker -> INVALID_REQUEST': [
        { resources: [{ type: 'BROKER', name: '7' }] },
        answered(INVALID_REQUEST),
      ],
    }),

    ...rows('AlterConfigs', {
      ...emptyList('resources'),
      'resource unset -> INVALID_ARGUMENT resources[0].resource': [
        { resources: [{ ops: [retention1] }] },
        refused('resources[0].resource'),
      ],
      'type 9 -> INVALID_ARGUMENT resources[0].resource.type': [
        alter([retention1], { type: 9, name: KNOWN }),
        refused('resources[0].resource.type'),
      ],
      'no ops -> INVALID_ARGUMENT resources[0].ops': [alter([]), refused('resources[0].ops')],
      'op name "" -> INVALID_ARGUMENT resources[0].ops[0].name': [
        alter([{ name: '', value: '1' }]),
        refused('resources[0].ops[0].name'),
      ],
      'op 5 -> INVALID_ARGUMENT resources[0].ops[1].op': [
        alter([retention1, { name: 'retention.bytes', value: '1', op: 5 }]),
        refused('resources[0].ops[1].op'),
      ],
      'unknown key -> INVALID_CONFIG': [
        alter([{ name: 'no.such.config', value: '1' }]),
        answered(INVALID_CONFIG),
      ],
      'a valid and a bad value together -> INVALID_CONFIG, neither applied': [
        alter([
          { name: 'retention.ms', value: '-1' },
          { name: 'retention.bytes', value: 'lots' },
        ]),
        answered(INVALID_CONFIG),
      ],
      'a bad value then a good one for the same name -> refused, nothing applied': [
        alter(
          [
            { name: 'retention.ms', value: 'lots' },
            { name: 'retention.ms', value: '-1' },
          ],
          { type: 'TOPIC', name: SCRATCH },
        ),
        answered(['INVALID_CONFIG', 'INVALID_REQUEST']),
      ],
      'missing topic -> UNKNOWN_TOPIC_OR_PARTITION': [
        alter([retention1], { type: 'TOPIC', name: `${MISSING}x` }),
        answered(UNKNOWN),
      ],
      'a static broker config -> INVALID_CONFIG': [
        alter([{ name: 'log.retention.ms', value: '1' }], { type: 'BROKER', name: '0' }),
        answered(INVALID_CONFIG),
      ],
      'a broker named by something other than a node id -> INVALID_REQUEST': [
        alter([{ name: 'leader.replication.throttled.rate', value: '1000' }], {
          type: 'BROKER',
          name: 'broker-0',
        }),
        answered(INVALID_REQUEST),
      ],
      'a throttle of 0 bytes/s -> INVALID_CONFIG': [
        alter([{ name: 'leader.replication.throttled.rate', value: '0' }], {
          type: 'BROKER',
          name: '',
        }),
        answered(INVALID_CONFIG),
      ],
    }),

    ...rows('DeleteRecords', {
      ...emptyList('partitions'),
      'offset -2 -> INVALID_ARGUMENT partitions[0].offset': [
        { partitions: [{ ...p0, offset: -2 }] },
        refused('partitions[0].offset'),
      ],
      'beyond the high watermark -> OFFSET_OUT_OF_RANGE': [
        () => ({
          partitions: [
            { ...p0, offset: snapshot.highWatermarks[0]! + 1 },
            { ...p0, partition: 1, offset: Number.MAX_SAFE_INTEGER },
          ],
        }),
        answered(OUT_OF_RANGE, OUT_OF_RANGE),
      ],
      'missing topic or partition -> UNKNOWN_TOPIC_OR_PARTITION': [
        {
          partitions: [
            { topic: `${MISSING}x`, partition: 0, offset: -1 },
            { topic: KNOWN, partition: 3, offset: -1 },
          ],
        },
        answered(UNKNOWN, UNKNOWN),
      ],
    }),
  ];

  it.each(cases)('%s', async (_name, make) => {
    await expectOutcome(clients, make());
  });

  it('Produce of a batch with negative timestamps is refused like records with them', async () => {
    const batch = await encodeBatch([
      { key: null, value: Buffer.from('a'), timestampMs: -5, headers: [] },
      { key: null, value: Buffer.from('b'), timestampMs: -1, headers: [] },
    ]);
    await expectOutcome(clients, {
      method: 'Produce',
      request: produce({ topic: TIMESTAMPS, batches: [{ partition: 0, recordBatch: batch }] }),
      ...refusedOr('batches[0].record_batch', ['INVALID_TIMESTAMP', 'INVALID_RECORD']),
    });
  });

  it('Subscribe with a bad request ends the stream with the matching status', async () => {
    const subscribe = (request: object): Promise<grpc.ServiceError | null> =>
      new Promise((resolve) => {
        const fn = (
          clients.broker as unknown as Record<
            string,
            (r: object, o: grpc.CallOptions) => grpc.ClientReadableStream<SubscribeResponse__Output>
          >
        )['Subscribe']!;
        const stream = fn.call(clients.broker, request, { deadline: Date.now() + DEADLINE_MS });
        stream.on('data', () => undefined);
        stream.on('error', (error: grpc.ServiceError) => resolve(error));
        stream.on('end', () => resolve(null));
      });
    // Concurrently, so a stream that never ends costs one deadline, not four.
    const outcome = async (request: object): Promise<string> => {
      const error = await subscribe(request);
      return error === null ? 'OK' : `${statusName(error.code)} ${error.details.split(':')[0]}`;
    };
    const outcomes = await Promise.all([
      outcome({ topic: KNOWN, partition: 0, offset: -1 }),
      outcome({ topic: KNOWN, partition: 0, offset: 0, format: 9 }),
      outcome({ topic: `${MISSING}x`, partition: 0, offset: 0 }),
      outcome({ topic: KNOWN, partition: 0, offset: snapshot.highWatermarks[0]! + 5 }),
    ]);
    expect(outcomes.map((o) => o.split(' ')[0])).toEqual([
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'NOT_FOUND',
      'OUT_OF_RANGE',
    ]);
    expect(outcomes.slice(0, 2)).toEqual(['INVALID_ARGUMENT offset', 'INVALID_ARGUMENT format']);
  });

  it('ProduceStream answers a bad request in-band and keeps the stream open', async () => {
    const fn = (
      clients.broker as unknown as Record<
        string,
        (o: grpc.CallOptions) => grpc.ClientDuplexStream<object, ProduceStreamResponse__Output>
      >
    )['ProduceStream']!;
    const stream = fn.call(clients.broker, { deadline: Date.now() + DEADLINE_MS });
    const answers: ProduceStreamResponse__Output[] = [];
    const ended = new Promise<grpc.ServiceError | null>((resolve) => {
      stream.on('data', (answer: ProduceStreamResponse__Output) => answers.push(answer));
      stream.on('error', (error: grpc.ServiceError) => resolve(error));
      stream.on('end', () => resolve(null));
    });
    stream.write({ requestId: 1, request: { topic: '', records } });
    stream.write({ requestId: 2, request: { topic: KNOWN, partition: 0, records, acks: 7 } });
    stream.write({ requestId: 3 });
    stream.write({ requestId: 4, request: { topic: `${MISSING}x`, records } });
    stream.end();
    expect(await ended).toBeNull();
    const byId = new Map(answers.map((a) => [a.requestId, a]));
    // Requests 1 to 3 are refused in-band: INVALID_ARGUMENT (3) naming the field.
    for (const [id, field] of [
      [1, 'topic'],
      [2, 'acks'],
      [3, 'request'],
    ] as const) {
      const answer = byId.get(id);
      expect([answer?.statusCode, answer?.statusMessage.split(':')[0]]).toEqual([3, field]);
    }
    expect(byId.get(4)?.statusCode).toBe(0);
    expect(byId.get(4)?.response?.results.map((r) => r.errorCode)).toEqual([
      'UNKNOWN_TOPIC_OR_PARTITION',
    ]);
  });
});

describe('after all the bad input', () => {
  it('the node is alive, SERVING, and its data and topics are unchanged', async () => {
    expect(broker?.isRunning(), 'the server process is alive').toBe(true);
    const health = await unary<{ status: string }>(clients.health, 'Check', { service: '' });
    expect(health.status).toBe('SERVING');
    const after = await takeSnapshot(clients);
    for (let p = 0; p < KNOWN_PARTITIONS; p++) {
      expect(after.highWatermarks[p], `${KNOWN}-${p} high watermark`).toBe(
        snapshot.highWatermarks[p],
      );
      expect(
        after.batches[p]!.map((b) => b.toString('hex')),
        `${KNOWN}-${p} bytes`,
      ).toEqual(snapshot.batches[p]!.map((b) => b.toString('hex')));
    }
    expect(after.scratchHighWatermark, `${SCRATCH} high watermark`).toBe(
      snapshot.scratchHighWatermark,
    );
    expect([...after.topics].sort(), 'topics (name, id, partitions)').toEqual(
      [...snapshot.topics].sort(),
    );
    expect(after.configs, 'topic configs').toBe(snapshot.configs);
    expect(broker?.errorLines(), 'error or fatal lines in the broker log').toEqual([]);
  });
});
