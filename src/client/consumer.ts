/**
 * The consumer: reads assigned partitions from their leaders with long-polling Fetch calls in
 * BATCHES format, decodes the stored batches (src/codec) and hands out records in offset order
 * per partition. There is no group membership here: partitions are assigned by the caller.
 *
 * The loop, per poll() or iterator step:
 *   1. partitions without a position get one (seek target, or autoOffsetReset) via ListOffsets;
 *   2. each leader with no fetch in flight gets one Fetch for its fetchable partitions (known
 *      position, nothing buffered, no backoff pending);
 *   3. answers are decoded into per-partition chunks; records are taken from the chunks and the
 *      position moves past each record as it is handed out.
 *
 * Invariant: a partition is in at most one fetch or one buffered chunk at a time, so at most
 * one fetch response per leader (bounded by fetchMaxBytes) is held in memory. A seek bumps the
 * partition's epoch; chunks and answers from an older epoch are dropped, never handed out.
 */
import { RecordBatch, batchesIn, decodeRecords } from '../codec/index.js';
import { BrokerError } from '../errors/index.js';
import type { FetchPartitionResponse__Output, FetchResponse__Output } from '../proto/index.js';
import {
  BrookClientError,
  brokerErrorOf,
  callUnary,
  isRetriable,
  parseBootstrap,
  ConnectionPool,
} from './connection.js';
import { listOffsets, type OffsetSpec } from './list-offsets.js';
import { MetadataCache } from './metadata-cache.js';
import { backoffMs, checkInteger, checkRetryPolicy, type RetryPolicy } from './retry.js';

const MiB = 1024 * 1024;

/** What to do when a partition has no valid position: start at the log start or end, or fail. */
export type AutoOffsetReset = 'earliest' | 'latest' | 'none';

export interface ConsumerOptions {
  /** Brokers to learn the cluster from: `host:port`, a list, or one comma-separated string. */
  readonly bootstrap: string | readonly string[];
  /** How long a fetch waits on the broker for fetchMinBytes, in ms (default 500). */
  readonly fetchMaxWaitMs?: number;
  /** A fetch answers once this many bytes are available (default 1). */
  readonly fetchMinBytes?: number;
  /** Byte limit of one fetch response (default 50 MiB). */
  readonly fetchMaxBytes?: number;
  /** Byte limit per partition in one fetch (default 1 MiB); one larger batch still comes. */
  readonly partitionMaxBytes?: number;
  /** Where to start without a position or after OFFSET_OUT_OF_RANGE (default 'earliest'). */
  readonly autoOffsetReset?: AutoOffsetReset;
  /** Deadline of one call beyond the fetch wait, in ms (default 30000). */
  readonly requestTimeoutMs?: number;
  /** Retries of ListOffsets lookups (default 5); fetches retry for as long as the consumer runs. */
  readonly retries?: number;
  /** First backoff after a failed fetch or lookup, in ms (default 100). */
  readonly retryBackoffMsMin?: number;
  /** Largest backoff, in ms (default 1000). */
  readonly retryBackoffMsMax?: number;
  /** Refresh a topic's metadata older than this, in ms (default 300000). */
  readonly metadataMaxAgeMs?: number;
}

/** A topic-partition. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/**
 * A consumed record. key, value and header values are views into the fetched batch: they stay
 * valid for as long as you hold them, and copying is only needed to drop the rest of the batch.
 */
export interface ConsumerRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Null when the record had no key. */
  readonly key: Buffer | null;
  /** Null for a tombstone. */
  readonly value: Buffer | null;
  readonly headers: readonly { readonly key: string; readonly value: Buffer }[];
  /** Create time, or the broker's append time when the topic uses LogAppendTime. */
  readonly timestampMs: number;
  /** Leader epoch of the partition when the record was appended. */
  readonly leaderEpoch: number;
}

/** A position for seek(): an offset, the log start or end, or the first record at a time. */
export type SeekPosition = number | OffsetSpec;

/** Consumption state of one assigned partition. */
class PartitionState {
  /** Next offset to hand out; null until resolved. */
  position: number | null = null;
  /** Where to resolve an unknown position from (the seek target or autoOffsetReset). */
  resetTo: OffsetSpec | null = null;
  /** Bumped by every seek; data fetched under an older epoch is stale. */
  epoch = 0;
  fetching = false;
  buffered = false;
  retryAtMs = 0;
  failures = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
}

