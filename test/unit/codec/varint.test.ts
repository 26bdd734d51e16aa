// Goal: zigzag varints and varlongs match the protobuf/Kafka encoding and round-trip every int32
// and every safe integer exactly, and malformed input fails on the cursor instead of throwing.
// Method: known byte vectors, a BigInt reference encoder (test-only) compared byte for byte under
// fast-check, and hand-made malformed inputs.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  Cursor,
  readVarint,
  readVarlong,
  varintBytes,
  varlongBytes,
  writeVarint,
  writeVarlong,
} from '../../../src/codec/varint.js';

/** Reference zigzag varint with BigInt, independent of the code under test. */
function referenceEncode(value: number): Buffer {
  const n = BigInt(value);
  let raw = n >= 0n ? n << 1n : ((-n - 1n) << 1n) | 1n;
  const bytes: number[] = [];
  while (raw >= 0x80n) {
    bytes.push(Number(raw & 0x7fn) | 0x80);
    raw >>= 7n;
  }
  bytes.push(Number(raw));
  return Buffer.from(bytes);
}

function encodeVarint(value: number): Buffer {
  const buf = Buffer.alloc(varintBytes(value));
  expect(writeVarint(buf, 0, value)).toBe(buf.length);
  return buf;
}

function encodeVarlong(value: number): Buffer {
  const buf = Buffer.alloc(varlongBytes(value));
  expect(writeVarlong(buf, 0, value)).toBe(buf.length);
  return buf;
}

function decode(
  bytes: Buffer,
  read: (cursor: Cursor) => number,
): { value: number; cursor: Cursor } {
  const cursor = new Cursor(bytes, 0, bytes.length);
  return { value: read(cursor), cursor };
}

describe('varint', () => {
  test('known encodings match the protobuf zigzag table', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [-1, '01'],
      [1, '02'],
      [-2, '03'],
      [3, '06'],
      [63, '7e'],
      [-64, '7f'],
      [64, '8001'],
      [-65, '8101'],
      [2147483647, 'feffffff0f'],
      [-2147483648, 'ffffffff0f'],
    ];
    for (const [value, hex] of cases) {
      expect(encodeVarint(value).toString('hex')).toBe(hex);
      expect(decode(Buffer.from(hex, 'hex'), readVarint).value).toBe(value);
    }
  });

  test('every int32 round-trips and matches the reference encoding', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2147483648, max: 2147483647 }), (value) => {
        const encoded = encodeVarint(value);
        expect(encoded.equals(referenceEncode(value))).toBe(true);
        const { value: decoded, cursor } = decode(encoded, readVarint);
        expect(decoded).toBe(value);
        expect(cursor.failure).toBeNull();
        expect(cursor.pos).toBe(encoded.length);
      }),
      { numRuns: 2000 },
    );
  });

  test('a non-minimal encoding is accepted, as Kafka accepts it', () => {
    // Zigzag 2 (the value 1) padded to 5 bytes: 82 80 80 80 00.
    expect(decode(Buffer.from('8280808000', 'hex'), readVarint).value).toBe(1);
  });

  test('malformed varints fail on the cursor without throwing', () => {
    const cases: [string, string][] = [
      ['', 'past the end'],
      ['80', 'past the end'],
      ['8080808080', 'longer than 5 bytes'],
      ['ffffffff1f', 'does not fit 32 bits'],
    ];
    for (const [hex, reason] of cases) {
      const { value, cursor } = decode(Buffer.from(hex, 'hex'), readVarint);
      expect(value).toBe(0);
      expect(cursor.failure).toContain(reason);
    }
  });

  test('a varint cannot read past the cursor end even when the buffer continues', () => {
    const cursor = new Cursor(Buffer.from('8001', 'hex'), 0, 1);
    expect(readVarint(cursor)).toBe(0);
    expect(cursor.failure).toContain('past the end');
  });
});

describe('varlong', () => {
  test('safe integers at the edges round-trip and use at most 8 bytes', () => {
    const edges = [
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      2 ** 52,
      -(2 ** 52),
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 31 - 1,
      -(2 ** 31),
      1700000000000,
      -1700000000000,
    ];
    for (const value of edges) {
      const encoded = encodeVarlong(value);
      expect(encoded.equals(referenceEncode(value))).toBe(true);
      expect(encoded.length).toBeLessThanOrEqual(8);
      expect(decode(encoded, readVarlong).value).toBe(value);
    }
  });

  test('every safe integer round-trips and matches the reference encoding', () => {
    const safe = fc.oneof(
      fc.maxSafeInteger(),
      fc.integer({ min: -2147483648, max: 2147483647 }),
      fc.integer({ min: -100, max: 100 }),
    );
    fc.assert(
      fc.property(safe, (value) => {
        const encoded = encodeVarlong(value);
        expect(encoded.equals(referenceEncode(value))).toBe(true);
        const { value: decoded, cursor } = decode(encoded, readVarlong);
        expect(decoded).toBe(value);
        expect(cursor.pos).toBe(encoded.length);
      }),
      { numRuns: 3000 },
    );
  });

  test('values just outside the safe range are rejected, not rounded', () => {
    for (const big of [2n ** 53n, -(2n ** 53n), 2n ** 62n, -(2n ** 63n)]) {
      let raw = big >= 0n ? big << 1n : ((-big - 1n) << 1n) | 1n;
      const bytes: number[] = [];
      while (raw >= 0x80n) {
        bytes.push(Number(raw & 0x7fn) | 0x80);
        raw >>= 7n;
      }
      bytes.push(Number(raw));
      const { value, cursor } = decode(Buffer.from(bytes), readVarlong);
      expect(value).toBe(0);
      expect(cursor.failure).toContain('safe integer');
    }
  });

  test('a varlong longer than 10 bytes or cut short fails', () => {
    expect(decode(Buffer.alloc(11, 0x80), readVarlong).cursor.failure).toContain('longer');
    expect(decode(Buffer.from('ffff', 'hex'), readVarlong).cursor.failure).toContain('past');
  });

  test('the first failure is kept and later reads return 0', () => {
    const cursor = new Cursor(Buffer.from('80', 'hex'), 0, 1);
    readVarint(cursor);
    const first = cursor.failure;
    readVarlong(cursor);
    expect(cursor.failure).toBe(first);
  });
});
