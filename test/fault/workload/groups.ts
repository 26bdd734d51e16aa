/**
 * The consumer group workload: producers send unique values with acks=all, as in the queue
 * workload (common.ts); the members of one consumer group (group-member.ts, one process each,
 * member-0..member-N) consume the topic, each reporting its assignments, revocations and losses
 * with the times they took effect, every record it processed, and its commits; an observer reads
 * the group's committed offsets every OBSERVE_INTERVAL_MS. Meanwhile the nemesis acts on the
 * brokers and a seeded client chaos (member-chaos.ts) kills members, pauses them past their
 * session timeout, and makes them leave and join again.
 *
 * After healing, the final phase waits until the members together have consumed every
 * partition up to its high watermark as of the end of production, reads the committed offsets,
 * stops the members gracefully (they revoke and commit), and reads the committed offsets again.
 * group-checker.ts judges the history: no two members owning a partition at once, nothing
 * handed out without ownership, committed offsets never going back, every acknowledged record
 * delivered.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Admin } from '../../../src/client/index.js';
import { AvailabilityChecker } from '../checker/availability.js';
import type { Checker } from '../checker/checker.js';
import { GroupAnomaly, GroupChecker } from '../checker/group-checker.js';
import type { CommittedValue } from '../history.js';
import type { SecondsRange } from '../nemesis/schedule.js';
import {
  createTopic,
  describe,
  endOffset,
  forkRng,
  pause,
  REQUEST_TIMEOUT_MS,
  runProducer,
} from './common.js';
import { drawChaos, type ChaosKind } from './member-chaos.js';
import { MemberProcess } from './member-process.js';
import type { MemberEvent, MemberSettings } from './member-protocol.js';
import type { Workload, WorkloadContext } from './workload.js';

export interface GroupsOptions {
  readonly topic: string;
  readonly groupId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  readonly uncleanLeaderElection: boolean;
  readonly acks: 'all' | 'leader';
  readonly producers: number;
  /** Pause between one producer's sends, ms. */
  readonly sendIntervalMs: number;
  readonly members: number;
  /** The members' session timeout, ms (the brokers' heartbeat interval is a fraction of it). */
  readonly sessionTimeoutMs: number;
  /** Client chaos to draw from; empty: none. */
  readonly memberChaos: readonly ChaosKind[];
  /** Seconds without client chaos before each action. */
  readonly chaosQuietS: SecondsRange;
  /** after: at-least-once members; before: at-most-once (the negative control). */
  readonly memberCommit: 'after' | 'before';
}

/** How often the observer reads the committed offsets. */
const OBSERVE_INTERVAL_MS = 500;
/** How often an at-least-once member commits what it processed. */
const COMMIT_INTERVAL_MS = 250;
/** How long an at-most-once member processes a record after committing it. */
const PROCESS_LAG_MS = 2_000;
/** Members heartbeat this often (the brokers' group.consumer.heartbeat.interval.ms). */
const HEARTBEAT_INTERVAL_MS = 500;
/** Partitions of __consumer_offsets: few, so that coordinators move with the nemesis's faults. */
const OFFSETS_TOPIC_PARTITIONS = 3;
/** A leave (close: revoke, commit, leave heartbeat) takes at most the SDK's 30 s, and then some. */
const LEAVE_TIMEOUT_MS = 35_000;
/** A member asked to stop itself does so at once; after this long the harness stops it. */
const FREEZE_TIMEOUT_MS = 2_000;
/** A member that died by itself is started again after this long. */
const RESTART_DELAY_MS = 1_000;
/** How often the final phase looks at the members' progress, and logs it. */
const PROGRESS_CHECK_MS = 250;
const PROGRESS_LOG_MS = 10_000;

export class GroupsWorkload implements Workload {
  readonly name = 'groups';
  readonly lossAnomalies: readonly string[] = [GroupAnomaly.UNDELIVERED];
  private readonly members: MemberProcess[] = [];
  /** Per partition, the highest offset any member has handed out; -1: none. */
  private readonly consumedEnd: number[];
  /** Members are started again when they die by themselves, until the final phase ends. */
  private isActive = false;
  /** A harness that exits (Ctrl-C) takes its members along, paused ones included. */
  private readonly onExit = (): void => {
    for (const member of this.members) member.killSync();
  };

