/**
 * `brook consume TOPIC`: prints records, one per line, like kafka-console-consumer. Starts at the
 * end of each partition unless --from-beginning or --offset says otherwise, and runs until
 * --max-messages records, --timeout-ms without a new record, Ctrl-C, or a closed stdout.
 *
 * With --group G it is a member of consumer group G instead: the group's coordinator assigns
 * it partitions, each starts at the group's committed offset, and what it printed is committed
 * after printing (at-least-once: a crash between printing and committing prints a record again
 * in the next member, never skips one). On exit it leaves the group, so others take over at once.
 */
import { InvalidArgumentError, type Command } from 'commander';
import {
  Admin,
  BrokerError,
  Consumer,
  GroupConsumer,
  type ConsumerRecord,
  type SeekPosition,
  type TopicPartition,
} from '../../client/index.js';
import { UsageError, write, type CliIo } from '../output.js';
import { addBootstrapOption, bootstrapOf, integerIn } from './common.js';

interface ConsumeOptions {
  bootstrap?: string;
  group?: string;
  fromBeginning?: boolean;
  partition?: number;
  offset?: SeekPosition;
  maxMessages?: number;
  timeoutMs?: number;
  printKey?: boolean;
  printOffset?: boolean;
  printPartition?: boolean;
}

/** Parses --offset: a non-negative offset, 'earliest' or 'latest'. */
export function parseOffset(value: string): SeekPosition {
  if (value === 'earliest' || value === 'latest') return value;
  if (/^\d+$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  throw new InvalidArgumentError('must be an offset (a whole number), earliest or latest.');
}

/** One output line: optional partition, offset and key columns, then the value. */
export function formatRecord(record: ConsumerRecord, options: ConsumeOptions): string {
  let line = '';
  if (options.printPartition === true) line += `Partition:${record.partition}\t`;
  if (options.printOffset === true) line += `Offset:${record.offset}\t`;
  if (options.printKey === true)
    line += `${record.key === null ? 'null' : record.key.toString()}\t`;
  return line + (record.value === null ? 'null' : record.value.toString()) + '\n';
}

export function registerConsumeCommand(program: Command, io: CliIo): void {
  const command = program
    .command('consume')
    .description('print records of a topic, one per line')
    .argument('<topic>', 'topic to read')
    .option(
      '--group <group>',
      'consume as a member of this consumer group: partitions are assigned by the group, reading starts at its committed offsets, and printed records are committed',
    )
    .option(
      '--from-beginning',
      'start at the earliest record instead of the end (with --group: for partitions the group has no committed offset for)',
    )
    .option('--partition <n>', 'read only this partition (default: all)', integerIn(0, 2 ** 31 - 1))
    .option(
      '--offset <offset>',
      'start offset: a number, earliest or latest (needs --partition)',
      parseOffset,
    )
    .option(
      '--max-messages <n>',
      'exit after this many records',
      integerIn(1, Number.MAX_SAFE_INTEGER),
    )
    .option(
      '--timeout-ms <ms>',
      'exit (code 0) after this long without a new record',
      integerIn(1, 2 ** 31 - 1),
    )
    .option('--print-key', 'print each key before its value, tab-separated ("null" when none)')
    .option('--print-offset', 'print "Offset:N" before each record')
    .option('--print-partition', 'print "Partition:N" before each record')
    .addHelpText(
      'after',
      `
Examples:
  brook consume orders --from-beginning --max-messages 10
  brook consume orders --partition 2 --offset 1500 --print-offset --print-key
  brook consume orders --from-beginning --timeout-ms 2000 > orders.txt
  brook consume orders --group billing --from-beginning

With --group, several processes of one group share the topic's partitions; each record is
printed by one of them. A record is committed after it is printed, so a process killed between
the two prints it again in the next member (at-least-once). Ctrl-C leaves the group at once.`,
    );
  addBootstrapOption(command).action((topic: string, options: ConsumeOptions) =>
    runConsume(topic, options, io),
  );
}

/** The partitions to read: the one asked for, or all of the topic (which must exist). */
async function partitionsOf(
  topic: string,
  options: ConsumeOptions,
  bootstrap: string,
): Promise<TopicPartition[]> {
  const admin = new Admin({ bootstrap, retries: 2 });
  try {
    const metadata = await admin.metadata([topic]);
    const found = metadata.topics.find((t) => t.name === topic);
    if (found === undefined || found.error !== undefined) {
      if (found?.error !== undefined && found.error.code !== 'UNKNOWN_TOPIC_OR_PARTITION') {
        throw found.error;
      }
      throw new BrokerError('UNKNOWN_TOPIC_OR_PARTITION', `topic "${topic}" does not exist`);
    }
    const count = found.partitions.length;
    if (options.partition === undefined) {
      return found.partitions.map((p) => ({ topic, partition: p.partition }));
    }
    if (options.partition >= count) {
      throw new BrokerError(
        'UNKNOWN_TOPIC_OR_PARTITION',
        `topic "${topic}" has no partition ${options.partition} (it has ${count})`,
      );
    }
    return [{ topic, partition: options.partition }];
  } finally {
    await admin.close();
  }
}

async function runConsume(topic: string, options: ConsumeOptions, io: CliIo): Promise<void> {
  if (options.group !== undefined) {
    await runGroupConsume(topic, options.group, options, io);
    return;
  }
  if (options.offset !== undefined && options.partition === undefined) {
    throw new UsageError('consume: --offset needs --partition');
  }
  if (options.offset !== undefined && options.fromBeginning === true) {
    throw new UsageError('consume: give --offset or --from-beginning, not both');
  }
  const bootstrap = bootstrapOf(options, io);
  const partitions = await partitionsOf(topic, options, bootstrap);
  const start: SeekPosition =
    options.offset ?? (options.fromBeginning === true ? 'earliest' : 'latest');
  const consumer = new Consumer({
    bootstrap,
    autoOffsetReset: options.fromBeginning === true ? 'earliest' : 'latest',
  });
  let count = 0;
  const stop = (): void => void consumer.close();
  const idle = idleTimer(options.timeoutMs, stop);
  process.once('SIGINT', stop);
  io.stdout.once('error', stop);
  try {
    consumer.assign(partitions);
    await Promise.all(partitions.map((tp) => consumer.seek(tp, start)));
    idle.touch();
    for await (const record of consumer) {
      idle.touch();
      await write(io.stdout, formatRecord(record, options));
      count++;
      if (options.maxMessages !== undefined && count >= options.maxMessages) break;
    }
  } finally {
    idle.cancel();
    process.off('SIGINT', stop);
    io.stdout.off('error', stop);
    await consumer.close();
  }
  await write(io.stderr, `Processed a total of ${count} messages.\n`);
}

/**
 * `consume --group`: a GroupConsumer that prints, then commits what it printed (commitAsync,
 * merged while one is in flight). A revocation commits first, so the next owner of a partition
 * starts after the last printed record; close() (on exit) revokes everything the same way and
 * leaves the group. Stopping never interrupts a record: Ctrl-C while one is being printed ends
 * the loop after it.
 */
async function runGroupConsume(
  topic: string,
  groupId: string,
  options: ConsumeOptions,
  io: CliIo,
): Promise<void> {
  if (options.partition !== undefined || options.offset !== undefined) {
    throw new UsageError('consume: --group assigns partitions; drop --partition and --offset');
  }
  const bootstrap = bootstrapOf(options, io);
  // Fail fast, as without --group, rather than wait for a topic that does not exist.
  await partitionsOf(topic, {}, bootstrap);
  let failedCommits = 0;
  const consumer: GroupConsumer = new GroupConsumer({
    bootstrap,
    groupId,
    clientId: 'brook-cli',
    autoOffsetReset: options.fromBeginning === true ? 'earliest' : 'latest',
    enableAutoCommit: false,
    // A failed commit here must not stop the command: the partition just moves uncommitted.
    onPartitionsRevoked: () =>
      consumer.commit().catch(() => {
        failedCommits++;
      }),
  });
  let count = 0;
  let isPrinting = false;
  let isStopping = false;
  const stop = (): void => {
    isStopping = true;
    if (!isPrinting) void consumer.close();
  };
  const idle = idleTimer(options.timeoutMs, stop);
  process.once('SIGINT', stop);
  io.stdout.once('error', stop);
  try {
    consumer.subscribe([topic]);
    idle.touch();
    for await (const record of consumer) {
      isPrinting = true;
      idle.touch();
      await write(io.stdout, formatRecord(record, options));
      count++;
      consumer.commitAsync((error) => {
        if (error !== null) failedCommits++;
      });
      isPrinting = false;
      if (isStopping) break;
      if (options.maxMessages !== undefined && count >= options.maxMessages) break;
    }
  } finally {
    idle.cancel();
    process.off('SIGINT', stop);
    io.stdout.off('error', stop);
    await consumer.close();
  }
  if (failedCommits > 0) {
    await write(
      io.stderr,
      `brook: ${failedCommits} offset commit(s) failed; the group's next member may print some records again\n`,
    );
  }
  await write(io.stderr, `Processed a total of ${count} messages.\n`);
}

/**
 * Calls `onIdle` once `timeoutMs` has passed since the last touch(). One timer, re-armed only
 * when it fires early, so touching per record costs a clock read, not a timer.
 */
function idleTimer(
  timeoutMs: number | undefined,
  onIdle: () => void,
): { touch(): void; cancel(): void } {
  let lastTouchMs = Date.now();
  let timer: NodeJS.Timeout | null = null;
  const arm = (delayMs: number): void => {
    timer = setTimeout(() => {
      const idleMs = Date.now() - lastTouchMs;
      if (timeoutMs !== undefined && idleMs >= timeoutMs) onIdle();
      else if (timeoutMs !== undefined) arm(timeoutMs - idleMs);
    }, delayMs);
  };
  return {
    touch(): void {
      lastTouchMs = Date.now();
      if (timer === null && timeoutMs !== undefined) arm(timeoutMs);
    },
    cancel(): void {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
