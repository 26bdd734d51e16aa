/**
 * Key layout of the partition log in its two stores (see README.md, "Two stores"): batch keys
 * (0x10) in the batch store, the rest in the index store, the node's main LevelDB; a data dir
 * from before the split keeps both in the main LevelDB. Every key starts with a one-byte key
 * space; the log owns 0x10-0x15 and nothing else. Integers are
 * big-endian so that LevelDB's byte order is numeric order: a seek on a batch key finds the
 * batch holding an offset, and a seek on a time key finds the first batch that reached a time.
 *
 *   0x10 batch        [0x10][topicId 16][partition u32][baseOffset u64]      -> batch bytes
 *   0x11 state        [0x11][topicId 16][partition u32]                      -> PartitionState
 *   0x12 epoch        [0x12][topicId 16][partition u32][leaderEpoch u32]     -> startOffset u64
 *   0x13 time index   [0x13][topicId 16][partition u32][maxTimestamp i64^]   -> baseOffset u64
 *   0x14 sync marker  [0x14]                                                 -> counter u64
 *   0x15 layout       [0x15] (index store only)                              -> 'batch-store'
 *
 * (i64^ = signed int64 with the sign bit flipped, so negative times sort before positive ones.)
 *
 * Key spaces of other modules in the main LevelDB, listed here so none is handed out twice:
 *   0x02 (retired: the metadata log before Raft; a data dir holding it is refused, server/broker.ts)
 *   0x03 raft entries    [0x03][index u64] (raft/io/store-codec.ts)
 *   0x04 raft state      hard state, snapshot meta, snapshot data, bootstrap membership
 *                        (raft/io/store-codec.ts)
 * Everything here is pure: no I/O, no clock.
 */
import { readInt64, writeInt64 } from '../codec/layout.js';
import { assert } from '../util/assert.js';

export const KeySpace = {
  BATCH: 0x10,
  STATE: 0x11,
  EPOCH: 0x12,
  TIME: 0x13,
  SYNC_MARKER: 0x14,
  LAYOUT: 0x15,
} as const;
export type KeySpace = (typeof KeySpace)[keyof typeof KeySpace];

export const TOPIC_ID_BYTES = 16;
/** [space][topicId][partition]: the prefix every per-partition key starts with. */
export const PARTITION_PREFIX_BYTES = 1 + TOPIC_ID_BYTES + 4;
export const BATCH_KEY_BYTES = PARTITION_PREFIX_BYTES + 8;
export const EPOCH_KEY_BYTES = PARTITION_PREFIX_BYTES + 4;
export const TIME_KEY_BYTES = PARTITION_PREFIX_BYTES + 8;

/** The spaces that hold per-partition keys, all cleared when a partition is deleted. */
export const PARTITION_KEY_SPACES: readonly KeySpace[] = [
  KeySpace.BATCH,
  KeySpace.STATE,
  KeySpace.EPOCH,
  KeySpace.TIME,
];

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `topicId` is a UUID string as crypto.randomUUID() makes (any case). */
export function isTopicId(topicId: string): boolean {
  return UUID_PATTERN.test(topicId);
}

/** The 16 raw bytes of a UUID string. Asserts the format: topic ids come from metadata. */
export function topicIdToBytes(topicId: string): Buffer {
  assert(isTopicId(topicId), `topic id ${JSON.stringify(topicId)} is not a UUID`);
  const bytes = Buffer.from(topicId.replaceAll('-', ''), 'hex');
  assert(bytes.length === TOPIC_ID_BYTES, 'a UUID is 16 bytes');
  return bytes;
}

