/**
 * Pure controller handler for AlterPartition (KIP-497): a partition leader asks to change the
 * partition's ISR. The leader computes the new ISR from its followers' progress; the controller
 * checks that the request still speaks for the current leadership and partition state, and
 * that every member it adds may join, then writes one PartitionChangeRecord. The leader treats
 * the change as done only once it sees the record (or the answer, sent after it commits).
 */
import type { ErrorCode } from '../../errors/index.js';
import { assert } from '../../util/assert.js';
import { applyPartitionChange, type MetadataImage, type PartitionImage } from '../image.js';
import type { Liveness } from './brokers.js';
import { NO_LEADER, partitionChange } from './elections.js';
import { completion } from './reassignments.js';
import type { ControllerResult } from './topics.js';

export interface AlterPartitionInput {
  /** The partition leader asking. */
  readonly brokerId: number;
  /** Its registration epoch. */
  readonly brokerEpoch: number;
  readonly topicId: string;
  readonly partition: number;
  /** The leader epoch the leader leads in. */
  readonly leaderEpoch: number;
  /** The partition epoch the proposed ISR was computed from. */
  readonly partitionEpoch: number;
  /** The proposed ISR; must contain the leader. */
  readonly newIsr: readonly number[];
}

/**
 * The outcome, and the partition's state after the call (after the record applies when there
 * is one). When the partition does not exist the state is leader -1, epochs -1 and an empty ISR.
 */
export interface AlterPartitionResponse {
  readonly errorCode: ErrorCode;
  readonly errorMessage: string;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  /** A new array the caller owns (it goes into the gRPC answer as is). */
  readonly isr: number[];
}

/**
 * Checks the request in this order and answers the first failure, with no records:
 * - STALE_BROKER_EPOCH: the broker is unknown or `brokerEpoch` is not its registration's;
 * - UNKNOWN_TOPIC_OR_PARTITION: no such topic id or partition;
 * - FENCED_LEADER_EPOCH: `leaderEpoch` is not the current one (older: a new leader was elected;
 *   newer cannot happen, since the active controller's image is the newest state);
 * - NOT_LEADER_OR_FOLLOWER: the broker is not the partition's leader;
 * - INVALID_UPDATE_VERSION: `partitionEpoch` is not the current one (the ISR changed since the
 *   leader computed its proposal);
 * - INVALID_REQUEST: `newIsr` is empty, has duplicates, lacks the leader or names a broker that
 *   is not a replica;
 * - INELIGIBLE_REPLICA: a member the proposal adds (not in the current ISR) is not eligible.
 *   Members already in the ISR may stay even if ineligible: removing them is the leader's call.
 * A proposal with the same members as the current ISR (in any order) succeeds with no record;
 * any other valid one is one PartitionChangeRecord that sets the ISR (partitionEpoch + 1, the
 * leader epoch unchanged).
 */
