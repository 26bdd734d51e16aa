/**
 * The records section: building a batch from records, walking it to check every record, and
 * decoding it into objects (docs/record-batch.md, "Records"). The walk is shared by checkBatch and
 * decodeRecords so the two can never disagree about what a valid record is; checkBatch runs it
 * without allocating per record (one Cursor and one RecordFrame per batch).
 */
import { limits } from '../config/limits.js';
import { BrokerError } from '../errors/index.js';
import { assert } from '../util/assert.js';
import {
  BATCH_OK,
  checkBatchHeader,
  checkDenseHeader,
  corrupt,
  invalid,
  writeBatchHeader,
  type BatchCheck,
  type BatchHeaderFields,
} from './batch.js';
import {
  RECORDS_UNCOMPRESSED_BYTES_MAX,
  compressRecords,
  decompressRecords,
  isKnownCompression,
} from './compression.js';
import { writeBatchCrc } from './crc.js';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_TIMESTAMP_TYPE_BIT,
  BATCH,
  BATCH_HEADER_BYTES,
  Compression,
  TimestampType,
  readInt64,
  tryReadInt64,
} from './layout.js';
import {
  Cursor,
  readVarint,
  readVarlong,
  varintBytes,
  varlongBytes,
  writeVarint,
  writeVarlong,
} from './varint.js';

/** A record header: a UTF-8 key and a non-null byte value (Brook has no null header values). */
export interface RecordHeader {
  key: string;
  value: Buffer;
}

/** One record to encode. A null key differs from an empty one; a null value is a tombstone. */
export interface RecordInput {
  key: Buffer | null;
  value: Buffer | null;
  timestampMs: number;
  headers: readonly RecordHeader[];
}

/**
 * One decoded record. key, value and header values are views into the batch buffer (or into its
 * inflated records section), not copies: they stay valid as long as that memory is not reused,
 * and they keep it alive. Copy them before reusing a pooled buffer.
 */
