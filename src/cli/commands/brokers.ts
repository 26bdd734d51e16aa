/**
 * `brook brokers drain|unregister`: taking brokers out of a cluster (a scale-down). `drain`
 * moves every replica off the named brokers: the SDK's planDrain picks a replacement for each,
 * the moves are submitted as reassignments and, unless --no-wait, followed to the end. Once a
 * drained broker's process is gone, `unregister` removes it from the metadata and, for a Raft
 * observer, from the metadata quorum.
 */
import type { Command } from 'commander';
import { BrokerError, planDrain, type Admin, type DrainPartition } from '../../client/index.js';
import { ExitError, UsageError, describeError, write, type CliIo } from '../output.js';
import { addBootstrapOption, withAdmin, type BootstrapOptions } from './common.js';
import { followReassignments, startMoves } from './reassign-progress.js';
import {
  addThrottleOption,
  removeThrottleWhenIdle,
  throttleMoves,
} from './replication-throttle.js';

interface DrainOptions extends BootstrapOptions {
  wait: boolean;
  dryRun?: boolean;
  throttle?: number;
}

const BROKER_ID_MAX = 2 ** 31 - 1;
/** How many partition names a message lists before it says how many more there are. */
const NAMES_MAX = 5;

export function registerBrokersCommand(program: Command, io: CliIo): void {
  const brokers = program
    .command('brokers')
    .description('take brokers out of the cluster: move their replicas away, then unregister them');
  registerDrain(brokers, io);
  registerUnregister(brokers, io);
}

