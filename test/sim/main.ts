/**
 * The simulator's command line: `npm run sim -- --seeds N --nodes 5 [--seed-start S]` runs a
 * campaign of seeds and reports throughput; `--seed S --trace` replays one run with every event
 * on stderr. The exit status is 1 when any run broke an invariant (for a broken --variant too:
 * a caught bug is still a failed run). Wall-clock time here only measures throughput; the
 * simulation itself never reads it.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  CHAOS_TICKS_DEFAULT,
  isVariant,
  NODES_ALLOWED,
  VARIANTS,
  type Variant,
} from './sim-config.js';
import { formatViolation, replayCommand, runSeed, runSeeds, type SeedResult } from './run.js';

/** Full reports printed per campaign; later failures get one line each. */
const FULL_REPORTS_MAX = 3;
const PROGRESS_INTERVAL_MS = 5_000;

interface CliOptions {
  seeds: number;
  nodes: number;
  seedStart: number;
  seed?: number;
  trace: boolean;
  variant: Variant;
  ticks: number;
  voteCheck: boolean;
}

function integer(min: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min)
      throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return value;
  };
}

function parseNodes(text: string): number {
  const value = Number(text);
  if (!NODES_ALLOWED.includes(value))
    throw new InvalidArgumentError(`expected ${NODES_ALLOWED.join(' or ')}`);
  return value;
}

function replayOne(options: CliOptions, seed: number): number {
  const result = runSeed(
    {
      seed,
      nodes: options.nodes,
      variant: options.variant,
      chaosTicks: options.ticks,
      trace: options.trace,
      voteCheck: options.voteCheck,
    },
    (line) => process.stderr.write(`${line}\n`),
  );
  if (result.violation !== null) {
    console.log(formatViolation(result, CHAOS_TICKS_DEFAULT));
    return 1;
  }
  const s = result.stats;
  console.log(
    `seed ${seed} passed: ${s.events} events, ${s.virtualMs.toFixed(0)} virtual ms, ${s.committed} committed, ${s.accepted}/${s.proposals} proposals accepted, ${s.crashes} crashes, max term ${s.maxTerm}`,
  );
  return 0;
}

function campaign(options: CliOptions): number {
  const base = {
    nodes: options.nodes,
    variant: options.variant,
    chaosTicks: options.ticks,
    trace: false,
    voteCheck: options.voteCheck,
  };
  let lastProgress = performance.now();
  let done = 0;
  let failed = 0;
  const onSeed = (result: SeedResult): void => {
    done++;
    if (result.violation !== null) {
      failed++;
      if (failed <= FULL_REPORTS_MAX) {
        console.log(formatViolation(result, CHAOS_TICKS_DEFAULT));
      } else {
        console.log(
          `VIOLATION seed=${result.config.seed} ${result.violation.invariant}: ${replayCommand(result.config, CHAOS_TICKS_DEFAULT)}`,
        );
      }
    }
    const now = performance.now();
    if (now - lastProgress >= PROGRESS_INTERVAL_MS) {
      lastProgress = now;
      console.log(`progress: ${done}/${options.seeds} seeds, ${failed} violations`);
    }
  };
  const summary = runSeeds(
    base,
    options.seedStart,
    options.seeds,
    Infinity,
    () => performance.now(),
    onSeed,
  );
  const seconds = summary.elapsedMs / 1000;
  const rate = seconds > 0 ? summary.seedsRun / seconds : 0;
  const last = options.seedStart + summary.seedsRun - 1;
  console.log(
    `sim: nodes=${options.nodes} variant=${options.variant} seeds ${options.seedStart}..${last}: ${summary.seedsRun} run, ${summary.failures.length} violations, ${seconds.toFixed(1)} s, ${rate.toFixed(1)} seeds/s`,
  );
  return summary.failures.length > 0 ? 1 : 0;
}

function main(argv: readonly string[]): number {
  const program = new Command()
    .name('sim')
    .description(
      'Deterministic simulation of the Raft core: faults, checks after every event, replay by seed.',
    )
    .addOption(
      new Option('--seeds <n>', 'number of seeds to run').argParser(integer(1)).default(500),
    )
    .addOption(
      new Option('--nodes <n>', 'voters at bootstrap (3 or 5)').argParser(parseNodes).default(3),
    )
    .addOption(
      new Option('--seed-start <s>', 'first seed of the campaign').argParser(integer(0)).default(1),
    )
    .addOption(new Option('--seed <s>', 'replay this one seed').argParser(integer(0)))
    .addOption(new Option('--trace', 'with --seed: every event on stderr').default(false))
    .addOption(
      new Option('--variant <v>', 'core under test').choices(VARIANTS).default('production'),
    )
    .addOption(
      new Option('--ticks <t>', 'ticks of the fault phase')
        .argParser(integer(1))
        .default(CHAOS_TICKS_DEFAULT),
    )
    .addOption(
      new Option('--no-vote-check', 'do not check that stored votes never change within a term'),
    )
    .exitOverride();
  program.parse(argv, { from: 'node' });
  const options = program.opts<CliOptions>();
  if (!isVariant(options.variant))
    throw new InvalidArgumentError(`unknown variant ${String(options.variant)}`);
  if (options.seed !== undefined) return replayOne(options, options.seed);
  return campaign(options);
}

try {
  process.exitCode = main(process.argv);
} catch (error: unknown) {
  // commander has printed its usage error already when it throws through exitOverride.
  const code = (error as { exitCode?: unknown }).exitCode;
  process.exitCode = typeof code === 'number' ? code : 2;
  if (typeof code !== 'number') throw error;
}
