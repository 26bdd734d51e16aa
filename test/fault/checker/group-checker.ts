/**
 * The checker for the consumer group workload (workload/groups.ts): producers send unique values
 * with acks=all; members of one group consume, committing after processing (at-least-once); an
 * observer reads the committed offsets now and then; members are killed, paused and restarted
 * while the nemesis acts on the brokers.
 *
 * Anomalies (all errors except redelivered):
 * - overlapping-ownership: two members owned one partition at the same time, by their own
 *   reports (assigned ... revoked/lost/crash); a stint that ends before it starts (a loss dated
 *   before the assignment was announced) owned nothing;
 * - consumed-without-ownership: a member handed out a record of a partition it did not own then;
 * - out-of-order: within one stint, a member handed out a partition's records other than one
 *   offset after another (a skip, a repeat, going back): offsets are dense, and an owner reads
 *   on from where it is, so only a new stint may start elsewhere;
 * - committed-offset-decreased: the observer saw a partition's committed offset go back;
 * - undelivered: an acked send that no member ever handed out (`committedPast`: the group's
 *   last observed committed offset is beyond it: it was committed without being processed);
 * - unexpected: a consumed value no send invoked;
 * - offset-mismatch: a value consumed at an offset other than its ack said;
 * - wrong-partition: a value consumed from a partition it was not sent to;
 * - redelivered (not an error): a value handed out more than once, as at-least-once allows after
 *   a crash or a rebalance;
 * - member-exited (not an error): a member process died by itself (not SIGKILLed by the
 *   harness): no safety violation, but worth a look (the harness starts another).
 *
 * Stats: sends by outcome, records consumed, redeliveries, ownership changes, what the harness
 * did to members (crashes, pauses, leaves), member errors, commits by outcome, observed commit
 * reads, and the partitions' last observed committed offsets.
 */
import {
  MEMBER_ACTIONS,
  type CommittedOp,
  type ConsumeOp,
  type MemberCrashOp,
  type Op,
  type OwnershipOp,
  type SendOp,
} from '../history.js';
import { AnomalyLog } from './anomaly-log.js';
import type { Checker, CheckResult } from './checker.js';
import { InvokeTracker } from './invoke-tracker.js';

export const GroupAnomaly = {
  OVERLAPPING_OWNERSHIP: 'overlapping-ownership',
  CONSUMED_WITHOUT_OWNERSHIP: 'consumed-without-ownership',
  COMMITTED_OFFSET_DECREASED: 'committed-offset-decreased',
  UNDELIVERED: 'undelivered',
  UNEXPECTED: 'unexpected',
  OFFSET_MISMATCH: 'offset-mismatch',
  WRONG_PARTITION: 'wrong-partition',
  OUT_OF_ORDER: 'out-of-order',
  REDELIVERED: 'redelivered',
  MEMBER_EXITED: 'member-exited',
} as const;

/** One stretch of a member owning a partition: [startMs, endMs), endMs Infinity while open. */
interface Stint {
  readonly member: string;
  readonly startMs: number;
  endMs: number;
  readonly opIndex: number;
  /** The last offset handed out in this stint, and its op; -1 before the first. */
  lastOffset: number;
  lastOpIndex: number;
}

const ACTION_STATS: Readonly<Record<string, string>> = {
  'member-start': 'member-starts',
  'member-pause': 'member-pauses',
  'member-resume': 'member-resumes',
  'member-leave': 'member-leaves',
  'member-join': 'member-joins',
};

interface Send {
  readonly partition: number;
  outcome: 'invoked' | 'ok' | 'fail' | 'info';
  offset: number | undefined;
  opIndex: number;
}

export class GroupChecker implements Checker {
  readonly name = 'group';

  check(history: readonly Op[]): CheckResult {
    const run = new GroupRun(this.name);
    for (const op of history) run.step(op);
    return run.finish();
  }
}

class GroupRun {
  private readonly anomalies = new AnomalyLog();
  private readonly invokes = new InvokeTracker();
  private readonly sends = new Map<string, Send>();
  /** Per partition, every stint, in the order they opened. */
  private readonly stints = new Map<number, Stint[]>();
  /** Per member and partition, the open stint. */
  private readonly open = new Map<string, Map<number, Stint>>();
  private readonly consumes: ConsumeOp[] = [];
  private readonly committed = new Map<number, { offset: number; opIndex: number }>();
  private readonly counts = {
    ownershipChanges: 0,
    memberCrashes: 0,
    memberErrors: 0,
    committedReads: 0,
    commitsOk: 0,
    commitsFailed: 0,
  };
  private readonly actions = new Map<string, number>(MEMBER_ACTIONS.map((f) => [f, 0]));

