/**
 * Bytes moved by the data plane. The handlers add to plain number fields where the record
 * batches already are Buffers (one addition per batch or per partition read, never per record),
 * and the registry reads the totals at scrape time. So the hot path never touches prom-client,
 * and the handlers count the same way whether metrics are served or not.
 */
import type { Registry } from 'prom-client';
import type { ReplicaFetchClient } from '../../replication/index.js';
import { totalCounter } from './collect.js';

/** Running totals since the node started; every field only grows. */
export class TrafficCounters {
  /** Record batch bytes appended by client produces this node leads (forwarded ones count at the leader). */
  produceBytesIn = 0;
  /** Record batch bytes read for consumers by Fetch and Subscribe on the partition leader. */
  fetchBytesOut = 0;
  /** Record batch bytes this node, as a partition leader, sent to fetching followers. */
  replicationBytesOut = 0;
  /** Of replicationBytesOut, the bytes sent to replicas under the replication throttle. */
  replicationThrottledBytesOut = 0;
  /** Record batch bytes this node, as a follower, received from partition leaders. */
  replicationBytesIn = 0;
  /** Followers' fetches this node, as a leader, answered on the framed fetch transport. */
  replicaFetchAnswers = 0;
  /** Framed fetch connections this node ended with an error frame (a bad request). */
  replicaFetchRefusals = 0;
}

export function registerTrafficMetrics(registry: Registry, traffic: TrafficCounters): void {
  totalCounter(registry, {
    name: 'brook_produce_bytes_total',
    help: 'Record batch bytes appended by client produces to partitions this node leads.',
    read: () => traffic.produceBytesIn,
  });
  totalCounter(registry, {
    name: 'brook_fetch_bytes_total',
    help: 'Record batch bytes this node, as partition leader, returned to consumers (Fetch and Subscribe).',
    read: () => traffic.fetchBytesOut,
  });
  totalCounter(registry, {
    name: 'brook_replication_bytes_out_total',
    help: 'Record batch bytes this node, as partition leader, sent to fetching followers.',
    read: () => traffic.replicationBytesOut,
  });
  totalCounter(registry, {
    name: 'brook_replication_throttled_bytes_out_total',
    help: 'Of brook_replication_bytes_out_total, the bytes sent to replicas a reassignment is adding, under leader.replication.throttled.rate.',
    read: () => traffic.replicationThrottledBytesOut,
  });
  totalCounter(registry, {
    name: 'brook_replication_bytes_in_total',
    help: 'Record batch bytes this node, as follower, received from partition leaders.',
    read: () => traffic.replicationBytesIn,
  });
  totalCounter(registry, {
    name: 'brook_replica_fetch_answers_total',
    help: "Followers' fetches this node, as partition leader, answered on the framed fetch transport.",
    read: () => traffic.replicaFetchAnswers,
  });
  totalCounter(registry, {
    name: 'brook_replica_fetch_refusals_total',
    help: 'Framed fetch connections this node ended with an error frame: a request it refused (INVALID_REQUEST) or could not serve.',
    read: () => traffic.replicaFetchRefusals,
  });
}

/**
 * The follower's ReplicaFetch client, counting the batch bytes of every answer into
 * `traffic.replicationBytesIn`. Counted on receipt, so batches a follower then refuses (and
 * fetches again) count twice, as they crossed the network twice.
 */
export function meteredReplicaFetchClient(
  client: ReplicaFetchClient,
  traffic: TrafficCounters,
): ReplicaFetchClient {
  return {
    fetch: async (address, request, signal) => {
      const response = await client.fetch(address, request, signal);
      for (const partition of response.partitions) {
        const batches = partition.recordBatches;
        for (let i = 0; i < batches.length; i++) traffic.replicationBytesIn += batches[i]!.length;
      }
      return response;
    },
    offsetsForLeaderEpoch: (address, request, signal) =>
      client.offsetsForLeaderEpoch(address, request, signal),
  };
}
