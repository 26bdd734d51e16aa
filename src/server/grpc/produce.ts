/**
 * Produce: validate the whole request first (a malformed one changes nothing), group records
 * by partition into one batch each, append every partition's batch in the same tick so they
 * share one group commit, then wait for the acks the client asked for.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkProducedBatch,
  decodeRecords,
  encodeBatch,
  partitionForKey,
  RecordBatch,
  type RecordInput,
} from '../../codec/index.js';
import { limits, type BrokerConfig } from '../../config/index.js';
import { BrokerError, InvalidArgumentError, type ErrorCode } from '../../errors/index.js';
import { OFFSETS_TOPIC } from '../../group/index.js';
import { checkTopicName, type MetadataService, type TopicImage } from '../../metadata/index.js';
import type {
  ProduceRequest,
  ProduceRequest__Output,
  ProduceResponse,
  ProduceResponse__Output,
  ProduceResult,
} from '../../proto/index.js';
import type { PartitionResolver, ResolvedPartition } from '../partition-resolver.js';
import type { TrafficCounters } from '../metrics/traffic.js';
import { isCompactedTopic, topicSettings } from '../topic-settings.js';
import { requireCount, requireEnum, requireInt } from '../validate.js';
import { waitForHighWatermark } from '../../replication/index.js';

const ACKS = ['ACKS_UNSPECIFIED', 'ACKS_NONE', 'ACKS_LEADER', 'ACKS_ALL'] as const;
const COMPRESSIONS = ['COMPRESSION_NONE', 'COMPRESSION_GZIP', 'COMPRESSION_SNAPPY'] as const;
type Acks = 'none' | 'leader' | 'all';

/** One partition's share of a request: the batches to append and the inputs they answer. */
interface PartitionWork {
  readonly partition: number;
  /** Indexes into the response's results that this partition answers. */
  readonly resultIndexes: number[];
  /** Per batch: the encoded bytes (records mode has one batch per partition). */
  readonly batches: Buffer[];
  /** Records mode: each result is one record of the single batch; else one result per batch. */
  readonly perRecord: boolean;
}

interface ValidRequest {
  readonly topic: string;
  /** Whether a share led by another node may be forwarded to it (no_forward unset). */
  readonly isForwardAllowed: boolean;
  readonly acks: Acks;
  readonly timeoutMs: number;
  readonly compression: 0 | 1 | 2;
}

/** A validated request whose appends have not started. */
export interface PreparedProduce {
  /**
   * Starts every append synchronously (so they share a group commit and keep the order of
   * commit() calls), then resolves once the acks are reached.
   */
  commit(): Promise<ProduceResponse>;
}

/** Sends a produce request to another node (server/peer-clients.ts). */
export interface ProduceForwarder {
  forwardProduce(
    address: string,
    request: ProduceRequest,
    timeoutMs: number,
  ): Promise<ProduceResponse__Output>;
}

export interface ProduceDeps {
  readonly config: BrokerConfig;
  readonly forwarder: ProduceForwarder;
  readonly metadata: MetadataService;
  readonly resolver: PartitionResolver;
  readonly now: () => number;
  /** Counts the bytes of every batch appended here (produceBytesIn). */
  readonly traffic: TrafficCounters;
}

export class ProduceHandler {
  /** Round-robin position per topic for keyless records. */
  private readonly roundRobin = new Map<string, number>();

  constructor(private readonly deps: ProduceDeps) {}

  /** Validates, prepares and appends one request; answers once its acks are reached. */
  async produce(
    request: ProduceRequest__Output,
    deadlineMs: number | null,
  ): Promise<ProduceResponse> {
    return (await this.prepare(request, deadlineMs)).commit();
  }

