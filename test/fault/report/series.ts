/**
 * The pure computations behind the run report: pairing each client completion with its invoke
 * (latency), per-second rates, the fault windows the nemesis opened, downsampling, and summary
 * counts. Nothing here does I/O, so the unit tests drive it with small hand-written histories.
 *
 * These functions describe a history; they do not judge it. A history that breaks the
 * recorder's contract (a completion with no invoke, an invoke while one is outstanding) is the
 * checker's to reject; here it is counted and skipped, so a report can still be drawn for the
 * run that produced it.
 */
import { assert } from '../../../src/util/assert.js';
import { NEMESIS_PROCESS, type NemesisValue, type Op } from '../history.js';

/** How a client op ended (history.ts): took effect, certainly did not, or unknown. */
export type Outcome = 'ok' | 'fail' | 'info';

export const OUTCOMES: readonly Outcome[] = ['ok', 'fail', 'info'];

/** A client op that completed: its invoke and its completion, paired. */
export interface Completion {
  /** History index of the completion (the invoke's is smaller). */
  readonly index: number;
  readonly process: string;
  readonly f: string;
  readonly outcome: Outcome;
  readonly invokeMs: number;
  readonly completeMs: number;
  /** completeMs − invokeMs: what the client waited, ms. */
  readonly latencyMs: number;
}

export interface Pairing {
  /** In completion order. */
  readonly completions: Completion[];
  /**
   * Invokes that never completed: outstanding when the history ended, or (in a malformed
   * history) replaced by a later invoke of the same process.
   */
  readonly unfinished: number;
  /**
   * Completions with no open invoke of the same f. Ops recorded as a completion only (assign)
   * land here, as would the completions of a malformed history.
   */
  readonly unpaired: number;
}

/**
 * Pairs every client completion with the open invoke of its process. A process has at most one
 * op outstanding (the Jepsen model, checker/invoke-tracker.ts), so its next completion answers
 * its open invoke. Nemesis entries are skipped. The returned array is new and owned by the
 * caller.
 */
export function pairCompletions(history: readonly Op[]): Pairing {
  const open = new Map<string, Op>();
  const completions: Completion[] = [];
  let unfinished = 0;
  let unpaired = 0;
  for (const op of history) {
    if (op.process === NEMESIS_PROCESS) continue;
    if (op.type === 'invoke') {
      if (open.has(op.process)) unfinished += 1;
      open.set(op.process, op);
      continue;
    }
    const invoke = open.get(op.process);
    if (invoke === undefined || invoke.f !== op.f) {
      unpaired += 1;
      continue;
    }
    open.delete(op.process);
    completions.push({
      index: op.index,
      process: op.process,
      f: op.f,
      outcome: op.type,
      invokeMs: invoke.timeMs,
      completeMs: op.timeMs,
      latencyMs: op.timeMs - invoke.timeMs,
    });
  }
  return { completions, unfinished: unfinished + open.size, unpaired };
}

/** Completions of one f and one outcome per bucket, as a rate (ops/s). */
export interface RateSeries {
  readonly f: string;
  readonly outcome: Outcome;
  /** Bucket i starts at i × bucketMs of run time; see Rates for where the last one ends. */
  readonly perSecond: readonly number[];
}

export interface Rates {
  readonly bucketMs: number;
  readonly bucketCount: number;
  /** How long the last bucket is, ms: from half a bucket to under one and a half. */
  readonly lastBucketMs: number;
  /**
   * Per f in order of first completion: ok always (a flat zero says something), then fail and
   * info only when any occurred.
   */
  readonly series: readonly RateSeries[];
}

/**
 * Counts completions per f and outcome in buckets of bucketMs from 0 to endMs, by completion
 * time, as ops per second. A completion after endMs is counted in the last bucket, one before
 * 0 in the first.
 *
 * The last bucket ends at endMs. A remainder under half a bucket joins the bucket before it,
 * and the rate divides by the bucket's real length, so the plot neither dips nor spikes at the
 * end for lack of time (a history shorter than half a bucket is one short bucket).
 */
export function bucketRates(
  completions: readonly Completion[],
  endMs: number,
  bucketMs: number,
): Rates {
  assert(bucketMs > 0, `bucketMs must be positive, got ${bucketMs}`);
  assert(endMs >= 0, `endMs must not be negative, got ${endMs}`);
  const fullCount = Math.floor(endMs / bucketMs);
  const remainderMs = endMs - fullCount * bucketMs;
  const bucketCount = Math.max(1, remainderMs >= bucketMs / 2 ? fullCount + 1 : fullCount);
  const lastBucketMs = endMs - (bucketCount - 1) * bucketMs;
  assert(lastBucketMs < bucketMs * 1.5, `last bucket of ${lastBucketMs} ms is too long`);
  const counts = new Map<string, Map<Outcome, number[]>>();
  for (const completion of completions) {
    let byOutcome = counts.get(completion.f);
    if (byOutcome === undefined) {
      byOutcome = new Map();
      counts.set(completion.f, byOutcome);
    }
    let buckets = byOutcome.get(completion.outcome);
    if (buckets === undefined) {
      buckets = new Array<number>(bucketCount).fill(0);
      byOutcome.set(completion.outcome, buckets);
    }
    const bucket = Math.min(
      bucketCount - 1,
      Math.max(0, Math.floor(completion.completeMs / bucketMs)),
    );
    buckets[bucket] = (buckets[bucket] ?? 0) + 1;
  }
  // An empty history's one bucket has no length: its rates are 0 whatever it divides by.
  const lastPerCount = 1000 / (lastBucketMs > 0 ? lastBucketMs : bucketMs);
  const perCount = 1000 / bucketMs;
  const series: RateSeries[] = [];
  for (const [f, byOutcome] of counts) {
    for (const outcome of OUTCOMES) {
      const buckets = byOutcome.get(outcome);
      if (buckets === undefined && outcome !== 'ok') continue;
      const perSecond = (buckets ?? new Array<number>(bucketCount).fill(0)).map(
        (count, i) => count * (i === bucketCount - 1 ? lastPerCount : perCount),
      );
      series.push({ f, outcome, perSecond });
    }
  }
  return { bucketMs, bucketCount, lastBucketMs, series };
}

