/**
 * Subscribe: a server stream over one partition, pushing committed batches as the high
 * watermark passes them. Flow control follows the client: when grpc-js says its buffer is
 * full the loop waits for 'drain' instead of reading further.
 */
import { once } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { RecordBatch } from '../../codec/index.js';
import { limits } from '../../config/index.js';
import { BrokerError } from '../../errors/index.js';
import type { SubscribeRequest__Output, SubscribeResponse } from '../../proto/index.js';
import type { PartitionResolver } from '../partition-resolver.js';
import type { TrafficCounters } from '../metrics/traffic.js';
import { requireEnum, requireInt, requireNonEmpty } from '../validate.js';
import { toFetchedRecords } from './records.js';
import { isPastHighWatermark } from './fetch.js';
import { waitForHighWatermark } from '../../replication/index.js';

const FORMATS = ['RECORDS', 'BATCHES'] as const;
/** How long one idle wait lasts before the loop re-checks leadership and the partition. */
const IDLE_WAIT_MS = 5_000;

export class SubscribeHandler {
  private active = 0;

  constructor(
    private readonly resolver: PartitionResolver,
    /** Counts the batch bytes pushed to subscribers (fetchBytesOut). */
    private readonly traffic: TrafficCounters,
  ) {}

  async subscribe(
    call: grpc.ServerWritableStream<SubscribeRequest__Output, SubscribeResponse>,
    signal: AbortSignal,
  ): Promise<void> {
    const request = call.request;
    requireNonEmpty(request.topic, 'topic');
    requireInt(request.partition, 'partition', 0, limits.partitionsPerTopicMax - 1);
    requireInt(request.offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
    requireInt(request.maxBytes, 'max_bytes', 0, limits.fetchPartitionBytesMax);
    const format = requireEnum(request.format, 'format', FORMATS);
    if (this.active >= limits.subscriptionsMax) {
      throw new BrokerError(
        'REQUEST_TIMED_OUT',
        `this node already serves ${limits.subscriptionsMax} subscriptions; retry later or use Fetch`,
      );
    }
    this.active++;
    try {
      await this.pump(call, request, format, signal);
    } finally {
      this.active--;
    }
  }

  private async pump(
    call: grpc.ServerWritableStream<SubscribeRequest__Output, SubscribeResponse>,
    request: SubscribeRequest__Output,
    format: (typeof FORMATS)[number],
    signal: AbortSignal,
  ): Promise<void> {
    const maxBytes = request.maxBytes === 0 ? limits.fetchPartitionBytesDefault : request.maxBytes;
    let offset = request.offset;
    while (!signal.aborted) {
      // Resolved on every turn: a deleted topic or a moved leader ends the stream with its code.
      const { log } = this.resolver.leader(request.topic, request.partition);
      if (isPastHighWatermark(log, offset)) {
        await waitForHighWatermark(log, offset + 1, IDLE_WAIT_MS, signal);
        continue;
      }
      const read = await log.read(offset, maxBytes);
      const last = read.batches[read.batches.length - 1];
      if (last === undefined) {
        await waitForHighWatermark(log, offset + 1, IDLE_WAIT_MS, signal);
        continue;
      }
      const nextOffset = RecordBatch.of(last).nextOffset;
      const message: SubscribeResponse = {
        highWatermark: read.highWatermark,
        logStartOffset: read.logStartOffset,
        nextOffset,
      };
      if (format === 'BATCHES') message.recordBatches = read.batches;
      else message.records = await toFetchedRecords(read.batches, offset);
      offset = nextOffset;
      this.traffic.fetchBytesOut += read.bytes;
      if (!call.write(message)) await once(call, 'drain', { signal }).catch(() => undefined);
    }
  }
}
