/**
 * The harness's handle on one group member (group-member.ts): a child process in the root
 * namespace, where the clients run, started again under the same name after a crash. Its events
 * go into the history as they arrive (member-protocol.ts); what the harness does to it (start,
 * SIGKILL, SIGSTOP, SIGCONT, leave, join) is recorded too, by the member's name, at the time
 * (epoch ms on the members' clock) it happened.
 *
 * A death, expected or not, is recorded only once the member's output is drained, so no op of
 * the dead process follows its member-crash. stderr goes to `<runDir>/members/<name>.log`,
 * across restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type {
  HistoryRecorder,
  MemberAction,
  MemberActionValue,
  MemberCrashValue,
} from '../history.js';
import {
  nowMs,
  parseMemberEvent,
  recordMemberEvent,
  type MemberCommand,
  type MemberEvent,
  type MemberSettings,
} from './member-protocol.js';

const MEMBER_SCRIPT = fileURLToPath(new URL('./group-member.js', import.meta.url));

/**
 * running: in the group, or joining it; paused: stopped (SIGSTOP); left: closed its consumer,
 * the process waits for `join`; stopped: no process.
 */
export type MemberState = 'running' | 'paused' | 'left' | 'stopped';

export interface MemberProcessOptions {
  readonly settings: MemberSettings;
  readonly history: HistoryRecorder;
  /** stderr of every process of this member, appended. */
  readonly logFile: string;
  /** Every event, after it is recorded (the workload follows consumption). */
  readonly onEvent: (event: MemberEvent) => void;
  /** The process died by itself (recorded already); the workload decides what next. */
  readonly onUnexpectedExit: (member: MemberProcess) => void;
  readonly log: (line: string) => void;
}

export class MemberProcess {
  private stateNow: MemberState = 'stopped';
  private child: ChildProcess | null = null;
  /**
   * Resolves once the current process has exited and its stdout is drained, with the moment
   * its exit was seen.
   */
  private gone: Promise<number> = Promise.resolve(0);
  private isExitExpected = false;
  private isRecording = true;
  private leftWaiters: (() => void)[] = [];
  private freezeWaiters: ((atMs: number | null) => void)[] = [];
  /** Partitions the current process reports owning (assigned, not yet revoked or lost). */
  private readonly owned = new Set<number>();
  private readonly stderrLog: WriteStream;

  constructor(private readonly options: MemberProcessOptions) {
    this.stderrLog = createWriteStream(options.logFile, { flags: 'a' });
  }

  get name(): string {
    return this.options.settings.name;
  }

  get state(): MemberState {
    return this.stateNow;
  }

  /** How many partitions the member owns now, by its own reports. */
  get ownedCount(): number {
    return this.owned.size;
  }

  /** Starts a fresh process (a new member id); a no-op unless stopped. */
  start(): void {
    if (this.stateNow !== 'stopped') return;
    const child = spawn(process.execPath, [MEMBER_SCRIPT, JSON.stringify(this.options.settings)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.isExitExpected = false;
    this.stateNow = 'running';
    this.recordAction('member-start');
    this.stderrLog.write(
      `--- harness: started pid ${child.pid ?? '?'} at ${new Date().toISOString()}\n`,
    );
    child.stderr!.pipe(this.stderrLog, { end: false });
    // A broken pipe to a dead process is its death, handled below.
    child.stdin!.on('error', () => undefined);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => this.onLine(line));
    const drained = new Promise<void>((resolve) => lines.once('close', resolve));
    const exited = new Promise<{ atMs: number; how: string }>((resolve) => {
      child.once('exit', (code, signal) =>
        resolve({ atMs: nowMs(), how: signal ?? `code ${code}` }),
      );
    });
    this.gone = Promise.all([exited, drained]).then(([{ atMs, how }]) => {
      this.stderrLog.write(`--- harness: pid ${child.pid} exited (${how})\n`);
      this.child = null;
      this.stateNow = 'stopped';
      this.owned.clear();
      this.wakeLeftWaiters();
      this.wakeFreezeWaiters(null);
      if (!this.isExitExpected) {
        this.record<MemberCrashValue>('member-crash', {
          atMs,
          reason: `exited by itself (${how})`,
        });
        this.options.log(`${this.name} exited by itself (${how})`);
        this.options.onUnexpectedExit(this);
      }
      return atMs;
    });
  }

  /**
   * SIGKILL; resolves once the process is gone, with member-crash recorded at the moment its
   * exit was seen (after its death, well before the coordinator can have moved on).
   */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.isExitExpected = true;
    child.kill('SIGKILL');
    const atMs = await this.gone;
    this.record<MemberCrashValue>('member-crash', { atMs });
  }

