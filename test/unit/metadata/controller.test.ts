/**
 * Controller handlers are pure: (image, request) → records + response. These tests assert on
 * the records and on the image that replaying them builds, with no storage involved
 * (STYLE.md §1.2).
 */
import { describe, expect, it } from 'vitest';
import { MetadataDelta, MetadataImage, type MetadataRecord } from '../../../src/metadata/index.js';
import {
  alterTopicConfigs,
  checkTopicName,
  createPartitions,
  createTopics,
  deleteTopics,
} from '../../../src/metadata/controller/topics.js';

function imageOf(records: readonly MetadataRecord[], base = MetadataImage.EMPTY): MetadataImage {
  const delta = new MetadataDelta(base);
  records.forEach((r, i) => delta.replay(r, base.offset + 1 + i));
  return delta.apply().image;
}

const oneBroker = imageOf([
  {
    type: 'RegisterBrokerRecord',
    version: 1,
    brokerId: 0,
    incarnationId: 'x',
    host: 'h',
    port: 1,
    rack: '',
    fenced: false,
  },
]);
let ids = 0;
const newId = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`;
const topic = (name: string, partitions: number | null = 3) => ({
  name,
  partitions,
  replicationFactor: null,
  configs: new Map<string, string>(),
});

describe('createTopics', () => {
  it('creates a topic with its partitions led by a live broker', () => {
    const { records, response } = createTopics(
      oneBroker,
      [topic('orders')],
      { numPartitions: 1, replicationFactor: 1 },
      newId,
    );
    expect(response[0]).toMatchObject({
      name: 'orders',
      errorCode: 'NONE',
      partitions: 3,
      replicationFactor: 1,
    });
    const image = imageOf(records, oneBroker);
    const created = image.topic('orders');
    expect(created?.partitions.map((p) => [p.partition, p.leader, p.isr])).toEqual([
      [0, 0, [0]],
      [1, 0, [0]],
      [2, 0, [0]],
    ]);
  });

  it('uses the broker default partition count', () => {
    const { response } = createTopics(
      oneBroker,
      [topic('t', null)],
      { numPartitions: 5, replicationFactor: 1 },
      newId,
    );
    expect(response[0]?.partitions).toBe(5);
  });

  it('reports each bad topic on its own and creates the good ones', () => {
    const existing = imageOf(
      createTopics(oneBroker, [topic('taken')], { numPartitions: 1, replicationFactor: 1 }, newId)
        .records,
      oneBroker,
    );
    const { records, response } = createTopics(
      existing,
      [
        topic('taken'),
        topic('bad name'),
        { ...topic('rf'), replicationFactor: 3 },
        { ...topic('cfg'), configs: new Map([['retention.ms', 'soon']]) },
        topic('dup'),
        topic('dup'),
        topic('ok'),
      ],
      { numPartitions: 1, replicationFactor: 1 },
      newId,
    );
    expect(response.map((r) => r.errorCode)).toEqual([
      'TOPIC_ALREADY_EXISTS',
      'INVALID_TOPIC_EXCEPTION',
      'INVALID_REPLICATION_FACTOR',
      'INVALID_CONFIG',
      'NONE',
      'TOPIC_ALREADY_EXISTS',
      'NONE',
    ]);
    const names = records
      .filter((r) => r.type === 'TopicRecord')
      .map((r) => (r as { name: string }).name);
    expect(names).toEqual(['dup', 'ok']);
  });

  it('applies Kafka topic name rules', () => {
    expect(checkTopicName('a.b_c-D9')).toBeNull();
    expect(checkTopicName('')).toMatch(/empty/);
    expect(checkTopicName('..')).toMatch(/cannot be/);
    expect(checkTopicName('x'.repeat(250))).toMatch(/limit is 249/);
    expect(checkTopicName('a/b')).toMatch(/character/);
  });
});

describe('deleteTopics, createPartitions, alterTopicConfigs', () => {
  const withTopic = imageOf(
    createTopics(oneBroker, [topic('t', 2)], { numPartitions: 1, replicationFactor: 1 }, newId)
      .records,
    oneBroker,
  );

  it('deletes a topic and reports unknown ones', () => {
    const { records, response } = deleteTopics(withTopic, ['t', 'nope']);
    expect(response.map((r) => r.errorCode)).toEqual(['NONE', 'UNKNOWN_TOPIC_OR_PARTITION']);
    const { image, changes } = (() => {
      const delta = new MetadataDelta(withTopic);
      records.forEach((r, i) => delta.replay(r, withTopic.offset + 1 + i));
      return delta.apply();
    })();
    expect(image.topic('t')).toBeUndefined();
    expect(changes.deletedTopics.map((t) => t.name)).toEqual(['t']);
  });

  it('only grows partition counts', () => {
    expect(createPartitions(withTopic, [{ name: 't', count: 2 }]).response[0]?.errorCode).toBe(
      'INVALID_PARTITIONS',
    );
    const { records, response } = createPartitions(withTopic, [{ name: 't', count: 4 }]);
    expect(response[0]?.errorCode).toBe('NONE');
    expect(imageOf(records, withTopic).topic('t')?.partitions).toHaveLength(4);
  });

  it('applies all config changes of a topic or none', () => {
    const t = withTopic.topic('t')!;
    expect(
      alterTopicConfigs(t, [
        { name: 'retention.ms', value: '10' },
        { name: 'bogus', value: '1' },
      ]).error?.message,
    ).toMatch(/unknown topic config "bogus"/);
    const twice = alterTopicConfigs(t, [
      { name: 'retention.ms', value: 'lots' },
      { name: 'retention.ms', value: '-1' },
    ]);
    expect(twice).toEqual({
      records: [],
      error: { code: 'INVALID_REQUEST', message: 'config "retention.ms" appears more than once' },
    });
    const ok = alterTopicConfigs(t, [{ name: 'retention.ms', value: '10' }]);
    expect(ok.error).toBeNull();
    const after = imageOf(ok.records, withTopic).topic('t')!;
    expect(after.configs.get('retention.ms')).toBe('10');
    const removed = imageOf(
      alterTopicConfigs(after, [{ name: 'retention.ms', value: null }]).records,
      imageOf(ok.records, withTopic),
    );
    expect(removed.topic('t')?.configs.has('retention.ms')).toBe(false);
  });
});
