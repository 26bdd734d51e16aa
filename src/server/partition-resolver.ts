/**
 * Maps (topic, partition) to the local partition log this node leads, or to the Kafka error a
 * client should see. Handlers go through here and never assume one node: when another node
 * leads, the answer is NOT_LEADER_OR_FOLLOWER with that leader's address.
 */
import { BrokerError, type LeaderHint } from '../errors/index.js';
import type { PartitionLog } from '../log/index.js';
import type { MetadataService, PartitionImage, TopicImage } from '../metadata/index.js';
import type { PartitionLeader } from '../replication/index.js';

export interface ResolvedPartition {
  readonly topic: TopicImage;
  readonly partition: PartitionImage;
  readonly log: PartitionLog;
  /** This node's leader state for the partition, in the image's leader epoch. */
  readonly leader: PartitionLeader;
}

export class PartitionResolver {
  constructor(
    private readonly nodeId: number,
    private readonly metadata: MetadataService,
    private readonly localLeader: (
      topicId: string,
      partition: number,
    ) => PartitionLeader | undefined,
  ) {}

  topic(name: string): TopicImage {
    const topic = this.metadata.image().topic(name);
    if (topic === undefined) {
      throw new BrokerError('UNKNOWN_TOPIC_OR_PARTITION', `topic "${name}" does not exist`);
    }
    return topic;
  }

  /** Throws BrokerError when the partition is unknown, leaderless or led elsewhere. */
  leader(topicName: string, partitionIndex: number): ResolvedPartition {
    const topic = this.topic(topicName);
    const partition = topic.partitions[partitionIndex];
    if (partition === undefined) {
      throw new BrokerError(
        'UNKNOWN_TOPIC_OR_PARTITION',
        `topic "${topicName}" has partitions 0..${topic.partitions.length - 1}, not ${partitionIndex}`,
      );
    }
    if (partition.leader < 0) {
      throw new BrokerError(
        'LEADER_NOT_AVAILABLE',
        `${topicName}-${partitionIndex} has no leader right now`,
      );
    }
    if (partition.leader !== this.nodeId) {
      throw new BrokerError(
        'NOT_LEADER_OR_FOLLOWER',
        `node ${this.nodeId} does not lead ${topicName}-${partitionIndex}; node ${partition.leader} does`,
        this.hint(partition.leader),
      );
    }
    const leader = this.localLeader(topic.topicId, partitionIndex);
    if (leader?.leaderEpoch !== partition.leaderEpoch) {
      // The image says we lead it but the replica has not taken the role in this epoch yet:
      // the broker is still applying the change. Retriable, like Kafka's answer while a
      // partition is loading.
      throw new BrokerError(
        'LEADER_NOT_AVAILABLE',
        `${topicName}-${partitionIndex} is still becoming leader on node ${this.nodeId}`,
      );
    }
    return { topic, partition, log: leader.log, leader };
  }

  /**
   * The address of the partition's leader when another live broker leads it, else null (this
   * node leads it, it is unknown, leaderless, or its leader is not a registered broker).
   */
  remoteLeaderAddress(topicName: string, partitionIndex: number): string | null {
    const partition = this.metadata.image().partition(topicName, partitionIndex);
    if (partition === undefined || partition.leader < 0 || partition.leader === this.nodeId) {
      return null;
    }
    return this.hint(partition.leader)?.address ?? null;
  }

  private hint(nodeId: number): LeaderHint | null {
    const broker = this.metadata.image().brokers.get(nodeId);
    return broker === undefined ? null : { nodeId, address: `${broker.host}:${broker.port}` };
  }
}