  /**
   * Everything before the append: validation (a malformed request throws and changes nothing),
   * the topic lookup, and encoding. Prepares may run concurrently; a caller that needs appends
   * in arrival order (ProduceStream) calls commit() in that order.
   */
  async prepare(
    request: ProduceRequest__Output,
    deadlineMs: number | null,
  ): Promise<PreparedProduce> {
    const valid = validateProduce(request);
    if (request.batches.length > 0) await checkBatchContents(request);
    const topic = await this.topicFor(valid.topic, request);
    const resultCount =
      request.records.length > 0 ? request.records.length : request.batches.length;
    const results: ProduceResult[] = Array.from({ length: resultCount }, () => emptyResult());
    if (topic === null) {
      const message = `topic "${valid.topic}" does not exist (create it, or enable auto.create.topics.enable)`;
      results.forEach((r) => fail(r, 'UNKNOWN_TOPIC_OR_PARTITION', message));
      return { commit: () => Promise.resolve({ results }) };
    }
    if (topic.name === OFFSETS_TOPIC) {
      const message = `${OFFSETS_TOPIC} is internal: only the group coordinator writes it (commit offsets with OffsetCommit)`;
      results.forEach((r) => fail(r, 'INVALID_TOPIC_EXCEPTION', message));
      return { commit: () => Promise.resolve({ results }) };
    }
    if (isCompactedTopic(topic)) {
      // Compaction keeps the latest record per key, so a record without one has no meaning
      // there. The whole request is refused, as a malformed one is: nothing is appended.
      const keyless = await keylessRecord(request);
      if (keyless !== null) {
        const message = `topic "${topic.name}" is compacted (cleanup.policy=${topic.configs.get('cleanup.policy') ?? 'compact'}): every record needs a key, and ${keyless} has none`;
        results.forEach((r) => fail(r, 'INVALID_RECORD', message));
        return { commit: () => Promise.resolve({ results }) };
      }
    }
    const work =
      request.records.length > 0
        ? await this.recordsWork(request, topic, valid, results)
        : batchesWork(request, results);
    return {
      commit: async () => {
        const timeoutMs = effectiveTimeout(valid.timeoutMs, deadlineMs, this.deps.now());
        await Promise.all(this.appendAll(work, topic, valid, results, timeoutMs));
        return { results };
      },
    };
  }

  /** Starts every partition's append synchronously, so they land in one group commit. */
  private appendAll(
    work: readonly PartitionWork[],
    topic: TopicImage,
    valid: ValidRequest,
    results: ProduceResult[],
    timeoutMs: number,
  ): Promise<void>[] {
    const settings = topicSettings(topic, this.deps.config);
    const pending: Promise<void>[] = [];
    for (const item of work) {
      const failAll = (code: ErrorCode, message: string, error?: BrokerError): void => {
        for (const i of item.resultIndexes) fail(results[i] as ProduceResult, code, message, error);
      };
      let resolved: ResolvedPartition;
      try {
        resolved = this.deps.resolver.leader(topic.name, item.partition);
      } catch (error) {
        if (!(error instanceof BrokerError)) throw error;
        const leader = forwardTarget(error, valid.isForwardAllowed);
        if (leader !== null) {
          pending.push(this.forward(leader, topic.name, item, valid, results, timeoutMs));
          continue;
        }
        failAll(error.code, error.message, error);
        continue;
      }
      const tooLarge = item.batches.find((b) => b.length > settings.maxMessageBytes);
      if (tooLarge !== undefined) {
        failAll(
          'RECORD_TOO_LARGE',
          `a batch of ${tooLarge.length} bytes exceeds max.message.bytes=${settings.maxMessageBytes} of topic "${topic.name}"`,
        );
        continue;
      }
      if (valid.acks === 'all' && resolved.partition.isr.length < settings.minInsyncReplicas) {
        failAll(
          'NOT_ENOUGH_REPLICAS',
          `${resolved.partition.isr.length} in-sync replica(s), min.insync.replicas=${settings.minInsyncReplicas}`,
        );
        continue;
      }
      const appendTimeMs = settings.logAppendTime ? this.deps.now() : null;
      // Each durable append may raise the HW (an ISR of one) and wakes followers' long polls.
      const appends = item.batches.map((batch) =>
        resolved.log.append(batch, resolved.partition.leaderEpoch, appendTimeMs).then((r) => {
          resolved.leader.onAppended();
          this.deps.traffic.produceBytesIn += batch.length;
          return r;
        }),
      );
      const done = this.awaitAcks(
        appends,
        resolved,
        item,
        { acks: valid.acks, minInsyncReplicas: settings.minInsyncReplicas },
        timeoutMs,
        results,
        appendTimeMs,
      );
      pending.push(
        done.catch((error: unknown) => {
          if (!(error instanceof BrokerError)) throw error;
          failAll(error.code, error.message, error);
        }),
      );
    }
    return pending;
  }

