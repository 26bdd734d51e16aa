/** Broker and topic configuration: definitions, parsing, loading. */
export {
  BROKER_CONFIGS,
  DYNAMIC_BROKER_CONFIGS,
  dynamicBrokerDefinition,
  TOPIC_CONFIGS,
  brokerDefinition,
  topicDefinition,
  envName,
  flagName,
  type ConfigDefinition,
  type TopicConfigDefinition,
} from './definitions.js';
export { parseAddress, parseConfigValue, parseVoters, type VoterAddress } from './parse.js';
export {
  ConfigError,
  loadBrokerConfig,
  parseProperties,
  type BrokerConfig,
  type CleanerSettings,
  type ConfigInputs,
  type ConfigSourceName,
  type FsyncPolicy,
  type LogLevel,
  type RaftSettings,
  type GroupSettings,
  type ReplicationSettings,
  type RaftTuning,
  type TimestampTypeName,
} from './config.js';
export { limits } from './limits.js';
export {
  CLUSTER_DOMAIN_DEFAULT,
  POD_DERIVED_KEYS,
  POD_ENV,
  POD_PORT_DEFAULT,
  derivePodConfig,
  type PodConfigResult,
  type PodDerivedKey,
} from './pod.js';
