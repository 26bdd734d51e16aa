/**
 * Byte layout of a Brook record batch header (docs/record-batch.md). All integers big-endian.
 *
 *   off size field
 *     0   4  batchLength      int32  bytes after this field (whole batch = batchLength + 4)
 *     4   4  crc              uint32 CRC32C of bytes [8, end)
 *     8   1  magic            int8   = 1
 *     9   2  attributes       int16  bits 0-2 compression, bit 3 timestamp type
 *    11   8  baseOffset       int64  assigned by the partition leader on append
 *    19   4  leaderEpoch      int32  stamped by the partition leader on append (-1 before)
 *    23   4  lastOffsetDelta  int32  recordCount - 1
 *    27   8  firstTimestamp   int64  ms
 *    35   8  maxTimestamp     int64  ms (the append time when the type is LogAppendTime)
 *    43   8  producerId       int64  -1 without idempotence
 *    51   2  producerEpoch    int16  -1 without idempotence
 *    53   4  baseSequence     int32  -1 without idempotence
 *    57   4  recordCount      int32
 *    61      records (compressed together when the codec is not NONE)
 *
 * Unlike Kafka's v2 layout, the CRC covers baseOffset and leaderEpoch too, so every byte of a
 * stored batch is checked (batchLength is checked against the buffer's length). The leader
 * recomputes the CRC when it stamps those fields: one extra pass with hardware CRC32C, far
 * cheaper than the LevelDB write it precedes.
 */
export const BATCH = {
  LENGTH: 0,
  CRC: 4,
  MAGIC: 8,
  ATTRIBUTES: 9,
  BASE_OFFSET: 11,
  LEADER_EPOCH: 19,
  LAST_OFFSET_DELTA: 23,
  FIRST_TIMESTAMP: 27,
  MAX_TIMESTAMP: 35,
  PRODUCER_ID: 43,
  PRODUCER_EPOCH: 51,
  BASE_SEQUENCE: 53,
  RECORD_COUNT: 57,
  RECORDS: 61,
} as const;

/** Size of the fixed header; the smallest possible batch (which must still hold >= 1 record). */
export const BATCH_HEADER_BYTES = BATCH.RECORDS;

/** The first byte covered by the CRC. */
export const CRC_START = BATCH.MAGIC;

export const MAGIC = 1;

export const Compression = { NONE: 0, GZIP: 1, SNAPPY: 2 } as const;
export type Compression = (typeof Compression)[keyof typeof Compression];

export const TimestampType = { CREATE_TIME: 0, LOG_APPEND_TIME: 1 } as const;
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType];

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_TIMESTAMP_TYPE_BIT = 0x08;
/** Attribute bits Brook knows; a batch with any other bit set is rejected. */
export const ATTR_KNOWN_MASK = ATTR_COMPRESSION_MASK | ATTR_TIMESTAMP_TYPE_BIT;

/** Reads a signed int64 stored big-endian as a JS number; asserts it is a safe integer. */
export function readInt64(buf: Buffer, at: number): number {
  const high = buf.readInt32BE(at);
  const low = buf.readUInt32BE(at + 4);
  const value = high * 4294967296 + low;
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`int64 at byte ${at} is outside the safe integer range`);
  }
  return value;
}

/** Writes a safe integer as a signed big-endian int64. */
export function writeInt64(buf: Buffer, at: number, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not a safe integer`);
  const high = Math.floor(value / 4294967296);
  const low = value - high * 4294967296;
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(low, at + 4);
}

/**
 * Reads a signed big-endian int64 as a JS number, or NaN when it is outside the safe integer
 * range. Never throws: for validating untrusted bytes, where readInt64's RangeError would be an
 * exception on an expected path.
 */
export function tryReadInt64(buf: Buffer, at: number): number {
  // Near ±2^53 the sum is exact, and anything further out rounds to an unsafe value, so the
  // safe-integer test cannot be fooled by rounding.
  const value = buf.readInt32BE(at) * 4294967296 + buf.readUInt32BE(at + 4);
  return Number.isSafeInteger(value) ? value : Number.NaN;
}