  private async awaitAcks(
    appends: Promise<{ baseOffset: number; lastOffset: number; logStartOffset: number }>[],
    resolved: ResolvedPartition,
    item: PartitionWork,
    { acks, minInsyncReplicas }: { acks: Acks; minInsyncReplicas: number },
    timeoutMs: number,
    results: ProduceResult[],
    appendTimeMs: number | null,
  ): Promise<void> {
    if (acks === 'none') {
      // Nobody waits, but a failed append must still be noticed (the log manager treats a
      // failed write as fatal; this only keeps the rejection from going unhandled).
      for (const append of appends) append.catch(() => undefined);
      return;
    }
    const deadline = this.deps.now() + timeoutMs;
    const appended = await withTimeout(Promise.all(appends), timeoutMs);
    if (appended === null) throw timedOut(timeoutMs);
    if (acks === 'all') {
      const last = appended[appended.length - 1];
      const lastOffset = last === undefined ? -1 : last.lastOffset;
      const reached = await waitForHighWatermark(
        resolved.log,
        lastOffset + 1,
        deadline - this.deps.now(),
        resolved.leader.resigned,
      );
      if (!reached && resolved.leader.resigned.aborted) {
        // As Kafka answers from its purgatory: the batch may still commit under the new
        // leader, or be truncated; the producer retries (idempotence avoids a duplicate).
        throw new BrokerError(
          'NOT_LEADER_OR_FOLLOWER',
          `leadership of ${resolved.topic.name}-${resolved.partition.partition} moved before the in-sync replicas acknowledged; the batch may or may not be committed`,
        );
      }
      if (!reached) throw timedOut(timeoutMs);
      const isrSize = resolved.leader.isrSize;
      if (isrSize < minInsyncReplicas) {
        // As Kafka: the HW passed the batch over an ISR smaller than promised, so fewer than
        // min.insync.replicas copies may exist. It stays in the log; the producer may retry.
        throw new BrokerError(
          'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
          `${isrSize} in-sync replica(s) when the batch committed, min.insync.replicas=${minInsyncReplicas}`,
        );
      }
    }
    fillOffsets(item, appended, resolved.log.logStartOffset, results, appendTimeMs);
  }

  /**
   * Sends one partition's share to its leader (this node does not lead it) and answers from the
   * leader's answer, as if appended here. The share goes as pre-encoded batches, marked not to
   * be forwarded again, so it never bounces between nodes that disagree about the leader.
   */
  private async forward(
    address: string,
    topic: string,
    item: PartitionWork,
    valid: ValidRequest,
    results: ProduceResult[],
    timeoutMs: number,
  ): Promise<void> {
    const failAll = (code: ErrorCode, message: string, error?: BrokerError): void => {
      for (const i of item.resultIndexes) fail(results[i] as ProduceResult, code, message, error);
    };
    const request = {
      topic,
      batches: item.batches.map((recordBatch) => ({ partition: item.partition, recordBatch })),
      acks: ACKS[valid.acks === 'none' ? 1 : valid.acks === 'leader' ? 2 : 3],
      timeoutMs,
      noForward: true,
    };
    let answer: ProduceResponse__Output;
    try {
      answer = await this.deps.forwarder.forwardProduce(address, request, timeoutMs);
    } catch (error) {
      if (!(error instanceof BrokerError)) {
        failAll(
          'NOT_LEADER_OR_FOLLOWER',
          `could not forward to the leader at ${address}: ${String(error)}`,
        );
        return;
      }
      failAll(error.code, error.message, error);
      return;
    }
    const failed = answer.results.find((r) => r.errorCode !== 'NONE');
    if (failed !== undefined || answer.results.length !== item.batches.length) {
      const code = failed?.errorCode ?? 'UNKNOWN_SERVER_ERROR';
      failAll(code, failed?.errorMessage ?? 'the leader answered a different number of batches');
      return;
    }
    const appended = answer.results.map((r, i) => ({
      baseOffset: r.offset,
      lastOffset: r.offset < 0 ? -1 : r.offset + RecordBatch.of(item.batches[i]!).recordCount - 1,
    }));
    const first = answer.results[0];
    fillOffsets(
      item,
      appended,
      first?.logStartOffset ?? -1,
      results,
      first?.logAppendTimeMs ?? null,
    );
  }

  /** Looks the topic up, creating it first when the broker auto-creates topics. */
  private async topicFor(
    name: string,
    request: ProduceRequest__Output,
  ): Promise<TopicImage | null> {
    const existing = this.deps.metadata.image().topic(name);
    if (existing !== undefined || !this.deps.config.autoCreateTopics) return existing ?? null;
    const wanted = request.batches.reduce((max, b) => Math.max(max, b.partition + 1), 0);
    const partitions = Math.max(
      this.deps.config.numPartitions,
      request.partition !== undefined ? request.partition + 1 : 0,
      wanted,
    );
    await this.deps.metadata.createTopics(
      [{ name, partitions, replicationFactor: null, configs: new Map() }],
      false,
    );
    return this.deps.metadata.image().topic(name) ?? null;
  }

