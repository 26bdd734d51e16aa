/**
 * Planning a drain: the reassignments that move every replica off some brokers (before they are
 * removed from the cluster), for `brook brokers drain` or any other caller of the SDK. Pure: the
 * caller reads the brokers and partitions (Admin.describeCluster, Admin.metadata) and submits
 * the plan (Admin.alterPartitionReassignments).
 *
 * Each drained replica is replaced in place, so a partition keeps its replication factor and the
 * order of its other replicas; a drained preferred leader (replicas[0]) is replaced by the new
 * preferred leader. The replacement is a live broker (unfenced, not drained) that the partition
 * does not already name, chosen by, in order:
 *   1. the drained broker's rack, when it has one and a candidate shares it (so the partition
 *      keeps its spread over racks);
 *   2. the fewest replicas so far, counting every partition given and the choices made earlier
 *      in the same plan;
 *   3. the lowest id.
 * Partitions are visited by topic name, then partition number, so the same input always gives
 * the same plan.
 */
import type { PartitionReassignment } from './admin.js';

/** A broker as the planner needs it (DescribeCluster has these). */
export interface DrainBroker {
  readonly nodeId: number;
  /** Rack (availability zone); empty for none. */
  readonly rack: string;
  readonly fenced: boolean;
}

/** A partition and its replicas, preferred leader first. */
export interface DrainPartition {
  readonly topic: string;
  readonly partition: number;
  /**
   * The replicas the partition is meant to have: for a partition being reassigned, its target
   * (Admin.listPartitionReassignments: replicas without the removing ones).
   */
  readonly replicas: readonly number[];
}

/** The moves, one per partition that names a drained broker; or why there is no plan. */
export type DrainPlan =
  | { readonly ok: true; readonly reassignments: readonly PartitionReassignment[] }
  | { readonly ok: false; readonly error: string };

/**
 * The reassignments that take every replica off the `drained` brokers. Partitions that name none
 * of them are left out; an empty list means there is nothing to move. When a partition has no
 * possible replacement (every live broker already holds a replica of it, or no live broker is
 * left), the answer is an error naming that partition, and how many others share the problem.
 * Ids in `drained` that no broker or partition names are ignored. Returns new arrays; the inputs
 * are not modified.
 */
export function planDrain(
  brokers: readonly DrainBroker[],
  partitions: readonly DrainPartition[],
  drained: readonly number[],
): DrainPlan {
  const isDrained = new Set(drained);
  const rackOf = new Map(brokers.map((b) => [b.nodeId, b.rack]));
  const live = brokers
    .filter((b) => !b.fenced && !isDrained.has(b.nodeId))
    .map((b) => b.nodeId)
    .sort((a, b) => a - b);
  const load = new Map<number, number>(live.map((id) => [id, 0]));
  for (const p of partitions) {
    for (const r of p.replicas) {
      const count = load.get(r);
      if (count !== undefined) load.set(r, count + 1);
    }
  }
  const ordered = [...partitions].sort((a, b) =>
    a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition,
  );
  const reassignments: PartitionReassignment[] = [];
  const stuck: string[] = [];
  for (const p of ordered) {
    if (!p.replicas.some((r) => isDrained.has(r))) continue;
    const target = [...p.replicas];
    for (let i = 0; i < target.length; i++) {
      const replaced = target[i] as number;
      if (!isDrained.has(replaced)) continue;
      const candidates = live.filter((id) => !target.includes(id));
      const choice = leastLoaded(candidates, rackOf.get(replaced) ?? '', rackOf, load);
      if (choice === null) break;
      target[i] = choice;
      load.set(choice, (load.get(choice) ?? 0) + 1);
    }
    if (target.some((r) => isDrained.has(r))) {
      stuck.push(`${p.topic}-${p.partition}`);
      continue;
    }
    reassignments.push({ topic: p.topic, partition: p.partition, replicas: target });
  }
  if (stuck.length === 0) return { ok: true, reassignments };
  const others = stuck.length > 1 ? ` (and ${stuck.length - 1} more partition(s) like it)` : '';
  const first = stuck[0] as string;
  if (live.length === 0) {
    return {
      ok: false,
      error: `no live broker is left to take ${first}'s replicas${others}: every unfenced broker is being drained; start a broker first`,
    };
  }
  return {
    ok: false,
    error: `${first} already has a replica on every other live broker (${live.join(',')})${others}; add a broker or lower the replication factor`,
  };
}

/** The candidate to choose (see the module comment), or null when there is none. */
function leastLoaded(
  candidates: readonly number[],
  rack: string,
  rackOf: ReadonlyMap<number, string>,
  load: ReadonlyMap<number, number>,
): number | null {
  const sameRack = rack === '' ? [] : candidates.filter((id) => rackOf.get(id) === rack);
  const pool = sameRack.length > 0 ? sameRack : candidates;
  let best: number | null = null;
  for (const id of pool) {
    if (best === null) {
      best = id;
      continue;
    }
    const difference = (load.get(id) ?? 0) - (load.get(best) ?? 0);
    if (difference < 0 || (difference === 0 && id < best)) best = id;
  }
  return best;
}