  constructor(private readonly name: string) {}

  step(op: Op): void {
    switch (op.f) {
      case 'send':
        this.send(op as SendOp);
        return;
      case 'assigned':
      case 'revoked':
      case 'lost':
        if (op.type === 'ok') this.ownership(op as OwnershipOp);
        return;
      case 'consume':
        if (op.type === 'ok') this.consume(op as ConsumeOp);
        return;
      case 'member-crash':
        this.crash(op as MemberCrashOp);
        return;
      case 'committed':
        if (op.type === 'ok') this.observeCommitted(op as CommittedOp);
        return;
      case 'commit':
        if (op.type === 'ok') this.counts.commitsOk++;
        else this.counts.commitsFailed++;
        return;
      case 'member-error':
        this.counts.memberErrors++;
        return;
      default: {
        const count = this.actions.get(op.f);
        if (count !== undefined) this.actions.set(op.f, count + 1);
        return;
      }
    }
  }

  finish(): CheckResult {
    this.checkOverlaps();
    this.checkConsumes();
    const stats = this.deliveryStats();
    for (const [partition, c] of [...this.committed].sort(([a], [b]) => a - b)) {
      stats[`committed-p${partition}`] = c.offset;
    }
    const actions: Record<string, number> = {};
    for (const [f, count] of this.actions) actions[ACTION_STATS[f] ?? f] = count;
    return {
      checker: this.name,
      valid: !this.anomalies.hasErrors,
      anomalies: this.anomalies.toRecord(),
      stats: {
        ...stats,
        'ownership-changes': this.counts.ownershipChanges,
        'member-crashes': this.counts.memberCrashes,
        ...actions,
        'member-errors': this.counts.memberErrors,
        'commits-ok': this.counts.commitsOk,
        'commits-failed': this.counts.commitsFailed,
        'committed-reads': this.counts.committedReads,
      },
    };
  }

  private send(op: SendOp): void {
    const { value, partition } = op.value;
    if (op.type === 'invoke') {
      this.invokes.invoke(op);
      this.sends.set(value, {
        partition,
        outcome: 'invoked',
        offset: undefined,
        opIndex: op.index,
      });
      return;
    }
    this.invokes.complete(op);
    const send = this.sends.get(value);
    if (send === undefined) return;
    send.outcome = op.type;
    send.opIndex = op.index;
    if (op.type === 'ok') send.offset = op.value.offset;
  }

  private ownership(op: OwnershipOp): void {
    this.counts.ownershipChanges++;
    const member = op.process;
    let mine = this.open.get(member);
    if (mine === undefined) this.open.set(member, (mine = new Map()));
    for (const partition of op.value.partitions) {
      const current = mine.get(partition);
      if (op.f === 'assigned') {
        if (current !== undefined) continue;
        const stint: Stint = {
          member,
          startMs: op.value.atMs,
          endMs: Infinity,
          opIndex: op.index,
          lastOffset: -1,
          lastOpIndex: -1,
        };
        mine.set(partition, stint);
        let list = this.stints.get(partition);
        if (list === undefined) this.stints.set(partition, (list = []));
        list.push(stint);
      } else if (current !== undefined) {
        current.endMs = op.value.atMs;
        mine.delete(partition);
      }
    }
  }

  /**
   * Within the stint the member has open, each record must follow the previous one. A consume
   * with no open stint is judged by time alone (checkConsumes); so is every consume.
   */
  private consume(op: ConsumeOp): void {
    this.consumes.push(op);
    const stint = this.open.get(op.process)?.get(op.value.partition);
    if (stint === undefined) return;
    const { offset } = op.value;
    if (stint.lastOffset >= 0 && offset !== stint.lastOffset + 1) {
      this.anomalies.add(GroupAnomaly.OUT_OF_ORDER, true, {
        member: op.process,
        partition: op.value.partition,
        after: stint.lastOffset,
        offset,
        ops: [stint.lastOpIndex, op.index],
      });
    }
    stint.lastOffset = offset;
    stint.lastOpIndex = op.index;
  }

  /** A dead member owns nothing from the moment it died. */
  private crash(op: MemberCrashOp): void {
    this.counts.memberCrashes++;
    if (op.value.reason !== undefined) {
      this.anomalies.add(GroupAnomaly.MEMBER_EXITED, false, {
        member: op.process,
        reason: op.value.reason,
        op: op.index,
      });
    }
    const mine = this.open.get(op.process);
    if (mine === undefined) return;
    for (const stint of mine.values()) stint.endMs = Math.min(stint.endMs, op.value.atMs);
    mine.clear();
  }

