/**
 * The compaction configs: broker defaults (log.cleaner.*), the topic keys with their checks
 * (cleanup.policy values, min.cleanable.dirty.ratio as a number in [0, 1], delete.retention.ms
 * and min.compaction.lag.ms >= 0), and how a topic's configs map to the retention and cleaner
 * policies (retention applies to delete and compact,delete, the cleaner to compact and
 * compact,delete). Pure.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadBrokerConfig } from '../../../src/config/index.js';
import { checkTopicConfigs } from '../../../src/metadata/controller/topic-configs.js';
import type { TopicImage } from '../../../src/metadata/index.js';
import {
  cleanerPolicyOf,
  isCompactedTopic,
  retentionPolicyOf,
  topicSettings,
} from '../../../src/server/topic-settings.js';

const load = (flags: Record<string, string> = {}) =>
  loadBrokerConfig({ flags, env: {}, file: null });

function topic(configs: Record<string, string>): TopicImage {
  return {
    name: 't',
    topicId: '00000000-0000-4000-8000-000000000000',
    partitions: [],
    configs: new Map(Object.entries(configs)),
  };
}

describe('broker configs of the cleaner', () => {
  it('has Kafka defaults', () => {
    expect(load().cleaner).toEqual({
      enable: true,
      backoffMs: 15_000,
      deleteRetentionMs: 86_400_000,
      minCleanableRatio: 0.5,
      minCompactionLagMs: 0,
    });
  });

  it('parses a ratio as a number in [0, 1] and refuses anything else', () => {
    expect(load({ 'log.cleaner.min.cleanable.ratio': '0.25' }).cleaner.minCleanableRatio).toBe(
      0.25,
    );
    expect(load({ 'log.cleaner.min.cleanable.ratio': '1' }).cleaner.minCleanableRatio).toBe(1);
    expect(load({ 'log.cleaner.min.cleanable.ratio': '.5' }).cleaner.minCleanableRatio).toBe(0.5);
    for (const bad of ['2', '-0.1', 'half', '', '0.5x', 'NaN', 'Infinity']) {
      expect(() => load({ 'log.cleaner.min.cleanable.ratio': bad }), bad).toThrow(ConfigError);
    }
    expect(
      load({ 'log.cleaner.enable': 'false', 'log.cleaner.backoff.ms': '50' }).cleaner,
    ).toMatchObject({ enable: false, backoffMs: 50 });
  });
});

describe('topic configs of compaction', () => {
  it('accepts the four cleanup.policy values and refuses others', () => {
    for (const policy of ['delete', 'compact', 'compact,delete', 'delete,compact']) {
      expect(checkTopicConfigs(new Map([['cleanup.policy', policy]]))).toBeNull();
    }
    for (const policy of ['foo', 'compact,', 'COMPACT', 'compact, delete']) {
      expect(checkTopicConfigs(new Map([['cleanup.policy', policy]])), policy).toContain(
        'cleanup.policy',
      );
    }
  });

  it.each([
    ['min.cleanable.dirty.ratio', '2'],
    ['min.cleanable.dirty.ratio', '-1'],
    ['min.cleanable.dirty.ratio', 'x'],
    ['delete.retention.ms', '-5'],
    ['delete.retention.ms', '1.5'],
    ['min.compaction.lag.ms', '-1'],
  ])('refuses %s=%s', (name, value) => {
    expect(checkTopicConfigs(new Map([[name, value]]))).toContain(name);
  });

  it('maps a topic to its retention and cleaner policies, over the broker defaults', () => {
    const config = load({ 'log.cleaner.delete.retention.ms': '1000', 'log.retention.ms': '5' });
    expect(retentionPolicyOf(topic({}), config)).toMatchObject({ retentionMs: 5 });
    expect(cleanerPolicyOf(topic({}), config)).toBeNull();
    expect(isCompactedTopic(topic({}))).toBe(false);
    const compact = topic({ 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.2' });
    expect(isCompactedTopic(compact)).toBe(true);
    expect(retentionPolicyOf(compact, config)).toBeNull();
    expect(cleanerPolicyOf(compact, config)).toMatchObject({
      deleteRetentionMs: 1_000,
      minCleanableDirtyRatio: 0.2,
      minCompactionLagMs: 0,
    });
    for (const policy of ['compact,delete', 'delete,compact']) {
      const both = topic({ 'cleanup.policy': policy, 'min.compaction.lag.ms': '7' });
      expect(retentionPolicyOf(both, config)).not.toBeNull();
      expect(cleanerPolicyOf(both, config)).toMatchObject({ minCompactionLagMs: 7 });
      expect(topicSettings(both, config)).toMatchObject({
        isCompacted: true,
        isDeleteEnabled: true,
      });
    }
  });
});
