/**
 * Pure controller handlers for moving a partition's replicas (Kafka's KIP-455).
 *
 * A reassignment names the target replicas of a partition. The controller first makes the
 * replicas the union of target and current (the target first, so the preferred leader is the
 * target's), marking the new ones `adding` and the dropped ones `removing`: the added replicas
 * start fetching from the leader like any follower, and the leader adds each to the ISR once it
 * has caught up (AlterPartition). When every target replica is in the ISR, the reassignment
 * completes in the same metadata change: replicas = target, the ISR loses the removed replicas,
 * and if the leader is one of them, leadership moves to an in-sync target replica. Nothing is
 * removed before its replacement holds every committed record, so acknowledged writes survive a
 * reassignment, and the ISR never drops below the target's in-sync members.
 *
 * Cancelling reassigns to the original replicas: the added ones become the removed ones.
 */
import type { ErrorCode } from '../../errors/index.js';
import {
  isReassigning,
  targetReplicas,
  type MetadataImage,
  type PartitionImage,
} from '../image.js';
import type { PartitionChangeRecord } from '../records.js';
import type { Liveness } from './brokers.js';
import { partitionChange } from './elections.js';
import type { ControllerResult } from './topics.js';

export interface ReassignmentInput {
  readonly topic: string;
  readonly partition: number;
  /** The target replicas, preferred leader first; null cancels the reassignment in progress. */
  readonly replicas: readonly number[] | null;
}

export interface ReassignmentResult {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: ErrorCode;
  readonly errorMessage: string;
}

/** A reassignment in progress, as ListPartitionReassignments reports it. */
export interface ReassignmentStatus {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
}

/**
 * Starts, replaces or cancels reassignments, one PartitionChangeRecord per partition that
 * changes. Each item is checked on its own and answered NONE or:
 * - UNKNOWN_TOPIC_OR_PARTITION: no such topic or partition;
 * - INVALID_REQUEST: the partition is named twice in the call;
 * - INVALID_REPLICA_ASSIGNMENT: the target is empty, names a broker twice or names a broker
 *   that is not registered;
 * - NO_REASSIGNMENT_IN_PROGRESS: a cancel for a partition that is not being reassigned.
 * A target equal to the current replicas (same order) with no reassignment in progress is NONE
 * with no record. A new target for a partition being reassigned replaces the old one, counted
 * from the original replicas.
 */
export function alterPartitionReassignments(
  image: MetadataImage,
  inputs: readonly ReassignmentInput[],
  liveness: Liveness,
): ControllerResult<ReassignmentResult[]> {
  const records: PartitionChangeRecord[] = [];
  const seen = new Set<string>();
  const results = inputs.map((input): ReassignmentResult => {
    const answer = (errorCode: ErrorCode, errorMessage = ''): ReassignmentResult => ({
      topic: input.topic,
      partition: input.partition,
      errorCode,
      errorMessage,
    });
    const where = `${input.topic}-${input.partition}`;
    const key = `${input.topic}\u0000${input.partition}`;
    if (seen.has(key)) return answer('INVALID_REQUEST', `${where} is named twice in one call`);
    seen.add(key);
    const topic = image.topic(input.topic);
    const current = topic?.partitions[input.partition];
    if (topic === undefined || current === undefined) {
      return answer('UNKNOWN_TOPIC_OR_PARTITION', `no partition ${where}`);
    }
    const original = originalReplicas(current);
    let target: readonly number[];
    if (input.replicas === null) {
      if (!isReassigning(current)) {
        return answer('NO_REASSIGNMENT_IN_PROGRESS', `${where} is not being reassigned`);
      }
      target = original;
    } else {
      const problem = targetProblem(image, input.replicas);
      if (problem !== null) return answer('INVALID_REPLICA_ASSIGNMENT', `${where}: ${problem}`);
      target = input.replicas;
    }
    const record = reassign(topic.topicId, current, original, target, liveness);
    if (record !== null) records.push(record);
    return answer('NONE');
  });
  return { records, response: results };
}

