/**
 * The consume phases of the group benchmark, against the running cluster: the single
 * assign-based Consumer (the yardstick) and the group of members, each in child processes
 * (group-members.ts), and the wait for a stable group that the failover trials share.
 *
 * A consume phase is timed from the first record any consumer's loop got to the last record
 * of the topic (each consumer stamps its records with its own wall clock): set-up (assign and
 * seek, or joining the group and getting partitions) is outside it, as in `bench consume`.
 */
import { Admin } from '../src/client/index.js';
import {
  combineProgress,
  ownedAfter,
  unstableReason,
  type CombinedProgress,
  type ConsumeProgress,
} from './group-events.js';
import { MemberProcess, pause, waitUntil, type MemberChildConfig } from './group-members.js';
import type { GroupBenchOptions } from './group-options.js';
import { ProgressLine, startCpuMeterOfSets, type CpuByProcesses, type Counter } from './measure.js';

/** The members' auto-commit interval: the SDK's default, passed explicitly (STYLE.md §8). */
export const AUTO_COMMIT_INTERVAL_MS = 5_000;
/** How often the stability check asks the coordinator, at most. */
const STABLE_POLL_MS = 50;

/** What every phase needs to know about the cluster and the topic. */
export interface GroupContext {
  readonly options: GroupBenchOptions;
  readonly bootstrap: string;
  readonly brokerPids: readonly number[];
  readonly topic: string;
  /** Per partition, the offset after its last preloaded record. */
  readonly endOffsets: readonly number[];
}

/** One consume phase: what the consumers reported together, and the CPU over it. */
export interface ConsumeRun {
  readonly combined: CombinedProgress;
  /** When the consumers were told to start reading (wall clock, just before). */
  readonly goAtMs: number;
  /** Sets: `consumers` (the child processes), `brokers`. */
  readonly cpu: CpuByProcesses | null;
}

/** A member's share of the group's consume phase. */
export interface MemberShare {
  readonly name: string;
  readonly pid: number;
  readonly partitions: readonly number[];
  readonly records: number;
  /** Its first and last record, in ms after the members were told to start reading. */
  readonly firstRecordMs: number | null;
  readonly lastRecordMs: number | null;
  /**
   * Ownership changes while the phase ran (a stable group has none; one here means a rebalance,
   * and records read twice), in ms after the start of reading.
   */
  readonly changes: readonly {
    readonly type: string;
    readonly partitions: readonly number[];
    readonly afterMs: number;
  }[];
}

export interface GroupConsumeRun extends ConsumeRun {
  /** From starting the member processes to a stable group (before any record is read). */
  readonly formationMs: number;
  readonly coordinatorId: number;
  readonly members: readonly MemberShare[];
}

const NO_PROGRESS: ConsumeProgress = {
  counts: [],
  nextOffsets: [],
  firstAtMs: null,
  lastAtMs: null,
};

/**
 * A consumer child's settings. `waitForGo`: a consume phase's (it reads on go(), up to the end
 * offsets, with the consume session timeout); otherwise a failover member (it reads at once,
 * with the failover session timeout).
 */
export function memberConfig(
  ctx: GroupContext,
  mode: 'group' | 'single',
  name: string,
  groupId: string,
  waitForGo: boolean,
): MemberChildConfig {
  return {
    mode,
    name,
    bootstrap: ctx.bootstrap,
    groupId,
    topic: ctx.topic,
    partitionCount: ctx.options.partitionCount,
    sessionTimeoutMs: waitForGo
      ? ctx.options.consumeSessionTimeoutMs
      : ctx.options.sessionTimeoutMs,
    autoCommitIntervalMs: AUTO_COMMIT_INTERVAL_MS,
    waitForGo,
    endOffsets: waitForGo ? ctx.endOffsets : null,
  };
}

/** The yardstick: one Consumer in one child process, every partition, from earliest. */
export async function measureSingle(
  ctx: GroupContext,
  label: string,
  deadlineMs: number,
): Promise<ConsumeRun> {
  const child = await MemberProcess.start(memberConfig(ctx, 'single', 'single', '', true));
  try {
    return await consumeWith([child], ctx, label, deadlineMs);
  } finally {
    await child.stop();
  }
}

/**
 * The group: `memberCount` members start and join; once the group is stable (every member
 * owning its share, the coordinator agreeing) they all start reading, from earliest.
 */
export async function measureGroupConsume(
  ctx: GroupContext,
  groupId: string,
  deadlineMs: number,
): Promise<GroupConsumeRun> {
  const startMs = Date.now();
  const members = await startMembers(ctx, groupId, 1, true);
  try {
    const coordinatorId = await waitForStable(ctx.bootstrap, groupId, members, {
      partitionCount: ctx.options.partitionCount,
      requireConsumption: false,
      deadlineMs,
    });
    const formationMs = Date.now() - startMs;
    const run = await consumeWith(members, ctx, 'group consume', deadlineMs);
    const since = (atMs: number | null | undefined): number | null =>
      atMs == null ? null : atMs - run.goAtMs;
    const shares = members.map((m) => ({
      name: m.name,
      pid: m.pid,
      partitions: [...ownedAfter(m.events).keys()].sort((a, b) => a - b),
      records: (m.progress?.counts ?? []).reduce((sum, n) => sum + n, 0),
      firstRecordMs: since(m.progress?.firstAtMs),
      lastRecordMs: since(m.progress?.lastAtMs),
      changes: m.events.flatMap((e) =>
        e.type !== 'first-record' && e.atMs >= run.goAtMs
          ? [{ type: e.type, partitions: e.partitions, afterMs: e.atMs - run.goAtMs }]
          : [],
      ),
    }));
    return { ...run, formationMs, coordinatorId, members: shares };
  } finally {
    await Promise.all(members.map((m) => m.stop()));
  }
}

