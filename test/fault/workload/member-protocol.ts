/**
 * What a group member process (group-member.ts) and the groups workload (groups.ts) say to each
 * other: the member prints one JSON event per line on stdout, the workload writes one JSON
 * command per line to its stdin. Events become history ops (history.ts) here, in the order the
 * member printed them; times are the member's, in epoch ms as `performance.timeOrigin +
 * performance.now()` reads them (the SDK's RebalanceInfo clock), which every process of the
 * machine shares to within microseconds.
 *
 * Pure: no I/O, so the unit tests feed it lines.
 */
import type {
  CommitValue,
  ConsumeValue,
  HistoryRecorder,
  MemberErrorValue,
  OwnershipValue,
} from '../history.js';

/**
 * Member events. Not recorded as such: `left` (close() finished after a leave command) and
 * `freezing` (the member stops itself now, as asked: the harness records the pause).
 */
export type MemberEvent =
  | {
      readonly event: 'assigned' | 'revoked' | 'lost';
      readonly partitions: readonly number[];
      readonly atMs: number;
    }
  | {
      readonly event: 'consume';
      readonly partition: number;
      readonly offset: number;
      readonly value: string;
      readonly atMs: number;
    }
  | {
      readonly event: 'commit';
      readonly offsets: ReadonlyArray<readonly [number, number]>;
      /** Absent when the commit took effect. */
      readonly error?: string;
      /** The commit's outcome is unknown (a timeout, a lost connection): it may have landed. */
      readonly isUnknown?: boolean;
    }
  | { readonly event: 'error'; readonly error: string }
  | { readonly event: 'left' | 'freezing'; readonly atMs: number };

/**
 * Commands to a member: leave the group (close), join it again, close and exit, or stop itself
 * with SIGSTOP at once (the harness sends SIGCONT).
 */
export type MemberCommand =
  | { readonly cmd: 'leave' }
  | { readonly cmd: 'join' }
  | { readonly cmd: 'stop' }
  | { readonly cmd: 'freeze' };

/** What a member process is told at start, as its one argument (JSON). */
export interface MemberSettings {
  readonly name: string;
  readonly bootstrap: readonly string[];
  readonly groupId: string;
  readonly topic: string;
  readonly sessionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /**
   * after: at-least-once, records are processed when handed out and committed afterwards, every
   * commitIntervalMs and on revocation. before: at-most-once, the negative control: each record
   * is committed as it is handed out and processed processLagMs later, so a crash loses the
   * records in between.
   */
  readonly commit: 'after' | 'before';
  readonly commitIntervalMs: number;
  readonly processLagMs: number;
}

/** The epoch-ms clock of member events (see the file comment). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One line in, the event it carries; null for anything else (a stray line is not an event). */
export function parseMemberEvent(line: string): MemberEvent | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const e = parsed as Record<string, unknown>;
  switch (e.event) {
    case 'assigned':
    case 'revoked':
    case 'lost':
      return isNumberArray(e.partitions) && isNumber(e.atMs) ? (e as MemberEvent) : null;
    case 'consume':
      return isNumber(e.partition) &&
        isNumber(e.offset) &&
        typeof e.value === 'string' &&
        isNumber(e.atMs)
        ? (e as MemberEvent)
        : null;
    case 'commit':
      return Array.isArray(e.offsets) && e.offsets.every(isNumberPair) ? (e as MemberEvent) : null;
    case 'error':
      return typeof e.error === 'string' ? (e as MemberEvent) : null;
    case 'left':
    case 'freezing':
      return isNumber(e.atMs) ? (e as MemberEvent) : null;
    default:
      return null;
  }
}

/** Records `event` of member `name` as its history op (nothing for `left` and `freezing`). */
export function recordMemberEvent(
  history: HistoryRecorder,
  name: string,
  event: MemberEvent,
): void {
  switch (event.event) {
    case 'assigned':
    case 'revoked':
    case 'lost':
      history.record<typeof event.event, OwnershipValue>(name, 'ok', event.event, {
        partitions: [...event.partitions].sort((a, b) => a - b),
        atMs: event.atMs,
      });
      return;
    case 'consume':
      history.record<'consume', ConsumeValue>(name, 'ok', 'consume', {
        partition: event.partition,
        offset: event.offset,
        value: event.value,
        atMs: event.atMs,
      });
      return;
    case 'commit': {
      const type = event.error === undefined ? 'ok' : event.isUnknown === true ? 'info' : 'fail';
      history.record<'commit', CommitValue>(name, type, 'commit', {
        offsets: event.offsets,
        ...(event.error === undefined ? {} : { error: event.error }),
      });
      return;
    }
    case 'error':
      history.record<'member-error', MemberErrorValue>(name, 'info', 'member-error', {
        error: event.error,
      });
      return;
    case 'left':
    case 'freezing':
      return;
  }
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every(isNumber);
}

function isNumberPair(value: unknown): boolean {
  return isNumberArray(value) && value.length === 2;
}
