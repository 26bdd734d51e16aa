/**
 * The member side of Kafka's newer consumer group protocol (KIP-848), as a pure state machine:
 * no sockets, timers, clock or randomness (time comes in as `nowMs`, backoff from an injected
 * function). GroupConsumer (group-consumer.ts) drives it: it sends the heartbeats this machine
 * builds, feeds their answers back, runs the tasks it hands out (user callbacks and their I/O)
 * one at a time, and fetches only the partitions `isDeliverable` allows.
 *
 * The loop:
 *   pollHeartbeat(now) -> a request when one is due (at most one in flight)
 *   onHeartbeatAnswer / onHeartbeatFailure -> new epoch, new target assignment, backoff
 *   task() -> at most one of: revoke (announced partitions the target no longer lists),
 *             assign (partitions the target added), lost (after fencing); revocations always
 *             come before assignments
 *   taskDone(task) -> revoked partitions leave `owned`, and the next heartbeat goes at once
 *   tick(now) -> self-fencing once no answer came for the session timeout
 *
 * Partition sets (keys `partition:topic`):
 * - owned: what heartbeats report. Every partition an answer listed, until its revocation is
 *   done (the coordinator gives a partition to another member only once it is gone from here).
 * - announced: partitions whose onPartitionsAssigned ran and whose onPartitionsRevoked or
 *   onPartitionsLost has not finished. announced ⊆ owned, except while lost partitions wait for
 *   their callback.
 * - target: the latest answer's assignment.
 * A partition is deliverable iff it is announced, owned, in the target, not being revoked, and
 * the member is neither fenced nor leaving: records of any other partition are never handed out.
 *
 * Lost: UNKNOWN_MEMBER_ID or FENCED_MEMBER_EPOCH, a commit refused for those reasons, or no
 * answer for the session timeout (the coordinator has given the partitions to others by then).
 * Ownership ends at once (owned is cleared, nothing is deliverable, nothing can be committed),
 * then the lost task runs the callback, then the member joins again with epoch 0 and the same
 * member id. Answers to heartbeats sent before the loss are ignored (`generation`).
 *
 * When ownership ended (`ownershipEndMs`), for the callbacks: the driver hands out no record
 * past the session deadline, so a loss noticed late (a paused process resuming) ended ownership
 * at that deadline, not when it was noticed; a revocation, when its task starts, or earlier at
 * the deadline or a pending loss.
 */

/** A topic-partition. */
export interface MemberPartition {
  readonly topic: string;
  readonly partition: number;
}

/** What the member subscribes to: topic names, or one regular expression (its source). */
export interface MemberSubscription {
  readonly topicNames: readonly string[];
  readonly topicRegex: string;
}

export interface MembershipSettings {
  readonly memberId: string;
  readonly clientId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** '' for the group's current assignor. */
  readonly serverAssignor: string;
  /** Wait before heartbeat retry number `attempt` (0 for the first) after failures. */
  readonly backoffMs: (attempt: number) => number;
  /** Leave heartbeats tried before giving up on a clean leave (the session then expires). */
  readonly leaveAttemptsMax: number;
}

/**
 * - idle: not subscribed yet, no heartbeats;
 * - joining: epoch 0, the join is due or in flight;
 * - member: joined (epoch > 0);
 * - fenced: lost its partitions; the lost task runs, then it joins again;
 * - leaving: close() asked: revoke everything, then the leave heartbeat (epoch -1);
 * - left: done;
 * - failed: a fatal error (e.g. INVALID_SESSION_TIMEOUT); no more heartbeats.
 */
export type MemberPhase = 'idle' | 'joining' | 'member' | 'fenced' | 'leaving' | 'left' | 'failed';

export type TaskKind = 'assign' | 'revoke' | 'lost';

/** Work for the driver; the same object is returned by task() until taskDone(it). */
export interface MembershipTask {
  readonly kind: TaskKind;
  /** Sorted by topic, then partition. */
  readonly partitions: readonly MemberPartition[];
}

/** A heartbeat to send, shaped as GroupHeartbeatRequest minus group_id. */
export interface HeartbeatRequestFields {
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly subscription?: MemberSubscription;
  readonly ownedPartitions: { topic: string; partitions: number[] }[];
  readonly ownedPartitionsSet: boolean;
  readonly clientId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly serverAssignor: string;
}

export interface OutgoingHeartbeat {
  /** Pass back with the answer or failure. */
  readonly seq: number;
  readonly request: HeartbeatRequestFields;
}

