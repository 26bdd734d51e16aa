/**
 * The metadata image: an immutable view of the cluster built by replaying metadata records.
 * Brokers read it; only `MetadataDelta.apply()` makes a new one, sharing every topic it did not
 * touch. Pure: no I/O.
 */
import { assert } from '../util/assert.js';
import {
  brokerConfigRecord,
  topicConfigRecord,
  type MetadataRecord,
  type PartitionChangeRecord,
} from './records.js';

export interface BrokerImage {
  readonly brokerId: number;
  readonly incarnationId: string;
  /** The epoch of its current registration (RegisterBrokerRecord.brokerEpoch). */
  readonly brokerEpoch: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string;
  readonly fenced: boolean;
}

export interface PartitionImage {
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  /**
   * While a reassignment is in progress (KIP-455): the replicas it adds, already in `replicas`
   * and fetching, and those it removes once every target replica is in sync. Absent when none.
   */
  readonly addingReplicas?: readonly number[];
  readonly removingReplicas?: readonly number[];
}

/** The replicas a reassignment in progress moves the partition to (all of them when none). */
export function targetReplicas(partition: PartitionImage): readonly number[] {
  const removing = partition.removingReplicas ?? [];
  return removing.length === 0
    ? partition.replicas
    : partition.replicas.filter((r) => !removing.includes(r));
}

/** True while a reassignment of the partition is in progress. */
export function isReassigning(partition: PartitionImage): boolean {
  return (
    (partition.addingReplicas?.length ?? 0) > 0 || (partition.removingReplicas?.length ?? 0) > 0
  );
}

export interface TopicImage {
  readonly name: string;
  readonly topicId: string;
  /** Indexed by partition number; dense. */
  readonly partitions: readonly PartitionImage[];
  /** Only the entries set on the topic; defaults come from the broker config. */
  readonly configs: ReadonlyMap<string, string>;
}

export class MetadataImage {
  static readonly EMPTY = new MetadataImage(new Map(), new Map(), new Map(), -1);

  constructor(
    readonly brokers: ReadonlyMap<number, BrokerImage>,
    readonly topicsByName: ReadonlyMap<string, TopicImage>,
    readonly topicsById: ReadonlyMap<string, TopicImage>,
    /** Raft index of the last metadata entry applied; -1 for none. */
    readonly offset: number,
    /** Dynamic broker configs set through AlterConfigs, by broker id ('' for every broker). */
    readonly brokerConfigs: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map(),
  ) {}

  /** Dynamic broker config `name` in force on broker `brokerId`: its own, else the cluster's. */
  brokerConfig(brokerId: number, name: string): string | undefined {
    return (
      this.brokerConfigs.get(String(brokerId))?.get(name) ?? this.brokerConfigs.get('')?.get(name)
    );
  }

  topic(name: string): TopicImage | undefined {
    return this.topicsByName.get(name);
  }

  partition(name: string, partition: number): PartitionImage | undefined {
    return this.topicsByName.get(name)?.partitions[partition];
  }
}

/** What changed between two images: brokers act on this (create or drop partition logs). */
export interface MetadataChanges {
  /**
   * True when the image was replaced wholesale (a snapshot was installed): the lists below are
   * empty and a listener must reconcile everything against the new image.
   */
  readonly isReload: boolean;
  /** Brokers registered, fenced, unfenced or unregistered (then absent from the image). */
  readonly changedBrokers: readonly number[];
  readonly createdTopics: readonly TopicImage[];
  readonly deletedTopics: readonly TopicImage[];
  /** Partitions whose record changed (new, or leader/ISR/replicas changed), by topic id. */
  readonly changedPartitions: ReadonlyMap<string, readonly PartitionImage[]>;
  readonly changedConfigs: readonly string[];
}

/**
 * Accumulates records on top of a base image. `replay` may be called many times, then `apply`
 * returns the new image and the changes since the base.
 */
export class MetadataDelta {
  private readonly brokers: Map<number, BrokerImage>;
  private readonly topics = new Map<string, MutableTopic | null>();
  private readonly changedBrokers = new Set<number>();
  /** Copied from the base on the first broker ConfigRecord. */
  private brokerConfigs: Map<string, ReadonlyMap<string, string>> | null = null;
  private offset: number;

  constructor(private readonly base: MetadataImage) {
    this.brokers = new Map(base.brokers);
    this.offset = base.offset;
  }

  /** Marks the Raft index of the entry being applied (its records, or none for a no-op). */
  advanceTo(offset: number): void {
    assert(offset >= this.offset, `metadata offset ${offset} after ${this.offset}`);
    this.offset = offset;
  }

