/**
 * One partition this node leads, in one leader epoch: tracks each follower's progress from its
 * fetches, keeps the high watermark at the smallest log end offset over the ISR, and asks the
 * controller (AlterPartition) to shrink the ISR when a follower lags longer than
 * replica.lag.time.max.ms and to expand it when one catches up. One ISR change is in flight at a
 * time; meanwhile the HW counts the union of the old and proposed sets (KIP-497).
 *
 * The leader owns its log's high watermark (the log's follows-durable-end mode is off), and
 * only ever raises it: a new leader starts from its own stored state and raises it as the
 * followers report.
 */
import { setMaxListeners } from 'node:events';
import type { PartitionLog } from '../log/index.js';
import type { PartitionImage } from '../metadata/index.js';
import {
  caughtUpAfterFetch,
  highWatermarkOf,
  joinableReplicas,
  laggingMembers,
  type FollowerProgress,
} from './isr.js';

/** An AlterPartition call; resolves with the partition state the controller answered. */
export type AlterIsr = (request: {
  readonly topicId: string;
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly newIsr: readonly number[];
}) => Promise<{ errorCode: string; isr: readonly number[]; partitionEpoch: number }>;

/** Wait after a failed AlterPartition before proposing another change. */
const ALTER_RETRY_MS = 1_000;

interface MutableProgress extends FollowerProgress {
  logEndOffset: number;
  logStartOffset: number;
  lastCaughtUpMs: number;
  lastFetchMs: number;
  leaderEndAtLastFetch: number;
}

export interface PartitionLeaderOptions {
  readonly nodeId: number;
  readonly topicId: string;
  readonly log: PartitionLog;
  readonly partition: PartitionImage;
  readonly lagTimeMaxMs: number;
  readonly alterIsr: AlterIsr;
  readonly now: () => number;
  readonly onError: (error: unknown, what: string) => void;
}

export class PartitionLeader {
  readonly topicId: string;
  readonly partition: number;
  readonly log: PartitionLog;
  readonly leaderEpoch: number;
  private replicas: readonly number[];
  /** Replicas a reassignment is adding: throttled (ReplicationThrottle) until in sync. */
  private adding: ReadonlySet<number>;
  private isr: ReadonlySet<number>;
  private partitionEpoch: number;
  /** The proposed ISR while an AlterPartition is in flight, else null. */
  private pendingIsr: ReadonlySet<number> | null = null;
  private readonly followers = new Map<number, MutableProgress>();
  /** Offset where this leader epoch's first batch went (the log end when it took over). */
  private readonly epochStartOffset: number;
  private readonly waiters = new Set<() => void>();
  private readonly resignation = new AbortController();
  /** No ISR change is proposed before this time (ms) after one was refused. */
  private alterAllowedAtMs = 0;

  constructor(private readonly options: PartitionLeaderOptions) {
    this.topicId = options.topicId;
    this.partition = options.partition.partition;
    this.log = options.log;
    this.leaderEpoch = options.partition.leaderEpoch;
    this.replicas = options.partition.replicas;
    this.adding = new Set(options.partition.addingReplicas);
    this.isr = new Set(options.partition.isr);
    this.partitionEpoch = options.partition.partitionEpoch;
    this.epochStartOffset = options.log.logEndOffset;
    // Each acks=all produce waiting on this partition listens for resignation until it is
    // answered: many at once is load, not a leak, so no listener limit.
    setMaxListeners(0, this.resignation.signal);
    // ISR members get a full lag allowance from the takeover, as in Kafka.
    this.trackFollowers(options.now());
  }

  /** Members of the committed ISR (no copy: read on every acks=all produce). */
  get isrSize(): number {
    return this.isr.size;
  }

  /** A newer image of the same leader epoch: the ISR or replicas may have changed. */
  update(partition: PartitionImage): void {
    if (partition.partitionEpoch <= this.partitionEpoch) return;
    this.partitionEpoch = partition.partitionEpoch;
    this.isr = new Set(partition.isr);
    this.replicas = partition.replicas;
    this.adding = new Set(partition.addingReplicas);
    // A reassignment adds replicas (they start fetching from scratch) and later removes some.
    this.trackFollowers(this.options.now());
    this.maybeAdvanceHighWatermark();
    // A smaller ISR may be all a DeleteRecords waiting on the low watermark needed.
    this.wake();
  }

  /** Progress entries for exactly the current replicas other than this leader. */
  private trackFollowers(nowMs: number): void {
    for (const replicaId of this.followers.keys()) {
      if (!this.replicas.includes(replicaId)) this.followers.delete(replicaId);
    }
    for (const replicaId of this.replicas) {
      if (replicaId === this.options.nodeId || this.followers.has(replicaId)) continue;
      this.followers.set(replicaId, {
        replicaId,
        logEndOffset: -1,
        logStartOffset: 0,
        lastCaughtUpMs: nowMs,
        lastFetchMs: nowMs,
        leaderEndAtLastFetch: -1,
      });
    }
  }

  /**
   * Whether fetches for `replicaId` count against the replication throttle: a replica being
   * added by a reassignment and not in sync yet (Kafka throttles only out-of-sync replicas, so
   * acks=all never waits on the quota).
   */
  isThrottled(replicaId: number): boolean {
    return this.adding.has(replicaId) && !this.isr.has(replicaId);
  }