/** Decoded records of one partition from one fetch, handed out front to back. */
interface Chunk {
  readonly state: PartitionState;
  readonly epoch: number;
  readonly records: ConsumerRecord[];
  index: number;
  /** Where the position goes after the last record: past the last fetched batch. */
  readonly nextOffset: number;
}

/**
 * A Kafka-style consumer over manually assigned partitions. Use one reader at a time: either
 * `for await (const record of consumer)` or poll() calls, not both at once.
 *
 * Errors: reading throws a BrokerError for what retrying cannot fix: OFFSET_OUT_OF_RANGE with
 * autoOffsetReset 'none', a failed position lookup after its retries (e.g.
 * UNKNOWN_TOPIC_OR_PARTITION), or a non-retriable fetch error. Unreachable or moving leaders are
 * retried with backoff for as long as the consumer runs.
 */
export class Consumer {
  private readonly pool = new ConnectionPool();
  private readonly metadata: MetadataCache;
  private readonly retry: RetryPolicy;
  private readonly fetchMaxWaitMs: number;
  private readonly fetchMinBytes: number;
  private readonly fetchMaxBytes: number;
  private readonly partitionMaxBytes: number;
  private readonly autoOffsetReset: AutoOffsetReset;
  private readonly requestTimeoutMs: number;
  private readonly assigned = new Map<string, PartitionState>();
  private readonly chunks: Chunk[] = [];
  private readonly fetchingFrom = new Set<string>();
  private readonly abort = new AbortController();
  private wakers: (() => void)[] = [];
  private failure: unknown = null;
  private closed = false;

  constructor(options: ConsumerOptions) {
    const bootstrap = parseBootstrap(options.bootstrap);
    this.fetchMaxWaitMs = options.fetchMaxWaitMs ?? 500;
    this.fetchMinBytes = options.fetchMinBytes ?? 1;
    this.fetchMaxBytes = options.fetchMaxBytes ?? 50 * MiB;
    this.partitionMaxBytes = options.partitionMaxBytes ?? 1 * MiB;
    this.autoOffsetReset = options.autoOffsetReset ?? 'earliest';
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.retry = {
      retries: options.retries ?? 5,
      retryBackoffMsMin: options.retryBackoffMsMin ?? 100,
      retryBackoffMsMax: options.retryBackoffMsMax ?? 1_000,
    };
    if (!['earliest', 'latest', 'none'].includes(this.autoOffsetReset)) {
      throw new RangeError(`autoOffsetReset must be 'earliest', 'latest' or 'none'`);
    }
    checkRetryPolicy(this.retry);
    checkInteger('fetchMaxWaitMs', this.fetchMaxWaitMs, 0, 60_000);
    checkInteger('fetchMinBytes', this.fetchMinBytes, 0, this.fetchMaxBytes);
    checkInteger('fetchMaxBytes', this.fetchMaxBytes, 1, 56 * MiB);
    checkInteger('partitionMaxBytes', this.partitionMaxBytes, 1, 32 * MiB);
    checkInteger('requestTimeoutMs', this.requestTimeoutMs, 1, 300_000);
    this.metadata = new MetadataCache(this.pool, bootstrap, {
      requestTimeoutMs: this.requestTimeoutMs,
      metadataMaxAgeMs: options.metadataMaxAgeMs ?? 300_000,
    });
  }

  /**
   * Replaces the assignment. Partitions kept keep their positions; new ones start without a
   * position (resolved by autoOffsetReset unless seek() sets one first).
   */
  assign(partitions: readonly TopicPartition[]): void {
    this.checkOpen();
    const next = new Map<string, PartitionState>();
    for (const tp of partitions) {
      if (typeof tp.topic !== 'string' || tp.topic === '') {
        throw new RangeError('assign: topic must be a non-empty string');
      }
      checkInteger('assign: partition', tp.partition, 0, 2 ** 31 - 1);
      const key = tpKey(tp);
      next.set(key, this.assigned.get(key) ?? new PartitionState(tp.topic, tp.partition));
    }
    for (const [key, state] of this.assigned) {
      if (!next.has(key)) state.epoch++;
    }
    this.assigned.clear();
    for (const [key, state] of next) this.assigned.set(key, state);
    this.wake();
  }

