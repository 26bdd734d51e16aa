/**
 * What the fault workloads (queue.ts, groups.ts) share: above all the producers, after Jepsen's
 * Kafka tests:
 * each sends unique values ("producer-2-1041") to random partitions of one topic and records
 * every attempt as a `send` invoke and its completion (history.ts). The SDK's Producer runs with
 * retries off and one record per request, so each send is one attempt whose outcome can be
 * classified: `ok` with its offset, `fail` only for errors the broker gives before appending
 * anything, `info` (unknown) for everything else. Then the topic they write, a partition's high
 * watermark, and small helpers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, BrokerError, BrookClientError, Producer } from '../../../src/client/index.js';
import { SeededRng, type Rng } from '../../../src/util/rng.js';
import type { SendValue } from '../history.js';
import type { WorkloadContext } from './workload.js';

/** Per-request deadline of the clients: a paused or cut-off broker costs at most this. */
export const REQUEST_TIMEOUT_MS = 5_000;
/** Pause of a producer after a failed send, so a fault does not turn into a busy loop. */
const FAILURE_BACKOFF_MS = 50;

/**
 * Broker errors that mean the batch was certainly not appended: refused before the append.
 * NOT_LEADER_OR_FOLLOWER is not one: a leader that loses leadership while waiting for the ISR
 * answers it for a batch it did append (as Kafka does).
 */
const DEFINITE_FAILURES: ReadonlySet<string> = new Set([
  'NOT_ENOUGH_REPLICAS',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'INVALID_ARGUMENT',
  'INVALID_RECORD',
  'RECORD_TOO_LARGE',
  'CORRUPT_MESSAGE',
]);

export interface ProducerSettings {
  readonly topic: string;
  readonly partitions: number;
  readonly acks: 'all' | 'leader';
  /** Pause between one producer's sends, ms (keeps histories and CPU use moderate). */
  readonly sendIntervalMs: number;
}

/**
 * One producer, named `name` in the history, sending until `stop` aborts; resolves once its
 * last send has completed and the Producer is closed. `onAck` hears of every acknowledged send.
 */
export async function runProducer(
  context: WorkloadContext,
  name: string,
  settings: ProducerSettings,
  stop: AbortSignal,
  onAck: (partition: number, offset: number) => void = () => undefined,
): Promise<void> {
  const producer = new Producer({
    bootstrap: [...context.bootstrap],
    acks: settings.acks,
    lingerMs: 0,
    retries: 0,
    maxInflightRequestsPerPartition: 1,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    deliveryTimeoutMs: 2 * REQUEST_TIMEOUT_MS,
  });
  const rng = forkRng(context.rng);
  try {
    for (let sequence = 0; !stop.aborted; sequence++) {
      const partition = rng.int(settings.partitions);
      const value = `${name}-${sequence}`;
      context.history.record<'send', SendValue>(name, 'invoke', 'send', { partition, value });
      try {
        const { offset } = await producer.send({ topic: settings.topic, partition, value });
        onAck(partition, offset);
        context.history.record<'send', SendValue>(name, 'ok', 'send', {
          partition,
          value,
          offset,
        });
      } catch (error) {
        const type = DEFINITE_FAILURES.has(errorCode(error)) ? 'fail' : 'info';
        context.history.record<'send', SendValue>(name, type, 'send', {
          partition,
          value,
          error: describe(error),
        });
        await pause(FAILURE_BACKOFF_MS, stop);
      }
      await pause(settings.sendIntervalMs, stop);
    }
  } finally {
    await producer.close().catch(() => undefined);
  }
}

/** The Kafka code of a BrokerError, the gRPC status of a BrookClientError, else UNKNOWN. */
export function errorCode(error: unknown): string {
  if (error instanceof BrokerError || error instanceof BrookClientError) return error.code;
  return 'UNKNOWN';
}

/** One line for the history: code and message. */
export function describe(error: unknown): string {
  if (error instanceof BrokerError || error instanceof BrookClientError) {
    return `${error.code}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A client's own random stream, seeded from the run's, so clients do not share one. */
export function forkRng(rng: Rng): Rng {
  return new SeededRng(rng.int(0x7fff_ffff));
}

/** Sleeps `ms`, or less if `signal` aborts first. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  await sleep(ms, undefined, signal === undefined ? {} : { signal }).catch(() => undefined);
}

/** Creates the workload's topic (RF, min.insync.replicas, unclean election) and logs it. */
export async function createTopic(
  context: WorkloadContext,
  topic: {
    readonly name: string;
    readonly partitions: number;
    readonly replicationFactor: number;
    readonly minInsyncReplicas: number;
    readonly uncleanLeaderElection: boolean;
  },
): Promise<void> {
  const admin = new Admin({ bootstrap: [...context.bootstrap] });
  try {
    const [result] = await admin.createTopics([
      {
        name: topic.name,
        partitions: topic.partitions,
        replicationFactor: topic.replicationFactor,
        configs: {
          'min.insync.replicas': String(topic.minInsyncReplicas),
          'unclean.leader.election.enable': String(topic.uncleanLeaderElection),
        },
      },
    ]);
    if (result?.error !== undefined) throw result.error;
    context.log(
      `topic ${topic.name}: ${topic.partitions} partitions, RF ${topic.replicationFactor}, ` +
        `min.insync.replicas ${topic.minInsyncReplicas}, unclean election ` +
        `${topic.uncleanLeaderElection ? 'on' : 'off'}`,
    );
  } finally {
    await admin.close();
  }
}

/** The partition's high watermark, asked until it answers or the deadline passes. */
export async function endOffset(
  admin: Admin,
  topic: string,
  partition: number,
  deadlineMs: number,
): Promise<number> {
  for (;;) {
    const [result] = await admin.listOffsets([{ topic, partition, spec: 'latest' }]);
    if (result !== undefined && result.error === undefined) return result.offset;
    if (Date.now() >= deadlineMs) {
      throw new Error(`no high watermark for partition ${partition}: ${describe(result?.error)}`);
    }
    await pause(500);
  }
}
