/**
 * `npm run fault:ci`: the short campaign CI runs (`.ci/run`): against a 3-node cluster, one run
 * per nemesis, each of which must pass the checker, then the negative control, which must be
 * caught losing writes. Runs one after another (they share the 2 cores); seeds are random and
 * printed, so a failure can be replayed with `npm run fault -- ... --seed S`. Exit status 1 when
 * any run fails, 2 when the harness itself failed.
 */
import { FAULT_KINDS, type FaultKind } from './nemesis/faults.js';
import { replayCommand, runFaultTest, type RunOptions } from './run.js';
import { isNegativeControlCaught } from './verdict.js';

const NODES = 3;
/** Seconds of faults per nemesis: a few faults each, within CI's time budget. */
const TIME_S = 45;

interface Planned {
  readonly name: string;
  readonly options: Omit<RunOptions, 'seed' | 'print' | 'outDir'>;
  /** The negative control passes when the checker finds lost or inconsistent writes. */
  readonly expectLoss: boolean;
}

function plan(): Planned[] {
  const safe = (kind: FaultKind): Planned => ({
    name: kind,
    expectLoss: false,
    options: {
      nodes: NODES,
      timeS: TIME_S,
      nemesis: [kind],
      quietS: [3, 6],
      faultS: [5, 10],
      recoveryS: 10,
      queue: {
        partitions: 4,
        replicationFactor: 3,
        minInsyncReplicas: 2,
        acks: 'all',
        uncleanLeaderElection: false,
        producers: 4,
        readers: 2,
        sendIntervalMs: 2,
      },
    },
  });
  return [
    ...FAULT_KINDS.map(safe),
    {
      name: 'negative control (acks=leader, unclean election, partitions and kills)',
      expectLoss: true,
      options: {
        ...safe('partition').options,
        nemesis: ['partition', 'kill'],
        quietS: [1, 3],
        faultS: [4, 8],
        queue: {
          ...safe('partition').options.queue,
          acks: 'leader',
          minInsyncReplicas: 1,
          uncleanLeaderElection: true,
        },
      },
    },
  ];
}

async function main(): Promise<number> {
  const print = (line: string): void => void process.stderr.write(`fault:ci: ${line}\n`);
  const outcomes: string[] = [];
  let failed = 0;
  for (const planned of plan()) {
    const seed = Math.floor(Math.random() * 2 ** 31);
    print(`--- ${planned.name}: seed ${seed}`);
    const outcome = await runFaultTest({
      ...planned.options,
      seed,
      outDir: 'fault-runs/ci',
      print: (line) => print(`[${planned.name}] ${line}`),
    });
    const passed = planned.expectLoss
      ? isNegativeControlCaught(outcome.check)
      : outcome.check.valid;
    if (!passed) failed++;
    const replay = replayCommand({ ...planned.options, seed });
    outcomes.push(
      `${passed ? 'PASS' : 'FAIL'} ${planned.name}: ${outcome.faults} faults, checker says ` +
        `${outcome.check.valid ? 'valid' : 'INVALID'}; report ${outcome.runDir}/report.html; ` +
        `replay: ${replay}${planned.expectLoss ? ' --expect-invalid' : ''}`,
    );
  }
  for (const line of outcomes) print(line);
  print(failed === 0 ? 'campaign passed' : `campaign FAILED: ${failed} run(s)`);
  return failed === 0 ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(130));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `fault:ci: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(2);
  },
);
