/**
 * The typed, effective configuration of a topic: its own entries over the broker's defaults.
 */
import type { BrokerConfig } from '../config/index.js';
import { effectiveTopicConfigs, type EffectiveConfig, type TopicImage } from '../metadata/index.js';

export interface TopicSettings {
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly maxMessageBytes: number;
  readonly logAppendTime: boolean;
  readonly minInsyncReplicas: number;
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
  return {
    retentionMs: int('retention.ms', config.retentionMs),
    retentionBytes: int('retention.bytes', config.retentionBytes),
    maxMessageBytes: int('max.message.bytes', config.messageMaxBytes),
    logAppendTime: timestampType === 'LogAppendTime',
    minInsyncReplicas: int('min.insync.replicas', config.minInsyncReplicas),
  };
}
