/**
 * One Prometheus registry per node, never prom-client's global default: two nodes in one
 * process (tests, the simulator) must not share or clash over metrics. It carries the standard
 * Node.js process metrics under their usual names (process_cpu_seconds_total,
 * process_resident_memory_bytes, nodejs_eventloop_lag_seconds, ...), so stock Node dashboards
 * and alerts apply to Brook unchanged.
 */
import { collectDefaultMetrics, Histogram, Registry, Summary } from 'prom-client';

export function newNodeRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Every metric name the registry exposes, with the series names Prometheus derives from
 * histograms and summaries (_bucket, _sum, _count): what a PromQL expression may refer to.
 */
export function exposedMetricNames(registry: Registry): Set<string> {
  const names = new Set<string>();
  for (const metric of registry.getMetricsAsArray()) {
    names.add(metric.name);
    if (metric instanceof Histogram) {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    } else if (metric instanceof Summary) {
      for (const suffix of ['_sum', '_count']) names.add(metric.name + suffix);
    }
  }
  return names;
}
