/**
 * The recorded history of a fault run: every client operation as an invoke followed by its
 * completion (ok, fail or info), and every nemesis action, in the order they happened, one
 * JSON object per line on disk. Workloads and checkers meet only here, so a new workload (consumer
 * groups, idempotent producers) adds its own `f` values and a checker for them.
 *
 * Completion types, as in Jepsen: `ok` the operation took effect; `fail` it certainly did not
 * (the broker refused it before appending: NOT_ENOUGH_REPLICAS, NOT_LEADER_OR_FOLLOWER, ...);
 * `info` the outcome is unknown (a timeout, a lost connection, NOT_ENOUGH_REPLICAS_AFTER_APPEND:
 * the write may or may not be in the log).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';

export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

/** Every history entry. `f` names the operation; `value` is the workload's own. */
export interface Op<F extends string = string, V = unknown> {
  /** Position in the history, from 0. */
  readonly index: number;
  /** Milliseconds since the run started (monotonic clock, fractional). */
  readonly timeMs: number;
  /** Who did it: a client ("producer-2", "reader-0", "final") or "nemesis". */
  readonly process: string;
  readonly type: OpType;
  readonly f: F;
  readonly value: V;
}

// The queue workload (workload/queue.ts): producers send unique values, readers poll.

/** send: invoke {partition, value}; ok adds offset; fail and info add error. */
export interface SendValue {
  readonly partition: number;
  /** Unique in the run: "<process>-<sequence>". */
  readonly value: string;
  readonly offset?: number;
  readonly error?: string;
}

/**
 * poll (a reader) and final-poll (the read of everything after healing): invoke {partition,
 * offset}; ok adds the records read, in order, as [offset, value] pairs; fail and info add error.
 */
export interface PollValue {
  readonly partition: number;
  /** The offset the poll asked to start at. */
  readonly offset: number;
  readonly records?: ReadonlyArray<readonly [number, string]>;
  readonly highWatermark?: number;
  readonly error?: string;
}

/**
 * assign: a reader (re)positions itself on a partition, after a start or an error; checks of
 * successive polls (skips, going backwards) restart after it. Recorded as a single ok.
 */
export interface AssignValue {
  readonly partition: number;
  readonly offset: number;
}

// The group workload (workload/groups.ts): producers send as in the queue workload; members of
// one consumer group consume and commit; an observer reads the committed offsets.

/**
 * assigned, revoked, lost: a member's ownership changed, recorded as one ok op by the member's
 * process. `atMs` is when it happened on the member's clock (epoch ms; every process of a run
 * shares the machine's clock): from it the member may hand out records of these partitions
 * (assigned), or no longer does (revoked, lost; for a loss by session expiry, the moment its
 * session ran out, after which it handed out nothing).
 */
export interface OwnershipValue {
  readonly partitions: readonly number[];
  readonly atMs: number;
}

/** consume: a member handed a record to its application; one ok op. */
export interface ConsumeValue {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
  readonly atMs: number;
}

/**
 * committed: the observer's read of the group's committed offsets (OffsetFetch), ok with
 * [partition, offset] pairs (-1: none yet), in the order the reads completed; info with error
 * (and no offsets) when a read failed. The final reads (process "final") come after the
 * observer's.
 */
export interface CommittedValue {
  readonly offsets: ReadonlyArray<readonly [number, number]>;
  readonly error?: string;
}

/**
 * member-crash: a member process died at `atMs` (epoch ms), one info op, recorded once its
 * output is drained (no op of it follows): SIGKILLed by the harness, or, with `reason`, it exited
 * by itself.
 */
export interface MemberCrashValue {
  readonly atMs: number;
  readonly reason?: string;
}

/**
 * What the harness did to a member, one info op each, by the member's process, at `atMs`:
 * member-start (a new process), member-pause (SIGSTOP), member-resume (SIGCONT), member-leave
 * (asked to close its consumer, leaving the group), member-join (asked to join again).
 */