export interface DecodedRecord {
  offset: number;
  timestampMs: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface EncodeOptions {
  compression?: Compression;
  timestampType?: TimestampType;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  baseOffset?: number;
  leaderEpoch?: number;
}

/** attributes int8, timestampDelta, offsetDelta, keyLength, valueLength, headerCount: 1 byte each. */
const RECORD_BODY_BYTES_MIN = 6;

const INT16_MAX = 0x7fff;
const INT32_MAX = 0x7fff_ffff;

/** Matches a lone UTF-16 surrogate, which UTF-8 cannot carry (Buffer.from would replace it). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Builds one batch (defaults: NONE, CREATE_TIME, producer fields -1, baseOffset 0, leaderEpoch
 * -1). firstTimestamp is records[0].timestampMs and maxTimestamp the largest record timestamp.
 * Sizes are computed first and the records written into one exact-size buffer; compression runs
 * off the event loop. Returns a new buffer the caller owns. Throws RangeError for 0 records or
 * invalid input (unsafe timestamps, out-of-range producer fields, too many headers, a header key
 * that is not well-formed UTF-16, a batch over limits.batchBytesMax).
 */
export async function encodeBatch(
  records: readonly RecordInput[],
  options: EncodeOptions = {},
): Promise<Buffer> {
  const fields = resolveHeaderFields(records, options);
  // One typed array per batch holds each record's size between the measuring and writing passes.
  const bodyBytes = new Uint32Array(records.length);
  let sectionBytes = 0;
  for (let index = 0; index < records.length; index++) {
    const body = measureRecord(records[index]!, index, fields.firstTimestamp);
    bodyBytes[index] = body;
    sectionBytes += varintBytes(body) + body;
    if (sectionBytes > RECORDS_UNCOMPRESSED_BYTES_MAX) {
      throw new RangeError(`records exceed ${RECORDS_UNCOMPRESSED_BYTES_MAX} bytes uncompressed`);
    }
  }
  const codec = fields.attributes & ATTR_COMPRESSION_MASK;
  if (codec === Compression.NONE) {
    const batch = allocateBatch(sectionBytes);
    const end = writeRecords(batch, BATCH_HEADER_BYTES, records, bodyBytes, fields.firstTimestamp);
    assert(end === batch.length, 'encodeBatch: records did not fill the batch exactly');
    return finishBatch(batch, fields);
  }
  assert(isKnownCompression(codec), 'encodeBatch: codec was validated');
  const section = Buffer.allocUnsafe(sectionBytes);
  const end = writeRecords(section, 0, records, bodyBytes, fields.firstTimestamp);
  assert(end === section.length, 'encodeBatch: records did not fill the section exactly');
  const compressed = await compressRecords(codec, section);
  const batch = allocateBatch(compressed.length);
  assert(compressed.copy(batch, BATCH_HEADER_BYTES) === compressed.length, 'short copy');
  return finishBatch(batch, fields);
}

function allocateBatch(sectionBytes: number): Buffer {
  const batchBytes = BATCH_HEADER_BYTES + sectionBytes;
  if (batchBytes > limits.batchBytesMax) {
    throw new RangeError(`the batch would be ${batchBytes} bytes, above ${limits.batchBytesMax}`);
  }
  // Safe without zeroing: the header and the records together write every byte (asserted).
  return Buffer.allocUnsafe(batchBytes);
}

function finishBatch(batch: Buffer, fields: BatchHeaderFields): Buffer {
  writeBatchHeader(batch, fields);
  writeBatchCrc(batch);
  return batch;
}

/** Validates the options and timestamps and derives the header; throws RangeError. */
function resolveHeaderFields(
  records: readonly RecordInput[],
  options: EncodeOptions,
): BatchHeaderFields {
  if (records.length < 1) throw new RangeError('a batch needs at least one record');
  if (records.length > limits.batchRecordsMax) {
    throw new RangeError(`${records.length} records exceed the limit of ${limits.batchRecordsMax}`);
  }
  const compression = options.compression ?? Compression.NONE;
  if (!isKnownCompression(compression)) throw new RangeError(`unknown codec ${compression}`);
  const timestampType = options.timestampType ?? TimestampType.CREATE_TIME;
  if (
    timestampType !== TimestampType.CREATE_TIME &&
    timestampType !== TimestampType.LOG_APPEND_TIME
  ) {
    throw new RangeError(`unknown timestamp type ${String(timestampType)}`);
  }
  const baseOffset = options.baseOffset ?? 0;
  checkIntegerOption('baseOffset', baseOffset, 0, Number.MAX_SAFE_INTEGER - records.length);
  const fields: BatchHeaderFields = {
    attributes:
      compression | (timestampType === TimestampType.LOG_APPEND_TIME ? ATTR_TIMESTAMP_TYPE_BIT : 0),
    baseOffset,
    leaderEpoch: options.leaderEpoch ?? -1,
    recordCount: records.length,
    firstTimestamp: records[0]!.timestampMs,
    maxTimestamp: maxTimestampOf(records),
    producerId: options.producerId ?? -1,
    producerEpoch: options.producerEpoch ?? -1,
    baseSequence: options.baseSequence ?? -1,
  };
  checkIntegerOption('leaderEpoch', fields.leaderEpoch, -1, INT32_MAX);
  checkIntegerOption('producerId', fields.producerId, -1, Number.MAX_SAFE_INTEGER);
  checkIntegerOption('producerEpoch', fields.producerEpoch, -1, INT16_MAX);
  checkIntegerOption('baseSequence', fields.baseSequence, -1, INT32_MAX);
  return fields;
}

function checkIntegerOption(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], not ${value}`);
  }
}

function maxTimestampOf(records: readonly RecordInput[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < records.length; index++) {
    const timestampMs = records[index]!.timestampMs;
    if (!Number.isSafeInteger(timestampMs)) {
      throw new RangeError(`record ${index}: timestampMs ${timestampMs} is not a safe integer`);
    }
    if (timestampMs > max) max = timestampMs;
  }
  return max;
}

/** Validates one record and returns the bytes after its length varint. */
function measureRecord(record: RecordInput, index: number, firstTimestamp: number): number {
  const timestampDelta = record.timestampMs - firstTimestamp;
  if (!Number.isSafeInteger(timestampDelta)) {
    throw new RangeError(`record ${index}: timestamp is too far from firstTimestamp`);
  }
  const headers = record.headers;
  if (headers.length > limits.recordHeadersMax) {
    throw new RangeError(
      `record ${index}: ${headers.length} headers exceed ${limits.recordHeadersMax}`,
    );
  }
  let bytes =
    1 +
    varlongBytes(timestampDelta) +
    varintBytes(index) +
    nullableBytes(record.key, index, 'key') +
    nullableBytes(record.value, index, 'value') +
    varintBytes(headers.length);
  for (let h = 0; h < headers.length; h++) {
    const header = headers[h]!;
    if (typeof header.key !== 'string' || LONE_SURROGATE.test(header.key)) {
      throw new RangeError(`record ${index}: header ${h} key is not a well-formed string`);
    }
    if (!(header.value instanceof Uint8Array)) {
      throw new RangeError(`record ${index}: header ${h} value must be a Buffer`);
    }
    const keyBytes = Buffer.byteLength(header.key, 'utf8');
    bytes +=
      varintBytes(keyBytes) + keyBytes + varintBytes(header.value.length) + header.value.length;
  }
  return bytes;
}

function nullableBytes(field: Buffer | null, index: number, name: string): number {
  if (field === null) return 1;
  if (!(field instanceof Uint8Array)) {
    throw new RangeError(`record ${index}: ${name} must be a Buffer or null`);
  }
  return varintBytes(field.length) + field.length;
}

/** Writes every record from `at`; returns the position after the last. */
function writeRecords(
  buf: Buffer,
  at: number,
  records: readonly RecordInput[],
  bodyBytes: Uint32Array,
  firstTimestamp: number,
): number {
  for (let index = 0; index < records.length; index++) {
    const body = bodyBytes[index]!;
    const bodyStart = writeVarint(buf, at, body);
    at = writeRecordBody(buf, bodyStart, records[index]!, index, firstTimestamp);
    // Pairs with measureRecord: a disagreement would leave stale bytes from allocUnsafe.
    assert(at - bodyStart === body, `record ${index}: wrote ${at - bodyStart} of ${body} bytes`);
  }
  return at;
}

function writeRecordBody(
  buf: Buffer,
  at: number,
  record: RecordInput,
  index: number,
  firstTimestamp: number,
): number {
  buf[at++] = 0; // Record attributes: no bit is defined.
  at = writeVarlong(buf, at, record.timestampMs - firstTimestamp);
  at = writeVarint(buf, at, index);
  at = writeNullable(buf, at, record.key);
  at = writeNullable(buf, at, record.value);
  const headers = record.headers;
  at = writeVarint(buf, at, headers.length);
  for (let h = 0; h < headers.length; h++) {
    const header = headers[h]!;
    const keyBytes = Buffer.byteLength(header.key, 'utf8');
    at = writeVarint(buf, at, keyBytes);
    assert(buf.write(header.key, at, keyBytes, 'utf8') === keyBytes, 'header key short write');
    at += keyBytes;
    at = writeVarint(buf, at, header.value.length);
    at += header.value.copy(buf, at);
  }
  return at;
}

function writeNullable(buf: Buffer, at: number, field: Buffer | null): number {
  if (field === null) return writeVarint(buf, at, -1);
  at = writeVarint(buf, at, field.length);
  return at + field.copy(buf, at);
}

/**
 * Full check of a stored, fetched or replicated batch: checkBatchHeader, then inflate the records
 * (off the event loop) and walk every record. Such a batch may be sparse or empty (compaction):
 * offsetDeltas strictly increase and stay within lastOffsetDelta, and under CreateTime every
 * record timestamp is at most maxTimestamp. Failures are INVALID_RECORD, or CORRUPT_MESSAGE when
 * the records do not inflate. `timestampMsMin` rejects create timestamps below it. Never throws
 * or rejects on any input; buf is not modified. A producer's batch must pass checkProducedBatch.
 */
export async function checkBatch(
  buf: Buffer,
  options: { readonly timestampMsMin?: number } = {},
): Promise<BatchCheck> {
  return checkWalk(buf, false, options.timestampMsMin ?? Number.NEGATIVE_INFINITY);
}

/**
 * checkBatch plus the producer's rules (what the broker runs on a client's batch before it is
 * appended): the batch is dense (recordCount >= 1, lastOffsetDelta = recordCount - 1, record i
 * has offsetDelta i) and, under CreateTime, maxTimestamp equals the largest record timestamp.
 * `timestampMsMin` (the broker passes 0) rejects create timestamps below it, so a batch cannot
 * carry what a structured record may not. Never throws or rejects.
 */
export async function checkProducedBatch(
  buf: Buffer,
  options: { readonly timestampMsMin?: number } = {},
): Promise<BatchCheck> {
  return checkWalk(buf, true, options.timestampMsMin ?? Number.NEGATIVE_INFINITY);
}

async function checkWalk(
  buf: Buffer,
  isDense: boolean,
  timestampMsMin: number,
): Promise<BatchCheck> {
  const headerCheck = checkBatchHeader(buf);
  if (!headerCheck.ok) return headerCheck;
  if (isDense) {
    const denseCheck = checkDenseHeader(buf);
    if (!denseCheck.ok) return denseCheck;
  }
  let section: Buffer;
  try {
    section = await recordsSectionOf(buf);
  } catch (error) {
    return corrupt(errorMessage(error));
  }
  const failure = walkRecords(section, readWalkHeader(buf, isDense), null, null, timestampMsMin);
  return failure === null ? BATCH_OK : invalid(failure);
}

/**
 * Decodes every record of a batch (inflating off the event loop), dense or not. Each record's
 * offset is baseOffset + its offsetDelta (in a batch compaction thinned, not baseOffset + index);
 * an empty batch decodes to no records. With LogAppendTime every record's timestamp is the batch
 * maxTimestamp. Runs the same checks as checkBatch and throws BrokerError('CORRUPT_MESSAGE')
 * naming the first problem. The returned records hold views into buf (see DecodedRecord).
 */
export async function decodeRecords(buf: Buffer): Promise<DecodedRecord[]> {
  const headerCheck = checkBatchHeader(buf);
  if (!headerCheck.ok) throw new BrokerError('CORRUPT_MESSAGE', headerCheck.reason);
  let section: Buffer;
  try {
    section = await recordsSectionOf(buf);
  } catch (error) {
    throw new BrokerError('CORRUPT_MESSAGE', errorMessage(error), null, { cause: error });
  }
  const header = readWalkHeader(buf, false);
  const records: DecodedRecord[] = [];
  const failure = walkRecords(section, header, records, null);
  if (failure !== null) throw new BrokerError('CORRUPT_MESSAGE', failure);
  assert(records.length === header.recordCount, 'decodeRecords: record count after a clean walk');
  return records;
}

/**
 * Builds a copy of a stored batch that holds only the records whose `keep` flag is set (keep[i]
 * for the i-th record): compaction's rewrite of one batch. Kept records are copied byte for
 * byte, so each keeps its offsetDelta, timestampDelta, key, value and headers; the header keeps
 * every field (baseOffset, lastOffsetDelta, leaderEpoch, producer fields, timestamp type,
 * firstTimestamp, maxTimestamp and codec) but recordCount, batchLength and the CRC, which are
 * recomputed; a compressed batch is compressed again with its codec (off the event loop). With
 * no record kept the result is encodeEmptyBatch of the same header. Returns a new buffer; buf is
 * not modified. Throws BrokerError('CORRUPT_MESSAGE') when buf fails checkBatch.
 */
export async function retainRecords(buf: Buffer, keep: Uint8Array): Promise<Buffer> {
  const headerCheck = checkBatchHeader(buf);
  if (!headerCheck.ok) throw new BrokerError('CORRUPT_MESSAGE', headerCheck.reason);
  const header = readWalkHeader(buf, false);
  assert(keep.length === header.recordCount, 'retainRecords: one flag per record');
  const fields = headerFieldsOf(buf);
  let keptCount = 0;
  for (let i = 0; i < keep.length; i++) if (keep[i] !== 0) keptCount++;
  if (keptCount === 0) return encodeEmptyBatch(fields);
  const section = await recordsSectionOf(buf);
  const spans: number[] = [];
  const failure = walkRecords(section, header, null, spans);
  if (failure !== null) throw new BrokerError('CORRUPT_MESSAGE', failure);
  let keptBytes = 0;
  for (let i = 0; i < keep.length; i++)
    if (keep[i] !== 0) keptBytes += spans[2 * i + 1]! - spans[2 * i]!;
  const kept = Buffer.allocUnsafe(keptBytes);
  let at = 0;
  for (let i = 0; i < keep.length; i++) {
    if (keep[i] !== 0) at += section.copy(kept, at, spans[2 * i]!, spans[2 * i + 1]!);
  }
  assert(at === keptBytes, 'retainRecords: kept records fill their section exactly');
  const codec = fields.attributes & ATTR_COMPRESSION_MASK;
  assert(isKnownCompression(codec), 'retainRecords: codec checked by checkBatchHeader');
  const stored = codec === Compression.NONE ? kept : await compressRecords(codec, kept);
  const batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + stored.length);
  assert(stored.copy(batch, BATCH_HEADER_BYTES) === stored.length, 'retainRecords: short copy');
  return finishBatch(batch, { ...fields, recordCount: keptCount });
}

/** Every header field of a batch that passed checkBatchHeader, for rebuilding it. */
function headerFieldsOf(buf: Buffer): Required<BatchHeaderFields> {
  return {
    attributes: buf.readInt16BE(BATCH.ATTRIBUTES),
    baseOffset: readInt64(buf, BATCH.BASE_OFFSET),
    leaderEpoch: buf.readInt32BE(BATCH.LEADER_EPOCH),
    recordCount: buf.readInt32BE(BATCH.RECORD_COUNT),
    lastOffsetDelta: buf.readInt32BE(BATCH.LAST_OFFSET_DELTA),
    firstTimestamp: readInt64(buf, BATCH.FIRST_TIMESTAMP),
    maxTimestamp: readInt64(buf, BATCH.MAX_TIMESTAMP),
    producerId: readInt64(buf, BATCH.PRODUCER_ID),
    producerEpoch: buf.readInt16BE(BATCH.PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(BATCH.BASE_SEQUENCE),
  };
}

/** The header of an empty batch: what stays of a batch once compaction removed all its records. */
export interface EmptyBatchFields {
  /** Only the timestamp type bit is kept: an empty batch is never compressed. */
  readonly attributes: number;
  readonly baseOffset: number;
  /** The batch covers offsets [baseOffset, baseOffset + lastOffsetDelta]; >= 0. */
  readonly lastOffsetDelta: number;
  readonly leaderEpoch: number;
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
}

/**
 * A batch with no records covering [baseOffset, baseOffset + lastOffsetDelta]: a 61-byte header
 * with recordCount 0 and codec none (as Kafka writes the empty batches its cleaner keeps), so the
 * offsets stay covered in a log that must be gap-free. Returns a new buffer. Asserts the fields
 * are in range (broker code builds these from checked batches).
 */
export function encodeEmptyBatch(fields: EmptyBatchFields): Buffer {
  assert(Number.isSafeInteger(fields.baseOffset) && fields.baseOffset >= 0, 'empty: baseOffset');
  assert(
    Number.isInteger(fields.lastOffsetDelta) &&
      fields.lastOffsetDelta >= 0 &&
      fields.lastOffsetDelta <= INT32_MAX,
    'encodeEmptyBatch: lastOffsetDelta is an int32 >= 0',
  );
  assert(
    fields.baseOffset + fields.lastOffsetDelta < Number.MAX_SAFE_INTEGER,
    'encodeEmptyBatch: nextOffset is a safe integer',
  );
  const batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
  return finishBatch(batch, {
    attributes: fields.attributes & ATTR_TIMESTAMP_TYPE_BIT,
    baseOffset: fields.baseOffset,
    leaderEpoch: fields.leaderEpoch,
    recordCount: 0,
    lastOffsetDelta: fields.lastOffsetDelta,
    firstTimestamp: fields.firstTimestamp,
    maxTimestamp: fields.maxTimestamp,
    producerId: fields.producerId,
    producerEpoch: fields.producerEpoch,
    baseSequence: fields.baseSequence,
  });
}

function recordsSectionOf(buf: Buffer): Promise<Buffer> {
  const codec = buf.readInt16BE(BATCH.ATTRIBUTES) & ATTR_COMPRESSION_MASK;
  assert(isKnownCompression(codec), 'recordsSectionOf: codec checked by checkBatchHeader');
  return decompressRecords(codec, buf.subarray(BATCH_HEADER_BYTES), RECORDS_UNCOMPRESSED_BYTES_MAX);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The header fields the walk needs, read once per batch from a header that passed its check. */
interface WalkHeader {
  recordCount: number;
  lastOffsetDelta: number;
  baseOffset: number;
  firstTimestamp: number;
  maxTimestamp: number;
  isCreateTime: boolean;
  /** The producer's rules: offsetDelta = index, maxTimestamp = the largest record timestamp. */
  isDense: boolean;
}

function readWalkHeader(buf: Buffer, isDense: boolean): WalkHeader {
  return {
    recordCount: buf.readInt32BE(BATCH.RECORD_COUNT),
    lastOffsetDelta: buf.readInt32BE(BATCH.LAST_OFFSET_DELTA),
    baseOffset: tryReadInt64(buf, BATCH.BASE_OFFSET),
    firstTimestamp: tryReadInt64(buf, BATCH.FIRST_TIMESTAMP),
    maxTimestamp: tryReadInt64(buf, BATCH.MAX_TIMESTAMP),
    isCreateTime: (buf.readInt16BE(BATCH.ATTRIBUTES) & ATTR_TIMESTAMP_TYPE_BIT) === 0,
    isDense,
  };
}

/** Where one record's parts sit in the section. One instance is reused for every record. */
class RecordFrame {
  timestampDelta = 0;
  offsetDelta = 0;
  keyStart = 0;
  keyLength = -1;
  valueStart = 0;
  valueLength = -1;
  headersStart = 0;
  headerCount = 0;
}

/**
 * Walks exactly header.recordCount records covering all of section; returns null when every rule
 * holds, else the first problem in plain words. Appends decoded records to `out` when given, and
 * each record's [start, end) in the section to `spans` when given.
 */
function walkRecords(
  section: Buffer,
  header: WalkHeader,
  out: DecodedRecord[] | null,
  spans: number[] | null,
  timestampMsMin = Number.NEGATIVE_INFINITY,
): string | null {
  const cursor = new Cursor(section, 0, section.length);
  const frame = new RecordFrame();
  let timestampMsMax = Number.NEGATIVE_INFINITY;
  let previousOffsetDelta = -1;
  for (let index = 0; index < header.recordCount; index++) {
    if (cursor.remaining === 0) {
      return `the batch declares ${header.recordCount} records but holds ${index}`;
    }
    const start = cursor.pos;
    readRecord(cursor, frame);
    if (cursor.failure !== null) return `record ${index}: ${cursor.failure}`;
    const offsetProblem = checkOffsetDelta(frame.offsetDelta, index, previousOffsetDelta, header);
    if (offsetProblem !== null) return `record ${index}: ${offsetProblem}`;
    previousOffsetDelta = frame.offsetDelta;
    const timestampMs = header.firstTimestamp + frame.timestampDelta;
    if (!Number.isSafeInteger(timestampMs)) {
      return `record ${index}: its timestamp is outside the safe integer range`;
    }
    if (header.isCreateTime && timestampMs > header.maxTimestamp) {
      return `record ${index}: timestamp ${timestampMs} is after maxTimestamp ${header.maxTimestamp}`;
    }
    if (header.isCreateTime && timestampMs < timestampMsMin) {
      return `record ${index}: timestamp ${timestampMs} is before ${timestampMsMin}`;
    }
    if (timestampMs > timestampMsMax) timestampMsMax = timestampMs;
    if (spans !== null) spans.push(start, cursor.pos);
    if (out !== null) {
      const recordTimestampMs = header.isCreateTime ? timestampMs : header.maxTimestamp;
      const offset = header.baseOffset + frame.offsetDelta;
      out.push(materialize(section, frame, offset, recordTimestampMs));
    }
  }
  if (cursor.remaining !== 0) {
    return `${cursor.remaining} bytes follow the last of the ${header.recordCount} records`;
  }
  // Compaction keeps a batch's maxTimestamp when it removes the record that set it (as Kafka).
  if (header.isDense && header.isCreateTime && timestampMsMax !== header.maxTimestamp) {
    return `maxTimestamp is ${header.maxTimestamp} but the largest record timestamp is ${timestampMsMax}`;
  }
  return null;
}

/**
 * The offsetDelta rule: a producer's record i has offsetDelta i; in a stored batch (which
 * compaction may have thinned) offsetDeltas strictly increase and stay within lastOffsetDelta.
 */
function checkOffsetDelta(
  offsetDelta: number,
  index: number,
  previousOffsetDelta: number,
  header: WalkHeader,
): string | null {
  if (header.isDense) {
    return offsetDelta === index
      ? null
      : `offsetDelta is ${offsetDelta}, but it must equal the record's index ${index}`;
  }
  if (offsetDelta <= previousOffsetDelta) {
    return `offsetDelta is ${offsetDelta}, not above the previous record's ${previousOffsetDelta}`;
  }
  if (offsetDelta > header.lastOffsetDelta) {
    return `offsetDelta is ${offsetDelta}, past the batch's lastOffsetDelta ${header.lastOffsetDelta}`;
  }
  return null;
}

