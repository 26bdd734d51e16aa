/**
 * The fault run's report (test/fault/report/): its pure helpers on small hand-written histories
 * (pairing invokes with completions, per-second rates, fault windows, downsampling, the command
 * that repeats a run), then one report written to a temporary folder and read back, to check
 * that results.json carries the expected fields and report.html is self-contained: Chart.js and
 * the data inline, no external script.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CombinedResult } from '../../fault/checker/index.js';
import { NEMESIS_PROCESS, type NemesisValue, type Op, type OpType } from '../../fault/history.js';
import {
  bucketRates,
  countOps,
  downsample,
  faultWindows,
  buildReportModel,
  inlineJson,
  inlineScript,
  latencyDatasets,
  LATENCY_OK_POINTS_MAX,
  pairCompletions,
  renderReportHtml,
  writeReport,
  type Completion,
  type PageData,
  type ResultsFile,
  type RunFacts,
} from '../../fault/report/index.js';

/** Builds a history from [timeMs, process, type, f, value?] rows, indexes in row order. */
function historyOf(rows: ReadonlyArray<[number, string, OpType, string, unknown?]>): Op[] {
  return rows.map(([timeMs, process, type, f, value], index) => ({
    index,
    timeMs,
    process,
    type,
    f,
    value: value ?? null,
  }));
}

function nemesis(phase: NemesisValue['phase'], nodes: number[], detail = ''): NemesisValue {
  return { phase, nodes, detail };
}

function completion(f: string, outcome: Completion['outcome'], completeMs: number): Completion {
  return { index: 0, process: 'p', f, outcome, invokeMs: completeMs, completeMs, latencyMs: 0 };
}

const RUN: RunFacts = {
  seed: 42,
  nodes: 3,
  timeS: 60,
  nemesis: ['kill', 'partition'],
  settings: { partitions: 4, acks: 'all', uncleanLeaderElection: false, quietS: '3-8' },
  startedAt: '2025-01-02T03:04:05.000Z',
  command: 'npm run fault -- --nodes 3 --time 60 --nemesis kill,partition --seed 42',
  runDir: '/runs/x',
};

describe('pairCompletions', () => {
  it('pairs each completion with the open invoke of its own process', () => {
    const history = historyOf([
      [0, 'producer-0', 'invoke', 'send'],
      [1, 'producer-1', 'invoke', 'send'],
      [5, 'producer-1', 'fail', 'send'],
      [7, 'producer-0', 'ok', 'send'],
      [8, NEMESIS_PROCESS, 'info', 'kill', nemesis('start', [1])],
      [9, 'reader-0', 'invoke', 'poll'],
      [30, 'reader-0', 'info', 'poll'],
    ]);
    const pairing = pairCompletions(history);
    expect(pairing.completions.map((c) => [c.process, c.outcome, c.latencyMs, c.index])).toEqual([
      ['producer-1', 'fail', 4, 2],
      ['producer-0', 'ok', 7, 3],
      ['reader-0', 'info', 21, 6],
    ]);
    expect(pairing.unfinished).toBe(0);
    expect(pairing.unpaired).toBe(0);
  });

  it('counts invokes left open and completions without an invoke, and skips them', () => {
    const history = historyOf([
      [0, 'reader-0', 'ok', 'assign', { partition: 0, offset: 0 }],
      [1, 'producer-0', 'invoke', 'send'],
      [2, 'producer-1', 'invoke', 'send'],
      [3, 'producer-1', 'ok', 'poll'],
      [4, 'producer-0', 'invoke', 'send'],
      [6, 'producer-0', 'ok', 'send'],
    ]);
    const pairing = pairCompletions(history);
    // producer-0's first invoke is replaced (malformed); producer-1's stays open.
    expect(pairing.completions.map((c) => [c.process, c.invokeMs, c.completeMs])).toEqual([
      ['producer-0', 4, 6],
    ]);
    expect(pairing.unfinished).toBe(2);
    expect(pairing.unpaired).toBe(2);
  });
});

