/**
 * codec: the Brook record batch, in bytes (docs/record-batch.md is the byte-level spec).
 *
 * Role. A batch is the unit the broker stores, replicates and serves: a 61-byte header (offsets,
 * epoch, timestamps, producer fields, CRC32C) followed by records in Kafka's v2 record format,
 * optionally compressed as a whole. Producers build batches with encodeBatch; consumers read
 * them with decodeRecords (batchesIn splits a fetched run); the broker never decodes records.
 *
 * The broker's loop, per produced batch (STYLE.md §6):
 *   1. checkBatchHeader (synchronous, O(1) + one CRC pass), then checkProducedBatch (inflates and
 *      walks every record, without allocating per record) before anything is written;
 *   2. stampBatch in place: baseOffset, leaderEpoch, optionally LogAppendTime; the CRC is redone;
 *   3. store the bytes; after every read, checkBatchHeader again (paired check, §1.3).
 * Compaction (log/cleaner.ts) rewrites stored batches with retainRecords and encodeEmptyBatch.
 *
 * Invariants. Every byte of a stored batch is covered: batchLength by the buffer length, the rest
 * by the CRC (unlike Kafka v2, the CRC includes baseOffset and leaderEpoch). A batch covers the
 * offsets [baseOffset, baseOffset + lastOffsetDelta]. A producer's batch is dense: recordCount
 * >= 1, lastOffsetDelta = recordCount - 1, record i has offsetDelta i, and under CreateTime
 * maxTimestamp is exactly the largest record timestamp (checkProducedBatch). A stored, fetched or
 * replicated batch may have been thinned by compaction, so every other check and decodeRecords
 * accept: 0 <= recordCount <= lastOffsetDelta + 1, offsetDeltas strictly increasing and each
 * <= lastOffsetDelta (a record's offset is baseOffset + offsetDelta), and under CreateTime every
 * record timestamp <= maxTimestamp. The empty batches compaction writes (recordCount 0) have codec
 * none and no records section. All int64 fields are safe integers, read as numbers without BigInt.
 *
 * Errors. Checks return a BatchCheck (never throw); decodeRecords throws BrokerError
 * CORRUPT_MESSAGE; encodeBatch throws RangeError for bad input; misuse by broker code asserts.
 */
export {
  BATCH,
  BATCH_HEADER_BYTES,
  Compression,
  TimestampType,
  readInt64,
  writeInt64,
} from './layout.js';
export {
  RecordBatch,
  batchesIn,
  checkBatchHeader,
  checkDenseHeader,
  stampBatch,
  type BatchCheck,
  type StampFields,
} from './batch.js';
export {
  checkBatch,
  checkProducedBatch,
  decodeRecords,
  encodeBatch,
  encodeEmptyBatch,
  retainRecords,
  type DecodedRecord,
  type EmptyBatchFields,
  type EncodeOptions,
  type RecordHeader,
  type RecordInput,
} from './records.js';
export { crc32c } from './crc.js';
export { murmur2, partitionForKey } from './murmur2.js';