/**
 * Starts `memberCount` members named m<first>, m<first + 1>, ...; if one fails to start, stops
 * the others and throws.
 */
export async function startMembers(
  ctx: GroupContext,
  groupId: string,
  first: number,
  waitForGo: boolean,
): Promise<MemberProcess[]> {
  const started = await Promise.allSettled(
    Array.from({ length: ctx.options.memberCount }, (_, i) =>
      MemberProcess.start(memberConfig(ctx, 'group', `m${first + i}`, groupId, waitForGo)),
    ),
  );
  const members: MemberProcess[] = [];
  let failure: unknown = null;
  for (const result of started) {
    if (result.status === 'fulfilled') members.push(result.value);
    else failure ??= result.reason;
  }
  if (failure !== null) {
    await Promise.all(members.map((m) => m.stop()));
    throw failure;
  }
  return members;
}

/** Starts every consumer reading and waits until the topic is read to its end offsets. */
async function consumeWith(
  consumers: readonly MemberProcess[],
  ctx: GroupContext,
  label: string,
  deadlineMs: number,
): Promise<ConsumeRun> {
  const { options, endOffsets } = ctx;
  const counter: Counter = { count: 0 };
  const combine = (): CombinedProgress =>
    combineProgress(
      consumers.map((c) => c.progress ?? NO_PROGRESS),
      endOffsets,
    );
  const progress = new ProgressLine(label, counter, options.recordCount, options.recordBytes);
  let cpu: CpuByProcesses | null = null;
  let goAtMs = Date.now();
  try {
    const meter = await startCpuMeterOfSets({
      consumers: consumers.map((c) => c.pid),
      brokers: ctx.brokerPids,
    });
    goAtMs = Date.now();
    for (const consumer of consumers) consumer.go();
    await waitUntil(
      () => {
        const combined = combine();
        counter.count = combined.distinctRecords;
        return combined.isDone || consumers.some((c) => !c.isAlive);
      },
      deadlineMs,
      consumers.map((c) => c.waiters),
    );
    cpu = await meter();
  } finally {
    progress.stop();
  }
  const dead = consumers.find((c) => !c.isAlive);
  if (dead !== undefined) {
    throw new Error(
      `consumer ${dead.name} exited during ${label}: ${dead.errors[0] ?? 'no error reported'}`,
    );
  }
  return { combined: combine(), goAtMs, cpu };
}

export interface StableRequest {
  readonly partitionCount: number;
  /** Every member must also have consumed a record of each partition it owns. */
  readonly requireConsumption: boolean;
  readonly deadlineMs: number;
}

/**
 * Waits until the group is stable: by the members' own callbacks (unstableReason()), and by
 * the coordinator (DescribeGroups: exactly these members, each "stable", nothing pending
 * revocation). Resolves with the coordinator's node id; throws with the last reason at the
 * deadline, or when a member process is gone.
 */
export async function waitForStable(
  bootstrap: string,
  groupId: string,
  members: readonly MemberProcess[],
  request: StableRequest,
): Promise<number> {
  const admin = new Admin({ bootstrap, requestTimeoutMs: 2_000 });
  let reason = 'not checked yet';
  try {
    while (Date.now() < request.deadlineMs) {
      const dead = members.find((m) => !m.isAlive);
      if (dead !== undefined)
        throw new Error(`member ${dead.name} exited: ${dead.errors[0] ?? 'no error reported'}`);
      reason =
        unstableReason(
          members.map((m) => m.view()),
          request,
        ) ?? 'coordinator';
      if (reason === 'coordinator') {
        const answer = await coordinatorView(admin, groupId, members);
        if (answer.reason === null) return answer.coordinatorId;
        reason = answer.reason;
      }
      await pause(
        Math.min(STABLE_POLL_MS, request.deadlineMs - Date.now()),
        members.map((m) => m.waiters),
      );
    }
  } finally {
    await admin.close();
  }
  throw new Error(`the group did not become stable in time: ${reason}`);
}

/** Why the coordinator does not see the group stable with exactly `members`, or null. */
async function coordinatorView(
  admin: Admin,
  groupId: string,
  members: readonly MemberProcess[],
): Promise<{ reason: string | null; coordinatorId: number }> {
  const [description] = await admin.describeGroups([groupId]).catch(() => [undefined]);
  if (description === undefined) return { reason: 'DescribeGroups failed', coordinatorId: -1 };
  const coordinatorId = description.coordinatorId;
  if (description.error !== undefined) {
    return { reason: `DescribeGroups: ${description.error.message}`, coordinatorId };
  }
  const ids = new Set(members.map((m) => m.memberId));
  if (description.members.length !== members.length) {
    return {
      reason: `the coordinator lists ${description.members.length} members, not ${members.length}`,
      coordinatorId,
    };
  }
  for (const member of description.members) {
    if (!ids.has(member.memberId)) {
      return { reason: `the coordinator lists member ${member.memberId}, not ours`, coordinatorId };
    }
    if (member.state !== 'stable' || member.pendingRevocation.length > 0) {
      return { reason: `member ${member.clientId} is ${member.state}`, coordinatorId };
    }
  }
  return { reason: null, coordinatorId };
}