/** The lower-case UUID string of 16 raw bytes at `at`. */
export function topicIdFromBytes(buf: Buffer, at: number): string {
  assert(buf.length >= at + TOPIC_ID_BYTES, 'topicIdFromBytes: buffer too short');
  const hex = buf.toString('hex', at, at + TOPIC_ID_BYTES);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `[space][topicId][partition]`, a fresh buffer. */
export function partitionPrefix(space: KeySpace, topicIdBytes: Buffer, partition: number): Buffer {
  assert(topicIdBytes.length === TOPIC_ID_BYTES, 'partitionPrefix: topic id is 16 bytes');
  assert(Number.isInteger(partition) && partition >= 0, 'partitionPrefix: partition >= 0');
  assert(partition <= 0xffffffff, 'partitionPrefix: partition fits u32');
  const key = Buffer.allocUnsafe(PARTITION_PREFIX_BYTES);
  key[0] = space;
  topicIdBytes.copy(key, 1);
  key.writeUInt32BE(partition, 1 + TOPIC_ID_BYTES);
  return key;
}

/**
 * The smallest key greater than every key that starts with `prefix`: the prefix incremented as
 * a big-endian number (trailing 0xff bytes carry). Used as the exclusive end of a range.
 */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let at = end.length - 1; at >= 0; at--) {
    if (end[at] !== 0xff) {
      end[at] = end[at]! + 1;
      return end.subarray(0, at + 1);
    }
  }
  // Only an all-0xff prefix has no successor; our prefixes start with a key space below 0xff.
  assert(false, 'prefixEnd: prefix has no successor');
}

/** Appends a u64 (a safe, non-negative integer) to a partition prefix. */
function keyWithOffset(prefix: Buffer, offset: number): Buffer {
  assert(prefix.length === PARTITION_PREFIX_BYTES, 'keyWithOffset: prefix length');
  assert(Number.isSafeInteger(offset) && offset >= 0, `offset ${offset} is not a u64 we store`);
  const key = Buffer.allocUnsafe(PARTITION_PREFIX_BYTES + 8);
  prefix.copy(key, 0);
  writeInt64(key, PARTITION_PREFIX_BYTES, offset);
  return key;
}

/** Key of the batch with this base offset, under a BATCH partition prefix. */
export function batchKey(batchPrefix: Buffer, baseOffset: number): Buffer {
  assert(batchPrefix[0] === KeySpace.BATCH, 'batchKey: not a batch prefix');
  return keyWithOffset(batchPrefix, baseOffset);
}

/** The base offset in a batch key. */
export function batchKeyOffset(key: Buffer): number {
  assert(key.length === BATCH_KEY_BYTES, `batch key is ${key.length} bytes, not 29`);
  assert(key[0] === KeySpace.BATCH, 'batchKeyOffset: not a batch key');
  return readInt64(key, PARTITION_PREFIX_BYTES);
}

/** Key of an epoch-cache entry, under an EPOCH partition prefix. */
export function epochKey(epochPrefix: Buffer, leaderEpoch: number): Buffer {
  assert(epochPrefix[0] === KeySpace.EPOCH, 'epochKey: not an epoch prefix');
  assert(Number.isInteger(leaderEpoch) && leaderEpoch >= 0, 'epochKey: epoch >= 0');
  assert(leaderEpoch <= 0x7fffffff, 'epochKey: epoch fits int32');
  const key = Buffer.allocUnsafe(EPOCH_KEY_BYTES);
  epochPrefix.copy(key, 0);
  key.writeUInt32BE(leaderEpoch, PARTITION_PREFIX_BYTES);
  return key;
}

/** The leader epoch in an epoch key. */
export function epochKeyEpoch(key: Buffer): number {
  assert(key.length === EPOCH_KEY_BYTES, `epoch key is ${key.length} bytes, not 25`);
  return key.readUInt32BE(PARTITION_PREFIX_BYTES);
}

/** Key of a time-index entry, under a TIME partition prefix. */
export function timeKey(timePrefix: Buffer, timestampMs: number): Buffer {
  assert(timePrefix[0] === KeySpace.TIME, 'timeKey: not a time prefix');
  const key = Buffer.allocUnsafe(TIME_KEY_BYTES);
  timePrefix.copy(key, 0);
  writeSortableInt64(key, PARTITION_PREFIX_BYTES, timestampMs);
  return key;
}

/** The timestamp in a time-index key. */
export function timeKeyTimestamp(key: Buffer): number {
  assert(key.length === TIME_KEY_BYTES, `time key is ${key.length} bytes, not 29`);
  return readSortableInt64(key, PARTITION_PREFIX_BYTES);
}

/**
 * Writes a safe integer as 8 bytes whose unsigned byte order is numeric order: two's
 * complement big-endian with the sign bit flipped.
 */
export function writeSortableInt64(buf: Buffer, at: number, value: number): void {
  writeInt64(buf, at, value);
  buf[at] = buf[at]! ^ 0x80;
}

