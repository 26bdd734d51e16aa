/**
 * The Prometheus endpoint of a real `brook server` process: one node started with
 * --metrics-listen on a free port takes produces, fetches, a failing call and a group offset
 * commit over gRPC, and each test scrapes /metrics over HTTP and compares the counters' moves
 * and the gauges with what the same node answers over gRPC. A second node without
 * metrics.listen shows that no port besides the gRPC one is opened, by reading the process's
 * listening sockets from /proc (Linux).
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch } from '../../../src/codec/index.js';
import { Admin } from '../../../src/client/index.js';
import type {
  CreateTopicsResponse__Output as CreateTopicsResponse,
  FetchResponse__Output as FetchResponse,
  ListOffsetsResponse__Output as ListOffsetsResponse,
  ProduceResponse__Output as ProduceResponse,
} from '../../../src/proto/index.js';
import { freePort, startBroker, type BrokerProcess } from '../../helpers/broker-process.js';
import { call, callError, rawClients, type RawClients } from '../../helpers/grpc.js';

const TOPIC = 'metered';
const PRODUCE = 'brook.v1.Broker/Produce';
const FETCH = 'brook.v1.Broker/Fetch';

let server: BrokerProcess;
let metricsAddress: string;
let c: RawClients;

beforeAll(async () => {
  const metricsPort = await freePort();
  metricsAddress = `127.0.0.1:${metricsPort}`;
  server = await startBroker({
    extraArgs: ['--metrics-listen', metricsAddress, '--offsets-topic-num-partitions', '1'],
  });
  c = rawClients(server.address);
  const created = await call<CreateTopicsResponse>(c.admin, 'CreateTopics', {
    topics: [{ name: TOPIC, partitions: 2 }],
  });
  expect(created.results[0]?.errorCode).toBe('NONE');
});
afterAll(async () => {
  c?.close();
  await server?.cleanup();
});

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a text exposition (comments skipped). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function get(
  address: string,
  pathname: string,
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`http://${address}${pathname}`, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body }),
        );
      })
      .on('error', reject);
  });
}

class Scrape {
  constructor(readonly samples: readonly Sample[]) {}

  static async take(): Promise<Scrape> {
    const got = await get(metricsAddress, '/metrics');
    expect(got.status).toBe(200);
    expect(got.type).toMatch(/^text\/plain; version=0\.0\.4/);
    return new Scrape(parseExposition(got.body));
  }

  /** The one sample of `name` whose labels include `labels`; 0 when there is none. */
  value(name: string, labels: Record<string, string> = {}): number {
    const found = this.matching(name, labels);
    if (found.length > 1)
      throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} samples`);
    return found[0]?.value ?? 0;
  }

  matching(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  }

  has(name: string): boolean {
    return this.samples.some((s) => s.name === name);
  }
}

async function listOffset(partition: number, spec: 'EARLIEST' | 'LATEST'): Promise<number> {
  const res = await call<ListOffsetsResponse>(c.broker, 'ListOffsets', {
    partitions: [{ topic: TOPIC, partition, spec }],
  });
  expect(res.partitions[0]?.errorCode).toBe('NONE');
  return res.partitions[0]!.offset;
}

describe('metrics endpoint', () => {
  it('counts produce and fetch calls, their latency and the batch bytes in and out', async () => {
    const before = await Scrape.take();
    const batches = [
      await encodeBatch(
        [0, 1, 2].map((i) => ({
          key: null,
          value: Buffer.alloc(200, i),
          timestampMs: 1,
          headers: [],
        })),
      ),
      await encodeBatch([{ key: null, value: Buffer.alloc(500, 9), timestampMs: 1, headers: [] }]),
    ];
    const batchBytes = batches.reduce((sum, b) => sum + b.length, 0);
    const byBatches = await call<ProduceResponse>(c.broker, 'Produce', {
      topic: TOPIC,
      batches: batches.map((recordBatch) => ({ partition: 0, recordBatch })),
      acks: 'ACKS_ALL',
    });
    expect(byBatches.results.map((r) => r.errorCode)).toEqual(['NONE', 'NONE']);
    const values = [Buffer.alloc(300, 1), Buffer.alloc(300, 2)];
    const byRecords = await call<ProduceResponse>(c.broker, 'Produce', {
      topic: TOPIC,
      partition: 1,
      records: values.map((value) => ({ value })),
      acks: 'ACKS_ALL',
    });
    expect(byRecords.results.map((r) => r.errorCode)).toEqual(['NONE', 'NONE']);
    const fetched = await call<FetchResponse>(c.broker, 'Fetch', {
      partitions: [{ topic: TOPIC, partition: 0, offset: 0 }],
      format: 'BATCHES',
    });
    const fetchedBytes = fetched.partitions[0]!.recordBatches.reduce((sum, b) => sum + b.length, 0);
    expect(fetchedBytes).toBeGreaterThanOrEqual(batchBytes);
    const after = await Scrape.take();

    const moved = (name: string, labels: Record<string, string> = {}): number =>
      after.value(name, labels) - before.value(name, labels);
    expect(moved('brook_requests_total', { method: PRODUCE, code: 'OK', error: 'NONE' })).toBe(2);
    expect(moved('brook_requests_total', { method: FETCH, code: 'OK', error: 'NONE' })).toBe(1);
    expect(moved('brook_request_duration_seconds_count', { method: PRODUCE })).toBe(2);
    expect(moved('brook_request_duration_seconds_bucket', { method: PRODUCE, le: '+Inf' })).toBe(2);
    // Pre-encoded batches are stored as sent; structured records become one batch holding them.
    const producedBytes = moved('brook_produce_bytes_total');
    expect(producedBytes).toBeGreaterThanOrEqual(batchBytes + 600);
    expect(moved('brook_fetch_bytes_total')).toBe(fetchedBytes);
  });

  it('counts a failed call under its gRPC status and Kafka code', async () => {
    const before = await Scrape.take();
    const error = await callError(c.broker, 'Fetch', { partitions: [] });
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    const after = await Scrape.take();
    const labels = { method: FETCH, code: 'INVALID_ARGUMENT', error: 'INVALID_REQUEST' };
    expect(
      after.value('brook_requests_total', labels) - before.value('brook_requests_total', labels),
    ).toBe(1);
  });

  it('reports partition gauges equal to what the log answers', async () => {
    const scrape = await Scrape.take();
    for (const partition of [0, 1]) {
      const labels = { topic: TOPIC, partition: String(partition) };
      const latest = await listOffset(partition, 'LATEST');
      expect(latest).toBeGreaterThan(0);
      // One node, every produce acknowledged: log end and high watermark are both the latest offset.
      expect(scrape.value('brook_partition_high_watermark', labels)).toBe(latest);
      expect(scrape.value('brook_partition_log_end_offset', labels)).toBe(latest);
      expect(scrape.value('brook_partition_log_start_offset', labels)).toBe(
        await listOffset(partition, 'EARLIEST'),
      );
      expect(scrape.value('brook_partition_isr_size', labels)).toBe(1);
      expect(scrape.value('brook_partition_replicas', labels)).toBe(1);
      expect(scrape.value('brook_partition_size_bytes', labels)).toBeGreaterThan(0);
    }
    expect(scrape.value('brook_under_replicated_partitions')).toBe(0);
    expect(scrape.value('brook_under_min_isr_partitions')).toBe(0);
    expect(scrape.value('brook_offline_partitions')).toBe(0);
    expect(scrape.value('brook_leader_partitions')).toBeGreaterThanOrEqual(2);
    expect(scrape.value('brook_log_size_bytes')).toBeGreaterThan(0);
  });

  it('reports a single-node quorum: leader, active controller, in service', async () => {
    const scrape = await Scrape.take();
    const roles = scrape.matching('brook_raft_role');
    expect(roles.filter((s) => s.value === 1).map((s) => s.labels['role'])).toEqual(['leader']);
    expect(scrape.value('brook_raft_leader')).toBe(server.nodeId);
    expect(scrape.value('brook_raft_term')).toBeGreaterThanOrEqual(1);
    const commit = scrape.value('brook_raft_commit_index');
    const applied = scrape.value('brook_raft_applied_index');
    expect(applied).toBeGreaterThanOrEqual(1);
    expect(commit).toBeGreaterThanOrEqual(applied);
    expect(scrape.value('brook_raft_last_index')).toBeGreaterThanOrEqual(commit);
    expect(scrape.value('brook_raft_apply_lag_entries')).toBe(commit - applied);
    expect(scrape.value('brook_raft_leader_changes_total')).toBeGreaterThanOrEqual(1);
    expect(scrape.value('brook_controller_active')).toBe(1);
    expect(scrape.value('brook_broker_in_service')).toBe(1);
    expect(scrape.matching('brook_broker_info', { node_id: String(server.nodeId) })).toHaveLength(
      1,
    );
    expect(scrape.value('brook_store_size_bytes')).toBeGreaterThan(0);
    expect(scrape.value('brook_data_dir_available_bytes')).toBeGreaterThan(0);
    expect(scrape.value('brook_data_dir_capacity_bytes')).toBeGreaterThanOrEqual(
      scrape.value('brook_data_dir_available_bytes'),
    );
    expect(scrape.value('brook_store_synced_writes_total')).toBeGreaterThan(0);
    // Read from the node's own LevelDB (leveldb.stats); a young store may have no table yet.
    expect(scrape.value('brook_store_table_written_bytes_total')).toBeGreaterThanOrEqual(0);
    expect(scrape.value('brook_store_compaction_read_bytes_total')).toBeGreaterThanOrEqual(0);
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(scrape.has(name), name).toBe(true);
    }
  });

  it("reports a group's lag against the high watermark", async () => {
    const admin = new Admin({ bootstrap: server.address });
    try {
      const results = await admin.commitOffsets('lagging', [
        { topic: TOPIC, partition: 0, offset: 1 },
      ]);
      expect(results.map((r) => r.error)).toEqual([undefined]);
    } finally {
      await admin.close();
    }
    const scrape = await Scrape.take();
    const labels = { group: 'lagging', topic: TOPIC, partition: '0' };
    expect(scrape.value('brook_group_lag', labels)).toBe((await listOffset(0, 'LATEST')) - 1);
    expect(scrape.value('brook_group_members', { group: 'lagging' })).toBe(0);
    expect(scrape.value('brook_group_state', { group: 'lagging', state: 'Empty' })).toBe(1);
  });

  it('answers 404 on any other path', async () => {
    expect((await get(metricsAddress, '/')).status).toBe(404);
    expect((await get(metricsAddress, '/metrics/extra')).status).toBe(404);
    expect(server.output()).toContain('"msg":"serving Prometheus metrics"');
  });
});

/** TCP ports the process listens on, from its socket descriptors and /proc/<pid>/net/tcp{,6}. */
async function listeningPorts(pid: number): Promise<Set<number>> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match !== null) inodes.add(match[1]!);
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const columns = line.trim().split(/\s+/);
      const isListening = columns[3] === '0A';
      if (!isListening || !inodes.has(columns[9] ?? '')) continue;
      ports.add(parseInt(columns[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

describe('without metrics.listen', () => {
  it('opens no port besides the gRPC one', async () => {
    // The node above is the control: its listening ports are exactly gRPC and metrics.
    const metricsPort = Number(metricsAddress.split(':')[1]);
    expect(await listeningPorts(server.pid)).toEqual(new Set([server.port, metricsPort]));
    const plain = await startBroker();
    try {
      expect(await listeningPorts(plain.pid)).toEqual(new Set([plain.port]));
      expect(plain.output()).not.toContain('serving Prometheus metrics');
    } finally {
      await plain.cleanup();
    }
  });
});
