/**
 * A consumer group member (Kafka's newer protocol, KIP-848: the coordinator assigns). The
 * membership decisions live in group-membership.ts (pure); this file does their I/O:
 * heartbeats through CoordinatorRouter, OffsetFetch and ListOffsets for new partitions, user
 * callbacks, commits (commit-queue.ts), and fetching through a composed Consumer that is
 * assign()ed and seek()ed as ownership changes, so records travel as fetched batches exactly
 * as in consumer.ts.
 *
 * The loop, driven by pump() after every event (timer, heartbeat answer, task end, close):
 *   1. tick: self-fencing once no heartbeat answer came for the session timeout;
 *   2. the inner Consumer is assigned exactly the deliverable, unpaused partitions with a known
 *      position; a partition it loses is dropped at once (buffered records included);
 *   3. the membership's task (assign, revoke or lost: OffsetFetch, callbacks, auto-commit) runs,
 *      one at a time, and never while the application holds a record;
 *   4. a heartbeat goes out when due (at most one in flight), and a timer is armed for the next
 *      heartbeat or the session deadline.
 *
 * Delivery (next()): records come from the inner Consumer's poll(); a record is handed out only
 * if its partition is deliverable at that moment, and never while a task runs. The inner
 * Consumer can be re-assigned while a poll is in flight, so a poll's records of a partition that
 * changed during the poll (`changedAt`) are dropped and the partition is fetched again from its
 * position: this member's position of a partition is the truth, the inner Consumer's a cache.
 *
 * "Processed": a record counts as processed once the application asks for the next one (calls
 * next() again, or ends the loop). Auto-commits commit processed records only; commit() and
 * commitAsync() commit every record handed out so far (call them after processing).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BrokerError } from '../errors/index.js';
import type {
  GroupHeartbeatRequest,
  GroupHeartbeatResponse__Output,
  OffsetCommitResponse__Output,
  OffsetFetchResponse__Output,
} from '../proto/index.js';
import { CommitQueue, type CommitOffset } from './commit-queue.js';
import {
  BrookClientError,
  brokerErrorOf,
  isRetriable,
  parseBootstrap,
  ConnectionPool,
} from './connection.js';
import {
  Consumer,
  type AutoOffsetReset,
  type ConsumerOptions,
  type ConsumerRecord,
  type TopicPartition,
} from './consumer.js';
import { CoordinatorRouter } from './coordinator-router.js';
import {
  GroupMembership,
  partitionKey,
  sortPartitions,
  type MemberPartition,
  type MemberPhase,
  type MemberSubscription,
  type MembershipTask,
  type OutgoingHeartbeat,
} from './group-membership.js';
import { listOffsets } from './list-offsets.js';
import { MetadataCache } from './metadata-cache.js';
import { backoffMs, checkInteger, checkRetryPolicy, type RetryPolicy } from './retry.js';

const MiB = 1024 * 1024;

/** How long one inner poll waits for records; next() wakes earlier on any membership event. */
const POLL_WAIT_MS = 1_000;

/** As consumer.ts: give I/O (heartbeat answers, prefetches) a turn after this much. */
const YIELD_RECORDS = 1_000;
const YIELD_BYTES = 1 * MiB;

/** Attempts at finding new partitions' start offsets (each one retried by the router too). */
const START_ATTEMPTS_MAX = 100;

/** Commits refused as STALE_MEMBER_EPOCH retried after the next heartbeat answer. */
const STALE_RETRIES_MAX = 3;

/** Leave heartbeats tried before close() gives up on a clean leave (the session expires). */
const LEAVE_ATTEMPTS_MAX = 3;

/** close() waits at most this long for callbacks, the final commit and the leave. */
const CLOSE_TIMEOUT_MS = 30_000;

/** Errors kept for the iterator while nobody reads; later ones are dropped. */
const ERRORS_MAX = 16;

/** Longest group id, as the broker checks it (Kafka's limit). */
const GROUP_ID_LENGTH_MAX = 249;

/**
 * When a rebalance callback's partitions changed hands, in epoch ms on the clock
 * `performance.timeOrigin + performance.now()` reads (this process's monotonic clock anchored at
 * its start, with fractions of a ms: it agrees with the same reading in every process of the
 * machine to within microseconds, and with Date.now() until the system clock is stepped).
 */
export interface RebalanceInfo {
  /**
   * onPartitionsAssigned: when the callback was called; the partitions' records are handed out
   * only after it returns. onPartitionsRevoked and onPartitionsLost: when the partitions
   * stopped being deliverable: no record of them was handed out at or after this moment. For a
   * revocation that is when it began; for a loss, when it was applied (an UNKNOWN_MEMBER_ID or
   * FENCED_MEMBER_EPOCH answer), or the session deadline if that came first, however much later
   * the member noticed (a paused process) and the callback runs.
   */
  readonly atMs: number;
}

/** Called with the partitions concerned, sorted; the member waits for the returned promise. */
export type RebalanceCallback = (
  partitions: TopicPartition[],
  info: RebalanceInfo,
) => void | Promise<void>;

