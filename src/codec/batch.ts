/**
 * The batch header: a zero-copy view, the O(1)+CRC check run on every produce and after every
 * read, the leader's in-place stamp, and splitting a run of batches. Nothing here looks at the
 * records section; records.ts does.
 */
import { limits } from '../config/limits.js';
import { assert } from '../util/assert.js';
import { isKnownCompression } from './compression.js';
import { computeBatchCrc, writeBatchCrc } from './crc.js';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_KNOWN_MASK,
  ATTR_TIMESTAMP_TYPE_BIT,
  BATCH,
  BATCH_HEADER_BYTES,
  MAGIC,
  TimestampType,
  readInt64,
  tryReadInt64,
  writeInt64,
} from './layout.js';

/**
 * Read-only view of a batch header over the caller's buffer: every getter reads the bytes, so it
 * reflects later in-place changes (stampBatch) and costs no decoding up front. It validates
 * nothing; call checkBatchHeader first. The int64 getters throw RangeError on an unsafe value,
 * which checkBatchHeader has already ruled out.
 */
export class RecordBatch {
  readonly buffer: Buffer;

  private constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  /** Wraps buf without copying; buf must hold one whole batch (see batchesIn for several). */
  static of(buf: Buffer): RecordBatch {
    return new RecordBatch(buf);
  }

  /** Bytes of the whole batch, batchLength + 4. */
  get byteLength(): number {
    return this.buffer.length;
  }
  get crc(): number {
    return this.buffer.readUInt32BE(BATCH.CRC);
  }
  get magic(): number {
    return this.buffer.readInt8(BATCH.MAGIC);
  }
  get attributes(): number {
    return this.buffer.readInt16BE(BATCH.ATTRIBUTES);
  }
  /** The codec id (Compression), the low 3 attribute bits. */
  get compression(): number {
    return this.attributes & ATTR_COMPRESSION_MASK;
  }
  /** TimestampType: CREATE_TIME (0) or LOG_APPEND_TIME (1), attribute bit 3. */
  get timestampType(): number {
    return (this.attributes & ATTR_TIMESTAMP_TYPE_BIT) === 0
      ? TimestampType.CREATE_TIME
      : TimestampType.LOG_APPEND_TIME;
  }
  get baseOffset(): number {
    return readInt64(this.buffer, BATCH.BASE_OFFSET);
  }
  get leaderEpoch(): number {
    return this.buffer.readInt32BE(BATCH.LEADER_EPOCH);
  }
  get lastOffsetDelta(): number {
    return this.buffer.readInt32BE(BATCH.LAST_OFFSET_DELTA);
  }
  /**
   * The last offset the batch covers: baseOffset + lastOffsetDelta. In a dense batch that is its
   * last record's offset; compaction may have removed that record, or every record.
   */
  get lastOffset(): number {
    return this.baseOffset + this.lastOffsetDelta;
  }
  /** The offset the next batch in the log starts at: lastOffset + 1. */
  get nextOffset(): number {
    return this.lastOffset + 1;
  }
  get recordCount(): number {
    return this.buffer.readInt32BE(BATCH.RECORD_COUNT);
  }
  get firstTimestamp(): number {
    return readInt64(this.buffer, BATCH.FIRST_TIMESTAMP);
  }
  get maxTimestamp(): number {
    return readInt64(this.buffer, BATCH.MAX_TIMESTAMP);
  }
  get producerId(): number {
    return readInt64(this.buffer, BATCH.PRODUCER_ID);
  }
  get producerEpoch(): number {
    return this.buffer.readInt16BE(BATCH.PRODUCER_EPOCH);
  }
  get baseSequence(): number {
    return this.buffer.readInt32BE(BATCH.BASE_SEQUENCE);
  }
}

/** Outcome of a batch check. `reason` says in plain words what is wrong, for the client. */
export type BatchCheck =
  | { ok: true }
  | {
      ok: false;
      code: 'CORRUPT_MESSAGE' | 'INVALID_RECORD' | 'UNSUPPORTED_COMPRESSION_TYPE';
      reason: string;
    };

/** Shared success value, so the hot path allocates nothing when a batch is fine. */
export const BATCH_OK: BatchCheck = Object.freeze({ ok: true });

