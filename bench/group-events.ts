/**
 * The arithmetic of the group benchmark, pure (no I/O, no clock): what each member owns,
 * replayed from the events it reported; whether the group is stable; when a departed member's
 * partitions were taken over by the others, and the summaries over trials; and the consume
 * phases' progress reports added up.
 *
 * Events come from the members' own processes (group-member-child.ts), stamped with their wall
 * clock (Date.now()); the benchmark and every member share the machine's clock, so a kill time
 * taken in the benchmark and a record time taken in a member are comparable.
 */
import { percentileOfSorted } from './floors.js';

/** A member's ownership changed: its callbacks ran for these partitions. */
export interface OwnershipEvent {
  readonly type: 'assigned' | 'revoked' | 'lost';
  readonly partitions: readonly number[];
  readonly atMs: number;
}

/** The first record of a partition the member handed to its loop since it was assigned it. */
export interface FirstRecordEvent {
  readonly type: 'first-record';
  readonly partition: number;
  readonly offset: number;
  readonly atMs: number;
}

export type MemberEvent = OwnershipEvent | FirstRecordEvent;

/** One partition a member owns now, replayed from its events. */
export interface OwnedPartition {
  readonly assignedAtMs: number;
  /** When its first record since that assignment reached the member's loop; null: none yet. */
  readonly firstRecordAtMs: number | null;
}

/**
 * What a member owns after `events` (in the order it reported them): assigned minus revoked
 * and lost, each with when it was assigned and when its first record came.
 */
export function ownedAfter(events: readonly MemberEvent[]): Map<number, OwnedPartition> {
  const owned = new Map<number, OwnedPartition>();
  for (const event of events) {
    switch (event.type) {
      case 'assigned':
        for (const p of event.partitions) {
          owned.set(p, { assignedAtMs: event.atMs, firstRecordAtMs: null });
        }
        break;
      case 'revoked':
      case 'lost':
        for (const p of event.partitions) owned.delete(p);
        break;
      case 'first-record': {
        const current = owned.get(event.partition);
        // A record of a partition the member does not own would be a bug of the SDK's
        // guarantee; it is not counted as consumption here, and the caller never sees it.
        if (current !== undefined && current.firstRecordAtMs === null) {
          owned.set(event.partition, { ...current, firstRecordAtMs: event.atMs });
        }
        break;
      }
    }
  }
  return owned;
}

/** A member as the stability check sees it. */
export interface MemberView {
  readonly name: string;
  readonly events: readonly MemberEvent[];
}

export interface StabilityRequest {
  readonly partitionCount: number;
  /** Every member must also have consumed a record of each partition it owns. */
  readonly requireConsumption: boolean;
}

/**
 * Why the group is not stable yet, or null when it is: every partition owned by exactly one
 * member, each member owning ⌊P/M⌋ or ⌈P/M⌉ of them (what the uniform assignor gives members
 * with one subscription), and, if asked, a record of each owned partition consumed since it
 * was assigned.
 */
export function unstableReason(
  members: readonly MemberView[],
  request: StabilityRequest,
): string | null {
  if (members.length === 0) return 'no members';
  const low = Math.floor(request.partitionCount / members.length);
  const high = Math.ceil(request.partitionCount / members.length);
  const ownerOf = new Map<number, string>();
  for (const member of members) {
    const owned = ownedAfter(member.events);
    if (owned.size < low || owned.size > high) {
      return `${member.name} owns ${owned.size} partitions, not ${low === high ? low : `${low}-${high}`}`;
    }
    for (const [partition, state] of owned) {
      const other = ownerOf.get(partition);
      if (other !== undefined) return `partition ${partition} owned by ${other} and ${member.name}`;
      ownerOf.set(partition, member.name);
      if (request.requireConsumption && state.firstRecordAtMs === null) {
        return `${member.name} has not consumed partition ${partition} yet`;
      }
    }
  }
  for (let p = 0; p < request.partitionCount; p++) {
    if (!ownerOf.has(p)) return `partition ${p} has no owner`;
  }
  return null;
}

/** How one partition of a departed member came to another. */
export interface Takeover {
  readonly partition: number;
  /** The member whose loop got the partition's first record after the departure; null: none. */
  readonly member: string | null;
  /** From the departure to the first onPartitionsAssigned naming it at another member. */
  readonly assignedAfterMs: number | null;
  /** From the departure to the first record of it at another member: the takeover time. */
  readonly consumedAfterMs: number | null;
}

/**
 * For each partition of `partitions` (what the departed member owned at `startMs`), the first
 * assignment and the first record of it at any of `others` at or after `startMs`. A partition
 * nobody consumed yet has nulls. Every other member's events count, however they are ordered.
 */