/** Reads one length-delimited record into frame, or records a failure on the cursor. */
function readRecord(cursor: Cursor, frame: RecordFrame): void {
  const bodyBytes = readVarint(cursor);
  if (cursor.failure !== null) return;
  if (bodyBytes < RECORD_BODY_BYTES_MIN) {
    cursor.fail(`length ${bodyBytes} is below the ${RECORD_BODY_BYTES_MIN}-byte minimum`);
    return;
  }
  if (bodyBytes > cursor.remaining) {
    cursor.fail(`length ${bodyBytes} runs past the end of the records (${cursor.remaining} left)`);
    return;
  }
  // Narrow the cursor to this record so no field can read into the next one.
  const sectionEnd = cursor.end;
  cursor.end = cursor.pos + bodyBytes;
  readRecordBody(cursor, frame);
  if (cursor.failure === null && cursor.pos !== cursor.end) {
    cursor.fail(`${cursor.end - cursor.pos} bytes follow its headers inside its length`);
  }
  cursor.end = sectionEnd;
}

function readRecordBody(cursor: Cursor, frame: RecordFrame): void {
  const attributes = cursor.buf[cursor.pos++]!;
  if (attributes !== 0) {
    cursor.fail(`its attributes are ${attributes}, but record attributes must be 0`);
    return;
  }
  frame.timestampDelta = readVarlong(cursor);
  frame.offsetDelta = readVarint(cursor);
  if (cursor.failure !== null) return;
  frame.keyLength = skipNullableBytes(cursor, 'key');
  frame.keyStart = cursor.pos - Math.max(frame.keyLength, 0);
  frame.valueLength = skipNullableBytes(cursor, 'value');
  frame.valueStart = cursor.pos - Math.max(frame.valueLength, 0);
  const headerCount = readVarint(cursor);
  if (cursor.failure !== null) return;
  if (headerCount < 0 || headerCount > limits.recordHeadersMax) {
    cursor.fail(`header count ${headerCount} is outside [0, ${limits.recordHeadersMax}]`);
    return;
  }
  frame.headerCount = headerCount;
  frame.headersStart = cursor.pos;
  for (let h = 0; h < headerCount && cursor.failure === null; h++) skipHeader(cursor, h);
}

