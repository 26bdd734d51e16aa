/**
 * Renders report.html: one self-contained page (no network, opened from disk) with the verdict,
 * the run's facts, each checker's anomalies and stats, the latency and throughput charts and the
 * nemesis timeline. The tables are rendered here; the charts are drawn in the browser by the
 * inline Chart.js bundle and page-assets.ts's script from the inline JSON data.
 */
import { assert } from '../../../src/util/assert.js';
import type { CheckResult } from '../checker/index.js';
import type { ReportModel, RunSummary } from './model.js';
import { PAGE_SCRIPT, PAGE_STYLE } from './page-assets.js';

/** Examples shown per anomaly, and the characters shown of each. */
export const EXAMPLES_SHOWN_MAX = 5;
export const EXAMPLE_CHARS_MAX = 4_000;

/**
 * The page for `model`, with `chartJs` (the Chart.js UMD bundle's source) inlined. Pure: the
 * caller reads the bundle and writes the result.
 */
export function renderReportHtml(model: ReportModel, chartJs: string): string {
  const { results } = model;
  const verdict = results.valid ? 'VALID' : 'INVALID';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${verdict}: Brook fault run, seed ${escapeHtml(String(results.run.seed))}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header class="verdict ${results.valid ? 'valid' : 'invalid'}">
<h1>${verdict}</h1>
<p>Brook fault run, seed ${escapeHtml(String(results.run.seed))}, started ${escapeHtml(results.run.startedAt)}</p>
</header>
<main>
${renderFacts(model)}
${renderSummary(results.summary)}
<h2>Checkers</h2>
${results.results.length > 0 ? results.results.map(renderChecker).join('\n') : '<p>No checker ran.</p>'}
${renderCharts()}
${renderTimeline(model)}
</main>
<script type="application/json" id="report-data">${inlineJson(model.page)}</script>
<script>
${inlineScript(chartJs)}
</script>
<script>${inlineScript(PAGE_SCRIPT)}</script>
</body>
</html>
`;
}

function renderFacts(model: ReportModel): string {
  const { run, summary } = model.results;
  const settings = Object.entries(run.settings)
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(', ');
  const rows: Array<[string, string]> = [
    ['seed', String(run.seed)],
    ['nodes', String(run.nodes)],
    ['duration', `${run.timeS} s planned; the history spans ${seconds(summary.historyMs)} s`],
    ['nemesis', run.nemesis.length > 0 ? run.nemesis.join(', ') : 'none'],
    ['settings', settings === '' ? 'none' : settings],
    ['started at', run.startedAt],
    ['run folder', run.runDir],
  ];
  return `<h2>Run</h2>
<table class="facts">
${rows.map(([name, value]) => `<tr><th>${name}</th><td>${escapeHtml(value)}</td></tr>`).join('\n')}
</table>
<p>To run it again:</p>
<pre class="command">${escapeHtml(model.command)}</pre>`;
}

function renderSummary(summary: RunSummary): string {
  const opRows = Object.entries(summary.opsByF).map(
    ([f, counts]) =>
      `<tr><td>${escapeHtml(f)}</td>${[counts.invoke, counts.ok, counts.fail, counts.info]
        .map(numberCell)
        .join('')}</tr>`,
  );
  const faultRows = Object.entries(summary.faultsByKind).map(
    ([kind, count]) => `<tr><td>${escapeHtml(kind)}</td>${numberCell(count)}</tr>`,
  );
  const notes = [
    `${formatNumber(summary.opCount)} history entries`,
    `${formatNumber(summary.unfinishedOps)} invokes never completed`,
    `${formatNumber(summary.unhealedFaults)} faults never healed`,
  ];
  return `<h2>Operations</h2>
<div class="summary-tables">
<table>
<thead><tr><th>f</th><th>invoke</th><th>ok</th><th>fail</th><th>info</th></tr></thead>
<tbody>
${opRows.length > 0 ? opRows.join('\n') : '<tr><td colspan="5">no client operations</td></tr>'}
</tbody>
</table>
<table>
<thead><tr><th>fault</th><th>injected</th></tr></thead>
<tbody>
${faultRows.length > 0 ? faultRows.join('\n') : '<tr><td colspan="2">none</td></tr>'}
</tbody>
</table>
</div>
<p class="note">${notes.join('; ')}.</p>`;
}

function renderChecker(result: CheckResult): string {
  // Errors first: they are why a run is invalid. Within each group the checker's order stands.
  const anomalies = Object.entries(result.anomalies).sort(
    ([, a], [, b]) => Number(b.isError) - Number(a.isError),
  );
  const anomalyRows = anomalies.map(([name, anomaly]) => {
    const examples = anomaly.examples.slice(0, EXAMPLES_SHOWN_MAX);
    const details =
      examples.length === 0
        ? ''
        : `<details><summary>first ${examples.length} of ${formatNumber(anomaly.count)}</summary>
${examples.map((example) => `<pre>${escapeHtml(prettyExample(example))}</pre>`).join('\n')}
</details>`;
    return `<tr${anomaly.isError ? ' class="error"' : ''}><td>${escapeHtml(name)}</td>${numberCell(
      anomaly.count,
    )}<td>${anomaly.isError ? 'error' : 'allowed'}</td><td>${details}</td></tr>`;
  });
  const statRows = Object.entries(result.stats).map(
    ([name, value]) => `<tr><td>${escapeHtml(name)}</td>${numberCell(value)}</tr>`,
  );
  const anomalyTable =
    anomalyRows.length === 0
      ? '<p>No anomalies.</p>'
      : `<table>
<thead><tr><th>anomaly</th><th>count</th><th>verdict</th><th>examples</th></tr></thead>
<tbody>
${anomalyRows.join('\n')}
</tbody>
</table>`;
  const statTable =
    statRows.length === 0
      ? ''
      : `<table>
<thead><tr><th>stat</th><th>value</th></tr></thead>
<tbody>
${statRows.join('\n')}
</tbody>
</table>`;
  return `<h3>${escapeHtml(result.checker)} <span class="badge ${result.valid ? 'valid' : 'invalid'}">${
    result.valid ? 'valid' : 'INVALID'
  }</span></h3>
${anomalyTable}
${statTable}`;
}

function renderCharts(): string {
  return `<h2>Latency</h2>
<p class="note">Each completed operation at its completion time; latency is completion minus
invoke. Green ok, red fail (certainly not done), orange info (unknown); the point shape tells the
operation. Shaded bands are fault windows, from the nemesis start to its heal:
<span class="fault-legend"></span></p>
<div class="chart"><canvas id="latency-chart"></canvas></div>
<h2>Throughput</h2>
<p class="note">Completions per second by outcome, in 1 s buckets; the dash pattern tells the
operation. Shaded bands are fault windows: <span class="fault-legend"></span></p>
<div class="chart"><canvas id="throughput-chart"></canvas></div>`;
}

function renderTimeline(model: ReportModel): string {
  const rows = model.timeline.map(
    (row) =>
      `<tr><td class="number">${row.timeS.toFixed(3)}</td><td>${escapeHtml(row.phase)}</td><td>${escapeHtml(
        row.kind,
      )}</td><td>${escapeHtml(row.nodes.join(', '))}</td><td>${escapeHtml(row.detail)}</td></tr>`,
  );
  const omitted =
    model.timelineOmitted > 0
      ? `<p class="note">${formatNumber(model.timelineOmitted)} later entries are not listed.</p>`
      : '';
  return `<h2>Nemesis timeline</h2>
${
  rows.length === 0
    ? '<p>The nemesis did nothing.</p>'
    : `<table>
<thead><tr><th>time (s)</th><th>phase</th><th>kind</th><th>nodes</th><th>detail</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`
}
${omitted}`;
}

/**
 * JSON for a `<script type="application/json">` element: every `<` is written as \u003c, which
 * JSON.parse reads back as `<`, so no string in the data can close the element (`</script>`) or
 * open a comment.
 */
export function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/**
 * Script source safe inside `<script>`: `</script` can only appear in a string, regular
 * expression or comment, where `<\/script` means the same.
 */
export function inlineScript(source: string): string {
  assert(!source.includes('<!--'), 'an inline script must not contain "<!--"');
  return source.replace(/<\/(script)/gi, '<\\/$1');
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function prettyExample(example: unknown): string {
  let text: string;
  try {
    // Indented, but an array of plain values ([offset, value] pairs, offsets) on one line.
    // JSON strings hold no raw newline, so every newline matched here is indentation.
    text = (JSON.stringify(example, null, 2) ?? String(example)).replace(
      /\[\n[^[\]{}]*?\n\s*\]/g,
      (array) => `[${array.slice(1, -1).trim().replace(/\n\s*/g, ' ')}]`,
    );
  } catch {
    // A BigInt or a cycle: the plain string form still says something.
    text = String(example);
  }
  if (text.length <= EXAMPLE_CHARS_MAX) return text;
  return `${text.slice(0, EXAMPLE_CHARS_MAX)}\n… (${text.length - EXAMPLE_CHARS_MAX} more characters)`;
}

function numberCell(value: number): string {
  return `<td class="number">${formatNumber(value)}</td>`;
}

function formatNumber(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
