/**
 * The Grafana dashboard in deploy/grafana must only query metrics a node exposes: every PromQL
 * expression of every panel and template variable is reduced to its metric names (labels,
 * strings, ranges, grouping clauses and function names removed) and each name must be one the
 * node's registry defines, so renaming a metric without the dashboard fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exposedMetricNames, NodeMetrics } from '../../../src/server/metrics/index.js';
import { fakeSources } from './metrics-fixtures.js';
import { metricNamesOf } from './promql-names.js';

interface Target {
  readonly expr?: string;
  readonly datasource?: { readonly uid?: string };
}
interface Panel {
  readonly id?: number;
  readonly type: string;
  readonly title?: string;
  readonly targets?: readonly Target[];
  readonly panels?: readonly Panel[];
  readonly datasource?: { readonly uid?: string };
}
interface Dashboard {
  readonly schemaVersion: number;
  readonly __inputs: ReadonlyArray<{ readonly name: string; readonly pluginId: string }>;
  readonly panels: readonly Panel[];
  readonly templating: {
    readonly list: ReadonlyArray<{
      readonly name: string;
      readonly query: { readonly query: string };
    }>;
  };
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../../deploy/grafana/brook-dashboard.json', import.meta.url), 'utf8'),
) as Dashboard;

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

const panels = allPanels(dashboard.panels);
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));

describe('metric name extraction', () => {
  it('keeps metric names and drops functions, labels, strings and grouping', () => {
    expect(
      metricNamesOf(
        'histogram_quantile(0.99, sum by (le, method) (rate(brook_request_duration_seconds_bucket{job=~"$job",code!="OK"}[$__rate_interval])))',
      ),
    ).toEqual(['brook_request_duration_seconds_bucket']);
    expect(
      metricNamesOf(
        'brook_partition_isr_size{a="b"} < on (topic) group_left brook_partition_replicas',
      ),
    ).toEqual(['brook_partition_isr_size', 'group_left', 'brook_partition_replicas']);
  });
});

describe('Grafana dashboard', () => {
  it('is a schema 39 dashboard whose panels use the DS_PROMETHEUS input', () => {
    expect(dashboard.schemaVersion).toBe(39);
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' }),
    ]);
    const queried = panels.filter((p) => p.type !== 'row');
    expect(queried.length).toBeGreaterThan(20);
    for (const panel of queried) {
      expect(panel.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}');
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('queries only metrics the node registry defines', () => {
    const metrics = new NodeMetrics();
    metrics.register(fakeSources());
    const defined = exposedMetricNames(metrics.registry);
    const used = new Set(exprs.flatMap(metricNamesOf));
    // group_left/group_right without a label list are operators, not metrics.
    used.delete('group_left');
    used.delete('group_right');
    for (const variable of dashboard.templating.list) {
      const match = /label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(variable.query.query);
      expect(match, variable.name).not.toBeNull();
      used.add(match![1]!);
    }
    expect(used.size).toBeGreaterThan(25);
    const unknown = [...used].filter((name) => !defined.has(name)).sort();
    expect(unknown).toEqual([]);
  });

  it('covers the families operators alert on', () => {
    const used = new Set(exprs.flatMap(metricNamesOf));
    for (const name of [
      'brook_requests_total',
      'brook_request_duration_seconds_bucket',
      'brook_produce_bytes_total',
      'brook_fetch_bytes_total',
      'brook_offline_partitions',
      'brook_under_replicated_partitions',
      'brook_under_min_isr_partitions',
      'brook_partition_isr_size',
      'brook_raft_role',
      'brook_raft_term',
      'brook_raft_member_lag_entries',
      'brook_group_lag',
      'brook_store_size_bytes',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(used, name).toContain(name);
    }
  });
});