export interface GroupConsumerOptions extends Omit<ConsumerOptions, 'autoOffsetReset'> {
  /** The group: 1-249 characters, not blank. */
  readonly groupId: string;
  /** Shown by DescribeGroups (default 'brook-group-consumer'). */
  readonly clientId?: string;
  /**
   * A member silent this long is removed by the coordinator and its partitions go to others; a
   * member without an answer for this long considers its partitions lost (default 45000 ms;
   * the broker bounds it by group.consumer.min/max.session.timeout.ms).
   */
  readonly sessionTimeoutMs?: number;
  /**
   * Time the member has to finish a revocation once asked: the record in hand, the revoke
   * callback and the auto-commit (default 300000 ms, Kafka's max.poll.interval.ms).
   */
  readonly rebalanceTimeoutMs?: number;
  /** The server-side assignor: 'uniform' (sticky) or 'range'; default: the group's current. */
  readonly serverAssignor?: 'uniform' | 'range';
  /** Where a partition without a committed offset starts (default 'latest', as in Kafka). */
  readonly autoOffsetReset?: AutoOffsetReset;
  /** Commit processed records every autoCommitIntervalMs, on revocation and on close (default true). */
  readonly enableAutoCommit?: boolean;
  /** Default 5000 ms. */
  readonly autoCommitIntervalMs?: number;
  /** After newly assigned partitions got their start offsets, before any of their records. */
  readonly onPartitionsAssigned?: RebalanceCallback;
  /**
   * Before partitions go to another member (or on close()); they are still owned, so a commit()
   * here commits them. The auto-commit follows it; the coordinator hears of the revocation once
   * both are done.
   */
  readonly onPartitionsRevoked?: RebalanceCallback;
  /**
   * After the member lost partitions (fenced, removed, or silent for the session timeout): they
   * may already belong to another member, so they cannot be committed. `info.atMs` says when the
   * loss took effect, which can be long before the callback runs (a process that was paused).
   */
  readonly onPartitionsLost?: RebalanceCallback;
  /** Failures of automatic commits (default: ignored; they are retried by the next one). */
  readonly onAutoCommitError?: (error: unknown, offsets: readonly CommitOffset[]) => void;
}

/** What this member holds of one owned partition. */
class OwnedPartition {
  /** Next offset to hand out; null when no start could be found (nothing is fetched). */
  position: number | null;
  /** Leader epoch of the last record handed out; -1 before the first. */
  leaderEpoch = -1;
  /** The offset last known committed for the group (fetched or committed here). */
  committedOffset: number | null;
  /** Whether the inner Consumer fetches it now. */
  fetching = false;
  /** Its records in a poll were dropped: seek the inner Consumer to `position` before the next. */
  needsSeek = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    position: number | null,
    committedOffset: number | null,
    /** changeSeq when the inner Consumer last lost it (or when this object was made). */
    public changedAt: number,
  ) {
    this.position = position;
    this.committedOffset = committedOffset;
  }
}

/** Records of one inner poll, handed out front to back. */
interface PolledBatch {
  readonly records: readonly ConsumerRecord[];
  index: number;
  /** changeSeq when the poll started: a partition changed after it has ambiguous records. */
  readonly pollSeq: number;
}

const EMPTY_BATCH: PolledBatch = { records: [], index: 0, pollSeq: 0 };

/**
 * A member of a consumer group: subscribe(), then read with `for await (const record of
 * consumer)`. Partitions come and go as the coordinator assigns them; the callbacks say when.
 * Use one reader at a time.
 *
 * Guarantees: a record is handed out only while this member owns its partition; a callback
 * never runs while the application holds a record (between receiving it and asking for the
 * next), and no record is handed out while a callback runs.
 *
 * Errors: the iterator throws a failed offset lookup, a partition without a committed offset
 * under autoOffsetReset 'none' (OFFSET_OUT_OF_RANGE naming it; that partition is then not
 * read), a fetch error as Consumer does, an error thrown by a callback, and fatal group errors
 * (INVALID_SESSION_TIMEOUT, UNSUPPORTED_ASSIGNOR, an invalid regex), which it throws on every
 * later read. Coordinator moves and unreachable brokers are retried with backoff for as long as
 * the consumer runs.
 */
export class GroupConsumer implements AsyncIterable<ConsumerRecord> {
  /** This member's id, chosen once (a UUID) and kept across rejoins. */
  readonly memberId: string = randomUUID();
  readonly groupId: string;
  private readonly pool = new ConnectionPool();
  private readonly metadata: MetadataCache;
  private readonly coordinator: CoordinatorRouter;
  private readonly heartbeats: CoordinatorRouter;
  private readonly inner: Consumer;
  private readonly membership: GroupMembership;
  private readonly commits: CommitQueue;
  private readonly retry: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private readonly sessionTimeoutMs: number;
  private readonly autoOffsetReset: AutoOffsetReset;
  private readonly enableAutoCommit: boolean;
  private readonly autoCommitIntervalMs: number;
  private readonly callbacks: {
    readonly assigned: RebalanceCallback | undefined;
    readonly revoked: RebalanceCallback | undefined;
    readonly lost: RebalanceCallback | undefined;
    readonly autoCommitError: GroupConsumerOptions['onAutoCommitError'];
  };
  private readonly states = new Map<string, OwnedPartition>();
  /**
   * The ownership an offset taken from a position belongs to: such an offset is sent only while
   * that ownership lasts, so a commit queued before a loss never lands after it.
   */
  private readonly offsetOwners = new WeakMap<CommitOffset, OwnedPartition>();
  private readonly pausedKeys = new Set<string>();
  /** What the inner Consumer is assigned now. */
  private innerStates = new Map<string, OwnedPartition>();
  private changeSeq = 0;
  private batch: PolledBatch = EMPTY_BATCH;
  private lastState: OwnedPartition | null = null;
  private polling: Promise<void> | null = null;
  /** The record the application holds: handed out, and next() not called since. */
  private holding: ConsumerRecord | null = null;
  private taskRunning = false;
  private errors: unknown[] = [];
  private fenceAtMs = Infinity;
  private timer: NodeJS.Timeout | null = null;
  private timerDueMs: number | null = null;
  private autoCommitTimer: NodeJS.Timeout | null = null;
  private wakers: (() => void)[] = [];
  private readonly abort = new AbortController();
  private recordsSinceYield = 0;
  private bytesSinceYield = 0;
  /** close() was called: the iterator ends. */
  private closed = false;
  /** close() finished its protocol part: no more heartbeats, tasks or timers. */
  private stopped = false;
  private closing: Promise<void> | null = null;