/** Skips a varint-length-prefixed byte field where -1 means null; returns the length. */
function skipNullableBytes(cursor: Cursor, field: string): number {
  const length = readVarint(cursor);
  if (cursor.failure !== null) return -1;
  if (length < -1) {
    cursor.fail(`${field} length is ${length}; the only negative length allowed is -1 (null)`);
    return -1;
  }
  if (length > cursor.remaining) {
    cursor.fail(`${field} length ${length} runs past the end of the record`);
    return -1;
  }
  if (length > 0) cursor.pos += length;
  return length;
}

function skipHeader(cursor: Cursor, h: number): void {
  const keyBytes = readVarint(cursor);
  if (cursor.failure !== null) return;
  if (keyBytes < 0 || keyBytes > cursor.remaining) {
    cursor.fail(`header ${h} key length ${keyBytes} is negative or runs past the record`);
    return;
  }
  if (!isWellFormedUtf8(cursor.buf, cursor.pos, cursor.pos + keyBytes)) {
    cursor.fail(`header ${h} key is not well-formed UTF-8`);
    return;
  }
  cursor.pos += keyBytes;
  const valueBytes = readVarint(cursor);
  if (cursor.failure !== null) return;
  if (valueBytes < 0 || valueBytes > cursor.remaining) {
    // Kafka allows a null header value (-1); Brook's API has none, so it is rejected.
    cursor.fail(`header ${h} value length ${valueBytes} is negative or runs past the record`);
    return;
  }
  cursor.pos += valueBytes;
}

