/**
 * What the report shows, computed from the run's inputs: the summary written to results.json
 * and the data the page's charts draw. Pure, like series.ts; html.ts renders it and
 * write-report.ts writes it.
 */
import type { CheckResult, CombinedResult } from '../checker/index.js';
import { NEMESIS_PROCESS, type NemesisValue, type Op } from '../history.js';
import {
  bucketRates,
  countOps,
  downsample,
  faultWindows,
  pairCompletions,
  type Completion,
  type FaultWindow,
  type OpCounts,
  type Outcome,
  type Pairing,
  type RateSeries,
} from './series.js';

/** How the run was started: enough to repeat it. */
export interface RunFacts {
  readonly seed: number | string;
  readonly nodes: number;
  /** The planned length of the fault phase, seconds. */
  readonly timeS: number;
  /** Fault kinds the nemesis drew from; empty for a run without faults. */
  readonly nemesis: readonly string[];
  /**
   * Every other option of the run, by its option name: camelCase or kebab-case, with a unit
   * suffix S for seconds where the flag has none (quietS is --quiet, as timeS is --time).
   */
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly runDir: string;
  /** The command that repeats the run (run.ts replayCommand). */
  readonly command: string;
}

export interface ReportInput {
  /** The whole history, in recorded order. Not modified. */
  readonly history: readonly Op[];
  readonly check: CombinedResult;
  readonly run: RunFacts;
}

/** Counts over the history, for results.json and the page's header. */
export interface RunSummary {
  /** Time of the last op, ms: how long the recorded history spans. */
  readonly historyMs: number;
  readonly opCount: number;
  readonly opsByF: Record<string, OpCounts>;
  readonly faultsByKind: Record<string, number>;
  readonly unhealedFaults: number;
  /** Invokes never completed (their outcome is unknown, like info). */
  readonly unfinishedOps: number;
  /** Completions without an invoke: single-op entries such as assign. */
  readonly unpairedCompletions: number;
}

/** The content of results.json. */
export interface ResultsFile {
  readonly valid: boolean;
  readonly run: RunFacts;
  /** run.command. */
  readonly command: string;
  readonly summary: RunSummary;
  readonly results: readonly CheckResult[];
}

/** Points per ok latency dataset, beyond which the page thins them with a uniform stride. */
export const LATENCY_OK_POINTS_MAX = 20_000;
/**
 * fail and info points are the interesting ones and are all kept, up to this bound, so that a
 * run where most ops fail still gives a page a browser can draw.
 */
export const LATENCY_OTHER_POINTS_MAX = 100_000;
/** Nemesis entries listed in the timeline table; later ones are counted, not listed. */
export const TIMELINE_ROWS_MAX = 5_000;
export const RATE_BUCKET_MS = 1_000;

/** One scatter dataset: flat [timeS, latencyMs, opIndex] triples, to keep the page small. */
export interface LatencyDataset {
  readonly f: string;
  readonly outcome: Outcome;
  readonly total: number;
  readonly shown: number;
  readonly points: readonly number[];
}

export interface WindowData {
  readonly kind: string;
  readonly startS: number;
  readonly endS: number;
  readonly isHealed: boolean;
  readonly nodes: readonly number[];
  readonly detail: string;
}

/** One rate line of the page: rates per second, as series.ts computes them. */
export type RateData = RateSeries;

/** What the page's script reads: the inline JSON of report.html. */
export interface PageData {
  readonly endS: number;
  readonly bucketS: number;
  /** The last rate bucket's length (bucketS ± half). */
  readonly lastBucketS: number;
  readonly windows: readonly WindowData[];
  readonly latency: readonly LatencyDataset[];
  readonly rates: readonly RateData[];
}

export interface TimelineRow {
  readonly timeS: number;
  readonly phase: string;
  readonly kind: string;
  readonly nodes: readonly number[];
  readonly detail: string;
}

/** Everything the report shows. */
export interface ReportModel {
  readonly results: ResultsFile;
  readonly page: PageData;
  readonly timeline: readonly TimelineRow[];
  /** Nemesis entries beyond TIMELINE_ROWS_MAX, not listed. */
  readonly timelineOmitted: number;
  readonly command: string;
}

