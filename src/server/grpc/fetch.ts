/**
 * Fetch: read committed batches of several partitions, long-polling until min_bytes are there
 * or max_wait_ms passes. Per-partition problems are answered in the body with Kafka codes; a
 * malformed request fails as a whole with INVALID_ARGUMENT.
 */
import { RecordBatch } from '../../codec/index.js';
import { limits } from '../../config/index.js';
import { BrokerError } from '../../errors/index.js';
import type { PartitionLog } from '../../log/index.js';
import type {
  FetchPartition__Output,
  FetchPartitionResponse,
  FetchRequest,
  FetchRequest__Output,
  FetchResponse,
  FetchResponse__Output,
} from '../../proto/index.js';
import type { PartitionResolver } from '../partition-resolver.js';
import type { TrafficCounters } from '../metrics/traffic.js';
import { requireCount, requireEnum, requireInt, requireNonEmpty } from '../validate.js';
import { toFetchedRecords } from './records.js';
import { waitForAny } from '../../replication/index.js';

const FORMATS = ['RECORDS', 'BATCHES'] as const;

interface PartitionRead {
  readonly response: FetchPartitionResponse;
  readonly batches: Buffer[];
  readonly bytes: number;
  readonly log: PartitionLog | null;
  readonly offset: number;
}

/** Sends a fetch request to another node (server/peer-clients.ts). */
export interface FetchForwarder {
  forwardFetch(
    address: string,
    request: FetchRequest,
    signal: AbortSignal,
  ): Promise<FetchResponse__Output>;
}

export class FetchHandler {
  constructor(
    private readonly resolver: PartitionResolver,
    private readonly forwarder: FetchForwarder,
    /** Counts the batch bytes answered from this node's logs (fetchBytesOut). */
    private readonly traffic: TrafficCounters,
  ) {}

  /**
   * Answers the partitions this node leads itself and, unless the request says no_forward,
   * forwards the others to their leaders (one request per leader, same wait and min_bytes,
   * concurrently), merging the answers in request order.
   */
  async fetch(request: FetchRequest__Output, signal: AbortSignal): Promise<FetchResponse> {
    validateFetch(request);
    const remote = request.noForward ? new Map<string, number[]>() : this.remoteShares(request);
    if (remote.size === 0) return this.fetchLocal(request, signal);
    const forwarded = new Set([...remote.values()].flat());
    const local = request.partitions.flatMap((_, i) => (forwarded.has(i) ? [] : [i]));
    const answers = new Map<number, FetchPartitionResponse>();
    const localShare = async (): Promise<void> => {
      if (local.length === 0) return;
      const subset = { ...request, partitions: local.map((i) => request.partitions[i]!) };
      const response = await this.fetchLocal(subset, signal);
      response.partitions?.forEach((p, j) => answers.set(local[j]!, p));
    };
    const remoteShare = async (address: string, indexes: number[]): Promise<void> => {
      const subset = { ...request, partitions: indexes.map((i) => request.partitions[i]!) };
      try {
        const response = await this.forwarder.forwardFetch(
          address,
          { ...subset, noForward: true },
          signal,
        );
        response.partitions.forEach((p, j) => answers.set(indexes[j]!, p));
      } catch (error) {
        for (const i of indexes)
          answers.set(i, forwardFailure(request.partitions[i]!, address, error));
      }
    };
    await Promise.all([
      localShare(),
      ...[...remote].map(([address, indexes]) => remoteShare(address, indexes)),
    ]);
    return { partitions: request.partitions.map((_, i) => answers.get(i)!) };
  }

  /** Indexes of the request's partitions led by other nodes, by the leader's address. */
  private remoteShares(request: FetchRequest__Output): Map<string, number[]> {
    const out = new Map<string, number[]>();
    request.partitions.forEach((p, i) => {
      const address = this.resolver.remoteLeaderAddress(p.topic, p.partition);
      if (address === null) return;
      out.set(address, [...(out.get(address) ?? []), i]);
    });
    return out;
  }

  private async fetchLocal(
    request: FetchRequest__Output,
    signal: AbortSignal,
  ): Promise<FetchResponse> {
    const format = validateFetch(request);
    const responseBytesMax =
      request.maxBytes === 0 ? limits.fetchResponseBytesDefault : request.maxBytes;
    const deadline = Date.now() + request.maxWaitMs;
    let reads = await this.readAll(request, responseBytesMax);
    // Long-poll: re-read whenever a high watermark moves past what was read, until min_bytes
    // are there, a partition errs, the wait is over, or the client goes away.
    while (!isSatisfied(reads, request.minBytes) && !signal.aborted) {
      const remainingMs = deadline - Date.now();
      const logs = reads.flatMap((r) => (r.log === null ? [] : [r.log]));
      if (remainingMs <= 0 || logs.length === 0) break;
      const moved = await waitForAny(logs, () => reads.some(hasNewData), remainingMs, signal);
      if (!moved) break;
      reads = await this.readAll(request, responseBytesMax);
    }
    const partitions: FetchPartitionResponse[] = [];
    for (const read of reads) {
      // Past the last batch, not the last record: compaction may have left batches with none.
      read.response.nextOffset = readEndOf(read);
      this.traffic.fetchBytesOut += read.bytes;
      if (format === 'BATCHES') read.response.recordBatches = read.batches;
      else read.response.records = await toFetchedRecords(read.batches, read.offset);
      partitions.push(read.response);
    }
    return { partitions };
  }

