/**
 * The ReplicaFetch service (peer.proto) of a partition leader: followers' fetches and their
 * OffsetsForLeaderEpoch questions. A fetch reads up to the leader's durable log end (not the
 * high watermark: followers replicate what is not committed yet), records the follower's
 * progress (its fetch offset is its log end), and long-polls when there is nothing new.
 *
 * Fetches for a replica that a reassignment is adding, and that is not in sync yet, share the
 * leader's replication throttle (leader.replication.throttled.rate): over quota they get no
 * records, and wait until the quota refills rather than for new data.
 *
 * Epoch fencing (KIP-320): a follower that names an older leader epoch than the leader's gets
 * FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH (this node has not applied that
 * metadata yet); either way it waits for metadata and retries.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { limits } from '../../config/index.js';
import { BrokerError, type ErrorCode } from '../../errors/index.js';
import {
  brookV1Peer,
  type OffsetsForLeaderEpochPartitionResponse,
  type OffsetsForLeaderEpochRequest__Output,
  type OffsetsForLeaderEpochResponse,
  type ReplicaFetchPartitionResponse,
  type ReplicaFetchRequest__Output,
  type ReplicaFetchResponse,
} from '../../proto/index.js';
import type {
  PartitionLeader,
  ReplicaManager,
  ReplicationThrottle,
} from '../../replication/index.js';
import { toServiceError, unary } from '../error-status.js';
import type { TrafficCounters } from '../metrics/traffic.js';
import { requireCount, requireInt } from '../validate.js';
import { requireDecoded, tolerantDefinition } from './malformed.js';

export interface ReplicaFetchDeps {
  readonly replicas: ReplicaManager;
  readonly logger: Logger;
  readonly shutdown: AbortSignal;
  /** Counts the batch bytes sent to followers (replicationBytesOut). */
  readonly traffic: TrafficCounters;
  /** The quota of fetches for replicas being added by a reassignment. */
  readonly throttle: ReplicationThrottle;
}

export function replicaFetchService(deps: ReplicaFetchDeps): {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
} {
  const fetch = unary<ReplicaFetchRequest__Output, ReplicaFetchResponse>(
    'ReplicaFetch.Fetch',
    deps.logger,
    (request) => replicaFetch(deps, request),
  );
  const offsets = unary<OffsetsForLeaderEpochRequest__Output, OffsetsForLeaderEpochResponse>(
    'ReplicaFetch.OffsetsForLeaderEpoch',
    deps.logger,
    (request) => Promise.resolve(offsetsForLeaderEpoch(deps, request)),
  );
  return {
    definition: tolerantDefinition(brookV1Peer().ReplicaFetch.service),
    implementation: {
      Fetch: fetch,
      FetchStream: (call: FetchStreamCall) => serveFetchStream(deps, call),
      OffsetsForLeaderEpoch: offsets,
    },
  };
}

type FetchStreamCall = grpc.ServerDuplexStream<ReplicaFetchRequest__Output, ReplicaFetchResponse>;

/**
 * One follower's fetch stream: requests are answered one at a time, in order, each like a
 * Fetch call. The stream's long polls end when the follower cancels or the node shuts down; a
 * request that fails (malformed) ends the stream with its status.
 */
function serveFetchStream(deps: ReplicaFetchDeps, call: FetchStreamCall): void {
  const closed = new AbortController();
  const close = (): void => closed.abort();
  let isEnded = false;
  const end = (): void => {
    if (isEnded) return;
    isEnded = true;
    call.end();
  };
  // On shutdown the answer in progress goes out, then the stream ends: the follower moves on at
  // once instead of waiting out its own timeout, and the server's drain need not wait for it.
  const onShutdown = (): void => {
    close();
    void turn.then(end);
  };
  call.on('cancelled', close);
  call.on('close', close);
  deps.shutdown.addEventListener('abort', onShutdown, { once: true });
  closed.signal.addEventListener('abort', () =>
    deps.shutdown.removeEventListener('abort', onShutdown),
  );
  let turn: Promise<void> = Promise.resolve();
  call.on('data', (request: ReplicaFetchRequest__Output) => {
    turn = turn.then(async () => {
      if (closed.signal.aborted) return;
      try {
        requireDecoded(request);
        call.write(await replicaFetch(deps, request, closed.signal));
      } catch (error) {
        close();
        call.emit('error', toServiceError(error, deps.logger, 'ReplicaFetch.FetchStream'));
      }
    });
  });
  call.on('end', () => {
    void turn.then(() => {
      if (!closed.signal.aborted) end();
      close();
    });
  });
  call.on('error', close);
}

