/**
 * The group benchmark's consumers, each in its own child process (group-member-child.ts): a
 * group member or the single-consumer yardstick. The benchmark keeps what each one reported
 * (ownership changes and first records as MemberEvents, the latest progress), can start it
 * reading, close it gracefully, or SIGKILL it, and stops every one on every way out
 * (killGroupMembers() from the exit handlers).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type {
  ConsumeProgress,
  FirstRecordEvent,
  MemberEvent,
  MemberView,
  OwnershipEvent,
} from './group-events.js';

/** What a child is told to be. */
export interface MemberChildConfig {
  /** 'group': a GroupConsumer of `groupId`; 'single': one Consumer assigned every partition. */
  readonly mode: 'group' | 'single';
  /** Its name in the report, and its clientId. */
  readonly name: string;
  readonly bootstrap: string;
  readonly groupId: string;
  readonly topic: string;
  readonly partitionCount: number;
  readonly sessionTimeoutMs: number;
  readonly autoCommitIntervalMs: number;
  /** Wait for go() before reading (the throughput phases); otherwise read at once. */
  readonly waitForGo: boolean;
  /** Per partition, the offset after its last record: progress goes out when one is reached. */
  readonly endOffsets: readonly number[] | null;
}

export type ParentMessage =
  | { readonly type: 'start'; readonly config: MemberChildConfig }
  | { readonly type: 'go' }
  | { readonly type: 'close' };

export type ChildMessage =
  | { readonly type: 'ready'; readonly memberId: string | null; readonly atMs: number }
  | OwnershipEvent
  | FirstRecordEvent
  | { readonly type: 'progress'; readonly progress: ConsumeProgress; readonly atMs: number }
  | { readonly type: 'closing'; readonly atMs: number }
  | { readonly type: 'closed'; readonly atMs: number }
  | { readonly type: 'error'; readonly message: string; readonly atMs: number };

/** How long a child may take to report ready. */
const READY_TIMEOUT_MS = 30_000;
/** How long a closing child may take to exit before SIGKILL (GroupConsumer.close() waits ≤ 30 s). */
const CLOSE_GRACE_MS = 35_000;
/** Events kept per member: a few per rebalance, so far more than any run makes. */
const EVENTS_MAX = 100_000;
/** Error messages kept per member (all are counted). */
const ERRORS_KEPT = 5;

const liveMembers = new Set<MemberProcess>();

/** Errors every consumer child of the run reported: counted, the first few kept. */
const runErrors: { count: number; readonly first: string[] } = { count: 0, first: [] };

/** What the consumer children of this run reported as errors, for the report's notes. */
export function consumerErrors(): { readonly count: number; readonly first: readonly string[] } {
  return { count: runErrors.count, first: [...runErrors.first] };
}

/** SIGKILLs every consumer child still running (synchronous, for exit paths). */
export function killGroupMembers(): void {
  for (const member of liveMembers) member.killNow();
  liveMembers.clear();
}

