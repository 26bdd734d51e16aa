/**
 * `npm run fault -- --nodes 5 --time 300 --nemesis kill,pause,partition --seed S`: one fault
 * run (run.ts) against a real cluster in network namespaces (root only), with the queue workload
 * or (`--workload groups`) the consumer group one. Exit status: 0 when the checker finds the
 * history valid (with --expect-invalid: when it finds the anomalies the workload's negative
 * control must show), 1 when it does not, 2 on a usage error or when the harness itself failed.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { integerIn } from '../../src/cli/commands/common.js';
import { requireRoot } from './net/index.js';
import { FAULT_KINDS, type FaultKind } from './nemesis/faults.js';
import type { SecondsRange } from './nemesis/schedule.js';
import {
  replayCommand,
  runFaultTest,
  WORKLOADS,
  type RunOptions,
  type WorkloadName,
} from './run.js';
import { isNegativeControlCaught } from './verdict.js';
import { CHAOS_KINDS, parseChaosKinds, type ChaosKind } from './workload/member-chaos.js';

interface CliOptions {
  workload: WorkloadName;
  nodes: number;
  time: number;
  nemesis: FaultKind[];
  seed?: number;
  partitions?: number;
  producers: number;
  readers: number;
  acks: 'all' | 'leader';
  replicationFactor?: number;
  minInsyncReplicas: number;
  uncleanLeaderElection: boolean;
  quiet: SecondsRange;
  fault: SecondsRange;
  recovery: number;
  sendIntervalMs: number;
  members: number;
  sessionTimeoutMs: number;
  memberChaos: ChaosKind[];
  memberChaosQuiet: SecondsRange;
  memberCommit: 'after' | 'before';
  out: string;
  expectInvalid: boolean;
}

/** Partitions of the topic when --partitions is not given. */
const DEFAULT_PARTITIONS: Readonly<Record<WorkloadName, number>> = { queue: 4, groups: 6 };

