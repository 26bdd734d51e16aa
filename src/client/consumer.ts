/**
 * The consumer: reads assigned partitions from their leaders with long-polling Fetch calls in
 * BATCHES format, decodes the stored batches (src/codec) and hands out records in offset order
 * per partition. There is no group membership here: partitions are assigned by the caller.
 *
 * The loop, per poll() or iterator step:
 *   1. partitions without a position get one (seek target, or autoOffsetReset) via ListOffsets;
 *   2. each leader with no fetch in flight gets one Fetch for its fetchable partitions (known
 *      position, no fetch in flight, fewer than PARTITION_CHUNKS_MAX chunks buffered, no
 *      backoff pending), from the end of what is buffered;
 *   3. each answer becomes one chunk per partition, queued at once from the batch headers and
 *      decoded after the leader's next fetch has started; records are taken from the chunks
 *      and the position moves past each record as it is handed out.
 *
 * Prefetch: an answer that brought records starts the leader's next fetch at once (before its
 * chunks are decoded), and handing out the last record of a chunk starts one too, so the next
 * fetch is in flight while buffered records are decoded and handed out, and the reader rarely
 * waits for a round trip.
 *
 * Bounds: at most one fetch in flight per leader; a partition gets a fetch only while it holds
 * fewer than PARTITION_CHUNKS_MAX (2) chunks, so it holds at most 2 × partitionMaxBytes; a
 * fetch asks for at most fetchMaxBytes minus what the consumer holds, so what it holds plus
 * what is in flight stays within fetchMaxBytes per leader, as without prefetch. (Either bound
 * can be passed by one batch larger than it: a fetch always returns at least one batch.)
 * A seek bumps the partition's epoch and drops its chunks; answers from an older epoch
 * (including a prefetch in flight during the seek) are dropped, never handed out.
 */
import { RecordBatch, batchesIn, decodeRecords } from '../codec/index.js';
import { BrokerError } from '../errors/index.js';
import type { FetchResponse__Output } from '../proto/index.js';
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

/**
 * Fetched chunks one partition may hold. A partition is fetched only while it holds fewer, so
 * one chunk is handed out while the next one's fetch is in flight, and a partition holds at most
 * this many fetch answers: PARTITION_CHUNKS_MAX × partitionMaxBytes.
 */
const PARTITION_CHUNKS_MAX = 2;

/** Default per-partition fetch size; see ConsumerOptions.partitionMaxBytes for why not 1 MiB. */
const PARTITION_MAX_BYTES_DEFAULT = 8 * MiB;

/**
 * Handing out buffered records runs on promise jobs only, which starve I/O: a prefetch's answer
 * would wait in the socket (and HTTP/2 flow control would stop the broker's send) until the
 * buffer ran dry. So the iterator gives the event loop a turn after this many records or bytes
 * (keys and values), and poll() once per call.
 */
const YIELD_RECORDS = 1_000;
const YIELD_BYTES = 1 * MiB;

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
  /**
   * Byte limit per partition in one fetch (default 8 MiB; Kafka's max.partition.fetch.bytes is
   * 1 MiB); one larger batch still comes. A partition buffers at most two fetches' worth. The
   * default is larger than Kafka's because each Brook fetch has a high fixed cost on the broker
   * and in transit, and a leader gets one fetch at a time: with prefetch, 1 MiB fetches read one
   * partition at 74-90 MB/s on the machine of docs/benchmarks.md, 8 MiB ones at 125-146 MB/s.
   * Memory: a partition holds at most 2 × partitionMaxBytes, the consumer at most fetchMaxBytes
   * per leader.
   */
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
  /** Chunks of this partition in the consumer's queue, and their fetched bytes. */
  bufferedChunks = 0;
  bufferedBytes = 0;
  /** Where the next fetch starts while chunks are buffered: past the last buffered one. */
  fetchOffset = 0;
  /**
   * A prefetch (a fetch past buffered records) was answered with an error that must not apply
   * before those records are handed out (OFFSET_OUT_OF_RANGE, or an error the reader would
   * see): no fetch until the buffer is drained; the fetch from the position then meets it anew.
   */
  holdUntilDrained = false;
  retryAtMs = 0;
  failures = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
}