  constructor(options: GroupConsumerOptions) {
    checkGroupId(options.groupId);
    this.groupId = options.groupId;
    const bootstrap = parseBootstrap(options.bootstrap);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.retry = {
      retries: options.retries ?? 5,
      retryBackoffMsMin: options.retryBackoffMsMin ?? 100,
      retryBackoffMsMax: options.retryBackoffMsMax ?? 1_000,
    };
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 45_000;
    const rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? 300_000;
    this.autoOffsetReset = options.autoOffsetReset ?? 'latest';
    this.enableAutoCommit = options.enableAutoCommit ?? true;
    this.autoCommitIntervalMs = options.autoCommitIntervalMs ?? 5_000;
    const clientId = options.clientId ?? 'brook-group-consumer';
    checkOptions(options, this.autoOffsetReset, clientId);
    checkRetryPolicy(this.retry);
    checkInteger('requestTimeoutMs', this.requestTimeoutMs, 1, 300_000);
    checkInteger('sessionTimeoutMs', this.sessionTimeoutMs, 1, 2 ** 31 - 1);
    checkInteger('rebalanceTimeoutMs', rebalanceTimeoutMs, 1, 2 ** 31 - 1);
    checkInteger('autoCommitIntervalMs', this.autoCommitIntervalMs, 1, 2 ** 31 - 1);
    this.callbacks = {
      assigned: options.onPartitionsAssigned,
      revoked: options.onPartitionsRevoked,
      lost: options.onPartitionsLost,
      autoCommitError: options.onAutoCommitError,
    };
    // The inner Consumer validates the fetch options and owns the fetch loop.
    this.inner = new Consumer({ ...options, bootstrap, autoOffsetReset: this.autoOffsetReset });
    this.metadata = new MetadataCache(this.pool, bootstrap, {
      requestTimeoutMs: this.requestTimeoutMs,
      metadataMaxAgeMs: options.metadataMaxAgeMs ?? 300_000,
    });
    const base = { pool: this.pool, metadata: this.metadata };
    this.coordinator = new CoordinatorRouter({
      ...base,
      requestTimeoutMs: this.requestTimeoutMs,
      retry: this.retry,
    });
    // A heartbeat must not hang past the session: a short deadline, few retries, and the
    // membership's own backoff between attempts.
    this.heartbeats = new CoordinatorRouter({
      ...base,
      requestTimeoutMs: Math.min(
        this.requestTimeoutMs,
        Math.max(1_000, Math.floor(this.sessionTimeoutMs / 3)),
      ),
      retry: { ...this.retry, retries: Math.min(this.retry.retries, 1) },
    });
    this.membership = new GroupMembership({
      memberId: this.memberId,
      clientId,
      sessionTimeoutMs: this.sessionTimeoutMs,
      rebalanceTimeoutMs,
      serverAssignor: options.serverAssignor ?? '',
      backoffMs: (attempt) => backoffMs(attempt, this.retry),
      leaveAttemptsMax: LEAVE_ATTEMPTS_MAX,
    });
    this.commits = new CommitQueue((offsets) => this.sendCommit(offsets));
  }

  /**
   * Subscribes to topic names, or to every topic whose whole name matches a RegExp (its
   * `source` is sent; topics created later that match join the assignment; flags other than
   * g, y, d and u are refused because the broker cannot apply them). The first call joins the
   * group; later calls change the subscription with the next heartbeat, sent at once.
   */
  subscribe(topics: readonly string[] | RegExp): void {
    this.checkOpen();
    this.membership.subscribe(subscriptionOf(topics));
    this.armAutoCommit();
    this.pump();
  }

  /**
   * The partitions this member owns and may read now (paused ones included), sorted. Excludes
   * partitions still being set up (before onPartitionsAssigned finished) or given up.
   */
  assignment(): TopicPartition[] {
    return this.membership.assignment().map(({ topic, partition }) => ({ topic, partition }));
  }

  /** The member epoch the coordinator gave (0 while joining). */
  get memberEpoch(): number {
    return this.membership.memberEpoch;
  }

  /** Where the membership is: 'joining', 'member', 'fenced', 'leaving', 'left', ... */
  get phase(): MemberPhase {
    return this.membership.phase;
  }

  /**
   * Stops handing out records of these assigned partitions (they stay owned) until resume().
   * Throws RangeError for a partition not in assignment(). A revoked partition is unpaused.
   */
  pause(partitions: readonly TopicPartition[]): void {
    this.checkOpen();
    const assigned = new Set(this.membership.assignment().map(partitionKey));
    for (const tp of partitions) {
      if (!assigned.has(partitionKey(tp))) {
        throw new RangeError(`pause: ${tp.topic}-${tp.partition} is not assigned to this member`);
      }
    }
    for (const tp of partitions) this.pausedKeys.add(partitionKey(tp));
    this.pump();
  }

  /** Reads paused partitions again, from where they stopped; others are ignored. */
  resume(partitions: readonly TopicPartition[]): void {
    this.checkOpen();
    for (const tp of partitions) this.pausedKeys.delete(partitionKey(tp));
    this.pump();
  }

  /** The paused partitions, sorted. */
  paused(): TopicPartition[] {
    return sortPartitions(
      [...this.pausedKeys].flatMap((key) => {
        const state = this.states.get(key);
        return state === undefined ? [] : [{ topic: state.topic, partition: state.partition }];
      }),
    );
  }

  /**
   * Commits and waits. Without arguments: for every owned partition, the offset after the last
   * record handed out (every record the iterator returned counts as processed: call this after
   * processing them). With `offsets`: exactly those. Commits run one at a time in call order;
   * one made while another waits may be merged with it. A commit refused as STALE_MEMBER_EPOCH
   * is retried after the next heartbeat answer. Rejects with UNKNOWN_MEMBER_ID or
   * FENCED_MEMBER_EPOCH when the member is not in the group with its epoch (it then treats its
   * partitions as lost and joins again) or lost a partition before the commit went out (its
   * position is never committed then), and with a partition's error (e.g.
   * UNKNOWN_TOPIC_OR_PARTITION) naming it.
   */
  async commit(offsets?: readonly CommitOffset[]): Promise<void> {
    this.checkNotStopped();
    const list = offsets === undefined ? this.offsetsToCommit(false) : checkOffsets(offsets);
    if (list.length > 0) await this.commits.enqueue(list);
  }

