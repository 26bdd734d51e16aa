/**
 * The uniform assignor when every member subscribes to the same topics (Kafka's
 * UniformHomogeneousAssignmentBuilder). With P partitions in total and N members, `extra` =
 * P mod N members get a quota of floor(P/N) + 1 and the rest floor(P/N).
 *
 * Movement is minimal: a member keeps min(previous, quota) of its previous partitions, so the
 * partitions that change owner number sum(max(0, previous - quota)). That sum is smallest when
 * the larger quotas go to members that had more than floor(P/N) before (each such member then
 * keeps one partition more), which is how quotas are handed out below. The remaining partitions
 * fill the free places round-robin over members by memberId, so with no previous target flat
 * partition i goes to member i mod N and every topic is balanced on its own too.
 */
import { assert } from '../../util/assert.js';
import { NO_OWNER, type GroupLayout } from './layout.js';

/** Flat partition -> member index. `previousOwners` is only read. */
export function homogeneousOwnersOf(layout: GroupLayout, previousOwners: Int32Array): Int32Array {
  const memberCount = layout.members.length;
  assert(memberCount > 0, 'an empty group has nothing to assign');
  const quotas = quotasOf(layout.partitionCount, memberCount, previousOwners);
  const owners = Int32Array.from(previousOwners);
  const keptCounts = new Int32Array(memberCount);
  const unassigned: number[] = [];
  // Keeping the lowest flat partitions of an over-quota member is arbitrary but deterministic.
  for (let g = 0; g < owners.length; g++) {
    const m = owners[g] ?? NO_OWNER;
    if (m !== NO_OWNER && (keptCounts[m] ?? 0) < (quotas[m] ?? 0)) {
      keptCounts[m] = (keptCounts[m] ?? 0) + 1;
    } else {
      owners[g] = NO_OWNER;
      unassigned.push(g);
    }
  }
  const freeCounts = quotas.map((quota, m) => quota - (keptCounts[m] ?? 0));
  fillRoundRobin(owners, unassigned, freeCounts);
  return owners;
}

/** Per member: floor(P/N), plus one for `P mod N` members chosen to keep the most partitions. */
function quotasOf(
  partitionCount: number,
  memberCount: number,
  previousOwners: Int32Array,
): Int32Array {
  const quotaMin = Math.floor(partitionCount / memberCount);
  let extraCount = partitionCount % memberCount;
  const previousCounts = new Int32Array(memberCount);
  for (const m of previousOwners) {
    if (m !== NO_OWNER) previousCounts[m] = (previousCounts[m] ?? 0) + 1;
  }
  const quotas = new Int32Array(memberCount).fill(quotaMin);
  for (let m = 0; m < memberCount && extraCount > 0; m++) {
    if ((previousCounts[m] ?? 0) > quotaMin) {
      quotas[m] = quotaMin + 1;
      extraCount--;
    }
  }
  // Whoever gets the leftover extras receives new partitions either way; by memberId.
  for (let m = 0; m < memberCount && extraCount > 0; m++) {
    if (quotas[m] === quotaMin) {
      quotas[m] = quotaMin + 1;
      extraCount--;
    }
  }
  assert(extraCount === 0, 'every extra partition has a member');
  return quotas;
}

/**
 * Hands `unassigned` (ascending flat partitions) out in rounds: each round gives one partition
 * to every member, by index, that still has a free place. Consecutive partitions of one topic
 * so land on consecutive members.
 */
function fillRoundRobin(
  owners: Int32Array,
  unassigned: readonly number[],
  freeCounts: Int32Array,
): void {
  let active: number[] = [];
  freeCounts.forEach((free, m) => {
    assert(free >= 0, 'a member kept more than its quota');
    if (free > 0) active.push(m);
  });
  let next = 0;
  for (let round = 1; active.length > 0; round++) {
    const stillFree: number[] = [];
    for (const m of active) {
      const g = unassigned[next++];
      assert(g !== undefined, 'more free places than unassigned partitions');
      owners[g] = m;
      if ((freeCounts[m] ?? 0) > round) stillFree.push(m);
    }
    active = stillFree;
  }
  assert(next === unassigned.length, 'fewer free places than unassigned partitions');
}
