/**
 * Goal: a SIGKILL in the middle of compaction leaves a valid log: gap-free, every batch intact,
 * and every key's latest acknowledged value still there at its offset. Method: a child process
 * (clean-child.mjs, over the compiled log) appends updates to a few keys and compacts the
 * partition in small steps, in rounds, until killed; the parent kills it at a random moment
 * after a pass has started, reopens the store through the log's own recovery, and checks it
 * against every acknowledgement the child printed. The same data dir goes through several kills.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RecordBatch, checkBatch, decodeRecords } from '../../../src/codec/index.js';
import { CleanerTask, LogManager, type PartitionLog } from '../../../src/log/index.js';
import { PartitionKeys, batchKeyOffset } from '../../../src/log/keys.js';
import { openDb } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'clean-child.mjs');
const BUILT_LOG = path.resolve(here, '../../../dist/src/log/index.js');

const dirs: string[] = [];
/** Children still running if a test failed before killing them; stopped by PID. */
const liveChildren = new Set<number>();

afterEach(async () => {
  for (const pid of liveChildren) process.kill(pid, 'SIGKILL');
  liveChildren.clear();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

interface ChildRun {
  readonly pid: number;
  /** key -> latest acknowledged offset, across every run on this dir. */
  readonly latest: Map<string, number>;
  cleansStarted: number;
  cleansEnded: number;
  exit: Promise<void>;
}

function startChild(
  dir: string,
  topicId: string,
  latest: Map<string, number>,
  onCleanStart: (run: ChildRun) => void,
): ChildRun {
  const child = spawn(process.execPath, [CHILD, dir, topicId], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: ChildRun = {
    pid: child.pid!,
    latest,
    cleansStarted: 0,
    cleansEnded: 0,
    exit: Promise.resolve(),
  };
  liveChildren.add(run.pid);
  let stderr = '';
  let pending = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const [word, offset, key] = line.split(' ');
      if (word === 'acked') latest.set(key!, Number(offset));
      else if (word === 'clean-start') {
        run.cleansStarted++;
        onCleanStart(run);
      } else if (word === 'clean-end') run.cleansEnded++;
    }
  });
  run.exit = new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      liveChildren.delete(run.pid);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child exited with ${code ?? signal}: ${stderr}`));
    });
  });
  return run;
}

/**
 * Reopens the store and checks the partition: stored batches pass their full check and cover
 * [first base, log end) gap-free, reads work, and each key's latest acknowledged record is
 * there (or a newer one of the key, appended but killed before its acknowledgement).
 */
async function checkStore(
  dir: string,
  topicId: string,
  latest: ReadonlyMap<string, number>,
  clean: boolean,
): Promise<void> {
  const db = await openDb(`${dir}/store`);
  const batchDb = await openDb(`${dir}/log`);
  const faults: Error[] = [];
  const manager = await LogManager.open(
    { batches: batchDb, index: db },
    {
      fsync: 'always',
      fsyncIntervalMs: 1_000,
      onFatal: (error) => faults.push(error),
    },
  );
  try {
    const log = manager.partition(topicId, 0)!;
    expect(log).toBeDefined();
    if (clean) {
      const task = new CleanerTask(
        manager,
        () => ({ deleteRetentionMs: 60_000, minCompactionLagMs: 0, minCleanableDirtyRatio: 0 }),
        { backoffMs: 1_000, now: Date.now },
      );
      await task.runOnce();
    }
    const records = await storedRecords(batchDb, log);
    for (const [key, offset] of latest) {
      const newest = records.filter((r) => r.key === key).at(-1);
      expect(newest, `key ${key}`).toBeDefined();
      expect(newest!.offset).toBeGreaterThanOrEqual(offset);
    }
    for (const record of records) expect(record.value).toBe(`v${record.offset}`);
    if (clean) {
      const keys = records.map((r) => r.key);
      expect(new Set(keys).size).toBe(keys.length);
    }
    // Reads from every offset find the batch covering it.
    for (let offset = log.logStartOffset; offset < log.highWatermark; offset += 3) {
      const first = RecordBatch.of((await log.read(offset, 256)).batches[0]!);
      expect(first.baseOffset <= offset && offset < first.nextOffset).toBe(true);
    }
    expect(faults).toEqual([]);
  } finally {
    await manager.close();
    await batchDb.close();
    await db.close();
  }
}

async function storedRecords(db: Awaited<ReturnType<typeof openDb>>, log: PartitionLog) {
  const keys = new PartitionKeys(log.topicId, log.partition);
  const entries = await db.iterator({ gte: keys.batches.gte, lt: keys.batches.lt }).all();
  let expected = entries.length === 0 ? log.logEndOffset : batchKeyOffset(entries[0]![0]);
  let bytes = 0;
  const records: Array<{ offset: number; key: string; value: string }> = [];
  for (const [key, batch] of entries) {
    expect(await checkBatch(batch)).toEqual({ ok: true });
    const header = RecordBatch.of(batch);
    expect(header.baseOffset).toBe(batchKeyOffset(key));
    expect(header.baseOffset).toBe(expected);
    expected = header.nextOffset;
    bytes += batch.length;
    for (const record of await decodeRecords(batch)) {
      records.push({
        offset: record.offset,
        key: record.key!.toString(),
        value: record.value!.toString(),
      });
    }
  }
  expect(expected).toBe(log.logEndOffset);
  expect(log.sizeBytes).toBe(bytes);
  return records;
}

describe('compaction under SIGKILL', () => {
  it('leaves a gap-free log with every key latest value, across kills in the middle of cleaning', async () => {
    expect(existsSync(BUILT_LOG), `${BUILT_LOG} is missing; run npm run build`).toBe(true);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'brook-clean-crash-'));
    dirs.push(dir);
    const topicId = randomUUID();
    const latest = new Map<string, number>();
    const ROUNDS = 5;
    let killedMidClean = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const killAtClean = 1 + Math.floor(Math.random() * 3);
      let run: ChildRun | null = null;
      await new Promise<void>((resolve) => {
        run = startChild(dir, topicId, latest, (r) => {
          if (r.cleansStarted === killAtClean) resolve();
        });
      });
      const child = run! as ChildRun;
      // A random pause lands the kill anywhere in the pass: between steps or inside one.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
      process.kill(child.pid, 'SIGKILL');
      await child.exit;
      if (child.cleansEnded < child.cleansStarted) killedMidClean++;
      await checkStore(dir, topicId, latest, false);
    }
    // At least one kill must have cut a pass short, or the test proved nothing.
    expect(killedMidClean).toBeGreaterThan(0);
    // After the kills a full pass still leaves one record per key, the latest.
    await checkStore(dir, topicId, latest, true);
  });
});
