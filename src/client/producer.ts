/**
 * The producer: accumulates records per topic-partition into record batches, encodes each batch
 * once (src/codec), and pipelines the batches to partition leaders over one ProduceStream per
 * broker. Every send() settles exactly once: with the record's offset, or with the error of its
 * batch.
 *
 * The loop:
 *   send() -> [buffer room] -> topic known? -> partition -> open batch of that partition
 *   open batch closes at batchBytesMax or after lingerMs -> ready queue (encoding starts)
 *   drain(): per leader, requests of ready batches, at most maxInflightRequestsPerPartition
 *            in flight per partition and maxInflightRequests per broker, written to the
 *            broker's ProduceStream in the order they were made -> answer -> resolve, retry,
 *            or reject
 *
 * Ordering: the broker appends the requests of one ProduceStream in arrival order, requests are
 * written in the order they were made, and each takes its partitions' batches in closing order,
 * so while nothing fails the batches of a partition are appended in send order however many
 * requests are in flight. A retried batch
 * goes back into its partition's queue at its place by sequence (before every batch closed
 * after it). With one request in flight per partition (maxInflightRequestsPerPartition: 1) that
 * keeps send order across retries too. With more, a retry can reorder, exactly as Kafka without
 * idempotence: when batch A fails with a retriable error while a later batch B of the same
 * partition is already in flight, B can be appended before A's retry. Several ready batches of
 * a partition travel together in one request.
 *
 * Delivery: without idempotence (producer ids) a retry can write a batch twice, e.g. when the
 * first attempt was appended but its answer was lost or timed out. Set `retries: 0` when a
 * duplicate is worse than a lost record.
 */
import { encodeBatch } from '../codec/index.js';
import { BrokerError } from '../errors/index.js';
import type { ProduceRequest, ProduceResponse__Output } from '../proto/index.js';
import {
  BrookClientError,
  brokerErrorOf,
  callUnary,
  isRetriable,
  parseBootstrap,
  ConnectionPool,
} from './connection.js';
import { MetadataCache } from './metadata-cache.js';
import { choosePartition, StickyPartitioner } from './partitioner.js';
import { ProduceStream } from './produce-stream.js';
import { backoffMs, checkInteger, checkRetryPolicy, delay, type RetryPolicy } from './retry.js';

const MiB = 1024 * 1024;

/** Durability a produce waits for; see the Acks enum in broker.proto. */
export type Acks = 'all' | 'leader' | 'none';
/** Batch compression codec. */
export type CompressionName = 'none' | 'gzip' | 'snappy';

export interface ProducerOptions {
  /** Brokers to learn the cluster from: `host:port`, a list, or one comma-separated string. */
  readonly bootstrap: string | readonly string[];
  /** 'all' (default): every in-sync replica has the batch; 'leader': the leader's durable
   * append; 'none': the leader validated it (offsets then resolve as -1). */
  readonly acks?: Acks;
  /** How long a partition's open batch waits for more records, in ms (default 5). */
  readonly lingerMs?: number;
  /** A partition's batch is sent once it holds this many bytes (default 16384). */
  readonly batchBytesMax?: number;
  /** Codec for the batches (default 'none'). */
  readonly compression?: CompressionName;
  /** Retries of a batch after a retriable error (default 5). */
  readonly retries?: number;
  /** First backoff between retries, in ms (default 100); doubles up to retryBackoffMsMax. */
  readonly retryBackoffMsMin?: number;
  /** Largest backoff between retries, in ms (default 1000). */
  readonly retryBackoffMsMax?: number;
  /** How long the broker may take to answer one request, in ms (default 30000). */
  readonly requestTimeoutMs?: number;
  /** Upper bound on the time from send() to its settling, retries included (default 120000). */
  readonly deliveryTimeoutMs?: number;
  /**
   * Requests in flight per broker, over all its partitions and topics (default 20). A request
   * carries the batches of one topic, so this must leave room for several topics or partitions
   * to pipeline at once; memory stays bounded by bufferBytesMax, which counts batches until they
   * settle.
   */
  readonly maxInflightRequests?: number;
  /**
   * Requests in flight per partition (default 5, like Kafka's
   * max.in.flight.requests.per.connection), within maxInflightRequests. While no request fails,
   * the batches of a partition are appended in send order whatever this is. With more than 1, a
   * retry can reorder: if a batch fails with a retriable error while a later batch of the same
   * partition is in flight, the later one can be appended first, and the retried one after it
   * (exactly as Kafka without idempotence). Set 1 for strict order under retries, until
   * idempotence (producer ids and sequence numbers) lands; it costs throughput, because a
   * partition's next request then waits for the previous answer.
   */
  readonly maxInflightRequestsPerPartition?: number;
  /** Bytes of records held before send() waits for room (default 32 MiB). */
  readonly bufferBytesMax?: number;
  /** Refresh a topic's metadata older than this, in ms (default 300000). */
  readonly metadataMaxAgeMs?: number;
}

