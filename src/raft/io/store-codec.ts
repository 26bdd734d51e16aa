/**
 * Keys and values of the Raft log in the node's one LevelDB (level-store.ts owns the I/O; this
 * file is pure bytes). Raft owns key spaces 0x03 and 0x04 and nothing else:
 *
 *   0x03 entry           [0x03][index u64]  -> [v=1 u8][crc32c u32][term u64][index u64][type u8][data]
 *   0x04 hard state      [0x04][0x01]       -> [v=1 u8][crc32c u32][term u64][vote i32][commit u64]
 *   0x04 snapshot meta   [0x04][0x02]       -> [v=1 u8][crc32c u32][index u64][term u64]
 *                                               [dataBytes u64][dataCrc32c u32][conf state JSON]
 *   0x04 snapshot data   [0x04][0x03]       -> the state machine's snapshot bytes, as they are
 *   0x04 bootstrap       [0x04][0x04]       -> [v=1 u8][crc32c u32][conf state JSON]
 *
 * Integers are big-endian, so LevelDB's key order is index order and one range scan reads the
 * log in order. Each value's CRC32C covers every byte after the CRC field; the snapshot data is
 * covered by the CRC and length kept in its meta. The entry value repeats its index so a read
 * can check the value belongs under its key (a paired check, STYLE.md §1.3).

The bootstrap value is the membership the store was first started with (the driver writes it
before anything else, see bootstrap.ts): the starting point of the log, which the snapshot's and
conf-change entries' memberships then supersede. Its voter ids never change; its addresses may.
 *
 * Decoding a value that fails its checks throws BrokerError KAFKA_STORAGE_ERROR: the store is
 * corrupt, an environment fault the node must not run on (STYLE.md §4).
 */
import { crc32c, readInt64, writeInt64 } from '../../codec/index.js';
import { BrokerError } from '../../errors/index.js';
import { assert } from '../../util/assert.js';
import {
  EntryType,
  type ConfState,
  type Entry,
  type HardState,
  type Member,
  type SnapshotMeta,
} from '../types.js';

export const RaftKeySpace = {
  ENTRY: 0x03,
  STATE: 0x04,
} as const;

export const HARD_STATE_KEY = Buffer.from([RaftKeySpace.STATE, 0x01]);
export const SNAPSHOT_META_KEY = Buffer.from([RaftKeySpace.STATE, 0x02]);
export const SNAPSHOT_DATA_KEY = Buffer.from([RaftKeySpace.STATE, 0x03]);
export const BOOTSTRAP_KEY = Buffer.from([RaftKeySpace.STATE, 0x04]);

/** The range holding every entry key: [0x03, 0x04). */
export const ENTRY_KEYS_START = Buffer.from([RaftKeySpace.ENTRY]);
export const ENTRY_KEYS_END = Buffer.from([RaftKeySpace.ENTRY + 1]);

const VERSION = 1;
/** Version byte plus CRC: the prefix of every value but the snapshot data. */
const HEADER_BYTES = 1 + 4;
const ENTRY_KEY_BYTES = 1 + 8;
const ENTRY_FIXED_BYTES = HEADER_BYTES + 8 + 8 + 1;
const HARD_STATE_BYTES = HEADER_BYTES + 8 + 4 + 8;
const SNAPSHOT_META_FIXED_BYTES = HEADER_BYTES + 8 + 8 + 8 + 4;

export function entryKey(index: number): Buffer {
  assert(Number.isSafeInteger(index) && index >= 1, `entry index ${index} is not >= 1`);
  const key = Buffer.allocUnsafe(ENTRY_KEY_BYTES);
  key[0] = RaftKeySpace.ENTRY;
  writeInt64(key, 1, index);
  return key;
}

export function entryKeyIndex(key: Buffer): number {
  if (key.length !== ENTRY_KEY_BYTES || key[0] !== RaftKeySpace.ENTRY) {
    throw corrupt(`a key in the raft entry space is malformed (${key.toString('hex')})`);
  }
  return readStoredInt(key, 1, 'entry key index');
}