/** A consumer in a child process, and what it reported. */
export class MemberProcess {
  /** Ownership changes and first records, in the order the child sent them. */
  readonly events: MemberEvent[] = [];
  progress: ConsumeProgress | null = null;
  /** The GroupConsumer's member id (null for the single consumer). */
  memberId: string | null = null;
  /** When the child said it calls close(), on its clock; null before. */
  closingAtMs: number | null = null;
  closedAtMs: number | null = null;
  errorCount = 0;
  readonly errors: string[] = [];
  private isReady = false;
  private hasExited = false;
  private readonly exited: Promise<void>;
  /** Woken (and removed) on every message and on exit: see waitUntil(). */
  readonly waiters = new Set<() => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly name: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        this.hasExited = true;
        liveMembers.delete(this);
        this.notify();
        resolve();
      });
    });
    child.on('message', (message: ChildMessage) => this.onMessage(message));
    // A failed signal or IPC send: noted; the exit (or the wait's deadline) ends what waits.
    child.on('error', (error) => this.noteError(`process: ${error.message}`));
  }

  /** Forks the child, configures it, and resolves once it is ready (subscribed or assigned). */
  static async start(config: MemberChildConfig): Promise<MemberProcess> {
    const script = fileURLToPath(new URL('./group-member-child.js', import.meta.url));
    // stdout ignored: nothing may mix into --json; the SDK's own complaints go to stderr.
    const child = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    if (child.pid === undefined) throw new Error('could not start a consumer child process');
    const member = new MemberProcess(child, child.pid, config.name);
    liveMembers.add(member);
    member.send({ type: 'start', config });
    const isReady = await member.waitFor(
      () => member.isReady || member.hasExited,
      Date.now() + READY_TIMEOUT_MS,
    );
    if (!isReady || member.hasExited) {
      const why = member.errors[0] ?? (member.hasExited ? 'it exited' : 'no answer');
      await member.stop();
      throw new Error(
        `consumer ${config.name} did not get ready within ${READY_TIMEOUT_MS} ms: ${why}`,
      );
    }
    return member;
  }

  get isAlive(): boolean {
    return !this.hasExited;
  }

  view(): MemberView {
    return { name: this.name, events: this.events };
  }

  /** Starts reading (a child started with waitForGo). */
  go(): void {
    this.send({ type: 'go' });
  }

  /** SIGKILL; resolves with the wall-clock time taken just before the signal, once it exited. */
  async kill(): Promise<number> {
    const atMs = Date.now();
    this.child.kill('SIGKILL');
    await this.exited;
    return atMs;
  }

  /**
   * Asks the child to close() its consumer; resolves with the time it took just before the
   * call (its clock), or null if it never said so by `deadlineMs`. It exits once close() ends.
   */
  async close(deadlineMs: number): Promise<number | null> {
    this.send({ type: 'close' });
    await this.waitFor(() => this.closingAtMs !== null || this.hasExited, deadlineMs);
    return this.closingAtMs;
  }

  /** Graceful close, SIGKILL after CLOSE_GRACE_MS; resolves once the process is gone. Idempotent. */
  async stop(): Promise<void> {
    if (this.hasExited) return;
    this.send({ type: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), CLOSE_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** Resolves once the process is gone, or false at `deadlineMs`. */
  async waitExit(deadlineMs: number): Promise<boolean> {
    return this.waitFor(() => this.hasExited, deadlineMs);
  }

  /** Last resort at exit: synchronous, no waiting. */
  killNow(): void {
    if (!this.hasExited) this.child.kill('SIGKILL');
  }

  /**
   * Waits until `condition` holds (checked on every message from the child and every 50 ms),
   * or `deadlineMs`; returns whether it held.
   */
  waitFor(condition: () => boolean, deadlineMs: number): Promise<boolean> {
    return waitUntil(condition, deadlineMs, [this.waiters]);
  }

  private send(message: ParentMessage): void {
    if (this.hasExited || !this.child.connected) return;
    this.child.send(message, (error) => {
      // A child gone meanwhile: its exit handler reports it.
      if (error !== null) this.noteError(`IPC: ${error.message}`);
    });
  }

  private onMessage(message: ChildMessage): void {
    switch (message.type) {
      case 'ready':
        this.memberId = message.memberId;
        this.isReady = true;
        break;
      case 'assigned':
      case 'revoked':
      case 'lost':
      case 'first-record':
        if (this.events.length < EVENTS_MAX) this.events.push(message);
        break;
      case 'progress':
        this.progress = message.progress;
        break;
      case 'closing':
        this.closingAtMs = message.atMs;
        break;
      case 'closed':
        this.closedAtMs = message.atMs;
        break;
      case 'error':
        this.noteError(message.message);
        break;
    }
    this.notify();
  }

  private noteError(message: string): void {
    this.errorCount++;
    if (this.errors.length < ERRORS_KEPT) this.errors.push(message);
    runErrors.count++;
    if (runErrors.first.length < ERRORS_KEPT) runErrors.first.push(`${this.name}: ${message}`);
  }

  private notify(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

/** How often a wait re-checks its condition when nothing reports. */
const WAIT_POLL_MS = 50;

/**
 * Waits until `condition` holds or `deadlineMs` (wall clock) passes; re-checked whenever one of
 * `waiterSets` wakes its entries (a member's message) and every WAIT_POLL_MS. Returns whether
 * it held.
 */
export async function waitUntil(
  condition: () => boolean,
  deadlineMs: number,
  waiterSets: readonly Set<() => void>[] = [],
): Promise<boolean> {
  while (!condition()) {
    const leftMs = deadlineMs - Date.now();
    if (leftMs <= 0) return condition();
    await pause(Math.min(WAIT_POLL_MS, leftMs), waiterSets);
  }
  return true;
}

/** Resolves after `ms`, or earlier when one of `waiterSets` wakes its entries. */
export function pause(ms: number, waiterSets: readonly Set<() => void>[] = []): Promise<void> {
  return new Promise<void>((resolve) => {
    const wake = (): void => {
      clearTimeout(timer);
      for (const set of waiterSets) set.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, Math.max(0, ms));
    for (const set of waiterSets) set.add(wake);
  });
}