  /**
   * commit() without waiting: `onComplete` gets null or the error, and the offsets. Errors never
   * surface anywhere else (no unhandled rejection).
   */
  commitAsync(onComplete?: (error: unknown, offsets: readonly CommitOffset[]) => void): void {
    this.checkNotStopped();
    const list = this.offsetsToCommit(false);
    const report = (error: unknown): void => {
      try {
        onComplete?.(error, list);
      } catch {
        // A throwing callback must not become an unhandled rejection.
      }
    };
    if (list.length === 0) {
      queueMicrotask(() => report(null));
      return;
    }
    this.commits.enqueue(list).then(
      () => report(null),
      (error: unknown) => report(error),
    );
  }

  /** The records of owned partitions, one at a time, until close(). */
  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord, undefined> {
    return {
      next: () => this.next(),
      return: () => {
        this.release();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /**
   * Leaves the group gracefully: ends the iterator, revokes every partition (the revoke
   * callback, then the final auto-commit of processed records), waits for commits in flight,
   * sends the leave heartbeat (member epoch -1) so others take over at once, and closes the
   * connections. A record the application still holds counts as not processed. Waits at most
   * 30 s for the protocol part. Calling it again returns the same promise. Do not await it
   * from inside a rebalance callback (the callback is part of what it waits for).
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---- delivery --------------------------------------------------------------------------------

  private async next(): Promise<IteratorResult<ConsumerRecord, undefined>> {
    this.release();
    if (this.membership.phase === 'idle' && !this.closed) {
      throw new Error('GroupConsumer: call subscribe() before reading records');
    }
    while (!this.closed) {
      this.throwError();
      if (this.taskRunning || this.membership.task() !== null) {
        await this.waitForChange();
        continue;
      }
      if (performance.now() >= this.fenceAtMs) {
        this.pump();
        continue;
      }
      if (this.recordsSinceYield >= YIELD_RECORDS || this.bytesSinceYield >= YIELD_BYTES) {
        this.recordsSinceYield = 0;
        this.bytesSinceYield = 0;
        await yieldToEventLoop();
        continue;
      }
      const record = this.take();
      if (record !== null) {
        this.holding = record;
        this.recordsSinceYield++;
        this.bytesSinceYield += (record.key?.length ?? 0) + (record.value?.length ?? 0);
        return { value: record, done: false };
      }
      this.startPoll();
      await this.waitForChange();
    }
    return { value: undefined, done: true };
  }

  /** The application asked for the next record: it is done with the one it held. */
  private release(): void {
    if (this.holding === null) return;
    this.holding = null;
    if (!this.taskRunning && this.membership.task() !== null) this.pump();
  }

  /** The next record of the current batch that may be handed out, moving its position. */
  private take(): ConsumerRecord | null {
    const batch = this.batch;
    while (batch.index < batch.records.length) {
      const record = batch.records[batch.index++]!;
      let state = this.lastState;
      if (state === null || state.partition !== record.partition || state.topic !== record.topic) {
        state = this.states.get(partitionKey(record)) ?? null;
        this.lastState = state;
      }
      if (state === null || !state.fetching || state.position === null) continue;
      if (state.changedAt > batch.pollSeq) {
        // Taken by the inner Consumer before or after it lost the partition: unknowable, so
        // fetch again from this member's position.
        state.needsSeek = true;
        continue;
      }
      if (record.offset < state.position) continue;
      state.position = record.offset + 1;
      state.leaderEpoch = record.leaderEpoch;
      return record;
    }
    return null;
  }

  /** Starts one inner poll unless one is in flight; its records replace the exhausted batch. */
  private startPoll(): void {
    if (this.polling !== null || this.closed) return;
    for (const state of this.innerStates.values()) {
      if (!state.needsSeek || state.position === null) continue;
      state.needsSeek = false;
      this.seekInner(state, state.position);
    }
    const pollSeq = this.changeSeq;
    this.recordsSinceYield = 0;
    this.bytesSinceYield = 0;
    this.polling = this.inner
      .poll(POLL_WAIT_MS)
      .then(
        (records) => {
          this.batch = { records, index: 0, pollSeq };
        },
        (error: unknown) => {
          if (!this.closed) this.report(error);
        },
      )
      .finally(() => {
        this.polling = null;
        this.wake();
      });
  }

  private throwError(): void {
    const fatal = this.membership.fatalError;
    if (fatal !== null) throw fatal;
    if (this.errors.length > 0) throw this.errors.shift();
  }

  /** Queues an error for the iterator. */
  private report(error: unknown): void {
    if (this.errors.length < ERRORS_MAX) this.errors.push(error);
    this.wake();
  }

  // ---- the membership driver -------------------------------------------------------------------

  /** One step of the loop (see the file comment); cheap, synchronous, and safe to repeat. */
  private pump(): void {
    if (this.stopped) return;
    const nowMs = performance.now();
    this.membership.tick(nowMs);
    this.dropUnowned();
    this.syncInner();
    this.maybeRunTask();
    this.maybeHeartbeat(nowMs);
    this.fenceAtMs = this.membership.sessionDeadlineMs() ?? Infinity;
    this.armTimer(nowMs);
    this.wake();
  }

  /** Forgets positions and pauses of partitions no longer owned (lost ones are never committed). */
  private dropUnowned(): void {
    for (const key of this.states.keys()) {
      if (this.membership.isOwned(key)) continue;
      this.states.delete(key);
      this.pausedKeys.delete(key);
      this.lastState = null;
    }
    for (const key of this.pausedKeys) {
      if (!this.states.has(key)) this.pausedKeys.delete(key);
    }
  }

  /** Assigns the inner Consumer exactly the partitions whose records may be handed out. */
  private syncInner(): void {
    const wanted = new Map<string, OwnedPartition>();
    for (const [key, state] of this.states) {
      if (state.position === null || this.pausedKeys.has(key)) continue;
      if (this.membership.isDeliverable(key)) wanted.set(key, state);
    }
    let same = wanted.size === this.innerStates.size;
    for (const [key, state] of wanted) same &&= this.innerStates.get(key) === state;
    if (same) return;
    for (const [key, state] of this.innerStates) {
      if (wanted.get(key) === state) continue;
      // Records the inner Consumer took before this are stale from now on.
      state.fetching = false;
      state.changedAt = ++this.changeSeq;
    }
    this.inner.assign([...wanted.values()].map(({ topic, partition }) => ({ topic, partition })));
    for (const [key, state] of wanted) {
      if (this.innerStates.get(key) === state) continue;
      state.fetching = true;
      state.needsSeek = false;
      this.seekInner(state, state.position!);
    }
    this.innerStates = wanted;
    this.lastState = null;
  }

  private seekInner(state: OwnedPartition, position: number): void {
    // A seek to an offset takes effect before it returns (no lookup), so no fetch of the
    // partition can start from anywhere else.
    this.inner
      .seek({ topic: state.topic, partition: state.partition }, position)
      .catch((error: unknown) => {
        if (!this.closed) this.report(error);
      });
  }

  /** Starts the membership's task unless one runs or the application holds a record. */
  private maybeRunTask(): void {
    if (this.taskRunning || (this.holding !== null && !this.closed)) return;
    const task = this.membership.task();
    if (task === null) return;
    this.taskRunning = true;
    void this.runTask(task).then((announced) => {
      this.taskRunning = false;
      if (!this.stopped) this.membership.taskDone(task, announced);
      this.pump();
    });
  }

  /** Runs one task; never rejects (errors go to the iterator). Resolves what it announced. */
  private async runTask(task: MembershipTask): Promise<MemberPartition[]> {
    const partitions = task.partitions.map(({ topic, partition }) => ({ topic, partition }));
    try {
      switch (task.kind) {
        case 'assign':
          return await this.assignPartitions(partitions);
        case 'revoke':
          await this.revokePartitions(partitions, this.ownershipEndMs());
          return [];
        case 'lost':
          await this.runCallback(this.callbacks.lost, partitions, this.ownershipEndMs());
          return [];
      }
    } catch (error: unknown) {
      this.report(error);
      return [];
    }
  }

  /** When partitions that are not deliverable now stopped being so, for RebalanceInfo. */
  private ownershipEndMs(): number {
    return epochMs(this.membership.ownershipEndMs(performance.now()));
  }

  /**
   * New partitions: committed offsets (OffsetFetch), else autoOffsetReset; then
   * onPartitionsAssigned for those still owned. They become deliverable once this returns.
   */
  private async assignPartitions(partitions: TopicPartition[]): Promise<TopicPartition[]> {
    const starts = await this.startOffsets(partitions);
    // Past the session deadline (the process was paused, say) they are lost, not assigned: an
    // assignment announced after the moment its loss dates from would overlap the next owner.
    const nowMs = performance.now();
    if (nowMs >= this.fenceAtMs) this.pump();
    const owned = partitions.filter((tp) => this.membership.isOwned(partitionKey(tp)));
    for (const tp of owned) {
      const start = starts.get(partitionKey(tp));
      const state = new OwnedPartition(
        tp.topic,
        tp.partition,
        start?.position ?? null,
        start?.committed ?? null,
        ++this.changeSeq,
      );
      this.states.set(partitionKey(tp), state);
    }
    this.lastState = null;
    if (owned.length > 0) await this.runCallback(this.callbacks.assigned, owned, epochMs(nowMs));
    return owned;
  }

  /**
   * Partitions to give back (already not fetched): the callback, the auto-commit of their
   * processed records, and every commit queued before, so all of them take effect before the
   * coordinator hears that the partitions are gone.
   */
  private async revokePartitions(partitions: TopicPartition[], atMs: number): Promise<void> {
    await this.runCallback(this.callbacks.revoked, partitions, atMs);
    if (this.enableAutoCommit) {
      const keys = new Set(partitions.map(partitionKey));
      const offsets = this.offsetsToCommit(true).filter((o) => keys.has(partitionKey(o)));
      if (offsets.length > 0) {
        await this.commits.enqueue(offsets).catch((error: unknown) => {
          this.reportAutoCommitError(error, offsets);
        });
      }
    }
    await this.commits.idle();
  }

  /**
   * Runs a user callback. Its error goes to the iterator and the protocol goes on: the
   * partitions are still assigned, revoked or lost (a task that failed would come back forever).
   */
  private async runCallback(
    callback: RebalanceCallback | undefined,
    partitions: TopicPartition[],
    atMs: number,
  ): Promise<void> {
    if (callback === undefined || partitions.length === 0) return;
    try {
      await callback(
        partitions.map(({ topic, partition }) => ({ topic, partition })),
        { atMs },
      );
    } catch (error: unknown) {
      this.report(error);
    }
  }

  /**
   * Start offsets of `partitions`: the committed offset, else autoOffsetReset through
   * ListOffsets. Retries with backoff while they are owned; a partition whose start cannot be
   * found gets a null position (not read) and its error goes to the iterator.
   */
  private async startOffsets(
    partitions: readonly TopicPartition[],
  ): Promise<Map<string, { position: number | null; committed: number | null }>> {
    const starts = new Map<string, { position: number | null; committed: number | null }>();
    let pending = [...partitions];
    for (let attempt = 0; attempt < START_ATTEMPTS_MAX && pending.length > 0; attempt++) {
      if (attempt > 0) await sleepUnref(backoffMs(attempt - 1, this.retry));
      pending = pending.filter((tp) => this.membership.isOwned(partitionKey(tp)));
      if (this.stopped || pending.length === 0) break;
      const isLast = attempt === START_ATTEMPTS_MAX - 1;
      try {
        pending = await this.startOffsetsOnce(pending, starts, isLast);
      } catch (error: unknown) {
        if (isRetriable(error) && !isLast) continue;
        this.report(error);
        break;
      }
    }
    return starts;
  }

  /** One attempt; returns the partitions to try again. Throws a whole-call failure. */
  private async startOffsetsOnce(
    partitions: readonly TopicPartition[],
    starts: Map<string, { position: number | null; committed: number | null }>,
    isLast: boolean,
  ): Promise<TopicPartition[]> {
    const committed = await this.fetchCommitted(partitions);
    const reset: TopicPartition[] = [];
    for (const tp of partitions) {
      const offset = committed.get(partitionKey(tp)) ?? -1;
      if (offset >= 0) starts.set(partitionKey(tp), { position: offset, committed: offset });
      else reset.push(tp);
    }
    if (reset.length === 0) return [];
    const spec = this.autoOffsetReset;
    if (spec === 'none') {
      for (const tp of reset) {
        starts.set(partitionKey(tp), { position: null, committed: null });
        this.report(
          new BrokerError(
            'OFFSET_OUT_OF_RANGE',
            `${tp.topic}-${tp.partition} has no committed offset in group "${this.groupId}" and autoOffsetReset is 'none'; it is not read`,
          ),
        );
      }
      return [];
    }
    const queries = reset.map(({ topic, partition }) => ({ topic, partition, spec }));
    const results = await listOffsets(this.pool, this.metadata, queries, this.requestTimeoutMs, {
      ...this.retry,
      retries: 0,
    });
    const again: TopicPartition[] = [];
    results.forEach((result, i) => {
      const tp = reset[i]!;
      if (result.error === undefined && result.offset >= 0) {
        starts.set(partitionKey(tp), { position: result.offset, committed: null });
      } else if (isRetriable(result.error) && !isLast) {
        again.push(tp);
      } else {
        starts.set(partitionKey(tp), { position: null, committed: null });
        this.report(
          result.error ??
            new BrokerError(
              'UNKNOWN_SERVER_ERROR',
              `no ${spec} offset for ${tp.topic}-${tp.partition}`,
            ),
        );
      }
    });
    return again;
  }

  /** Committed offsets of the group for `partitions` (-1: none), by partition key. */
  private async fetchCommitted(
    partitions: readonly TopicPartition[],
  ): Promise<Map<string, number>> {
    const request = { groupId: this.groupId, topics: byTopic(partitions) };
    const response = await this.coordinator.call<OffsetFetchResponse__Output>(
      this.groupId,
      (client, options, callback) => client.offsetFetch(request, options, callback),
      { signal: this.abort.signal },
    );
    const error = brokerErrorOf(response.errorCode, response.errorMessage);
    if (error !== null) throw error;
    const committed = new Map<string, number>();
    for (const entry of response.offsets) committed.set(partitionKey(entry), entry.offset);
    return committed;
  }

  private maybeHeartbeat(nowMs: number): void {
    const outgoing = this.membership.pollHeartbeat(nowMs);
    if (outgoing !== null) void this.sendHeartbeat(outgoing);
  }

  private async sendHeartbeat(outgoing: OutgoingHeartbeat): Promise<void> {
    const { subscription, ...fields } = outgoing.request;
    const request: GroupHeartbeatRequest = {
      groupId: this.groupId,
      ...fields,
      ...(subscription === undefined
        ? {}
        : {
            subscription: {
              topicNames: [...subscription.topicNames],
              topicRegex: subscription.topicRegex,
            },
          }),
    };
    try {
      const response = await this.heartbeats.call<GroupHeartbeatResponse__Output>(
        this.groupId,
        (client, options, callback) => client.groupHeartbeat(request, options, callback),
        { signal: this.abort.signal },
      );
      const error = brokerErrorOf(response.errorCode, response.errorMessage);
      this.membership.onHeartbeatAnswer(
        outgoing.seq,
        {
          errorCode: String(response.errorCode),
          error,
          retriable: error === null || isHeartbeatRetriable(error),
          memberEpoch: response.memberEpoch,
          heartbeatIntervalMs: response.heartbeatIntervalMs,
          sessionTimeoutMs: response.sessionTimeoutMs,
          assignment: response.assignment,
        },
        performance.now(),
      );
    } catch (error: unknown) {
      this.membership.onHeartbeatFailure(
        outgoing.seq,
        { retriable: isHeartbeatRetriable(error), error },
        performance.now(),
      );
    }
    this.pump();
  }

  /** One timer for the next heartbeat or the session deadline, whichever comes first. */
  private armTimer(nowMs: number): void {
    const heartbeatMs = this.membership.heartbeatDueMs();
    const fenceMs = this.membership.sessionDeadlineMs();
    const dueMs =
      heartbeatMs === null
        ? fenceMs
        : fenceMs === null
          ? heartbeatMs
          : Math.min(heartbeatMs, fenceMs);
    if (dueMs === this.timerDueMs) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerDueMs = dueMs;
    if (dueMs === null) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerDueMs = null;
        this.pump();
      },
      Math.max(0, Math.ceil(dueMs - nowMs)),
    );
    this.timer.unref();
  }

  // ---- commits ---------------------------------------------------------------------------------

  /**
   * Offsets of owned partitions that moved since their last known commit: after every record
   * handed out, or (`processedOnly`) after the records the application moved past, which
   * excludes the record it holds.
   */
  private offsetsToCommit(processedOnly: boolean): CommitOffset[] {
    const held = processedOnly ? this.holding : null;
    const offsets: CommitOffset[] = [];
    for (const [key, state] of this.states) {
      if (state.position === null || !this.membership.isOwned(key)) continue;
      let offset = state.position;
      let leaderEpoch = state.leaderEpoch;
      if (held !== null && held.partition === state.partition && held.topic === state.topic) {
        offset = held.offset;
        leaderEpoch = -1;
      }
      if (offset === state.committedOffset) continue;
      const commit = { topic: state.topic, partition: state.partition, offset, leaderEpoch };
      this.offsetOwners.set(commit, state);
      offsets.push(commit);
    }
    return offsets;
  }

  private armAutoCommit(): void {
    if (!this.enableAutoCommit || this.autoCommitTimer !== null || this.closed) return;
    this.autoCommitTimer = setTimeout(() => {
      this.autoCommitTimer = null;
      this.autoCommit();
      this.armAutoCommit();
    }, this.autoCommitIntervalMs);
    this.autoCommitTimer.unref();
  }

  private autoCommit(): void {
    if (this.membership.commitIdentity() === null) return;
    const offsets = this.offsetsToCommit(true);
    if (offsets.length === 0) return;
    this.commits.enqueue(offsets).catch((error: unknown) => {
      this.reportAutoCommitError(error, offsets);
    });
  }

  private reportAutoCommitError(error: unknown, offsets: readonly CommitOffset[]): void {
    try {
      this.callbacks.autoCommitError?.(error, offsets);
    } catch {
      // A throwing error callback must not become an unhandled rejection.
    }
  }

  /** Sends one commit for the CommitQueue (see commit() for the retries and errors). */
  private async sendCommit(offsets: readonly CommitOffset[]): Promise<void> {
    let pending = offsets;
    const lost: CommitOffset[] = [];
    for (let attempt = 0; ; attempt++) {
      // Past the session deadline the partitions may be another member's: self-fence first.
      if (performance.now() >= this.fenceAtMs) this.pump();
      lost.push(...pending.filter((o) => !this.isStillOwned(o)));
      pending = pending.filter((o) => this.isStillOwned(o));
      if (pending.length === 0) break;
      const identity = this.membership.commitIdentity();
      if (identity === null) {
        throw new BrokerError(
          'UNKNOWN_MEMBER_ID',
          `member ${this.memberId} has no epoch in group "${this.groupId}" right now (it is joining, has lost its partitions, or has left); nothing was committed`,
        );
      }
      const request = {
        groupId: this.groupId,
        memberId: identity.memberId,
        memberEpoch: identity.memberEpoch,
        topics: commitTopics(pending),
      };
      const response = await this.coordinator.call<OffsetCommitResponse__Output>(
        this.groupId,
        (client, options, callback) => client.offsetCommit(request, options, callback),
        { signal: this.abort.signal },
      );
      const code = String(response.errorCode);
      if (code === 'NONE') {
        this.onCommitted(pending, response);
        break;
      }
      if (code === 'STALE_MEMBER_EPOCH' && attempt < STALE_RETRIES_MAX) {
        await this.nextHeartbeatAnswer();
        continue;
      }
      if (code === 'UNKNOWN_MEMBER_ID' || code === 'FENCED_MEMBER_EPOCH') {
        this.membership.onCommitFenced(identity.generation, performance.now());
        this.pump();
        throw new BrokerError(
          code,
          `group "${this.groupId}" refused the commit of member ${this.memberId}: ${response.errorMessage}; the member treats its partitions as lost and joins again`,
        );
      }
      throw brokerErrorOf(response.errorCode, response.errorMessage) as BrokerError;
    }
    if (lost.length > 0) {
      const names = lost.map((o) => `${o.topic}-${o.partition}`).join(', ');
      throw new BrokerError(
        'FENCED_MEMBER_EPOCH',
        `member ${this.memberId} lost ${names} (fenced, removed, or silent past its session) before the commit was sent; nothing was committed for them`,
      );
    }
  }

  /** False for an offset taken from a position whose ownership has ended since. */
  private isStillOwned(offset: CommitOffset): boolean {
    const owner = this.offsetOwners.get(offset);
    if (owner === undefined) return true;
    const key = partitionKey(offset);
    return this.states.get(key) === owner && this.membership.isOwned(key);
  }

  /** Notes what was committed; throws the first partition's error, naming it. */
  private onCommitted(
    offsets: readonly CommitOffset[],
    response: OffsetCommitResponse__Output,
  ): void {
    const failed = new Map<string, BrokerError>();
    for (const topic of response.topics) {
      for (const result of topic.partitions) {
        const error = brokerErrorOf(result.errorCode, result.errorMessage);
        if (error !== null)
          failed.set(partitionKey({ topic: topic.topic, partition: result.partition }), error);
      }
    }
    let first: BrokerError | null = null;
    for (const o of offsets) {
      const key = partitionKey(o);
      const error = failed.get(key);
      if (error !== undefined) {
        first ??= new BrokerError(
          error.code,
          `commit of ${o.topic}-${o.partition}: ${error.message}`,
        );
        continue;
      }
      const state = this.states.get(key);
      if (state !== undefined) state.committedOffset = o.offset;
    }
    if (first !== null) throw first;
  }

  /** Waits for the next successful heartbeat answer (asking for one now), at most a session. */
  private async nextHeartbeatAnswer(): Promise<void> {
    const before = this.membership.answerCount;
    this.membership.heartbeatNow();
    this.pump();
    await this.waitUntil(() => this.membership.answerCount > before, this.sessionTimeoutMs);
  }

  // ---- waiting and closing ---------------------------------------------------------------------

  private async shutdown(): Promise<void> {
    this.closed = true;
    if (this.autoCommitTimer !== null) clearTimeout(this.autoCommitTimer);
    this.autoCommitTimer = null;
    this.membership.leave();
    this.pump();
    await this.waitUntil(
      () =>
        !this.taskRunning &&
        (this.membership.phase === 'left' || this.membership.phase === 'failed'),
      CLOSE_TIMEOUT_MS,
      true,
    );
    await this.commits.idle();
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.inner.close();
    await this.polling;
    this.pool.close();
    this.wake();
  }

  /** Waits until `condition` holds or `timeoutMs` passes; woken by every pump. */
  private async waitUntil(
    condition: () => boolean,
    timeoutMs: number,
    keepAlive = false,
  ): Promise<boolean> {
    const deadlineMs = performance.now() + timeoutMs;
    while (!condition()) {
      const leftMs = deadlineMs - performance.now();
      if (leftMs <= 0 || this.stopped) return condition();
      await this.waitForChange(leftMs, keepAlive);
    }
    return true;
  }

  /**
   * Resolves on the next wake() (a pump, a poll's end, close), or after `timeoutMs`. The timer
   * keeps the process alive only when `keepAlive` (close() waiting for the leave).
   */
  private waitForChange(timeoutMs?: number, keepAlive = false): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => this.wake(), Math.max(1, Math.ceil(timeoutMs)));
        if (!keepAlive) timer.unref();
      }
      this.wakers.push(() => {
        if (timer !== null) clearTimeout(timer);
        resolve();
      });
    });
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  private checkOpen(): void {
    if (this.closed) throw new BrookClientError('CANCELLED', 'the group consumer is closed', false);
  }

  private checkNotStopped(): void {
    if (this.stopped)
      throw new BrookClientError('CANCELLED', 'the group consumer is closed', false);
  }
}

