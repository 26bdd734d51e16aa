/**
 * A few lines a person reads first after a run: the verdict, each anomaly with its count and one
 * example, and each checker's stats. The full examples are in the JSON result.
 */
import type { CheckResult, CombinedResult } from './checker.js';

/** Characters of an example shown; the rest is in the JSON result. */
const EXAMPLE_CHARS_MAX = 160;
/** Stats lines wrap here, to stay readable in a terminal or a CI log. */
const LINE_CHARS_MAX = 100;

export function summarize(combined: CombinedResult): string {
  const failing = combined.results.filter((result) => !result.valid).map((r) => r.checker);
  const lines = [combined.valid ? 'VALID' : `INVALID: ${failing.join(', ')} found errors`];
  for (const result of combined.results) lines.push(...summarizeOne(result));
  return lines.join('\n');
}

function summarizeOne(result: CheckResult): string[] {
  const lines = [`${result.checker}: ${result.valid ? 'valid' : 'INVALID'}`];
  for (const [name, report] of Object.entries(result.anomalies)) {
    const kind = report.isError ? 'error' : 'allowed';
    const example = report.examples[0];
    const shown = example === undefined ? '' : `, e.g. ${clip(JSON.stringify(example))}`;
    lines.push(`  ${name}: ${report.count} (${kind})${shown}`);
  }
  const stats = Object.entries(result.stats).map(([name, value]) => `${name}=${format(value)}`);
  lines.push(...wrap(stats, '  '));
  return lines;
}

/** Joins `words` with spaces into lines of at most LINE_CHARS_MAX, each starting with `indent`. */
function wrap(words: readonly string[], indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line !== '' && indent.length + line.length + 1 + word.length > LINE_CHARS_MAX) {
      lines.push(indent + line);
      line = '';
    }
    line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

function clip(text: string): string {
  return text.length <= EXAMPLE_CHARS_MAX ? text : `${text.slice(0, EXAMPLE_CHARS_MAX - 3)}...`;
}

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}
