/**
 * `brook partitions reassign|reassignments`: move partitions' replicas onto other brokers
 * (Kafka's kafka-reassign-partitions). `reassign` starts the moves, then, unless --no-wait,
 * prints progress once a second until every target replica is in sync and the old replicas are
 * gone. Ctrl-C stops the watching, not the moves. `--throttle` bounds the copy's bandwidth on
 * every leader for the move (Kafka's leader.replication.throttled.rate), and `throttle` sets or
 * removes that bound on its own.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { OngoingReassignment, PartitionReassignment } from '../../client/index.js';
import { ExitError, UsageError, formatTable, write, type CliIo } from '../output.js';
import {
  addBootstrapOption,
  byteRate,
  integerIn,
  withAdmin,
  type BootstrapOptions,
} from './common.js';
import { followReassignments, startMoves } from './reassign-progress.js';
import {
  addThrottleOption,
  formatRate,
  removeThrottleWhenIdle,
  setThrottle,
  throttleMoves,
} from './replication-throttle.js';

interface ReassignOptions extends BootstrapOptions {
  topic?: string;
  partition?: number;
  replicas?: string;
  plan?: string;
  cancel?: boolean;
  throttle?: number;
  wait: boolean;
}

export function registerPartitionsCommand(program: Command, io: CliIo): void {
  const partitions = program
    .command('partitions')
    .description("move partitions' replicas onto other brokers");
  registerReassign(partitions, io);
  registerReassignments(partitions, io);
  registerThrottle(partitions, io);
}

function registerReassign(partitions: Command, io: CliIo): void {
  const command = partitions
    .command('reassign')
    .description(
      'move partitions to the given brokers (new replicas copy the log, then old ones leave), or cancel such moves',
    )
    .option('--topic <name>', 'the topic of the one partition to move')
    .option('--partition <n>', 'its partition number', integerIn(0, 2 ** 31 - 1))
    .option('--replicas <ids>', 'target broker ids, comma-separated, preferred leader first')
    .option(
      '--plan <file>',
      'JSON {"partitions":[{"topic":"t","partition":0,"replicas":[3,4,5]}, ...]} (Kafka\'s reassignment format)',
    )
    .option('--cancel', 'cancel the reassignment of the named partitions instead')
    .option('--no-wait', 'return once the moves have started, without following them');
  addThrottleOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  brook partitions reassign --topic demo --partition 0 --replicas 3,4,5
  brook partitions reassign --plan moves.json --throttle 20MiB
  brook partitions reassign --topic demo --partition 0 --cancel
  brook partitions reassignments          # the moves in progress`,
  );
  addBootstrapOption(command).action(async (options: ReassignOptions) => {
    const moves = await movesOf(options);
    if (options.throttle !== undefined && options.cancel === true) {
      throw new UsageError('--throttle goes with moves, not with --cancel');
    }
    await withAdmin(options, io, async (admin, bootstrap) => {
      await throttleMoves(admin, io, options.throttle, options.wait);
      const verb = options.cancel === true ? 'Cancelling' : 'Moving';
      const started = await startMoves(
        admin,
        io,
        bootstrap,
        moves,
        (m) => `${verb} ${m.topic}-${m.partition}.`,
      );
      if (options.wait && started.length > 0) await followReassignments(admin, io, started);
      if (options.throttle !== undefined && options.wait) await removeThrottleWhenIdle(admin, io);
      if (started.length < moves.length) throw new ExitError(1);
    });
  });
}

function registerReassignments(partitions: Command, io: CliIo): void {
  const command = partitions
    .command('reassignments')
    .description('list the reassignments in progress')
    .argument('[topic...]', 'only these topics');
  addBootstrapOption(command).action(async (topics: string[], options: BootstrapOptions) =>
    withAdmin(options, io, async (admin) => {
      const ongoing = await admin.listPartitionReassignments(topics);
      if (ongoing.length === 0) {
        await write(io.stdout, 'No reassignment in progress.\n');
        return;
      }
      await write(io.stdout, formatTable(TABLE_HEADERS, ongoing.map(tableRow)) + '\n');
    }),
  );
}

function registerThrottle(partitions: Command, io: CliIo): void {
  const command = partitions
    .command('throttle')
    .description(
      'bound (or with "off", stop bounding) the bytes/s each leader sends to replicas being added by a reassignment',
    )
    .argument('<rate|off>', 'bytes per second, e.g. 52428800, 50MiB or 20MB; or off');
  command.addHelpText(
    'after',
    `
In-sync followers are never throttled, so producers do not wait on it; a move whose throttle is
below the partition's write rate never finishes, so watch \`brook partitions reassignments\`.

Examples:
  brook partitions throttle 50MiB
  brook partitions throttle off`,
  );
  addBootstrapOption(command).action(async (rate: string, options: BootstrapOptions) => {
    const bytesPerSecond = rate.trim().toLowerCase() === 'off' ? null : parseRate(rate);
    await withAdmin(options, io, async (admin) => {
      await setThrottle(admin, bytesPerSecond);
      await write(
        io.stdout,
        bytesPerSecond === null
          ? 'Replication throttle removed.\n'
          : `Replication to new replicas throttled to ${formatRate(bytesPerSecond)} per leader.\n`,
      );
    });
  });
}

function parseRate(text: string): number {
  try {
    return byteRate(text);
  } catch (error) {
    throw new UsageError(`<rate> ${(error as Error).message}`);
  }
}

const TABLE_HEADERS = ['TOPIC', 'PARTITION', 'REPLICAS', 'ADDING', 'REMOVING', 'ISR', 'LEADER'];

function tableRow(r: OngoingReassignment): string[] {
  return [
    r.topic,
    String(r.partition),
    r.replicas.join(','),
    r.addingReplicas.join(',') || '-',
    r.removingReplicas.join(',') || '-',
    r.isr.join(','),
    String(r.leaderId),
  ];
}

/** The moves the options name: one partition from the flags, or a plan file. */
async function movesOf(options: ReassignOptions): Promise<PartitionReassignment[]> {
  const single = options.topic !== undefined || options.partition !== undefined;
  if (single === (options.plan !== undefined)) {
    throw new UsageError('name one partition (--topic and --partition) or a --plan file');
  }
  if (options.plan !== undefined) {
    if (options.replicas !== undefined) {
      throw new UsageError('--replicas goes with --topic and --partition, not with --plan');
    }
    return planOf(options.plan, await readPlan(options.plan), options.cancel === true);
  }
  if (options.topic === undefined || options.partition === undefined) {
    throw new UsageError('--topic and --partition go together');
  }
  if (options.cancel === true) {
    if (options.replicas !== undefined) throw new UsageError('--cancel takes no --replicas');
    return [{ topic: options.topic, partition: options.partition, replicas: null }];
  }
  if (options.replicas === undefined) throw new UsageError('--replicas is required (or --cancel)');
  return [
    { topic: options.topic, partition: options.partition, replicas: idsOf(options.replicas) },
  ];
}