/** The leader state for a follower's request, or the Kafka error to answer with. */
function leaderFor(
  replicas: ReplicaManager,
  topicId: string,
  partition: number,
  currentLeaderEpoch: number,
): PartitionLeader | { code: ErrorCode; message: string } {
  const leader = replicas.leaderOf(topicId, partition);
  if (leader === undefined) {
    return { code: 'NOT_LEADER_OR_FOLLOWER', message: 'this node does not lead the partition' };
  }
  if (currentLeaderEpoch < leader.leaderEpoch) {
    const message = `leader epoch ${currentLeaderEpoch} is older than the current ${leader.leaderEpoch}`;
    return { code: 'FENCED_LEADER_EPOCH', message };
  }
  if (currentLeaderEpoch > leader.leaderEpoch) {
    const message = `leader epoch ${currentLeaderEpoch} is newer than this leader's ${leader.leaderEpoch}`;
    return { code: 'UNKNOWN_LEADER_EPOCH', message };
  }
  return leader;
}

export async function replicaFetch(
  deps: ReplicaFetchDeps,
  request: ReplicaFetchRequest__Output,
  cancelled: AbortSignal = deps.shutdown,
): Promise<ReplicaFetchResponse> {
  requireCount(request.partitions, 'partitions', limits.replicaFetchPartitionsMax, 1);
  requireInt(request.replicaId, 'replica_id', 0, 2 ** 31 - 1);
  request.partitions.forEach((p, i) => {
    requireInt(p.partition, `partitions[${i}].partition`, 0, limits.partitionsPerTopicMax - 1);
    requireInt(p.fetchOffset, `partitions[${i}].fetch_offset`, 0, Number.MAX_SAFE_INTEGER);
    requireInt(p.logStartOffset, `partitions[${i}].log_start_offset`, 0, Number.MAX_SAFE_INTEGER);
  });
  const waitMs = Math.min(request.maxWaitMs, limits.fetchWaitMsMax);
  const partitionBytes = Math.max(
    1,
    Math.min(request.partitionMaxBytes, limits.fetchPartitionBytesMax),
  );
  let answer = await readAll(deps, request, partitionBytes, true);
  if (answer.bytes === 0 && waitMs > 0 && (answer.leaders.length > 0 || answer.throttled)) {
    // Over quota, new data would not be sent anyway: wake when the quota has refilled.
    const timeoutMs = answer.throttled ? Math.min(waitMs, deps.throttle.delayMs()) : waitMs;
    // A controller per request, linked to shutdown by a listener removed after: not
    // AbortSignal.any, which in Node 20 keeps every request's signal alive on the long-lived one.
    const abort = new AbortController();
    // One listener per partition of the request (bounded by replicaFetchPartitionsMax).
    setMaxListeners(0, abort.signal);
    const onCancel = (): void => abort.abort();
    deps.shutdown.addEventListener('abort', onCancel, { once: true });
    cancelled.addEventListener('abort', onCancel, { once: true });
    try {
      await Promise.race([
        ...answer.leaders.map((leader) => leader.waitForChange(timeoutMs, abort.signal)),
        sleep(timeoutMs, undefined, { signal: abort.signal }).catch(() => undefined),
      ]);
    } finally {
      deps.shutdown.removeEventListener('abort', onCancel);
      cancelled.removeEventListener('abort', onCancel);
      abort.abort();
    }
    answer = await readAll(deps, request, partitionBytes, false);
  }
  deps.traffic.replicationBytesOut += answer.bytes;
  return { partitions: answer.partitions };
}

