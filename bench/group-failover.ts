/**
 * The failover trials of the group benchmark: under a steady acks=all load (one record to every
 * partition every --load-interval-ms), a stable group of members in child processes; one member
 * leaves (SIGKILL, or a graceful close()), and for each partition it owned the time from its
 * departure to the first record of that partition at another member is measured. Then a new
 * member takes the departed one's place and the next trial waits for a stable group.
 *
 * Times: a kill is stamped by the benchmark just before the signal, a close() by the member just
 * before the call, a record by the member that got it: all on the machine's wall clock.
 */
import { Producer } from '../src/client/index.js';
import { isTakenOver, ownedAfter, takeovers, type Takeover } from './group-events.js';
import { MemberProcess, pause, waitUntil } from './group-members.js';
import { startCpuMeterOfSets, type CpuByProcesses } from './measure.js';
import { memberConfig, startMembers, waitForStable, type GroupContext } from './group-phases.js';

/** Quiet time between a stable group and the next departure (post-rebalance commits settle). */
const SETTLE_MS = 1_000;
/** Sends of the steady load unsettled at most; a tick beyond it is skipped (and counted). */
const LOAD_OUTSTANDING_MAX = 10_000;
/** Longest wait for the load's last sends to settle when it stops. */
const LOAD_DRAIN_MS = 10_000;
/** A trial is not started with less than this (plus two sessions) left before the deadline. */
const TRIAL_TIME_MIN_MS = 20_000;
/** How often the status line goes to stderr. */
const STATUS_INTERVAL_MS = 1_000;

export type DepartureKind = 'kill' | 'close';

/** One departure and how its partitions were taken over. */
export interface TrialResult {
  readonly kind: DepartureKind;
  readonly member: string;
  readonly pid: number;
  /** What it owned at the departure, ascending. */
  readonly partitions: readonly number[];
  /** The departure on the wall clock (ms since the epoch). */
  readonly startMs: number;
  /** close() only: how long the member's close() took (it leaves the group on the way). */
  readonly closeMs: number | null;
  readonly takeovers: readonly Takeover[];
  /** From the departure until the group was stable again with a new member in its place. */
  readonly restableMs: number;
}

/** What the steady load did over the failover phase. */
export interface LoadResult {
  readonly sent: number;
  readonly acked: number;
  readonly failed: number;
  readonly firstError: string | null;
  readonly skippedTicks: number;
  readonly seconds: number;
}

export interface FailoverRun {
  readonly coordinatorId: number;
  /**
   * CPU over the whole phase: set `brokers`; the members (started and stopped within it) are
   * the exited children; the bench (with the load's producer) is self.
   */
  readonly cpu: CpuByProcesses | null;
  readonly kills: readonly TrialResult[];
  readonly closes: readonly TrialResult[];
  readonly load: LoadResult;
}

/**
 * Starts the load and a new group of members (same group as the consume phase: they resume at
 * its committed offsets, the end of the preload), waits for a stable group that reads every
 * partition, then runs --kills kill trials and --closes close trials while time allows.
 */
export async function measureFailovers(
  ctx: GroupContext,
  groupId: string,
  pool: readonly Buffer[],
  deadlineMs: number,
  notes: string[],
): Promise<FailoverRun> {
  const { options } = ctx;
  const meter = await startCpuMeterOfSets({ brokers: ctx.brokerPids });
  const load = new SteadyLoad(ctx, pool);
  const status = new StatusLine();
  let members: MemberProcess[] = [];
  const kills: TrialResult[] = [];
  const closes: TrialResult[] = [];
  let coordinatorId = -1;
  try {
    members = await startMembers(ctx, groupId, 1, false);
    status.set(() => 'group failover: waiting for a stable group');
    coordinatorId = await waitForStable(ctx.bootstrap, groupId, members, {
      partitionCount: options.partitionCount,
      requireConsumption: true,
      deadlineMs,
    });
    const trial = new Trials(ctx, groupId, members, status, deadlineMs);
    const budgetMs = 2 * options.sessionTimeoutMs + TRIAL_TIME_MIN_MS;
    const plan: [DepartureKind, number, TrialResult[]][] = [
      ['kill', options.kills, kills],
      ['close', options.closes, closes],
    ];
    try {
      for (const [kind, count, results] of plan) {
        for (let i = 0; i < count; i++) {
          if (deadlineMs - Date.now() < budgetMs) {
            notes.push(`only ${results.length} of ${count} ${kind} trials fitted in --max-seconds`);
            break;
          }
          const result = await trial.run(kind, i, `${i + 1}/${count}`);
          results.push(result);
          process.stderr.write(`bench: ${describeTrial(result)}\n`);
        }
      }
    } catch (error: unknown) {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`bench: the failover trials ended early: ${message}\n`);
      notes.push(`the failover trials ended early: ${message.split('\n')[0]}`);
    } finally {
      members = trial.members;
    }
  } finally {
    status.stop();
    await load.stop();
    await Promise.all(members.map((m) => m.stop()));
  }
  const cpu = await meter();
  return { coordinatorId, cpu, kills, closes, load: load.result() };
}

/** The trials' shared state: the live members, in slots; a departed one's slot gets a new one. */
class Trials {
  readonly members: MemberProcess[];
  private nextName: number;

  constructor(
    private readonly ctx: GroupContext,
    private readonly groupId: string,
    members: readonly MemberProcess[],
    private readonly status: StatusLine,
    private readonly deadlineMs: number,
  ) {
    this.members = [...members];
    this.nextName = members.length + 1;
  }

