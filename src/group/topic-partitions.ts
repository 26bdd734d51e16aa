/**
 * Sets of partitions as topic -> ascending partition numbers (the assignors' TopicAssignment),
 * with the set operations reconciliation needs. Pure; every result is normalised (no empty
 * topic entries, partitions ascending and unique), so equal sets compare equal by `sameSet`.
 */
import type { TopicAssignment } from './assignors/index.js';

export const NO_PARTITIONS: TopicAssignment = new Map();

/** Builds a normalised set from (topic, partitions) pairs, merging repeats. */
export function partitionSet(
  entries: Iterable<readonly [string, readonly number[]]>,
): TopicAssignment {
  const merged = new Map<string, Set<number>>();
  for (const [topic, partitions] of entries) {
    let set = merged.get(topic);
    if (set === undefined) merged.set(topic, (set = new Set()));
    for (const p of partitions) set.add(p);
  }
  const out = new Map<string, number[]>();
  for (const topic of [...merged.keys()].sort()) {
    const partitions = [...(merged.get(topic) as Set<number>)].sort((a, b) => a - b);
    if (partitions.length > 0) out.set(topic, partitions);
  }
  return out;
}

export function union(a: TopicAssignment, b: TopicAssignment): TopicAssignment {
  return partitionSet([...a, ...b]);
}

/** Partitions of `a` that are not in `b`. */
export function minus(a: TopicAssignment, b: TopicAssignment): TopicAssignment {
  return partitionSet(
    [...a].map(([topic, partitions]) => {
      const other = new Set(b.get(topic) ?? []);
      return [topic, partitions.filter((p) => !other.has(p))] as const;
    }),
  );
}

export function intersect(a: TopicAssignment, b: TopicAssignment): TopicAssignment {
  return partitionSet(
    [...a].map(([topic, partitions]) => {
      const other = new Set(b.get(topic) ?? []);
      return [topic, partitions.filter((p) => other.has(p))] as const;
    }),
  );
}

export function isEmpty(a: TopicAssignment): boolean {
  for (const partitions of a.values()) if (partitions.length > 0) return false;
  return true;
}

export function count(a: TopicAssignment): number {
  let n = 0;
  for (const partitions of a.values()) n += partitions.length;
  return n;
}

export function has(a: TopicAssignment, topic: string, partition: number): boolean {
  return a.get(topic)?.includes(partition) ?? false;
}

/** Whether the two normalised sets hold the same partitions. */
export function sameSet(a: TopicAssignment, b: TopicAssignment): boolean {
  const x = partitionSet(a);
  const y = partitionSet(b);
  if (x.size !== y.size) return false;
  for (const [topic, partitions] of x) {
    const other = y.get(topic);
    if (other === undefined || other.length !== partitions.length) return false;
    if (partitions.some((p, i) => other[i] !== p)) return false;
  }
  return true;
}

/** `topic-partition` strings, for messages and logs. */
export function describe(a: TopicAssignment): string {
  const parts: string[] = [];
  for (const [topic, partitions] of a) for (const p of partitions) parts.push(`${topic}-${p}`);
  return parts.length === 0 ? '(none)' : parts.join(', ');
}

/** To the proto's repeated TopicPartitions. */
export function toWire(a: TopicAssignment): { topic: string; partitions: number[] }[] {
  return [...partitionSet(a)].map(([topic, partitions]) => ({
    topic,
    partitions: [...partitions],
  }));
}

/** From the proto's repeated TopicPartitions (validated by the caller). */
export function fromWire(
  topics: readonly { topic: string; partitions: readonly number[] }[],
): TopicAssignment {
  return partitionSet(topics.map((t) => [t.topic, t.partitions] as const));
}