function registerDrain(brokers: Command, io: CliIo): void {
  const command = brokers
    .command('drain')
    .description(
      'move every replica off the given brokers onto the other live brokers (each replaced in place, least-loaded first, same rack preferred)',
    )
    .argument('<ids...>', 'broker ids')
    .option('--dry-run', "print the moves as Kafka's reassignment JSON and change nothing")
    .option('--no-wait', 'return once the moves have started, without following them');
  addThrottleOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  brook brokers drain 4 --dry-run > moves.json   # the plan, for brook partitions reassign --plan
  brook brokers drain 3 4 --throttle 50MiB       # move every replica off brokers 3 and 4
  brook brokers unregister 3 4                   # then, once their processes are gone

A drained broker is still registered and in service until it stops, so a topic created while
the drain runs may place replicas on it. unregister then refuses, and a second drain moves them.`,
  );
  addBootstrapOption(command).action(async (ids: string[], options: DrainOptions) => {
    const drained = idsOf(ids);
    await withAdmin(options, io, (admin, bootstrap) =>
      drain(admin, io, bootstrap, drained, options),
    );
  });
}

function registerUnregister(brokers: Command, io: CliIo): void {
  const command = brokers
    .command('unregister')
    .description(
      'remove stopped brokers that hold no replicas from the cluster (and from the Raft observers)',
    )
    .argument('<ids...>', 'broker ids');
  command.addHelpText(
    'after',
    `
Examples:
  brook brokers drain 4        # first: move its replicas away
  brook brokers unregister 4   # once its process is gone

Refused, changing nothing, for a broker that still holds replicas (drain it), that is running
(stop it: it would register again) or that is a Raft voter (voters are fixed by raft.voters).`,
  );
  addBootstrapOption(command).action(async (ids: string[], options: BootstrapOptions) => {
    const brokerIds = idsOf(ids);
    await withAdmin(options, io, async (admin, bootstrap) => {
      let failed = 0;
      for (const brokerId of brokerIds) {
        try {
          await admin.unregisterBroker(brokerId);
          await write(io.stdout, `Unregistered broker ${brokerId}.\n`);
        } catch (error) {
          if (!(error instanceof BrokerError)) throw error;
          failed++;
          io.stderr.write(`brook: ${describeError(error, bootstrap)}\n`);
        }
      }
      if (failed > 0) throw new ExitError(1);
    });
  });
}

async function drain(
  admin: Admin,
  io: CliIo,
  bootstrap: string,
  drained: readonly number[],
  options: DrainOptions,
): Promise<void> {
  const cluster = await admin.describeCluster();
  const known = cluster.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  const unknown = drained.filter((id) => !known.includes(id));
  if (unknown.length > 0) {
    fail(
      io,
      `broker(s) ${unknown.join(', ')} are not registered; the cluster has ${known.join(', ') || 'none'}`,
    );
  }
  const partitions = await partitionTargets(admin);
  const plan = planDrain(cluster.brokers, partitions, drained);
  if (!plan.ok) fail(io, plan.error);
  if (options.dryRun === true) {
    const items = plan.reassignments.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      replicas: r.replicas,
    }));
    await write(io.stdout, JSON.stringify({ version: 1, partitions: items }) + '\n');
    return;
  }
  // Moves already under way that take a replica off a drained broker: followed, not replanned.
  const leaving = partitions.filter((p) => p.leaving.some((r) => drained.includes(r)));
  if (plan.reassignments.length === 0 && leaving.length === 0) {
    await write(
      io.stdout,
      `${holds(drained)} no replicas: nothing to move. ${unregisterHint(drained)}\n`,
    );
    return;
  }
  await throttleMoves(admin, io, options.throttle, options.wait);
  const started = await startMoves(
    admin,
    io,
    bootstrap,
    plan.reassignments,
    (m) => `Moving ${m.topic}-${m.partition} to ${(m.replicas ?? []).join(',')}.`,
  );
  const followed = [...started, ...leaving];
  if (!options.wait) {
    await write(
      io.stdout,
      `Started ${started.length} move(s); follow them with: brook partitions reassignments\n`,
    );
  } else if (followed.length > 0) {
    await followReassignments(admin, io, followed);
  }
  if (options.throttle !== undefined && options.wait) await removeThrottleWhenIdle(admin, io);
  if (started.length < plan.reassignments.length) throw new ExitError(1);
  if (options.wait) await reportHeld(admin, io, drained);
}

/** Says whether the drained brokers hold anything now; exit code 1 when they still do. */
async function reportHeld(admin: Admin, io: CliIo, drained: readonly number[]): Promise<void> {
  const metadata = await admin.metadata();
  const held: string[] = [];
  for (const topic of metadata.topics) {
    for (const p of topic.partitions) {
      if (p.replicas.some((r) => drained.includes(r))) held.push(`${topic.name}-${p.partition}`);
    }
  }
  if (held.length === 0) {
    await write(io.stdout, `${holds(drained)} no replicas now. ${unregisterHint(drained)}\n`);
    return;
  }
  const shown = held.slice(0, NAMES_MAX).join(', ');
  const names = held.length > NAMES_MAX ? `${shown}, …` : shown;
  fail(
    io,
    `${holds(drained)} ${held.length} replica(s) still (${names}), e.g. of a topic created during the drain: run brook brokers drain ${drained.join(' ')} again`,
  );
}

/** "Broker 4 holds" or "Brokers 3, 4 hold". */
function holds(ids: readonly number[]): string {
  return ids.length === 1 ? `Broker ${ids.join('')} holds` : `Brokers ${ids.join(', ')} hold`;
}

/** What to run once the drained brokers are stopped. */
function unregisterHint(ids: readonly number[]): string {
  const whose = ids.length === 1 ? 'its process is' : 'their processes are';
  return `Once ${whose} gone: brook brokers unregister ${ids.join(' ')}`;
}

/**
 * Every partition with the replicas it is meant to have: for one being reassigned, the move's
 * target, and in `leaving` the replicas the move takes away.
 */
async function partitionTargets(
  admin: Admin,
): Promise<(DrainPartition & { leaving: readonly number[] })[]> {
  const [metadata, ongoing] = await Promise.all([
    admin.metadata(),
    admin.listPartitionReassignments(),
  ]);
  const moving = new Map(ongoing.map((r) => [`${r.topic}\u0000${r.partition}`, r]));
  return metadata.topics.flatMap((topic) =>
    topic.partitions.map((p) => {
      const move = moving.get(`${topic.name}\u0000${p.partition}`);
      const leaving = move?.removingReplicas ?? [];
      const replicas = move === undefined ? p.replicas : move.replicas;
      return {
        topic: topic.name,
        partition: p.partition,
        replicas: replicas.filter((r) => !leaving.includes(r)),
        leaving,
      };
    }),
  );
}

/** The broker ids of the command line, each once, in the order given. */
function idsOf(texts: readonly string[]): number[] {
  const ids: number[] = [];
  for (const text of texts) {
    const id = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
    if (!Number.isSafeInteger(id) || id > BROKER_ID_MAX) {
      throw new UsageError(
        `broker ids are whole numbers from 0 to ${BROKER_ID_MAX}, not "${text}"`,
      );
    }
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** Reports `message` as the command's one error line and exits 1. */
function fail(io: CliIo, message: string): never {
  io.stderr.write(`brook: ${message}\n`);
  throw new ExitError(1);
}