export function readSortableInt64(buf: Buffer, at: number): number {
  const high = (buf.readUInt32BE(at) ^ 0x80000000) | 0;
  const value = high * 4294967296 + buf.readUInt32BE(at + 4);
  assert(Number.isSafeInteger(value), `sortable int64 at byte ${at} is not a safe integer`);
  return value;
}

/** An 8-byte big-endian u64 value (epoch start offsets, time-index base offsets). */
export function encodeOffset(offset: number): Buffer {
  assert(Number.isSafeInteger(offset) && offset >= 0, `offset ${offset} is not a u64 we store`);
  const value = Buffer.allocUnsafe(8);
  writeInt64(value, 0, offset);
  return value;
}

export function decodeOffset(value: Buffer): number {
  assert(value.length === 8, `an offset value is 8 bytes, not ${value.length}`);
  const offset = readInt64(value, 0);
  assert(offset >= 0, 'a stored offset is not negative');
  return offset;
}

/**
 * The durable part of a partition's state, in the index store (the node's main LevelDB), while
 * the batches live in the batch store (see README.md, "Two stores"). The log end offset is
 * recovered from the batches.
 */
export interface PartitionState {
  readonly logStartOffset: number;
  /**
   * Bytes of the stored batches this record counts: those holding an offset in
   * [logStartOffset, indexedEnd), less a compaction run in progress (`rewrite`).
   */
  readonly sizeBytes: number;
  /**
   * Where the index (this record, the epoch and time entries) ends: batches reaching past it
   * were appended after this record was written, and recovery counts and indexes them. null for
   * a version 1 record, written together with its batches, which therefore counts them all.
   */
  readonly indexedEnd: number | null;
  /** A tail truncation under way: batches from here on are to be deleted. */
  readonly truncateFrom: number | null;
  /** A compaction step under way: `sizeBytes` leaves out the batches in [from, end). */
  readonly rewrite: { readonly from: number; readonly end: number } | null;
}

const STATE_VERSION_1 = 1;
const STATE_VERSION = 2;
const STATE_BYTES_V1 = 1 + 8 + 8;
const STATE_BYTES = 2 + 6 * 8;
const HAS_TRUNCATION = 0x01;
const HAS_REWRITE = 0x02;

/**
 * `[version u8 = 2][flags u8][logStartOffset u64][sizeBytes u64][indexedEnd u64]
 * [truncateFrom u64][rewriteFrom u64][rewriteEnd u64]`; flags say which of the last three hold.
 */
export function encodeState(state: PartitionState): Buffer {
  assert(state.logStartOffset >= 0, 'encodeState: logStartOffset >= 0');
  assert(state.sizeBytes >= 0, 'encodeState: sizeBytes >= 0');
  assert(state.indexedEnd !== null && state.indexedEnd >= 0, 'encodeState: indexedEnd >= 0');
  const value = Buffer.alloc(STATE_BYTES);
  value[0] = STATE_VERSION;
  let flags = 0;
  writeInt64(value, 2, state.logStartOffset);
  writeInt64(value, 10, state.sizeBytes);
  writeInt64(value, 18, state.indexedEnd);
  if (state.truncateFrom !== null) {
    assert(state.truncateFrom >= 0, 'encodeState: truncateFrom >= 0');
    flags |= HAS_TRUNCATION;
    writeInt64(value, 26, state.truncateFrom);
  }
  if (state.rewrite !== null) {
    assert(
      state.rewrite.from >= 0 && state.rewrite.from < state.rewrite.end,
      'encodeState: 0 <= rewrite.from < rewrite.end',
    );
    flags |= HAS_REWRITE;
    writeInt64(value, 34, state.rewrite.from);
    writeInt64(value, 42, state.rewrite.end);
  }
  value[1] = flags;
  return value;
}

/**
 * Decodes a state value, version 1 or 2. Throws RangeError on an unknown version or length:
 * stored state the code cannot read is an environment fault (a downgrade or corruption), not a
 * programmer error.
 */