export function corrupt(reason: string): BatchCheck {
  return { ok: false, code: 'CORRUPT_MESSAGE', reason };
}

export function invalid(reason: string): BatchCheck {
  return { ok: false, code: 'INVALID_RECORD', reason };
}

/**
 * Checks the header and the CRC in O(1) plus one CRC pass; never throws. Size, batchLength and
 * magic come first (they decide whether the bytes are a Brook batch at all), then the CRC, then
 * the fields. Checking the CRC before the attributes means a flipped attribute bit reads as
 * CORRUPT_MESSAGE (retriable), while a well-formed batch with, say, zstd gets the accurate
 * UNSUPPORTED_COMPRESSION_TYPE.
 */
export function checkBatchHeader(buf: Buffer): BatchCheck {
  if (!Buffer.isBuffer(buf)) return corrupt('the batch is not a byte buffer');
  if (buf.length < BATCH_HEADER_BYTES) {
    return corrupt(`the batch is ${buf.length} bytes, shorter than the 61-byte header`);
  }
  const batchLength = buf.readInt32BE(BATCH.LENGTH);
  if (batchLength !== buf.length - 4) {
    return corrupt(
      `batchLength says ${batchLength} bytes follow it, but the buffer holds ${buf.length - 4}`,
    );
  }
  const magic = buf.readInt8(BATCH.MAGIC);
  if (magic !== MAGIC) {
    return corrupt(`magic is ${magic}, but Brook batches have magic ${MAGIC}`);
  }
  const storedCrc = buf.readUInt32BE(BATCH.CRC);
  const computedCrc = computeBatchCrc(buf);
  if (storedCrc !== computedCrc) {
    return corrupt(
      `the CRC32C field is 0x${hex32(storedCrc)}, but bytes [8, end) hash to 0x${hex32(computedCrc)}`,
    );
  }
  return checkHeaderFields(buf);
}

/**
 * The field rules, on a buffer whose length, magic and CRC are already right. These are the rules
 * of a stored, fetched or replicated batch, which compaction may have left sparse or empty:
 * 0 <= recordCount <= lastOffsetDelta + 1. A producer's batch must also be dense
 * (checkDenseHeader).
 */
function checkHeaderFields(buf: Buffer): BatchCheck {
  const attributes = buf.readInt16BE(BATCH.ATTRIBUTES);
  if ((attributes & ~ATTR_KNOWN_MASK) !== 0) {
    return invalid(
      `attributes 0x${(attributes & 0xffff).toString(16)} set bits other than 0-3 (codec and timestamp type)`,
    );
  }
  const codec = attributes & ATTR_COMPRESSION_MASK;
  if (!isKnownCompression(codec)) {
    return {
      ok: false,
      code: 'UNSUPPORTED_COMPRESSION_TYPE',
      reason: `compression codec ${codec} is not supported (0 none, 1 gzip, 2 snappy)`,
    };
  }
  const recordCount = buf.readInt32BE(BATCH.RECORD_COUNT);
  if (recordCount < 0) return invalid(`recordCount is ${recordCount}; it cannot be negative`);
  if (recordCount > limits.batchRecordsMax) {
    return invalid(`recordCount ${recordCount} is above the limit of ${limits.batchRecordsMax}`);
  }
  const lastOffsetDelta = buf.readInt32BE(BATCH.LAST_OFFSET_DELTA);
  if (lastOffsetDelta < 0) {
    return invalid(`lastOffsetDelta is ${lastOffsetDelta}; a batch covers at least one offset`);
  }
  if (recordCount > lastOffsetDelta + 1) {
    return invalid(
      `recordCount ${recordCount} is more than the lastOffsetDelta + 1 = ${lastOffsetDelta + 1} offsets the batch covers`,
    );
  }
  return checkInt64Fields(buf, lastOffsetDelta, (attributes & ATTR_TIMESTAMP_TYPE_BIT) === 0);
}

/**
 * The producer's rule on top of checkBatchHeader: a client batch is dense, recordCount >= 1 and
 * lastOffsetDelta = recordCount - 1 (its records' offsetDeltas 0, 1, 2, ... are checked by the
 * record walk). Only compaction makes batches sparse or empty, never a producer. Call it on a
 * buffer that passed checkBatchHeader.
 */
