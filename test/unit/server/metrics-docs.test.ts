/**
 * docs/operations.md documents every metric and ships alerting rules; both must follow the
 * metrics the broker defines. The reference tables must name every brook_ family of a node's
 * registry, every brook_ name the page mentions must exist, and every `expr:` of the alert rules
 * must select only defined metrics (or Prometheus's own `up`).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exposedMetricNames, NodeMetrics } from '../../../src/server/metrics/index.js';
import { fakeSources } from './metrics-fixtures.js';
import { metricNamesOf } from './promql-names.js';

const page = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');

function nodeRegistry() {
  const metrics = new NodeMetrics();
  metrics.register(fakeSources());
  return metrics.registry;
}

/** The `expr:` values of the YAML blocks, multi-line (`expr: |`) ones joined. */
function alertExpressions(markdown: string): string[] {
  const exprs: string[] = [];
  for (const block of markdown.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    const lines = block[1]!.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const match = /^(\s*)expr:\s*(.*)$/.exec(lines[i]!);
      if (match === null) continue;
      if (match[2] !== '|') {
        exprs.push(match[2]!);
        continue;
      }
      const indent = match[1]!.length;
      const body: string[] = [];
      while (i + 1 < lines.length && /^(\s*)/.exec(lines[i + 1]!)![1]!.length > indent) {
        body.push(lines[++i]!);
      }
      exprs.push(body.join('\n'));
    }
  }
  return exprs;
}

describe('docs/operations.md', () => {
  it('has a reference row for every brook_ metric family', () => {
    const families = nodeRegistry()
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((name) => name.startsWith('brook_'));
    expect(families.length).toBeGreaterThan(40);
    const undocumented = families.filter((name) => !page.includes(`| \`${name}\` |`));
    expect(undocumented).toEqual([]);
  });

  it('mentions no brook_ metric the broker does not define', () => {
    const defined = exposedMetricNames(nodeRegistry());
    const mentioned = new Set(page.match(/\bbrook_[a-z0-9_]+/g) ?? []);
    expect([...mentioned].filter((name) => !defined.has(name))).toEqual([]);
  });

  it('has alert rules that select only defined metrics', () => {
    const exprs = alertExpressions(page);
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    const defined = exposedMetricNames(nodeRegistry());
    defined.add('up');
    const used = new Set(exprs.flatMap(metricNamesOf));
    expect(used.size).toBeGreaterThan(8);
    expect([...used].filter((name) => !defined.has(name))).toEqual([]);
  });
});