describe('bucketRates', () => {
  it('counts completions per second by f and outcome, ok always and fail/info when seen', () => {
    const rates = bucketRates(
      [
        completion('send', 'ok', 100),
        completion('send', 'ok', 999),
        completion('send', 'ok', 1000),
        completion('send', 'fail', 2500),
        completion('poll', 'info', 50),
      ],
      2500,
      1000,
    );
    // The last bucket, [2000, 2500], is half a second long: one fail in it is 2/s.
    expect([rates.bucketCount, rates.lastBucketMs]).toEqual([3, 500]);
    expect(rates.series).toEqual([
      { f: 'send', outcome: 'ok', perSecond: [2, 1, 0] },
      { f: 'send', outcome: 'fail', perSecond: [0, 0, 2] },
      { f: 'poll', outcome: 'ok', perSecond: [0, 0, 0] },
      { f: 'poll', outcome: 'info', perSecond: [1, 0, 0] },
    ]);
  });

  it('folds a last sliver into the bucket before it and clamps out-of-range times', () => {
    const times = [-5, 250, 900, 1050, 2000];
    const rates = bucketRates(
      times.map((timeMs) => completion('send', 'ok', timeMs)),
      1100,
      500,
    );
    // Buckets [0, 500) and [500, 1100]: 2 in half a second, 3 in 0.6 s.
    expect([rates.bucketCount, rates.lastBucketMs]).toEqual([2, 600]);
    expect(rates.series).toEqual([{ f: 'send', outcome: 'ok', perSecond: [4, 5] }]);
  });

  it('gives an empty history one bucket of zero', () => {
    const rates = bucketRates([], 0, 1000);
    expect([rates.bucketCount, rates.series]).toEqual([1, []]);
  });
});

describe('faultWindows', () => {
  it('spans each start to its heal, and an unhealed start to the last op', () => {
    const history = historyOf([
      [0, 'producer-0', 'invoke', 'send'],
      [1000, NEMESIS_PROCESS, 'info', 'kill', nemesis('start', [2], 'SIGKILL node 2')],
      [1500, NEMESIS_PROCESS, 'info', 'partition', nemesis('start', [0], 'isolate node 0')],
      [3000, NEMESIS_PROCESS, 'info', 'kill', nemesis('heal', [2], 'restarted 2')],
      [3500, NEMESIS_PROCESS, 'info', 'pause', nemesis('heal', [1])],
      [9000, 'producer-0', 'ok', 'send'],
    ]);
    expect(faultWindows(history)).toEqual([
      {
        kind: 'kill',
        startMs: 1000,
        endMs: 3000,
        isHealed: true,
        nodes: [2],
        detail: 'SIGKILL node 2',
      },
      {
        kind: 'partition',
        startMs: 1500,
        endMs: 9000,
        isHealed: false,
        nodes: [0],
        detail: 'isolate node 0',
      },
    ]);
  });

  it('heals overlapping faults of one kind by their nodes', () => {
    const history = historyOf([
      [1000, NEMESIS_PROCESS, 'info', 'kill', nemesis('start', [1])],
      [2000, NEMESIS_PROCESS, 'info', 'kill', nemesis('start', [2, 3])],
      [3000, NEMESIS_PROCESS, 'info', 'kill', nemesis('heal', [3, 2])],
      [4000, NEMESIS_PROCESS, 'info', 'kill', nemesis('heal', [1])],
    ]);
    expect(faultWindows(history).map((w) => [w.nodes, w.startMs, w.endMs])).toEqual([
      [[1], 1000, 4000],
      [[2, 3], 2000, 3000],
    ]);
  });
});

describe('downsample', () => {
  it('keeps everything up to the maximum', () => {
    const items = [1, 2, 3];
    const kept = downsample(items, 3);
    expect(kept).toEqual([1, 2, 3]);
    expect(kept).not.toBe(items);
  });

  it('takes a uniform stride from the first item, never more than the maximum', () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    expect(downsample(items, 5)).toEqual([0, 2, 4, 6, 8]);
    expect(downsample(items, 4)).toEqual([0, 3, 6, 9]);
    expect(downsample(items, 1)).toEqual([0]);
    for (let max = 1; max <= 12; max++) {
      expect(downsample(items, max).length).toBeLessThanOrEqual(max);
    }
  });

  it('thins only ok latency points to the maximum, keeping every fail and info', () => {
    const many = LATENCY_OK_POINTS_MAX * 2 + 1;
    const completions = Array.from({ length: many }, (_, i) =>
      completion('send', i % 2 === 0 ? 'ok' : 'info', i),
    );
    const datasets = latencyDatasets(completions);
    expect(datasets.map((d) => [d.outcome, d.total, d.shown, d.points.length / 3])).toEqual([
      [
        'ok',
        LATENCY_OK_POINTS_MAX + 1,
        LATENCY_OK_POINTS_MAX / 2 + 1,
        LATENCY_OK_POINTS_MAX / 2 + 1,
      ],
      ['info', LATENCY_OK_POINTS_MAX, LATENCY_OK_POINTS_MAX, LATENCY_OK_POINTS_MAX],
    ]);
  });
});

