/**
 * The node's group coordinator: one CoordinatorShard per partition of __consumer_offsets this
 * node leads, created when it takes the leadership and closed the moment it resigns. Routes a
 * group's calls to its shard, or answers where the group's coordinator is.
 */
import type { Logger } from 'pino';
import type { GroupSettings } from '../config/index.js';
import { BrokerError, type LeaderHint } from '../errors/index.js';
import type { CreateTopicInput, MetadataImage, MetadataService } from '../metadata/index.js';
import type { PartitionLeader } from '../replication/index.js';
import { OFFSETS_TOPIC, partitionForGroup } from './coordinator-key.js';
import { CoordinatorShard } from './coordinator-shard.js';

export interface GroupCoordinatorOptions {
  readonly nodeId: number;
  readonly settings: GroupSettings;
  readonly metadata: MetadataService;
  /** min.insync.replicas of a topic now (its config over the broker default). */
  readonly minInsyncReplicas: (topicName: string) => number;
  /** This node's leader state of a partition, if it leads it now. */
  readonly leaderOf: (topicId: string, partition: number) => PartitionLeader | undefined;
  readonly now: () => number;
  /** Whether this broker's controller lease holds (BrokerSession.holdsLease). */
  readonly leaseHeld: () => boolean;
  /** How long a new coordinator waits out its predecessor's lease before removing members. */
  readonly takeoverDelayMs: number;
  readonly logger: Logger;
}

/** Where a group's coordinator is. */
export interface CoordinatorLocation {
  readonly partition: number;
  readonly nodeId: number;
  readonly address: string;
}

export class GroupCoordinator {
  private readonly shards = new Map<number, CoordinatorShard>();
  private isClosed = false;
  private creating: Promise<void> | null = null;

  constructor(private readonly options: GroupCoordinatorOptions) {}

  /** ReplicaManager's hook: this node now leads `leader`'s partition in a new leader epoch. */
  onLeader(leader: PartitionLeader): void {
    if (this.isClosed) return;
    const topic = this.options.metadata.image().topicsById.get(leader.topicId);
    if (topic?.name !== OFFSETS_TOPIC) return;
    this.startShard(leader);
  }

  /** The shard serving `groupId`; throws the error a client should get when there is none. */
  shardFor(groupId: string): CoordinatorShard {
    const image = this.options.metadata.image();
    const topic = image.topic(OFFSETS_TOPIC);
    if (topic === undefined) {
      throw new BrokerError(
        'COORDINATOR_NOT_AVAILABLE',
        `${OFFSETS_TOPIC} does not exist yet; FindCoordinator creates it`,
      );
    }
    const partition = partitionForGroup(groupId, topic.partitions.length);
    const shard = this.shards.get(partition);
    if (shard !== undefined && shard.state !== 'closed') return shard;
    const leader = topic.partitions[partition]?.leader ?? -1;
    if (leader === this.options.nodeId) {
      throw new BrokerError(
        'COORDINATOR_LOAD_IN_PROGRESS',
        `node ${this.options.nodeId} is becoming the coordinator of group "${groupId}"; retry shortly`,
      );
    }
    if (leader < 0) {
      throw new BrokerError(
        'COORDINATOR_NOT_AVAILABLE',
        `${OFFSETS_TOPIC}-${partition}, which holds group "${groupId}", has no leader right now`,
      );
    }
    throw new BrokerError(
      'NOT_COORDINATOR',
      `node ${this.options.nodeId} is not the coordinator of group "${groupId}"; node ${leader} is`,
      hintOf(image, leader),
    );
  }

  /** Shards that serve now, for ListGroups. Loading ones are counted apart. */
  localShards(): { active: CoordinatorShard[]; loading: number } {
    const active: CoordinatorShard[] = [];
    let loading = 0;
    for (const shard of this.shards.values()) {
      if (shard.state === 'active') active.push(shard);
      else if (shard.state !== 'closed') loading++;
    }
    return { active, loading };
  }