/** The fields of a GroupHeartbeatResponse the machine reads. */
export interface HeartbeatAnswer {
  /** 'NONE' or a Kafka error code name. */
  readonly errorCode: string;
  /** The answer's error (null for NONE); a fatal one becomes `fatalError`. */
  readonly error: unknown;
  /** Whether another heartbeat after a backoff may succeed (a coordinator move, a timeout). */
  readonly retriable: boolean;
  readonly memberEpoch: number;
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
  readonly assignment: readonly {
    readonly topic: string;
    readonly partitions: readonly number[];
  }[];
}

/** Why a heartbeat got no usable answer. */
export interface HeartbeatFailure {
  readonly retriable: boolean;
  readonly error: unknown;
}

/** Answer codes after which the member has lost its partitions and joins again. */
const FENCING_CODES: ReadonlySet<string> = new Set(['UNKNOWN_MEMBER_ID', 'FENCED_MEMBER_EPOCH']);

interface InFlight {
  readonly seq: number;
  readonly generation: number;
  readonly sentAtMs: number;
  readonly isLeave: boolean;
  /** The subscription version the request carried, or -1 when it carried none. */
  readonly subscriptionVersion: number;
}

/** `partition:topic`, as consumer.ts keys partitions. */
export function partitionKey(tp: MemberPartition): string {
  return `${tp.partition}:${tp.topic}`;
}

/** Sorted by topic, then partition. */
export function sortPartitions(partitions: Iterable<MemberPartition>): MemberPartition[] {
  return [...partitions].sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  );
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`group membership invariant: ${message}`);
}

export class GroupMembership {
  private phaseNow: MemberPhase = 'idle';
  private epoch = 0;
  private generationNow = 0;
  private subscription: MemberSubscription | null = null;
  private subscriptionVersion = 0;
  private subscriptionAckedVersion = -1;
  private readonly owned = new Map<string, MemberPartition>();
  private readonly announced = new Map<string, MemberPartition>();
  /** The latest answer's assignment; null before the first answer of a generation. */
  private target: ReadonlySet<string> | null = null;
  private current: MembershipTask | null = null;
  private lostPending = false;
  /** While lostPending: when ownership ended (the loss, or the session deadline before it). */
  private lostAtMs = 0;
  private inflight: InFlight | null = null;
  private seq = 0;
  /** When the heartbeat behind the latest successful answer was sent; null: none this generation. */
  private lastAckSentMs: number | null = null;
  private heartbeatIntervalMs = 0;
  private sessionTimeoutMs: number;
  private nextHeartbeatAtMs = 0;
  private isHeartbeatNow = false;
  private failures = 0;
  private leaveAttempts = 0;
  /** Whether any heartbeat was ever sent, so a leave is worth sending. */
  private hasSent = false;
  private failure: unknown = null;
  private answers = 0;
  private versionNow = 0;

  constructor(private readonly settings: MembershipSettings) {
    check(settings.memberId !== '', 'a member id is required');
    this.sessionTimeoutMs = settings.sessionTimeoutMs;
  }

  get phase(): MemberPhase {
    return this.phaseNow;
  }

  /** The epoch to send: 0 while joining. */
  get memberEpoch(): number {
    return this.epoch;
  }

  /** Bumped on every loss; commits and answers from an older generation are ignored. */
  get generation(): number {
    return this.generationNow;
  }

  /** Successful heartbeat answers so far (a commit refused as stale waits for the next one). */
  get answerCount(): number {
    return this.answers;
  }

  /** Bumped whenever what is owned, announced, deliverable or to do may have changed. */
  get version(): number {
    return this.versionNow;
  }

  /** The fatal error after which the machine stopped, or null. */
  get fatalError(): unknown {
    return this.failure;
  }

  /** Sets or changes the subscription; the next heartbeat (at once) carries it. */
  subscribe(subscription: MemberSubscription): void {
    check(
      (subscription.topicRegex === '') !== (subscription.topicNames.length === 0),
      'topic names or a regex',
    );
    if (this.phaseNow === 'leaving' || this.phaseNow === 'left' || this.phaseNow === 'failed') {
      return;
    }
    this.subscription = subscription;
    this.subscriptionVersion++;
    this.isHeartbeatNow = true;
    if (this.phaseNow === 'idle') this.phaseNow = 'joining';
    this.changed();
  }

  /** Starts leaving: revoke everything (tasks), then the leave heartbeat. */
  leave(): void {
    switch (this.phaseNow) {
      case 'idle':
        this.phaseNow = 'left';
        break;
      case 'joining':
      case 'member':
      case 'fenced':
        this.phaseNow = 'leaving';
        this.isHeartbeatNow = true;
        this.reconcile();
        break;
      case 'leaving':
      case 'left':
      case 'failed':
        return;
    }
    this.changed();
  }