async function readAll(
  deps: ReplicaFetchDeps,
  request: ReplicaFetchRequest__Output,
  partitionBytes: number,
  isFirstRead: boolean,
): Promise<{
  partitions: ReplicaFetchPartitionResponse[];
  bytes: number;
  /** Leaders whose new data would end a long poll (not those held back by the throttle). */
  leaders: PartitionLeader[];
  /** Some partition had records to send that the throttle held back. */
  throttled: boolean;
}> {
  const partitions: ReplicaFetchPartitionResponse[] = [];
  const leaders: PartitionLeader[] = [];
  let bytes = 0;
  let throttled = false;
  for (const p of request.partitions) {
    const out: ReplicaFetchPartitionResponse = {
      topicId: p.topicId,
      partition: p.partition,
      errorCode: 'NONE',
      errorMessage: '',
      highWatermark: -1,
      logStartOffset: -1,
      logEndOffset: -1,
      recordBatches: [],
    };
    partitions.push(out);
    const leader = leaderFor(deps.replicas, p.topicId, p.partition, p.currentLeaderEpoch);
    if (!('log' in leader)) {
      out.errorCode = leader.code;
      out.errorMessage = leader.message;
      continue;
    }
    const log = leader.log;
    out.logStartOffset = log.logStartOffset;
    out.logEndOffset = log.durableEndOffset;
    if (p.fetchOffset < log.logStartOffset || p.fetchOffset > log.durableEndOffset) {
      out.errorCode = 'OFFSET_OUT_OF_RANGE';
      out.errorMessage = `fetch offset ${p.fetchOffset} is outside [${log.logStartOffset}, ${log.durableEndOffset}]`;
      continue;
    }
    if (isFirstRead) leader.onFollowerFetch(request.replicaId, p.fetchOffset, p.logStartOffset);
    const isThrottled =
      leader.isThrottled(request.replicaId) && p.fetchOffset < log.durableEndOffset;
    const allowance = isThrottled ? deps.throttle.allowance() : Infinity;
    if (allowance === 0) {
      throttled = true;
    } else {
      leaders.push(leader);
    }
    if (bytes < request.maxBytes && allowance > 0) {
      try {
        const read = await log.read(p.fetchOffset, Math.min(partitionBytes, allowance), {
          maxOffset: log.durableEndOffset,
        });
        out.recordBatches = read.batches;
        bytes += read.bytes;
        if (isThrottled) {
          deps.throttle.consume(read.bytes);
          deps.traffic.replicationThrottledBytesOut += read.bytes;
        }
      } catch (error) {
        if (!(error instanceof BrokerError)) throw error;
        out.errorCode = error.code;
        out.errorMessage = error.message;
      }
    }
    out.highWatermark = log.highWatermark;
  }
  return { partitions, bytes, leaders, throttled };
}

function offsetsForLeaderEpoch(
  deps: ReplicaFetchDeps,
  request: OffsetsForLeaderEpochRequest__Output,
): OffsetsForLeaderEpochResponse {
  requireCount(request.partitions, 'partitions', limits.replicaFetchPartitionsMax, 1);
  const partitions = request.partitions.map((p): OffsetsForLeaderEpochPartitionResponse => {
    const leader = leaderFor(deps.replicas, p.topicId, p.partition, p.currentLeaderEpoch);
    if (!('log' in leader)) {
      return {
        topicId: p.topicId,
        partition: p.partition,
        errorCode: leader.code,
        errorMessage: leader.message,
        leaderEpoch: -1,
        endOffset: -1,
      };
    }
    const answer = leader.log.endOffsetForEpoch(p.leaderEpoch);
    return {
      topicId: p.topicId,
      partition: p.partition,
      errorCode: 'NONE',
      errorMessage: '',
      leaderEpoch: answer.epoch,
      endOffset: answer.endOffset,
    };
  });
  return { partitions };
}