  replay(record: MetadataRecord): void {
    switch (record.type) {
      case 'RegisterBrokerRecord':
        this.brokers.set(record.brokerId, {
          brokerId: record.brokerId,
          incarnationId: record.incarnationId,
          brokerEpoch: record.brokerEpoch,
          host: record.host,
          port: record.port,
          rack: record.rack,
          fenced: true,
        });
        this.changedBrokers.add(record.brokerId);
        return;
      case 'FenceBrokerRecord':
      case 'UnfenceBrokerRecord': {
        const broker = this.brokers.get(record.brokerId);
        assert(broker !== undefined, `${record.type} for unknown broker ${record.brokerId}`);
        // A record for an older registration changes nothing: the controller decided it before
        // the broker registered again.
        if (broker.brokerEpoch !== record.brokerEpoch) return;
        this.brokers.set(record.brokerId, {
          ...broker,
          fenced: record.type === 'FenceBrokerRecord',
        });
        this.changedBrokers.add(record.brokerId);
        return;
      }
      case 'UnregisterBrokerRecord': {
        const broker = this.brokers.get(record.brokerId);
        assert(broker !== undefined, `${record.type} for unknown broker ${record.brokerId}`);
        // As for fencing: a record for an older registration leaves the newer one in place.
        if (broker.brokerEpoch !== record.brokerEpoch) return;
        this.brokers.delete(record.brokerId);
        this.changedBrokers.add(record.brokerId);
        return;
      }
      case 'TopicRecord':
        this.topics.set(record.topicId, {
          name: record.name,
          topicId: record.topicId,
          partitions: [],
          configs: new Map(),
          changed: new Set(),
          created: true,
        });
        return;
      case 'PartitionRecord': {
        const topic = this.mutableTopic(record.topicId);
        const {
          topicId: _topicId,
          type: _type,
          version: _version,
          addingReplicas,
          removingReplicas,
          ...partition
        } = record;
        topic.partitions[record.partition] = withReassignment(
          partition,
          addingReplicas ?? [],
          removingReplicas ?? [],
        );
        topic.changed.add(record.partition);
        return;
      }
      case 'PartitionChangeRecord': {
        const topic = this.mutableTopic(record.topicId);
        const before = topic.partitions[record.partition];
        assert(before !== undefined, `change of unknown partition ${record.partition}`);
        topic.partitions[record.partition] = applyPartitionChange(before, record);
        topic.changed.add(record.partition);
        return;
      }
      case 'ConfigRecord': {
        if (record.resourceType === 'broker') {
          this.brokerConfigs ??= new Map(this.base.brokerConfigs);
          const entries = new Map(this.brokerConfigs.get(record.resourceName));
          if (record.value === null) entries.delete(record.name);
          else entries.set(record.name, record.value);
          if (entries.size === 0) this.brokerConfigs.delete(record.resourceName);
          else this.brokerConfigs.set(record.resourceName, entries);
          return;
        }
        const topic = this.mutableTopicByName(record.resourceName);
        if (record.value === null) topic.configs.delete(record.name);
        else topic.configs.set(record.name, record.value);
        topic.configsChanged = true;
        return;
      }
      case 'RemoveTopicRecord':
        this.mutableTopic(record.topicId);
        this.topics.set(record.topicId, null);
        return;
    }
  }

  apply(): { image: MetadataImage; changes: MetadataChanges } {
    const byName = new Map(this.base.topicsByName);
    const byId = new Map(this.base.topicsById);
    const createdTopics: TopicImage[] = [];
    const deletedTopics: TopicImage[] = [];
    const changedPartitions = new Map<string, PartitionImage[]>();
    const changedConfigs: string[] = [];
    for (const [topicId, topic] of this.topics) {
      const before = this.base.topicsById.get(topicId);
      if (before !== undefined) {
        byName.delete(before.name);
        byId.delete(topicId);
      }
      if (topic === null) {
        if (before !== undefined) deletedTopics.push(before);
        continue;
      }
      const image: TopicImage = {
        name: topic.name,
        topicId,
        partitions: Object.freeze([...topic.partitions]),
        configs: topic.configs,
      };
      byName.set(image.name, image);
      byId.set(topicId, image);
      if (topic.created) createdTopics.push(image);
      if (topic.changed.size > 0) {
        changedPartitions.set(
          topicId,
          [...topic.changed].map((p) => image.partitions[p] as PartitionImage),
        );
      }
      if (topic.configsChanged === true) changedConfigs.push(image.name);
    }
    const image = new MetadataImage(
      new Map(this.brokers),
      byName,
      byId,
      this.offset,
      this.brokerConfigs ?? this.base.brokerConfigs,
    );
    const changes: MetadataChanges = {
      isReload: false,
      changedBrokers: [...this.changedBrokers],
      createdTopics,
      deletedTopics,
      changedPartitions,
      changedConfigs,
    };
    return { image, changes };
  }