export function takeovers(
  startMs: number,
  partitions: readonly number[],
  others: readonly MemberView[],
): Takeover[] {
  return partitions.map((partition) => {
    let assignedAtMs: number | null = null;
    let consumedAtMs: number | null = null;
    let member: string | null = null;
    for (const other of others) {
      for (const event of other.events) {
        if (event.atMs < startMs) continue;
        if (event.type === 'assigned' && event.partitions.includes(partition)) {
          if (assignedAtMs === null || event.atMs < assignedAtMs) assignedAtMs = event.atMs;
        } else if (event.type === 'first-record' && event.partition === partition) {
          if (consumedAtMs === null || event.atMs < consumedAtMs) {
            consumedAtMs = event.atMs;
            member = other.name;
          }
        }
      }
    }
    return {
      partition,
      member,
      assignedAfterMs: assignedAtMs === null ? null : assignedAtMs - startMs,
      consumedAfterMs: consumedAtMs === null ? null : consumedAtMs - startMs,
    };
  });
}

/** True once every partition of a departure has been consumed by another member. */
export function isTakenOver(result: readonly Takeover[]): boolean {
  return result.every((t) => t.consumedAfterMs !== null);
}

/** p50 and max of takeover times over partitions and trials, and as multiples of a base. */
export interface TakeoverSummary {
  /** Partitions measured (each departure counts each partition it owned). */
  readonly count: number;
  /** Partitions not taken over within the wait (not in the percentiles). */
  readonly missing: number;
  readonly p50Ms: number | null;
  readonly maxMs: number | null;
  readonly minMs: number | null;
  /** The base the ratios divide by: the session timeout for kills, the heartbeat interval for closes. */
  readonly baseMs: number;
  readonly p50ToBase: number | null;
  readonly maxToBase: number | null;
}

/** Nearest-rank p50 and the max of every partition's takeover time, over all trials. */
export function summarizeTakeovers(
  trials: readonly (readonly Takeover[])[],
  baseMs: number,
): TakeoverSummary {
  const values: number[] = [];
  let count = 0;
  for (const trial of trials) {
    for (const t of trial) {
      count++;
      if (t.consumedAfterMs !== null) values.push(t.consumedAfterMs);
    }
  }
  values.sort((a, b) => a - b);
  const p50 = values.length === 0 ? null : percentileOfSorted(values, 50);
  const max = values.length === 0 ? null : values[values.length - 1]!;
  const ratio = (ms: number | null): number | null =>
    ms === null || baseMs <= 0 ? null : Math.round((ms / baseMs) * 100) / 100;
  return {
    count,
    missing: count - values.length,
    p50Ms: p50,
    maxMs: max,
    minMs: values.length === 0 ? null : values[0]!,
    baseMs,
    p50ToBase: ratio(p50),
    maxToBase: ratio(max),
  };
}

/** The heartbeat interval the coordinator gives a member: the broker's, capped at a third of its session. */
export function effectiveHeartbeatIntervalMs(
  brokerIntervalMs: number,
  sessionTimeoutMs: number,
): number {
  return Math.max(1, Math.min(brokerIntervalMs, Math.floor(sessionTimeoutMs / 3)));
}

/** What one consumer process reported of a consume phase: its latest progress message. */
export interface ConsumeProgress {
  /** Records handed to the loop, per partition (index = partition). */
  readonly counts: readonly number[];
  /** One past the highest offset handed out, per partition; 0 for none. */
  readonly nextOffsets: readonly number[];
  readonly firstAtMs: number | null;
  readonly lastAtMs: number | null;
}

/** Consume progress of several processes together, against the topic's end offsets. */
export interface CombinedProgress {
  /** Every partition read up to its end offset, by one process or another. */
  readonly isDone: boolean;
  /** Records handed out, duplicates included (a partition read twice after a rebalance). */
  readonly records: number;
  /** Distinct records read: Σ over partitions of min(highest next offset, end offset). */
  readonly distinctRecords: number;
  /** The first record any process got, and the last. */
  readonly firstAtMs: number | null;
  readonly lastAtMs: number | null;
}

/**
 * Adds up progress reports. The topic was created empty for the run, so every partition starts
 * at offset 0 and a partition's distinct records are its highest next offset (at most its end).
 */
export function combineProgress(
  reports: readonly ConsumeProgress[],
  endOffsets: readonly number[],
): CombinedProgress {
  let records = 0;
  let distinctRecords = 0;
  let isDone = true;
  let firstAtMs: number | null = null;
  let lastAtMs: number | null = null;
  for (const report of reports) {
    for (const count of report.counts) records += count;
    if (report.firstAtMs !== null && (firstAtMs === null || report.firstAtMs < firstAtMs)) {
      firstAtMs = report.firstAtMs;
    }
    if (report.lastAtMs !== null && (lastAtMs === null || report.lastAtMs > lastAtMs)) {
      lastAtMs = report.lastAtMs;
    }
  }
  for (let p = 0; p < endOffsets.length; p++) {
    let next = 0;
    for (const report of reports) next = Math.max(next, report.nextOffsets[p] ?? 0);
    const end = endOffsets[p]!;
    distinctRecords += Math.min(next, end);
    if (next < end) isDone = false;
  }
  return { isDone, records, distinctRecords, firstAtMs, lastAtMs };
}
