/**
 * The follower side of partition replication: one fetcher per leader node, pulling every
 * partition this node follows from it (Kafka's ReplicaFetcherThread). Per partition:
 *
 *   truncating ──OffsetsForLeaderEpoch──▶ truncate to the leader's end of our last epoch
 *        ▲                                           │
 *        └── OFFSET_OUT_OF_RANGE past the leader's end      ▼
 *                                             fetching (fetch offset = our log end)
 *
 * Truncation by leader epoch, not by high watermark (KIP-101/279): records past the point where
 * our last epoch ends in the leader's log were never committed and the leader does not have
 * them, so they go before we fetch. The offset we fetch from tells the leader our log end,
 * which is how the leader advances its high watermark and keeps the ISR.
 *
 * The loop is strictly sequential per fetcher: one request in flight, appends and truncations
 * awaited before the next, so a partition's log never sees a truncation beside an append.
 *
 * Every answer also carries the leader's log start, which DeleteRecords (and retention) moved
 * there; the follower moves its own up to it, never past its own high watermark (Kafka's
 * maybeIncrementLogStartOffset on the follower), so records deleted on the leader stay deleted
 * when this replica leads. That deleteBefore runs beside the loop, at most one per partition:
 * removing many batches must not hold up fetching, and it touches only the head of the log,
 * which appends never do. The log runs it and any truncation one after the other.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokerError } from '../errors/index.js';
import type { PartitionLog } from '../log/index.js';
import type {
  OffsetsForLeaderEpochRequest,
  OffsetsForLeaderEpochResponse__Output,
  ReplicaFetchRequest,
  ReplicaFetchResponse__Output,
} from '../proto/index.js';

/** The follower's view of the leader's ReplicaFetch service (peer.proto). */
export interface ReplicaFetchClient {
  fetch(
    address: string,
    request: ReplicaFetchRequest,
    signal: AbortSignal,
  ): Promise<ReplicaFetchResponse__Output>;
  offsetsForLeaderEpoch(
    address: string,
    request: OffsetsForLeaderEpochRequest,
    signal: AbortSignal,
  ): Promise<OffsetsForLeaderEpochResponse__Output>;
}

export interface FetcherOptions {
  readonly nodeId: number;
  readonly leaderId: number;
  readonly leaderAddress: string;
  readonly brokerEpoch: () => number;
  readonly client: ReplicaFetchClient;
  readonly fetchWaitMaxMs: number;
  readonly fetchMaxBytes: number;
  readonly logger: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    debug(obj: object, msg: string): void;
  };
}

interface FollowedPartition {
  readonly key: string;
  readonly topicId: string;
  readonly partition: number;
  readonly log: PartitionLog;
  readonly leaderEpoch: number;
  state: 'truncating' | 'fetching' | 'waiting';
  /** While waiting: retry after this time (Date.now ms). */
  retryAtMs: number;
  /** The deleteBefore moving our log start up to the leader's, while one runs; else null. */
  logStartAdvance: Promise<void> | null;
}

const BACKOFF_MS_MIN = 50;
const BACKOFF_MS_MAX = 1_000;
/** A partition refused with a retriable error waits this long for metadata to catch up. */
const PARTITION_RETRY_MS = 200;
const RESPONSE_BYTES_MAX = 16 * 1024 * 1024;

export class FollowerFetcher {
  private readonly partitions = new Map<string, FollowedPartition>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private wakeLoop: (() => void) | null = null;
  private backoffMs = BACKOFF_MS_MIN;

  constructor(private readonly options: FetcherOptions) {}

  get leaderId(): number {
    return this.options.leaderId;
  }

  get leaderAddress(): string {
    return this.options.leaderAddress;
  }

  get size(): number {
    return this.partitions.size;
  }

  /** Starts following `log` from this fetcher's leader in `leaderEpoch`. */
  add(topicId: string, partition: number, log: PartitionLog, leaderEpoch: number): void {
    const key = `${topicId}/${partition}`;
    this.partitions.set(key, {
      key,
      topicId,
      partition,
      log,
      leaderEpoch,
      state: 'truncating',
      retryAtMs: 0,
      logStartAdvance: null,
    });
    this.loop ??= this.run();
    this.wakeLoop?.();
  }

  /**
   * Stops following a partition. Resolves once no request of this fetcher can touch its log
   * any more (the request in flight, if any, has been handled). A log start advance already
   * under way may end later: it is a deleteBefore at or below the log's high watermark, which
   * is valid whatever role the replica takes next, and the log orders it before any truncation.
   */
  async remove(topicId: string, partition: number): Promise<void> {
    this.partitions.delete(`${topicId}/${partition}`);
    // A long poll may be waiting at the old leader: cut it short. Only the network wait is
    // cancelled; an append or truncation already under way finishes first.
    this.roundAbort.abort();
    await this.inFlight;
  }

