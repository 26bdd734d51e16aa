/**
 * ListOffsets routed to partition leaders, shared by the consumer (seek, offset reset) and the
 * admin client. Each partition gets its own outcome; retriable per-partition failures (a moved
 * leader, an unknown topic right after creation) are retried with backoff, the rest returned.
 */
import type { ListOffsetsPartition, ListOffsetsResponse__Output } from '../proto/index.js';
import { BrokerError } from '../errors/index.js';
import {
  brokerErrorOf,
  callUnary,
  isRetriable,
  type ClientError,
  type ConnectionPool,
} from './connection.js';
import type { MetadataCache } from './metadata-cache.js';
import { backoffMs, delay, type RetryPolicy } from './retry.js';

/** Which offset to look up: the log start, the high watermark, or the first at a time. */
export type OffsetSpec = 'earliest' | 'latest' | { readonly timestampMs: number };

export interface ListOffsetsQuery {
  readonly topic: string;
  readonly partition: number;
  readonly spec: OffsetSpec;
}

/** The answer for one partition; `error` is set (and offset is -1) when it failed. */
export interface ListOffsetsResult {
  readonly topic: string;
  readonly partition: number;
  /** The offset found; -1 for a timestamp later than every record, or on error. */
  readonly offset: number;
  /** For a timestamp query, the found record's timestamp; else -1. */
  readonly timestampMs: number;
  /** Leader epoch of the batch holding the offset, -1 when unknown. */
  readonly leaderEpoch: number;
  readonly error?: ClientError;
}

/**
 * Errors decided from metadata rather than by a leader: a topic or partition the cache does not
 * know. One retry (after a refresh) covers a topic created a moment ago; more would only delay
 * the answer for a topic that really is missing.
 */
const fromMetadata = new WeakSet<object>();

function toWire(query: ListOffsetsQuery): ListOffsetsPartition {
  const { topic, partition, spec } = query;
  if (spec === 'earliest') return { topic, partition, spec: 'EARLIEST' };
  if (spec === 'latest') return { topic, partition, spec: 'LATEST' };
  return { topic, partition, spec: 'TIMESTAMP', timestampMs: spec.timestampMs };
}

function failed(query: ListOffsetsQuery, error: ClientError): ListOffsetsResult {
  return {
    topic: query.topic,
    partition: query.partition,
    offset: -1,
    timestampMs: -1,
    leaderEpoch: -1,
    error,
  };
}

/**
 * One round: each query goes to its partition's leader as the cache knows it; queries without a
 * known leader fail with LEADER_NOT_AVAILABLE or UNKNOWN_TOPIC_OR_PARTITION.
 */
async function listOffsetsOnce(
  pool: ConnectionPool,
  metadata: MetadataCache,
  queries: readonly ListOffsetsQuery[],
  timeoutMs: number,
): Promise<ListOffsetsResult[]> {
  const results: ListOffsetsResult[] = new Array<ListOffsetsResult>(queries.length);
  const byAddress = new Map<string, number[]>();
  for (let i = 0; i < queries.length; i++) {
    const query = queries[i]!;
    const info = await metadata.topic(query.topic).catch((error: unknown) => error as ClientError);
    if (info instanceof Error) {
      results[i] = failed(query, info);
      continue;
    }
    const partition = info?.partitions[query.partition];
    if (info === null || partition === undefined) {
      const what = info === null ? `topic "${query.topic}"` : `${query.topic}-${query.partition}`;
      const error = new BrokerError('UNKNOWN_TOPIC_OR_PARTITION', `${what} does not exist`);
      fromMetadata.add(error);
      results[i] = failed(query, error);
      continue;
    }
    if (partition.leaderAddress === null) {
      results[i] = failed(
        query,
        new BrokerError('LEADER_NOT_AVAILABLE', `${query.topic}-${query.partition} has no leader`),
      );
      continue;
    }
    const indexes = byAddress.get(partition.leaderAddress) ?? [];
    indexes.push(i);
    byAddress.set(partition.leaderAddress, indexes);
  }
  await Promise.all(
    [...byAddress].map(([address, indexes]) =>
      askLeader(pool, address, queries, indexes, results, timeoutMs),
    ),
  );
  return results;
}

async function askLeader(
  pool: ConnectionPool,
  address: string,
  queries: readonly ListOffsetsQuery[],
  indexes: readonly number[],
  results: ListOffsetsResult[],
  timeoutMs: number,
): Promise<void> {
  const request = { partitions: indexes.map((i) => toWire(queries[i]!)) };
  try {
    const response = await callUnary<ListOffsetsResponse__Output>(address, timeoutMs, (o, cb) =>
      pool.broker(address).listOffsets(request, o, cb),
    );
    indexes.forEach((queryIndex, i) => {
      const query = queries[queryIndex]!;
      const answer = response.partitions[i];
      if (answer === undefined) {
        results[queryIndex] = failed(query, new BrokerError('UNKNOWN_SERVER_ERROR', 'no answer'));
        return;
      }
      const error = brokerErrorOf(answer.errorCode, answer.errorMessage, answer.leader);
      results[queryIndex] =
        error !== null
          ? failed(query, error)
          : {
              topic: query.topic,
              partition: query.partition,
              offset: answer.offset,
              timestampMs: answer.timestampMs,
              leaderEpoch: answer.leaderEpoch,
            };
    });
  } catch (error: unknown) {
    for (const queryIndex of indexes)
      results[queryIndex] = failed(queries[queryIndex]!, error as ClientError);
  }
}

/**
 * Looks up every query, retrying the ones that failed retriably (after a metadata refresh of
 * their topic) within `policy`. Resolves one result per query, in order; never rejects for a
 * per-partition failure.
 */
export async function listOffsets(
  pool: ConnectionPool,
  metadata: MetadataCache,
  queries: readonly ListOffsetsQuery[],
  timeoutMs: number,
  policy: RetryPolicy,
): Promise<ListOffsetsResult[]> {
  if (queries.length === 0) return [];
  const results = await listOffsetsOnce(pool, metadata, queries, timeoutMs);
  for (let attempt = 0; attempt < policy.retries; attempt++) {
    const retry = results.flatMap((result, i) => {
      const error = result.error;
      if (error === undefined || !isRetriable(error)) return [];
      return attempt > 0 && fromMetadata.has(error) ? [] : [i];
    });
    if (retry.length === 0) break;
    for (const i of retry) metadata.markStale(queries[i]!.topic);
    await delay(backoffMs(attempt, policy));
    const again = await listOffsetsOnce(
      pool,
      metadata,
      retry.map((i) => queries[i]!),
      timeoutMs,
    );
    retry.forEach((queryIndex, i) => {
      results[queryIndex] = again[i]!;
    });
  }
  return results;
}