  private async recordsWork(
    request: ProduceRequest__Output,
    topic: TopicImage,
    valid: ValidRequest,
    results: ProduceResult[],
  ): Promise<PartitionWork[]> {
    const partitionCount = topic.partitions.length;
    const byPartition = new Map<number, { indexes: number[]; records: RecordInput[] }>();
    const now = this.deps.now();
    for (let i = 0; i < request.records.length; i++) {
      const record = request.records[i]!;
      const partition =
        request.partition ?? this.choosePartition(topic.name, record.key ?? null, partitionCount);
      let group = byPartition.get(partition);
      if (group === undefined) {
        group = { indexes: [], records: [] };
        byPartition.set(partition, group);
      }
      group.indexes.push(i);
      group.records.push({
        key: record.key ?? null,
        value: record.value ?? null,
        timestampMs: record.timestampMs ?? now,
        headers: record.headers,
      });
      (results[i] as ProduceResult).partition = partition;
    }
    const work: PartitionWork[] = [];
    for (const [partition, group] of byPartition) {
      const batch = await encodeBatch(group.records, { compression: valid.compression });
      work.push({ partition, resultIndexes: group.indexes, batches: [batch], perRecord: true });
    }
    return work;
  }

  private choosePartition(topic: string, key: Buffer | null, partitionCount: number): number {
    if (key !== null) return partitionForKey(key, partitionCount);
    const next = this.roundRobin.get(topic) ?? 0;
    this.roundRobin.set(topic, (next + 1) % partitionCount);
    return next % partitionCount;
  }
}

function batchesWork(request: ProduceRequest__Output, results: ProduceResult[]): PartitionWork[] {
  const byPartition = new Map<number, PartitionWork>();
  request.batches.forEach((batch, i) => {
    let item = byPartition.get(batch.partition);
    if (item === undefined) {
      item = { partition: batch.partition, resultIndexes: [], batches: [], perRecord: false };
      byPartition.set(batch.partition, item);
    }
    item.resultIndexes.push(i);
    // No copy: the log stamps offset and epoch into these bytes in place. They are a view of
    // the request message, which grpc-js allocated for this message alone and no longer reads.
    item.batches.push(batch.recordBatch);
    (results[i] as ProduceResult).partition = batch.partition;
  });
  return [...byPartition.values()];
}

/** Offsets per result: records mode gives each record its own, batches mode the base offset. */
function fillOffsets(
  item: PartitionWork,
  appended: readonly { baseOffset: number; lastOffset: number }[],
  logStartOffset: number,
  results: ProduceResult[],
  appendTimeMs: number | null,
): void {
  item.resultIndexes.forEach((resultIndex, i) => {
    const result = results[resultIndex] as ProduceResult;
    result.offset = item.perRecord ? appended[0]!.baseOffset + i : appended[i]!.baseOffset;
    result.logStartOffset = logStartOffset;
    result.logAppendTimeMs = appendTimeMs ?? -1;
  });
}

function validateProduce(request: ProduceRequest__Output): ValidRequest {
  const problem = checkTopicName(request.topic);
  if (problem !== null) throw new InvalidArgumentError('topic', problem);
  const hasRecords = request.records.length > 0;
  const hasBatches = request.batches.length > 0;
  if (hasRecords && hasBatches)
    throw new InvalidArgumentError('batches', 'cannot be combined with records in one request');
  if (!hasRecords && !hasBatches)
    throw new InvalidArgumentError('records', 'must not be empty (or send batches)');
  requireCount(request.records, 'records', limits.produceRecordsMax);
  requireCount(request.batches, 'batches', limits.produceBatchesMax);
  if (request.partition !== undefined) {
    if (hasBatches)
      throw new InvalidArgumentError(
        'partition',
        'applies to records only; each batch names its own partition',
      );
    requireInt(request.partition, 'partition', 0, limits.partitionsPerTopicMax - 1);
  }
  const acks = requireEnum(request.acks, 'acks', ACKS);
  const compression = requireEnum(request.compression, 'compression', COMPRESSIONS);
  requireInt(request.timeoutMs, 'timeout_ms', 0, limits.produceTimeoutMsMax);
  request.records.forEach((record, i) => validateRecord(record, i));
  request.batches.forEach((batch, i) => {
    requireInt(batch.partition, `batches[${i}].partition`, 0, limits.partitionsPerTopicMax - 1);
    if (batch.recordBatch.length > limits.batchBytesMax) {
      throw new InvalidArgumentError(
        `batches[${i}].record_batch`,
        `is ${batch.recordBatch.length} bytes; the limit is ${limits.batchBytesMax}`,
      );
    }
    // The header, CRC and records are checked once, by checkBatchContents.
  });
  return {
    topic: request.topic,
    isForwardAllowed: !request.noForward,
    acks: acks === 'ACKS_NONE' ? 'none' : acks === 'ACKS_LEADER' ? 'leader' : 'all',
    timeoutMs: request.timeoutMs === 0 ? limits.produceTimeoutMsDefault : request.timeoutMs,
    compression: COMPRESSIONS.indexOf(compression) as 0 | 1 | 2,
  };
}

