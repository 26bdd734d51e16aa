/**
 * The store size is a walk over each store's directory, cached between scrapes, summed over the
 * stores. The walk runs on temp dirs with known file sizes; the cache runs with a fake walk and
 * clock, so its refresh and sharing rules are checked without timing. The free-space gauges read
 * statfs of the temp dir.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CachedDirectoryUsage,
  directoryUsage,
  registerStorageMetrics,
  type DirectoryUsage,
  type StorageSource,
} from '../../../src/server/metrics/storage-metrics.js';
import { samplesOf, STATS_TABLE, valueOf } from './metrics-fixtures.js';

let dir: string;
/** A second store's directory (the batch store, data.dir/log): 500 bytes in 2 files. */
let logDir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'brook-metrics-store-'));
  await writeFile(path.join(dir, '000005.ldb'), Buffer.alloc(1000));
  await writeFile(path.join(dir, 'MANIFEST-000002'), Buffer.alloc(24));
  await mkdir(path.join(dir, 'sub'));
  await writeFile(path.join(dir, 'sub', 'x'), Buffer.alloc(7));
  await symlink(path.join(dir, '000005.ldb'), path.join(dir, 'link'));
  logDir = await mkdtemp(path.join(os.tmpdir(), 'brook-metrics-log-'));
  await writeFile(path.join(logDir, '000003.log'), Buffer.alloc(480));
  await writeFile(path.join(logDir, 'MANIFEST-000001'), Buffer.alloc(20));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(logDir, { recursive: true, force: true });
});

describe('directory usage', () => {
  it('sums regular files, descends into directories and skips symbolic links', async () => {
    expect(await directoryUsage(dir)).toEqual({ bytes: 1031, files: 3, isTruncated: false });
  });

  it('stops at the file limit and says so', async () => {
    const usage = await directoryUsage(dir, 1);
    expect(usage.files).toBe(1);
    expect(usage.isTruncated).toBe(true);
  });

  it('reads a missing directory as empty', async () => {
    expect(await directoryUsage(path.join(dir, 'missing'))).toEqual({
      bytes: 0,
      files: 0,
      isTruncated: false,
    });
  });
});

describe('cached directory usage', () => {
  it('walks once per cache period and shares a walk between concurrent callers', async () => {
    let nowMs = 0;
    let walks = 0;
    let release!: () => void;
    const walk = (): Promise<DirectoryUsage> => {
      walks++;
      return new Promise((resolve) => {
        release = () => resolve({ bytes: walks * 100, files: 1, isTruncated: false });
      });
    };
    const cached = new CachedDirectoryUsage('/x', 10_000, () => nowMs, walk);
    const first = cached.usage();
    const second = cached.usage();
    release();
    expect((await first).bytes).toBe(100);
    expect((await second).bytes).toBe(100);
    expect(walks).toBe(1);
    nowMs = 9_999;
    expect((await cached.usage()).bytes).toBe(100);
    nowMs = 10_000;
    const third = cached.usage();
    release();
    expect((await third).bytes).toBe(200);
    expect(walks).toBe(2);
  });
});

/** Storage metrics of the temp dir (1031 bytes in 3 files), with `overrides` of its source. */
function registered(overrides: Partial<StorageSource>): Registry {
  const registry = new Registry();
  registerStorageMetrics(
    registry,
    {
      dataDir: dir,
      storeDirs: [dir],
      commitStats: () => ({ writes: 0, syncedWrites: 0 }),
      levelDbStats: () => [{ store: 'store', text: null }],
      ...overrides,
    },
    () => 0,
  );
  return registry;
}

describe('storage gauges', () => {
  it('report the free space and size of the file system holding the data dir', async () => {
    const registry = registered({ commitStats: () => ({ writes: 3, syncedWrites: 2 }) });
    const available = await valueOf(registry, 'brook_data_dir_available_bytes');
    const capacity = await valueOf(registry, 'brook_data_dir_capacity_bytes');
    expect(available).toBeGreaterThan(0);
    expect(capacity).toBeGreaterThanOrEqual(available);
    expect(await valueOf(registry, 'brook_store_size_bytes')).toBe(1031);
    expect(await valueOf(registry, 'brook_store_files')).toBe(3);
    expect(await valueOf(registry, 'brook_store_synced_writes_total')).toBe(2);
  });

  it('sum the size and files of every store directory', async () => {
    const registry = registered({ storeDirs: [dir, logDir] });
    expect(await valueOf(registry, 'brook_store_size_bytes')).toBe(1031 + 500);
    expect(await valueOf(registry, 'brook_store_files')).toBe(3 + 2);
  });

  it('read NaN rather than failing the scrape when the data dir is gone', async () => {
    const registry = registered({ dataDir: path.join(dir, 'missing') });
    expect(await valueOf(registry, 'brook_data_dir_available_bytes')).toBeNaN();
  });
});