export function checkDenseHeader(buf: Buffer): BatchCheck {
  const recordCount = buf.readInt32BE(BATCH.RECORD_COUNT);
  if (recordCount < 1) return invalid(`recordCount is ${recordCount}; a batch holds at least 1`);
  const lastOffsetDelta = buf.readInt32BE(BATCH.LAST_OFFSET_DELTA);
  if (lastOffsetDelta !== recordCount - 1) {
    return invalid(
      `lastOffsetDelta is ${lastOffsetDelta} but recordCount - 1 is ${recordCount - 1}`,
    );
  }
  return BATCH_OK;
}

function checkInt64Fields(buf: Buffer, lastOffsetDelta: number, isCreateTime: boolean): BatchCheck {
  const baseOffset = tryReadInt64(buf, BATCH.BASE_OFFSET);
  if (!(baseOffset >= 0)) return invalid('baseOffset is negative or not a safe integer');
  // nextOffset must stay exact too, or the log end offset after this batch would round.
  if (baseOffset + lastOffsetDelta + 1 > Number.MAX_SAFE_INTEGER) {
    return invalid('baseOffset + lastOffsetDelta + 1 is beyond the safe integer range');
  }
  const firstTimestamp = tryReadInt64(buf, BATCH.FIRST_TIMESTAMP);
  if (Number.isNaN(firstTimestamp)) return invalid('firstTimestamp is not a safe integer');
  const maxTimestamp = tryReadInt64(buf, BATCH.MAX_TIMESTAMP);
  if (Number.isNaN(maxTimestamp)) return invalid('maxTimestamp is not a safe integer');
  if (Number.isNaN(tryReadInt64(buf, BATCH.PRODUCER_ID))) {
    return invalid('producerId is not a safe integer');
  }
  // With LogAppendTime, maxTimestamp is the broker's clock, which may be behind the producer's.
  if (isCreateTime && firstTimestamp > maxTimestamp) {
    return invalid(`firstTimestamp ${firstTimestamp} is after maxTimestamp ${maxTimestamp}`);
  }
  return BATCH_OK;
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/** Every header field but batchLength and crc, which writeBatchHeader derives. */
export interface BatchHeaderFields {
  attributes: number;
  baseOffset: number;
  leaderEpoch: number;
  recordCount: number;
  /** Default recordCount - 1 (dense); larger for a batch compaction left sparse or empty. */
  lastOffsetDelta?: number;
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/**
 * Writes all 61 header bytes of a batch occupying all of buf, with a zero CRC: the caller writes
 * the records section, then calls writeBatchCrc. Every header byte is written, so buf may come
 * from Buffer.allocUnsafe.
 */
export function writeBatchHeader(buf: Buffer, fields: BatchHeaderFields): void {
  assert(buf.length >= BATCH_HEADER_BYTES, 'writeBatchHeader: buffer shorter than a header');
  assert(fields.recordCount >= 0, 'writeBatchHeader: recordCount >= 0');
  const lastOffsetDelta = fields.lastOffsetDelta ?? fields.recordCount - 1;
  assert(lastOffsetDelta >= 0, 'writeBatchHeader: a batch covers at least one offset');
  assert(
    fields.recordCount <= lastOffsetDelta + 1,
    'writeBatchHeader: recordCount fits the offsets',
  );
  buf.writeInt32BE(buf.length - 4, BATCH.LENGTH);
  buf.writeUInt32BE(0, BATCH.CRC);
  buf.writeInt8(MAGIC, BATCH.MAGIC);
  buf.writeInt16BE(fields.attributes, BATCH.ATTRIBUTES);
  writeInt64(buf, BATCH.BASE_OFFSET, fields.baseOffset);
  buf.writeInt32BE(fields.leaderEpoch, BATCH.LEADER_EPOCH);
  buf.writeInt32BE(lastOffsetDelta, BATCH.LAST_OFFSET_DELTA);
  writeInt64(buf, BATCH.FIRST_TIMESTAMP, fields.firstTimestamp);
  writeInt64(buf, BATCH.MAX_TIMESTAMP, fields.maxTimestamp);
  writeInt64(buf, BATCH.PRODUCER_ID, fields.producerId);
  buf.writeInt16BE(fields.producerEpoch, BATCH.PRODUCER_EPOCH);
  buf.writeInt32BE(fields.baseSequence, BATCH.BASE_SEQUENCE);
  // The last field ends exactly where the records begin, so no header byte is left unwritten.
  assert(buf.writeInt32BE(fields.recordCount, BATCH.RECORD_COUNT) === BATCH.RECORDS, 'header gap');
}

/** What the partition leader writes into a batch when it appends it. */
export interface StampFields {
  baseOffset: number;
  leaderEpoch: number;
  /** The broker's append time for topics with message.timestamp.type=LogAppendTime, else null. */
  logAppendTimeMs: number | null;
}

/**
 * Stamps a checked batch in place: baseOffset, leaderEpoch and, for LogAppendTime, the timestamp
 * type bit and maxTimestamp; then recomputes the CRC, which covers all of them. The caller owns
 * buf and must not share it while stamping. Bad arguments are broker bugs, so they assert.
 */
export function stampBatch(buf: Buffer, fields: StampFields): void {
  assert(buf.length >= BATCH_HEADER_BYTES, 'stampBatch: buffer shorter than a batch header');
  assert(buf.readInt32BE(BATCH.LENGTH) === buf.length - 4, 'stampBatch: batchLength mismatch');
  assert(Number.isSafeInteger(fields.baseOffset), 'stampBatch: baseOffset not a safe integer');
  assert(fields.baseOffset >= 0, 'stampBatch: baseOffset negative');
  const lastOffsetDelta = buf.readInt32BE(BATCH.LAST_OFFSET_DELTA);
  assert(
    fields.baseOffset + lastOffsetDelta < Number.MAX_SAFE_INTEGER,
    'stampBatch: nextOffset beyond the safe integer range',
  );
  assert((fields.leaderEpoch | 0) === fields.leaderEpoch, 'stampBatch: leaderEpoch not int32');
  assert(fields.leaderEpoch >= -1, 'stampBatch: leaderEpoch below -1');
  writeInt64(buf, BATCH.BASE_OFFSET, fields.baseOffset);
  buf.writeInt32BE(fields.leaderEpoch, BATCH.LEADER_EPOCH);
  if (fields.logAppendTimeMs !== null) {
    assert(Number.isSafeInteger(fields.logAppendTimeMs), 'stampBatch: logAppendTimeMs unsafe');
    const attributes = buf.readInt16BE(BATCH.ATTRIBUTES);
    buf.writeInt16BE(attributes | ATTR_TIMESTAMP_TYPE_BIT, BATCH.ATTRIBUTES);
    writeInt64(buf, BATCH.MAX_TIMESTAMP, fields.logAppendTimeMs);
  }
  writeBatchCrc(buf);
}

/**
 * Splits a concatenation of whole batches (a fetch response, a stored run) into views of buf,
 * using each batchLength. It checks only the framing; check each batch before trusting it.
 * Throws RangeError when a batchLength is too small for a header or the buffer does not end
 * exactly on a batch boundary.
 */
export function batchesIn(buf: Buffer): Buffer[] {
  const batches: Buffer[] = [];
  let at = 0;
  // Each step advances at least one header, so the loop is bounded by buf.length / 61.
  while (at < buf.length) {
    if (buf.length - at < 4) {
      throw new RangeError(`${buf.length - at} trailing bytes at ${at} are not a whole batch`);
    }
    const batchBytes = buf.readInt32BE(at + BATCH.LENGTH) + 4;
    if (batchBytes < BATCH_HEADER_BYTES) {
      throw new RangeError(`batch at byte ${at} declares ${batchBytes} bytes, less than a header`);
    }
    if (at + batchBytes > buf.length) {
      throw new RangeError(
        `batch at byte ${at} declares ${batchBytes} bytes but only ${buf.length - at} remain`,
      );
    }
    batches.push(buf.subarray(at, at + batchBytes));
    at += batchBytes;
  }
  assert(at === buf.length, 'batchesIn: split does not cover the buffer');
  return batches;
}