/** One record header; the key is text, the value bytes (a string is sent as UTF-8). */
export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | Uint8Array | string;
}

/** A record to send. Strings are sent as UTF-8. */
export interface ProducerRecord {
  readonly topic: string;
  /** The payload; null is a tombstone (for compacted topics). */
  readonly value: Buffer | Uint8Array | string | null;
  /** Partitioning and compaction key; absent and empty are different keys. */
  readonly key?: Buffer | Uint8Array | string | null;
  /** Target partition; unset: murmur2 of the key, or the sticky partition when keyless. */
  readonly partition?: number;
  /** Headers in order, or an object of name to value. */
  readonly headers?:
    readonly RecordHeader[] | Readonly<Record<string, Buffer | Uint8Array | string>>;
  /** Create time in ms since the epoch; default Date.now() at send(). */
  readonly timestampMs?: number;
}

/** Where a record was written. `offset` is -1 with acks 'none'. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Estimated per-record framing bytes in a batch (lengths, varints, attributes). */
const RECORD_OVERHEAD_BYTES = 24;
/** A request carries at most this many batch bytes (at least one batch). */
const REQUEST_BYTES_MAX = 4 * MiB;
/** Largest batch a broker accepts; batchBytesMax may not exceed it. */
const BATCH_BYTES_CEILING = 8 * MiB;
/** Records in one batch, as the broker's limit. */
const BATCH_RECORDS_MAX = 100_000;
/** Extra time the client waits beyond the broker's own timeout before giving up on an answer. */
const ANSWER_GRACE_MS = 1_000;
/** Largest in-flight bound accepted, per broker or per partition (the broker's own stream limit). */
const INFLIGHT_REQUESTS_CEILING = 1_024;

const ACKS = { all: 'ACKS_ALL', leader: 'ACKS_LEADER', none: 'ACKS_NONE' } as const;
const COMPRESSION = { none: 0, gzip: 1, snappy: 2 } as const;

/** A record accepted by send(), until it settles. Fields are fixed at construction. */
class PendingRecord {
  constructor(
    readonly topic: string,
    readonly key: Buffer | null,
    readonly value: Buffer | null,
    readonly timestampMs: number,
    readonly headers: readonly { key: string; value: Buffer }[],
    /** Explicit partition, or -1 to let the partitioner choose. */
    readonly partition: number,
    readonly sizeBytes: number,
    readonly createdAtMs: number,
    readonly resolve: (metadata: RecordMetadata) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

/** Records of one partition sent and retried together. */
/** A scheduled callback that can be cancelled. */
interface Wake {
  cancel(): void;
}

/**
 * Runs `fn` after `delayMs`; with 0, right after the current I/O phase (setImmediate), not
 * through a timer: Node runs a 0 ms timer after at least 1 ms, which with lingerMs 0 cost a
 * one-record-at-a-time producer about 2 ms per send (closing the batch, then draining).
 * Records sent in the same tick still share the batch.
 */
function after(delayMs: number, fn: () => void): Wake {
  if (delayMs <= 0) {
    const immediate = setImmediate(fn);
    return { cancel: () => clearImmediate(immediate) };
  }
  const timer = setTimeout(fn, delayMs);
  return { cancel: () => clearTimeout(timer) };
}

class ProducerBatch {
  readonly records: PendingRecord[] = [];
  sizeBytes = 0;
  attempts = 0;
  retryAtMs = 0;
  encoded: Promise<Buffer> | null = null;
  /** Position among the batches of its partition, fixed when the batch closes. */
  sequence = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly createdAtMs: number,
  ) {}
}

/**
 * The batches of one partition: the open one, the closed ones in sequence order, and how many
 * requests carrying its batches are in flight.
 */
class PartitionQueue {
  open: ProducerBatch | null = null;
  lingerTimer: Wake | null = null;
  readonly ready: ProducerBatch[] = [];
  inflight = 0;
  /** Sequence of the next batch to close. */
  nextSequence = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
}

class TopicState {
  /** Records waiting, in send order, for the topic's metadata; null when none are waiting. */
  waiting: PendingRecord[] | null = null;
  readonly partitions = new Map<number, PartitionQueue>();

