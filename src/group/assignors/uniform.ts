/**
 * The uniform assignor (Kafka's UniformAssignor, the default of KIP-848): balanced and sticky.
 * When all members subscribe to the same topics it balances globally and moves the fewest
 * partitions possible (uniform-homogeneous.ts); otherwise it keeps what it can and balances
 * locally (uniform-heterogeneous.ts). Each file states exactly what it guarantees.
 *
 * Both cases are stable: given its own output as the previous target, the assignor returns
 * the same assignment, so an epoch bump that changes nothing relevant moves nothing.
 */
import { assignmentOf, layoutOf, previousOwnersOf, type GroupLayout } from './layout.js';
import type { Assignor, AssignorInput, TopicAssignment } from './types.js';
import { heterogeneousOwnersOf } from './uniform-heterogeneous.js';
import { homogeneousOwnersOf } from './uniform-homogeneous.js';

export const uniformAssignor: Assignor = {
  name: 'uniform',
  assign(input: AssignorInput): Map<string, TopicAssignment> {
    const layout = layoutOf(input);
    if (layout.members.length === 0) return new Map();
    const previousOwners = previousOwnersOf(layout);
    const owners = isHomogeneous(layout)
      ? homogeneousOwnersOf(layout, previousOwners)
      : heterogeneousOwnersOf(layout, previousOwners);
    return assignmentOf(layout, owners);
  },
};

/** Whether every member subscribes to the same existing topics (subscriptions are sorted). */
function isHomogeneous(layout: GroupLayout): boolean {
  const first = layout.subscriptions[0] ?? [];
  return layout.subscriptions.every(
    (topics) => topics.length === first.length && topics.every((t, i) => t === first[i]),
  );
}
