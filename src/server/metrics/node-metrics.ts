/**
 * A node's metrics, assembled: the registry, the gRPC interceptor (which must exist before the
 * grpc.Server, which takes it at construction) and, once the node's parts exist, the scrape-time
 * collectors over them. broker.ts creates one only when metrics.listen is set, so a node without
 * it pays nothing beyond the traffic counters' additions.
 */
import { Gauge, type Registry } from 'prom-client';
import { registerGroupMetrics, type GroupSource } from './group-metrics.js';
import { registerPartitionMetrics, type PartitionSource } from './partition-metrics.js';
import { registerRaftMetrics, type RaftSource } from './raft-metrics.js';
import { newNodeRegistry } from './registry.js';
import { RequestMetrics } from './request-metrics.js';
import { registerStorageMetrics, type StorageSource } from './storage-metrics.js';
import { registerTrafficMetrics, type TrafficCounters } from './traffic.js';
import { assert } from '../../util/assert.js';
import { valueGauge } from './collect.js';

export interface NodeMetricsSources {
  readonly nodeId: number;
  readonly clusterId: string;
  /** Whether the controller has this broker in service (registered and unfenced). */
  readonly isInService: () => boolean;
  readonly traffic: TrafficCounters;
  readonly partitions: PartitionSource;
  readonly raft: RaftSource;
  readonly groups: GroupSource;
  readonly storage: StorageSource;
}

export class NodeMetrics {
  readonly registry: Registry;
  readonly requests: RequestMetrics;
  private isRegistered = false;

  constructor(private readonly now: () => number = Date.now) {
    this.registry = newNodeRegistry();
    this.requests = new RequestMetrics(this.registry, () => performance.now());
  }

  /** Adds the collectors over the node's parts; once. */
  register(sources: NodeMetricsSources): void {
    assert(!this.isRegistered, 'NodeMetrics.register called twice');
    this.isRegistered = true;
    const { registry, now } = this;
    const info = new Gauge({
      name: 'brook_broker_info',
      help: 'Always 1; its labels name the node and its cluster.',
      labelNames: ['node_id', 'cluster_id'],
      registers: [registry],
    });
    info.set({ node_id: String(sources.nodeId), cluster_id: sources.clusterId }, 1);
    valueGauge(registry, {
      name: 'brook_broker_in_service',
      help: 'Whether the controller has this broker in service (registered, caught up with the metadata and unfenced): 1 or 0. Its gRPC health check reports SERVING then.',
      read: () => (sources.isInService() ? 1 : 0),
    });
    registerTrafficMetrics(registry, sources.traffic);
    registerPartitionMetrics(registry, sources.partitions);
    registerRaftMetrics(registry, sources.raft);
    registerGroupMetrics(registry, sources.groups);
    registerStorageMetrics(registry, sources.storage, now);
  }
}
