/**
 * The yardstick: raw LevelDB (classic-level) doing the storage part of the broker's work, with
 * nothing else in the way, measured in the same run as Brook and reported as a ratio.
 *
 * It runs in a child process (raw-leveldb-child.ts), so it shares neither the event loop nor
 * the heap of the benchmark, and only while no broker runs (once before it starts, once after
 * it stops), so the two never compete for the disk or the 2 cores.
 *
 * What it writes, so the comparison is like for like:
 * - one value per producer batch, of the exact size the codec gives a batch of R records of B
 *   random bytes (61-byte header + R framed records), keys as the broker lays out batch keys
 *   (`[0x10][topicId][partition][baseOffset u64 BE]`, one partition, strictly increasing);
 * - `groupBatches` batches per `db.batch()`: by default what the SDK packs into one produce
 *   request, ⌊4 MiB / (R × (B + 24))⌋ batches (at least 1, at most the window's worth). A
 *   produce request's batches are appended in one event-loop turn, so they share one group
 *   commit; with one request in flight per partition, that is what the broker writes per
 *   commit once the pipeline is full. Fewer batches per write would make the yardstick slower
 *   and flatter Brook; this choice errs the other way.
 * - with --raw-state-key, also the partition state record (key space 0x11) at the end of every
 *   write, as the broker's group commit put it while batches and state shared one LevelDB: a
 *   diagnostic for write amplification, since a key outside the batch range makes every
 *   memtable flush overlap the one before;
 * - `{ sync: true }` for fsync=always, `{ sync: false }` otherwise (interval's once-a-second
 *   synced marker is left out: one sync a second costs nothing measurable).
 * For consume it then reads every value back in key order with one iterator (fillCache and a
 * 1 MiB read-ahead, as the broker's fetch path reads). Write amplification is reported as for
 * the broker: over the writes, and again once compactions are done.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProcIo } from './measure.js';

/** The SDK packs ready batches into one produce request up to this many bytes. */
const SDK_REQUEST_BYTES_MAX = 4 * 1024 * 1024;
/** Time the child gets beyond its deadline to finish the write in flight and answer. */
const CHILD_GRACE_MS = 30_000;

export interface RawRequest {
  readonly dir: string;
  readonly batchCount: number;
  readonly recordsPerBatch: number;
  readonly recordBytes: number;
  readonly groupBatches: number;
  readonly sync: boolean;
  /** Also put the partition state key (0x11) in every write, as the broker did before its batch store split. */
  readonly hasStateKey: boolean;
  readonly read: boolean;
  /**
   * Bytes of each stored value; unset: the size the codec gives a batch of recordsPerBatch
   * records of recordBytes (the partition log's value). The Raft benchmark sets the size of
   * its log entry values instead.
   */
  readonly valueBytes?: number;
  /**
   * Write through a chained batch (db.batch().put()...write()) instead of an array of ops.
   * classic-level's array form checks and converts every op in JavaScript, which costs about
   * 15 µs an op: nothing with 40 values of 100 KiB, but it caps small values at about 60,000 a
   * second, a third of what the chained form reaches. The Raft benchmark sets it, so the
   * yardstick is LevelDB at its best for small entries.
   */
  readonly isChained?: boolean;
  /** Wall-clock time (Date.now()) at which the child stops and reports what it measured. */
  readonly deadlineMs: number;
}

export interface RawPhase {
  readonly batches: number;
  /** records × recordBytes of the batches, the same unit Brook's MB/s counts. */
  readonly payloadBytes: number;
  /** Bytes of the stored values (batch headers and record framing included). */
  readonly valueBytes: number;
  readonly seconds: number;
  readonly isComplete: boolean;
  /** CPU seconds of the child, and of everything else on the machine, over the phase. */
  readonly cpuSeconds: number | null;
  readonly otherSeconds: number | null;
}

export interface RawResult {
  readonly valueBytesPerBatch: number;
  readonly write: RawPhase;
  /** /proc/self/io of the child over the write phase. */
  readonly writeIo: ProcIo | null;
  /** The same, until LevelDB's compactions after the last write were done. */
  readonly settledWriteIo: ProcIo | null;
  readonly read: RawPhase | null;
}

/** What a raw child answers with: its result, or why it failed. */
export type RawChildAnswer<T> =
  { readonly ok: true; readonly result: T } | { readonly ok: false; readonly error: string };

export type RawAnswer = RawChildAnswer<RawResult>;

/** Producer batches per raw write when --raw-group-batches is not given; see the header. */
export function defaultGroupBatches(
  recordsPerBatch: number,
  recordBytes: number,
  windowRecords: number,
): number {
  const sdkBatchBytes = recordsPerBatch * (recordBytes + 24);
  const perRequest = Math.floor(SDK_REQUEST_BYTES_MAX / sdkBatchBytes);
  const inWindow = Math.ceil(windowRecords / recordsPerBatch);
  return Math.max(1, Math.min(perRequest, inWindow));
}

const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();

/** Kills raw children still running and removes their dirs, synchronously (for exit paths). */
export function killRawChildren(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  liveChildren.clear();
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

/** Runs the raw LevelDB measurement in a child process over a fresh temp dir, then removes it. */
export function runRawLevelDb(request: Omit<RawRequest, 'dir'>): Promise<RawResult> {
  return runRawChild<RawRequest, RawResult>('raw-leveldb-child.js', 'raw LevelDB', request);
}

/**
 * Forks `script` (a file of this directory), sends it `request` with a fresh temp dir, and
 * resolves with its one answer; then stops the child and removes the dir, whatever happened.
 * Every raw LevelDB child runs through here, so killRawChildren() reaches them all.
 */
export async function runRawChild<Req extends { dir: string; deadlineMs: number }, Res>(
  script: string,
  name: string,
  request: Omit<Req, 'dir'>,
): Promise<Res> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'brook-bench-raw-'));
  liveDirs.add(dir);
  const file = fileURLToPath(new URL(`./${script}`, import.meta.url));
  // stdout is ignored so nothing can mix into the benchmark's --json output; progress is stderr.
  const child = fork(file, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  liveChildren.add(child);
  try {
    return await new Promise<Res>((resolve, reject) => {
      const limitMs = Math.max(0, request.deadlineMs - Date.now()) + CHILD_GRACE_MS;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name} child did not answer within ${limitMs} ms`));
      }, limitMs);
      child.once('message', (message: RawChildAnswer<Res>) => {
        clearTimeout(timer);
        if (message.ok) resolve(message.result);
        else reject(new Error(`${name} child failed: ${message.error}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} child exited (code ${code}, signal ${signal})`));
      });
      child.send({ ...request, dir });
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    liveChildren.delete(child);
    await rm(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  }
}
