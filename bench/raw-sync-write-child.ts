/**
 * Child process of raw-floors.ts: receives one RawSyncWriteRequest over IPC, writes one
 * 1-record batch value at a time into a fresh classic-level db (opened as the broker opens its
 * store), each write awaited before the next, answers with every counted write's latency, exits.
 * Run only through measureRawSyncWrites(); it does nothing when started on its own.
 */
import { randomFillSync, randomUUID } from 'node:crypto';
import { PartitionKeys } from '../src/log/keys.js';
import { ProgressLine, type Counter } from './measure.js';
import { serveOneRequest } from './raw-child.js';
import type { RawSyncWriteRequest, RawSyncWriteResult } from './raw-floors.js';
import { batchBytes, openRawStore } from './raw-store.js';

/** Distinct random values cycled through, as the raw LevelDB child does. */
const VALUE_POOL_SIZE = 16;

serveOneRequest<RawSyncWriteRequest, RawSyncWriteResult>(run);

async function run(request: RawSyncWriteRequest): Promise<RawSyncWriteResult> {
  // The raw LevelDB yardstick's value size, for a batch of one record.
  const valueBytes = await batchBytes(1, request.recordBytes);
  const pool: Buffer[] = [];
  for (let i = 0; i < VALUE_POOL_SIZE; i++) {
    pool.push(randomFillSync(Buffer.allocUnsafe(valueBytes)));
  }
  const keys = new PartitionKeys(randomUUID(), 0);
  const db = await openRawStore(request.dir);
  let offset = 0;
  // The raw LevelDB child's array form, one op: what the broker's group commit does per write.
  const writeOne = (): Promise<void> => {
    const op = {
      type: 'put' as const,
      key: keys.batch(offset),
      value: pool[offset % pool.length]!,
    };
    offset++;
    return db.batch([op], { sync: request.sync });
  };
  const samplesUs: number[] = [];
  const counter: Counter = { count: 0 };
  let progress: ProgressLine | null = null;
  let startMs = performance.now();
  try {
    // Not counted: the first writes pay for the log file's creation and the JIT.
    for (let i = 0; i < request.warmupCount && Date.now() < request.deadlineMs; i++) {
      await writeOne();
    }
    progress = new ProgressLine('raw sync writes', counter, request.count, request.recordBytes);
    startMs = performance.now();
    while (samplesUs.length < request.count && Date.now() < request.deadlineMs) {
      const writeMs = performance.now();
      await writeOne();
      samplesUs.push(Math.max(1, Math.round((performance.now() - writeMs) * 1_000)));
      counter.count = samplesUs.length;
    }
  } finally {
    progress?.stop();
    await db.close();
  }
  return {
    valueBytes,
    seconds: (performance.now() - startMs) / 1_000,
    isComplete: samplesUs.length === request.count,
    samplesUs,
  };
}
