/**
 * The shared front and back end of every assignor. `layoutOf` turns an AssignorInput into
 * sorted, indexed arrays, so the algorithms never depend on the caller's member order or on
 * Map and Set iteration order; `assignmentOf` turns an owner per partition back into the
 * public shape and checks that the result is valid.
 *
 * Partitions are flattened: topic t's partition p has the flat index partitionOffsets[t] + p,
 * and topics are sorted by name, so ascending flat order is (topic name, partition) order.
 */
import { assert } from '../../util/assert.js';
import type { AssignorInput, AssignorMember, TopicAssignment } from './types.js';

/** An AssignorInput indexed for the algorithms. Read-only once built. */
export interface GroupLayout {
  /** Sorted by memberId: a member's index is its rank. */
  readonly members: readonly AssignorMember[];
  /** Topics that exist and that at least one member subscribes to, sorted by name. */
  readonly topicNames: readonly string[];
  readonly topicIndexes: ReadonlyMap<string, number>;
  /** Per topic index. */
  readonly topicPartitionCounts: readonly number[];
  /** Per topic index, plus one final entry equal to partitionCount. */
  readonly partitionOffsets: readonly number[];
  /** Flat partitions over all subscribed topics. */
  readonly partitionCount: number;
  /** Per topic index: the indexes of its subscribers, ascending. */
  readonly subscribers: readonly (readonly number[])[];
  /** Per member index: the indexes of the existing topics it subscribes to, ascending. */
  readonly subscriptions: readonly (readonly number[])[];
}

/** Owner of no partition, in owner arrays. */
export const NO_OWNER = -1;

/**
 * Indexes an input. Member ids must be unique and partition counts non-negative integers:
 * anything else is a bug in the caller and fails an assertion. A subscription to a topic
 * missing from `topics` is ignored, as if the topic had just been deleted.
 */
export function layoutOf(input: AssignorInput): GroupLayout {
  const members = [...input.members].sort((a, b) => compareStrings(a.memberId, b.memberId));
  for (let m = 1; m < members.length; m++) {
    assert(
      members[m - 1]?.memberId !== members[m]?.memberId,
      `duplicate memberId ${members[m]?.memberId}`,
    );
  }
  const topicNames = subscribedTopicNames(members, input.topics);
  const topicIndexes = new Map(topicNames.map((name, t) => [name, t]));
  const topicPartitionCounts = topicNames.map((name) => input.topics.get(name) ?? 0);
  const partitionOffsets = [0];
  for (const count of topicPartitionCounts) {
    assert(Number.isSafeInteger(count) && count >= 0, `bad partition count ${count}`);
    partitionOffsets.push((partitionOffsets.at(-1) ?? 0) + count);
  }
  const subscriptions = members.map((member) => {
    const indexes: number[] = [];
    for (const name of member.subscribedTopics) {
      const t = topicIndexes.get(name);
      if (t !== undefined) indexes.push(t);
    }
    return indexes.sort((a, b) => a - b);
  });
  const subscribers: number[][] = topicNames.map(() => []);
  // Members are visited in index order, so each subscriber list comes out ascending.
  subscriptions.forEach((topics, m) => {
    for (const t of topics) subscribers[t]?.push(m);
  });
  return {
    members,
    topicNames,
    topicIndexes,
    topicPartitionCounts,
    partitionOffsets,
    partitionCount: partitionOffsets.at(-1) ?? 0,
    subscribers,
    subscriptions,
  };
}

/**
 * Flat partition -> index of the member that had it in the previous target, or NO_OWNER.
 * Entries for a deleted topic, a partition at or past the topic's count, or a topic the member
 * no longer subscribes to are dropped. Should two members claim one partition (a corrupt
 * previous target), the first by memberId keeps it: determinism matters more than who.
 */
export function previousOwnersOf(layout: GroupLayout): Int32Array {
  const owners = new Int32Array(layout.partitionCount).fill(NO_OWNER);
  layout.members.forEach((member, m) => {
    for (const [name, partitions] of member.previousTarget) {
      const t = layout.topicIndexes.get(name);
      if (t === undefined || !member.subscribedTopics.has(name)) continue;
      const count = layout.topicPartitionCounts[t] ?? 0;
      const offset = layout.partitionOffsets[t] ?? 0;
      for (const p of partitions) {
        if (!Number.isInteger(p) || p < 0 || p >= count) continue;
        if (owners[offset + p] === NO_OWNER) owners[offset + p] = m;
      }
    }
  });
  return owners;
}

/**
 * The public result for an owner array: every member has an entry, topics appear in name
 * order and only when non-empty, partitions ascending. Asserts the validity every assignor
 * promises: each partition has exactly one owner, and that owner subscribes to its topic.
 */
export function assignmentOf(
  layout: GroupLayout,
  owners: Int32Array,
): Map<string, TopicAssignment> {
  assert(owners.length === layout.partitionCount, 'owner array does not match the layout');
  const targets = layout.members.map(() => new Map<string, number[]>());
  layout.topicNames.forEach((name, t) => {
    const offset = layout.partitionOffsets[t] ?? 0;
    const count = layout.topicPartitionCounts[t] ?? 0;
    for (let p = 0; p < count; p++) {
      const m = owners[offset + p] ?? NO_OWNER;
      const target = targets[m];
      assert(target !== undefined, `partition ${name}-${p} has no owner`);
      assert(layout.members[m]?.subscribedTopics.has(name), `${name}-${p} owner not subscribed`);
      const partitions = target.get(name);
      if (partitions === undefined) target.set(name, [p]);
      else partitions.push(p);
    }
  });
  return new Map(layout.members.map((member, m) => [member.memberId, targets[m] ?? new Map()]));
}

/** Code-unit order: unlike localeCompare, the same on every host and locale. */
export function compareStrings(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

function subscribedTopicNames(
  members: readonly AssignorMember[],
  topics: ReadonlyMap<string, number>,
): string[] {
  const names = new Set<string>();
  for (const member of members) {
    for (const name of member.subscribedTopics) if (topics.has(name)) names.add(name);
  }
  return [...names].sort(compareStrings);
}