  /** Whether records of `key` may be handed out now. */
  isDeliverable(key: string): boolean {
    if (this.lostPending || this.phaseNow !== 'member') return false;
    if (!this.announced.has(key) || !this.owned.has(key) || this.target?.has(key) !== true) {
      return false;
    }
    return !(
      this.current?.kind === 'revoke' &&
      this.current.partitions.some((p) => partitionKey(p) === key)
    );
  }

  /** Whether heartbeats report `key` as owned (so a commit of it is still the member's). */
  isOwned(key: string): boolean {
    return this.owned.has(key);
  }

  /** Deliverable partitions, sorted (paused ones included: pausing is the driver's). */
  assignment(): MemberPartition[] {
    return sortPartitions(
      [...this.announced].filter(([key]) => this.isDeliverable(key)).map(([, tp]) => tp),
    );
  }

  /** The member id and epoch to commit with, or null when the member has no epoch right now. */
  commitIdentity(): { memberId: string; memberEpoch: number; generation: number } | null {
    if (this.lostPending || this.epoch <= 0) return null;
    if (this.phaseNow !== 'member' && this.phaseNow !== 'leaving') return null;
    return {
      memberId: this.settings.memberId,
      memberEpoch: this.epoch,
      generation: this.generationNow,
    };
  }

  /** The task to run now, or null. */
  task(): MembershipTask | null {
    return this.current;
  }

  /**
   * Reports the current task done. For 'assign', `announced` lists the partitions whose
   * onPartitionsAssigned ran (those still owned when it was called).
   */
  taskDone(task: MembershipTask, announced: readonly MemberPartition[] = []): void {
    check(task === this.current, 'taskDone for a task that is not current');
    this.current = null;
    switch (task.kind) {
      case 'assign':
        for (const tp of announced) this.announced.set(partitionKey(tp), tp);
        break;
      case 'revoke':
        for (const tp of task.partitions) {
          this.announced.delete(partitionKey(tp));
          this.owned.delete(partitionKey(tp));
        }
        // The coordinator waits for this report before giving the partitions to others.
        this.isHeartbeatNow = true;
        break;
      case 'lost':
        this.announced.clear();
        this.finishLost();
        break;
    }
    this.reconcile();
    this.changed();
  }

  /**
   * When the next heartbeat is due (null: none is to be sent: one is in flight, or the member
   * is idle, fenced, left or failed).
   */
  heartbeatDueMs(): number | null {
    if (!this.canHeartbeat()) return null;
    return this.isHeartbeatNow ? 0 : this.nextHeartbeatAtMs;
  }

  /** When self-fencing happens unless an answer comes first; null when it cannot. */
  sessionDeadlineMs(): number | null {
    if (this.lastAckSentMs === null || this.lostPending) return null;
    if (this.phaseNow !== 'member' && this.phaseNow !== 'leaving') return null;
    return this.lastAckSentMs + this.sessionTimeoutMs;
  }

  /** The heartbeat to send at `nowMs`, marked in flight; null when none is due. */
  pollHeartbeat(nowMs: number): OutgoingHeartbeat | null {
    if (!this.canHeartbeat()) return null;
    if (this.phaseNow === 'leaving' && this.isReadyToLeave()) return this.leaveHeartbeat(nowMs);
    if (!this.isHeartbeatNow && nowMs < this.nextHeartbeatAtMs) return null;
    const subscription = this.subscription;
    check(subscription !== null, 'heartbeat without a subscription');
    const isJoin = this.epoch === 0;
    check(!isJoin || this.owned.size === 0, 'a join owns nothing');
    const carriesSubscription =
      isJoin || this.subscriptionAckedVersion !== this.subscriptionVersion;
    const request: HeartbeatRequestFields = {
      memberId: this.settings.memberId,
      memberEpoch: this.epoch,
      ...(carriesSubscription ? { subscription } : {}),
      ownedPartitions: byTopic(this.owned.values()),
      ownedPartitionsSet: true,
      clientId: isJoin ? this.settings.clientId : '',
      sessionTimeoutMs: isJoin ? this.settings.sessionTimeoutMs : 0,
      rebalanceTimeoutMs: isJoin ? this.settings.rebalanceTimeoutMs : 0,
      serverAssignor: isJoin ? this.settings.serverAssignor : '',
    };
    return this.send(nowMs, request, false, carriesSubscription ? this.subscriptionVersion : -1);
  }