export function alterPartition(
  image: MetadataImage,
  input: AlterPartitionInput,
  liveness: Liveness,
): ControllerResult<AlterPartitionResponse> {
  const fail = (
    errorCode: ErrorCode,
    errorMessage: string,
    state: PartitionImage | undefined,
  ): ControllerResult<AlterPartitionResponse> => ({
    records: [],
    response: { errorCode, errorMessage, ...stateOf(state) },
  });
  const broker = image.brokers.get(input.brokerId);
  if (broker === undefined || broker.brokerEpoch !== input.brokerEpoch) {
    const registered = broker === undefined ? 'no registration' : `epoch ${broker.brokerEpoch}`;
    const message = `broker ${input.brokerId} sent epoch ${input.brokerEpoch}; the controller has ${registered}`;
    return fail('STALE_BROKER_EPOCH', message, undefined);
  }
  const topic = image.topicsById.get(input.topicId);
  const current = topic?.partitions[input.partition];
  if (topic === undefined || current === undefined) {
    const message = `no partition ${input.partition} of topic id ${input.topicId}`;
    return fail('UNKNOWN_TOPIC_OR_PARTITION', message, undefined);
  }
  const where = `partition ${topic.name}-${input.partition}`;
  if (input.leaderEpoch !== current.leaderEpoch) {
    const relation = input.leaderEpoch < current.leaderEpoch ? 'older than' : 'newer than';
    const message = `${where}: leader epoch ${input.leaderEpoch} is ${relation} the current ${current.leaderEpoch}`;
    return fail('FENCED_LEADER_EPOCH', message, current);
  }
  if (current.leader !== input.brokerId) {
    const message = `${where}: broker ${input.brokerId} is not the leader (${current.leader} is)`;
    return fail('NOT_LEADER_OR_FOLLOWER', message, current);
  }
  if (input.partitionEpoch !== current.partitionEpoch) {
    const message = `${where}: partition epoch ${input.partitionEpoch} is not the current ${current.partitionEpoch}`;
    return fail('INVALID_UPDATE_VERSION', message, current);
  }
  const isrProblem = checkIsr(input.newIsr, current);
  if (isrProblem !== null) return fail('INVALID_REQUEST', `${where}: ${isrProblem}`, current);
  const ineligible = input.newIsr.filter(
    (b) => !current.isr.includes(b) && !liveness.isEligible(b),
  );
  if (ineligible.length > 0) {
    const message = `${where}: broker(s) ${ineligible.join(', ')} cannot join the ISR: not registered, fenced or shutting down`;
    return fail('INELIGIBLE_REPLICA', message, current);
  }
  if (isSameMembers(current.isr, input.newIsr)) {
    return { records: [], response: { errorCode: 'NONE', errorMessage: '', ...stateOf(current) } };
  }
  // The expansion that brings the last target replica in sync completes a reassignment.
  const completed = completion(input.topicId, current, input.newIsr, liveness);
  if (completed !== null) {
    const applied = applyPartitionChange(current, completed);
    return {
      records: [completed],
      response: { errorCode: 'NONE', errorMessage: '', ...stateOf(applied) },
    };
  }
  const record = partitionChange(input.topicId, current, {
    leader: current.leader,
    isr: input.newIsr,
  });
  assert(record !== null && record.leader === null, 'an ISR change that keeps the leader');
  const after: PartitionImage = {
    ...current,
    isr: [...input.newIsr],
    partitionEpoch: current.partitionEpoch + 1,
  };
  return {
    records: [record],
    response: { errorCode: 'NONE', errorMessage: '', ...stateOf(after) },
  };
}

/** Null when `newIsr` is a well-formed ISR for `partition` under its current leader. */
function checkIsr(newIsr: readonly number[], partition: PartitionImage): string | null {
  if (newIsr.length === 0) return 'the proposed ISR is empty';
  if (new Set(newIsr).size !== newIsr.length) {
    return `the proposed ISR [${newIsr.join(', ')}] names a broker twice`;
  }
  if (!newIsr.includes(partition.leader)) {
    return `the proposed ISR [${newIsr.join(', ')}] lacks the leader ${partition.leader}`;
  }
  const outside = newIsr.filter((b) => !partition.replicas.includes(b));
  if (outside.length > 0) {
    return `broker(s) ${outside.join(', ')} are not replicas [${partition.replicas.join(', ')}]`;
  }
  return null;
}

function isSameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((member) => b.includes(member));
}

function stateOf(
  partition: PartitionImage | undefined,
): Omit<AlterPartitionResponse, 'errorCode' | 'errorMessage'> {
  if (partition === undefined) {
    return { leader: NO_LEADER, leaderEpoch: -1, partitionEpoch: -1, isr: [] };
  }
  return {
    leader: partition.leader,
    leaderEpoch: partition.leaderEpoch,
    partitionEpoch: partition.partitionEpoch,
    isr: [...partition.isr],
  };
}
