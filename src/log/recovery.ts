/**
 * Opening one partition's log from its two stores (README.md, "Two stores"): the state record,
 * epoch and time-index entries in the index store, the batches in the batch store. The index is
 * written after the batches it describes, and may lag them after a crash; maintenance writes an
 * intent into the state before it touches batches. This module reconciles the two: it finishes
 * a truncation the state announced, counts and indexes batches past the state's indexedEnd,
 * recounts a compaction run the state left out, and, where a power loss under fsync=interval or
 * never left the index ahead of the batches, recounts the log. It returns what the log holds and
 * the index ops that bring the store up to date; the caller writes them with the state.
 */
import type { ClassicLevel } from 'classic-level';
import { RecordBatch, checkBatchHeader } from '../codec/index.js';
import { limits } from '../config/limits.js';
import { LeaderEpochCache } from './epoch-cache.js';
import type { LogWriteOp } from './group-commit.js';
import {
  batchKeyOffset,
  decodeOffset,
  encodeOffset,
  epochKeyEpoch,
  timeKeyTimestamp,
  type PartitionKeys,
  type PartitionState,
} from './keys.js';

const CHUNK = limits.logMaintenanceBatchesMax;

/** The stores and the fault reporter recovery needs (a subset of LogContext). */
export interface RecoveryContext {
  readonly batchDb: ClassicLevel<Buffer, Buffer>;
  readonly indexDb: ClassicLevel<Buffer, Buffer>;
  fault(error: Error, details: object): Error;
}

/** What recovery found, and how to bring the index store up to date. */
export interface RecoveredLog {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  /** Bytes of every stored batch, those behind the log start included. */
  readonly sizeBytes: number;
  /** Bytes of stored batches ending before the log start, which removeHead must delete. */
  readonly headBytes: number;
  readonly epochs: LeaderEpochCache;
  readonly maxTimestampSoFar: number;
  /** Epoch and time-index puts and deletes to write with the new state record. */
  readonly indexOps: LogWriteOp[];
  /** What was repaired, for the log line; empty when the stores agreed. */
  readonly repairs: string[];
}

interface Summary {
  readonly baseOffset: number;
  readonly header: RecordBatch;
  readonly byteLength: number;
}

export async function recoverPartition(
  context: RecoveryContext,
  keys: PartitionKeys,
  name: string,
  state: PartitionState,
): Promise<RecoveredLog> {
  const repairs: string[] = [];
  const indexOps: LogWriteOp[] = [];
  const logStartOffset = state.logStartOffset;
  if (state.truncateFrom !== null) {
    // The state and epoch entries were cut with the intent; batches and time entries follow.
    const removed = await deleteBatchesFrom(context.batchDb, keys, state.truncateFrom);
    repairs.push(`finished a truncation to ${state.truncateFrom} (${removed} batches)`);
  }
  let maxTimestampSoFar =
    state.truncateFrom === null
      ? await lastIndexedTimestamp(context, keys)
      : await dropTimeEntriesFrom(context, keys, state.truncateFrom, indexOps);
  const scan = (range: { gte: Buffer; lt: Buffer }, visit: (s: Summary) => boolean) =>
    scanBatches(context, name, range, visit);
  const last = await lastBatch(context, keys, name);
  const logEndOffset = Math.max(logStartOffset, last === null ? 0 : last.header.nextOffset);
  // Version 1 states were written with their batches: they count every one of them.
  const indexedEnd = state.indexedEnd ?? logEndOffset;
  const isAhead = indexedEnd > logEndOffset;
  let counted = state.sizeBytes;
  const epochs = await loadEpochs(context, keys, name, logEndOffset, isAhead, indexOps);
  if (isAhead) {
    // A power loss under fsync=interval or never kept index writes whose batches it lost.
    repairs.push(`the index ended at ${indexedEnd}, past the batches' end ${logEndOffset}`);
    maxTimestampSoFar = await dropTimeEntriesFrom(context, keys, logEndOffset, indexOps);
    counted = 0;
    await scan({ gte: keys.batches.gte, lt: keys.batches.lt }, (batch) => {
      if (batch.header.lastOffset >= logStartOffset) counted += batch.byteLength;
      return true;
    });
  } else if (indexedEnd < logEndOffset) {
    // Appended after the last index write: count them, and index them as queueAtEnd does.
    let appended = 0;
    const from = (await baseAtOrBefore(context, keys, indexedEnd)) ?? indexedEnd;
    await scan({ gte: keys.batch(from), lt: keys.batches.lt }, (batch) => {
      const header = batch.header;
      if (header.nextOffset <= indexedEnd) return true;
      appended++;
      counted += batch.byteLength;
      const start = Math.max(batch.baseOffset, logStartOffset);
      if (header.leaderEpoch < epochs.latestEpoch()) {
        throw context.fault(
          new Error(`${name}: stored batch ${batch.baseOffset} goes back in leader epoch`),
          { name, baseOffset: batch.baseOffset },
        );
      }
      const replaced = epochs.maybeAssign(header.leaderEpoch, start);
      if (replaced !== null) {
        for (const epoch of replaced) indexOps.push({ type: 'del', key: keys.epoch(epoch) });
        indexOps.push({
          type: 'put',
          key: keys.epoch(header.leaderEpoch),
          value: encodeOffset(start),
        });
      }
      if (header.maxTimestamp > maxTimestampSoFar) {
        maxTimestampSoFar = header.maxTimestamp;
        indexOps.push({
          type: 'put',
          key: keys.time(header.maxTimestamp),
          value: encodeOffset(batch.baseOffset),
        });
      }
      return true;
    });
    repairs.push(`indexed ${appended} batches appended after ${indexedEnd}`);
  }
  if (state.rewrite !== null && !isAhead) {
    const { from, end } = state.rewrite;
    await scan({ gte: keys.batch(from), lt: keys.batch(end) }, (batch) => {
      counted += batch.byteLength;
      return true;
    });
    repairs.push(`recounted the compaction run [${from}, ${end})`);
  }
  let headBytes = 0;
  await scan({ gte: keys.batches.gte, lt: keys.batch(logStartOffset) }, (batch) => {
    if (batch.header.lastOffset >= logStartOffset) return false;
    headBytes += batch.byteLength;
    return true;
  });
  // A version 1 state counts the batches behind the log start; version 2 does not.
  const sizeBytes = state.indexedEnd === null && !isAhead ? counted : counted + headBytes;
  return {
    logStartOffset,
    logEndOffset,
    sizeBytes,
    headBytes,
    epochs,
    maxTimestampSoFar,
    indexOps,
    repairs,
  };
}

