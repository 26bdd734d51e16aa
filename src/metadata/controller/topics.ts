/**
 * Pure controller handlers for topics: (image, request) → records to append and the answer.
 * Nothing here writes; the controller loop appends the records and answers only once they
 * are durable (KRaft's ControllerResult).
 */
import { limits } from '../../config/limits.js';
import type { MetadataImage, TopicImage } from '../image.js';
import { topicConfigRecord, type MetadataRecord, type PartitionRecord } from '../records.js';
import { placeReplicas, startIndexOfLeader, type PlacementBroker } from './placement.js';
import { checkTopicConfigs } from './topic-configs.js';
import { topicDefinition } from '../../config/definitions.js';
import type { ErrorCode } from '../../errors/index.js';

export interface ItemResult {
  readonly name: string;
  readonly errorCode: ErrorCode;
  readonly errorMessage: string;
}

export interface CreateTopicInput {
  readonly name: string;
  readonly partitions: number | null;
  readonly replicationFactor: number | null;
  readonly configs: ReadonlyMap<string, string>;
}

export interface CreateTopicResult extends ItemResult {
  readonly topicId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

export interface ControllerResult<T> {
  readonly records: readonly MetadataRecord[];
  readonly response: T;
}

export interface CreateDefaults {
  readonly numPartitions: number;
  readonly replicationFactor: number;
}

const LEGAL_NAME = /^[a-zA-Z0-9._-]+$/;

/** Null when the name is a legal topic name (Kafka's rules); else why not. */
export function checkTopicName(name: string): string | null {
  if (name.length === 0) return 'topic name is empty';
  if (name.length > limits.topicNameLengthMax) {
    return `topic name is ${name.length} characters; the limit is ${limits.topicNameLengthMax}`;
  }
  if (name === '.' || name === '..') return 'topic name cannot be "." or ".."';
  if (!LEGAL_NAME.test(name)) {
    return `topic name "${name}" has a character outside [a-zA-Z0-9._-]`;
  }
  return null;
}

/**
 * Creates each valid topic, placing its replicas on the unfenced brokers (placement.ts). The
 * placement start index is the number of partitions in the image plus those created earlier in
 * this request, so the first preferred leader of successive topics goes round the brokers and
 * preferred leaders stay balanced across topics, not just within one. Every topic gets its own
 * result; an invalid one creates nothing and does not stop the others.
 */
export function createTopics(
  image: MetadataImage,
  topics: readonly CreateTopicInput[],
  defaults: CreateDefaults,
  newTopicId: () => string,
): ControllerResult<CreateTopicResult[]> {
  const records: MetadataRecord[] = [];
  const response: CreateTopicResult[] = [];
  const seen = new Set<string>();
  const live = liveBrokers(image);
  let placementStart = partitionCountOf(image);
  for (const topic of topics) {
    const partitions = topic.partitions ?? defaults.numPartitions;
    const replicationFactor = topic.replicationFactor ?? defaults.replicationFactor;
    const fail = (errorCode: ErrorCode, errorMessage: string): void => {
      response.push({
        name: topic.name,
        errorCode,
        errorMessage,
        topicId: '',
        partitions,
        replicationFactor,
      });
    };
    const nameProblem = checkTopicName(topic.name);
    if (nameProblem !== null) {
      fail('INVALID_TOPIC_EXCEPTION', nameProblem);
      continue;
    }
    if (image.topic(topic.name) !== undefined || seen.has(topic.name)) {
      fail('TOPIC_ALREADY_EXISTS', `topic "${topic.name}" already exists`);
      continue;
    }
    if (partitions < 1 || partitions > limits.partitionsPerTopicMax) {
      fail(
        'INVALID_PARTITIONS',
        `partitions must be between 1 and ${limits.partitionsPerTopicMax}, not ${partitions}`,
      );
      continue;
    }
    if (replicationFactor < 1 || replicationFactor > live.length) {
      fail(
        'INVALID_REPLICATION_FACTOR',
        `replication factor ${replicationFactor} is not between 1 and the ${live.length} live broker(s)`,
      );
      continue;
    }
    const configProblem = checkTopicConfigs(topic.configs);
    if (configProblem !== null) {
      fail('INVALID_CONFIG', configProblem);
      continue;
    }
    seen.add(topic.name);
    const topicId = newTopicId();
    records.push({ type: 'TopicRecord', version: 1, name: topic.name, topicId });
    for (const [name, value] of topic.configs) {
      records.push(topicConfigRecord(topic.name, name, value));
    }
    records.push(
      ...placePartitions(topicId, 0, partitions, replicationFactor, live, placementStart),
    );
    placementStart += partitions;
    response.push({
      name: topic.name,
      errorCode: 'NONE',
      errorMessage: '',
      topicId,
      partitions,
      replicationFactor,
    });
  }
  return { records, response };
}

export function deleteTopics(
  image: MetadataImage,
  names: readonly string[],
): ControllerResult<ItemResult[]> {
  const records: MetadataRecord[] = [];
  const response: ItemResult[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const topic = image.topic(name);
    if (topic === undefined || seen.has(name)) {
      response.push({
        name,
        errorCode: 'UNKNOWN_TOPIC_OR_PARTITION',
        errorMessage: `topic "${name}" does not exist`,
      });
      continue;
    }
    seen.add(name);
    records.push({ type: 'RemoveTopicRecord', version: 1, topicId: topic.topicId });
    response.push({ name, errorCode: 'NONE', errorMessage: '' });
  }
  return { records, response };
}

/**
 * Grows each named topic to `count` partitions. Existing partitions are untouched; new ones are
 * placed on the unfenced brokers with the topic's replication factor, continuing the round of
 * preferred leaders that starts at partition 0's preferred leader (Kafka's addPartitions).
 */
export function createPartitions(
  image: MetadataImage,
  requests: readonly { name: string; count: number }[],
): ControllerResult<ItemResult[]> {
  const records: MetadataRecord[] = [];
  const response: ItemResult[] = [];
  const live = liveBrokers(image);
  for (const { name, count } of requests) {
    const topic = image.topic(name);
    if (topic === undefined) {
      response.push({
        name,
        errorCode: 'UNKNOWN_TOPIC_OR_PARTITION',
        errorMessage: `topic "${name}" does not exist`,
      });
      continue;
    }
    const current = topic.partitions.length;
    if (count <= current || count > limits.partitionsPerTopicMax) {
      response.push({
        name,
        errorCode: 'INVALID_PARTITIONS',
        errorMessage: `topic "${name}" has ${current} partitions; the new count must be larger and at most ${limits.partitionsPerTopicMax}, not ${count}`,
      });
      continue;
    }
    const replicationFactor = topic.partitions[0]?.replicas.length ?? 1;
    if (replicationFactor > live.length) {
      response.push({
        name,
        errorCode: 'INVALID_REPLICATION_FACTOR',
        errorMessage: `only ${live.length} live broker(s) for replication factor ${replicationFactor}`,
      });
      continue;
    }
    const start = startIndexOfLeader(live, topic.partitions[0]?.replicas[0] ?? -1);
    records.push(...placePartitions(topic.topicId, current, count, replicationFactor, live, start));
    response.push({ name, errorCode: 'NONE', errorMessage: '' });
  }
  return { records, response };
}

export interface ConfigChange {
  readonly name: string;
  readonly value: string | null;
}

/**
 * Applies all of a topic's changes or none. Every op is checked on its own; naming one config
 * twice in a request is INVALID_REQUEST, as in Kafka, since which one should win is unclear.
 */
export function alterTopicConfigs(
  topic: TopicImage,
  changes: readonly ConfigChange[],
): { records: MetadataRecord[]; error: { code: ErrorCode; message: string } | null } {
  const names = new Set<string>();
  for (const change of changes) {
    if (names.has(change.name)) {
      const message = `config "${change.name}" appears more than once`;
      return { records: [], error: { code: 'INVALID_REQUEST', message } };
    }
    names.add(change.name);
  }
  for (const change of changes) {
    const problem =
      change.value === null
        ? checkDeletes([change])
        : checkTopicConfigs(new Map([[change.name, change.value]]));
    if (problem !== null)
      return { records: [], error: { code: 'INVALID_CONFIG', message: problem } };
  }
  const records: MetadataRecord[] = changes.map((c) =>
    topicConfigRecord(topic.name, c.name, c.value),
  );
  return { records, error: null };
}

function checkDeletes(changes: readonly ConfigChange[]): string | null {
  const unknown = changes.find((c) => c.value === null && topicDefinition(c.name) === undefined);
  return unknown === undefined ? null : `unknown topic config "${unknown.name}"`;
}

/** Unfenced brokers sorted by id: the brokers new replicas may go to. */
function liveBrokers(image: MetadataImage): PlacementBroker[] {
  return [...image.brokers.values()]
    .filter((b) => !b.fenced)
    .sort((a, b) => a.brokerId - b.brokerId)
    .map((b) => ({ brokerId: b.brokerId, rack: b.rack }));
}

/** Partitions of every topic in the image: where the next topic's placement starts. */
function partitionCountOf(image: MetadataImage): number {
  let count = 0;
  for (const topic of image.topicsById.values()) count += topic.partitions.length;
  return count;
}

/**
 * Records of new partitions `from` to `to - 1`, placed by placement.ts, each fully in sync and
 * led by its preferred replica.
 */
function placePartitions(
  topicId: string,
  from: number,
  to: number,
  replicationFactor: number,
  live: readonly PlacementBroker[],
  startIndex: number,
): PartitionRecord[] {
  const replicas = placeReplicas({
    brokers: live,
    partitionFrom: from,
    partitionTo: to,
    replicationFactor,
    startIndex,
  });
  return replicas.map((partitionReplicas, i) => ({
    type: 'PartitionRecord',
    version: 1,
    topicId,
    partition: from + i,
    replicas: partitionReplicas,
    isr: partitionReplicas,
    leader: partitionReplicas[0] as number,
    leaderEpoch: 0,
    partitionEpoch: 0,
  }));
}
