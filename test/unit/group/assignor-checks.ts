/**
 * Builders and independent checkers for the assignor tests. The checkers recompute every
 * guarantee from the public input and output only, never from the assignors' internals, so a
 * bug shared by an assignor and its checker needs to be made twice.
 */
import type {
  AssignorInput,
  AssignorMember,
  TopicAssignment,
} from '../../../src/group/assignors/index.js';

/** A member as tests write it: plain arrays and records. */
export interface MemberSpec {
  readonly id: string;
  readonly topics: readonly string[];
  readonly previous?: Readonly<Record<string, readonly number[]>>;
}

export function memberOf(spec: MemberSpec): AssignorMember {
  return {
    memberId: spec.id,
    subscribedTopics: new Set(spec.topics),
    previousTarget: new Map(Object.entries(spec.previous ?? {})),
  };
}

export function inputOf(
  members: readonly MemberSpec[],
  topics: Readonly<Record<string, number>>,
): AssignorInput {
  return { members: members.map(memberOf), topics: new Map(Object.entries(topics)) };
}

/** The same input with every member's target replaced by `result` (a stable-fixpoint run). */
export function withPrevious(
  input: AssignorInput,
  result: ReadonlyMap<string, TopicAssignment>,
): AssignorInput {
  return {
    topics: input.topics,
    members: input.members.map((member) => ({
      ...member,
      previousTarget: result.get(member.memberId) ?? new Map(),
    })),
  };
}

/** The result as plain nested records, for readable expectations. */
export function plainOf(
  result: ReadonlyMap<string, TopicAssignment>,
): Record<string, Record<string, number[]>> {
  const plain: Record<string, Record<string, number[]>> = {};
  for (const [memberId, target] of result) {
    plain[memberId] = Object.fromEntries([...target].map(([topic, ps]) => [topic, [...ps]]));
  }
  return plain;
}

/** The result with its iteration order made explicit, to compare order as well as content. */
export function orderedOf(result: ReadonlyMap<string, TopicAssignment>): unknown[] {
  return [...result].map(([memberId, target]) => [memberId, [...target]]);
}

export function partitionCountOf(target: TopicAssignment | undefined): number {
  let count = 0;
  for (const partitions of target?.values() ?? []) count += partitions.length;
  return count;
}

/** Every broken validity rule, as messages; empty when the result is valid. */
export function validityErrorsOf(
  input: AssignorInput,
  result: ReadonlyMap<string, TopicAssignment>,
): string[] {
  const errors: string[] = [];
  const ids = new Set(input.members.map((member) => member.memberId));
  if (result.size !== ids.size) errors.push(`${result.size} entries for ${ids.size} members`);
  const owners = new Map<string, string>();
  for (const member of input.members) {
    const target = result.get(member.memberId);
    if (target === undefined) errors.push(`${member.memberId} has no entry`);
    for (const [topic, partitions] of target ?? []) {
      const count = input.topics.get(topic);
      if (!member.subscribedTopics.has(topic)) errors.push(`${member.memberId} got ${topic}`);
      if (count === undefined) errors.push(`${member.memberId} got unknown ${topic}`);
      if (partitions.length === 0) errors.push(`${member.memberId} has an empty ${topic}`);
      partitions.forEach((p, i) => {
        if (i > 0 && p <= (partitions[i - 1] ?? -1)) errors.push(`${topic} not ascending`);
        if (!Number.isInteger(p) || p < 0 || p >= (count ?? 0)) errors.push(`${topic}-${p}`);
        const key = `${topic}\u0000${p}`;
        const other = owners.get(key);
        if (other !== undefined) errors.push(`${topic}-${p} to ${other} and ${member.memberId}`);
        owners.set(key, member.memberId);
      });
    }
  }
  for (const [topic, count] of input.topics) {
    const isSubscribed = input.members.some((member) => member.subscribedTopics.has(topic));
    for (let p = 0; p < count && isSubscribed; p++) {
      if (!owners.has(`${topic}\u0000${p}`)) errors.push(`${topic}-${p} unassigned`);
    }
  }
  return errors;
}

/**
 * Where some partition could move from its owner to a subscriber of its topic holding at least
 * 2 partitions fewer (the local balance condition); empty when there is no such place.
 */
export function localBalanceErrorsOf(
  input: AssignorInput,
  result: ReadonlyMap<string, TopicAssignment>,
): string[] {
  const counts = new Map(
    input.members.map((member) => [member.memberId, partitionCountOf(result.get(member.memberId))]),
  );
  const subscriberCountMins = new Map<string, number>();
  for (const member of input.members) {
    for (const topic of member.subscribedTopics) {
      const count = counts.get(member.memberId) ?? 0;
      subscriberCountMins.set(topic, Math.min(count, subscriberCountMins.get(topic) ?? Infinity));
    }
  }
  const errors: string[] = [];
  for (const [memberId, target] of result) {
    const count = counts.get(memberId) ?? 0;
    for (const topic of target.keys()) {
      const countMin = subscriberCountMins.get(topic) ?? count;
      if (count - countMin >= 2)
        errors.push(`${topic}: ${memberId} has ${count}, a subscriber ${countMin}`);
    }
  }
  return errors;
}

/**
 * The previous owner of each partition that is still valid (topic exists, member still
 * subscribes, partition in range), as `topic\0partition` -> memberId. Inputs given here never
 * claim a partition twice.
 */
export function validPreviousOwnersOf(input: AssignorInput): Map<string, string> {
  const owners = new Map<string, string>();
  for (const member of input.members) {
    for (const [topic, partitions] of member.previousTarget) {
      const count = input.topics.get(topic) ?? 0;
      if (!member.subscribedTopics.has(topic)) continue;
      for (const p of partitions) {
        if (Number.isInteger(p) && p >= 0 && p < count)
          owners.set(`${topic}\u0000${p}`, member.memberId);
      }
    }
  }
  return owners;
}

/** Partitions whose valid previous owner no longer has them. */
export function movedCountOf(
  input: AssignorInput,
  result: ReadonlyMap<string, TopicAssignment>,
): number {
  let moved = 0;
  for (const [key, memberId] of validPreviousOwnersOf(input)) {
    const [topic = '', partition = ''] = key.split('\u0000');
    const partitions = result.get(memberId)?.get(topic) ?? [];
    if (!partitions.includes(Number(partition))) moved++;
  }
  return moved;
}

/**
 * The fewest moves any balanced (floor/ceil) result can make when all members subscribe to
 * the same topics: members above floor(P/N) must give up the excess, except that P mod N of
 * them may keep one partition more.
 */
export function homogeneousMovesMinOf(input: AssignorInput): number {
  const memberCount = input.members.length;
  const topics = input.members[0]?.subscribedTopics ?? new Set<string>();
  let partitionCount = 0;
  for (const topic of topics) partitionCount += input.topics.get(topic) ?? 0;
  if (memberCount === 0) return 0;
  const quotaMin = Math.floor(partitionCount / memberCount);
  const previousCounts = new Map<string, number>();
  for (const memberId of validPreviousOwnersOf(input).values()) {
    previousCounts.set(memberId, (previousCounts.get(memberId) ?? 0) + 1);
  }
  let excess = 0;
  let aboveCount = 0;
  for (const count of previousCounts.values()) {
    excess += Math.max(0, count - quotaMin);
    if (count > quotaMin) aboveCount++;
  }
  return excess - Math.min(partitionCount % memberCount, aboveCount);
}
