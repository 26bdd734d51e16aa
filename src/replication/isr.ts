/**
 * The ISR rules of a partition leader, pure (STYLE.md §2): which replicas count for the high
 * watermark, when a follower is caught up, and which ISR change to ask the controller for.
 * Kafka's Partition.scala and KIP-497 are the model.
 */

/** A follower as its leader tracks it, from the follower's fetches. */
export interface FollowerProgress {
  readonly replicaId: number;
  /** The follower's log end offset: the offset of its last fetch; -1 before any. */
  readonly logEndOffset: number;
  /** When the follower was last known to have reached the leader's log end. */
  readonly lastCaughtUpMs: number;
}

/**
 * High watermark = the smallest log end offset over the ISR, the leader's included. While an
 * ISR change is pending the caller passes the larger of the two sets (KIP-497's maximal ISR),
 * so a record counts as committed only once every replica of either set has it.
 */
export function highWatermarkOf(
  leaderId: number,
  leaderEndOffset: number,
  isr: ReadonlySet<number>,
  followers: ReadonlyMap<number, FollowerProgress>,
): number {
  let hw = leaderEndOffset;
  for (const replicaId of isr) {
    if (replicaId === leaderId) continue;
    const end = followers.get(replicaId)?.logEndOffset ?? -1;
    // A member that has not fetched yet holds the watermark where it is.
    if (end < 0) return -1;
    if (end < hw) hw = end;
  }
  return hw;
}

/**
 * When a follower last caught up, after a fetch at `fetchOffset` (Kafka's rule): at the leader's
 * log end now, it is caught up now; at or past the end the leader had when it answered the
 * previous fetch, it was caught up as of that previous fetch.
 */
export function caughtUpAfterFetch(
  previous: { lastCaughtUpMs: number; lastFetchMs: number; leaderEndAtLastFetch: number },
  fetchOffset: number,
  leaderEndOffset: number,
  nowMs: number,
): number {
  if (fetchOffset >= leaderEndOffset) return nowMs;
  if (fetchOffset >= previous.leaderEndAtLastFetch) return previous.lastFetchMs;
  return previous.lastCaughtUpMs;
}

/** ISR members (other than the leader) that have not caught up within `lagTimeMaxMs`. */
export function laggingMembers(
  leaderId: number,
  isr: ReadonlySet<number>,
  followers: ReadonlyMap<number, FollowerProgress>,
  nowMs: number,
  lagTimeMaxMs: number,
): number[] {
  const lagging: number[] = [];
  for (const replicaId of isr) {
    if (replicaId === leaderId) continue;
    const progress = followers.get(replicaId);
    const since = progress?.lastCaughtUpMs ?? -Infinity;
    if (nowMs - since > lagTimeMaxMs) lagging.push(replicaId);
  }
  return lagging;
}

/**
 * Replicas outside the ISR that may join it: caught up to the high watermark and to the start
 * of the leader's current epoch (so they hold everything this leader committed).
 */
export function joinableReplicas(
  replicas: readonly number[],
  isr: ReadonlySet<number>,
  followers: ReadonlyMap<number, FollowerProgress>,
  highWatermark: number,
  leaderEpochStartOffset: number,
): number[] {
  const joinable: number[] = [];
  for (const replicaId of replicas) {
    if (isr.has(replicaId)) continue;
    const end = followers.get(replicaId)?.logEndOffset ?? -1;
    if (end >= highWatermark && end >= leaderEpochStartOffset) joinable.push(replicaId);
  }
  return joinable;
}
