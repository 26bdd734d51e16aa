/**
 * Metric names in PromQL expressions, for the tests that keep the dashboard and the documented
 * alerts in step with the metrics the broker defines. A reduction, not a parser: labels,
 * strings, ranges, template variables, grouping clauses and function names are cut, and the
 * identifiers left are metric names (plus bare operators such as group_left, which callers
 * drop).
 */
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on']);

/** Metric names an expression selects: what is left once everything that is not one is cut. */
export function metricNamesOf(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    const isFunction = match[1] !== undefined;
    const name = match[0].replace(/\s*\($/, '');
    if (!isFunction && !KEYWORDS.has(name)) names.push(name);
  }
  return names;
}
