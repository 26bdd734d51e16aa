/**
 * `npm run fault:ci`: the short campaign CI runs (`.ci/run`): against a 3-node cluster, one
 * queue run per nemesis, each of which must pass the checker, then the queue's negative
 * control, which must be caught losing writes; then one consumer group run (kill, pause and
 * partition, plus member chaos), which must pass, and the group's negative control (members
 * committing before processing, killed again and again), which must be caught leaving
 * acknowledged records undelivered. Runs one after another (they share the 2 cores); seeds are
 * random and printed, so a failure can be replayed with `npm run fault -- ... --seed S`. Exit
 * status 1 when any run fails, 2 when the harness itself failed.
 */
import { FAULT_KINDS, type FaultKind } from './nemesis/faults.js';
import { replayCommand, runFaultTest, type GroupsRunOptions, type RunOptions } from './run.js';
import { isNegativeControlCaught } from './verdict.js';
import { CHAOS_KINDS } from './workload/member-chaos.js';

const NODES = 3;
/** Seconds of faults per nemesis: a few faults each, within CI's time budget. */
const TIME_S = 45;

interface Planned {
  readonly name: string;
  readonly options: Omit<RunOptions, 'seed' | 'print' | 'outDir'>;
  /** A negative control passes when the checker finds the workload's loss anomalies. */
  readonly expectLoss: boolean;
}

/** The consumer group of the groups runs (unused by the queue runs). */
const GROUP: GroupsRunOptions = {
  members: 4,
  sessionTimeoutMs: 5_000,
  memberChaos: [...CHAOS_KINDS],
  chaosQuietS: [3, 6],
  memberCommit: 'after',
};

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
      workload: 'queue',
      groups: GROUP,
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
  const groups: Planned = {
    name: 'groups (kill, pause, partition; members crash, pause, leave)',
    expectLoss: false,
    options: {
      ...safe('kill').options,
      nemesis: ['kill', 'pause', 'partition'],
      workload: 'groups',
      queue: { ...safe('kill').options.queue, partitions: 6 },
    },
  };
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
    groups,
    {
      name: 'groups negative control (members commit before processing, crash after crash)',
      expectLoss: true,
      options: {
        ...groups.options,
        groups: { ...GROUP, memberChaos: ['crash'], chaosQuietS: [1, 3], memberCommit: 'before' },
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
      ? isNegativeControlCaught(outcome.check, outcome.lossAnomalies)
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