/** One fault, from the nemesis's start to its heal. */
export interface FaultWindow {
  /** The nemesis op's f: kill, pause, partition, slow, clock, ... */
  readonly kind: string;
  readonly startMs: number;
  /** The heal's time, or the end of the history for a fault never healed. */
  readonly endMs: number;
  readonly isHealed: boolean;
  readonly nodes: readonly number[];
  /** The start's detail ("SIGKILL node 2 (the controller)"). */
  readonly detail: string;
}

/**
 * The fault windows of a history, in order of start. A heal closes the open start of its kind
 * on the same nodes, else the earliest open start of its kind; a heal with nothing open is
 * ignored. A start never healed lasts to endMs, which defaults to the time of the last op.
 */
export function faultWindows(history: readonly Op[], endMs?: number): FaultWindow[] {
  const end = endMs ?? history[history.length - 1]?.timeMs ?? 0;
  const open: Op<string, NemesisValue>[] = [];
  const windows: FaultWindow[] = [];
  const close = (start: Op<string, NemesisValue>, atMs: number, isHealed: boolean): void => {
    const { nodes, detail } = start.value;
    windows.push({ kind: start.f, startMs: start.timeMs, endMs: atMs, isHealed, nodes, detail });
  };
  for (const op of history) {
    if (op.process !== NEMESIS_PROCESS) continue;
    const nemesisOp = op as Op<string, NemesisValue>;
    if (nemesisOp.value.phase === 'start') {
      open.push(nemesisOp);
      continue;
    }
    if (nemesisOp.value.phase !== 'heal') continue;
    const sameKind = open.filter((start) => start.f === op.f);
    const healed =
      sameKind.find((start) => sameNodes(start.value.nodes, nemesisOp.value.nodes)) ?? sameKind[0];
    if (healed === undefined) continue;
    open.splice(open.indexOf(healed), 1);
    close(healed, op.timeMs, true);
  }
  for (const start of open) close(start, Math.max(end, start.timeMs), false);
  return windows.sort((a, b) => a.startMs - b.startMs);
}

function sameNodes(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const sortedA = [...a].sort((x, y) => x - y);
  const sortedB = [...b].sort((x, y) => x - y);
  return sortedA.every((node, i) => node === sortedB[i]);
}

/**
 * At most countMax items, taken with a uniform stride from the first: every item when there
 * are few enough, else every ⌈n / countMax⌉-th. The result is a new array.
 */
export function downsample<T>(items: readonly T[], countMax: number): T[] {
  assert(Number.isInteger(countMax), `countMax must be an integer, got ${countMax}`);
  assert(countMax >= 1, `countMax must be at least 1, got ${countMax}`);
  if (items.length <= countMax) return items.slice();
  const stride = Math.ceil(items.length / countMax);
  const kept: T[] = [];
  for (let i = 0; i < items.length; i += stride) kept.push(items[i] as T);
  assert(kept.length <= countMax, `downsample kept ${kept.length} > ${countMax}`);
  return kept;
}

/** History entries of one f by type. */
export interface OpCounts {
  invoke: number;
  ok: number;
  fail: number;
  info: number;
}

export interface OpSummary {
  /** Client ops only, by f in order of first appearance. */
  readonly opsByF: Record<string, OpCounts>;
  /** Nemesis starts by fault kind: the faults injected. */
  readonly faultsByKind: Record<string, number>;
}

/** Counts client history entries by f and type, and nemesis starts by kind. */
export function countOps(history: readonly Op[]): OpSummary {
  const opsByF = new Map<string, OpCounts>();
  const faultsByKind = new Map<string, number>();
  for (const op of history) {
    if (op.process === NEMESIS_PROCESS) {
      if ((op.value as NemesisValue).phase !== 'start') continue;
      faultsByKind.set(op.f, (faultsByKind.get(op.f) ?? 0) + 1);
      continue;
    }
    let counts = opsByF.get(op.f);
    if (counts === undefined) {
      counts = { invoke: 0, ok: 0, fail: 0, info: 0 };
      opsByF.set(op.f, counts);
    }
    counts[op.type] += 1;
  }
  return {
    opsByF: Object.fromEntries(opsByF),
    faultsByKind: Object.fromEntries(faultsByKind),
  };
}
