/**
 * Runs one seed, or a range of seeds, and turns a failure into a report: the seed, the
 * configuration, the broken invariant, the last events, and a one-line command that replays
 * the run exactly. Used by the CLI (main.ts) and the vitest suites alike.
 */
import { assert } from '../../src/util/assert.js';
import { coreFactoryFor } from './broken-variants.js';
import { Invariant, SimViolation } from './checker.js';
import { Cluster, type SimStats } from './cluster.js';
import { describeConfig, drawConfig, type SimConfig, type SimOptions } from './sim-config.js';
import { Trace } from './trace.js';

export interface SeedResult {
  readonly config: SimConfig;
  readonly stats: SimStats;
  /** The first broken invariant, or null when the run passed. */
  readonly violation: SimViolation | null;
  readonly traceTail: readonly string[];
}

/** Runs one seed to the end or to its first violation. Never throws for a failing run. */
export function runSeed(options: SimOptions, write: (line: string) => void = () => {}): SeedResult {
  const config = drawConfig(options);
  const trace = new Trace(options.trace, write);
  const cluster = new Cluster(config, coreFactoryFor(options.variant), trace);
  let violation: SimViolation | null = null;
  try {
    cluster.run();
  } catch (error: unknown) {
    violation = asViolation(error);
  }
  return { config, stats: cluster.stats, violation, traceTail: trace.tail() };
}

/** A core that throws is a failure of the run too: report it with its stack. */
function asViolation(error: unknown): SimViolation {
  if (error instanceof SimViolation) return error;
  const text =
    error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  return new SimViolation(Invariant.CORE_THREW, text);
}

export function replayCommand(
  options: Pick<SimOptions, 'seed' | 'nodes' | 'variant' | 'chaosTicks' | 'voteCheck'>,
  chaosTicksDefault: number,
): string {
  const parts = ['npm run sim --', `--seed ${options.seed}`, `--nodes ${options.nodes}`];
  if (options.variant !== 'production') parts.push(`--variant ${options.variant}`);
  if (options.chaosTicks !== chaosTicksDefault) parts.push(`--ticks ${options.chaosTicks}`);
  if (!options.voteCheck) parts.push('--no-vote-check');
  return parts.join(' ');
}

/** One line per failed run: seed, invariant, the start of the message, the replay command. */
export function failureLine(result: SeedResult, chaosTicksDefault: number): string {
  const v = result.violation;
  assert(v !== null, 'no violation to describe');
  const head = v.message.split('\n')[0] ?? '';
  return `seed ${result.config.seed}: ${head.slice(0, 300)} (replay: ${replayCommand(result.config, chaosTicksDefault)} --trace)`;
}

/** The multi-line report of a failed run. */
export function formatViolation(result: SeedResult, chaosTicksDefault: number): string {
  const v = result.violation;
  assert(v !== null, 'no violation to format');
  const c = result.config;
  return [
    `VIOLATION seed=${c.seed} nodes=${c.nodes} variant=${c.variant} at ${result.stats.virtualMs.toFixed(3)}ms after ${result.stats.events} events`,
    `  invariant: ${v.invariant}`,
    `  ${v.message.split('\n').join('\n  ')}`,
    `  config: ${describeConfig(c)}`,
    '  last events:',
    ...result.traceTail.map((line) => `    ${line}`),
    `  replay: ${replayCommand(c, chaosTicksDefault)} --trace`,
  ].join('\n');
}

export interface RangeSummary {
  readonly seedsRun: number;
  readonly failures: SeedResult[];
  readonly elapsedMs: number;
}

/**
 * Runs seeds [seedStart, seedStart + count). Stops early after `stopAfterFailures` failures.
 * `now` is the wall clock for throughput reports only: it never feeds the simulation.
 */
export function runSeeds(
  base: Omit<SimOptions, 'seed'>,
  seedStart: number,
  count: number,
  stopAfterFailures: number,
  now: () => number,
  onSeed: (result: SeedResult) => void = () => {},
): RangeSummary {
  const failures: SeedResult[] = [];
  const started = now();
  let seedsRun = 0;
  for (let seed = seedStart; seed < seedStart + count; seed++) {
    const result = runSeed({ ...base, seed });
    seedsRun++;
    onSeed(result);
    if (result.violation !== null) failures.push(result);
    if (failures.length >= stopAfterFailures) break;
  }
  return { seedsRun, failures, elapsedMs: now() - started };
}