  constructor(readonly name: string) {}
}

/**
 * A Kafka-style producer. Safe to share: send() may be called concurrently from anywhere; the
 * records of one partition are appended in the order send() was called, across retries too
 * with maxInflightRequestsPerPartition 1 (with more, a retry can reorder: see that option).
 *
 * Errors: send() rejects with a BrokerError carrying the Kafka code when the broker refused the
 * record's batch (e.g. RECORD_TOO_LARGE) or retries ran out (the last error, e.g.
 * NOT_LEADER_OR_FOLLOWER; REQUEST_TIMED_OUT when deliveryTimeoutMs passed), with a
 * BrookClientError for an invalid record (INVALID_ARGUMENT with `field`) or an unreachable
 * cluster (UNAVAILABLE). Only the records of the failed batch are rejected.
 */
export class Producer {
  private readonly pool = new ConnectionPool();
  private readonly metadata: MetadataCache;
  private readonly partitioner = new StickyPartitioner();
  private readonly topics = new Map<string, TopicState>();
  private readonly streams = new Map<string, ProduceStream>();
  /** Requests started per broker address and not yet settled (encoding included). */
  private readonly inflightRequests = new Map<string, number>();
  /**
   * Per broker address: settles once the last request made for it has been written to its
   * stream (or found nothing to write). Each request waits for the one before, so requests reach
   * the broker in the order they were made even when a later one finishes encoding first.
   */
  private readonly writeTurns = new Map<string, Promise<void>>();
  private readonly retry: RetryPolicy;
  private readonly acks: Acks;
  private readonly lingerMs: number;
  private readonly batchBytesMax: number;
  private readonly compression: 0 | 1 | 2;
  private readonly requestTimeoutMs: number;
  private readonly deliveryTimeoutMs: number;
  private readonly maxInflightRequests: number;
  private readonly maxInflightRequestsPerPartition: number;
  private readonly bufferBytesMax: number;
  /** Records admitted but not settled, and their estimated bytes. */
  private outstandingCount = 0;
  private bufferedBytes = 0;
  /** Records waiting for buffer room, in send order. */
  private readonly blocked: PendingRecord[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private readonly roomWaiters: (() => void)[] = [];
  private drainTimer: Wake | null = null;
  private drainAtMs = Infinity;
  private flushesInProgress = 0;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(options: ProducerOptions) {
    const bootstrap = parseBootstrap(options.bootstrap);
    this.acks = options.acks ?? 'all';
    if (!Object.hasOwn(ACKS, this.acks)) {
      throw new RangeError(`acks must be 'all', 'leader' or 'none', got ${String(this.acks)}`);
    }
    const compression = options.compression ?? 'none';
    if (!Object.hasOwn(COMPRESSION, compression)) {
      throw new RangeError(`compression must be 'none', 'gzip' or 'snappy', got ${compression}`);
    }
    this.compression = COMPRESSION[compression];
    this.lingerMs = options.lingerMs ?? 5;
    this.batchBytesMax = options.batchBytesMax ?? 16_384;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 120_000;
    this.maxInflightRequests = options.maxInflightRequests ?? 20;
    this.maxInflightRequestsPerPartition = options.maxInflightRequestsPerPartition ?? 5;
    this.bufferBytesMax = options.bufferBytesMax ?? 32 * MiB;
    this.retry = {
      retries: options.retries ?? 5,
      retryBackoffMsMin: options.retryBackoffMsMin ?? 100,
      retryBackoffMsMax: options.retryBackoffMsMax ?? 1_000,
    };
    checkRetryPolicy(this.retry);
    checkInteger('lingerMs', this.lingerMs, 0, 60_000);
    checkInteger('batchBytesMax', this.batchBytesMax, 1, BATCH_BYTES_CEILING);
    checkInteger('requestTimeoutMs', this.requestTimeoutMs, 1, 300_000);
    checkInteger('deliveryTimeoutMs', this.deliveryTimeoutMs, this.lingerMs, 3_600_000);
    checkInteger('maxInflightRequests', this.maxInflightRequests, 1, INFLIGHT_REQUESTS_CEILING);
    checkInteger(
      'maxInflightRequestsPerPartition',
      this.maxInflightRequestsPerPartition,
      1,
      INFLIGHT_REQUESTS_CEILING,
    );
    checkInteger('bufferBytesMax', this.bufferBytesMax, this.batchBytesMax, 4_096 * MiB);
    this.metadata = new MetadataCache(this.pool, bootstrap, {
      requestTimeoutMs: this.requestTimeoutMs,
      metadataMaxAgeMs: options.metadataMaxAgeMs ?? 300_000,
    });
  }

  /**
   * Queues one record and resolves once the broker has it at the durability `acks` asks for.
   * When the buffer is full the record waits for room (see whenReady()). Rejects as described on
   * the class; after close() it rejects with CANCELLED.
   */
  send(record: ProducerRecord): Promise<RecordMetadata> {
    return new Promise<RecordMetadata>((resolve, reject) => {
      if (this.closed) {
        reject(new BrookClientError('CANCELLED', 'the producer is closed', false));
        return;
      }
      const pending = toPendingRecord(record, resolve, reject);
      if (pending.sizeBytes > this.bufferBytesMax) {
        reject(
          new BrokerError(
            'RECORD_TOO_LARGE',
            `the record is about ${pending.sizeBytes} bytes, more than bufferBytesMax (${this.bufferBytesMax})`,
          ),
        );
        return;
      }
      if (this.blocked.length > 0 || this.bufferedBytes + pending.sizeBytes > this.bufferBytesMax) {
        this.blocked.push(pending);
        return;
      }
      this.admit(pending);
    });
  }

  /**
   * Resolves when the buffer has room again (at once when it has now). A loop that sends faster
   * than the cluster takes records should await this between sends, so memory stays bounded by
   * bufferBytesMax instead of growing with the records waiting for room.
   */
  whenReady(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Sends every record accepted so far without waiting for lingerMs, and resolves when all of
   * them have settled (resolved or rejected). Never rejects.
   */
  async flush(): Promise<void> {
    this.flushesInProgress++;
    try {
      for (const topic of this.topics.values()) {
        for (const queue of topic.partitions.values()) this.closeBatch(queue);
      }
      if (!this.isIdle()) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    } finally {
      this.flushesInProgress--;
    }
  }

  /** Flushes, then closes the streams and channels. Later send() calls reject. Idempotent. */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.flush().finally(() => {
      this.drainTimer?.cancel();
      this.drainTimer = null;
      for (const stream of this.streams.values()) stream.close();
      this.streams.clear();
      this.pool.close();
    });
    return this.closing;
  }

  private hasRoom(): boolean {
    return this.blocked.length === 0 && this.bufferedBytes < this.bufferBytesMax;
  }

  private isIdle(): boolean {
    return this.outstandingCount === 0 && this.blocked.length === 0;
  }

  private inflightTo(address: string): number {
    return this.inflightRequests.get(address) ?? 0;
  }

  /** Takes a record into the buffer and routes it; it now counts as outstanding. */
  private admit(record: PendingRecord): void {
    this.outstandingCount++;
    this.bufferedBytes += record.sizeBytes;
    this.route(this.topicState(record.topic), record);
  }

  private topicState(name: string): TopicState {
    let state = this.topics.get(name);
    if (state === undefined) {
      state = new TopicState(name);
      this.topics.set(name, state);
    }
    return state;
  }

  /** Puts a record into its partition's open batch, or behind the topic's metadata lookup. */
  private route(topic: TopicState, record: PendingRecord): void {
    if (topic.waiting !== null) {
      topic.waiting.push(record);
      return;
    }
    const info = this.metadata.cached(topic.name);
    const count = info?.partitions.length ?? 0;
    // A partition beyond what the cache knows may have been added since: look again, once.
    if (info === null || (record.partition >= count && info.fetchedAtMs < record.createdAtMs)) {
      topic.waiting = [record];
      void this.resolveTopic(topic);
      return;
    }
    if (this.metadata.fresh(topic.name) === null) this.refreshInBackground(topic.name);
    if (record.partition >= count) {
      this.settleRecord(
        record,
        new BrokerError(
          'UNKNOWN_TOPIC_OR_PARTITION',
          `partition ${record.partition} of topic "${topic.name}" does not exist (it has ${count})`,
        ),
      );
      return;
    }
    const explicit = record.partition >= 0 ? record.partition : undefined;
    const partition = choosePartition(topic.name, record.key, explicit, count, this.partitioner);
    this.append(this.partitionQueue(topic, partition), record);
  }

  private partitionQueue(topic: TopicState, partition: number): PartitionQueue {
    let queue = topic.partitions.get(partition);
    if (queue === undefined) {
      queue = new PartitionQueue(topic.name, partition);
      topic.partitions.set(partition, queue);
    }
    return queue;
  }

  private append(queue: PartitionQueue, record: PendingRecord): void {
    let batch = queue.open;
    if (
      batch !== null &&
      (batch.sizeBytes + record.sizeBytes > this.batchBytesMax ||
        batch.records.length >= BATCH_RECORDS_MAX)
    ) {
      this.closeBatch(queue);
      batch = null;
    }
    if (batch === null) {
      batch = new ProducerBatch(queue.topic, queue.partition, Date.now());
      queue.open = batch;
      const lingerMs = this.flushesInProgress > 0 ? 0 : this.lingerMs;
      queue.lingerTimer = after(lingerMs, () => this.closeBatch(queue));
    }
    batch.records.push(record);
    batch.sizeBytes += record.sizeBytes;
    if (batch.sizeBytes >= this.batchBytesMax) this.closeBatch(queue);
  }

  /** Closes the open batch of `queue`: starts its encoding and queues it for sending. */
  private closeBatch(queue: PartitionQueue): void {
    queue.lingerTimer?.cancel();
    queue.lingerTimer = null;
    const batch = queue.open;
    if (batch === null) return;
    queue.open = null;
    batch.sequence = queue.nextSequence++;
    batch.encoded = encodeBatch(batch.records, { compression: this.compression });
    // The encoding is awaited when the batch is sent; until then a failure must not count as
    // an unhandled rejection.
    batch.encoded.catch(() => undefined);
    queue.ready.push(batch);
    const count = this.metadata.cached(queue.topic)?.partitions.length ?? 0;
    if (count > 0) this.partitioner.onBatchClosed(queue.topic, count, queue.partition);
    this.scheduleDrain(0);
  }

  private scheduleDrain(delayMs: number): void {
    const atMs = Date.now() + delayMs;
    if (this.drainTimer !== null && this.drainAtMs <= atMs) return;
    this.drainTimer?.cancel();
    this.drainAtMs = atMs;
    this.drainTimer = after(delayMs, () => {
      this.drainTimer = null;
      this.drainAtMs = Infinity;
      this.drain();
    });
  }

  /**
   * Sends what can be sent now: for each partition with a ready batch, room for another request
   * in flight and a known leader, groups batches per leader and topic into requests, within the
   * per-partition and per-broker in-flight limits. Wakes itself again for batches waiting on a
   * backoff or on metadata.
   */
  private drain(): void {
    const nowMs = Date.now();
    let wakeAtMs = Infinity;
    const byAddress = new Map<string, Map<string, PartitionQueue[]>>();
    for (const topic of this.topics.values()) {
      for (const queue of topic.partitions.values()) {
        if (queue.inflight >= this.maxInflightRequestsPerPartition) continue;
        this.expireBatches(queue, nowMs);
        const head = queue.ready[0];
        if (head === undefined) continue;
        if (head.retryAtMs > nowMs) {
          wakeAtMs = Math.min(wakeAtMs, head.retryAtMs);
          continue;
        }
        const address = this.metadata.leaderAddress(topic.name, queue.partition);
        if (address === null || this.metadata.isStale(topic.name)) {
          this.refreshInBackground(topic.name);
          wakeAtMs = Math.min(wakeAtMs, nowMs + this.retry.retryBackoffMsMin);
          continue;
        }
        const byTopic = byAddress.get(address) ?? new Map<string, PartitionQueue[]>();
        byAddress.set(address, byTopic);
        const queues = byTopic.get(topic.name) ?? [];
        byTopic.set(topic.name, queues);
        queues.push(queue);
      }
    }
    for (const [address, byTopic] of byAddress) this.sendToBroker(address, byTopic);
    if (wakeAtMs !== Infinity) this.scheduleDrain(Math.max(0, wakeAtMs - nowMs));
  }

  private sendToBroker(address: string, byTopic: Map<string, PartitionQueue[]>): void {
    let stream = this.streams.get(address);
    if (stream === undefined) {
      stream = new ProduceStream(address, this.pool);
      this.streams.set(address, stream);
    }
    const nowMs = Date.now();
    for (const [topic, queues] of byTopic) {
      // Requests for this topic while the broker has room and some partition can send. Each
      // request starts at the partition the previous one had no room for, so a partition with
      // many ready batches does not crowd the others out of the broker's in-flight slots.
      let start = 0;
      while (this.inflightTo(address) < this.maxInflightRequests) {
        const taken: ProducerBatch[] = [];
        const inRequest: PartitionQueue[] = [];
        let requestBytes = 0;
        let stoppedAt = 0;
        for (let i = 0; i < queues.length; i++) {
          const index = (start + i) % queues.length;
          const queue = queues[index];
          const head = queue?.ready[0];
          if (queue === undefined || head === undefined || !this.canSend(queue, nowMs)) continue;
          if (taken.length > 0 && requestBytes + head.sizeBytes > REQUEST_BYTES_MAX) {
            stoppedAt = index;
            break;
          }
          requestBytes += this.takeBatches(queue, taken, REQUEST_BYTES_MAX - requestBytes);
          queue.inflight++;
          inRequest.push(queue);
        }
        if (taken.length === 0) break;
        start = stoppedAt;
        this.inflightRequests.set(address, this.inflightTo(address) + 1);
        void this.sendRequest(stream, topic, taken, inRequest);
      }
    }
  }

  /** Whether `queue` has a batch to send now and room for another request in flight. */
  private canSend(queue: PartitionQueue, nowMs: number): boolean {
    const head = queue.ready[0];
    return (
      head !== undefined &&
      head.retryAtMs <= nowMs &&
      queue.inflight < this.maxInflightRequestsPerPartition
    );
  }

  /** Moves ready batches of `queue` into `taken`: at least one, then while they fit. */
  private takeBatches(queue: PartitionQueue, taken: ProducerBatch[], bytesLeft: number): number {
    let bytes = 0;
    while (queue.ready.length > 0) {
      const head = queue.ready[0];
      if (head === undefined || (bytes > 0 && bytes + head.sizeBytes > bytesLeft)) break;
      if (head.retryAtMs > Date.now()) break;
      queue.ready.shift();
      taken.push(head);
      bytes += head.sizeBytes;
    }
    return bytes;
  }

  /**
   * One request on `stream`; settles or re-queues every batch in it, then drains again. The
   * request is written only after the request made before it for the same broker was written,
   * so requests reach the broker in the order they were made.
   */
  private async sendRequest(
    stream: ProduceStream,
    topic: string,
    batches: ProducerBatch[],
    queues: PartitionQueue[],
  ): Promise<void> {
    const retried: ProducerBatch[] = [];
    const previous = this.writeTurns.get(stream.address) ?? Promise.resolve();
    let written = (): void => undefined;
    const turn = new Promise<void>((resolve) => (written = resolve));
    this.writeTurns.set(stream.address, turn);
    try {
      const encoded = await this.encodeAll(batches, retried);
      await previous;
      if (encoded.length > 0) {
        const request: ProduceRequest = {
          topic,
          acks: ACKS[this.acks],
          // Routed to the leader already: a moved leader must come back as NOT_LEADER_OR_FOLLOWER.
          noForward: true,
          timeoutMs: this.requestTimeoutMs,
          batches: encoded.map(({ batch, bytes }) => ({
            partition: batch.partition,
            recordBatch: bytes,
          })),
        };
        const sent = encoded.map(({ batch }) => batch);
        try {
          // send() writes the request before it returns: the next request may go now.
          const answer = stream.send(request, this.requestTimeoutMs + ANSWER_GRACE_MS);
          written();
          this.onResponse(sent, await answer, retried);
        } catch (error: unknown) {
          for (const batch of sent) this.onBatchError(batch, error, retried);
        }
      }
    } finally {
      written();
      if (this.writeTurns.get(stream.address) === turn) this.writeTurns.delete(stream.address);
      this.requeue(retried);
      for (const queue of queues) queue.inflight--;
      this.inflightRequests.set(stream.address, this.inflightTo(stream.address) - 1);
      this.scheduleDrain(0);
    }
  }

  /** Awaits the encodings; a batch that fails to encode is rejected on its own. */
  private async encodeAll(
    batches: readonly ProducerBatch[],
    retried: ProducerBatch[],
  ): Promise<{ batch: ProducerBatch; bytes: Buffer }[]> {
    const settled = await Promise.allSettled(batches.map((batch) => batch.encoded));
    const encoded: { batch: ProducerBatch; bytes: Buffer }[] = [];
    for (let i = 0; i < batches.length; i++) {
      const batch = batches[i];
      const outcome = settled[i];
      if (batch === undefined || outcome === undefined) continue;
      if (outcome.status === 'fulfilled' && outcome.value !== null) {
        encoded.push({ batch, bytes: outcome.value });
      } else {
        const reason: unknown = outcome.status === 'rejected' ? outcome.reason : null;
        this.onBatchError(batch, reason ?? new Error('batch was not encoded'), retried);
      }
    }
    return encoded;
  }

  private onResponse(
    batches: readonly ProducerBatch[],
    response: ProduceResponse__Output,
    retried: ProducerBatch[],
  ): void {
    if (response.results.length !== batches.length) {
      const error = new BrookClientError(
        'INTERNAL',
        `the broker answered ${response.results.length} results for ${batches.length} batches`,
        false,
      );
      for (const batch of batches) this.onBatchError(batch, error, retried);
      return;
    }
    for (let i = 0; i < batches.length; i++) {
      const batch = batches[i];
      const result = response.results[i];
      if (batch === undefined || result === undefined) continue;
      const error = brokerErrorOf(result.errorCode, result.errorMessage, result.leader);
      if (error === null) {
        this.completeBatch(batch, result.offset);
      } else {
        this.onBatchError(batch, error, retried);
      }
    }
  }

  private completeBatch(batch: ProducerBatch, baseOffset: number): void {
    const { topic, partition, records } = batch;
    for (let i = 0; i < records.length; i++) {
      const offset = baseOffset < 0 ? -1 : baseOffset + i;
      records[i]?.resolve({ topic, partition, offset });
    }
    this.release(records.length, batch.sizeBytes);
  }

  /** Retries the batch when the error allows and time remains; otherwise rejects its records. */
  private onBatchError(batch: ProducerBatch, error: unknown, retried: ProducerBatch[]): void {
    // Learnt whether or not this batch retries: the next batches must not go where it failed
    // (with retries 0, a dead leader would otherwise get every send until metadata ages out).
    if (isRetriable(error)) this.learnFromError(batch, error);
    const nowMs = Date.now();
    const waitMs = backoffMs(batch.attempts, this.retry);
    const withinDeadline = nowMs + waitMs < batch.createdAtMs + this.deliveryTimeoutMs;
    if (isRetriable(error) && batch.attempts < this.retry.retries && withinDeadline) {
      batch.attempts++;
      batch.retryAtMs = nowMs + waitMs;
      retried.push(batch);
      return;
    }
    this.rejectBatch(batch, error);
  }

  /** Metadata to fix after an error: a named leader is used at once, else a refresh is due. */
  private learnFromError(batch: ProducerBatch, error: unknown): void {
    if (error instanceof BrokerError && error.leader !== null) {
      this.metadata.applyLeaderHint(batch.topic, batch.partition, error.leader);
    } else if (!(error instanceof BrokerError) || error.code !== 'NOT_ENOUGH_REPLICAS') {
      this.metadata.markStale(batch.topic);
    }
  }

  /**
   * Puts retried batches back into their queues at their place by sequence: before every batch
   * closed after them, including batches retried by another request that failed first.
   */
  private requeue(retried: readonly ProducerBatch[]): void {
    for (const batch of retried) {
      const { ready } = this.partitionQueue(this.topicState(batch.topic), batch.partition);
      let at = 0;
      while (at < ready.length && (ready[at]?.sequence ?? Infinity) < batch.sequence) at++;
      ready.splice(at, 0, batch);
    }
  }

  private expireBatches(queue: PartitionQueue, nowMs: number): void {
    while (queue.ready.length > 0) {
      const head = queue.ready[0];
      if (head === undefined || nowMs - head.createdAtMs < this.deliveryTimeoutMs) return;
      queue.ready.shift();
      this.rejectBatch(
        head,
        new BrokerError(
          'REQUEST_TIMED_OUT',
          `${head.records.length} record(s) for ${head.topic}-${head.partition} expired: ` +
            `${nowMs - head.createdAtMs} ms passed since the batch was created`,
        ),
      );
    }
  }

  private rejectBatch(batch: ProducerBatch, error: unknown): void {
    for (const record of batch.records) record.reject(error);
    this.release(batch.records.length, batch.sizeBytes);
  }

  /** Rejects one record that never reached a batch. */
  private settleRecord(record: PendingRecord, error: unknown): void {
    record.reject(error);
    this.release(1, record.sizeBytes);
  }

  /** Frees buffer room, admits records that waited for it, and wakes idle and room waiters. */
  private release(recordCount: number, sizeBytes: number): void {
    this.outstandingCount -= recordCount;
    this.bufferedBytes -= sizeBytes;
    while (this.blocked.length > 0) {
      const next = this.blocked[0];
      if (next === undefined || this.bufferedBytes + next.sizeBytes > this.bufferBytesMax) break;
      this.blocked.shift();
      this.admit(next);
    }
    if (this.hasRoom()) {
      for (const wake of this.roomWaiters.splice(0)) wake();
    }
    if (this.isIdle()) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private refreshInBackground(topic: string): void {
    this.metadata.refresh(topic).then(
      () => this.scheduleDrain(0),
      // The next drain tries again; batches expire after deliveryTimeoutMs if it never works.
      () => undefined,
    );
  }

  /**
   * Learns a topic's partitions for the records waiting on it, then routes them in order. When
   * the cluster does not know the topic, the first waiting record is sent on its own through a
   * structured Produce with no partition: a broker with auto.create.topics.enable creates the
   * topic and appends it; one without answers UNKNOWN_TOPIC_OR_PARTITION, retried within
   * `retries`, after which every waiting record is rejected with it.
   */
  private async resolveTopic(topic: TopicState): Promise<void> {
    let lastError: unknown = null;
    let attempt = 0;
    while (topic.waiting !== null && topic.waiting.length > 0 && attempt <= this.retry.retries) {
      try {
        const info = await this.metadata.refresh(topic.name);
        if (info !== null && info.partitions.length > 0) {
          this.routeWaiting(topic);
          return;
        }
        lastError = new BrokerError(
          'UNKNOWN_TOPIC_OR_PARTITION',
          `topic "${topic.name}" does not exist`,
        );
        const first = topic.waiting[0];
        if (first !== undefined && (await this.probe(first))) {
          topic.waiting.shift();
          continue;
        }
      } catch (error: unknown) {
        lastError = error;
        if (!isRetriable(error)) break;
      }
      if (attempt < this.retry.retries) await delay(backoffMs(attempt, this.retry));
      attempt++;
    }
    const waiting = topic.waiting ?? [];
    topic.waiting = null;
    for (const record of waiting) this.settleRecord(record, lastError);
  }

  private routeWaiting(topic: TopicState): void {
    const waiting = topic.waiting ?? [];
    topic.waiting = null;
    for (const record of waiting) this.route(topic, record);
  }

  /**
   * Sends one record through a structured Produce (the broker picks the partition unless the
   * record names one). Resolves true when the record settled (appended, or refused for a reason
   * of its own), false when the topic is still unknown; throws other retriable errors.
   */
  private async probe(record: PendingRecord): Promise<boolean> {
    const address = this.metadata.addresses()[0];
    if (address === undefined) return false;
    const request: ProduceRequest = {
      topic: record.topic,
      acks: ACKS[this.acks],
      // Routed to the leader already: a moved leader must come back as NOT_LEADER_OR_FOLLOWER.
      noForward: true,
      timeoutMs: this.requestTimeoutMs,
      records: [toWireRecord(record)],
    };
    if (record.partition >= 0) request.partition = record.partition;
    const response = await callUnary<ProduceResponse__Output>(
      address,
      this.requestTimeoutMs + ANSWER_GRACE_MS,
      (options, callback) => this.pool.broker(address).produce(request, options, callback),
    ).catch((error: unknown) => {
      if (error instanceof BrokerError && error.code === 'UNKNOWN_TOPIC_OR_PARTITION') return null;
      throw error;
    });
    const result = response?.results[0];
    if (result === undefined) return false;
    const error = brokerErrorOf(result.errorCode, result.errorMessage, result.leader);
    if (error?.code === 'UNKNOWN_TOPIC_OR_PARTITION') return false;
    if (error !== null && error.retriable) throw error;
    if (error !== null) {
      this.settleRecord(record, error);
    } else {
      record.resolve({ topic: record.topic, partition: result.partition, offset: result.offset });
      this.release(1, record.sizeBytes);
    }
    return true;
  }
}

/** The record as the structured Produce call carries it (absent key/value stay absent). */
function toWireRecord(record: PendingRecord): NonNullable<ProduceRequest['records']>[number] {
  const wire: NonNullable<ProduceRequest['records']>[number] = {
    timestampMs: record.timestampMs,
    headers: record.headers.map((header) => ({ key: header.key, value: header.value })),
  };
  if (record.key !== null) wire.key = record.key;
  if (record.value !== null) wire.value = record.value;
  return wire;
}

function invalid(field: string, problem: string): BrookClientError {
  return new BrookClientError('INVALID_ARGUMENT', `${field}: ${problem}`, false, field);
}

/** Bytes of a key, value or header value; strings become UTF-8. Throws for other types. */
function toBytes(value: unknown, field: string): Buffer | null {
  if (value === null) return null;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw invalid(field, 'must be a Buffer, Uint8Array, string or null');
}

function toHeaders(headers: ProducerRecord['headers']): { key: string; value: Buffer }[] {
  if (headers === undefined) return [];
  const entries: [string, unknown][] = Array.isArray(headers)
    ? (headers as readonly RecordHeader[]).map((header) => [header.key, header.value])
    : Object.entries(headers);
  return entries.map(([key, value], i) => {
    if (typeof key !== 'string') throw invalid(`headers[${i}].key`, 'must be a string');
    const bytes = toBytes(value, `headers[${i}].value`);
    if (bytes === null) throw invalid(`headers[${i}].value`, 'must not be null');
    return { key, value: bytes };
  });
}

/**
 * Validates and converts one ProducerRecord; throws a BrookClientError naming the field (inside
 * send()'s promise executor, so the throw becomes send()'s rejection).
 */
function toPendingRecord(
  record: ProducerRecord,
  resolve: (metadata: RecordMetadata) => void,
  reject: (error: unknown) => void,
): PendingRecord {
  if (typeof record.topic !== 'string' || record.topic === '') {
    throw invalid('topic', 'must be a non-empty string');
  }
  if (record.value === undefined) throw invalid('value', 'must be given (null for a tombstone)');
  const value = toBytes(record.value, 'value');
  const key = record.key === undefined ? null : toBytes(record.key, 'key');
  const partition = record.partition ?? -1;
  if (record.partition !== undefined && (!Number.isInteger(partition) || partition < 0)) {
    throw invalid('partition', `must be a non-negative integer, got ${String(record.partition)}`);
  }
  const nowMs = Date.now();
  const timestampMs = record.timestampMs ?? nowMs;
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) {
    throw invalid('timestampMs', `must be a non-negative integer, got ${String(timestampMs)}`);
  }
  const headers = toHeaders(record.headers);
  let sizeBytes = RECORD_OVERHEAD_BYTES + (key?.length ?? 0) + (value?.length ?? 0);
  for (const header of headers)
    sizeBytes += Buffer.byteLength(header.key) + header.value.length + 4;
  return new PendingRecord(
    record.topic,
    key,
    value,
    timestampMs,
    headers,
    partition,
    sizeBytes,
    nowMs,
    resolve,
    reject,
  );
}