  private mutableTopic(topicId: string): MutableTopic {
    const existing = this.topics.get(topicId);
    if (existing !== undefined && existing !== null) return existing;
    const base = this.base.topicsById.get(topicId);
    if (base === undefined || existing === null) {
      assert(false, `metadata record for unknown topic id ${topicId}`);
    }
    const copy: MutableTopic = {
      name: base.name,
      topicId,
      partitions: [...base.partitions],
      configs: new Map(base.configs),
      changed: new Set(),
      created: false,
    };
    this.topics.set(topicId, copy);
    return copy;
  }

  private mutableTopicByName(name: string): MutableTopic {
    for (const [topicId, topic] of this.topics) {
      if (topic !== null && topic.name === name) return this.mutableTopic(topicId);
    }
    const base = this.base.topicsByName.get(name);
    assert(base !== undefined, `config record for unknown topic ${name}`);
    return this.mutableTopic(base.topicId);
  }
}

interface MutableTopic {
  name: string;
  topicId: string;
  partitions: PartitionImage[];
  configs: Map<string, string>;
  changed: Set<number>;
  created: boolean;
  configsChanged?: boolean;
}

/**
 * The records that rebuild `image` when replayed onto the empty image: what a metadata snapshot
 * holds. Every fact of the image is in them (fenced state as an UnfenceBrokerRecord after the
 * registration; partitions with their epochs as full PartitionRecords).
 */
export function imageToRecords(image: MetadataImage): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  // Canonical order (by id), so two nodes with the same image write the same bytes: a map's
  // insertion order depends on how entries were batched into deltas.
  const brokers = [...image.brokers.values()].sort((a, b) => a.brokerId - b.brokerId);
  const topics = [...image.topicsById.values()].sort((a, b) =>
    a.topicId < b.topicId ? -1 : a.topicId > b.topicId ? 1 : 0,
  );
  for (const broker of brokers) {
    const { fenced, ...registration } = broker;
    records.push({ type: 'RegisterBrokerRecord', version: 1, ...registration });
    if (!fenced) {
      records.push({
        type: 'UnfenceBrokerRecord',
        version: 1,
        brokerId: broker.brokerId,
        brokerEpoch: broker.brokerEpoch,
      });
    }
  }
  const byName = ([a]: [string, unknown], [b]: [string, unknown]): number =>
    a < b ? -1 : a > b ? 1 : 0;
  for (const [resource, entries] of [...image.brokerConfigs].sort(byName)) {
    for (const [name, value] of [...entries].sort(byName)) {
      records.push(brokerConfigRecord(resource, name, value));
    }
  }
  for (const topic of topics) {
    records.push({ type: 'TopicRecord', version: 1, name: topic.name, topicId: topic.topicId });
    const configs = [...topic.configs].sort(byName);
    for (const [name, value] of configs) records.push(topicConfigRecord(topic.name, name, value));
    for (const partition of topic.partitions) {
      const version = isReassigning(partition) ? 2 : 1;
      records.push({ type: 'PartitionRecord', version, topicId: topic.topicId, ...partition });
    }
  }
  return records;
}

/**
 * `before` with `record` applied. Replay derives the epochs: leaderEpoch + 1 when the record
 * sets the leader, partitionEpoch + 1 always.
 */
export function applyPartitionChange(
  before: PartitionImage,
  record: PartitionChangeRecord,
): PartitionImage {
  return withReassignment(
    {
      partition: before.partition,
      replicas: record.replicas ?? before.replicas,
      isr: record.isr ?? before.isr,
      leader: record.leader ?? before.leader,
      leaderEpoch: record.leader === null ? before.leaderEpoch : before.leaderEpoch + 1,
      partitionEpoch: before.partitionEpoch + 1,
    },
    record.addingReplicas ?? before.addingReplicas ?? [],
    record.removingReplicas ?? before.removingReplicas ?? [],
  );
}

/** The partition with the reassignment lists set when non-empty, and absent otherwise. */
function withReassignment(
  partition: Omit<PartitionImage, 'addingReplicas' | 'removingReplicas'>,
  adding: readonly number[],
  removing: readonly number[],
): PartitionImage {
  if (adding.length === 0 && removing.length === 0) return partition;
  return { ...partition, addingReplicas: adding, removingReplicas: removing };
}