  constructor(private readonly options: GroupsOptions) {
    this.consumedEnd = Array.from({ length: options.partitions }, () => -1);
  }

  get topic(): string {
    return this.options.topic;
  }

  get serverArgs(): readonly string[] {
    return [
      '--offsets-topic-num-partitions',
      String(OFFSETS_TOPIC_PARTITIONS),
      '--group-consumer-heartbeat-interval-ms',
      String(HEARTBEAT_INTERVAL_MS),
    ];
  }

  async setup(context: WorkloadContext): Promise<void> {
    await createTopic(context, { ...this.options, name: this.options.topic });
    const logDir = path.join(context.runDir, 'members');
    await mkdir(logDir, { recursive: true });
    process.once('exit', this.onExit);
    for (let i = 0; i < this.options.members; i++) {
      this.members.push(this.memberProcess(context, `member-${i}`, logDir));
    }
    context.log(
      `group ${this.options.groupId}: ${this.options.members} members, session ` +
        `${this.options.sessionTimeoutMs} ms, commit ${this.options.memberCommit} processing, ` +
        `chaos ${this.options.memberChaos.join(',') || 'none'}`,
    );
  }

  async run(context: WorkloadContext, stop: AbortSignal): Promise<void> {
    this.isActive = true;
    for (const member of this.members) member.start();
    const clients = [
      ...Array.from({ length: this.options.producers }, (_, i) =>
        runProducer(context, `producer-${i}`, this.options, stop),
      ),
      this.observe(context, stop),
      this.chaos(context, stop),
    ];
    await Promise.all(clients);
    for (const member of this.members) member.heal();
  }

