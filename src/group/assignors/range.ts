/**
 * The range assignor, with the semantics of Kafka's RangeAssignor: each topic is split on its
 * own into contiguous ranges over its subscribers sorted by memberId. With P partitions and N
 * subscribers the first P mod N subscribers get ceil(P/N) partitions and the rest floor(P/N).
 *
 * Guarantees: every partition of a subscribed topic goes to exactly one of its subscribers;
 * per topic the counts differ by at most one. Not guaranteed: balance across topics (the
 * members first by id get the extra partition of every topic) and stickiness (the previous
 * target is ignored, so a member joining or leaving shifts the ranges after it). Members that
 * share subscriptions get the same partition numbers of co-partitioned topics, which is why
 * applications that join topics by key choose range.
 */
import { assert } from '../../util/assert.js';
import { assignmentOf, layoutOf, type GroupLayout } from './layout.js';
import type { Assignor, AssignorInput, TopicAssignment } from './types.js';

export const rangeAssignor: Assignor = {
  name: 'range',
  assign(input: AssignorInput): Map<string, TopicAssignment> {
    const layout = layoutOf(input);
    return assignmentOf(layout, rangeOwnersOf(layout));
  },
};

function rangeOwnersOf(layout: GroupLayout): Int32Array {
  const owners = new Int32Array(layout.partitionCount);
  layout.subscribers.forEach((subscribers, t) => {
    const offset = layout.partitionOffsets[t] ?? 0;
    const count = layout.topicPartitionCounts[t] ?? 0;
    assert(subscribers.length > 0, 'a laid-out topic has a subscriber');
    const perMember = Math.floor(count / subscribers.length);
    const withExtra = count % subscribers.length;
    let next = offset;
    subscribers.forEach((m, rank) => {
      const rangeEnd = next + perMember + (rank < withExtra ? 1 : 0);
      owners.fill(m, next, rangeEnd);
      next = rangeEnd;
    });
    assert(next === offset + count, 'the ranges cover the topic exactly');
  });
  return owners;
}
