/**
 * Zigzag varints as in protobuf and Kafka's record format (docs/record-batch.md, "Varints").
 *
 * A varint holds a signed 32-bit integer in at most 5 bytes; a varlong holds any safe integer
 * (|v| <= 2^53 - 1) in at most 8 bytes. Zigzag maps 0, -1, 1, -2, ... to 0, 1, 2, 3, ... so small
 * negative numbers stay short. Varlongs never form the zigzagged value as one number, because for
 * |v| near 2^53 it needs 54 bits and would round; they work on the magnitude and the sign apart.
 *
 * Readers work on a Cursor with a sticky failure (like Go's bufio.Scanner): a malformed or
 * truncated varint records the first reason and moves the cursor to its end, so the record walk
 * checks for failure once per field group instead of throwing, and never allocates on success.
 */

const TWO_POW_26 = 67_108_864;
const TWO_POW_27 = 134_217_728;

/** A read position over buf[pos, end) that remembers the first failure. One per batch walk. */
export class Cursor {
  buf: Buffer;
  pos: number;
  end: number;
  /** Why reading stopped, or null while every read so far succeeded. */
  failure: string | null;

  constructor(buf: Buffer, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.failure = null;
  }

  /** Keeps the first reason only: later reads fail as a consequence of the first. */
  fail(reason: string): void {
    if (this.failure === null) this.failure = reason;
    this.pos = this.end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }
}

/** Bytes of the zigzag varint encoding of a signed 32-bit integer (1..5). */
export function varintBytes(value: number): number {
  const raw = ((value << 1) ^ (value >> 31)) >>> 0;
  if (raw < 0x80) return 1;
  if (raw < 0x4000) return 2;
  if (raw < 0x20_0000) return 3;
  if (raw < 0x1000_0000) return 4;
  return 5;
}

/** Writes value (a signed 32-bit integer) at `at`; returns the position after it. */
export function writeVarint(buf: Buffer, at: number, value: number): number {
  let raw = ((value << 1) ^ (value >> 31)) >>> 0;
  while (raw >= 0x80) {
    buf[at++] = (raw & 0x7f) | 0x80;
    raw >>>= 7;
  }
  buf[at++] = raw;
  return at;
}

/** Bytes of the zigzag varlong encoding of a safe integer (1..8). */
export function varlongBytes(value: number): number {
  if ((value | 0) === value) return varintBytes(value);
  // The first byte carries the sign bit and 6 magnitude bits; every later byte carries 7.
  let rest = Math.floor((value < 0 ? -value - 1 : value) / 64);
  let bytes = 1;
  while (rest > 0) {
    bytes += 1;
    rest = Math.floor(rest / 128);
  }
  return bytes;
}

/** Writes value (a safe integer) at `at`; returns the position after it. */
export function writeVarlong(buf: Buffer, at: number, value: number): number {
  // Int32 values take the shift-based path, which is the common case (timestamp deltas).
  if ((value | 0) === value) return writeVarint(buf, at, value);
  const isNegative = value < 0;
  const magnitude = isNegative ? -value - 1 : value;
  let group = (magnitude % 64) * 2 + (isNegative ? 1 : 0);
  let rest = Math.floor(magnitude / 64);
  while (rest > 0) {
    buf[at++] = group | 0x80;
    group = rest % 128;
    rest = Math.floor(rest / 128);
  }
  buf[at++] = group;
  return at;
}

/**
 * Reads a zigzag varint of at most 5 bytes whose value fits 32 bits. Non-minimal encodings (such
 * as a length padded to a fixed width by a client that patches it later) are accepted, as Kafka
 * accepts them. On failure returns 0 and records the reason on the cursor.
 */
export function readVarint(cursor: Cursor): number {
  // Most lengths and deltas in a record are below 64 and take one byte.
  if (cursor.pos < cursor.end) {
    const byte = cursor.buf[cursor.pos]!;
    if (byte < 0x80) {
      cursor.pos += 1;
      return (byte >>> 1) ^ -(byte & 1);
    }
  }
  return readVarintMultiByte(cursor);
}

function readVarintMultiByte(cursor: Cursor): number {
  const buf = cursor.buf;
  let raw = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (cursor.pos >= cursor.end) {
      cursor.fail('a varint runs past the end of its record');
      return 0;
    }
    const byte = buf[cursor.pos++]!;
    raw |= (byte & 0x7f) << shift;
    if (byte < 0x80) return (raw >>> 1) ^ -(raw & 1);
  }
  if (cursor.pos >= cursor.end) {
    cursor.fail('a varint runs past the end of its record');
    return 0;
  }
  const last = buf[cursor.pos++]!;
  if (last >= 0x80) {
    cursor.fail('a varint is longer than 5 bytes');
    return 0;
  }
  // The fifth byte holds bits 28-31; anything above them would not fit 32 bits.
  if (last > 0x0f) {
    cursor.fail('a varint does not fit 32 bits');
    return 0;
  }
  raw = (raw | (last << 28)) >>> 0;
  return (raw >>> 1) ^ -(raw & 1);
}

/**
 * Reads a zigzag varlong; only safe integers are accepted (anything else is a failure, since JS
 * numbers cannot hold it exactly). The low 28 bits and the rest are accumulated apart so every
 * intermediate value is exact.
 */
export function readVarlong(cursor: Cursor): number {
  const buf = cursor.buf;
  let low = 0;
  let high = 0;
  let highScale = 1;
  for (let i = 0; i < 10; i++) {
    if (cursor.pos >= cursor.end) {
      cursor.fail('a varlong runs past the end of its record');
      return 0;
    }
    const byte = buf[cursor.pos++]!;
    if (i < 4) {
      low |= (byte & 0x7f) << (7 * i);
    } else {
      high += (byte & 0x7f) * highScale;
      highScale *= 128;
    }
    if (byte < 0x80) return zigzagDecodeParts(cursor, low, high);
  }
  cursor.fail('a varlong is longer than 10 bytes');
  return 0;
}

/** Decodes the zigzag value high * 2^28 + low (low < 2^28) without forming it. */
function zigzagDecodeParts(cursor: Cursor, low: number, high: number): number {
  // half = raw >>> 1 must be a safe integer, which holds exactly when high < 2^26.
  if (high >= TWO_POW_26) {
    cursor.fail('a varlong is outside the safe integer range');
    return 0;
  }
  const half = high * TWO_POW_27 + (low >>> 1);
  const value = (low & 1) === 1 ? -half - 1 : half;
  if (!Number.isSafeInteger(value)) {
    cursor.fail('a varlong is outside the safe integer range');
    return 0;
  }
  return value;
}
