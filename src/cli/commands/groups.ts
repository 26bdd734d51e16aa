/**
 * `brook groups list|describe|reset-offsets|delete`: consumer-group administration through the
 * Admin client, in the manner of kafka-consumer-groups. Per-item failures (a group, a partition,
 * a broker that could not list its groups) are printed one line each on stderr after whatever
 * did succeed, and make the exit code 1. Option combinations that cannot work are usage errors
 * (exit code 2) found before anything is sent.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  GROUP_STATES,
  type BrokerError,
  type GroupDescription,
  type GroupTopicPartitions,
  type ResetOffsetsResult,
  type ResetOffsetsTo,
  type ResetOffsetsTopic,
} from '../../client/index.js';
import {
  ExitError,
  UsageError,
  describeError,
  formatJson,
  formatTable,
  write,
  type CliIo,
} from '../output.js';
import { addBootstrapOption, integerIn, withAdmin, type BootstrapOptions } from './common.js';

/** The --to-* options of reset-offsets; exactly one must be given. */
const RESET_TARGET_OPTIONS = [
  'to-earliest',
  'to-latest',
  'to-datetime',
  'to-offset',
  'shift-by',
] as const;

/** Prints one `brook: ` line per failure; throws ExitError(1) when there was any. */
async function reportFailures(io: CliIo, lines: readonly string[]): Promise<void> {
  for (const line of lines) await write(io.stderr, `brook: ${line}\n`);
  if (lines.length > 0) throw new ExitError(1);
}

function groupFailures(
  items: readonly { readonly error?: BrokerError | undefined }[],
  bootstrap: string,
): string[] {
  return items.flatMap((item) =>
    item.error === undefined ? [] : [describeError(item.error, bootstrap)],
  );
}

export function registerGroupsCommand(program: Command, io: CliIo): void {
  const groups = program
    .command('groups')
    .description('list, describe, reset the offsets of, and delete consumer groups');
  registerList(groups, io);
  registerDescribe(groups, io);
  registerResetOffsets(groups, io);
  registerDelete(groups, io);
}

/** Parses one --state value (a comma-separated list, any case) and adds it to the previous. */
function collectStates(value: string, previous: string[] | undefined): string[] {
  const states = [...(previous ?? [])];
  for (const part of value.split(',')) {
    const wanted = part.trim().toLowerCase();
    const state = GROUP_STATES.find((s) => s.toLowerCase() === wanted);
    if (state === undefined) {
      throw new InvalidArgumentError(`expected one of ${GROUP_STATES.join(', ')}.`);
    }
    if (!states.includes(state)) states.push(state);
  }
  return states;
}

