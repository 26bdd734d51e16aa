/**
 * Cluster metadata: typed records, the immutable image they build, the pure controller
 * handlers, and the controller loop. Brokers read the image and react to its changes; they
 * never read controller internals (STYLE.md §1.2).
 */
export type { MetadataRecord } from './records.js';
export {
  MetadataImage,
  MetadataDelta,
  type BrokerImage,
  type MetadataChanges,
  type PartitionImage,
  type TopicImage,
} from './image.js';
export { LevelMetadataLog, type MetadataLog } from './metadata-log.js';
export {
  LocalController,
  type ImageListener,
  type MetadataService,
} from './controller/controller.js';
export {
  checkTopicName,
  type CreateTopicInput,
  type CreateTopicResult,
  type ItemResult,
  type ConfigChange,
} from './controller/topics.js';
export { effectiveTopicConfigs, type EffectiveConfig } from './controller/topic-configs.js';
