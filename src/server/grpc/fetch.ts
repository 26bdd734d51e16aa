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
  FetchPartitionResponse,
  FetchRequest__Output,
  FetchResponse,
} from '../../proto/index.js';
import type { PartitionResolver } from '../partition-resolver.js';
import { requireCount, requireEnum, requireInt, requireNonEmpty } from '../validate.js';
import { toFetchedRecords } from './records.js';
import { waitForAny } from './wait.js';

const FORMATS = ['RECORDS', 'BATCHES'] as const;

interface PartitionRead {
  readonly response: FetchPartitionResponse;
  readonly batches: Buffer[];
  readonly bytes: number;
  readonly log: PartitionLog | null;
  readonly offset: number;
}

export class FetchHandler {
  constructor(private readonly resolver: PartitionResolver) {}

  async fetch(request: FetchRequest__Output, signal: AbortSignal): Promise<FetchResponse> {
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
    };
    let log: PartitionLog | null = null;
    try {
      log = this.resolver.leader(topic, partition).log;
      response.highWatermark = log.highWatermark;
      response.logStartOffset = log.logStartOffset;
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
  const last = read.batches[read.batches.length - 1];
  const readEnd = last === undefined ? read.offset : RecordBatch.of(last).nextOffset;
  return read.log.highWatermark > readEnd;
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
