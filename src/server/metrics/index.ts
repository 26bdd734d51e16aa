/**
 * Prometheus metrics of a node (docs/operations.md lists every metric). Served over HTTP on
 * metrics.listen, off by default.
 *
 * Two ways in, both off the hot path's critical work:
 * - gRPC calls: a server interceptor counts every call's outcome and unary latency
 *   (request-metrics.ts); handlers know nothing of it.
 * - everything else is read at scrape time: partition logs and the metadata image, the Raft
 *   status, the group coordinator, the store directory, and running byte totals the handlers
 *   keep as plain numbers (traffic.ts).
 * Labels come from bounded sets (methods, codes, roles, states) except the per-partition and
 * per-group families, which are capped (PARTITION_SERIES_MAX, GROUP_LAG_SERIES_MAX).
 */
export { NodeMetrics, type NodeMetricsSources } from './node-metrics.js';
export { startMetricsServer, METRICS_PATH, type MetricsServer } from './http-server.js';
export { TrafficCounters, meteredReplicaFetchClient } from './traffic.js';
export { exposedMetricNames, newNodeRegistry } from './registry.js';
