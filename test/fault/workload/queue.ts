/**
 * The queue workload, after Jepsen's Kafka "queue" test: producers send unique values to the
 * partitions of one topic and record where each was acknowledged; readers follow partitions
 * with the SDK's Consumer and record what they saw at which offsets; after healing, the final
 * read takes every partition from offset 0 to its high watermark. queue-checker.ts judges it.
 *
 * Producers (common.ts) use the SDK with retries off and one record per request, so each send
 * is one attempt and its outcome can be classified: `fail` only for errors the broker gives
 * before appending anything, `info` (unknown) for everything else.
 */
import { Admin, Consumer } from '../../../src/client/index.js';
import type { Rng } from '../../../src/util/rng.js';
import { AvailabilityChecker } from '../checker/availability.js';
import type { Checker } from '../checker/checker.js';
import { QueueChecker } from '../checker/queue-checker.js';
import type { AssignValue, PollValue } from '../history.js';
import {
  createTopic,
  describe,
  endOffset,
  forkRng,
  pause,
  REQUEST_TIMEOUT_MS,
  runProducer,
} from './common.js';
import type { Workload, WorkloadContext } from './workload.js';

export interface QueueOptions {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  readonly acks: 'all' | 'leader';
  readonly uncleanLeaderElection: boolean;
  readonly producers: number;
  readonly readers: number;
  /** Pause between one producer's sends, ms (keeps histories and CPU use moderate). */
  readonly sendIntervalMs: number;
}

/** Readers mostly start within this many offsets of the newest acknowledged one... */
const RECENT_READ_OFFSETS = 200;
/** ...and this share of the time anywhere in the partition. */
const OLD_READ_SHARE = 0.1;
/** How long one reader poll waits for records. */
const POLL_MS = 250;

export class QueueWorkload implements Workload {
  readonly name = 'queue';
  readonly serverArgs: readonly string[] = [];
  readonly lossAnomalies: readonly string[] = ['lost', 'inconsistent-offsets'];
  /** Highest acknowledged offset per partition, where readers may start. */
  private readonly ackedEnd: number[];

  constructor(private readonly options: QueueOptions) {
    this.ackedEnd = Array.from({ length: options.partitions }, () => -1);
  }

  async setup(context: WorkloadContext): Promise<void> {
    await createTopic(context, { ...this.options, name: this.options.topic });
  }

  async run(context: WorkloadContext, stop: AbortSignal): Promise<void> {
    const clients = [
      ...Array.from({ length: this.options.producers }, (_, i) =>
        this.produce(context, `producer-${i}`, stop),
      ),
      ...Array.from({ length: this.options.readers }, (_, i) =>
        this.read(context, `reader-${i}`, stop),
      ),
    ];
    await Promise.all(clients);
  }

