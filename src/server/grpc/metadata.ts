/**
 * Metadata and DescribeCluster: straight from the current metadata image, plus, for
 * DescribeCluster, the Raft quorum as this node sees it.
 */
import { limits } from '../../config/index.js';
import type { MetadataService, TopicImage } from '../../metadata/index.js';
import type {
  DescribeClusterResponse,
  MetadataRequest__Output,
  MetadataResponse,
  TopicMetadata,
} from '../../proto/index.js';
import { requireCount, requireNonEmpty } from '../validate.js';
import { describeQuorum, type QuorumSource } from './quorum.js';

export function metadata(
  service: MetadataService,
  clusterId: string,
  request: MetadataRequest__Output,
): MetadataResponse {
  requireCount(request.topics, 'topics', limits.adminTopicsMax);
  request.topics.forEach((t, i) => requireNonEmpty(t, `topics[${i}]`));
  const image = service.image();
  const brokers = [...image.brokers.values()]
    .filter((b) => !b.fenced)
    .map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack }));
  const topics: TopicMetadata[] =
    request.topics.length === 0
      ? [...image.topicsByName.values()]
          .sort((a, b) => a.name.localeCompare(b.name))
          .map(describeTopic)
      : request.topics.map((name) => {
          const topic = image.topic(name);
          return topic === undefined
            ? {
                name,
                topicId: '',
                errorCode: 'UNKNOWN_TOPIC_OR_PARTITION',
                isInternal: false,
                partitions: [],
              }
            : describeTopic(topic);
        });
  return { clusterId, controllerId: service.controllerId(), brokers, topics };
}

function describeTopic(topic: TopicImage): TopicMetadata {
  return {
    name: topic.name,
    topicId: topic.topicId,
    errorCode: 'NONE',
    isInternal: topic.name.startsWith('__'),
    partitions: topic.partitions.map((p) => ({
      partition: p.partition,
      errorCode: p.leader < 0 ? 'LEADER_NOT_AVAILABLE' : 'NONE',
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicas: [...p.replicas],
      isr: [...p.isr],
    })),
  };
}

export function describeCluster(
  service: MetadataService,
  clusterId: string,
  quorum: QuorumSource,
): DescribeClusterResponse {
  const brokers = [...service.image().brokers.values()]
    .sort((a, b) => a.brokerId - b.brokerId)
    .map((b) => ({
      nodeId: b.brokerId,
      host: b.host,
      port: b.port,
      rack: b.rack,
      fenced: b.fenced,
    }));
  // The active controller is the Raft leader, as this node knows it (-1 during an election).
  return {
    clusterId,
    controllerId: service.controllerId(),
    brokers,
    quorum: describeQuorum(quorum.status(), quorum.applied()),
  };
}