function registerList(groups: Command, io: CliIo): void {
  const command = groups
    .command('list')
    .description('list the consumer groups of the cluster with their state and coordinator')
    .option(
      '--state <state>',
      `only groups in this state (${GROUP_STATES.join(', ')}; any case), repeatable or comma-separated`,
      collectStates,
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Every broker is asked for the groups it coordinates. A broker that cannot be asked is reported
on stderr after the list (exit code 1).

Examples:
  brook groups list
  brook groups list --state Stable,Reconciling`,
    );
  addBootstrapOption(command).action(
    async (options: BootstrapOptions & { state?: string[]; json?: boolean }) =>
      withAdmin(options, io, async (admin) => {
        const listed = await admin.listGroups({ states: options.state ?? [] });
        if (options.json === true) {
          await write(io.stdout, formatJson(listed.groups));
        } else {
          const rows = listed.groups.map((g) => [
            g.groupId,
            g.state,
            String(g.members),
            String(g.coordinatorId),
          ]);
          await write(io.stdout, formatTable(['GROUP', 'STATE', 'MEMBERS', 'COORDINATOR'], rows));
        }
        await reportFailures(
          io,
          listed.errors.map(
            (f) => `node ${f.nodeId} did not list its groups: ${describeError(f.error, f.address)}`,
          ),
        );
      }),
  );
}

function registerDescribe(groups: Command, io: CliIo): void {
  const command = groups
    .command('describe')
    .description("show a group's state, members and per-partition offsets and lag")
    .argument('<group...>', 'group ids')
    .option('--json', 'print JSON (every field, including subscriptions and target assignments)')
    .addHelpText(
      'after',
      `
LAG is LOG-END (the high watermark) minus COMMITTED, or minus the log start when the group has
committed nothing for the partition. OWNER is the member that owns the partition now.

Example:
  brook groups describe orders-service`,
    );
  addBootstrapOption(command).action(
    async (groupIds: string[], options: BootstrapOptions & { json?: boolean }) =>
      withAdmin(options, io, async (admin, bootstrap) => {
        const described = await admin.describeGroups(groupIds);
        const found = described.filter((g) => g.error === undefined);
        if (options.json === true) {
          await write(io.stdout, formatJson(found));
        } else {
          await write(io.stdout, found.map(renderGroup).join('\n'));
        }
        await reportFailures(io, groupFailures(described, bootstrap));
      }),
  );
}

/** `-` for the -1 the API uses for "none" or "unknown". */
function numberCell(value: number): string {
  return value < 0 ? '-' : String(value);
}

function partitionsCell(topics: readonly GroupTopicPartitions[]): string {
  const text = topics
    .filter((t) => t.partitions.length > 0)
    .map((t) => `${t.topic}:${t.partitions.join(',')}`)
    .join(' ');
  return text === '' ? '-' : text;
}

function indent(text: string): string {
  return text.replace(/^/gm, '  ').replace(/ +$/gm, '');
}

function renderGroup(group: GroupDescription): string {
  const header =
    `Group: ${group.groupId}  State: ${group.state}  GroupEpoch: ${group.groupEpoch}  ` +
    `AssignmentEpoch: ${group.assignmentEpoch}  Assignor: ${group.assignor || '-'}  ` +
    `Coordinator: ${group.coordinatorId}  Members: ${group.members.length}\n`;
  const members =
    group.members.length === 0
      ? '  (no active members)\n'
      : indent(
          formatTable(
            ['MEMBER', 'CLIENT', 'HOST', 'EPOCH', 'STATE', 'ASSIGNED'],
            group.members.map((m) => [
              m.memberId,
              m.clientId || '-',
              m.host || '-',
              String(m.memberEpoch),
              m.state,
              partitionsCell(m.assignment),
            ]),
          ),
        );
  const partitions =
    group.offsets.length === 0
      ? '  (no partitions: nothing subscribed or committed)\n'
      : indent(
          formatTable(
            ['TOPIC', 'PARTITION', 'COMMITTED', 'LOG-END', 'LAG', 'OWNER'],
            group.offsets.map((p) => [
              p.topic,
              String(p.partition),
              numberCell(p.committedOffset),
              numberCell(p.logEndOffset),
              numberCell(p.lag),
              p.owner || '-',
            ]),
          ),
        );
  return `${header}\n${members}\n${partitions}`;
}

/**
 * Parses one --topic value, `TOPIC` or `TOPIC:P,P,...`, and merges it into the previous ones: a
 * topic named without partitions means all of them, whatever else names it.
 */
export function collectTopicSpec(
  value: string,
  previous: ResetOffsetsTopic[] | undefined,
): ResetOffsetsTopic[] {
  const at = value.lastIndexOf(':');
  const topic = (at < 0 ? value : value.slice(0, at)).trim();
  const list = at < 0 ? null : value.slice(at + 1).trim();
  if (topic === '') throw new InvalidArgumentError('expected TOPIC or TOPIC:P,P,... .');
  if (list !== null && !/^\d{1,10}(,\d{1,10})*$/.test(list)) {
    throw new InvalidArgumentError(
      `expected TOPIC or TOPIC:P,P,... with partition numbers, got "${value}".`,
    );
  }
  const partitions = list === null ? [] : list.split(',').map(Number);
  if (partitions.some((p) => p > 2_147_483_647)) {
    throw new InvalidArgumentError(`partition numbers must be at most 2147483647.`);
  }
  const topics = [...(previous ?? [])];
  const index = topics.findIndex((t) => t.topic === topic);
  const before = topics[index];
  if (before === undefined) {
    topics.push({ topic, partitions });
    return topics;
  }
  const all = partitions.length === 0 || (before.partitions ?? []).length === 0;
  const merged = all ? [] : [...new Set([...(before.partitions ?? []), ...partitions])];
  topics[index] = { topic, partitions: merged.sort((a, b) => a - b) };
  return topics;
}

/**
 * Parses an ISO 8601 date or date-time (`2024-05-01`, `2024-05-01T12:30:00.000`, with an
 * optional `Z` or `+hh:mm` zone) into ms since the Unix epoch. Without a zone the time is local,
 * a date alone meaning local midnight, as kafka-consumer-groups reads it.
 */
export function parseDatetime(value: string): number {
  const match =
    /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}(?::?\d{2})?)?)?$/.exec(
      value.trim(),
    );
  const fail = (): never => {
    throw new InvalidArgumentError(
      'expected an ISO 8601 date-time at or after 1970, e.g. 2024-05-01T12:30:00Z or 2024-05-01.',
    );
  };
  if (match === null) return fail();
  const [, date = '', time = '00:00:00', zone = ''] = match;
  const offset = /^[+-]\d{2}$/.test(zone)
    ? `${zone}:00`
    : /^[+-]\d{4}$/.test(zone)
      ? `${zone.slice(0, 3)}:${zone.slice(3)}`
      : zone;
  const ms = Date.parse(`${date}T${time}${offset}`);
  if (!Number.isSafeInteger(ms) || ms < 0) return fail();
  // Date.parse rolls some impossible dates over (Feb 30); the date must come back unchanged.
  const [year, month, day] = date.split('-').map(Number);
  const probe = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 0));
  if (probe.getUTCMonth() !== (month ?? 1) - 1 || probe.getUTCDate() !== day) return fail();
  return ms;
}

interface ResetOptions extends BootstrapOptions {
  topic?: ResetOffsetsTopic[];
  allTopics?: boolean;
  toEarliest?: boolean;
  toLatest?: boolean;
  toDatetime?: number;
  toOffset?: number;
  shiftBy?: number;
  execute?: boolean;
  json?: boolean;
}

/** The one --to-* target; usage errors for none (two are refused by commander already). */
function resetTargetOf(options: ResetOptions): ResetOffsetsTo {
  if (options.toEarliest === true) return { earliest: true };
  if (options.toLatest === true) return { latest: true };
  if (options.toDatetime !== undefined) return { datetimeMs: options.toDatetime };
  if (options.toOffset !== undefined) return { offset: options.toOffset };
  if (options.shiftBy !== undefined) return { shiftBy: options.shiftBy };
  throw new UsageError(
    `groups reset-offsets: give one of ${RESET_TARGET_OPTIONS.map((o) => `--${o}`).join(', ')}`,
  );
}

function resetTopicsOf(options: ResetOptions): ResetOffsetsTopic[] {
  const topics = options.topic ?? [];
  if (topics.length === 0 && options.allTopics !== true) {
    throw new UsageError('groups reset-offsets: give --topic TOPIC[:P,P...] or --all-topics');
  }
  return topics;
}

function targetOption(flags: string, description: string, name: string): Option {
  return new Option(flags, description).conflicts(
    RESET_TARGET_OPTIONS.filter((other) => other !== name).map(camelCase),
  );
}

function camelCase(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The selection and target options of reset-offsets. */
function addResetOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--topic <topic[:p,p...]>',
        'reset this topic (all its partitions, or the listed ones), repeatable',
      )
        .argParser(collectTopicSpec)
        .conflicts('allTopics'),
    )
    .option('--all-topics', 'reset every partition the group has a committed offset for')
    .addOption(targetOption('--to-earliest', "each partition's log start offset", 'to-earliest'))
    .addOption(
      targetOption('--to-latest', "each partition's log end (high watermark)", 'to-latest'),
    )
    .addOption(
      targetOption(
        '--to-datetime <iso-8601>',
        'the first offset at or after this time (local time without a zone); the log end when none is',
        'to-datetime',
      ).argParser(parseDatetime),
    )
    .addOption(
      targetOption(
        '--to-offset <n>',
        'this offset, clamped into [log start, log end]',
        'to-offset',
      ).argParser(integerIn(0, Number.MAX_SAFE_INTEGER)),
    )
    .addOption(
      targetOption(
        '--shift-by <n>',
        'the committed offset plus n (negative: back), clamped into [log start, log end]',
        'shift-by',
      ).argParser(integerIn(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)),
    )
    .option('--execute', 'apply the new offsets (default: a dry run that changes nothing)')
    .option('--json', 'print JSON');
}

function registerResetOffsets(groups: Command, io: CliIo): void {
  const command = groups
    .command('reset-offsets')
    .description("compute and (with --execute) set a group's committed offsets")
    .argument('<group>', 'group id');
  addResetOptions(command).addHelpText(
    'after',
    `
Give --topic (repeatable) or --all-topics, and exactly one of --to-earliest, --to-latest,
--to-datetime, --to-offset and --shift-by. Without --execute nothing changes: the command prints
each partition's PREVIOUS and NEW offset. The group must have no active members (stop its
consumers first); otherwise the reset is refused, also as a dry run.

Examples:
  brook groups reset-offsets billing --topic orders --to-earliest
  brook groups reset-offsets billing --topic orders:0,2 --shift-by -100 --execute
  brook groups reset-offsets billing --all-topics --to-datetime 2024-05-01T00:00:00Z --execute`,
  );
  addBootstrapOption(command).action(async (groupId: string, options: ResetOptions) => {
    const topics = resetTopicsOf(options);
    const to = resetTargetOf(options);
    const execute = options.execute === true;
    await withAdmin(options, io, async (admin, bootstrap) => {
      const reset = await admin.resetOffsets(groupId, { topics, to, execute });
      await printReset(io, bootstrap, groupId, reset, options.json === true);
    });
  });
}

/** The reset's table (or JSON) on stdout, then one stderr line per partition not reset. */
async function printReset(
  io: CliIo,
  bootstrap: string,
  groupId: string,
  reset: ResetOffsetsResult,
  json: boolean,
): Promise<void> {
  const done = reset.results.filter((r) => r.error === undefined);
  if (json) {
    await write(io.stdout, formatJson({ groupId, ...reset }));
  } else if (reset.results.length === 0) {
    await write(io.stdout, `Group "${groupId}" has no committed offsets to reset.\n`);
  } else if (done.length > 0) {
    const rows = done.map((r) => [
      r.topic,
      String(r.partition),
      numberCell(r.previousOffset),
      String(r.newOffset),
    ]);
    await write(io.stdout, formatTable(['TOPIC', 'PARTITION', 'PREVIOUS', 'NEW'], rows));
    await write(io.stdout, resetSummary(groupId, reset.executed, done.length));
  }
  await reportFailures(
    io,
    reset.results.flatMap((r) =>
      r.error === undefined
        ? []
        : [`${r.topic}-${r.partition} not reset: ${describeError(r.error, bootstrap)}`],
    ),
  );
}

function resetSummary(groupId: string, executed: boolean, partitions: number): string {
  if (executed) {
    return `Reset the committed offsets of group "${groupId}" on ${partitions} partition(s).\n`;
  }
  return `Dry run: nothing was changed. Run the same command with --execute to apply these offsets to group "${groupId}".\n`;
}

function registerDelete(groups: Command, io: CliIo): void {
  const command = groups
    .command('delete')
    .description('delete consumer groups that have no active members, with their offsets')
    .argument('<group...>', 'group ids')
    .addHelpText(
      'after',
      `
A group with active members is not deleted (NON_EMPTY_GROUP): stop its consumers first.

Example:
  brook groups delete old-reporting`,
    );
  addBootstrapOption(command).action(async (groupIds: string[], options: BootstrapOptions) =>
    withAdmin(options, io, async (admin, bootstrap) => {
      const results = await admin.deleteGroups(groupIds);
      for (const result of results) {
        if (result.error === undefined) {
          await write(io.stdout, `Deleted group "${result.groupId}".\n`);
        }
      }
      await reportFailures(io, groupFailures(results, bootstrap));
    }),
  );
}
