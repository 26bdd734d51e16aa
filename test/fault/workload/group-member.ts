/**
 * One member of the groups workload's consumer group (groups.ts), in its own process so the
 * harness can SIGKILL, SIGSTOP and restart it: one GroupConsumer of the SDK, subscribed to the
 * workload's topic, with manual commits, printing what it does as JSON lines on stdout
 * (member-protocol.ts) and taking commands on stdin (leave, join, stop).
 *
 * "Processing" a record is printing its consume line: stdout to a pipe is synchronous on Linux,
 * so a printed record is in the pipe before anything else happens, even if the process is
 * killed right after. The consume line's atMs is read just before the record is handed to that
 * processing, on the clock of the SDK's RebalanceInfo.
 *
 * Commit modes (MemberSettings.commit):
 * - after (at-least-once): a record is processed as it is handed out; commitAsync() every
 *   commitIntervalMs commits everything handed out (so processed) so far, and the revoke
 *   callback commits before the partitions go. A crash replays what was not committed yet.
 * - before (at-most-once, the negative control): each record is committed as it is handed out
 *   and processed processLagMs later; a crash loses what was committed and not yet processed.
 *
 * Pauses: asked to `freeze`, the member sends itself SIGSTOP at once, from its stdin handler,
 * and the harness sends SIGCONT later. A stop from outside could fall between the SDK handing a
 * record out (its session still running) and the application reading the clock for it: the
 * record would then look handed out after the loss. No client can close that window (the same
 * freeze may hit any application between receiving a record and acting on it), so the harness
 * does not open it: a stop between two turns of the event loop is otherwise the same freeze.
 *
 * Usage: node group-member.js '<MemberSettings as JSON>'. Exits 0 after `stop` (or when stdin
 * closes: the harness is gone), 1 after a fatal consumer error.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BrokerError,
  GroupConsumer,
  type CommitOffset,
  type RebalanceInfo,
  type TopicPartition,
} from '../../../src/client/index.js';
import {
  nowMs,
  type MemberCommand,
  type MemberEvent,
  type MemberSettings,
} from './member-protocol.js';

/** Pause after an error the consumer reported, before reading on. */
const ERROR_BACKOFF_MS = 100;

const settings = JSON.parse(process.argv[2] ?? '{}') as MemberSettings;

function print(event: MemberEvent): void {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function partitionsOf(partitions: readonly TopicPartition[]): number[] {
  return partitions.map((tp) => tp.partition);
}

/**
 * Commits everything handed out so far and prints the outcome; resolves when it is known. A
 * refusal from the group (a BrokerError) did not take effect; any other failure may have.
 */
function commit(consumer: GroupConsumer): Promise<void> {
  return new Promise((resolve) => {
    consumer.commitAsync((error: unknown, offsets: readonly CommitOffset[]) => {
      const pairs = offsets.map((o) => [o.partition, o.offset] as const);
      if (error === null) {
        if (pairs.length > 0) print({ event: 'commit', offsets: pairs });
      } else {
        const isUnknown = !(error instanceof BrokerError);
        print({ event: 'commit', offsets: pairs, error: describe(error), isUnknown });
      }
      resolve();
    });
  });
}

/** One GroupConsumer from subscribe to close: a member id for one stay in the group. */
class Membership {
  private readonly consumer: GroupConsumer;
  private readonly reading: Promise<void>;
  private readonly commitTimer: NodeJS.Timeout | null = null;
  /** Records handed out since the last periodic commit began (commit mode after). */
  private isDirty = false;
  /** Processing still to come (commit mode before). */
  private readonly processing = new Set<Promise<void>>();
  private closing: Promise<void> | null = null;

  constructor() {
    this.consumer = new GroupConsumer({
      bootstrap: [...settings.bootstrap],
      groupId: settings.groupId,
      clientId: settings.name,
      sessionTimeoutMs: settings.sessionTimeoutMs,
      requestTimeoutMs: settings.requestTimeoutMs,
      autoOffsetReset: 'earliest',
      enableAutoCommit: false,
      fetchMaxWaitMs: 200,
      onPartitionsAssigned: (partitions, info: RebalanceInfo) => {
        print({ event: 'assigned', partitions: partitionsOf(partitions), atMs: info.atMs });
      },
      // Still owned here: the commit lands before the coordinator hears they are gone.
      onPartitionsRevoked: async (partitions, info: RebalanceInfo) => {
        print({ event: 'revoked', partitions: partitionsOf(partitions), atMs: info.atMs });
        await commit(this.consumer);
      },
      onPartitionsLost: (partitions, info: RebalanceInfo) => {
        print({ event: 'lost', partitions: partitionsOf(partitions), atMs: info.atMs });
      },
    });
    this.consumer.subscribe([settings.topic]);
    if (settings.commit === 'after') {
      this.commitTimer = setInterval(() => this.commitProcessed(), settings.commitIntervalMs);
    }
    this.reading = this.read();
  }

  /** Leaves the group: revokes (committing), then the leave heartbeat; processing finishes. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.commitTimer !== null) clearInterval(this.commitTimer);
      await this.consumer.close();
      await this.reading;
      await Promise.all(this.processing);
    })();
    return this.closing;
  }

  private async read(): Promise<void> {
    while (this.closing === null) {
      try {
        for await (const record of this.consumer) {
          const atMs = nowMs();
          const event: MemberEvent = {
            event: 'consume',
            partition: record.partition,
            offset: record.offset,
            value: record.value?.toString('utf8') ?? '',
            atMs,
          };
          if (settings.commit === 'after') {
            print(event);
            this.isDirty = true;
          } else {
            // At-most-once: committed before it is processed.
            void commit(this.consumer);
            this.processLater(event);
          }
        }
      } catch (error: unknown) {
        print({ event: 'error', error: describe(error) });
        if (this.consumer.phase === 'failed') {
          // Fatal (e.g. the broker refused the session timeout): every later read throws it.
          process.exit(1);
        }
        await sleep(ERROR_BACKOFF_MS);
      }
    }
  }

  private commitProcessed(): void {
    if (!this.isDirty || this.consumer.phase !== 'member') return;
    this.isDirty = false;
    void commit(this.consumer);
  }

  private processLater(event: MemberEvent): void {
    const done: Promise<void> = sleep(settings.processLagMs).then(() => {
      print(event);
      this.processing.delete(done);
    });
    this.processing.add(done);
  }
}

let membership: Membership | null = new Membership();
let commands: Promise<void> = Promise.resolve();

async function handle(command: MemberCommand): Promise<void> {
  switch (command.cmd) {
    case 'leave':
      if (membership === null) return;
      await membership.close();
      membership = null;
      print({ event: 'left', atMs: nowMs() });
      return;
    case 'join':
      membership ??= new Membership();
      return;
    case 'stop':
      await membership?.close();
      process.exit(0);
      return;
    case 'freeze':
      freeze();
      return;
  }
}

/** Stops this process now, between two turns of the event loop (see the file comment). */
function freeze(): void {
  print({ event: 'freezing', atMs: nowMs() });
  process.kill(process.pid, 'SIGSTOP');
}

// Commands run one at a time, in order; a freeze at once.
const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  let command: MemberCommand;
  try {
    command = JSON.parse(line) as MemberCommand;
  } catch {
    return;
  }
  if (command.cmd === 'freeze') freeze();
  else commands = commands.then(() => handle(command));
});
// The harness is gone (or closed our stdin): nobody would read what we print.
input.on('close', () => process.exit(0));
process.on('unhandledRejection', (error) => {
  print({ event: 'error', error: `unhandled rejection: ${describe(error)}` });
  process.exit(1);
});