function validateRecord(record: ProduceRequest__Output['records'][number], i: number): void {
  if (record.timestampMs !== undefined) {
    requireInt(record.timestampMs, `records[${i}].timestamp_ms`, 0, Number.MAX_SAFE_INTEGER);
  }
  requireCount(record.headers, `records[${i}].headers`, limits.recordHeadersMax);
  const bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  if (bytes > limits.batchBytesMax) {
    throw new InvalidArgumentError(
      `records[${i}]`,
      `is ${bytes} bytes; the limit is ${limits.batchBytesMax}`,
    );
  }
}

/** The full record walk (decompressing when needed), for every batch before any is appended. */
async function checkBatchContents(request: ProduceRequest__Output): Promise<void> {
  for (let i = 0; i < request.batches.length; i++) {
    const batch = request.batches[i]!.recordBatch;
    // Negative create timestamps are refused here as they are for structured records.
    const check = await checkProducedBatch(batch, { timestampMsMin: 0 });
    if (!check.ok)
      throw new InvalidArgumentError(
        `batches[${i}].record_batch`,
        `${check.reason} (${check.code})`,
      );
    if (RecordBatch.of(batch).producerId >= 0) {
      throw new InvalidArgumentError(
        `batches[${i}].record_batch`,
        'idempotent batches (producer id set) are not supported yet; send producer id -1',
      );
    }
  }
}

/**
 * Where the request has a record without a key ("records[3]", "batches[1] record 0"), or null.
 * For compacted topics only; pre-encoded batches are decoded again for it (checked already).
 */
async function keylessRecord(request: ProduceRequest__Output): Promise<string | null> {
  for (let i = 0; i < request.records.length; i++) {
    const key = request.records[i]!.key;
    if (key === undefined || key === null) return `records[${i}]`;
  }
  for (let i = 0; i < request.batches.length; i++) {
    const records = await decodeRecords(request.batches[i]!.recordBatch);
    const index = records.findIndex((record) => record.key === null);
    if (index >= 0) return `batches[${i}] record ${index}`;
  }
  return null;
}

function emptyResult(): ProduceResult {
  return {
    partition: -1,
    errorCode: 'NONE',
    errorMessage: '',
    offset: -1,
    logStartOffset: -1,
    logAppendTimeMs: -1,
  };
}

/** The leader's address to forward a share to, or null to answer the error instead. */
function forwardTarget(error: BrokerError, isForwardAllowed: boolean): string | null {
  if (!isForwardAllowed || error.code !== 'NOT_LEADER_OR_FOLLOWER') return null;
  return error.leader?.address ?? null;
}

function fail(result: ProduceResult, code: ErrorCode, message: string, error?: BrokerError): void {
  result.errorCode = code;
  result.errorMessage = message;
  result.offset = -1;
  if (error?.leader) result.leader = { nodeId: error.leader.nodeId, address: error.leader.address };
}

function timedOut(timeoutMs: number): BrokerError {
  return new BrokerError(
    'REQUEST_TIMED_OUT',
    `acks not reached within ${timeoutMs} ms; the records may still be committed`,
  );
}

function effectiveTimeout(timeoutMs: number, deadlineMs: number | null, nowMs: number): number {
  if (deadlineMs === null) return timeoutMs;
  return Math.max(0, Math.min(timeoutMs, deadlineMs - nowMs));
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | null> {
  const controller = new AbortController();
  const timer = sleep(timeoutMs, null, { signal: controller.signal }).catch(() => null);
  try {
    return await Promise.race([promise, timer]);
  } finally {
    controller.abort();
  }
}
