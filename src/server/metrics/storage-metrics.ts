/**
 * The node's LevelDB stores on disk (data.dir/store and data.dir/log), the free space around
 * them and their write counters. The size is the sum of the store directories' file sizes: what the disk holds, including compaction debt
 * and logs LevelDB has not removed yet. Walking the directory stats every file, so a result
 * serves scrapes for STORE_SIZE_CACHE_MS and concurrent scrapes share one walk.
 */
import { lstat, readdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import { oncePerTurn, totalCounter } from './collect.js';
import { parseLevelDbStats, type LevelStats } from './leveldb-stats.js';

/** How long one walk of the store directory answers scrapes. */
export const STORE_SIZE_CACHE_MS = 10_000;
/** Files one walk stats at most; a LevelDB of 2 MiB tables reaches it at about 200 GB. */
export const STORE_FILES_MAX = 100_000;
/** Directory levels one walk descends (LevelDB keeps its files in one flat directory). */
const DEPTH_MAX = 4;

export interface DirectoryUsage {
  readonly bytes: number;
  readonly files: number;
  /** True when the walk stopped at STORE_FILES_MAX files: bytes is then a lower bound. */
  readonly isTruncated: boolean;
}

/**
 * Sums the sizes of the regular files under `dir` (symbolic links are not followed). Files that
 * vanish during the walk (LevelDB deletes tables after a compaction) are skipped; a missing
 * `dir` is empty.
 */
export async function directoryUsage(
  dir: string,
  filesMax: number = STORE_FILES_MAX,
): Promise<DirectoryUsage> {
  let bytes = 0;
  let files = 0;
  const pending: Array<{ dir: string; depth: number }> = [{ dir, depth: 0 }];
  while (pending.length > 0) {
    const next = pending.pop()!;
    const entries = await readdir(next.dir, { withFileTypes: true }).catch(ignoreMissing);
    if (entries === null) continue;
    for (const entry of entries) {
      const full = path.join(next.dir, entry.name);
      if (entry.isDirectory()) {
        if (next.depth + 1 < DEPTH_MAX) pending.push({ dir: full, depth: next.depth + 1 });
        continue;
      }
      if (!entry.isFile()) continue;
      if (files >= filesMax) return { bytes, files, isTruncated: true };
      const stats = await lstat(full).catch(ignoreMissing);
      if (stats === null) continue;
      bytes += stats.size;
      files++;
    }
  }
  return { bytes, files, isTruncated: false };
}

function ignoreMissing(error: unknown): null {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  throw error;
}

/** directoryUsage with a cache of `cacheMs` and one walk at a time. */
export class CachedDirectoryUsage {
  private last: { usage: DirectoryUsage; atMs: number } | null = null;
  private walking: Promise<DirectoryUsage> | null = null;

  constructor(
    private readonly dir: string,
    private readonly cacheMs: number,
    private readonly now: () => number,
    private readonly walk: (dir: string) => Promise<DirectoryUsage> = directoryUsage,
  ) {}

  usage(): Promise<DirectoryUsage> {
    const last = this.last;
    if (last !== null && this.now() - last.atMs < this.cacheMs) return Promise.resolve(last.usage);
    this.walking ??= this.walk(this.dir)
      .then((usage) => {
        this.last = { usage, atMs: this.now() };
        return usage;
      })
      .finally(() => {
        this.walking = null;
      });
    return this.walking;
  }
}

export interface StorageSource {
  /** data.dir: its file system's free space is what retention and compaction must stay within. */
  readonly dataDir: string;
  /** The LevelDB directories (<data.dir>/store and, unless the data dir predates it, /log). */
  readonly storeDirs: readonly string[];
  /** The log's group commit counters (LogManager.commitStats). */
  commitStats(): { readonly writes: number; readonly syncedWrites: number };
  /**
   * Each store's LevelDB `leveldb.stats` table (leveldb-stats.ts), by store name ('store',
   * 'log'); text null while that store is closed.
   */
  levelDbStats(): ReadonlyArray<{ readonly store: string; readonly text: string | null }>;
}

export function registerStorageMetrics(
  registry: Registry,
  source: StorageSource,
  now: () => number,
): void {
  const stores = source.storeDirs.map(
    (dir) => new CachedDirectoryUsage(dir, STORE_SIZE_CACHE_MS, now),
  );
  new Gauge({
    name: 'brook_store_size_bytes',
    help: `Bytes of the files in the node's LevelDB directories (data.dir/store and data.dir/log), refreshed at most every ${STORE_SIZE_CACHE_MS / 1000} s.`,
    registers: [registry],
    async collect(this: Gauge) {
      this.set(await readUsages(stores, (usage) => usage.bytes));
    },
  });
  new Gauge({
    name: 'brook_store_files',
    help: `Files in the node's LevelDB directories (tables, logs, manifests); counting stops at ${STORE_FILES_MAX} per directory.`,
    registers: [registry],
    async collect(this: Gauge) {
      this.set(await readUsages(stores, (usage) => usage.files));
    },
  });
  new Gauge({
    name: 'brook_data_dir_available_bytes',
    help: 'Bytes an unprivileged process may still write on the file system holding data.dir (statfs at scrape time).',
    registers: [registry],
    async collect(this: Gauge) {
      this.set(await readFileSystem(source.dataDir, (fs) => fs.bavail * fs.bsize));
    },
  });
  new Gauge({
    name: 'brook_data_dir_capacity_bytes',
    help: 'Size of the file system holding data.dir (statfs at scrape time).',
    registers: [registry],
    async collect(this: Gauge) {
      this.set(await readFileSystem(source.dataDir, (fs) => fs.blocks * fs.bsize));
    },
  });
  totalCounter(registry, {
    name: 'brook_store_writes_total',
    help: 'LevelDB writes of the partition log: per group commit, one of the batch store and one of the index store.',
    read: () => source.commitStats().writes,
  });
  totalCounter(registry, {
    name: 'brook_store_synced_writes_total',
    help: 'LevelDB writes of the partition log that were fsynced (log.fsync=always: every batch store write; index store writes about once a second).',
    read: () => source.commitStats().syncedWrites,
  });
  registerLevelMetrics(registry, source);
}

/**
 * LevelDB's levels and compaction totals, from one parse of its stats table per scrape. Table
 * bytes written against bytes appended (brook_produce_bytes_total plus
 * brook_replication_bytes_in_total) is the write amplification design.md asks to watch; bytes
 * read by compactions are data being rewritten rather than moved.
 */
function registerLevelMetrics(registry: Registry, source: StorageSource): void {
  const levels = oncePerTurn((): Array<LevelStats & { store: string }> => {
    const rows: Array<LevelStats & { store: string }> = [];
    let stores: ReadonlyArray<{ readonly store: string; readonly text: string | null }> = [];
    try {
      stores = source.levelDbStats();
    } catch {
      return [];
    }
    for (const { store, text } of stores) {
      if (text === null) continue;
      try {
        for (const row of parseLevelDbStats(text)) rows.push({ ...row, store });
      } catch {
        // A store closing under the scrape: no level series of it this time, not a failed scrape.
      }
    }
    return rows;
  });
  const sum = (read: (row: LevelStats) => number): number =>
    levels().reduce((total, row) => total + read(row), 0);
  const perLevel = (name: string, help: string, read: (row: LevelStats) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['store', 'level'],
      registers: [registry],
      collect(this: Gauge) {
        this.reset();
        for (const row of levels()) {
          this.set({ store: row.store, level: String(row.level) }, read(row));
        }
      },
    });
  };
  perLevel(
    'brook_store_level_files',
    'Table files in each level of each LevelDB store.',
    (row) => row.files,
  );
  perLevel(
    'brook_store_level_bytes',
    'Bytes of the table files in each level of each LevelDB store, in whole MiB as LevelDB rounds them.',
    (row) => row.sizeBytes,
  );
  totalCounter(registry, {
    name: 'brook_store_table_written_bytes_total',
    help: 'Bytes LevelDB wrote into table files since the node started: memtable flushes and compactions.',
    read: () => sum((row) => row.writtenBytes),
  });
  totalCounter(registry, {
    name: 'brook_store_compaction_read_bytes_total',
    help: 'Bytes LevelDB compactions read to rewrite since the node started (tables moved to the next level unchanged read nothing).',
    read: () => sum((row) => row.readBytes),
  });
}

/**
 * The sum over the stores. A walk that failed (a permission problem, say) reads NaN rather than
 * failing the scrape.
 */
async function readUsages(
  stores: readonly CachedDirectoryUsage[],
  read: (usage: DirectoryUsage) => number,
): Promise<number> {
  try {
    const usages = await Promise.all(stores.map((store) => store.usage()));
    return usages.reduce((total, usage) => total + read(usage), 0);
  } catch {
    return Number.NaN;
  }
}

/** One statfs of `dir`; NaN when it fails, so one collector never fails the whole scrape. */
async function readFileSystem(
  dir: string,
  read: (fs: { bavail: number; blocks: number; bsize: number }) => number,
): Promise<number> {
  try {
    return read(await statfs(dir));
  } catch {
    return Number.NaN;
  }
}