  /**
   * Records a follower's fetch at `fetchOffset` (its log end), with its log start; may raise the
   * HW, and wakes DeleteRecords calls waiting for the low watermark when its start moved.
   */
  onFollowerFetch(replicaId: number, fetchOffset: number, logStartOffset: number): void {
    const progress = this.followers.get(replicaId);
    if (progress === undefined) return;
    if (logStartOffset !== progress.logStartOffset) {
      progress.logStartOffset = logStartOffset;
      this.wake();
    }
    const now = this.options.now();
    const leaderEnd = this.log.durableEndOffset;
    progress.lastCaughtUpMs = caughtUpAfterFetch(progress, fetchOffset, leaderEnd, now);
    progress.lastFetchMs = now;
    progress.leaderEndAtLastFetch = leaderEnd;
    progress.logEndOffset = fetchOffset;
    this.maybeAdvanceHighWatermark();
    this.maybeExpandIsr();
  }

  /**
   * The smallest log start offset over this leader and its in-sync followers (Kafka's low
   * watermark): the records before it are gone from every replica that could lead next.
   */
  lowWatermark(): number {
    let low = this.log.logStartOffset;
    for (const replicaId of this.isr) {
      if (replicaId === this.options.nodeId) continue;
      low = Math.min(low, this.followers.get(replicaId)?.logStartOffset ?? 0);
    }
    return low;
  }

  /**
   * Resolves true once lowWatermark() reaches `offset`; false after `timeoutMs`, on resignation
   * or when `signal` aborts. Wakes the followers' long polls first, so they learn the leader's
   * new log start now rather than with their next fetch.
   */
  async waitForLowWatermark(
    offset: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<boolean> {
    this.wake();
    const deadlineMs = this.options.now() + timeoutMs;
    while (this.lowWatermark() < offset) {
      const leftMs = deadlineMs - this.options.now();
      if (leftMs <= 0 || this.isResigned || signal.aborted) return false;
      await this.waitForChange(leftMs, signal);
    }
    return true;
  }

  /** Called after local appends became durable: the HW may move, waiting fetches wake. */
  onAppended(): void {
    this.maybeAdvanceHighWatermark();
    this.wake();
  }

  /** Periodic: shrink the ISR of followers that lag too long. */
  checkLag(): void {
    if (!this.mayAlter()) return;
    const lagging = laggingMembers(
      this.options.nodeId,
      this.isr,
      this.followers,
      this.options.now(),
      this.options.lagTimeMaxMs,
    );
    if (lagging.length === 0) return;
    const newIsr = [...this.isr].filter((id) => !lagging.includes(id));
    this.proposeIsr(newIsr, 'shrink');
  }

  /** Resolves when new data may be there for fetchers (or on resignation), or after `timeoutMs`. */
  waitForChange(timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }

  /** This node no longer leads in this epoch: wake waiters, stop asking for ISR changes. */
  resign(): void {
    this.resignation.abort();
    this.wake();
  }

  /** Aborts when this node stops leading the partition in this epoch. */
  get resigned(): AbortSignal {
    return this.resignation.signal;
  }

  private get isResigned(): boolean {
    return this.resignation.signal.aborted;
  }

  private maybeAdvanceHighWatermark(): void {
    if (this.isResigned) return;
    const counted =
      this.pendingIsr === null ? this.isr : new Set([...this.isr, ...this.pendingIsr]);
    const hw = highWatermarkOf(
      this.options.nodeId,
      this.log.durableEndOffset,
      counted,
      this.followers,
    );
    if (hw <= this.log.highWatermark) return;
    // Followers are not woken for a new HW alone: each would answer its long poll empty and
    // fetch again, a round trip per record. They learn the HW with the next data, or when the
    // poll times out; only a new leader starts from it.
    this.log.setHighWatermark(hw);
  }

  private mayAlter(): boolean {
    return (
      !this.isResigned && this.pendingIsr === null && this.options.now() >= this.alterAllowedAtMs
    );
  }

  private maybeExpandIsr(): void {
    if (!this.mayAlter()) return;
    const joinable = joinableReplicas(
      this.replicas,
      this.isr,
      this.followers,
      this.log.highWatermark,
      this.epochStartOffset,
    );
    if (joinable.length === 0) return;
    this.proposeIsr([...this.isr, ...joinable], 'expand');
  }

  private proposeIsr(newIsr: readonly number[], why: 'shrink' | 'expand'): void {
    this.pendingIsr = new Set(newIsr);
    this.options
      .alterIsr({
        topicId: this.topicId,
        partition: this.partition,
        leaderEpoch: this.leaderEpoch,
        partitionEpoch: this.partitionEpoch,
        newIsr,
      })
      .then(
        (answer) => {
          if (answer.errorCode === 'NONE' && answer.partitionEpoch > this.partitionEpoch) {
            this.partitionEpoch = answer.partitionEpoch;
            this.isr = new Set(answer.isr);
          }
          if (answer.errorCode !== 'NONE') this.refused(answer.errorCode, why);
        },
        (error: unknown) => this.refused(error, why),
      )
      .finally(() => {
        this.pendingIsr = null;
        this.maybeAdvanceHighWatermark();
      });
  }

  /**
   * An ISR change failed (refused, or no controller): wait before the next one, so a follower
   * the controller will not take (fenced, shutting down) is not proposed on every fetch.
   */
  private refused(reason: unknown, why: 'shrink' | 'expand'): void {
    this.alterAllowedAtMs = this.options.now() + ALTER_RETRY_MS;
    this.options.onError(reason, `ISR ${why}`);
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