  async finalRead(context: WorkloadContext, deadlineMs: number): Promise<void> {
    const { topic, partitions } = this.options;
    const admin = new Admin({
      bootstrap: [...context.bootstrap],
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    try {
      for (let partition = 0; partition < partitions; partition++) {
        const end = await endOffset(admin, topic, partition, deadlineMs);
        await this.readAll(context, partition, end, deadlineMs);
      }
    } finally {
      await admin.close();
    }
  }

  get topic(): string {
    return this.options.topic;
  }

  checkers(): Checker[] {
    return [new QueueChecker(), new AvailabilityChecker()];
  }

  /** Every client ends with run() and finalRead(): nothing is left to end. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private produce(context: WorkloadContext, name: string, stop: AbortSignal): Promise<void> {
    return runProducer(context, name, this.options, stop, (partition, offset) => {
      this.ackedEnd[partition] = Math.max(this.ackedEnd[partition]!, offset);
    });
  }

  /**
   * One reader: follows a partition from a position for a while, then moves to another. A
   * position comes from what producers had acknowledged, so reads overlap fresh writes.
   */
  private async read(context: WorkloadContext, name: string, stop: AbortSignal): Promise<void> {
    const rng = forkRng(context.rng);
    const { topic } = this.options;
    while (!stop.aborted) {
      const consumer = new Consumer({
        bootstrap: [...context.bootstrap],
        autoOffsetReset: 'none',
        fetchMaxWaitMs: 200,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
      });
      try {
        const partition = rng.int(this.options.partitions);
        const tp = { topic, partition };
        let position = this.startOffset(partition, rng);
        consumer.assign([tp]);
        await consumer.seek(tp, position);
        context.history.record<'assign', AssignValue>(name, 'ok', 'assign', {
          partition,
          offset: position,
        });
        const polls = 5 + rng.int(30);
        for (let i = 0; i < polls && !stop.aborted; i++) {
          const from = position;
          context.history.record<'poll', PollValue>(name, 'invoke', 'poll', {
            partition,
            offset: from,
          });
          try {
            const records = await consumer.poll(POLL_MS);
            const pairs = records
              .filter((record) => record.partition === partition)
              .map((record) => [record.offset, record.value?.toString('utf8') ?? ''] as const);
            if (pairs.length > 0) position = pairs[pairs.length - 1]![0] + 1;
            context.history.record<'poll', PollValue>(name, 'ok', 'poll', {
              partition,
              offset: from,
              records: pairs,
            });
          } catch (error) {
            context.history.record<'poll', PollValue>(name, 'info', 'poll', {
              partition,
              offset: from,
              error: describe(error),
            });
            break;
          }
        }
      } catch (error) {
        context.log(`${name}: ${describe(error)}; repositioning`);
        await pause(100, stop);
      } finally {
        await consumer.close().catch(() => undefined);
      }
    }
  }

  /**
   * Where a reader starts: mostly just behind the newest acknowledged offset, so reads overlap
   * fresh writes and leader changes; now and then anywhere, so old data is read back too.
   */
  private startOffset(partition: number, rng: Rng): number {
    const known = this.ackedEnd[partition]!;
    if (known < 0) return 0;
    if (rng.next() < OLD_READ_SHARE) return rng.int(known + 1);
    return Math.max(0, known - rng.int(RECENT_READ_OFFSETS));
  }

  /** final-poll ops for one partition from offset 0 until `end` (its high watermark). */
  private async readAll(
    context: WorkloadContext,
    partition: number,
    end: number,
    deadlineMs: number,
  ): Promise<void> {
    const tp = { topic: this.options.topic, partition };
    const consumer = new Consumer({
      bootstrap: [...context.bootstrap],
      autoOffsetReset: 'none',
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    try {
      consumer.assign([tp]);
      await consumer.seek(tp, 0);
      let position = 0;
      // At least one final-poll, even of an empty partition: the checker needs its end.
      do {
        const from = position;
        context.history.record<'final-poll', PollValue>('final', 'invoke', 'final-poll', {
          partition,
          offset: from,
        });
        try {
          const records = end === 0 ? [] : await consumer.poll(1_000);
          const pairs = records.map((r) => [r.offset, r.value?.toString('utf8') ?? ''] as const);
          if (pairs.length > 0) position = pairs[pairs.length - 1]![0] + 1;
          context.history.record<'final-poll', PollValue>('final', 'ok', 'final-poll', {
            partition,
            offset: from,
            records: pairs,
            highWatermark: end,
          });
        } catch (error) {
          context.history.record<'final-poll', PollValue>('final', 'info', 'final-poll', {
            partition,
            offset: from,
            error: describe(error),
          });
          throw error;
        }
      } while (position < end && Date.now() < deadlineMs);
      context.log(
        `final read of partition ${partition}: ${position} of ${end} offsets` +
          (position < end ? ' (INCOMPLETE: deadline)' : ''),
      );
    } finally {
      await consumer.close().catch(() => undefined);
    }
  }
}