describe('LevelDB level gauges and compaction counters', () => {
  const MIB = 1_048_576;
  /** Metrics of the one store 'store', whose stats table `stats` reads. */
  const register = (stats: () => string | null): Registry =>
    registered({ levelDbStats: () => [{ store: 'store', text: stats() }] });
  /** A second store's table (the batch store): two levels, 33 MiB written, 12 MiB read. */
  const LOG_STATS_TABLE = [
    ...STATS_TABLE.split('\n').slice(0, 3),
    '  0        2       10         0        0        20',
    '  1        3        6         0       12        13',
    '',
  ].join('\n');

  it('report files and bytes per level, and the totals written and read back', async () => {
    const registry = register(() => STATS_TABLE);
    expect(await samplesOf(registry, 'brook_store_level_files')).toEqual([
      { labels: { store: 'store', level: '0' }, value: 5 },
      { labels: { store: 'store', level: '1' }, value: 25 },
      { labels: { store: 'store', level: '2' }, value: 55 },
    ]);
    expect(await valueOf(registry, 'brook_store_level_bytes', { level: 2 })).toBe(114 * MIB);
    expect(await valueOf(registry, 'brook_store_table_written_bytes_total')).toBe(623 * MIB);
    expect(await valueOf(registry, 'brook_store_compaction_read_bytes_total')).toBe(308 * MIB);
  });

  it("label each store's levels with its name and sum the totals over the stores", async () => {
    const registry = registered({
      levelDbStats: () => [
        { store: 'store', text: STATS_TABLE },
        { store: 'log', text: LOG_STATS_TABLE },
      ],
    });
    expect(await samplesOf(registry, 'brook_store_level_files')).toEqual([
      { labels: { store: 'store', level: '0' }, value: 5 },
      { labels: { store: 'store', level: '1' }, value: 25 },
      { labels: { store: 'store', level: '2' }, value: 55 },
      { labels: { store: 'log', level: '0' }, value: 2 },
      { labels: { store: 'log', level: '1' }, value: 3 },
    ]);
    expect(await valueOf(registry, 'brook_store_level_bytes', { store: 'log', level: 0 })).toBe(
      10 * MIB,
    );
    expect(await valueOf(registry, 'brook_store_level_bytes', { store: 'store', level: 0 })).toBe(
      133 * MIB,
    );
    expect(await valueOf(registry, 'brook_store_table_written_bytes_total')).toBe((623 + 33) * MIB);
    expect(await valueOf(registry, 'brook_store_compaction_read_bytes_total')).toBe(
      (308 + 12) * MIB,
    );
  });

  it('skip a closed store and keep reporting the open one', async () => {
    const registry = registered({
      levelDbStats: () => [
        { store: 'store', text: null },
        { store: 'log', text: LOG_STATS_TABLE },
      ],
    });
    expect(await samplesOf(registry, 'brook_store_level_files')).toEqual([
      { labels: { store: 'log', level: '0' }, value: 2 },
      { labels: { store: 'log', level: '1' }, value: 3 },
    ]);
    expect(await valueOf(registry, 'brook_store_table_written_bytes_total')).toBe(33 * MIB);
  });

  it('drop a level that emptied, and report nothing while the store is closed', async () => {
    let stats: string | null = STATS_TABLE;
    const registry = register(() => stats);
    expect(await samplesOf(registry, 'brook_store_level_files')).toHaveLength(3);
    // The table is parsed once per scrape (one event-loop turn); the next scrape is a later one.
    const nextScrape = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    await nextScrape();
    stats = STATS_TABLE.split('\n').slice(0, 4).join('\n');
    expect(await samplesOf(registry, 'brook_store_level_files')).toEqual([
      { labels: { store: 'store', level: '0' }, value: 5 },
    ]);
    await nextScrape();
    stats = null;
    expect(await samplesOf(registry, 'brook_store_level_files')).toEqual([]);
    expect(await valueOf(registry, 'brook_store_table_written_bytes_total')).toBe(0);
  });

  it('report nothing, rather than fail the scrape, when reading the table throws', async () => {
    const registry = registered({
      levelDbStats: () => {
        throw new Error('Database is not open');
      },
    });
    expect(await samplesOf(registry, 'brook_store_level_files')).toEqual([]);
    expect(await valueOf(registry, 'brook_store_compaction_read_bytes_total')).toBe(0);
    expect(await registry.metrics()).toContain('brook_store_size_bytes');
  });
});