  onHeartbeatAnswer(seq: number, answer: HeartbeatAnswer, nowMs: number): void {
    const sent = this.takeInflight(seq);
    if (sent === null) return;
    if (sent.isLeave) {
      this.phaseNow = 'left';
      this.changed();
      return;
    }
    const code = answer.errorCode;
    if (code === 'NONE') {
      this.onAccepted(sent, answer, nowMs);
    } else if (FENCING_CODES.has(code)) {
      this.declareLost(nowMs);
    } else if (answer.retriable) {
      this.backOff(nowMs);
    } else {
      this.fail(answer.error, nowMs);
    }
    this.changed();
  }

  onHeartbeatFailure(seq: number, failure: HeartbeatFailure, nowMs: number): void {
    const sent = this.takeInflight(seq);
    if (sent === null) return;
    if (sent.isLeave) {
      this.leaveAttempts++;
      if (this.leaveAttempts >= this.settings.leaveAttemptsMax) this.phaseNow = 'left';
      else this.backOff(nowMs);
    } else if (failure.retriable) {
      this.backOff(nowMs);
    } else {
      this.fail(failure.error, nowMs);
    }
    this.changed();
  }

  /**
   * Self-fencing: no answer for the session timeout means the coordinator may have given the
   * partitions to others, so they are lost. Returns true when this call declared them lost.
   */
  tick(nowMs: number): boolean {
    const deadlineMs = this.sessionDeadlineMs();
    if (deadlineMs === null || nowMs < deadlineMs) return false;
    this.declareLost(nowMs);
    this.changed();
    return true;
  }

  /**
   * A commit of `generation` was refused at `nowMs` with UNKNOWN_MEMBER_ID or
   * FENCED_MEMBER_EPOCH.
   */
  onCommitFenced(generation: number, nowMs: number): void {
    if (generation !== this.generationNow || this.lostPending) return;
    if (this.phaseNow !== 'member' && this.phaseNow !== 'leaving') return;
    this.declareLost(nowMs);
    this.changed();
  }

  /**
   * For partitions that stop being deliverable by `nowMs` (the revoke or lost task the driver
   * starts now): the latest moment they were still deliverable. That is `nowMs`, or earlier the
   * pending loss (`lost` tasks always get this) or the session deadline, past which the driver
   * hands out nothing: a paused member that resumes past its deadline lost its partitions then,
   * whenever it notices. Never after `nowMs`.
   */
  ownershipEndMs(nowMs: number): number {
    let endMs = nowMs;
    if (this.lostPending) endMs = Math.min(endMs, this.lostAtMs);
    const deadlineMs = this.sessionDeadlineMs();
    if (deadlineMs !== null) endMs = Math.min(endMs, deadlineMs);
    return endMs;
  }

  /** Asks for a heartbeat at once (e.g. to learn a new epoch after STALE_MEMBER_EPOCH). */
  heartbeatNow(): void {
    if (this.phaseNow === 'member') this.isHeartbeatNow = true;
  }

  // ---- internals ---------------------------------------------------------------------------

  private canHeartbeat(): boolean {
    if (this.inflight !== null || this.lostPending) return false;
    switch (this.phaseNow) {
      case 'joining':
      case 'member':
      case 'leaving':
        return this.subscription !== null || this.phaseNow === 'leaving';
      case 'idle':
      case 'fenced':
      case 'left':
      case 'failed':
        return false;
    }
  }

  /** Leaving and nothing left to revoke. */
  private isReadyToLeave(): boolean {
    return this.owned.size === 0 && this.current === null && !this.lostPending;
  }

  private leaveHeartbeat(nowMs: number): OutgoingHeartbeat | null {
    if (!this.hasSent) {
      this.phaseNow = 'left';
      this.changed();
      return null;
    }
    if (!this.isHeartbeatNow && nowMs < this.nextHeartbeatAtMs) return null;
    const request: HeartbeatRequestFields = {
      memberId: this.settings.memberId,
      memberEpoch: -1,
      ownedPartitions: [],
      ownedPartitionsSet: false,
      clientId: '',
      sessionTimeoutMs: 0,
      rebalanceTimeoutMs: 0,
      serverAssignor: '',
    };
    return this.send(nowMs, request, true, -1);
  }

  private send(
    nowMs: number,
    request: HeartbeatRequestFields,
    isLeave: boolean,
    subscriptionVersion: number,
  ): OutgoingHeartbeat {
    this.seq++;
    this.inflight = {
      seq: this.seq,
      generation: this.generationNow,
      sentAtMs: nowMs,
      isLeave,
      subscriptionVersion,
    };
    this.isHeartbeatNow = false;
    this.hasSent = true;
    return { seq: this.seq, request };
  }

  private takeInflight(seq: number): InFlight | null {
    const sent = this.inflight;
    if (sent === null || sent.seq !== seq || sent.generation !== this.generationNow) return null;
    this.inflight = null;
    return sent;
  }

