/**
 * A node's life across restarts, its data dir identity checks, and retention: real server
 * processes on temp data dirs. Retention runs with a 100 ms check interval and tiny limits, and
 * the tests poll (bounded) for the log start offset to move.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClassicLevel } from 'classic-level';
import { afterAll, describe, expect, it } from 'vitest';
import type {
  CreateTopicsResponse__Output,
  FetchResponse__Output,
  ListOffsetsResponse__Output,
  MetadataResponse__Output,
  ProduceResponse__Output,
} from '../../../src/proto/index.js';
import { startBroker, type BrokerProcess } from '../../helpers/broker-process.js';
import { call, rawClients } from '../../helpers/grpc.js';

const started: BrokerProcess[] = [];
afterAll(async () => {
  for (const server of started) await server.cleanup();
});

async function start(extraArgs: string[] = []): Promise<BrokerProcess> {
  const server = await startBroker({ extraArgs });
  started.push(server);
  return server;
}

const v = (text: string) => Buffer.from(text);

async function earliest(address: string, topic: string): Promise<number> {
  const c = rawClients(address);
  try {
    const res = await call<ListOffsetsResponse__Output>(c.broker, 'ListOffsets', {
      partitions: [{ topic, partition: 0, spec: 'EARLIEST' }],
    });
    return res.partitions[0]!.offset;
  } finally {
    c.close();
  }
}

async function pollUntil(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

describe('restart and identity', () => {
  it('keeps topics, records and offsets across a restart', async () => {
    const server = await start();
    let c = rawClients(server.address);
    await call<CreateTopicsResponse__Output>(c.admin, 'CreateTopics', {
      topics: [{ name: 'durable', partitions: 2 }],
    });
    await call<ProduceResponse__Output>(c.broker, 'Produce', {
      topic: 'durable',
      partition: 1,
      records: [{ value: v('a') }, { value: v('b') }],
    });
    c.close();
    await server.restart();
    c = rawClients(server.address);
    const fetched = await call<FetchResponse__Output>(c.broker, 'Fetch', {
      partitions: [{ topic: 'durable', partition: 1, offset: 0 }],
    });
    expect(fetched.partitions[0]!.records.map((r) => r.value?.toString())).toEqual(['a', 'b']);
    const next = await call<ProduceResponse__Output>(c.broker, 'Produce', {
      topic: 'durable',
      partition: 1,
      records: [{ value: v('c') }],
    });
    expect(next.results[0]!.offset).toBe(2);
    c.close();
  });

  it('keeps serving a data dir from before the batch store split, batches in data.dir/store', async () => {
    const server = await start();
    let c = rawClients(server.address);
    await call<CreateTopicsResponse__Output>(c.admin, 'CreateTopics', {
      topics: [{ name: 'legacy', partitions: 1 }],
    });
    await call<ProduceResponse__Output>(c.broker, 'Produce', {
      topic: 'legacy',
      partition: 0,
      records: [{ value: v('a') }, { value: v('b') }],
    });
    c.close();
    await server.stop();
    // The old layout: every batch key (0x10) in the main store, no data.dir/log.
    const open = async (dir: string) => {
      const db = new ClassicLevel<Buffer, Buffer>(path.join(server.dataDir, dir), {
        keyEncoding: 'buffer',
        valueEncoding: 'buffer',
      });
      await db.open({ createIfMissing: false });
      return db;
    };
    const store = await open('store');
    const log = await open('log');
    const batches = await log.iterator({ gte: Buffer.from([0x10]), lt: Buffer.from([0x11]) }).all();
    expect(batches.length).toBeGreaterThan(0);
    await store.batch(
      [
        ...batches.map(([key, value]) => ({ type: 'put' as const, key, value })),
        // The layout key (0x15) says "batches in log/": a release before the split never wrote it.
        { type: 'del' as const, key: Buffer.from([0x15]) },
      ],
      { sync: true },
    );
    await log.close();
    await store.close();
    await rm(path.join(server.dataDir, 'log'), { recursive: true });
    await server.restart();
    expect(server.output()).toContain('record batches stay in data.dir/store');
    c = rawClients(server.address);
    const next = await call<ProduceResponse__Output>(c.broker, 'Produce', {
      topic: 'legacy',
      partition: 0,
      records: [{ value: v('c') }],
    });
    expect(next.results[0]!.offset).toBe(2);
    c.close();
    await server.restart();
    c = rawClients(server.address);
    const fetched = await call<FetchResponse__Output>(c.broker, 'Fetch', {
      partitions: [{ topic: 'legacy', partition: 0, offset: 0 }],
    });
    expect(fetched.partitions[0]!.records.map((r) => r.value?.toString())).toEqual(['a', 'b', 'c']);
    c.close();
    expect(existsSync(path.join(server.dataDir, 'log'))).toBe(false);
  });

  it('refuses a data dir whose log/ is missing, rather than serve its partitions empty', async () => {
    const server = await start();
    const c = rawClients(server.address);
    await call<CreateTopicsResponse__Output>(c.admin, 'CreateTopics', {
      topics: [{ name: 'halved', partitions: 1 }],
    });
    await call<ProduceResponse__Output>(c.broker, 'Produce', {
      topic: 'halved',
      partition: 0,
      records: [{ value: v('a') }],
    });
    c.close();
    await server.stop();
    // A restore that brought back store/ alone.
    await rm(path.join(server.dataDir, 'log'), { recursive: true });
    const result = spawnSync(
      process.execPath,
      ['bin/brook', 'server', '--listen', '127.0.0.1:0', '--data-dir', server.dataDir],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^brook: data dir .* keeps its record batches in log\/, which is missing: .* Restore log\/ together with store\/ from the same copy, or empty the whole data dir/,
    );
    expect(existsSync(path.join(server.dataDir, 'log'))).toBe(false);
    expect(existsSync(path.join(server.dataDir, 'store'))).toBe(true);
  });

  it('refuses a data dir written by another node id, with a clear message', async () => {
    const server = await start();
    await server.stop();
    const result = spawnSync(
      process.execPath,
      [
        'bin/brook',
        'server',
        '--node-id',
        '7',
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        server.dataDir,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^brook: data dir .* belongs to node 0, but this node is configured as node.id=7/,
    );
  });

  it('refuses a data dir another running broker holds', async () => {
    const server = await start();
    const result = spawnSync(
      process.execPath,
      ['bin/brook', 'server', '--listen', '127.0.0.1:0', '--data-dir', server.dataDir],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/is in use by another process/);
  });

  it('rejects a bad flag value before touching anything', () => {
    const result = spawnSync(
      process.execPath,
      ['bin/brook', 'server', '--log-fsync', 'sometimes'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'brook: log.fsync must be one of always, interval, never, not "sometimes" (from flag --log-fsync)',
    );
  });
});

describe('configuration sources', () => {
  it('auto-creates a topic on first produce when the environment enables it', async () => {
    const server = await startBroker({
      env: { BROOK_AUTO_CREATE_TOPICS_ENABLE: 'true', BROOK_NUM_PARTITIONS: '2' },
    });
    started.push(server);
    const c = rawClients(server.address);
    const res = await call<ProduceResponse__Output>(c.broker, 'Produce', {
      topic: 'auto-made',
      records: [{ value: v('x') }],
    });
    expect(res.results[0]).toMatchObject({ errorCode: 'NONE', offset: 0 });
    const meta = await call<MetadataResponse__Output>(c.broker, 'Metadata', {
      topics: ['auto-made'],
    });
    expect(meta.topics[0]!.partitions).toHaveLength(2);
    c.close();
  });

  it('reads a properties config file, with flags winning over it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'brook-conf-'));
    const file = path.join(dir, 'server.properties');
    await writeFile(file, '# test\nnum.partitions=3\nauto.create.topics.enable=true\n');
    const server = await start(['--config', file, '--auto-create-topics-enable', 'false']);
    const c = rawClients(server.address);
    const created = await call<CreateTopicsResponse__Output>(c.admin, 'CreateTopics', {
      topics: [{ name: 'from-file' }],
    });
    expect(created.results[0]!.partitions).toBe(3);
    const res = await call<ProduceResponse__Output>(c.broker, 'Produce', {
      topic: 'not-auto',
      records: [{ value: v('x') }],
    });
    expect(res.results[0]!.errorCode).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    c.close();
    await rm(dir, { recursive: true, force: true });
  });
});

describe('retention', () => {
  it('deletes whole batches older than retention.ms from the front', async () => {
    const server = await start(['--retention-check-interval-ms', '100']);
    const c = rawClients(server.address);
    await call(c.admin, 'CreateTopics', {
      topics: [{ name: 'r-time', partitions: 1, configs: { 'retention.ms': '60000' } }],
    });
    const old = Date.now() - 3_600_000;
    await call(c.broker, 'Produce', {
      topic: 'r-time',
      partition: 0,
      records: [
        { value: v('old1'), timestampMs: old },
        { value: v('old2'), timestampMs: old },
      ],
    });
    await call(c.broker, 'Produce', {
      topic: 'r-time',
      partition: 0,
      records: [{ value: v('new') }],
    });
    await pollUntil(async () => (await earliest(server.address, 'r-time')) === 2);
    const fetchOld = await call<FetchResponse__Output>(c.broker, 'Fetch', {
      partitions: [{ topic: 'r-time', partition: 0, offset: 0 }],
    });
    expect(fetchOld.partitions[0]!.errorCode).toBe('OFFSET_OUT_OF_RANGE');
    const fetchNew = await call<FetchResponse__Output>(c.broker, 'Fetch', {
      partitions: [{ topic: 'r-time', partition: 0, offset: 2 }],
    });
    expect(fetchNew.partitions[0]!.records.map((r) => r.value?.toString())).toEqual(['new']);
    c.close();
  });

  it('keeps a partition under retention.bytes by deleting the oldest batches', async () => {
    const server = await start(['--retention-check-interval-ms', '100']);
    const c = rawClients(server.address);
    await call(c.admin, 'CreateTopics', {
      topics: [{ name: 'r-size', partitions: 1, configs: { 'retention.bytes': '3000' } }],
    });
    for (let i = 0; i < 10; i++) {
      await call(c.broker, 'Produce', {
        topic: 'r-size',
        partition: 0,
        records: [{ value: Buffer.alloc(900, i) }],
      });
    }
    await pollUntil(async () => (await earliest(server.address, 'r-size')) >= 6);
    const rest = await call<FetchResponse__Output>(c.broker, 'Fetch', {
      partitions: [
        { topic: 'r-size', partition: 0, offset: await earliest(server.address, 'r-size') },
      ],
    });
    const kept = rest.partitions[0]!.records;
    expect(kept[kept.length - 1]!.offset).toBe(9);
    // Kafka's rule: delete the oldest batch while the rest would still be >= retention.bytes,
    // so what is left exceeds the limit by less than one batch.
    expect((kept.length - 1) * 900).toBeLessThan(3000);
    c.close();
  });
});