/**
 * The records of one partition from one fetch, handed out front to back. A chunk is queued as
 * soon as its answer arrives, so the next fetch can start at once, and decoded meanwhile: the
 * reader waits at a chunk until it is `decoded`; a decoding `error` applies when the chunk
 * reaches the front, after the records before it.
 */
interface Chunk {
  readonly state: PartitionState;
  /** The offset the fetch asked for: records before it are skipped. */
  readonly fromOffset: number;
  readonly records: ConsumerRecord[];
  index: number;
  /** Where the position goes after the last record: past the last fetched batch. */
  readonly nextOffset: number;
  /** Bytes of the fetched batches the records are views into. */
  readonly bytes: number;
  decoded: boolean;
  /** Why decoding failed; null when it did not. */
  error: unknown;
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
  /** Buffered chunks in arrival order; only chunks of the current epoch of an assigned state. */
  private chunks: Chunk[] = [];
  /** Fetched bytes held in `chunks`. */
  private bufferedBytes = 0;
  private readonly fetchingFrom = new Set<string>();
  /** Fetches in flight, so close() can wait for them to end. */
  private readonly fetches = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private wakers: (() => void)[] = [];
  private failure: unknown = null;
  private closed = false;

  constructor(options: ConsumerOptions) {
    const bootstrap = parseBootstrap(options.bootstrap);
    this.fetchMaxWaitMs = options.fetchMaxWaitMs ?? 500;
    this.fetchMinBytes = options.fetchMinBytes ?? 1;
    this.fetchMaxBytes = options.fetchMaxBytes ?? 50 * MiB;
    this.partitionMaxBytes = options.partitionMaxBytes ?? PARTITION_MAX_BYTES_DEFAULT;
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
      if (next.has(key)) continue;
      state.epoch++;
      this.dropBuffered(state);
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
   * discarded, including the answer of a fetch still in flight.
   */
  async seek(tp: TopicPartition, position: SeekPosition): Promise<void> {
    const state = this.stateOf(tp);
    state.epoch++;
    state.fetching = false;
    this.dropBuffered(state);
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
   * than is buffered: PARTITION_CHUNKS_MAX fetch answers per partition). Positions move past the
   * returned records.
   */
  async poll(timeoutMs: number): Promise<ConsumerRecord[]> {
    const deadlineMs = Date.now() + timeoutMs;
    // The caller may have handled the last poll's records without giving I/O a turn.
    await yieldToEventLoop();
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
    let records = 0;
    let bytes = 0;
    while (!this.closed) {
      const record = this.take();
      if (record !== null) {
        yield record;
        records++;
        bytes += (record.key?.length ?? 0) + (record.value?.length ?? 0);
        if (records >= YIELD_RECORDS || bytes >= YIELD_BYTES) {
          records = 0;
          bytes = 0;
          await yieldToEventLoop();
        }
      } else {
        await this.fill(this.requestTimeoutMs);
      }
    }
  }

  /**
   * Stops reading: in-flight fetches (prefetches included) are cancelled and no new one starts;
   * pending reads return. Resolves once every fetch has ended. Idempotent.
   */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.abort.abort();
      this.wake();
      this.pool.close();
    }
    await Promise.allSettled([...this.fetches]);
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
      if (!chunk.decoded) return null;
      if (chunk.error !== null) {
        this.failChunk(chunk);
        continue;
      }
      const { state } = chunk;
      const record = chunk.records[chunk.index];
      if (record !== undefined) {
        chunk.index++;
        if (state.position !== null && record.offset >= state.position) {
          state.position = record.offset + 1;
          return record;
        }
        continue;
      }
      this.chunks.shift();
      this.bufferedBytes -= chunk.bytes;
      state.bufferedChunks--;
      state.bufferedBytes -= chunk.bytes;
      if (state.bufferedChunks === 0) state.holdUntilDrained = false;
      if (state.position !== null) state.position = Math.max(state.position, chunk.nextOffset);
      // Room for one more chunk of this partition: fetch it while the rest is handed out.
      this.prefetch();
    }
    return null;
  }

  /**
   * A chunk that failed to decode reached the front: its error applies now, as a fetch error at
   * its offset would. The partition's later chunks and any fetch in flight started past it, so
   * they are dropped (as by a seek to the position, which is the chunk's first offset).
   */
  private failChunk(chunk: Chunk): void {
    const { state } = chunk;
    state.epoch++;
    state.fetching = false;
    this.dropBuffered(state);
    this.onPartitionError(state, chunk.error);
  }

  /** Drops the buffered chunks of `state` (after a seek or an unassign). */
  private dropBuffered(state: PartitionState): void {
    if (state.bufferedChunks > 0) {
      this.chunks = this.chunks.filter((chunk) => chunk.state !== state);
      this.bufferedBytes -= state.bufferedBytes;
    }
    state.bufferedChunks = 0;
    state.bufferedBytes = 0;
    state.holdUntilDrained = false;
  }

  /** Starts the fetches that can start now, in the background (failures reach the reader). */
  private prefetch(): void {
    if (this.closed || this.failure !== null) return;
    this.startFetches().catch((error: unknown) => {
      this.failure ??= error;
      this.wake();
    });
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
    if (this.chunks[0]?.decoded === true) return;
    // With a fetch in flight (or a chunk being decoded) its end wakes us; without one, a
    // backoff ending is the next event (or, with nothing assigned, a short nap keeps the loop
    // from spinning).
    const sleepMs =
      this.fetchingFrom.size > 0 || this.chunks.length > 0
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

  /**
   * Starts one fetch per leader that has none in flight, for its fetchable partitions. Safe to
   * run concurrently: the final checks and the start of each fetch happen without an await in
   * between, so no leader or partition ever gets two fetches at once.
   */
  private async startFetches(): Promise<void> {
    const candidates: { state: PartitionState; address: string }[] = [];
    for (const state of this.assigned.values()) {
      if (!this.isFetchable(state, Date.now())) continue;
      const address = await this.leaderOf(state);
      if (address !== null && !this.fetchingFrom.has(address)) candidates.push({ state, address });
    }
    if (this.closed) return;
    const nowMs = Date.now();
    const byAddress = new Map<string, PartitionState[]>();
    for (const { state, address } of candidates) {
      if (this.fetchingFrom.has(address) || !this.isFetchable(state, nowMs)) continue;
      if (this.assigned.get(tpKey(state)) !== state) continue;
      const states = byAddress.get(address) ?? [];
      states.push(state);
      byAddress.set(address, states);
    }
    for (const [address, states] of byAddress) {
      const fetch = this.fetchFrom(address, states);
      this.fetches.add(fetch);
      void fetch.finally(() => this.fetches.delete(fetch));
    }
  }

  /** Whether `state` may join a fetch now (see the bounds in the file comment). */
  private isFetchable(state: PartitionState, nowMs: number): boolean {
    return (
      state.position !== null &&
      !state.fetching &&
      state.retryAtMs <= nowMs &&
      state.bufferedChunks < PARTITION_CHUNKS_MAX &&
      !(state.holdUntilDrained && state.bufferedChunks > 0) &&
      this.bufferedBytes < this.fetchMaxBytes
    );
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

  /** One Fetch from `address`; marks the leader and partitions busy before its first await. */
  private async fetchFrom(address: string, states: readonly PartitionState[]): Promise<void> {
    this.fetchingFrom.add(address);
    const epochs = states.map((state) => state.epoch);
    // Past what is buffered: a prefetch continues where the buffered chunks end.
    const positions = states.map((state) =>
      state.bufferedChunks > 0 ? state.fetchOffset : (state.position ?? 0),
    );
    for (const state of states) state.fetching = true;
    let decodes: Promise<void>[] = [];
    // What is buffered counts against fetchMaxBytes (isFetchable keeps this at least 1).
    const maxBytes = Math.max(1, this.fetchMaxBytes - this.bufferedBytes);
    try {
      const request = {
        partitions: states.map((state, i) => ({
          topic: state.topic,
          partition: state.partition,
          offset: positions[i]!,
          maxBytes: this.partitionMaxBytes,
        })),
        maxWaitMs: this.fetchMaxWaitMs,
        minBytes: Math.min(this.fetchMinBytes, maxBytes),
        maxBytes,
        format: 'BATCHES' as const,
        // This consumer routes to leaders itself: a moved leader must surface as
        // NOT_LEADER_OR_FOLLOWER (refresh metadata), not hide behind a forwarding hop.
        noForward: true,
      };
      const response = await callUnary<FetchResponse__Output>(
        address,
        this.requestTimeoutMs + this.fetchMaxWaitMs,
        (options, callback) => this.pool.broker(address).fetch(request, options, callback),
        this.abort.signal,
      );
      if (!this.closed) decodes = this.onFetchResponse(states, epochs, positions, response);
    } catch (error: unknown) {
      if (!this.closed) this.onFetchError(states, epochs, error);
    } finally {
      for (let i = 0; i < states.length; i++) {
        if (states[i]!.epoch === epochs[i]) states[i]!.fetching = false;
      }
      this.fetchingFrom.delete(address);
      this.wake();
      // Data is flowing: fetch on while it is decoded and handed out. An empty answer (caught
      // up) starts nothing here; the reader's next wait does, so an idle consumer does not
      // poll forever.
      if (decodes.length > 0) this.prefetch();
    }
    // close() waits for this fetch, so for its decoding too.
    await Promise.all(decodes);
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

  /**
   * Queues a chunk per partition answered with records, from the batch headers alone, and
   * returns their decodings, started here; the caller starts the next fetch meanwhile.
   */
  private onFetchResponse(
    states: readonly PartitionState[],
    epochs: readonly number[],
    positions: readonly number[],
    response: FetchResponse__Output,
  ): Promise<void>[] {
    const decodes: Promise<void>[] = [];
    for (let i = 0; i < states.length; i++) {
      const state = states[i]!;
      const answer = response.partitions[i];
      if (answer === undefined || state.epoch !== epochs[i]) continue;
      const error = brokerErrorOf(answer.errorCode, answer.errorMessage, answer.leader);
      if (error !== null) {
        this.onPartitionError(state, error);
        continue;
      }
      const fromOffset = positions[i]!;
      let batches: Buffer[];
      try {
        batches = answer.recordBatches.flatMap((blob) => batchesIn(blob));
      } catch (framingError: unknown) {
        this.onPartitionError(state, framingError);
        continue;
      }
      state.failures = 0;
      // Batches wholly before the fetch offset (the first may start before it) are skipped.
      const wanted = batches.filter((batch) => RecordBatch.of(batch).nextOffset > fromOffset);
      const last = wanted[wanted.length - 1];
      if (last === undefined) continue;
      let bytes = 0;
      for (const blob of answer.recordBatches) bytes += blob.length;
      const chunk: Chunk = {
        state,
        fromOffset,
        records: [],
        index: 0,
        nextOffset: RecordBatch.of(last).nextOffset,
        bytes,
        decoded: false,
        error: null,
      };
      this.chunks.push(chunk);
      this.bufferedBytes += bytes;
      state.bufferedChunks++;
      state.bufferedBytes += bytes;
      state.fetchOffset = chunk.nextOffset;
      decodes.push(this.decode(chunk, wanted));
    }
    return decodes;
  }

  private onPartitionError(state: PartitionState, error: unknown): void {
    const isOutOfRange = error instanceof BrokerError && error.code === 'OFFSET_OUT_OF_RANGE';
    if ((isOutOfRange || !isRetriable(error)) && state.bufferedChunks > 0) {
      // A prefetch's error: it applies after the buffered records, not before them.
      state.holdUntilDrained = true;
      return;
    }
    if (isOutOfRange) {
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

  /** Decodes `batches` into the chunk's records at or after its fromOffset; never rejects. */
  private async decode(chunk: Chunk, batches: readonly Buffer[]): Promise<void> {
    const { state, fromOffset, records } = chunk;
    try {
      for (const batch of batches) {
        const { leaderEpoch } = RecordBatch.of(batch);
        for (const record of await decodeRecords(batch)) {
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
      }
    } catch (error: unknown) {
      chunk.error = error;
    }
    chunk.decoded = true;
    this.wake();
  }
}

/** Resolves after the event loop has polled for I/O once. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function tpKey(tp: TopicPartition): string {
  return `${tp.partition}:${tp.topic}`;
}