  /** One departure of the member in slot `index` mod members, its takeover, its replacement. */
  async run(kind: DepartureKind, index: number, progress: string): Promise<TrialResult> {
    const { options } = this.ctx;
    await pause(SETTLE_MS);
    const slot = index % this.members.length;
    const victim = this.members[slot]!;
    const partitions = [...ownedAfter(victim.events).keys()].sort((a, b) => a - b);
    const others = this.members.filter((m) => m !== victim);
    const startMs = kind === 'kill' ? await victim.kill() : await victim.close(this.deadlineMs);
    if (startMs === null) throw new Error(`member ${victim.name} did not start its close()`);
    const current = (): Takeover[] =>
      takeovers(
        startMs,
        partitions,
        others.map((m) => m.view()),
      );
    this.status.set(() => {
      const waiting = current()
        .filter((t) => t.consumedAfterMs === null)
        .map((t) => `p${t.partition}`);
      const elapsedS = ((Date.now() - startMs) / 1_000).toFixed(1);
      return waiting.length === 0
        ? `group failover: ${kind} ${progress}, waiting for a stable group (${elapsedS} s)`
        : `group failover: ${kind} ${progress} of ${victim.name}, waiting for ${waiting.join(', ')} at the others (${elapsedS} s)`;
    });
    // A takeover later than a few sessions means something is broken; the trial reports it.
    const takeoverDeadlineMs = Math.min(
      startMs + 3 * options.sessionTimeoutMs + TRIAL_TIME_MIN_MS,
      this.deadlineMs + TRIAL_TIME_MIN_MS,
    );
    await waitUntil(
      () => isTakenOver(current()),
      takeoverDeadlineMs,
      others.map((m) => m.waiters),
    );
    const result = current();
    let closeMs: number | null = null;
    if (kind === 'close') {
      await victim.waitExit(Date.now() + 35_000);
      closeMs = victim.closedAtMs === null ? null : victim.closedAtMs - startMs;
      await victim.stop();
    }
    const replacement = await MemberProcess.start(
      memberConfig(this.ctx, 'group', `m${this.nextName++}`, this.groupId, false),
    );
    this.members[slot] = replacement;
    await waitForStable(this.ctx.bootstrap, this.groupId, this.members, {
      partitionCount: options.partitionCount,
      requireConsumption: true,
      deadlineMs: this.deadlineMs,
    });
    const restableMs = Date.now() - startMs;
    return {
      kind,
      member: victim.name,
      pid: victim.pid,
      partitions,
      startMs,
      closeMs,
      takeovers: result,
      restableMs,
    };
  }
}

/** One line per trial for stderr. */
export function describeTrial(t: TrialResult): string {
  const parts = t.takeovers.map((o) =>
    o.consumedAfterMs === null
      ? `p${o.partition} not taken over`
      : `p${o.partition} → ${o.member} after ${Math.round(o.consumedAfterMs)} ms`,
  );
  return `${t.kind} ${t.member} (pid ${t.pid}): ${parts.join(', ')}`;
}

/** The failover phase's load: one record to every partition every --load-interval-ms, acks=all. */
class SteadyLoad {
  private readonly producer: Producer;
  private readonly timer: NodeJS.Timeout;
  private readonly startMs = performance.now();
  private stopMs: number | null = null;
  private sent = 0;
  private acked = 0;
  private failed = 0;
  private firstError: string | null = null;
  private skippedTicks = 0;
  private outstanding = 0;
  private next = 0;

  constructor(
    private readonly ctx: GroupContext,
    private readonly pool: readonly Buffer[],
  ) {
    this.producer = new Producer({
      bootstrap: ctx.bootstrap,
      acks: 'all',
      lingerMs: 0,
      compression: 'none',
    });
    this.timer = setInterval(() => this.tick(), ctx.options.loadIntervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopMs ??= performance.now();
    await this.producer.flush().catch(() => undefined);
    await waitUntil(() => this.outstanding === 0, Date.now() + LOAD_DRAIN_MS);
    await this.producer.close();
  }

  result(): LoadResult {
    return {
      sent: this.sent,
      acked: this.acked,
      failed: this.failed,
      firstError: this.firstError,
      skippedTicks: this.skippedTicks,
      seconds: ((this.stopMs ?? performance.now()) - this.startMs) / 1_000,
    };
  }

  private tick(): void {
    if (this.outstanding >= LOAD_OUTSTANDING_MAX) {
      this.skippedTicks++;
      return;
    }
    for (let partition = 0; partition < this.ctx.options.partitionCount; partition++) {
      const value = this.pool[this.next++ % this.pool.length]!;
      this.outstanding++;
      this.sent++;
      this.producer.send({ topic: this.ctx.topic, partition, value }).then(
        () => {
          this.outstanding--;
          this.acked++;
        },
        (error: unknown) => {
          this.outstanding--;
          this.failed++;
          this.firstError ??= error instanceof Error ? error.message : String(error);
        },
      );
    }
  }
}

/** What the failover phase is waiting for, on stderr once a second. */
class StatusLine {
  private text: () => string = () => '';
  private readonly timer = setInterval(() => {
    const line = this.text();
    if (line !== '') process.stderr.write(`${line}\n`);
  }, STATUS_INTERVAL_MS);

  set(text: () => string): void {
    this.text = text;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
