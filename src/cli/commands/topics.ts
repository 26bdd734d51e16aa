/**
 * `brook topics create|list|describe|delete|alter`: topic administration through the Admin
 * client. Per-topic failures are printed one line each on stderr and make the exit code 1.
 */
import type { Command } from 'commander';
import type { Admin } from '../../client/index.js';
import { BrokerError, type TopicDescription } from '../../client/index.js';
import {
  ExitError,
  UsageError,
  describeError,
  formatJson,
  formatTable,
  write,
  type CliIo,
} from '../output.js';
import {
  addBootstrapOption,
  collectConfig,
  collectList,
  integerIn,
  withAdmin,
  type BootstrapOptions,
} from './common.js';

/** Reports per-item errors, one line each; throws ExitError(1) when there was any. */
function reportItemErrors(
  io: CliIo,
  bootstrap: string,
  items: readonly { readonly error?: BrokerError | undefined }[],
): void {
  let failed = 0;
  for (const item of items) {
    if (item.error === undefined) continue;
    failed++;
    io.stderr.write(`brook: ${describeError(item.error, bootstrap)}\n`);
  }
  if (failed > 0) throw new ExitError(1);
}

function unknownTopic(name: string): BrokerError {
  return new BrokerError('UNKNOWN_TOPIC_OR_PARTITION', `topic "${name}" does not exist`);
}

/** Error for a topic result, phrased with the topic name when the code says it is missing. */
function topicError(name: string, error: BrokerError | undefined): BrokerError | undefined {
  if (error?.code === 'UNKNOWN_TOPIC_OR_PARTITION') return unknownTopic(name);
  return error;
}

export function registerTopicsCommand(program: Command, io: CliIo): void {
  const topics = program
    .command('topics')
    .description('create, list, describe, alter and delete topics');
  registerCreate(topics, io);
  registerList(topics, io);
  registerDescribe(topics, io);
  registerDelete(topics, io);
  registerAlter(topics, io);
}

function registerCreate(topics: Command, io: CliIo): void {
  const command = topics
    .command('create')
    .description('create one or more topics')
    .argument('<topic...>', 'topic names')
    .option(
      '--partitions <n>',
      "partition count (default: the broker's num.partitions)",
      integerIn(1, 10_000),
    )
    .option(
      '--replication-factor <n>',
      "replicas per partition (default: the broker's)",
      integerIn(1, 32),
    )
    .option('--config <key=value>', 'topic config, repeatable', collectConfig)
    .option('--if-not-exists', 'succeed when the topic already exists')
    .option('--validate-only', 'check the request without creating anything')
    .addHelpText(
      'after',
      `
Examples:
  brook topics create orders --partitions 6
  brook topics create audit --config retention.ms=604800000 --config retention.bytes=1073741824`,
    );
  addBootstrapOption(command).action(
    async (
      names: string[],
      options: BootstrapOptions & {
        partitions?: number;
        replicationFactor?: number;
        config?: Record<string, string>;
        ifNotExists?: boolean;
        validateOnly?: boolean;
      },
    ) =>
      withAdmin(options, io, async (admin, bootstrap) => {
        const results = await admin.createTopics(
          names.map((name) => ({
            name,
            ...(options.partitions !== undefined && { partitions: options.partitions }),
            ...(options.replicationFactor !== undefined && {
              replicationFactor: options.replicationFactor,
            }),
            configs: options.config ?? {},
          })),
          { validateOnly: options.validateOnly === true },
        );
        const failures = results.filter(
          (r) => !(options.ifNotExists === true && r.error?.code === 'TOPIC_ALREADY_EXISTS'),
        );
        for (const result of failures) {
          if (result.error !== undefined) continue;
          const verb = options.validateOnly === true ? 'Would create' : 'Created';
          await write(
            io.stdout,
            `${verb} topic "${result.name}" (${result.partitions} partitions, replication factor ${result.replicationFactor}).\n`,
          );
        }
        reportItemErrors(io, bootstrap, failures);
      }),
  );
}