  /** Stops the fetcher; resolves when its loop has ended. */
  async close(): Promise<void> {
    this.abort.abort();
    this.roundAbort.abort();
    this.wakeLoop?.();
    await this.loop;
  }

  private inFlight: Promise<void> = Promise.resolve();
  private roundAbort = new AbortController();

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      if (this.partitions.size === 0) {
        await new Promise<void>((resolve) => {
          this.wakeLoop = resolve;
        });
        this.wakeLoop = null;
        continue;
      }
      let finish!: () => void;
      this.inFlight = new Promise((resolve) => (finish = resolve));
      // One controller per round, aborted by remove() and by close(): not AbortSignal.any over
      // the fetcher's lifetime signal, which in Node 20 keeps every round's signal alive.
      this.roundAbort = new AbortController();
      try {
        await this.round(this.roundAbort.signal);
        this.backoffMs = BACKOFF_MS_MIN;
      } catch (error) {
        if (signal.aborted) break;
        if (this.roundAbort.signal.aborted) continue;
        this.options.logger.debug(
          { err: error, leaderId: this.options.leaderId, backoffMs: this.backoffMs },
          'replica fetch failed; retrying',
        );
        await pause(this.backoffMs, signal);
        this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MS_MAX);
      } finally {
        finish();
      }
    }
  }

  private async round(signal: AbortSignal): Promise<void> {
    const now = Date.now();
    for (const p of this.partitions.values()) {
      if (p.state === 'waiting' && now >= p.retryAtMs) p.state = 'truncating';
    }
    const truncating = [...this.partitions.values()].filter((p) => p.state === 'truncating');
    if (truncating.length > 0) await this.truncate(truncating, signal);
    const fetching = [...this.partitions.values()].filter((p) => p.state === 'fetching');
    if (fetching.length === 0) {
      await pause(PARTITION_RETRY_MS, signal);
      return;
    }
    await this.fetch(fetching, signal);
  }

  private async truncate(partitions: FollowedPartition[], signal: AbortSignal): Promise<void> {
    const answer = await this.options.client.offsetsForLeaderEpoch(
      this.options.leaderAddress,
      {
        replicaId: this.options.nodeId,
        partitions: partitions.map((p) => ({
          topicId: p.topicId,
          partition: p.partition,
          currentLeaderEpoch: p.leaderEpoch,
          leaderEpoch: p.log.latestEpoch(),
        })),
      },
      signal,
    );
    for (const result of answer.partitions) {
      const p = this.partitions.get(`${result.topicId}/${result.partition}`);
      if (p === undefined || p.state !== 'truncating') continue;
      if (result.errorCode !== 'NONE') {
        this.wait(p, result.errorCode, result.errorMessage);
        continue;
      }
      const { offset, isFinal } = this.truncation(p.log, result.leaderEpoch, result.endOffset);
      if (offset < p.log.logEndOffset) {
        this.options.logger.info(
          {
            partition: p.log.name,
            from: p.log.logEndOffset,
            to: offset,
            leaderId: this.options.leaderId,
            leaderEpoch: p.leaderEpoch,
          },
          'truncating records the new leader does not have',
        );
        await p.log.truncateTo(offset);
      }
      if (isFinal) p.state = 'fetching';
    }
  }

  /**
   * Where our log must end to agree with the leader's, given the leader's answer for our latest
   * epoch: the newest epoch it has at or below ours and where that epoch ends in its log. When
   * we hold that epoch too, the logs agree up to the smaller of the two ends, and that is final.
   * When we do not, our records from there on came from leaders the new one never followed:
   * truncate to the smaller end and ask again with our (now older) latest epoch, as KIP-279
   * does. With no shared epoch at all, our whole log diverges.
   */
  private truncation(
    log: PartitionLog,
    leaderEpoch: number,
    leaderEndOffset: number,
  ): { offset: number; isFinal: boolean } {
    if (log.latestEpoch() < 0) return { offset: log.logEndOffset, isFinal: true };
    if (leaderEpoch < 0 || leaderEndOffset < 0)
      return { offset: log.logStartOffset, isFinal: true };
    const ours = log.endOffsetForEpoch(leaderEpoch);
    const ourEnd = ours.epoch < 0 ? log.logStartOffset : ours.endOffset;
    const offset = Math.max(
      log.logStartOffset,
      Math.min(ourEnd, leaderEndOffset, log.logEndOffset),
    );
    return { offset, isFinal: ours.epoch === leaderEpoch || offset <= log.logStartOffset };
  }

  private async fetch(partitions: FollowedPartition[], signal: AbortSignal): Promise<void> {
    const answer = await this.options.client.fetch(
      this.options.leaderAddress,
      {
        replicaId: this.options.nodeId,
        brokerEpoch: this.options.brokerEpoch(),
        maxWaitMs: this.options.fetchWaitMaxMs,
        partitionMaxBytes: this.options.fetchMaxBytes,
        maxBytes: RESPONSE_BYTES_MAX,
        partitions: partitions.map((p) => ({
          topicId: p.topicId,
          partition: p.partition,
          fetchOffset: p.log.logEndOffset,
          currentLeaderEpoch: p.leaderEpoch,
          logStartOffset: p.log.logStartOffset,
        })),
      },
      signal,
    );
    for (const result of answer.partitions) {
      const p = this.partitions.get(`${result.topicId}/${result.partition}`);
      if (p === undefined || p.state !== 'fetching') continue;
      if (result.errorCode === 'OFFSET_OUT_OF_RANGE') {
        await this.outOfRange(p, result.logStartOffset, result.logEndOffset);
        continue;
      }
      if (result.errorCode !== 'NONE') {
        this.wait(p, result.errorCode, result.errorMessage);
        continue;
      }
      if (result.recordBatches.length > 0 && !(await this.append(p, result.recordBatches))) {
        continue;
      }
      const hw = Math.min(result.highWatermark, p.log.durableEndOffset);
      if (hw >= p.log.logStartOffset && hw !== p.log.highWatermark) p.log.setHighWatermark(hw);
      this.maybeAdvanceLogStart(p, result.logStartOffset);
    }
  }

  /**
   * Moves our log start up to the leader's, bounded by our high watermark: DeleteRecords cannot
   * be derived from our own log, and without this a replica that becomes leader would serve the
   * deleted records again and move the earliest offset back. Through deleteBefore, the log's
   * crash-safe maintenance path, in the background and one at a time per partition: while one
   * runs, later answers are skipped, and the next answer after it ends carries the leader's log
   * start again.
   */
  private maybeAdvanceLogStart(p: FollowedPartition, leaderStartOffset: number): void {
    if (p.logStartAdvance !== null) return;
    const log = p.log;
    // Only what is committed here may go; deleteBefore checks the HW again when it runs.
    const target = Math.min(leaderStartOffset, log.highWatermark);
    if (target <= log.logStartOffset) return;
    p.logStartAdvance = log
      .deleteBefore(target)
      .then(
        (startOffset) => {
          this.options.logger.debug(
            { partition: log.name, logStartOffset: startOffset, leaderId: this.options.leaderId },
            "moved the log start up to the leader's",
          );
        },
        (error: unknown) => {
          // A BrokerError means the log moved under us (its HW went back, it was deleted, or a
          // storage fault the fatal handler already has): a later answer tries again. Anything
          // else is a bug and stays a rejection nobody handles, which ends the process.
          if (!(error instanceof BrokerError)) throw error;
          this.options.logger.debug(
            { partition: log.name, target, errorCode: error.code, message: error.message },
            "could not move the log start up to the leader's; retrying on a later answer",
          );
        },
      )
      .finally(() => {
        p.logStartAdvance = null;
      });
  }

  /**
   * Appends what the leader sent; false when the log refused it. Batches that do not continue
   * our log mean it diverged after all (truncate again); damaged ones are fetched again.
   */
  private async append(p: FollowedPartition, batches: readonly Buffer[]): Promise<boolean> {
    try {
      await p.log.appendReplicated(batches);
      return true;
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
      if (error.code === 'OFFSET_OUT_OF_RANGE') p.state = 'truncating';
      this.options.logger.warn(
        { partition: p.log.name, errorCode: error.code, message: error.message },
        'refused batches from the leader; truncating or fetching again',
      );
      return false;
    }
  }

  private async outOfRange(
    p: FollowedPartition,
    leaderStartOffset: number,
    leaderEndOffset: number,
  ): Promise<void> {
    if (p.log.logEndOffset > leaderEndOffset) {
      // We hold records past the leader's end: find the divergence again.
      p.state = 'truncating';
      return;
    }
    // Otherwise the answer raced with the leader's log moving; the next fetch asks again.
    if (p.log.logEndOffset >= leaderStartOffset) return;
    this.options.logger.info(
      { partition: p.log.name, logEndOffset: p.log.logEndOffset, leaderStartOffset },
      "follower is behind the leader's log start: restarting its log there",
    );
    await p.log.resetTo(leaderStartOffset);
  }

  private wait(p: FollowedPartition, errorCode: string, message: string): void {
    this.options.logger.debug(
      { partition: p.log.name, errorCode, message, leaderId: this.options.leaderId },
      'leader refused the partition for now; waiting for metadata',
    );
    p.state = 'waiting';
    p.retryAtMs = Date.now() + PARTITION_RETRY_MS;
  }
}

/** Waits `ms`, or less when `signal` aborts (never rejects). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => undefined);
}
