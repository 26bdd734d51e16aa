// Goal: crc32c is standard CRC32C and murmur2/partitionForKey place keys exactly where Kafka's
// Java client does, so Brook and Kafka producers co-partition the same keys.
// Method: published test vectors (RFC 3720 for CRC32C; Kafka's own UtilsTest.testMurmur2), a second
// vector set generated from Kafka's algorithm by kafkajs, and the partition formula applied to
// Kafka's hashes, including negative hashes where Math.abs would give a different partition.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { crc32c, murmur2, partitionForKey } from '../../../src/codec/index.js';
import { AssertionError } from '../../../src/util/assert.js';

describe('crc32c', () => {
  test('matches the CRC32C check value and the RFC 3720 (iSCSI) vectors', () => {
    expect(crc32c(Buffer.from('123456789', 'ascii'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0x00))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    expect(crc32c(ascending)).toBe(0x46dd794e);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  test('is returned unsigned', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const crc = crc32c(Buffer.from(bytes));
        expect(crc).toBeGreaterThanOrEqual(0);
        expect(crc).toBeLessThanOrEqual(0xffffffff);
        expect(Number.isInteger(crc)).toBe(true);
      }),
    );
  });
});

describe('murmur2', () => {
  // From apache/kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java,
  // testMurmur2: the Java ints Utils.murmur2 returns.
  const kafkaUtilsTestVectors: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];

  test("matches Kafka's UtilsTest.testMurmur2 vectors", () => {
    for (const [key, expected] of kafkaUtilsTestVectors) {
      expect(murmur2(Buffer.from(key, 'utf8'))).toBe(expected);
    }
  });

  test('matches the values Kafka’s algorithm prints for numeric keys (all tail lengths)', () => {
    // From tulios/kafkajs src/producer/partitioners/defaultJava/murmur2.spec.js, "Generated with
    // src/producer/partitioners/defaultJava/Test.java" (Kafka's Utils.murmur2 run in Java). Not the
    // vectors in kafkajs's older partitioners/default/, whose JS murmur2 differs from Kafka's.
    // Key lengths 1-9 cover every tail case (Kafka's own vectors have no 1-byte tail).
    const vectors: [string, number][] = [
      ['0', 971027396],
      ['1', -1993445489],
      ['128', -326012175],
      ['2187', -1508407203],
      ['16384', -325739742],
      ['78125', -1654490814],
      ['279936', 1462227128],
      ['823543', -2014198330],
      ['2097152', 607668903],
      ['4782969', -1182699775],
      ['10000000', -1830336757],
      ['19487171', -1603849305],
      ['35831808', -857013643],
      ['62748517', -1167431028],
      ['105413504', -381294639],
      ['170859375', -1658323481],
      ['100:48069', 1009543857],
    ];
    for (const [key, expected] of vectors) {
      expect(murmur2(Buffer.from(key, 'ascii'))).toBe(expected);
    }
  });

  test('returns a signed 32-bit integer for any bytes, including bytes >= 0x80', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const hash = murmur2(Buffer.from(bytes));
        expect(hash | 0).toBe(hash);
      }),
    );
  });
});

describe('partitionForKey', () => {
  test("applies Kafka's toPositive(murmur2(key)) % numPartitions to Kafka's vectors", () => {
    // Kafka's partitioner tests (DefaultPartitionerTest, BuiltInPartitionerTest) only assert that
    // a key's partition is stable, so these expectations come from the UtilsTest hashes above:
    // e.g. "21" hashes to -973932308; clearing the sign bit gives 1173551340, and
    // 1173551340 % 50 = 40, whereas Math.abs would give 973932308 % 50 = 8.
    const cases: [string, number, number][] = [
      ['21', 50, 40],
      ['21', 3, 0],
      ['foobar', 10, 6],
      ['foobar', 50, 16],
      ['a-little-bit-long-string', 3, 2],
      ['a-little-bit-longer-string', 6, 5],
      ['a-little-bit-longer-string', 10, 9],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', 10, 7],
      ['abc', 6, 3],
      ['abc', 50, 7],
    ];
    for (const [key, numPartitions, expected] of cases) {
      expect(partitionForKey(Buffer.from(key, 'utf8'), numPartitions)).toBe(expected);
    }
  });

  test('is always in [0, numPartitions)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }),
        fc.integer({ min: 1, max: 10000 }),
        (key, n) => {
          const partition = partitionForKey(Buffer.from(key), n);
          expect(partition).toBeGreaterThanOrEqual(0);
          expect(partition).toBeLessThan(n);
        },
      ),
    );
  });

  test('asserts on a partition count below 1 (a caller bug)', () => {
    expect(() => partitionForKey(Buffer.from('k'), 0)).toThrow(AssertionError);
  });
});