/** Heartbeat failures worth another attempt: all but a refused request or subscription. */
function isHeartbeatRetriable(error: unknown): boolean {
  if (error instanceof BrokerError) return error.retriable || error.code === 'UNKNOWN_SERVER_ERROR';
  if (error instanceof BrookClientError) {
    return !['INVALID_ARGUMENT', 'UNIMPLEMENTED', 'CANCELLED', 'FAILED_PRECONDITION'].includes(
      error.code,
    );
  }
  return false;
}

function subscriptionOf(topics: readonly string[] | RegExp): MemberSubscription {
  if (topics instanceof RegExp) {
    const flags = topics.flags.replace(/[gyud]/g, '');
    if (flags !== '') {
      throw new RangeError(
        `subscribe: the broker matches a regex's source against whole topic names with the 'u' flag only; flags "${flags}" cannot be sent`,
      );
    }
    if (topics.source === '(?:)') throw new RangeError('subscribe: the regex is empty');
    return { topicNames: [], topicRegex: topics.source };
  }
  if (!Array.isArray(topics) || topics.length === 0) {
    throw new RangeError('subscribe: give at least one topic name, or a RegExp');
  }
  for (const name of topics) {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new RangeError('subscribe: topic names must be non-empty strings');
    }
  }
  return { topicNames: [...new Set(topics)].sort(), topicRegex: '' };
}

