/**
 * The typed, effective configuration of a topic: its own entries over the broker's defaults.
 */
import type { BrokerConfig } from '../config/index.js';
import type { CleanerPolicy, RetentionPolicy } from '../log/index.js';
import { effectiveTopicConfigs, type EffectiveConfig, type TopicImage } from '../metadata/index.js';

export interface TopicSettings {
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly maxMessageBytes: number;
  readonly logAppendTime: boolean;
  readonly minInsyncReplicas: number;
  /** cleanup.policy includes compact: the cleaner keeps the latest record per key. */
  readonly isCompacted: boolean;
  /** cleanup.policy includes delete: retention.ms and retention.bytes apply. */
  readonly isDeleteEnabled: boolean;
  readonly deleteRetentionMs: number;
  readonly minCleanableDirtyRatio: number;
  readonly minCompactionLagMs: number;
}

/** Whether a cleanup.policy value (delete, compact, compact,delete, delete,compact) has `part`. */
function hasPolicy(policy: string | undefined, part: 'compact' | 'delete'): boolean {
  return (policy ?? 'delete').split(',').includes(part);
}

/**
 * Whether the topic is compacted (cleanup.policy includes compact). One map lookup: produce calls
 * it on every request, and only a compacted topic pays for the key check.
 */
export function isCompactedTopic(topic: TopicImage): boolean {
  const policy = topic.configs.get('cleanup.policy');
  // The values are checked (delete, compact, compact,delete, delete,compact): a substring test is
  // exact, and allocates nothing.
  return policy !== undefined && policy.includes('compact');
}

/** What retention applies to the topic: null for pure compact, which retention leaves alone. */
export function retentionPolicyOf(topic: TopicImage, config: BrokerConfig): RetentionPolicy | null {
  const settings = topicSettings(topic, config);
  return settings.isDeleteEnabled ? settings : null;
}

/** How the cleaner treats the topic: null unless cleanup.policy includes compact. */
export function cleanerPolicyOf(topic: TopicImage, config: BrokerConfig): CleanerPolicy | null {
  const settings = topicSettings(topic, config);
  return settings.isCompacted ? settings : null;
}

export function describeTopicConfigs(topic: TopicImage, config: BrokerConfig): EffectiveConfig[] {
  const defaults = new Map([...config.entries].map(([k, v]) => [k, v.value]));
  const explicit = new Set(
    [...config.entries].filter(([, v]) => v.source !== 'default').map(([k]) => k),
  );
  return effectiveTopicConfigs(topic.configs, defaults, explicit);
}

export function topicSettings(topic: TopicImage, config: BrokerConfig): TopicSettings {
  const get = (name: string): string => topic.configs.get(name) ?? '';
  const int = (name: string, fallback: number): number => {
    const own = topic.configs.get(name);
    return own === undefined ? fallback : Number(own);
  };
  const timestampType = get('message.timestamp.type') || config.messageTimestampType;
  const policy = topic.configs.get('cleanup.policy');
  return {
    retentionMs: int('retention.ms', config.retentionMs),
    retentionBytes: int('retention.bytes', config.retentionBytes),
    maxMessageBytes: int('max.message.bytes', config.messageMaxBytes),
    logAppendTime: timestampType === 'LogAppendTime',
    minInsyncReplicas: int('min.insync.replicas', config.minInsyncReplicas),
    isCompacted: hasPolicy(policy, 'compact'),
    isDeleteEnabled: hasPolicy(policy, 'delete'),
    deleteRetentionMs: int('delete.retention.ms', config.cleaner.deleteRetentionMs),
    // int() reads the text with Number(), so a ratio such as 0.5 comes out right too.
    minCleanableDirtyRatio: int('min.cleanable.dirty.ratio', config.cleaner.minCleanableRatio),
    minCompactionLagMs: int('min.compaction.lag.ms', config.cleaner.minCompactionLagMs),
  };
}
