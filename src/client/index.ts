/**
 * The Brook TypeScript SDK: Producer, Consumer and Admin over Brook's gRPC API (brook.v1).
 * See README.md beside this file for the model, the loops and the guarantees.
 *
 * ```ts
 * import { Admin, Consumer, Producer } from './src/client/index.js';
 *
 * const admin = new Admin({ bootstrap: '127.0.0.1:7070' });
 * await admin.createTopics([{ name: 'orders', partitions: 3 }]);
 *
 * const producer = new Producer({ bootstrap: '127.0.0.1:7070' });
 * const { partition, offset } = await producer.send({ topic: 'orders', key: 'o-1', value: '{}' });
 * await producer.close();
 *
 * const consumer = new Consumer({ bootstrap: '127.0.0.1:7070' });
 * consumer.assign([{ topic: 'orders', partition }]);
 * await consumer.seek({ topic: 'orders', partition }, 'earliest');
 * for await (const record of consumer) {
 *   console.log(record.offset, record.value?.toString());
 * }
 * ```
 *
 * Errors: every operating error is a `BrokerError` (a Kafka code such as
 * UNKNOWN_TOPIC_OR_PARTITION, with `retriable` and, for NOT_LEADER_OR_FOLLOWER, the `leader`)
 * or a `BrookClientError` (a gRPC-level failure such as UNAVAILABLE or INVALID_ARGUMENT, with
 * `retriable` and, for INVALID_ARGUMENT, the offending `field`). Use `isRetriable()` to tell
 * whether trying again may help.
 */
export { Producer } from './producer.js';
export type {
  Acks,
  CompressionName,
  ProducerOptions,
  ProducerRecord,
  RecordHeader,
  RecordMetadata,
} from './producer.js';
export { Consumer } from './consumer.js';
export type {
  AutoOffsetReset,
  ConsumerOptions,
  ConsumerRecord,
  SeekPosition,
  TopicPartition,
} from './consumer.js';
export { GroupConsumer } from './group-consumer.js';
export type { GroupConsumerOptions, RebalanceCallback, RebalanceInfo } from './group-consumer.js';
export type { CommitOffset } from './commit-queue.js';
export type { MemberPhase } from './group-membership.js';
export { Admin } from './admin.js';
export type {
  AdminOptions,
  AlterConfigOp,
  AlterConfigsResource,
  AlterConfigsResult,
  BrokerDescription,
  ClusterDescription,
  ClusterMetadata,
  ConfigEntry,
  ConfigResource,
  ConfigSource,
  CreateTopicResult,
  DeleteRecordsQuery,
  DeleteRecordsResult,
  DescribeConfigsResult,
  NewTopicSpec,
  OngoingReassignment,
  PartitionDescription,
  PartitionReassignment,
  QuorumDescription,
  QuorumMemberDescription,
  QuorumNodeDescription,
  QuorumRole,
  ReassignmentOutcome,
  ReplicationDescription,
  ResourceType,
  TopicDescription,
  TopicOutcome,
} from './admin.js';
export { planDrain } from './drain-plan.js';
export type { DrainBroker, DrainPartition, DrainPlan } from './drain-plan.js';
export { GROUP_STATES } from './admin-groups.js';
export type {
  GroupCommitResult,
  GroupCommittedOffset,
  GroupDescription,
  GroupMemberDescription,
  GroupOffsetCommit,
  GroupOutcome,
  GroupPartition,
  GroupPartitionDescription,
  GroupState,
  GroupSubscription,
  GroupTopicPartitions,
  ListedGroup,
  ListGroupsFailure,
  ListGroupsResult,
  PartitionResetResult,
  ResetOffsetsOptions,
  ResetOffsetsResult,
  ResetOffsetsTo,
  ResetOffsetsTopic,
} from './admin-groups.js';
export type { ListOffsetsQuery, ListOffsetsResult, OffsetSpec } from './list-offsets.js';
export {
  BrookClientError,
  isRetriable,
  parseBootstrap,
  type ClientError,
  type GrpcStatusName,
} from './connection.js';
export { BrokerError, type ErrorCode, type LeaderHint } from '../errors/index.js';
