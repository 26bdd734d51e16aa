/**
 * Consumer groups: the coordinator of Kafka's newer group protocol (KIP-848). See README.md.
 */
export {
  checkGroupId,
  OFFSETS_TOPIC,
  partitionForGroup,
  javaStringHash,
} from './coordinator-key.js';
export {
  compileTopicRegex,
  heartbeat,
  reconcile,
  removeMember,
  resolveSubscription,
  checkMemberCommit,
  JOIN_EPOCH,
  LEAVE_EPOCH,
  type GroupEnv,
  type HeartbeatInput,
  type HeartbeatOutcome,
  type SessionSettings,
} from './group-state.js';
export {
  CoordinatorShard,
  partitionKey,
  splitPartitionKey,
  type GroupView,
  type OffsetCommitInput,
  type OffsetCommitOutcome,
} from './coordinator-shard.js';
export { GroupCoordinator, topicCounts, type CoordinatorLocation } from './coordinator.js';
export {
  emptyGroup,
  stateName,
  type GroupMember,
  type GroupState,
  type GroupStateName,
  type MemberState,
  type OffsetAndMetadata,
  type Subscription,
} from './model.js';
export { fromWire, toWire } from './topic-partitions.js';