  /**
   * Stops the process: asked to, it sends itself SIGSTOP between two turns of its event loop
   * (group-member.ts says why); one that does not within `timeoutMs` gets SIGSTOP from here.
   * Records member-pause at the moment it stopped.
   */
  async pause(timeoutMs: number): Promise<void> {
    const child = this.child;
    if (child === null || this.stateNow !== 'running') return;
    this.stateNow = 'paused';
    const frozen = new Promise<number | null>((resolve) => this.freezeWaiters.push(resolve));
    const timer = setTimeout(() => this.wakeFreezeWaiters(null), timeoutMs);
    this.send({ cmd: 'freeze' });
    const atMs = await frozen;
    clearTimeout(timer);
    if (this.child !== child) return;
    if (atMs === null) {
      this.options.log(`${this.name} did not stop itself within ${timeoutMs} ms: SIGSTOP`);
      child.kill('SIGSTOP');
    }
    this.record<MemberActionValue>('member-pause', { atMs: atMs ?? nowMs() });
  }

  resume(): void {
    if (this.child === null || this.stateNow !== 'paused') return;
    this.child.kill('SIGCONT');
    this.recordAction('member-resume');
    this.stateNow = 'running';
  }

  /** Asks the member to leave the group; resolves once it has (or `timeoutMs` passed). */
  async leave(timeoutMs: number): Promise<void> {
    if (this.stateNow !== 'running') return;
    const left = new Promise<void>((resolve) => this.leftWaiters.push(resolve));
    this.recordAction('member-leave');
    this.send({ cmd: 'leave' });
    this.stateNow = 'left';
    const timer = setTimeout(() => this.wakeLeftWaiters(), timeoutMs);
    await left;
    clearTimeout(timer);
  }

  /** Asks a member that left to join again (a new member id). */
  join(): void {
    if (this.stateNow !== 'left') return;
    this.recordAction('member-join');
    this.send({ cmd: 'join' });
    this.stateNow = 'running';
  }

  /** Back to running from any state: SIGCONT, join, or a fresh process. */
  heal(): void {
    this.resume();
    this.join();
    this.start();
  }

  /**
   * Leaves the group and exits (revoking and committing on the way); SIGKILL after `timeoutMs`
   * (recorded as a crash). Resolves once the process is gone.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.child === null) return;
    this.resume();
    this.isExitExpected = true;
    this.send({ cmd: 'stop' });
    const timer = setTimeout(() => {
      this.options.log(`${this.name} did not stop within ${timeoutMs} ms: SIGKILL`);
      void this.kill();
    }, timeoutMs);
    await this.gone;
    clearTimeout(timer);
  }

  /** SIGKILL without waiting or recording (exit paths). */
  killSync(): void {
    this.isExitExpected = true;
    this.child?.kill('SIGKILL');
  }

  /** Records nothing more: the history is about to close. */
  detach(): void {
    this.isRecording = false;
  }

  async closeLog(): Promise<void> {
    if (this.stderrLog.writableEnded) return;
    await new Promise<void>((resolve) => this.stderrLog.end(() => resolve()));
  }

  private onLine(line: string): void {
    const event = parseMemberEvent(line);
    if (event === null) {
      this.stderrLog.write(`--- harness: not an event on stdout: ${line.slice(0, 200)}\n`);
      return;
    }
    if (event.event === 'left') this.wakeLeftWaiters();
    if (event.event === 'freezing') this.wakeFreezeWaiters(event.atMs);
    if (event.event === 'assigned') for (const p of event.partitions) this.owned.add(p);
    if (event.event === 'revoked' || event.event === 'lost') {
      for (const p of event.partitions) this.owned.delete(p);
    }
    if (!this.isRecording) return;
    recordMemberEvent(this.options.history, this.name, event);
    this.options.onEvent(event);
  }

  private send(command: MemberCommand): void {
    this.child?.stdin?.write(JSON.stringify(command) + '\n');
  }

  private wakeFreezeWaiters(atMs: number | null): void {
    const waiters = this.freezeWaiters;
    this.freezeWaiters = [];
    for (const wake of waiters) wake(atMs);
  }

  private wakeLeftWaiters(): void {
    const waiters = this.leftWaiters;
    this.leftWaiters = [];
    for (const wake of waiters) wake();
  }

  private recordAction(f: MemberAction): void {
    this.record<MemberActionValue>(f, { atMs: nowMs() });
  }

  private record<V>(f: string, value: V): void {
    if (this.isRecording) this.options.history.record(this.name, 'info', f, value);
  }
}
