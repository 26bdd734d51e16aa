/**
 * Metadata records: the only thing that flows from the controller to brokers (KRaft-style).
 * The active controller proposes them through Raft; every node applies the committed ones in
 * order and so builds the same metadata image. One controller operation is one Raft entry
 * holding its records, so an operation applies whole or not at all.
 *
 * Records are JSON with a version each: the metadata log is control plane and low volume, and a
 * person reading a dump can follow it. Pure: no I/O.
 */

export type MetadataRecord =
  | RegisterBrokerRecord
  | FenceBrokerRecord
  | UnfenceBrokerRecord
  | UnregisterBrokerRecord
  | TopicRecord
  | PartitionRecord
  | PartitionChangeRecord
  | ConfigRecord
  | RemoveTopicRecord;

/**
 * A broker process registered. A registration of a known id replaces the earlier one; the
 * broker starts fenced and is unfenced once it has caught up with the metadata log.
 */
export interface RegisterBrokerRecord {
  readonly type: 'RegisterBrokerRecord';
  readonly version: 1;
  readonly brokerId: number;
  /** Random per process start: tells a restarted broker from a stale registration. */
  readonly incarnationId: string;
  /**
   * Unique per registration and increasing: the metadata offset the registration was decided
   * at, plus one. A heartbeat carrying another epoch is from a stale incarnation.
   */
  readonly brokerEpoch: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string;
}

/** The broker's session expired, or it shut down: it leads nothing and serves no fetchers. */
export interface FenceBrokerRecord {
  readonly type: 'FenceBrokerRecord';
  readonly version: 1;
  readonly brokerId: number;
  readonly brokerEpoch: number;
}

/** The broker heartbeats and has caught up with the metadata: it may lead and join ISRs. */
export interface UnfenceBrokerRecord {
  readonly type: 'UnfenceBrokerRecord';
  readonly version: 1;
  readonly brokerId: number;
  readonly brokerEpoch: number;
}

/**
 * The broker is removed from the cluster (KIP-631's UnregisterBrokerRecord): its registration is
 * dropped. The controller writes it only for a fenced broker that no partition names, so nothing
 * refers to the id afterwards. Applies only to the registration of `brokerEpoch`.
 */
export interface UnregisterBrokerRecord {
  readonly type: 'UnregisterBrokerRecord';
  readonly version: 1;
  readonly brokerId: number;
  readonly brokerEpoch: number;
}

export interface TopicRecord {
  readonly type: 'TopicRecord';
  readonly version: 1;
  readonly name: string;
  /** UUID; a re-created topic of the same name gets a new one. */
  readonly topicId: string;
}

/**
 * Full state of one new partition (or, in a snapshot, of one partition). Later changes are
 * PartitionChangeRecords. Version 2 carries a reassignment in progress (the two lists below);
 * version 1 has none, so a release that predates reassignments refuses what it cannot apply.
 */
export interface PartitionRecord {
  readonly type: 'PartitionRecord';
  readonly version: 1 | 2;
  readonly topicId: string;
  readonly partition: number;
  /** Replica node ids, preferred leader first. */
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** Node id of the leader, -1 for none. */
  readonly leader: number;
  /** Bumped on every leader change; stamped on every batch the leader appends. */
  readonly leaderEpoch: number;
  /** Bumped on every change of the partition (leader, ISR or replicas). */
  readonly partitionEpoch: number;
  /** v2: replicas a reassignment in progress adds (they are in `replicas` already). */
  readonly addingReplicas?: readonly number[];
  /** v2: replicas a reassignment in progress will remove once the added ones are in sync. */
  readonly removingReplicas?: readonly number[];
}

/**
 * A change to one partition; only the fields that change are set (null: unchanged). Replay
 * bumps partitionEpoch always and leaderEpoch when `leader` is set, so the epochs are derived
 * the same way on every node rather than trusted from the record.
 */
export interface PartitionChangeRecord {
  readonly type: 'PartitionChangeRecord';
  /** 2 when it sets addingReplicas or removingReplicas. */
  readonly version: 1 | 2;
  readonly topicId: string;
  readonly partition: number;
  readonly isr: readonly number[] | null;
  /** The new leader (-1: none); null leaves the leader and its epoch as they are. */
  readonly leader: number | null;
  readonly replicas: readonly number[] | null;
  /** v2: the reassignment's added replicas ([] when it ends); absent or null: unchanged. */
  readonly addingReplicas?: readonly number[] | null;
  /** v2: the reassignment's replicas to remove ([] when it ends); absent or null: unchanged. */
  readonly removingReplicas?: readonly number[] | null;
}

