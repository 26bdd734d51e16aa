/**
 * Kafka's key hash and default partitioner for keyed records, bit for bit, so a key lands on the
 * same partition whether a Java, librdkafka-with-murmur2 or Brook client produces it
 * (org.apache.kafka.common.utils.Utils.murmur2 and BuiltInPartitioner.partitionForKey).
 */
import { assert } from '../util/assert.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/**
 * MurmurHash2, 32-bit, with Kafka's seed; returns a signed 32-bit integer as Java's int would.
 * Math.imul keeps the 32-bit wraparound Java multiplication has.
 */
export function murmur2(key: Buffer): number {
  const length = key.length;
  let h = SEED ^ length;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = key[i]! | (key[i + 1]! << 8) | (key[i + 2]! << 16) | (key[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // Kafka's switch falls through from the highest remaining byte down to the first.
  const tail = length & 3;
  if (tail === 3) h ^= key[length4 + 2]! << 16;
  if (tail >= 2) h ^= key[length4 + 1]! << 8;
  if (tail >= 1) {
    h ^= key[length4]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Kafka's partition for a keyed record: toPositive(murmur2(key)) % numPartitions, where
 * toPositive clears the sign bit (it is not Math.abs, which differs for negative hashes).
 */
export function partitionForKey(key: Buffer, numPartitions: number): number {
  assert(Number.isInteger(numPartitions), 'partitionForKey: numPartitions must be an integer');
  assert(numPartitions >= 1, 'partitionForKey: numPartitions must be at least 1');
  return (murmur2(key) & 0x7fffffff) % numPartitions;
}