/**
 * The change that completes `partition`'s reassignment now that its ISR is `isr`, or null when
 * it cannot yet: a target replica is still out of sync, or no in-sync target replica may lead.
 * AlterPartition calls it with the ISR it is about to write, so the expansion that brings the
 * last target replica in sync also completes the move, in one record.
 */
export function completion(
  topicId: string,
  partition: PartitionImage,
  isr: readonly number[],
  liveness: Liveness,
): PartitionChangeRecord | null {
  if (!isReassigning(partition)) return null;
  const target = targetReplicas(partition);
  const state = completedLeaderAndIsr(target, partition.leader, isr, liveness);
  if (state === null) return null;
  return partitionChange(topicId, partition, {
    ...state,
    replicas: target,
    reassignment: { adding: [], removing: [] },
  });
}

/** Every partition being reassigned, sorted by topic and partition. */
export function listReassignments(image: MetadataImage): ReassignmentStatus[] {
  const statuses: ReassignmentStatus[] = [];
  const topics = [...image.topicsByName.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const topic of topics) {
    for (const partition of topic.partitions) {
      if (!isReassigning(partition)) continue;
      statuses.push({
        topic: topic.name,
        partition: partition.partition,
        replicas: partition.replicas,
        addingReplicas: partition.addingReplicas ?? [],
        removingReplicas: partition.removingReplicas ?? [],
        isr: partition.isr,
        leader: partition.leader,
      });
    }
  }
  return statuses;
}

/** The replicas before the reassignment in progress (the current ones when there is none). */
function originalReplicas(partition: PartitionImage): readonly number[] {
  const adding = partition.addingReplicas ?? [];
  return partition.replicas.filter((r) => !adding.includes(r));
}

function reassign(
  topicId: string,
  current: PartitionImage,
  original: readonly number[],
  target: readonly number[],
  liveness: Liveness,
): PartitionChangeRecord | null {
  // Already in sync (a reorder, a shrink, or a cancel of replicas not yet caught up): done now.
  const done = completedLeaderAndIsr(target, current.leader, current.isr, liveness);
  if (done !== null) {
    return partitionChange(topicId, current, {
      ...done,
      replicas: target,
      reassignment: { adding: [], removing: [] },
    });
  }
  const adding = target.filter((r) => !original.includes(r));
  const removing = current.replicas.filter((r) => !target.includes(r));
  if (adding.length === 0 && removing.length === 0 && !isReassigning(current)) {
    // The same replicas in another order: nothing to copy, only the preferred leader changes.
    return partitionChange(topicId, current, {
      leader: current.leader,
      isr: current.isr,
      replicas: target,
    });
  }
  return partitionChange(topicId, current, {
    leader: current.leader,
    isr: current.isr,
    replicas: [...target, ...removing],
    reassignment: { adding, removing },
  });
}

/**
 * Leader and ISR once the replicas are `target`, or null while a target replica is out of sync
 * or none of the in-sync ones may lead (moving leadership there would take the partition
 * offline). The leader stays when it is an in-sync target replica.
 */
function completedLeaderAndIsr(
  target: readonly number[],
  leader: number,
  isr: readonly number[],
  liveness: Liveness,
): { leader: number; isr: readonly number[] } | null {
  if (!target.every((r) => isr.includes(r))) return null;
  const inSyncTarget = isr.filter((r) => target.includes(r));
  if (inSyncTarget.includes(leader) && liveness.isEligible(leader)) {
    return { leader, isr: inSyncTarget };
  }
  const next = target.find((r) => liveness.isEligible(r));
  return next === undefined ? null : { leader: next, isr: inSyncTarget };
}

function targetProblem(image: MetadataImage, replicas: readonly number[]): string | null {
  if (replicas.length === 0) return 'the target replicas are empty';
  if (new Set(replicas).size !== replicas.length) {
    return `the target replicas [${replicas.join(', ')}] name a broker twice`;
  }
  const unknown = replicas.filter((r) => !image.brokers.has(r));
  if (unknown.length > 0) {
    return `broker(s) ${unknown.join(', ')} are not registered`;
  }
  return null;
}
