/**
 * Metadata records: the only thing that flows from the controller to brokers (KRaft-style).
 * Applying the committed records in order yields the metadata image. Each record carries a
 * version so a later release can read what an earlier one wrote. This module is pure.
 */

export type MetadataRecord =
  RegisterBrokerRecord | TopicRecord | PartitionRecord | ConfigRecord | RemoveTopicRecord;

/** A broker announces its endpoint; a later registration of the same id replaces it. */
export interface RegisterBrokerRecord {
  readonly type: 'RegisterBrokerRecord';
  readonly version: 1;
  readonly brokerId: number;
  /** Random per process start: tells a restarted broker from a stale registration. */
  readonly incarnationId: string;
  readonly host: string;
  readonly port: number;
  readonly rack: string;
  readonly fenced: boolean;
}

export interface TopicRecord {
  readonly type: 'TopicRecord';
  readonly version: 1;
  readonly name: string;
  /** UUID; a re-created topic of the same name gets a new one. */
  readonly topicId: string;
}

/** Full state of one partition; a later record for the same partition replaces it. */
export interface PartitionRecord {
  readonly type: 'PartitionRecord';
  readonly version: 1;
  readonly topicId: string;
  readonly partition: number;
  /** Replica node ids, preferred leader first. */
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** Node id of the leader, -1 for none. */
  readonly leader: number;
  /** Bumped on every leader change; stamped on every batch the leader appends. */
  readonly leaderEpoch: number;
  /** Bumped on every change of the partition's record. */
  readonly partitionEpoch: number;
}

/** Sets (value) or removes (null) one config entry of a topic. */
export interface ConfigRecord {
  readonly type: 'ConfigRecord';
  readonly version: 1;
  readonly resourceType: 'topic';
  readonly resourceName: string;
  readonly name: string;
  readonly value: string | null;
}

export interface RemoveTopicRecord {
  readonly type: 'RemoveTopicRecord';
  readonly version: 1;
  readonly topicId: string;
}

const TYPES = new Set<MetadataRecord['type']>([
  'RegisterBrokerRecord',
  'TopicRecord',
  'PartitionRecord',
  'ConfigRecord',
  'RemoveTopicRecord',
]);

/** Records are stored as UTF-8 JSON; the metadata log is control plane, not a hot path. */
export function encodeMetadataRecord(record: MetadataRecord): Buffer {
  return Buffer.from(JSON.stringify(record), 'utf8');
}

export function decodeMetadataRecord(bytes: Buffer): MetadataRecord {
  const parsed = JSON.parse(bytes.toString('utf8')) as { type?: unknown; version?: unknown };
  if (!TYPES.has(parsed.type as MetadataRecord['type']) || parsed.version !== 1) {
    throw new Error(
      `unknown metadata record ${String(parsed.type)} v${String(parsed.version)}: ` +
        'this data dir was written by a newer Brook',
    );
  }
  return parsed as MetadataRecord;
}