function checkGroupId(groupId: unknown): void {
  if (
    typeof groupId !== 'string' ||
    groupId.trim() === '' ||
    groupId.length > GROUP_ID_LENGTH_MAX
  ) {
    throw new RangeError(
      `groupId must be a non-blank string of 1-${GROUP_ID_LENGTH_MAX} characters`,
    );
  }
}

function checkOptions(
  options: GroupConsumerOptions,
  reset: AutoOffsetReset,
  clientId: string,
): void {
  if (!['earliest', 'latest', 'none'].includes(reset)) {
    throw new RangeError(`autoOffsetReset must be 'earliest', 'latest' or 'none'`);
  }
  if (
    options.serverAssignor !== undefined &&
    !['uniform', 'range'].includes(options.serverAssignor)
  ) {
    throw new RangeError(`serverAssignor must be 'uniform' or 'range'`);
  }
  if (options.enableAutoCommit !== undefined && typeof options.enableAutoCommit !== 'boolean') {
    throw new RangeError('enableAutoCommit must be a boolean');
  }
  if (typeof clientId !== 'string' || clientId.length > 255) {
    throw new RangeError('clientId must be a string of at most 255 characters');
  }
  for (const name of [
    'onPartitionsAssigned',
    'onPartitionsRevoked',
    'onPartitionsLost',
    'onAutoCommitError',
  ] as const) {
    const callback = options[name];
    if (callback !== undefined && typeof callback !== 'function') {
      throw new RangeError(`${name} must be a function`);
    }
  }
}