export function decodeState(value: Buffer): PartitionState {
  const version = value.length < 1 ? undefined : value[0];
  if (version === STATE_VERSION_1) {
    if (value.length !== STATE_BYTES_V1) {
      throw new RangeError(`partition state v1 is ${STATE_BYTES_V1} bytes, not ${value.length}`);
    }
    const logStartOffset = readInt64(value, 1);
    const sizeBytes = readInt64(value, 9);
    if (logStartOffset < 0 || sizeBytes < 0) throw new RangeError('partition state is negative');
    return { logStartOffset, sizeBytes, indexedEnd: null, truncateFrom: null, rewrite: null };
  }
  if (version !== STATE_VERSION) {
    throw new RangeError(`partition state has version ${version}, this build reads 1 and 2`);
  }
  if (value.length !== STATE_BYTES) {
    throw new RangeError(`partition state v2 is ${STATE_BYTES} bytes, not ${value.length}`);
  }
  const flags = value[1]!;
  if ((flags & ~(HAS_TRUNCATION | HAS_REWRITE)) !== 0) {
    throw new RangeError(`partition state v2 has unknown flags ${flags}`);
  }
  const logStartOffset = readInt64(value, 2);
  const sizeBytes = readInt64(value, 10);
  const indexedEnd = readInt64(value, 18);
  const truncateFrom = (flags & HAS_TRUNCATION) !== 0 ? readInt64(value, 26) : null;
  const rewrite =
    (flags & HAS_REWRITE) !== 0 ? { from: readInt64(value, 34), end: readInt64(value, 42) } : null;
  if (
    logStartOffset < 0 ||
    sizeBytes < 0 ||
    indexedEnd < 0 ||
    (truncateFrom !== null && truncateFrom < 0) ||
    (rewrite !== null && (rewrite.from < 0 || rewrite.from >= rewrite.end))
  ) {
    throw new RangeError('partition state v2 holds a negative offset or an empty rewrite');
  }
  if (indexedEnd < logStartOffset) {
    throw new RangeError(
      `partition state v2 ends its index at ${indexedEnd}, before its log start`,
    );
  }
  return { logStartOffset, sizeBytes, indexedEnd, truncateFrom, rewrite };
}

/**
 * The key a sync with nothing else queued writes, with sync, into each store that has unsynced
 * writes ('interval' ticks, close), to make its WAL durable up to there.
 */
export const SYNC_MARKER_KEY: Buffer = Buffer.from([KeySpace.SYNC_MARKER]);

/**
 * Present in the index store once the node keeps its batches in a batch store of their own:
 * from then on a missing batch store is lost data, never a data dir from before the split.
 */
export const LAYOUT_KEY: Buffer = Buffer.from([KeySpace.LAYOUT]);
export const LAYOUT_BATCH_STORE: Buffer = Buffer.from('batch-store');

/** A key range for LevelDB: `[gte, lt)`. */
export interface KeyRange {
  readonly gte: Buffer;
  readonly lt: Buffer;
}

/**
 * The precomputed prefixes and ranges of one partition, so the hot path builds a key with one
 * allocation and one copy.
 */
export class PartitionKeys {
  readonly topicIdBytes: Buffer;
  readonly batches: KeyRange;
  readonly epochs: KeyRange;
  readonly times: KeyRange;
  /** The state key is the whole STATE prefix. */
  readonly state: Buffer;

  constructor(topicId: string, partition: number) {
    this.topicIdBytes = topicIdToBytes(topicId);
    this.batches = rangeOf(partitionPrefix(KeySpace.BATCH, this.topicIdBytes, partition));
    this.epochs = rangeOf(partitionPrefix(KeySpace.EPOCH, this.topicIdBytes, partition));
    this.times = rangeOf(partitionPrefix(KeySpace.TIME, this.topicIdBytes, partition));
    this.state = partitionPrefix(KeySpace.STATE, this.topicIdBytes, partition);
  }

  batch(baseOffset: number): Buffer {
    return batchKey(this.batches.gte, baseOffset);
  }

  epoch(leaderEpoch: number): Buffer {
    return epochKey(this.epochs.gte, leaderEpoch);
  }

  time(timestampMs: number): Buffer {
    return timeKey(this.times.gte, timestampMs);
  }

  /** Every range holding this partition's keys, state last. */
  allRanges(): KeyRange[] {
    return [this.batches, this.epochs, this.times, rangeOf(this.state)];
  }
}

/** All keys that start with `prefix`. */
export function rangeOf(prefix: Buffer): KeyRange {
  return { gte: prefix, lt: prefixEnd(prefix) };
}
