/**
 * AlterPartitionReassignments and ListPartitionReassignments (Kafka's KIP-455). A malformed
 * request is INVALID_ARGUMENT naming the field and changes nothing; the controller checks each
 * partition on its own (UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT, ...), and the
 * answer comes once the records are durable. Listing reads the answering node's metadata.
 */
import { limits } from '../../config/index.js';
import { InvalidArgumentError } from '../../errors/index.js';
import { listReassignments, type MetadataService } from '../../metadata/index.js';
import type {
  AlterPartitionReassignmentsRequest__Output,
  AlterPartitionReassignmentsResponse,
  ListPartitionReassignmentsRequest__Output,
  ListPartitionReassignmentsResponse,
} from '../../proto/index.js';
import { requireCount, requireInt, requireNonEmpty } from '../validate.js';

const NODE_ID_MAX = 2 ** 31 - 1;
/** More replicas than any sane replication factor; bounds the work one item can ask for. */
const REPLICAS_MAX = 64;

export async function alterPartitionReassignments(
  metadata: MetadataService,
  request: AlterPartitionReassignmentsRequest__Output,
): Promise<AlterPartitionReassignmentsResponse> {
  requireCount(request.partitions, 'partitions', limits.partitionsPerTopicMax, 1);
  const inputs = request.partitions.map((p, i) => {
    const field = `partitions[${i}]`;
    requireNonEmpty(p.topic, `${field}.topic`);
    requireInt(p.partition, `${field}.partition`, 0, limits.partitionsPerTopicMax - 1);
    if (p.cancel) {
      if (p.replicas.length > 0) {
        throw new InvalidArgumentError(`${field}.replicas`, 'must be empty with cancel');
      }
      return { topic: p.topic, partition: p.partition, replicas: null };
    }
    requireCount(p.replicas, `${field}.replicas`, REPLICAS_MAX, 1);
    p.replicas.forEach((r, j) => requireInt(r, `${field}.replicas[${j}]`, 0, NODE_ID_MAX));
    return { topic: p.topic, partition: p.partition, replicas: p.replicas };
  });
  const results = await metadata.alterPartitionReassignments(inputs);
  return {
    results: results.map((r) => ({ ...r })),
    metadataOffset: Math.max(0, metadata.image().offset),
  };
}

export function listPartitionReassignments(
  metadata: MetadataService,
  request: ListPartitionReassignmentsRequest__Output,
): ListPartitionReassignmentsResponse {
  requireCount(request.topics, 'topics', limits.adminTopicsMax, 0);
  request.topics.forEach((t, i) => requireNonEmpty(t, `topics[${i}]`));
  const wanted = new Set(request.topics);
  return {
    reassignments: listReassignments(metadata.image())
      .filter((r) => wanted.size === 0 || wanted.has(r.topic))
      .map((r) => ({
        topic: r.topic,
        partition: r.partition,
        replicas: [...r.replicas],
        addingReplicas: [...r.addingReplicas],
        removingReplicas: [...r.removingReplicas],
        isr: [...r.isr],
        leaderId: r.leader,
      })),
  };
}
