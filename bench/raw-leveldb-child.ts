/**
 * Child process of raw-limits.ts: receives one RawRequest over IPC, writes (and maybe reads)
 * record-batch-sized values in a fresh classic-level db, answers with a RawAnswer, exits.
 * Run only through runRawLevelDb(); it does nothing when started on its own.
 */
import { randomFillSync, randomUUID } from 'node:crypto';
import type { ClassicLevel } from 'classic-level';
import { PartitionKeys, encodeState } from '../src/log/keys.js';
import {
  ProgressLine,
  ioDelta,
  readCpuSeconds,
  readMachineBusySeconds,
  readProcIo,
  waitForWritesToSettle,
  type Counter,
} from './measure.js';
import { serveOneRequest } from './raw-child.js';
import type { RawPhase, RawRequest, RawResult } from './raw-limits.js';
import { batchBytes, openRawStore } from './raw-store.js';

const MiB = 1024 * 1024;
/** Distinct random values cycled through, so no two neighbouring keys share a value. */
const VALUE_POOL_SIZE = 16;

serveOneRequest<RawRequest, RawResult>(run);

async function run(request: RawRequest): Promise<RawResult> {
  const valueBytesPerBatch =
    request.valueBytes ?? (await batchBytes(request.recordsPerBatch, request.recordBytes));
  const pool: Buffer[] = [];
  for (let i = 0; i < VALUE_POOL_SIZE; i++) {
    pool.push(randomFillSync(Buffer.allocUnsafe(valueBytesPerBatch)));
  }
  const keys = new PartitionKeys(randomUUID(), 0);
  const db = await openRawStore(request.dir);
  try {
    const ioBefore = await readProcIo('self');
    const write = await writeBatches(db, request, pool, keys, valueBytesPerBatch);
    const ioAfter = await readProcIo('self');
    const settled = await waitForWritesToSettle('self', request.deadlineMs);
    const read = request.read ? await readBatches(db, request, write.batches) : null;
    return {
      valueBytesPerBatch,
      write,
      writeIo: ioDelta(ioBefore, ioAfter),
      settledWriteIo: ioDelta(ioBefore, settled.io),
      read,
    };
  } finally {
    await db.close();
  }
}

async function writeBatches(
  db: ClassicLevel<Buffer, Buffer>,
  request: RawRequest,
  pool: readonly Buffer[],
  keys: PartitionKeys,
  valueBytesPerBatch: number,
): Promise<RawPhase> {
  const counter: Counter = { count: 0 };
  const total = request.batchCount * request.recordsPerBatch;
  const progress = new ProgressLine('raw LevelDB write', counter, total, request.recordBytes);
  const cpu = await startCpu();
  const startMs = performance.now();
  let written = 0;
  try {
    while (written < request.batchCount && Date.now() < request.deadlineMs) {
      const count = Math.min(request.groupBatches, request.batchCount - written);
      const ops: { type: 'put'; key: Buffer; value: Buffer }[] = [];
      for (let i = 0; i < count; i++) {
        const index = written + i;
        ops.push({
          type: 'put',
          key: keys.batch(index * request.recordsPerBatch),
          value: pool[index % pool.length]!,
        });
      }
      if (request.hasStateKey) {
        // As the broker's group commit did while batches and state shared one LevelDB: the
        // partition state record ends every write.
        const sizeBytes = (written + count) * valueBytesPerBatch;
        ops.push({
          type: 'put',
          key: keys.state,
          value: encodeState({
            logStartOffset: 0,
            sizeBytes,
            indexedEnd: (written + count) * request.recordsPerBatch,
            truncateFrom: null,
            rewrite: null,
          }),
        });
      }
      // Passed explicitly (STYLE.md §8): the broker's fsync=always is one synced write per group.
      if (request.isChained === true) await writeChained(db, ops, request.sync);
      else await db.batch(ops, { sync: request.sync });
      written += count;
      counter.count = written * request.recordsPerBatch;
    }
  } finally {
    progress.stop();
  }
  const seconds = (performance.now() - startMs) / 1_000;
  return phase(
    request,
    written,
    valueBytesPerBatch,
    seconds,
    await cpu(),
    written === request.batchCount,
  );
}

/** The same write as db.batch(ops), through a chained batch (see RawRequest.isChained). */
function writeChained(
  db: ClassicLevel<Buffer, Buffer>,
  ops: readonly { type: 'put'; key: Buffer; value: Buffer }[],
  sync: boolean,
): Promise<void> {
  const batch = db.batch();
  for (const op of ops) batch.put(op.key, op.value);
  return batch.write({ sync });
}

async function readBatches(
  db: ClassicLevel<Buffer, Buffer>,
  request: RawRequest,
  batchCount: number,
): Promise<RawPhase> {
  const counter: Counter = { count: 0 };
  const total = batchCount * request.recordsPerBatch;
  const progress = new ProgressLine('raw LevelDB read', counter, total, request.recordBytes);
  const cpu = await startCpu();
  const startMs = performance.now();
  let read = 0;
  let valueBytes = 0;
  const iterator = db.iterator({ fillCache: true, highWaterMarkBytes: 1 * MiB });
  try {
    while (Date.now() < request.deadlineMs) {
      const entry = await iterator.next();
      if (entry === undefined) break;
      valueBytes += entry[1].length;
      read++;
      counter.count = read * request.recordsPerBatch;
    }
  } finally {
    await iterator.close();
    progress.stop();
  }
  const seconds = (performance.now() - startMs) / 1_000;
  const result = phase(request, read, 0, seconds, await cpu(), read === batchCount);
  return { ...result, valueBytes };
}

interface CpuSpent {
  readonly cpuSeconds: number | null;
  readonly otherSeconds: number | null;
}

/** CPU of this process and of the rest of the machine, from now to the returned call. */
async function startCpu(): Promise<() => Promise<CpuSpent>> {
  const selfBefore = await readCpuSeconds('self');
  const machineBefore = await readMachineBusySeconds();
  return async () => {
    const selfAfter = await readCpuSeconds('self');
    const machineAfter = await readMachineBusySeconds();
    if (selfBefore === null || selfAfter === null) return { cpuSeconds: null, otherSeconds: null };
    const cpuSeconds = selfAfter - selfBefore;
    const otherSeconds =
      machineBefore === null || machineAfter === null
        ? null
        : Math.max(0, machineAfter - machineBefore - cpuSeconds);
    return { cpuSeconds, otherSeconds };
  };
}

function phase(
  request: RawRequest,
  batches: number,
  valueBytesPerBatch: number,
  seconds: number,
  cpu: CpuSpent,
  isComplete: boolean,
): RawPhase {
  return {
    batches,
    payloadBytes: batches * request.recordsPerBatch * request.recordBytes,
    valueBytes: batches * valueBytesPerBatch,
    seconds,
    isComplete,
    cpuSeconds: cpu.cpuSeconds,
    otherSeconds: cpu.otherSeconds,
  };
}
