/**
 * Where a group lives: partition hash(groupId) mod P of __consumer_offsets, with Kafka's hash
 * (Java's String.hashCode, made non-negative as Kafka's Utils.abs does), so Brook places a
 * group where a Kafka cluster with the same partition count would.
 */
import { InvalidArgumentError } from '../errors/index.js';

/** The internal topic holding group state and committed offsets. */
export const OFFSETS_TOPIC = '__consumer_offsets';

/** Longest group id, as Kafka's topic names (a group id is not a topic name, but is shown beside them). */
export const GROUP_ID_LENGTH_MAX = 249;

/** Java's String.hashCode: over UTF-16 code units, h = 31h + c, 32-bit wraparound. */
export function javaStringHash(value: string): number {
  let hash = 0;
  for (let i = 0; i < value.length; i++) hash = (Math.imul(hash, 31) + value.charCodeAt(i)) | 0;
  return hash;
}

/** Kafka's Utils.abs: |n|, with Integer.MIN_VALUE mapped to 0. */
function kafkaAbs(n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n);
}

/** The partition of __consumer_offsets that holds `groupId`. */
export function partitionForGroup(groupId: string, partitions: number): number {
  return kafkaAbs(javaStringHash(groupId)) % partitions;
}

/** Throws INVALID_ARGUMENT naming `field` unless `groupId` is a usable group id. */
export function checkGroupId(groupId: string, field: string): void {
  if (groupId.trim().length === 0)
    throw new InvalidArgumentError(field, 'must not be empty or blank');
  if (groupId.length > GROUP_ID_LENGTH_MAX) {
    throw new InvalidArgumentError(
      field,
      `is ${groupId.length} characters; the limit is ${GROUP_ID_LENGTH_MAX}`,
    );
  }
}