/** Deletes every batch from `offset` on, in synced chunks; returns how many. */
async function deleteBatchesFrom(
  db: ClassicLevel<Buffer, Buffer>,
  keys: PartitionKeys,
  offset: number,
): Promise<number> {
  let removed = 0;
  // Each round deletes a full chunk, or is the last.
  for (;;) {
    const found = await db
      .keys({ gte: keys.batch(offset), lt: keys.batches.lt, limit: CHUNK, fillCache: false })
      .all();
    if (found.length === 0) return removed;
    await db.batch(
      found.map((key) => ({ type: 'del' as const, key })),
      { sync: true },
    );
    removed += found.length;
    if (found.length < CHUNK) return removed;
  }
}

/**
 * Visits stored batches in key order, each checked (header, CRC, key = baseOffset, no gap),
 * until `visit` returns false or the range ends.
 */
async function scanBatches(
  context: RecoveryContext,
  name: string,
  range: { gte: Buffer; lt: Buffer },
  visit: (summary: Summary) => boolean,
): Promise<void> {
  let gte = range.gte;
  let expected = -1;
  // Each round moves past a full chunk, or is the last.
  for (;;) {
    const chunk = await context.batchDb
      .iterator({ gte, lt: range.lt, limit: CHUNK, fillCache: false })
      .all();
    for (const [key, batch] of chunk) {
      const header = checked(context, name, key, batch);
      if (expected !== -1 && header.baseOffset !== expected) {
        throw context.fault(
          new Error(`${name}: gap before stored batch ${header.baseOffset}, expected ${expected}`),
          { name },
        );
      }
      expected = header.nextOffset;
      if (!visit({ baseOffset: header.baseOffset, header, byteLength: batch.length })) return;
    }
    if (chunk.length < CHUNK) return;
    gte = Buffer.concat([chunk[chunk.length - 1]![0], Buffer.from([0])]);
  }
}

/**
 * Why a stored batch cannot be trusted, or null: the read-side half of the paired check (header
 * and CRC pass, and the key equals the header's baseOffset). Shared with PartitionLog's reads.
 */