  /**
   * Where `groupId`'s coordinator is. Creates __consumer_offsets on first use; throws
   * COORDINATOR_NOT_AVAILABLE while the partition has no leader yet, or while this node lacks
   * its controller lease.
   */
  async locate(groupId: string): Promise<CoordinatorLocation> {
    if (!this.options.leaseHeld()) {
      // Its metadata may be stale (cut off from the controller): a client asks another node.
      throw new BrokerError(
        'COORDINATOR_NOT_AVAILABLE',
        `node ${this.options.nodeId} has not heard from the controller within broker.session.timeout.ms, so its metadata may be stale; ask another node`,
      );
    }
    let image = this.options.metadata.image();
    if (image.topic(OFFSETS_TOPIC) === undefined) {
      await this.createOffsetsTopic();
      image = this.options.metadata.image();
    }
    const topic = image.topic(OFFSETS_TOPIC);
    if (topic === undefined) {
      throw new BrokerError(
        'COORDINATOR_NOT_AVAILABLE',
        `${OFFSETS_TOPIC} is being created; retry shortly`,
      );
    }
    const partition = partitionForGroup(groupId, topic.partitions.length);
    const leader = topic.partitions[partition]?.leader ?? -1;
    const hint = leader < 0 ? null : hintOf(image, leader);
    if (hint === null) {
      throw new BrokerError(
        'COORDINATOR_NOT_AVAILABLE',
        `${OFFSETS_TOPIC}-${partition}, which holds group "${groupId}", has no leader right now; retry shortly`,
      );
    }
    return { partition, nodeId: hint.nodeId, address: hint.address };
  }

  close(): void {
    this.isClosed = true;
    for (const shard of this.shards.values()) shard.close();
    this.shards.clear();
  }

  private startShard(leader: PartitionLeader): void {
    const partition = leader.partition;
    this.shards.get(partition)?.close();
    const shard = new CoordinatorShard({
      partition,
      log: leader.log,
      leader,
      settings: this.options.settings,
      minInsyncReplicas: () => this.options.minInsyncReplicas(OFFSETS_TOPIC),
      topics: () => topicCounts(this.options.metadata.image()),
      topicIdOf: (name) => this.options.metadata.image().topic(name)?.topicId,
      now: this.options.now,
      leaseHeld: this.options.leaseHeld,
      takeoverDelayMs: this.options.takeoverDelayMs,
      logger: this.options.logger,
      onFailed: (failed) => this.restart(failed, leader),
    });
    this.shards.set(partition, shard);
    leader.resigned.addEventListener(
      'abort',
      () => {
        if (this.shards.get(partition) === shard) this.shards.delete(partition);
      },
      { once: true },
    );
  }

  /** Replays a failed shard's partition into a new shard, while this node still leads it. */
  private restart(failed: CoordinatorShard, leader: PartitionLeader): void {
    // After the appends in flight have settled, so the replay sees their outcome.
    void leader.log.settle().then(() => {
      if (this.isClosed || leader.resigned.aborted) return;
      if (this.shards.get(failed.partition) !== failed) return;
      failed.close();
      this.startShard(leader);
    });
  }

  private createOffsetsTopic(): Promise<void> {
    this.creating ??= this.create().finally(() => {
      this.creating = null;
    });
    return this.creating;
  }

  private async create(): Promise<void> {
    const { settings, metadata } = this.options;
    const image = metadata.image();
    const liveBrokers = [...image.brokers.values()].filter((b) => !b.fenced).length;
    const replicationFactor =
      settings.offsetsTopicReplicationFactor === -1
        ? Math.max(1, Math.min(3, liveBrokers))
        : settings.offsetsTopicReplicationFactor;
    const input: CreateTopicInput = {
      name: OFFSETS_TOPIC,
      partitions: settings.offsetsTopicPartitions,
      replicationFactor,
      configs: new Map([['cleanup.policy', 'compact']]),
    };
    const [result] = await metadata.createTopics([input], false);
    if (
      result === undefined ||
      result.errorCode === 'NONE' ||
      result.errorCode === 'TOPIC_ALREADY_EXISTS'
    ) {
      if (result?.errorCode === 'NONE') {
        this.options.logger.info(
          { partitions: settings.offsetsTopicPartitions, replicationFactor },
          `created ${OFFSETS_TOPIC}`,
        );
      }
      return;
    }
    throw new BrokerError(
      'COORDINATOR_NOT_AVAILABLE',
      `could not create ${OFFSETS_TOPIC} (${result.errorCode}: ${result.errorMessage}); check offsets.topic.replication.factor against the live brokers`,
    );
  }
}

/** Every topic with its partition count. */
export function topicCounts(image: MetadataImage): Map<string, number> {
  const counts = new Map<string, number>();
  for (const topic of image.topicsById.values()) counts.set(topic.name, topic.partitions.length);
  return counts;
}

function hintOf(image: MetadataImage, nodeId: number): LeaderHint | null {
  const broker = image.brokers.get(nodeId);
  return broker === undefined ? null : { nodeId, address: `${broker.host}:${broker.port}` };
}