export function encodeEntry(entry: Entry): Buffer {
  const value = Buffer.allocUnsafe(ENTRY_FIXED_BYTES + entry.data.length);
  writeInt64(value, HEADER_BYTES, entry.term);
  writeInt64(value, HEADER_BYTES + 8, entry.index);
  value[HEADER_BYTES + 16] = entry.type;
  value.set(entry.data, ENTRY_FIXED_BYTES);
  return seal(value);
}

/** The entry stored under index `expectedIndex`. Its data is a view into `value`. */
export function decodeEntry(value: Buffer, expectedIndex: number): Entry {
  unseal(value, ENTRY_FIXED_BYTES, 'entry');
  const term = readStoredInt(value, HEADER_BYTES, 'entry term');
  const index = readStoredInt(value, HEADER_BYTES + 8, 'entry index');
  const type = value[HEADER_BYTES + 16];
  if (index !== expectedIndex) {
    throw corrupt(`the entry stored under index ${expectedIndex} says it is index ${index}`);
  }
  if (type !== EntryType.NORMAL && type !== EntryType.CONF_CHANGE) {
    throw corrupt(`entry ${index} has unknown type ${String(type)}`);
  }
  return { term, index, type, data: value.subarray(ENTRY_FIXED_BYTES) };
}

export function encodeHardState(state: HardState): Buffer {
  assert(Number.isInteger(state.vote) && state.vote >= -1, 'hard state vote is a node id or -1');
  const value = Buffer.allocUnsafe(HARD_STATE_BYTES);
  writeInt64(value, HEADER_BYTES, state.term);
  value.writeInt32BE(state.vote, HEADER_BYTES + 8);
  writeInt64(value, HEADER_BYTES + 12, state.commit);
  return seal(value);
}

export function decodeHardState(value: Buffer): HardState {
  unseal(value, HARD_STATE_BYTES, 'hard state');
  if (value.length !== HARD_STATE_BYTES) throw corrupt('the hard state has the wrong length');
  const vote = value.readInt32BE(HEADER_BYTES + 8);
  if (vote < -1) throw corrupt(`the hard state vote ${vote} is not a node id`);
  return {
    term: readStoredInt(value, HEADER_BYTES, 'hard state term'),
    vote,
    commit: readStoredInt(value, HEADER_BYTES + 12, 'hard state commit'),
  };
}

export interface StoredSnapshotMeta {
  readonly meta: SnapshotMeta;
  readonly dataBytes: number;
  readonly dataCrc: number;
}

export function encodeSnapshotMeta(meta: SnapshotMeta, data: Uint8Array): Buffer {
  const conf = Buffer.from(JSON.stringify(meta.confState), 'utf8');
  const value = Buffer.allocUnsafe(SNAPSHOT_META_FIXED_BYTES + conf.length);
  writeInt64(value, HEADER_BYTES, meta.index);
  writeInt64(value, HEADER_BYTES + 8, meta.term);
  writeInt64(value, HEADER_BYTES + 16, data.length);
  value.writeUInt32BE(crc32c(asBuffer(data)), HEADER_BYTES + 24);
  conf.copy(value, SNAPSHOT_META_FIXED_BYTES);
  return seal(value);
}

export function decodeSnapshotMeta(value: Buffer): StoredSnapshotMeta {
  unseal(value, SNAPSHOT_META_FIXED_BYTES, 'snapshot meta');
  const index = readStoredInt(value, HEADER_BYTES, 'snapshot index');
  const term = readStoredInt(value, HEADER_BYTES + 8, 'snapshot term');
  const dataBytes = readStoredInt(value, HEADER_BYTES + 16, 'snapshot data length');
  const dataCrc = value.readUInt32BE(HEADER_BYTES + 24);
  const confState = parseConfState(value.subarray(SNAPSHOT_META_FIXED_BYTES), 'snapshot meta');
  return { meta: { index, term, confState }, dataBytes, dataCrc };
}