  private onAccepted(sent: InFlight, answer: HeartbeatAnswer, nowMs: number): void {
    check(
      answer.memberEpoch > 0,
      `an accepted heartbeat gives an epoch > 0, got ${answer.memberEpoch}`,
    );
    this.answers++;
    this.failures = 0;
    this.epoch = answer.memberEpoch;
    if (this.phaseNow === 'joining') this.phaseNow = 'member';
    if (answer.heartbeatIntervalMs > 0) this.heartbeatIntervalMs = answer.heartbeatIntervalMs;
    if (answer.sessionTimeoutMs > 0) this.sessionTimeoutMs = answer.sessionTimeoutMs;
    this.lastAckSentMs = sent.sentAtMs;
    if (sent.subscriptionVersion >= 0) this.subscriptionAckedVersion = sent.subscriptionVersion;
    this.nextHeartbeatAtMs = nowMs + this.heartbeatIntervalMs;
    const target = new Set<string>();
    for (const { topic, partitions } of answer.assignment) {
      for (const partition of partitions) {
        const tp = { topic, partition };
        const key = partitionKey(tp);
        target.add(key);
        // Listed means owned from now on, until revoked: the coordinator counts it as ours.
        if (this.phaseNow !== 'leaving' && !this.owned.has(key)) this.owned.set(key, tp);
      }
    }
    this.target = target;
    this.reconcile();
  }

  /**
   * Picks the next task when none runs: the lost callback first, then revocations, then
   * assignments. Partitions never announced and no longer targeted are dropped without one.
   */
  private reconcile(): void {
    if (this.current !== null) return;
    if (this.lostPending) {
      if (this.announced.size > 0) {
        this.current = { kind: 'lost', partitions: sortPartitions(this.announced.values()) };
      } else {
        this.finishLost();
      }
      return;
    }
    const target =
      this.phaseNow === 'leaving' ? new Set<string>() : (this.target ?? new Set<string>());
    for (const key of [...this.owned.keys()]) {
      if (!this.announced.has(key) && !target.has(key)) {
        this.owned.delete(key);
        this.isHeartbeatNow = true;
      }
    }
    const revoke = [...this.announced].filter(([key]) => !target.has(key)).map(([, tp]) => tp);
    if (revoke.length > 0) {
      this.current = { kind: 'revoke', partitions: sortPartitions(revoke) };
      return;
    }
    const assign = [...this.owned].filter(([key]) => !this.announced.has(key)).map(([, tp]) => tp);
    if (assign.length > 0) this.current = { kind: 'assign', partitions: sortPartitions(assign) };
    if (this.phaseNow === 'leaving' && this.isReadyToLeave()) this.isHeartbeatNow = true;
  }

  /** Ownership ends at `nowMs`, or at the session deadline when that came first. */
  private declareLost(nowMs: number): void {
    this.lostAtMs = this.ownershipEndMs(nowMs);
    this.generationNow++;
    this.epoch = 0;
    this.owned.clear();
    this.target = null;
    this.inflight = null;
    this.lastAckSentMs = null;
    this.subscriptionAckedVersion = -1;
    this.lostPending = true;
    if (this.phaseNow === 'member' || this.phaseNow === 'joining') this.phaseNow = 'fenced';
    this.reconcile();
  }

  /** The lost callback ran (or there was none): join again, or go on leaving. */
  private finishLost(): void {
    this.lostPending = false;
    if (this.phaseNow === 'fenced') {
      this.phaseNow = 'joining';
      this.isHeartbeatNow = true;
    } else if (this.phaseNow === 'leaving') {
      this.isHeartbeatNow = true;
    }
  }

  /** A fatal error: what is owned is lost (its callback still runs); no more heartbeats. */
  private fail(error: unknown, nowMs: number): void {
    this.failure = error;
    this.declareLost(nowMs);
    this.phaseNow = 'failed';
  }

  private backOff(nowMs: number): void {
    this.nextHeartbeatAtMs = nowMs + this.settings.backoffMs(this.failures);
    this.failures++;
    this.isHeartbeatNow = false;
  }

  private changed(): void {
    this.versionNow++;
  }
}

function byTopic(partitions: Iterable<MemberPartition>): { topic: string; partitions: number[] }[] {
  const out: { topic: string; partitions: number[] }[] = [];
  for (const tp of sortPartitions(partitions)) {
    const last = out[out.length - 1];
    if (last !== undefined && last.topic === tp.topic) last.partitions.push(tp.partition);
    else out.push({ topic: tp.topic, partitions: [tp.partition] });
  }
  return out;
}