  private async readAll(
    request: FetchRequest__Output,
    responseBytesMax: number,
  ): Promise<PartitionRead[]> {
    let remaining = responseBytesMax;
    const reads: PartitionRead[] = [];
    for (const wanted of request.partitions) {
      const partitionMax =
        wanted.maxBytes === 0 ? limits.fetchPartitionBytesDefault : wanted.maxBytes;
      const read = await this.readOne(
        wanted.topic,
        wanted.partition,
        wanted.offset,
        Math.min(partitionMax, remaining),
      );
      remaining = Math.max(0, remaining - read.bytes);
      reads.push(read);
    }
    return reads;
  }

  private async readOne(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
  ): Promise<PartitionRead> {
    const response: FetchPartitionResponse = {
      topic,
      partition,
      errorCode: 'NONE',
      errorMessage: '',
      highWatermark: -1,
      logStartOffset: -1,
      nextOffset: offset,
    };
    let log: PartitionLog | null = null;
    try {
      log = this.resolver.leader(topic, partition).log;
      response.highWatermark = log.highWatermark;
      response.logStartOffset = log.logStartOffset;
      if (isPastHighWatermark(log, offset)) {
        // Between the HW and the log end: records there exist but are not committed yet (a new
        // leader's HW catches up with its followers' fetches). Empty, not an error, as Kafka
        // answers, so a consumer does not reset its position over a failover.
        return { response, batches: [], bytes: 0, log, offset };
      }
      if (maxBytes === 0) {
        // The response's byte budget is spent, but a bad offset must still be reported.
        log.checkReadable(offset);
        return { response, batches: [], bytes: 0, log, offset };
      }
      const read = await log.read(offset, maxBytes);
      response.highWatermark = read.highWatermark;
      response.logStartOffset = read.logStartOffset;
      return { response, batches: read.batches, bytes: read.bytes, log, offset };
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
      response.errorCode = error.code;
      response.errorMessage = error.message;
      if (error.leader !== null)
        response.leader = { nodeId: error.leader.nodeId, address: error.leader.address };
      return { response, batches: [], bytes: 0, log: null, offset };
    }
  }
}

function isSatisfied(reads: readonly PartitionRead[], minBytes: number): boolean {
  if (reads.some((r) => r.response.errorCode !== 'NONE')) return true;
  return reads.reduce((sum, r) => sum + r.bytes, 0) >= minBytes;
}

/** True when the partition's high watermark is past the end of what this read returned. */
function hasNewData(read: PartitionRead): boolean {
  if (read.log === null) return false;
  return read.log.highWatermark > readEndOf(read);
}

/** Just past the last batch the read returned; the offset it asked for when it returned none. */
function readEndOf(read: PartitionRead): number {
  const last = read.batches[read.batches.length - 1];
  return last === undefined ? read.offset : RecordBatch.of(last).nextOffset;
}

function validateFetch(request: FetchRequest__Output): (typeof FORMATS)[number] {
  requireCount(request.partitions, 'partitions', limits.fetchPartitionsMax, 1);
  request.partitions.forEach((p, i) => {
    requireNonEmpty(p.topic, `partitions[${i}].topic`);
    requireInt(p.partition, `partitions[${i}].partition`, 0, limits.partitionsPerTopicMax - 1);
    requireInt(p.offset, `partitions[${i}].offset`, 0, Number.MAX_SAFE_INTEGER);
    requireInt(p.maxBytes, `partitions[${i}].max_bytes`, 0, limits.fetchPartitionBytesMax);
  });
  requireInt(request.maxWaitMs, 'max_wait_ms', 0, limits.fetchWaitMsMax);
  requireInt(request.minBytes, 'min_bytes', 0, limits.fetchResponseBytesMax);
  requireInt(request.maxBytes, 'max_bytes', 0, limits.fetchResponseBytesMax);
  return requireEnum(request.format, 'format', FORMATS);
}

/** Whether `offset` lies past the high watermark but within the log (not yet committed). */
export function isPastHighWatermark(log: PartitionLog, offset: number): boolean {
  return offset > log.highWatermark && offset <= log.logEndOffset;
}

/** The answer for a partition whose leader could not be reached to forward to. */
function forwardFailure(
  wanted: FetchPartition__Output,
  address: string,
  error: unknown,
): FetchPartitionResponse {
  const coded = error instanceof BrokerError;
  return {
    topic: wanted.topic,
    partition: wanted.partition,
    errorCode: coded ? error.code : 'NOT_LEADER_OR_FOLLOWER',
    errorMessage: coded
      ? error.message
      : `could not forward to the leader at ${address}: ${String(error)}`,
    highWatermark: -1,
    logStartOffset: -1,
    nextOffset: wanted.offset,
  };
}
