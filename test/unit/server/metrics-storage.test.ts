/**
 * The store size is a walk over a directory, cached between scrapes. The walk runs on a temp dir
 * with known file sizes; the cache runs with a fake walk and clock, so its refresh and sharing
 * rules are checked without timing. The free-space gauges read statfs of the temp dir.
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
} from '../../../src/server/metrics/storage-metrics.js';
import { valueOf } from './metrics-fixtures.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'brook-metrics-store-'));
  await writeFile(path.join(dir, '000005.ldb'), Buffer.alloc(1000));
  await writeFile(path.join(dir, 'MANIFEST-000002'), Buffer.alloc(24));
  await mkdir(path.join(dir, 'sub'));
  await writeFile(path.join(dir, 'sub', 'x'), Buffer.alloc(7));
  await symlink(path.join(dir, '000005.ldb'), path.join(dir, 'link'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
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

describe('storage gauges', () => {
  it('report the free space and size of the file system holding the data dir', async () => {
    const registry = new Registry();
    registerStorageMetrics(
      registry,
      { dataDir: dir, storeDir: dir, commitStats: () => ({ writes: 3, syncedWrites: 2 }) },
      () => 0,
    );
    const available = await valueOf(registry, 'brook_data_dir_available_bytes');
    const capacity = await valueOf(registry, 'brook_data_dir_capacity_bytes');
    expect(available).toBeGreaterThan(0);
    expect(capacity).toBeGreaterThanOrEqual(available);
    expect(await valueOf(registry, 'brook_store_size_bytes')).toBe(1031);
    expect(await valueOf(registry, 'brook_store_synced_writes_total')).toBe(2);
  });

  it('read NaN rather than failing the scrape when the data dir is gone', async () => {
    const registry = new Registry();
    registerStorageMetrics(
      registry,
      {
        dataDir: path.join(dir, 'missing'),
        storeDir: dir,
        commitStats: () => ({ writes: 0, syncedWrites: 0 }),
      },
      () => 0,
    );
    expect(await valueOf(registry, 'brook_data_dir_available_bytes')).toBeNaN();
  });
});