export function storedBatchProblem(key: Buffer, batch: Buffer): string | null {
  const check = checkBatchHeader(batch);
  const keyOffset = batchKeyOffset(key);
  if (!check.ok) return `stored batch ${keyOffset} is corrupt: ${check.reason}`;
  const baseOffset = RecordBatch.of(batch).baseOffset;
  if (baseOffset !== keyOffset) return `batch stored at ${keyOffset} has baseOffset ${baseOffset}`;
  return null;
}

function checked(context: RecoveryContext, name: string, key: Buffer, batch: Buffer): RecordBatch {
  const problem = storedBatchProblem(key, batch);
  if (problem !== null) {
    throw context.fault(new Error(`${name}: ${problem}`), {
      name,
      baseOffset: batchKeyOffset(key),
    });
  }
  return RecordBatch.of(batch);
}

async function lastBatch(
  context: RecoveryContext,
  keys: PartitionKeys,
  name: string,
): Promise<Summary | null> {
  const last = await context.batchDb
    .iterator({ gte: keys.batches.gte, lt: keys.batches.lt, reverse: true, limit: 1 })
    .all();
  if (last.length === 0) return null;
  const [key, batch] = last[0]!;
  const header = checked(context, name, key, batch);
  return { baseOffset: header.baseOffset, header, byteLength: batch.length };
}

async function baseAtOrBefore(
  context: RecoveryContext,
  keys: PartitionKeys,
  offset: number,
): Promise<number | null> {
  const found = await context.batchDb
    .keys({ gte: keys.batches.gte, lte: keys.batch(offset), reverse: true, limit: 1 })
    .all();
  return found.length === 0 ? null : batchKeyOffset(found[0]!);
}

/**
 * The epoch cache from the index store. An entry starting past the log end is a fault, unless
 * the index is ahead of the batches (`isAhead`): then it is dropped, with a delete in `ops`.
 */
async function loadEpochs(
  context: RecoveryContext,
  keys: PartitionKeys,
  name: string,
  logEndOffset: number,
  isAhead: boolean,
  ops: LogWriteOp[],
): Promise<LeaderEpochCache> {
  const epochs = new LeaderEpochCache();
  let gte = keys.epochs.gte;
  // Chunked so a long epoch history never sits in one array; ends when a chunk comes back short.
  for (;;) {
    const chunk = await context.indexDb
      .iterator({ gte, lt: keys.epochs.lt, limit: CHUNK, fillCache: false })
      .all();
    for (const [key, value] of chunk) {
      const epoch = epochKeyEpoch(key);
      const startOffset = decodeOffset(value);
      const isOrdered = epoch > epochs.latestEpoch() && startOffset > epochs.latestStartOffset();
      if (isAhead && isOrdered && startOffset >= logEndOffset) {
        ops.push({ type: 'del', key });
        continue;
      }
      if (startOffset > logEndOffset || !isOrdered) {
        throw context.fault(
          new Error(
            `${name}: epoch entry ${epoch}@${startOffset} is inconsistent with end ${logEndOffset}`,
          ),
          { name },
        );
      }
      epochs.load(epoch, startOffset);
    }
    if (chunk.length < CHUNK) return epochs;
    gte = keys.epoch(epochKeyEpoch(chunk[chunk.length - 1]![0]) + 1);
  }
}

async function lastIndexedTimestamp(
  context: RecoveryContext,
  keys: PartitionKeys,
): Promise<number> {
  const last = await context.indexDb
    .keys({ gte: keys.times.gte, lt: keys.times.lt, reverse: true, limit: 1, fillCache: false })
    .all();
  return last.length === 0 ? -Infinity : timeKeyTimestamp(last[0]!);
}

/**
 * Deletes (into `ops`) the time-index entries naming a batch at or after `offset`, newest
 * first; returns the running maximum the remaining ones end with.
 */
async function dropTimeEntriesFrom(
  context: RecoveryContext,
  keys: PartitionKeys,
  offset: number,
  ops: LogWriteOp[],
): Promise<number> {
  let lt = keys.times.lt;
  // Each round moves back over a full chunk, or is the last.
  for (;;) {
    const chunk = await context.indexDb
      .iterator({ gte: keys.times.gte, lt, reverse: true, limit: CHUNK, fillCache: false })
      .all();
    for (const [key, value] of chunk) {
      if (decodeOffset(value) < offset) return timeKeyTimestamp(key);
      ops.push({ type: 'del', key });
    }
    if (chunk.length < CHUNK) return -Infinity;
    lt = chunk[chunk.length - 1]![0];
  }
}
