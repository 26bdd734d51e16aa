/**
 * The stylesheet and the browser script of report.html, as text. The script runs in the page,
 * after the inline Chart.js bundle: it reads the inline JSON (model.ts's PageData) and draws the
 * latency scatter and the throughput lines, each with the fault windows shaded behind the data
 * by a small Chart.js plugin. It is plain ES2020 for any current browser; it is not type-checked
 * (the repository's TypeScript has no DOM types), so keep it short and simple.
 */

export const PAGE_STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222;
  background: #fafafa; line-height: 1.4; }
main { max-width: 1320px; margin: 0 auto; padding: 0 24px 48px; }
h1 { font-size: 56px; margin: 0; letter-spacing: 0.04em; }
h2 { margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { margin-bottom: 6px; }
.verdict { padding: 20px 24px; color: #fff; }
.verdict p { margin: 4px 0 0; font-size: 16px; }
.valid { background: #2e7d32; }
.invalid { background: #c62828; }
.badge { font-size: 13px; padding: 2px 8px; border-radius: 3px; color: #fff; vertical-align: middle; }
table { border-collapse: collapse; margin: 8px 0; background: #fff; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
table.facts th { width: 160px; }
tr.error td { background: #fdecea; }
pre, code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; }
pre { margin: 4px 0; white-space: pre-wrap; word-break: break-all; max-width: 760px; }
pre.command { background: #272822; color: #f8f8f2; padding: 8px 12px; max-width: none; }
.chart { position: relative; height: 460px; background: #fff; border: 1px solid #ddd; padding: 8px; }
.note { color: #555; font-size: 13px; }
.swatch { display: inline-block; width: 14px; height: 14px; margin: 0 4px -2px 12px;
  border: 1px solid #999; }
.summary-tables { display: flex; gap: 32px; flex-wrap: wrap; }
`;

export const PAGE_SCRIPT = `
(() => {
  'use strict';
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const OUTCOME_COLOURS = { ok: '#2ca02c', fail: '#d62728', info: '#ff7f0e' };
  const FAULT_COLOURS = { kill: '#9467bd', pause: '#1f77b4', partition: '#8c564b',
    slow: '#bcbd22', clock: '#17becf' };
  const SPARE_COLOURS = ['#e377c2', '#7f7f7f', '#393b79', '#637939', '#843c39'];
  const POINT_STYLES = ['circle', 'triangle', 'rectRot', 'crossRot', 'star', 'rect'];
  const DASHES = [[], [6, 3], [2, 3], [10, 3, 2, 3]];
  const Y_AXIS_WIDTH_PX = 72;
  const endS = Math.max(Math.ceil(data.endS), 1);
  const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

  const kinds = [...new Set(data.windows.map((band) => band.kind))];
  const fs = [...new Set([...data.latency, ...data.rates].map((set) => set.f))];
  const faultColour = (kind) => FAULT_COLOURS[kind] ??
    SPARE_COLOURS[kinds.indexOf(kind) % SPARE_COLOURS.length];
  const pointStyle = (f) => POINT_STYLES[fs.indexOf(f) % POINT_STYLES.length];
  const dash = (f) => DASHES[fs.indexOf(f) % DASHES.length];
  const order = (outcome) => ({ fail: 1, info: 2, ok: 3 })[outcome];
  const rgba = (hex, alpha) => {
    const n = parseInt(hex.slice(1), 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + alpha + ')';
  };

  // Shades each fault window (nemesis start to heal) across the plot area before the grid and
  // the data are drawn, and labels it; each kind has its own label row, as windows may overlap.
  const faultBands = {
    id: 'faultBands',
    beforeDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      if (!chartArea || !scales.x) return;
      ctx.save();
      ctx.font = '11px system-ui, sans-serif';
      ctx.textBaseline = 'top';
      for (const band of data.windows) {
        const left = Math.max(scales.x.getPixelForValue(band.startS), chartArea.left);
        const right = Math.min(scales.x.getPixelForValue(band.endS), chartArea.right);
        if (right < left) continue;
        const colour = faultColour(band.kind);
        ctx.fillStyle = rgba(colour, 0.16);
        ctx.fillRect(left, chartArea.top, Math.max(2, right - left), chartArea.height);
        ctx.fillStyle = rgba(colour, 1);
        const label = band.kind + (band.isHealed ? '' : ' (never healed)');
        ctx.fillText(label, left + 3, chartArea.top + 3 + kinds.indexOf(band.kind) * 13);
      }
      ctx.restore();
    },
  };

  const timeAxis = {
    type: 'linear', min: 0, max: endS,
    title: { display: true, text: 'time since the run started (s)' },
  };
  const fixedWidth = (scale) => { scale.width = Y_AXIS_WIDTH_PX; };

  const latencySets = data.latency.map((set) => {
    const points = [];
    for (let i = 0; i < set.points.length; i += 3) {
      points.push({ x: set.points[i], y: Math.max(set.points[i + 1], 0.01), op: set.points[i + 2] });
    }
    const shown = set.shown < set.total
      ? number.format(set.shown) + ' of ' + number.format(set.total) + ' shown'
      : number.format(set.total);
    const colour = OUTCOME_COLOURS[set.outcome];
    return {
      label: set.f + ' ' + set.outcome + ' (' + shown + ')',
      name: set.f + ' ' + set.outcome,
      data: points,
      pointStyle: pointStyle(set.f),
      pointRadius: set.outcome === 'ok' ? 2 : 3,
      backgroundColor: rgba(colour, set.outcome === 'ok' ? 0.45 : 0.85),
      borderColor: rgba(colour, set.outcome === 'ok' ? 0.6 : 1),
      borderWidth: 1,
      order: order(set.outcome),
    };
  });
  // Whole decades on the log axis, so the slowest points are not drawn on its edge. A loop, not
  // Math.min(...all): spreading hundreds of thousands of arguments overflows the stack.
  let latencyLowest = Infinity;
  let latencyHighest = 0;
  for (const set of latencySets) {
    for (const point of set.data) {
      latencyLowest = Math.min(latencyLowest, point.y);
      latencyHighest = Math.max(latencyHighest, point.y);
    }
  }
  const hasLatencies = latencyHighest > 0;
  const latencyMin = hasLatencies ? 10 ** Math.floor(Math.log10(latencyLowest)) : undefined;
  const latencyMax = hasLatencies ? 10 ** Math.ceil(Math.log10(latencyHighest * 1.05)) : undefined;
  new Chart(document.getElementById('latency-chart'), {
    type: 'scatter',
    data: { datasets: latencySets },
    plugins: [faultBands],
    options: {
      animation: false, parsing: false, normalized: true, maintainAspectRatio: false,
      scales: {
        x: timeAxis,
        y: { type: 'logarithmic', min: latencyMin, max: latencyMax, afterFit: fixedWidth,
          title: { display: true, text: 'latency (ms, log scale)' } },
      },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: { callbacks: { label: (item) => item.dataset.name + ': ' +
          number.format(item.raw.y) + ' ms, completed at ' + number.format(item.raw.x) +
          ' s (op ' + item.raw.op + ')' } },
      },
    },
  });

  // Each rate is drawn at the middle of its bucket; the last bucket ends at the last op.
  const bucketMiddleS = (i, count) =>
    i < count - 1 ? (i + 0.5) * data.bucketS : i * data.bucketS + data.lastBucketS / 2;
  const rateSets = data.rates.map((series) => ({
    label: series.f + ' ' + series.outcome + '/s',
    data: series.perSecond.map((rate, i, all) => ({ x: bucketMiddleS(i, all.length), y: rate })),
    borderColor: OUTCOME_COLOURS[series.outcome],
    backgroundColor: OUTCOME_COLOURS[series.outcome],
    borderDash: dash(series.f),
    borderWidth: 1.5,
    pointRadius: 0,
    order: order(series.outcome),
  }));
  new Chart(document.getElementById('throughput-chart'), {
    type: 'line',
    data: { datasets: rateSets },
    plugins: [faultBands],
    options: {
      animation: false, parsing: false, normalized: true, maintainAspectRatio: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: timeAxis,
        y: { beginAtZero: true, afterFit: fixedWidth,
          title: { display: true, text: 'completions per second (1 s buckets)' } },
      },
      plugins: { legend: { position: 'bottom' } },
    },
  });

  for (const legend of document.querySelectorAll('.fault-legend')) {
    if (kinds.length === 0) legend.textContent = 'No faults were injected.';
    for (const kind of kinds) {
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = rgba(faultColour(kind), 0.35);
      legend.append(swatch, kind);
    }
  }
})();
`;