function chaosKinds(text: string): ChaosKind[] {
  try {
    return parseChaosKinds(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function kinds(text: string): FaultKind[] {
  const names = text.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(FAULT_KINDS as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(
        `unknown nemesis "${name}"; choose from ${FAULT_KINDS.join(', ')}`,
      );
    }
  }
  return [...new Set(names)] as FaultKind[];
}

function secondsRange(text: string): SecondsRange {
  const match = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(text);
  if (match === null) throw new InvalidArgumentError('expected seconds as N or MIN-MAX, e.g. 5-15');
  const min = Number(match[1]);
  const max = match[2] === undefined ? min : Number(match[2]);
  if (max < min) throw new InvalidArgumentError(`MIN-MAX with MIN <= MAX, got ${text}`);
  return [min, max];
}

async function main(): Promise<number> {
  const program = new Command('fault')
    .description(
      'Jepsen-style fault run: a Brook cluster with every node in its own network namespace, ' +
        'producers and readers recording every operation, a nemesis injecting faults, then a ' +
        'final read and a checker over the history. Needs root. Writes a report folder.',
    )
    .addOption(
      new Option(
        '--workload <name>',
        'queue: producers and readers; groups: producers and the members of a consumer group',
      )
        .choices(WORKLOADS)
        .default('queue'),
    )
    .option('--nodes <n>', 'cluster nodes, all Raft voters', integerIn(1, 9), 3)
    .option('--time <s>', 'seconds of clients and faults', integerIn(1, 86_400), 60)
    .option('--nemesis <kinds>', `faults, comma-separated: ${FAULT_KINDS.join(', ')}`, kinds, [
      'kill',
      'pause',
      'partition',
    ] as FaultKind[])
    .option(
      '--seed <n>',
      'seed of every random choice (default: random, printed)',
      integerIn(0, 2 ** 31 - 1),
    )
    .option(
      '--partitions <n>',
      'partitions of the topic (default: 4 for queue, 6 for groups)',
      integerIn(1, 64),
    )
    .option('--producers <n>', 'concurrent producers', integerIn(0, 64), 4)
    .option('--readers <n>', 'concurrent readers', integerIn(0, 64), 2)
    .addOption(
      new Option('--acks <acks>', 'producer acks').choices(['all', 'leader']).default('all'),
    )
    .option(
      '--replication-factor <n>',
      'replicas per partition (default: min(3, nodes))',
      integerIn(1, 9),
    )
    .option('--min-insync-replicas <n>', "the topic's min.insync.replicas", integerIn(1, 9), 2)
    .option('--unclean-leader-election', 'unclean.leader.election.enable=true on the topic', false)
    .option('--quiet <s>', 'seconds without a fault before each one, N or MIN-MAX', secondsRange, [
      3, 8,
    ] as SecondsRange)
    .option('--fault <s>', 'seconds each fault lasts, N or MIN-MAX', secondsRange, [
      5, 15,
    ] as SecondsRange)
    .option(
      '--recovery <s>',
      'seconds clients go on after the last fault is healed',
      integerIn(0, 3600),
      10,
    )
    .option(
      '--send-interval-ms <ms>',
      "pause between one producer's sends",
      integerIn(0, 10_000),
      2,
    )
    .option('--members <n>', 'groups: members of the consumer group', integerIn(1, 32), 4)
    .option(
      '--session-timeout-ms <ms>',
      "groups: the members' session timeout",
      integerIn(1_000, 60_000),
      5_000,
    )
    .option(
      '--member-chaos <kinds>',
      `groups: client chaos, comma-separated: ${CHAOS_KINDS.join(', ')}, or none`,
      chaosKinds,
      [...CHAOS_KINDS] as ChaosKind[],
    )
    .option(
      '--member-chaos-quiet <s>',
      'groups: seconds without client chaos before each action, N or MIN-MAX',
      secondsRange,
      [3, 8] as SecondsRange,
    )
    .addOption(
      new Option(
        '--member-commit <when>',
        'groups: members commit after processing (at-least-once) or before ' +
          '(at-most-once: a negative control)',
      )
        .choices(['after', 'before'])
        .default('after'),
    )
    .option('--out <dir>', 'parent of the run folder', 'fault-runs')
    .option(
      '--expect-invalid',
      'negative control: succeed only if the checker reports lost or inconsistent writes ' +
        '(groups: undelivered records)',
      false,
    )
    .showHelpAfterError()
    // A usage error is not a verdict: exit 2, as a harness failure, never 1 (invalid history).
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));
  program.parse(process.argv);
  const options = program.opts<CliOptions>();
  const replicationFactor = options.replicationFactor ?? Math.min(3, options.nodes);
  if (replicationFactor > options.nodes) {
    program.error(`--replication-factor ${replicationFactor} needs at least that many --nodes`);
  }
  if (options.minInsyncReplicas > replicationFactor) {
    program.error(
      `--min-insync-replicas ${options.minInsyncReplicas} is above the replication factor ${replicationFactor}`,
    );
  }
  if (
    options.nemesis.includes('clock') &&
    !(await import('./cluster/fault-cluster.js')).FaultCluster.hasFaketime()
  ) {
    program.error('the clock nemesis needs libfaketime: apt-get install libfaketime');
  }
  try {
    requireRoot();
  } catch (error) {
    // A setup problem, not a harness bug: the message says what to do; no stack.
    process.stderr.write(`fault: ${(error as Error).message}\n`);
    return 2;
  }
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const print = (line: string): void => void process.stderr.write(`fault: ${line}\n`);
  const run: Omit<RunOptions, 'print' | 'outDir'> = {
    nodes: options.nodes,
    timeS: options.time,
    nemesis: options.nemesis,
    seed,
    quietS: options.quiet,
    faultS: options.fault,
    recoveryS: options.recovery,
    workload: options.workload,
    queue: {
      partitions: options.partitions ?? DEFAULT_PARTITIONS[options.workload],
      replicationFactor,
      minInsyncReplicas: options.minInsyncReplicas,
      acks: options.acks,
      uncleanLeaderElection: options.uncleanLeaderElection,
      producers: options.producers,
      readers: options.readers,
      sendIntervalMs: options.sendIntervalMs,
    },
    groups: {
      members: options.members,
      sessionTimeoutMs: options.sessionTimeoutMs,
      memberChaos: options.memberChaos,
      chaosQuietS: options.memberChaosQuiet,
      memberCommit: options.memberCommit,
    },
  };
  print(`seed ${seed}; replay: ${replayCommand(run)}`);
  const outcome = await runFaultTest({ ...run, outDir: options.out, print });
  print(`report: ${outcome.runDir}/report.html (${outcome.faults} faults injected)`);
  if (options.expectInvalid) {
    const caught = isNegativeControlCaught(outcome.check, outcome.lossAnomalies);
    const what = outcome.lossAnomalies.join(' or ');
    print(
      caught
        ? `negative control: the checker found ${what}, as it must`
        : `negative control FAILED: this configuration should show ${what}, and the checker found none`,
    );
    return caught ? 0 : 1;
  }
  return outcome.check.valid ? 0 : 1;
}

// Ctrl-C and SIGTERM end through process.exit, whose 'exit' handlers stop the nodes by PID and
// remove the namespaces (run.ts).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nfault: ${signal}; stopping the nodes and removing the namespaces\n`);
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `fault: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(2);
  },
);
