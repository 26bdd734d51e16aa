/**
 * Server-side partition assignors of the consumer group coordinator (KIP-848). Whenever a
 * group's epoch changes, the coordinator calls `assign` with the members' resolved
 * subscriptions and their previous target partitions, and stores the result as the new target
 * assignment; members then converge on it epoch by epoch.
 *
 * Every assignor is a pure, deterministic function of its input (member order, Map and Set
 * iteration order do not matter) and returns a valid assignment: each partition of each topic
 * some member subscribes to goes to exactly one of its subscribers, and nothing else is
 * assigned. The result lists members by memberId; each member's map holds only its non-empty
 * topics, in name order, partitions ascending. It is freshly allocated and owned by the caller.
 */
export type { Assignor, AssignorInput, AssignorMember, TopicAssignment } from './types.js';
export { rangeAssignor } from './range.js';
export { uniformAssignor } from './uniform.js';
export { ASSIGNOR_NAMES, DEFAULT_ASSIGNOR, assignorNamed } from './registry.js';