/**
 * Well-formed UTF-8 per Unicode Table 3-7: no overlong forms, no surrogates, nothing past
 * U+10FFFF. Header keys become JS strings, and ill-formed bytes would silently turn into U+FFFD.
 */
function isWellFormedUtf8(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const lead = buf[i]!;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    let continuationBytes: number;
    let secondMin = 0x80;
    let secondMax = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) continuationBytes = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      continuationBytes = 2;
      if (lead === 0xe0) secondMin = 0xa0; // overlong
      if (lead === 0xed) secondMax = 0x9f; // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      continuationBytes = 3;
      if (lead === 0xf0) secondMin = 0x90; // overlong
      if (lead === 0xf4) secondMax = 0x8f; // above U+10FFFF
    } else return false;
    if (i + continuationBytes >= end) return false;
    const second = buf[i + 1]!;
    if (second < secondMin || second > secondMax) return false;
    for (let k = 2; k <= continuationBytes; k++) {
      const byte = buf[i + k]!;
      if (byte < 0x80 || byte > 0xbf) return false;
    }
    i += continuationBytes + 1;
  }
  return true;
}

/** Builds the decoded record from an already-validated frame. */
function materialize(
  section: Buffer,
  frame: RecordFrame,
  offset: number,
  timestampMs: number,
): DecodedRecord {
  const key =
    frame.keyLength < 0 ? null : section.subarray(frame.keyStart, frame.keyStart + frame.keyLength);
  const value =
    frame.valueLength < 0
      ? null
      : section.subarray(frame.valueStart, frame.valueStart + frame.valueLength);
  const headers: RecordHeader[] = [];
  const cursor = new Cursor(section, frame.headersStart, section.length);
  for (let h = 0; h < frame.headerCount; h++) {
    const keyBytes = readVarint(cursor);
    const headerKey = section.toString('utf8', cursor.pos, cursor.pos + keyBytes);
    cursor.pos += keyBytes;
    const valueBytes = readVarint(cursor);
    headers.push({ key: headerKey, value: section.subarray(cursor.pos, cursor.pos + valueBytes) });
    cursor.pos += valueBytes;
  }
  assert(cursor.failure === null, 'materialize: headers were validated by the walk');
  return { offset, timestampMs, key, value, headers };
}