function checkOffsets(offsets: readonly CommitOffset[]): CommitOffset[] {
  if (!Array.isArray(offsets)) throw new RangeError('commit: offsets must be an array');
  return offsets.map((o) => {
    if (typeof o.topic !== 'string' || o.topic === '') {
      throw new RangeError('commit: topic must be a non-empty string');
    }
    checkInteger('commit: partition', o.partition, 0, 2 ** 31 - 1);
    checkInteger('commit: offset', o.offset, 0, Number.MAX_SAFE_INTEGER);
    if (o.leaderEpoch !== undefined)
      checkInteger('commit: leaderEpoch', o.leaderEpoch, -1, 2 ** 31 - 1);
    if (o.metadata !== undefined && typeof o.metadata !== 'string') {
      throw new RangeError('commit: metadata must be a string');
    }
    return { ...o };
  });
}

function byTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const out = new Map<string, number[]>();
  for (const { topic, partition } of sortPartitions(partitions)) {
    const list = out.get(topic) ?? [];
    list.push(partition);
    out.set(topic, list);
  }
  return [...out].map(([topic, list]) => ({ topic, partitions: list }));
}

function commitTopics(offsets: readonly CommitOffset[]): {
  topic: string;
  partitions: { partition: number; offset: number; leaderEpoch: number; metadata: string }[];
}[] {
  const out = new Map<
    string,
    { partition: number; offset: number; leaderEpoch: number; metadata: string }[]
  >();
  for (const o of offsets) {
    const list = out.get(o.topic) ?? [];
    list.push({
      partition: o.partition,
      offset: o.offset,
      leaderEpoch: o.leaderEpoch ?? -1,
      metadata: o.metadata ?? '',
    });
    out.set(o.topic, list);
  }
  return [...out].map(([topic, partitions]) => ({ topic, partitions }));
}

/** A performance.now() reading as epoch ms (RebalanceInfo's clock). */
function epochMs(monotonicMs: number): number {
  return performance.timeOrigin + monotonicMs;
}

/** A promise resolved after `ms`, whose timer does not keep the process alive. */
function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Resolves after the event loop has polled for I/O once. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