function registerList(topics: Command, io: CliIo): void {
  const command = topics
    .command('list')
    .description('list topics with their partition counts')
    .option('--json', 'print JSON')
    .option('--include-internal', "include the broker's internal topics");
  addBootstrapOption(command).action(
    async (options: BootstrapOptions & { json?: boolean; includeInternal?: boolean }) =>
      withAdmin(options, io, async (admin) => {
        const metadata = await admin.metadata();
        const listed = metadata.topics
          .filter(
            (t) => t.error === undefined && (options.includeInternal === true || !t.isInternal),
          )
          .sort((a, b) => a.name.localeCompare(b.name));
        if (options.json === true) {
          await write(
            io.stdout,
            formatJson(
              listed.map((t) => ({
                name: t.name,
                topicId: t.topicId,
                partitions: t.partitions.length,
                replicationFactor: t.partitions[0]?.replicas.length ?? 0,
                internal: t.isInternal,
              })),
            ),
          );
          return;
        }
        const rows = listed.map((t) => [
          t.name,
          String(t.partitions.length),
          String(t.partitions[0]?.replicas.length ?? 0),
        ]);
        await write(io.stdout, formatTable(['TOPIC', 'PARTITIONS', 'REPLICATION'], rows));
      }),
  );
}

interface DescribedPartition {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: readonly number[];
  isr: readonly number[];
  logStartOffset: number;
  highWatermark: number;
}

interface DescribedTopic {
  name: string;
  topicId: string;
  internal: boolean;
  configs: Record<string, string>;
  partitions: DescribedPartition[];
}

/** Gathers what `describe` shows: metadata, the topic's own configs, and partition offsets. */
async function describeTopics(
  admin: Admin,
  found: readonly TopicDescription[],
): Promise<DescribedTopic[]> {
  const queries = found.flatMap((t) =>
    t.partitions.flatMap((p) => [
      { topic: t.name, partition: p.partition, spec: 'earliest' as const },
      { topic: t.name, partition: p.partition, spec: 'latest' as const },
    ]),
  );
  const [configs, offsets] = await Promise.all([
    admin.describeConfigs(found.map((t) => ({ type: 'topic' as const, name: t.name }))),
    admin.listOffsets(queries),
  ]);
  let next = 0;
  return found.map((t, i) => ({
    name: t.name,
    topicId: t.topicId,
    internal: t.isInternal,
    configs: Object.fromEntries(
      (configs[i]?.entries ?? [])
        .filter((entry) => entry.source === 'topic')
        .map((entry) => [entry.name, entry.value]),
    ),
    partitions: t.partitions.map((p) => {
      const earliest = offsets[next++];
      const latest = offsets[next++];
      return {
        partition: p.partition,
        leader: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicas,
        isr: p.isr,
        logStartOffset: earliest?.error === undefined ? (earliest?.offset ?? -1) : -1,
        highWatermark: latest?.error === undefined ? (latest?.offset ?? -1) : -1,
      };
    }),
  }));
}

function registerDescribe(topics: Command, io: CliIo): void {
  const command = topics
    .command('describe')
    .description('show partitions, leaders, replicas, offsets and configs of topics')
    .argument('[topic...]', 'topic names (default: all topics)')
    .option('--json', 'print JSON');
  addBootstrapOption(command).action(
    async (names: string[], options: BootstrapOptions & { json?: boolean }) =>
      withAdmin(options, io, async (admin, bootstrap) => {
        const metadata = await admin.metadata(names);
        const missing = metadata.topics.filter((t) => t.error !== undefined);
        const found = metadata.topics
          .filter((t) => t.error === undefined && (names.length > 0 || !t.isInternal))
          .sort((a, b) => a.name.localeCompare(b.name));
        const described = await describeTopics(admin, found);
        if (options.json === true) {
          await write(io.stdout, formatJson(described));
        } else {
          for (const topic of described) await write(io.stdout, renderTopic(topic));
        }
        reportItemErrors(
          io,
          bootstrap,
          missing.map((t) => ({ error: topicError(t.name, t.error) ?? unknownTopic(t.name) })),
        );
      }),
  );
}

