/**
 * Partition leader election and the record that states a partition change, for the pure
 * controller handlers (Kafka's PartitionChangeBuilder, without ELR and leader recovery).
 *
 * Invariants every handler keeps with these helpers, for every partition:
 * - the leader is -1 or an ISR member, and the ISR is a non-empty subset of the replicas;
 * - a clean election only picks an ISR member: every ISR member holds every committed record,
 *   so no acknowledged write is lost;
 * - the ISR never becomes empty: its last member stays in it when it fails, so that it can lead
 *   again when it returns (it is the only replica known to hold every committed record).
 */
import { assert } from '../../util/assert.js';
import type { PartitionImage } from '../image.js';
import type { PartitionChangeRecord } from '../records.js';

/** Leader -1: the partition has no leader (offline). */
export const NO_LEADER = -1;

/** The outcome of an election: the new leader (or NO_LEADER) and the ISR to go with it. */
export interface LeaderAndIsr {
  readonly leader: number;
  readonly isr: readonly number[];
}

/**
 * Elects a leader for `partition` without looking at its current leader (callers elect when
 * the leader is gone or must move; pass an `isEligible` that refuses the broker leaving).
 *
 * 1. Clean: the first replica, in REPLICA order (so the preferred leader wins when it can), that
 *    is in the ISR and eligible. The ISR is returned unchanged.
 * 2. Unclean, only when `isUncleanEnabled`: the first eligible replica in replica order, with
 *    ISR = [it]. This can lose committed records: the new leader may lack records the ISR
 *    acknowledged, and the other replicas truncate to its log when they follow it.
 * 3. Otherwise leader NO_LEADER and the ISR unchanged, so the ISR members can lead on return.
 *
 * Pure; the returned ISR is either `partition.isr` itself or a new array.
 */
export function electLeader(
  partition: PartitionImage,
  isEligible: (brokerId: number) => boolean,
  isUncleanEnabled: boolean,
): LeaderAndIsr {
  assert(partition.isr.length > 0, `partition ${partition.partition} has a non-empty ISR`);
  for (const replica of partition.replicas) {
    if (partition.isr.includes(replica) && isEligible(replica)) {
      return { leader: replica, isr: partition.isr };
    }
  }
  if (isUncleanEnabled) {
    for (const replica of partition.replicas) {
      if (isEligible(replica)) return { leader: replica, isr: [replica] };
    }
  }
  return { leader: NO_LEADER, isr: partition.isr };
}

/**
 * The PartitionChangeRecord that turns `before` into `after`, with only the changed fields set
 * (null: unchanged), or null when nothing changes. ISRs and replica lists compare as sequences.
 * Replay derives the epochs: leaderEpoch + 1 when the leader is set, partitionEpoch + 1 always.
 * `after` must keep the invariants in the module comment (asserted).
 */
export function partitionChange(
  topicId: string,
  before: PartitionImage,
  after: {
    leader: number;
    isr: readonly number[];
    replicas?: readonly number[];
    /** The reassignment's lists after the change; absent: as before. */
    reassignment?: { adding: readonly number[]; removing: readonly number[] };
  },
): PartitionChangeRecord | null {
  const replicas = after.replicas ?? before.replicas;
  const adding = after.reassignment?.adding ?? before.addingReplicas ?? [];
  const removing = after.reassignment?.removing ?? before.removingReplicas ?? [];
  assert(
    [...adding, ...removing].every((b) => replicas.includes(b)) &&
      adding.every((b) => !removing.includes(b)),
    `partition ${before.partition}: adding [${adding.join()}] and removing [${removing.join()}] are distinct replicas of [${replicas.join()}]`,
  );
  assert(after.isr.length > 0, `partition ${before.partition}: the ISR is never empty`);
  assert(
    after.isr.every((b) => replicas.includes(b)),
    `partition ${before.partition}: ISR [${after.isr.join()}] within [${replicas.join()}]`,
  );
  assert(
    after.leader === NO_LEADER || after.isr.includes(after.leader),
    `partition ${before.partition}: leader ${after.leader} is in ISR [${after.isr.join()}]`,
  );
  const isIsrChanged = !sameSequence(before.isr, after.isr);
  const isLeaderChanged = before.leader !== after.leader;
  const isReplicasChanged = !sameSequence(before.replicas, replicas);
  const isReassignmentChanged =
    !sameSequence(before.addingReplicas ?? [], adding) ||
    !sameSequence(before.removingReplicas ?? [], removing);
  if (!isIsrChanged && !isLeaderChanged && !isReplicasChanged && !isReassignmentChanged) {
    return null;
  }
  const change = {
    type: 'PartitionChangeRecord',
    version: 1,
    topicId,
    partition: before.partition,
    isr: isIsrChanged ? [...after.isr] : null,
    leader: isLeaderChanged ? after.leader : null,
    replicas: isReplicasChanged ? [...replicas] : null,
  } as const;
  if (!isReassignmentChanged) return change;
  // Version 2 only when it says something a release without reassignments could not apply.
  return { ...change, version: 2, addingReplicas: [...adding], removingReplicas: [...removing] };
}

/** True when `a` and `b` hold the same numbers in the same order. */
function sameSequence(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