  private observeCommitted(op: CommittedOp): void {
    this.counts.committedReads++;
    for (const [partition, offset] of op.value.offsets) {
      const before = this.committed.get(partition);
      if (before !== undefined && offset < before.offset) {
        this.anomalies.add(GroupAnomaly.COMMITTED_OFFSET_DECREASED, true, {
          partition,
          from: before.offset,
          to: offset,
          ops: [before.opIndex, op.index],
        });
      }
      if (before === undefined || offset >= before.offset) {
        this.committed.set(partition, { offset, opIndex: op.index });
      }
    }
  }

  /**
   * Per partition, stints sorted by start: each must start at or after every earlier end. An
   * empty stint (ended at or before its start) owned nothing and overlaps nothing.
   */
  private checkOverlaps(): void {
    for (const [partition, list] of this.stints) {
      const sorted = list.filter((s) => s.endMs > s.startMs).sort((a, b) => a.startMs - b.startMs);
      let latest: Stint | undefined;
      for (const stint of sorted) {
        if (
          latest !== undefined &&
          stint.startMs < latest.endMs &&
          stint.member !== latest.member
        ) {
          this.anomalies.add(GroupAnomaly.OVERLAPPING_OWNERSHIP, true, {
            partition,
            first: {
              member: latest.member,
              fromMs: latest.startMs,
              toMs: latest.endMs,
              op: latest.opIndex,
            },
            second: {
              member: stint.member,
              fromMs: stint.startMs,
              toMs: stint.endMs,
              op: stint.opIndex,
            },
          });
        }
        if (latest === undefined || stint.endMs > latest.endMs) latest = stint;
      }
    }
  }

  private checkConsumes(): void {
    const byMember = new Map<string, Stint[]>();
    for (const list of this.stints.values()) {
      for (const stint of list) {
        let mine = byMember.get(stint.member);
        if (mine === undefined) byMember.set(stint.member, (mine = []));
        mine.push(stint);
      }
    }
    const partitionOf = new Map<Stint, number>();
    for (const [partition, list] of this.stints)
      for (const s of list) partitionOf.set(s, partition);
    for (const op of this.consumes) {
      const { partition, atMs } = op.value;
      const owned = (byMember.get(op.process) ?? []).some(
        (s) => partitionOf.get(s) === partition && s.startMs <= atMs && atMs < s.endMs,
      );
      if (!owned) {
        this.anomalies.add(GroupAnomaly.CONSUMED_WITHOUT_OWNERSHIP, true, {
          member: op.process,
          partition,
          offset: op.value.offset,
          atMs,
          op: op.index,
        });
      }
    }
  }

  private deliveryStats(): Record<string, number> {
    const delivered = new Map<string, number>();
    for (const op of this.consumes) {
      const { value, partition, offset } = op.value;
      delivered.set(value, (delivered.get(value) ?? 0) + 1);
      const send = this.sends.get(value);
      if (send === undefined) {
        this.anomalies.add(GroupAnomaly.UNEXPECTED, true, {
          value,
          partition,
          offset,
          op: op.index,
        });
        continue;
      }
      if (send.partition !== partition) {
        this.anomalies.add(GroupAnomaly.WRONG_PARTITION, true, {
          value,
          sentTo: send.partition,
          consumedFrom: partition,
          op: op.index,
        });
      } else if (send.outcome === 'ok' && send.offset !== offset) {
        this.anomalies.add(GroupAnomaly.OFFSET_MISMATCH, true, {
          value,
          ackedAt: send.offset,
          consumedAt: offset,
          op: op.index,
        });
      }
    }
    let redelivered = 0;
    for (const [value, times] of delivered) {
      if (times > 1) {
        redelivered += times - 1;
        this.anomalies.add(GroupAnomaly.REDELIVERED, false, { value, times });
      }
    }
    const outcomes = { ok: 0, fail: 0, info: 0, invoked: 0 };
    let ackedDelivered = 0;
    for (const [value, send] of this.sends) {
      outcomes[send.outcome]++;
      if (send.outcome !== 'ok') continue;
      if (delivered.has(value)) ackedDelivered++;
      else {
        const committed = this.committed.get(send.partition)?.offset ?? -1;
        this.anomalies.add(GroupAnomaly.UNDELIVERED, true, {
          value,
          partition: send.partition,
          offset: send.offset,
          committedPast: send.offset !== undefined && committed > send.offset,
          op: send.opIndex,
        });
      }
    }
    return {
      'sends-ok': outcomes.ok,
      'sends-fail': outcomes.fail,
      'sends-info': outcomes.info + outcomes.invoked,
      'acked-delivered': ackedDelivered,
      'records-consumed': this.consumes.length,
      redelivered,
    };
  }
}