function renderTopic(topic: DescribedTopic): string {
  const configs = Object.entries(topic.configs)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  const header =
    `Topic: ${topic.name}  TopicId: ${topic.topicId}  Partitions: ${topic.partitions.length}  ` +
    `ReplicationFactor: ${topic.partitions[0]?.replicas.length ?? 0}  Configs: ${configs || '-'}\n`;
  const rows = topic.partitions.map((p) => [
    String(p.partition),
    String(p.leader),
    String(p.leaderEpoch),
    p.replicas.join(','),
    p.isr.join(','),
    String(p.logStartOffset),
    String(p.highWatermark),
  ]);
  const table = formatTable(
    ['PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'LOG-START', 'HIGH-WATERMARK'],
    rows,
  );
  return header + table.replace(/^/gm, '  ').replace(/ +$/gm, '') + '\n';
}

function registerDelete(topics: Command, io: CliIo): void {
  const command = topics
    .command('delete')
    .description('delete topics and all their records')
    .argument('<topic...>', 'topic names');
  addBootstrapOption(command).action(async (names: string[], options: BootstrapOptions) =>
    withAdmin(options, io, async (admin, bootstrap) => {
      const results = await admin.deleteTopics(names);
      for (const result of results) {
        if (result.error === undefined) await write(io.stdout, `Deleted topic "${result.name}".\n`);
      }
      reportItemErrors(
        io,
        bootstrap,
        results.map((r) => ({ ...r, error: topicError(r.name, r.error) })),
      );
    }),
  );
}

function registerAlter(topics: Command, io: CliIo): void {
  const command = topics
    .command('alter')
    .description("change a topic's configs or grow its partition count")
    .argument('<topic>', 'topic name')
    .option('--config <key=value>', 'set a config, repeatable', collectConfig)
    .option(
      '--delete-config <key>',
      "remove the topic's own value of a config, repeatable",
      collectList,
    )
    .option('--partitions <n>', 'new total partition count (can only grow)', integerIn(1, 10_000))
    .addHelpText(
      'after',
      `
Examples:
  brook topics alter orders --config retention.ms=86400000
  brook topics alter orders --delete-config retention.ms --partitions 12`,
    );
  addBootstrapOption(command).action(
    async (
      name: string,
      options: BootstrapOptions & {
        config?: Record<string, string>;
        deleteConfig?: string[];
        partitions?: number;
      },
    ) => {
      const sets = Object.entries(options.config ?? {});
      const deletes = options.deleteConfig ?? [];
      if (sets.length === 0 && deletes.length === 0 && options.partitions === undefined) {
        throw new UsageError('topics alter: give --config, --delete-config or --partitions');
      }
      await withAdmin(options, io, async (admin, bootstrap) => {
        if (sets.length > 0 || deletes.length > 0) {
          const ops = [
            ...sets.map(([key, value]) => ({ name: key, value, op: 'set' as const })),
            ...deletes.map((key) => ({ name: key, op: 'delete' as const })),
          ];
          const results = await admin.alterConfigs([{ type: 'topic', name, ops }]);
          reportItemErrors(
            io,
            bootstrap,
            results.map((r) => ({ error: topicError(name, r.error) })),
          );
          await write(io.stdout, `Altered configs of topic "${name}".\n`);
        }
        if (options.partitions !== undefined) {
          const results = await admin.createPartitions([{ name, count: options.partitions }]);
          reportItemErrors(
            io,
            bootstrap,
            results.map((r) => ({ error: topicError(name, r.error) })),
          );
          await write(io.stdout, `Topic "${name}" now has ${options.partitions} partitions.\n`);
        }
      });
    },
  );
}