  async finalRead(context: WorkloadContext, deadlineMs: number): Promise<void> {
    const admin = new Admin({
      bootstrap: [...context.bootstrap],
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    try {
      for (const member of this.members) member.heal();
      const ends: number[] = [];
      for (let partition = 0; partition < this.options.partitions; partition++) {
        ends.push(await endOffset(admin, this.options.topic, partition, deadlineMs));
      }
      context.log(`final phase: members consume up to the high watermarks [${ends.join(', ')}]`);
      await this.waitForConsumers(context, ends, deadlineMs);
      await this.readCommitted(context, admin, 'final', deadlineMs);
      this.isActive = false;
      await Promise.all(this.members.map((member) => member.stop(LEAVE_TIMEOUT_MS)));
      context.log('members stopped');
      await this.readCommitted(context, admin, 'final', deadlineMs);
    } finally {
      this.isActive = false;
      await admin.close();
      await this.close();
    }
  }

  checkers(): Checker[] {
    return [new GroupChecker(), new AvailabilityChecker()];
  }

  async close(): Promise<void> {
    this.isActive = false;
    for (const member of this.members) member.detach();
    await Promise.all(this.members.map((member) => member.kill()));
    await Promise.all(this.members.map((member) => member.closeLog()));
    process.off('exit', this.onExit);
  }

  private memberProcess(context: WorkloadContext, name: string, logDir: string): MemberProcess {
    const settings: MemberSettings = {
      name,
      bootstrap: context.bootstrap,
      groupId: this.options.groupId,
      topic: this.options.topic,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      commit: this.options.memberCommit,
      commitIntervalMs: COMMIT_INTERVAL_MS,
      processLagMs: PROCESS_LAG_MS,
    };
    return new MemberProcess({
      settings,
      history: context.history,
      logFile: path.join(logDir, `${name}.log`),
      onEvent: (event) => this.onEvent(event),
      onUnexpectedExit: (member) => {
        setTimeout(() => {
          if (this.isActive) member.start();
        }, RESTART_DELAY_MS);
      },
      log: context.log,
    });
  }

  private onEvent(event: MemberEvent): void {
    if (event.event !== 'consume') return;
    const end = this.consumedEnd[event.partition];
    if (end !== undefined && event.offset > end) this.consumedEnd[event.partition] = event.offset;
  }

  /** The observer: the group's committed offsets, read one at a time. */
  private async observe(context: WorkloadContext, stop: AbortSignal): Promise<void> {
    const admin = new Admin({
      bootstrap: [...context.bootstrap],
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      retries: 2,
    });
    try {
      while (!stop.aborted) {
        await this.readCommitted(context, admin, 'observer');
        await pause(OBSERVE_INTERVAL_MS, stop);
      }
    } finally {
      await admin.close();
    }
  }

  /**
   * One read of the committed offsets, as a `committed` op of `processName`; with a deadline,
   * read again after failures until one succeeds or the deadline passes.
   */
  private async readCommitted(
    context: WorkloadContext,
    admin: Admin,
    processName: string,
    deadlineMs = 0,
  ): Promise<void> {
    const { topic, groupId, partitions } = this.options;
    const asked = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
    for (;;) {
      try {
        const offsets = await admin.fetchOffsets(groupId, asked);
        const pairs = offsets
          .filter((o) => o.topic === topic)
          .map((o) => [o.partition, o.offset] as const)
          .sort(([a], [b]) => a - b);
        context.history.record<'committed', CommittedValue>(processName, 'ok', 'committed', {
          offsets: pairs,
        });
        return;
      } catch (error) {
        context.history.record<'committed', CommittedValue>(processName, 'info', 'committed', {
          offsets: [],
          error: describe(error),
        });
        if (Date.now() >= deadlineMs) return;
        await pause(OBSERVE_INTERVAL_MS);
      }
    }
  }

  /** Client chaos: one seeded action at a time until `stop`, which undoes the one held at once. */
  private async chaos(context: WorkloadContext, stop: AbortSignal): Promise<void> {
    const { memberChaos: kinds, members, chaosQuietS: quietS, sessionTimeoutMs } = this.options;
    if (kinds.length === 0) return;
    const rng = forkRng(context.rng);
    while (!stop.aborted) {
      const step = drawChaos(rng, { kinds, members, quietS, sessionTimeoutMs });
      await pause(step.quietMs, stop);
      const member = this.target(step.member);
      if (stop.aborted || member === null) continue;
      switch (step.kind) {
        case 'crash':
          await member.kill();
          await pause(step.holdMs, stop);
          member.start();
          break;
        case 'pause':
          await member.pause(FREEZE_TIMEOUT_MS);
          await pause(step.holdMs, stop);
          member.resume();
          break;
        case 'leave':
          await member.leave(LEAVE_TIMEOUT_MS);
          await pause(step.holdMs, stop);
          member.join();
          break;
      }
    }
  }

  /**
   * The member a chaos step acts on: the drawn one among the running members that own
   * partitions (acting on a member that owns nothing, say one just restarted, shows little),
   * else among all running ones; null when none runs.
   */
  private target(drawn: number): MemberProcess | null {
    const running = this.members.filter((member) => member.state === 'running');
    const owners = running.filter((member) => member.ownedCount > 0);
    const candidates = owners.length > 0 ? owners : running;
    return candidates[drawn % Math.max(1, candidates.length)] ?? null;
  }

  /** Waits until some member has handed out every partition's last offset before `ends`. */
  private async waitForConsumers(
    context: WorkloadContext,
    ends: readonly number[],
    deadlineMs: number,
  ): Promise<void> {
    let loggedAtMs = Date.now();
    for (;;) {
      const behind = ends.flatMap((end, partition) =>
        this.consumedEnd[partition]! + 1 < end
          ? [`p${partition} ${this.consumedEnd[partition]! + 1}/${end}`]
          : [],
      );
      if (behind.length === 0) {
        context.log('final phase: every partition consumed to its high watermark');
        return;
      }
      if (Date.now() >= deadlineMs) {
        context.log(`final phase: deadline passed, still behind: ${behind.join(', ')}`);
        return;
      }
      if (Date.now() - loggedAtMs >= PROGRESS_LOG_MS) {
        loggedAtMs = Date.now();
        context.log(`final phase: behind: ${behind.join(', ')}`);
      }
      await pause(PROGRESS_CHECK_MS);
    }
  }
}
