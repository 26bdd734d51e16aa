/**
 * Cluster metadata: typed records, the immutable image they build, the state machine Raft
 * replicates, the pure controller handlers and the controller loop. Brokers read the image and
 * react to its changes; they never read controller internals (STYLE.md §1.2).
 */
export {
  checkMetadataRecord,
  decodeMetadataEntry,
  encodeMetadataEntry,
  encodePaddedEmptyEntry,
  type MetadataRecord,
} from './records.js';
export {
  MetadataImage,
  MetadataDelta,
  imageToRecords,
  type BrokerImage,
  type MetadataChanges,
  isReassigning,
  targetReplicas,
  type PartitionImage,
  type TopicImage,
} from './image.js';
export { MetadataState, RELOAD_CHANGES, type ImageListener } from './metadata-state.js';
export type { MetadataService } from './metadata-service.js';
export {
  QuorumController,
  type ControllerRaft,
  type QuorumControllerOptions,
} from './controller/quorum-controller.js';
export type {
  BrokerHeartbeatInput,
  BrokerHeartbeatResponse,
  RegisterBrokerInput,
  RegisterBrokerResponse,
} from './controller/brokers.js';
export type { AlterPartitionInput, AlterPartitionResponse } from './controller/partitions.js';
export type { UnregisterBrokerResponse } from './controller/unregister.js';
export {
  checkTopicName,
  type CreateTopicInput,
  type CreateTopicResult,
  type ItemResult,
  type ConfigChange,
} from './controller/topics.js';
export { effectiveTopicConfigs, type EffectiveConfig } from './controller/topic-configs.js';
export {
  listReassignments,
  type ReassignmentInput,
  type ReassignmentResult,
  type ReassignmentStatus,
} from './controller/reassignments.js';