function idsOf(text: string): number[] {
  const ids = text.split(',').map((part) => part.trim());
  if (ids.some((id) => !/^\d+$/.test(id))) {
    throw new UsageError(`--replicas must be broker ids separated by commas, not "${text}"`);
  }
  return ids.map(Number);
}

async function readPlan(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (error) {
    throw new UsageError(`cannot read the plan ${file}: ${(error as Error).message}`);
  }
}

/** Checks the plan's shape; the broker checks the rest (brokers registered, partitions exist). */
function planOf(file: string, plan: unknown, cancel: boolean): PartitionReassignment[] {
  const items = (plan as { partitions?: unknown } | null)?.partitions;
  if (!Array.isArray(items) || items.length === 0) {
    throw new UsageError(`${file}: expected {"partitions": [...]} with at least one entry`);
  }
  return items.map((item: unknown, i) => {
    const { topic, partition, replicas } = (item ?? {}) as Record<string, unknown>;
    const where = `${file}: partitions[${i}]`;
    if (typeof topic !== 'string' || topic === '')
      throw new UsageError(`${where}.topic must be a name`);
    if (!Number.isInteger(partition) || (partition as number) < 0) {
      throw new UsageError(`${where}.partition must be a whole number >= 0`);
    }
    if (cancel) return { topic, partition: partition as number, replicas: null };
    if (
      !Array.isArray(replicas) ||
      !replicas.every((r: unknown) => Number.isInteger(r) && (r as number) >= 0)
    ) {
      throw new UsageError(`${where}.replicas must be a list of broker ids`);
    }
    return { topic, partition: partition as number, replicas: replicas as number[] };
  });
}