/**
 * Sets (value) or removes (null) one config entry of a topic, or (v2) a dynamic broker config:
 * resourceName is a broker id, or empty for the cluster-wide default. Broker entries are v2 so a
 * release that knows only topic configs refuses the log instead of misapplying them.
 */
export interface ConfigRecord {
  readonly type: 'ConfigRecord';
  readonly version: 1 | 2;
  readonly resourceType: 'topic' | 'broker';
  readonly resourceName: string;
  readonly name: string;
  readonly value: string | null;
}

/** The ConfigRecord that sets (or, with null, removes) `name` on topic `topic`. */
export function topicConfigRecord(topic: string, name: string, value: string | null): ConfigRecord {
  return {
    type: 'ConfigRecord',
    version: 1,
    resourceType: 'topic',
    resourceName: topic,
    name,
    value,
  };
}

/** The ConfigRecord that sets (or removes) dynamic broker config `name` of broker `broker` ('' for all). */
export function brokerConfigRecord(
  broker: string,
  name: string,
  value: string | null,
): ConfigRecord {
  return {
    type: 'ConfigRecord',
    version: 2,
    resourceType: 'broker',
    resourceName: broker,
    name,
    value,
  };
}

export interface RemoveTopicRecord {
  readonly type: 'RemoveTopicRecord';
  readonly version: 1;
  readonly topicId: string;
}

const TYPES = new Set<MetadataRecord['type']>([
  'RegisterBrokerRecord',
  'FenceBrokerRecord',
  'UnfenceBrokerRecord',
  'UnregisterBrokerRecord',
  'TopicRecord',
  'PartitionRecord',
  'PartitionChangeRecord',
  'ConfigRecord',
  'RemoveTopicRecord',
]);

/** Version of the Raft entry envelope `{ v, records }`. */
const ENTRY_VERSION = 1;

/** One controller operation's records as the data of one Raft entry. */
export function encodeMetadataEntry(records: readonly MetadataRecord[]): Buffer {
  return Buffer.from(JSON.stringify({ v: ENTRY_VERSION, records }), 'utf8');
}

/**
 * The records of one Raft entry. Throws on an entry this release cannot read: a newer Brook
 * wrote it, and applying part of it would diverge from the nodes that can.
 */
export function decodeMetadataEntry(data: Uint8Array): MetadataRecord[] {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  const parsed = JSON.parse(text) as { v?: unknown; records?: unknown };
  if (parsed.v !== ENTRY_VERSION || !Array.isArray(parsed.records)) {
    throw new Error(
      `unknown metadata entry version ${String(parsed.v)}: this log was written by a newer Brook`,
    );
  }
  return parsed.records.map(checkMetadataRecord);
}

/** `value` as a record; throws on a type or version this release does not know. */
export function checkMetadataRecord(value: unknown): MetadataRecord {
  const record = value as { type?: unknown; version?: unknown };
  const isKnownVersion =
    record.version === 1 ||
    (record.version === 2 &&
      (record.type === 'PartitionRecord' ||
        record.type === 'PartitionChangeRecord' ||
        record.type === 'ConfigRecord'));
  if (!TYPES.has(record.type as MetadataRecord['type']) || !isKnownVersion) {
    throw new Error(
      `unknown metadata record ${String(record.type)} v${String(record.version)}: ` +
        'this log was written by a newer Brook',
    );
  }
  return value as MetadataRecord;
}

/**
 * A metadata entry without records, padded with a `pad` field to `entryBytes` bytes (or the
 * smallest such entry, when entryBytes is below it): what RaftPeer.Propose accepts, for tests
 * and the Raft benchmark to exercise the quorum with entries of a given size.
 */
export function encodePaddedEmptyEntry(entryBytes: number, fill = 'x'): Buffer {
  const bare = JSON.stringify({ v: ENTRY_VERSION, records: [], pad: '' });
  const padBytes = Math.max(0, entryBytes - Buffer.byteLength(bare));
  return Buffer.from(
    JSON.stringify({
      v: ENTRY_VERSION,
      records: [],
      pad: fill.repeat(padBytes).slice(0, padBytes),
    }),
    'utf8',
  );
}