/** Computes the whole report from the run's inputs. The inputs are not modified. */
export function buildReportModel(input: ReportInput): ReportModel {
  const { history, check, run } = input;
  const endMs = Math.max(0, history[history.length - 1]?.timeMs ?? 0);
  const pairing = pairCompletions(history);
  const windows = faultWindows(history, endMs);
  const summary = summarize(history, pairing, windows, endMs);
  const rates = bucketRates(pairing.completions, endMs, RATE_BUCKET_MS);
  const page: PageData = {
    endS: roundTo(endMs / 1000, 3),
    bucketS: RATE_BUCKET_MS / 1000,
    lastBucketS: roundTo(rates.lastBucketMs / 1000, 3),
    windows: windows.map(windowData),
    latency: latencyDatasets(pairing.completions),
    rates: rates.series.map(({ f, outcome, perSecond }) => ({ f, outcome, perSecond })),
  };
  const { rows, omitted } = timelineRows(history);
  const command = run.command;
  return {
    results: { valid: check.valid, run, command, summary, results: check.results },
    page,
    timeline: rows,
    timelineOmitted: omitted,
    command,
  };
}

function summarize(
  history: readonly Op[],
  pairing: Pairing,
  windows: readonly FaultWindow[],
  endMs: number,
): RunSummary {
  const { opsByF, faultsByKind } = countOps(history);
  return {
    historyMs: roundTo(endMs, 3),
    opCount: history.length,
    opsByF,
    faultsByKind,
    unhealedFaults: windows.filter((window) => !window.isHealed).length,
    unfinishedOps: pairing.unfinished,
    unpairedCompletions: pairing.unpaired,
  };
}

function windowData(window: FaultWindow): WindowData {
  return {
    kind: window.kind,
    startS: roundTo(window.startMs / 1000, 3),
    endS: roundTo(window.endMs / 1000, 3),
    isHealed: window.isHealed,
    nodes: window.nodes,
    detail: window.detail,
  };
}

/**
 * One dataset per f and outcome, f in order of first completion. ok points are thinned to
 * LATENCY_OK_POINTS_MAX, fail and info to the larger LATENCY_OTHER_POINTS_MAX.
 */
export function latencyDatasets(completions: readonly Completion[]): LatencyDataset[] {
  const groups = new Map<string, Map<Outcome, Completion[]>>();
  for (const completion of completions) {
    let byOutcome = groups.get(completion.f);
    if (byOutcome === undefined) {
      byOutcome = new Map();
      groups.set(completion.f, byOutcome);
    }
    const group = byOutcome.get(completion.outcome);
    if (group === undefined) byOutcome.set(completion.outcome, [completion]);
    else group.push(completion);
  }
  const datasets: LatencyDataset[] = [];
  for (const [f, byOutcome] of groups) {
    for (const [outcome, group] of byOutcome) {
      const max = outcome === 'ok' ? LATENCY_OK_POINTS_MAX : LATENCY_OTHER_POINTS_MAX;
      const kept = downsample(group, max);
      const points: number[] = [];
      for (const completion of kept) {
        points.push(
          roundTo(completion.completeMs / 1000, 3),
          roundTo(Math.max(0, completion.latencyMs), 3),
          completion.index,
        );
      }
      datasets.push({ f, outcome, total: group.length, shown: kept.length, points });
    }
  }
  return datasets;
}

function timelineRows(history: readonly Op[]): { rows: TimelineRow[]; omitted: number } {
  const rows: TimelineRow[] = [];
  let omitted = 0;
  for (const op of history) {
    if (op.process !== NEMESIS_PROCESS) continue;
    if (rows.length >= TIMELINE_ROWS_MAX) {
      omitted += 1;
      continue;
    }
    const value = op.value as NemesisValue;
    rows.push({
      timeS: roundTo(op.timeMs / 1000, 3),
      phase: String(value.phase),
      kind: op.f,
      nodes: value.nodes,
      detail: value.detail,
    });
  }
  return { rows, omitted };
}

/** `value` rounded to `digits` decimals (figures in results.json stay readable). */
function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