  /** The current assignment, in assignment order. */
  assignment(): TopicPartition[] {
    return [...this.assigned.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  /**
   * Moves an assigned partition's position: to an offset, to 'earliest' (the log start),
   * 'latest' (the high watermark: only new records), or the first record whose timestamp is >=
   * timestampMs (the high watermark if none is). Looks the offset up with ListOffsets and
   * rejects with its error when that fails after retries. Records fetched before the seek are
   * discarded.
   */
  async seek(tp: TopicPartition, position: SeekPosition): Promise<void> {
    const state = this.stateOf(tp);
    state.epoch++;
    state.fetching = false;
    state.buffered = false;
    state.retryAtMs = 0;
    if (typeof position === 'number') {
      checkInteger('seek: position', position, 0, Number.MAX_SAFE_INTEGER);
      state.position = position;
      state.resetTo = null;
    } else {
      state.position = null;
      state.resetTo = position;
      await this.resolvePositions([state]);
    }
    this.wake();
  }

  /** The offset of the next record poll() or the iterator will hand out for `tp`. */
  async position(tp: TopicPartition): Promise<number> {
    const state = this.stateOf(tp);
    if (state.position === null) await this.resolvePositions([state]);
    return state.position ?? -1;
  }

  /**
   * Waits up to `timeoutMs` for records and returns those available (possibly none, never more
   * than one fetch's worth). Positions move past the returned records.
   */
  async poll(timeoutMs: number): Promise<ConsumerRecord[]> {
    const deadlineMs = Date.now() + timeoutMs;
    for (;;) {
      const records: ConsumerRecord[] = [];
      for (let record = this.take(); record !== null; record = this.take()) records.push(record);
      if (records.length > 0 || this.closed) return records;
      const waitMs = deadlineMs - Date.now();
      if (waitMs <= 0) return records;
      await this.fill(waitMs);
    }
  }

  /** Yields records one by one until close(); `break` leaves the position after the last one. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ConsumerRecord, void, undefined> {
    while (!this.closed) {
      const record = this.take();
      if (record !== null) {
        yield record;
      } else {
        await this.fill(this.requestTimeoutMs);
      }
    }
  }

  /** Stops reading: in-flight fetches are cancelled, pending reads return. Idempotent. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.abort.abort();
      this.wake();
      this.pool.close();
    }
    return Promise.resolve();
  }

  private checkOpen(): void {
    if (this.closed) throw new BrookClientError('CANCELLED', 'the consumer is closed', false);
  }

  private stateOf(tp: TopicPartition): PartitionState {
    this.checkOpen();
    const state = this.assigned.get(tpKey(tp));
    if (state === undefined) {
      throw new RangeError(`${tp.topic}-${tp.partition} is not assigned to this consumer`);
    }
    return state;
  }

  /** The next record from the buffered chunks, moving its partition's position past it. */
  private take(): ConsumerRecord | null {
    while (this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const { state } = chunk;
      const current = this.assigned.get(tpKey(state)) === state && chunk.epoch === state.epoch;
      const record = current ? chunk.records[chunk.index] : undefined;
      if (record !== undefined && state.position !== null && record.offset >= state.position) {
        chunk.index++;
        state.position = record.offset + 1;
        return record;
      }
      if (record !== undefined) {
        chunk.index++;
        continue;
      }
      this.chunks.shift();
      if (current) {
        state.buffered = false;
        if (state.position !== null) state.position = Math.max(state.position, chunk.nextOffset);
      }
    }
    return null;
  }

  /**
   * One step of the loop: resolve positions, start fetches, then wait up to `waitMs` for an
   * answer (or a backoff to pass). Throws a failure recorded by a fetch.
   */
  private async fill(waitMs: number): Promise<void> {
    this.throwFailure();
    const unknown = [...this.assigned.values()].filter((state) => state.position === null);
    if (unknown.length > 0) await this.resolvePositions(unknown);
    if (this.closed) return;
    await this.startFetches();
    this.throwFailure();
    if (this.chunks.length > 0) return;
    // With a fetch in flight its answer wakes us; without one, a backoff ending is the next
    // event (or, with nothing assigned, a short nap keeps the loop from spinning).
    const sleepMs =
      this.fetchingFrom.size > 0
        ? waitMs
        : Math.min(waitMs, this.nextRetryMs() ?? this.retry.retryBackoffMsMin);
    await this.sleep(Math.max(1, sleepMs));
    this.throwFailure();
  }

  private throwFailure(): void {
    if (this.failure === null) return;
    const failure = this.failure;
    this.failure = null;
    throw failure;
  }

  private nextRetryMs(): number | null {
    const nowMs = Date.now();
    let next: number | null = null;
    for (const state of this.assigned.values()) {
      if (state.retryAtMs > nowMs) next = Math.min(next ?? Infinity, state.retryAtMs - nowMs);
    }
    return next;
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake(), ms);
      this.wakers.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  /**
   * Gives each state in `states` a position through ListOffsets, from its seek target or
   * autoOffsetReset. Throws when autoOffsetReset is 'none' or a lookup fails for good.
   */
  private async resolvePositions(states: readonly PartitionState[]): Promise<void> {
    const queries = states.map((state) => ({
      topic: state.topic,
      partition: state.partition,
      spec: state.resetTo ?? this.resetSpec(state),
    }));
    const epochs = states.map((state) => state.epoch);
    const results = await listOffsets(
      this.pool,
      this.metadata,
      queries,
      this.requestTimeoutMs,
      this.retry,
    );
    const needLatest: PartitionState[] = [];
    for (let i = 0; i < states.length; i++) {
      const state = states[i]!;
      const result = results[i]!;
      // A seek while the lookup ran wins over the lookup.
      if (state.epoch !== epochs[i] || state.position !== null) continue;
      if (result.error !== undefined) throw result.error;
      if (result.offset < 0 && queries[i]!.spec === 'latest') {
        throw new BrokerError('UNKNOWN_SERVER_ERROR', `no latest offset for ${state.topic}`);
      }
      if (result.offset < 0) {
        // A timestamp later than every record: start at the end, where the next record goes.
        state.resetTo = 'latest';
        needLatest.push(state);
        continue;
      }
      state.position = result.offset;
      state.resetTo = null;
    }
    if (needLatest.length > 0) await this.resolvePositions(needLatest);
  }

  private resetSpec(state: PartitionState): OffsetSpec {
    if (this.autoOffsetReset === 'none') {
      throw new BrokerError(
        'OFFSET_OUT_OF_RANGE',
        `${state.topic}-${state.partition} has no valid position and autoOffsetReset is 'none'`,
      );
    }
    return this.autoOffsetReset;
  }

  /** Starts one fetch per leader that has none in flight. */
  private async startFetches(): Promise<void> {
    const nowMs = Date.now();
    const byAddress = new Map<string, PartitionState[]>();
    for (const state of this.assigned.values()) {
      if (state.position === null || state.fetching || state.buffered) continue;
      if (state.retryAtMs > nowMs) continue;
      const address = await this.leaderOf(state);
      if (address === null || this.fetchingFrom.has(address)) continue;
      const states = byAddress.get(address) ?? [];
      states.push(state);
      byAddress.set(address, states);
    }
    for (const [address, states] of byAddress) void this.fetchFrom(address, states);
  }

  /** The leader address of a partition, refreshing metadata when unknown; null to back off. */
  private async leaderOf(state: PartitionState): Promise<string | null> {
    try {
      const info = await this.metadata.topic(state.topic);
      const address = info?.partitions[state.partition]?.leaderAddress ?? null;
      if (address !== null) return address;
      this.metadata.markStale(state.topic);
    } catch (error: unknown) {
      if (!isRetriable(error)) {
        this.failure = error;
        return null;
      }
    }
    this.backOff(state);
    return null;
  }

  private backOff(state: PartitionState): void {
    state.retryAtMs = Date.now() + backoffMs(state.failures, this.retry);
    state.failures++;
  }

  private async fetchFrom(address: string, states: readonly PartitionState[]): Promise<void> {
    this.fetchingFrom.add(address);
    const epochs = states.map((state) => state.epoch);
    const positions = states.map((state) => state.position ?? 0);
    for (const state of states) state.fetching = true;
    try {
      const request = {
        partitions: states.map((state, i) => ({
          topic: state.topic,
          partition: state.partition,
          offset: positions[i]!,
          maxBytes: this.partitionMaxBytes,
        })),
        maxWaitMs: this.fetchMaxWaitMs,
        minBytes: this.fetchMinBytes,
        maxBytes: this.fetchMaxBytes,
        format: 'BATCHES' as const,
      };
      const response = await callUnary<FetchResponse__Output>(
        address,
        this.requestTimeoutMs + this.fetchMaxWaitMs,
        (options, callback) => this.pool.broker(address).fetch(request, options, callback),
        this.abort.signal,
      );
      await this.onFetchResponse(states, epochs, positions, response);
    } catch (error: unknown) {
      if (!this.closed) this.onFetchError(states, epochs, error);
    } finally {
      for (let i = 0; i < states.length; i++) {
        if (states[i]!.epoch === epochs[i]) states[i]!.fetching = false;
      }
      this.fetchingFrom.delete(address);
      this.wake();
    }
  }

  private onFetchError(
    states: readonly PartitionState[],
    epochs: readonly number[],
    error: unknown,
  ): void {
    if (!isRetriable(error)) {
      this.failure = error;
      return;
    }
    states.forEach((state, i) => {
      if (state.epoch !== epochs[i]) return;
      this.metadata.markStale(state.topic);
      this.backOff(state);
    });
  }

  private async onFetchResponse(
    states: readonly PartitionState[],
    epochs: readonly number[],
    positions: readonly number[],
    response: FetchResponse__Output,
  ): Promise<void> {
    for (let i = 0; i < states.length; i++) {
      const state = states[i]!;
      const answer = response.partitions[i];
      if (answer === undefined || state.epoch !== epochs[i]) continue;
      const error = brokerErrorOf(answer.errorCode, answer.errorMessage, answer.leader);
      if (error !== null) {
        this.onPartitionError(state, error);
        continue;
      }
      try {
        const chunk = await this.decode(state, epochs[i]!, positions[i]!, answer);
        // The decode awaited: a seek may have happened meanwhile.
        if (chunk === null || state.epoch !== epochs[i]) continue;
        state.failures = 0;
        if (chunk.records.length > 0) {
          state.buffered = true;
          this.chunks.push(chunk);
        } else if (state.position !== null) {
          state.position = Math.max(state.position, chunk.nextOffset);
        }
      } catch (decodeError: unknown) {
        this.onPartitionError(state, decodeError);
      }
    }
  }

  private onPartitionError(state: PartitionState, error: unknown): void {
    if (error instanceof BrokerError && error.code === 'OFFSET_OUT_OF_RANGE') {
      if (this.autoOffsetReset === 'none') {
        this.failure = error;
        return;
      }
      state.position = null;
      state.resetTo = this.autoOffsetReset;
      return;
    }
    if (!isRetriable(error)) {
      this.failure = error;
      return;
    }
    if (error instanceof BrokerError && error.leader !== null) {
      this.metadata.applyLeaderHint(state.topic, state.partition, error.leader);
    } else {
      this.metadata.markStale(state.topic);
    }
    this.backOff(state);
  }

  /** Decodes a partition's batches into records at or after `fromOffset`. */
  private async decode(
    state: PartitionState,
    epoch: number,
    fromOffset: number,
    answer: FetchPartitionResponse__Output,
  ): Promise<Chunk | null> {
    const records: ConsumerRecord[] = [];
    let nextOffset = fromOffset;
    for (const blob of answer.recordBatches) {
      for (const batch of batchesIn(blob)) {
        const header = RecordBatch.of(batch);
        if (header.nextOffset <= fromOffset) continue;
        const leaderEpoch = header.leaderEpoch;
        const decoded = await decodeRecords(batch);
        for (const record of decoded) {
          if (record.offset < fromOffset) continue;
          records.push({
            topic: state.topic,
            partition: state.partition,
            offset: record.offset,
            key: record.key,
            value: record.value,
            headers: record.headers,
            timestampMs: record.timestampMs,
            leaderEpoch,
          });
        }
        nextOffset = Math.max(nextOffset, header.nextOffset);
      }
    }
    return { state, epoch, records, index: 0, nextOffset };
  }
}

function tpKey(tp: TopicPartition): string {
  return `${tp.partition}:${tp.topic}`;
}