export interface MemberActionValue {
  readonly atMs: number;
}

/**
 * commit: a member's commit of everything it had processed, one op when it completed: ok, or
 * fail/info with error (info when its outcome is unknown: a timeout).
 */
export interface CommitValue {
  readonly offsets: ReadonlyArray<readonly [number, number]>;
  readonly error?: string;
}

/** member-error: an error a member's consumer reported (it reads on); one info op. */
export interface MemberErrorValue {
  readonly error: string;
}

export type OwnershipOp = Op<'assigned' | 'revoked' | 'lost', OwnershipValue>;
export type ConsumeOp = Op<'consume', ConsumeValue>;
export type CommittedOp = Op<'committed', CommittedValue>;
export type MemberCrashOp = Op<'member-crash', MemberCrashValue>;
export const MEMBER_ACTIONS = [
  'member-start',
  'member-pause',
  'member-resume',
  'member-leave',
  'member-join',
] as const;
export type MemberAction = (typeof MEMBER_ACTIONS)[number];
export type MemberActionOp = Op<MemberAction, MemberActionValue>;
export type CommitOp = Op<'commit', CommitValue>;
export type MemberErrorOp = Op<'member-error', MemberErrorValue>;

/** Nemesis entries are `info`, f = the fault ("kill", "pause", "partition", ...). */
export interface NemesisValue {
  readonly phase: 'start' | 'heal';
  /** Node ids the fault touches. */
  readonly nodes: readonly number[];
  /** What exactly was done, for people ("isolate node 2 from 0,1,3,4", "SIGSTOP pid 123"). */
  readonly detail: string;
}

export type SendOp = Op<'send', SendValue>;
export type PollOp = Op<'poll' | 'final-poll', PollValue>;
export type AssignOp = Op<'assign', AssignValue>;
export type NemesisOp = Op<string, NemesisValue>;

export const NEMESIS_PROCESS = 'nemesis';

/** Appends ops to a JSON-lines file as they happen; the in-memory copy serves the checkers. */
export class HistoryRecorder {
  private readonly ops: Op[] = [];
  private readonly out: WriteStream;
  private readonly startedAt = process.hrtime.bigint();

  constructor(readonly file: string) {
    this.out = createWriteStream(file, { flags: 'wx' });
  }

  /** Records one op now and returns it. */
  record<F extends string, V>(processName: string, type: OpType, f: F, value: V): Op<F, V> {
    const op: Op<F, V> = {
      index: this.ops.length,
      timeMs: this.nowMs(),
      process: processName,
      type,
      f,
      value,
    };
    this.ops.push(op);
    this.out.write(JSON.stringify(op) + '\n');
    return op;
  }

  /** Milliseconds since the recorder started, on the clock ops are stamped with. */
  nowMs(): number {
    return Number(process.hrtime.bigint() - this.startedAt) / 1e6;
  }

  get history(): readonly Op[] {
    return this.ops;
  }

  async close(): Promise<void> {
    this.out.end();
    await once(this.out, 'finish');
  }
}

/** Reads a history file back (a checker run on a saved folder). */
export async function readHistory(file: string): Promise<Op[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as Op;
      } catch {
        throw new Error(`${file}:${i + 1}: not a JSON history entry`);
      }
    });
}

/** The harness's progress line: sends acknowledged and failed so far, records consumed. */
export function progressLine(history: HistoryRecorder): string {
  let ok = 0;
  let failed = 0;
  let consumed = 0;
  for (const op of history.history) {
    if (op.f === 'consume') consumed++;
    if (op.f !== 'send') continue;
    if (op.type === 'ok') ok++;
    else if (op.type === 'fail' || op.type === 'info') failed++;
  }
  const consumes = consumed > 0 ? `, ${consumed} records consumed` : '';
  return `${(history.nowMs() / 1000).toFixed(0)} s: ${ok} sends acknowledged, ${failed} failed or unknown${consumes}`;
}