/** The bootstrap membership: at least one voter, no id twice. */
export function encodeBootstrap(conf: ConfState): Buffer {
  assert(conf.voters.length >= 1, 'the bootstrap membership has a voter');
  const ids = [...conf.voters, ...conf.observers].map((m) => m.id);
  assert(new Set(ids).size === ids.length, 'the bootstrap membership names each node once');
  const json = Buffer.from(JSON.stringify(conf), 'utf8');
  const value = Buffer.allocUnsafe(HEADER_BYTES + json.length);
  json.copy(value, HEADER_BYTES);
  return seal(value);
}

/** The paired check of encodeBootstrap(): CRC, JSON shape, a voter, no id twice. */
export function decodeBootstrap(value: Buffer): ConfState {
  // The JSON is at least "{}", so a value of the header alone is torn.
  unseal(value, HEADER_BYTES + 2, 'bootstrap membership');
  const conf = parseConfState(value.subarray(HEADER_BYTES), 'bootstrap membership');
  if (conf.voters.length === 0) throw corrupt('the stored bootstrap membership has no voter');
  const ids = [...conf.voters, ...conf.observers].map((m) => m.id);
  if (new Set(ids).size !== ids.length) {
    throw corrupt('the stored bootstrap membership names a node twice');
  }
  return conf;
}

/** Checks snapshot data read back against the length and CRC its meta recorded. */
export function checkSnapshotData(stored: StoredSnapshotMeta, data: Buffer): void {
  if (data.length !== stored.dataBytes || crc32c(data) !== stored.dataCrc) {
    throw corrupt(
      `the snapshot data at index ${stored.meta.index} fails its check ` +
        `(${data.length} bytes, expected ${stored.dataBytes} with CRC ${stored.dataCrc})`,
    );
  }
}

// ---------------------------------------------------------------------------------------------

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Writes the version byte and the CRC over everything after the CRC field. */
function seal(value: Buffer): Buffer {
  value[0] = VERSION;
  value.writeUInt32BE(crc32c(value.subarray(HEADER_BYTES)), 1);
  return value;
}

/** The paired check of seal(): length, version and CRC. */
function unseal(value: Buffer, minBytes: number, what: string): void {
  if (value.length < minBytes) throw corrupt(`the stored ${what} is too short (${value.length} B)`);
  if (value[0] !== VERSION) throw corrupt(`the stored ${what} has unknown version ${value[0]}`);
  if (value.readUInt32BE(1) !== crc32c(value.subarray(HEADER_BYTES))) {
    throw corrupt(`the stored ${what} fails its CRC`);
  }
}

function readStoredInt(buf: Buffer, at: number, what: string): number {
  const high = buf.readInt32BE(at);
  const value = high * 4294967296 + buf.readUInt32BE(at + 4);
  if (!Number.isSafeInteger(value) || value < 0) throw corrupt(`the stored ${what} is ${value}`);
  return readInt64(buf, at);
}

/** A conf state stored as JSON; `what` names the value it was stored in, for the error. */
function parseConfState(json: Buffer, what: string): ConfState {
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch {
    throw corrupt(`the ${what} conf state is not JSON`);
  }
  const conf = (value ?? {}) as { voters?: unknown; observers?: unknown };
  return {
    voters: parseMembers(conf.voters, what),
    observers: parseMembers(conf.observers, what),
  };
}

function parseMembers(value: unknown, what: string): Member[] {
  if (!Array.isArray(value)) throw corrupt(`the ${what} conf state has no member list`);
  return value.map((member: unknown) => {
    const { id, address } = (member ?? {}) as { id?: unknown; address?: unknown };
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || typeof address !== 'string') {
      throw corrupt(`the ${what} conf state has a malformed member`);
    }
    return { id, address };
  });
}

function corrupt(problem: string): BrokerError {
  return new BrokerError('KAFKA_STORAGE_ERROR', `raft store is corrupt: ${problem}`);
}