describe('countOps', () => {
  it('counts client entries by f and type and nemesis starts by kind', () => {
    const history = historyOf([
      [0, 'producer-0', 'invoke', 'send'],
      [1, 'producer-0', 'ok', 'send'],
      [2, 'reader-0', 'ok', 'assign'],
      [3, NEMESIS_PROCESS, 'info', 'kill', nemesis('start', [1])],
      [4, NEMESIS_PROCESS, 'info', 'kill', nemesis('heal', [1])],
    ]);
    expect(countOps(history)).toEqual({
      opsByF: {
        send: { invoke: 1, ok: 1, fail: 0, info: 0 },
        assign: { invoke: 0, ok: 1, fail: 0, info: 0 },
      },
      faultsByKind: { kill: 1 },
    });
  });
});

describe('inline data', () => {
  it('cannot close its script element', () => {
    const json = inlineJson({ detail: '</script><script>alert(1)</script><!--' });
    expect(json).not.toContain('<');
    expect(JSON.parse(json)).toEqual({ detail: '</script><script>alert(1)</script><!--' });
    expect(inlineScript('const s = "</script>";')).toBe('const s = "<\\/script>";');
  });
});

describe('renderReportHtml', () => {
  it('shows anomaly examples escaped, an array of plain values on one line', () => {
    const example = { records: [[0, '<b>']], offsets: [1, 2] };
    const model = buildReportModel({
      history: [],
      check: {
        valid: true,
        results: [
          {
            checker: 'queue',
            valid: true,
            anomalies: { duplicated: { count: 9, isError: false, examples: [example] } },
            stats: { acknowledged: 1234 },
          },
        ],
      },
      run: RUN,
    });
    const html = renderReportHtml(model, '/* Chart.js stand-in */');
    expect(html).toContain('<summary>first 1 of 9</summary>');
    expect(html).toContain('[0, &quot;&lt;b&gt;&quot;]');
    expect(html).toContain('&quot;offsets&quot;: [1, 2]');
    expect(html).toContain('<td class="number">1,234</td>');
    expect(html).toContain('/* Chart.js stand-in */');
  });
});

describe('writeReport', () => {
  let dir: string | null = null;
  afterEach(async () => {
    if (dir !== null) await rm(dir, { recursive: true, force: true });
    dir = null;
  });

  it('writes results.json and a self-contained report.html', async () => {
    dir = await mkdtemp(join(tmpdir(), 'brook-report-'));
    const history = historyOf([
      [0, 'producer-0', 'invoke', 'send', { partition: 0, value: 'producer-0-0' }],
      [12, 'producer-0', 'ok', 'send', { partition: 0, value: 'producer-0-0', offset: 0 }],
      [500, NEMESIS_PROCESS, 'info', 'kill', nemesis('start', [1], 'SIGKILL </script> node 1')],
      [600, 'producer-0', 'invoke', 'send', { partition: 0, value: 'producer-0-1' }],
      [5600, 'producer-0', 'info', 'send', { partition: 0, value: 'producer-0-1', error: 'x' }],
      [6000, NEMESIS_PROCESS, 'info', 'kill', nemesis('heal', [1], 'restarted 1')],
    ]);
    const check: CombinedResult = {
      valid: false,
      results: [
        {
          checker: 'queue',
          valid: false,
          anomalies: { lost: { count: 1, isError: true, examples: [{ value: 'producer-0-0' }] } },
          stats: { acknowledged: 1 },
        },
      ],
    };
    const files = await writeReport(dir, { history, check, run: RUN });

    const results = JSON.parse(await readFile(files.resultsFile, 'utf8')) as ResultsFile;
    expect(results.valid).toBe(false);
    expect(results.run).toEqual(RUN);
    expect(results.command).toBe(RUN.command);
    expect(results.results[0]?.anomalies['lost']?.count).toBe(1);
    expect(results.summary.opsByF['send']).toEqual({ invoke: 2, ok: 1, fail: 0, info: 1 });
    expect(results.summary.faultsByKind).toEqual({ kill: 1 });
    expect(results.summary.historyMs).toBe(6000);

    const html = await readFile(files.reportFile, 'utf8');
    expect(html).toContain('Chart.js v4');
    expect(html).toContain('id="report-data"');
    expect(html).toContain('INVALID');
    expect(html).toContain('producer-0-0');
    expect(html).toContain('SIGKILL &lt;/script&gt; node 1');
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<link[^>]*\shref=/i);
    // The data block parses back into what the charts draw.
    const block = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html);
    const page = JSON.parse(block?.[1] ?? 'null') as PageData;
    expect(page.windows).toEqual([
      {
        kind: 'kill',
        startS: 0.5,
        endS: 6,
        isHealed: true,
        nodes: [1],
        detail: 'SIGKILL </script> node 1',
      },
    ]);
    expect(page.latency.map((d) => [d.f, d.outcome, d.points])).toEqual([
      ['send', 'ok', [0.012, 12, 1]],
      ['send', 'info', [5.6, 5000, 4]],
    ]);
  });
});
