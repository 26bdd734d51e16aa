/**
 * The group checker on hand-written histories: a correct run with a rebalance, a crash and a
 * redelivery comes out valid; each broken variant shows exactly its anomaly.
 */
import { describe, expect, it } from 'vitest';
import { GroupAnomaly, GroupChecker } from '../../fault/checker/group-checker.js';
import type {
  CommittedValue,
  CommitValue,
  ConsumeValue,
  MemberAction,
  MemberActionValue,
  MemberCrashValue,
  Op,
  OwnershipValue,
} from '../../fault/history.js';
import { HistoryBuilder } from './history-builder.js';

const check = (history: readonly Op[]) => new GroupChecker().check(history);

class GroupHistory extends HistoryBuilder {
  own(
    member: string,
    f: 'assigned' | 'revoked' | 'lost',
    partitions: number[],
    atMs: number,
  ): this {
    return this.add<OwnershipValue>(member, 'ok', f, { partitions, atMs });
  }
  consume(member: string, partition: number, offset: number, value: string, atMs: number): this {
    return this.add<ConsumeValue>(member, 'ok', 'consume', { partition, offset, value, atMs });
  }
  committed(offsets: [number, number][]): this {
    return this.add<CommittedValue>('observer', 'ok', 'committed', { offsets });
  }
  crash(member: string, atMs: number, reason?: string): this {
    return this.add<MemberCrashValue>(member, 'info', 'member-crash', {
      atMs,
      ...(reason === undefined ? {} : { reason }),
    });
  }
  action(member: string, f: MemberAction, atMs: number): this {
    return this.add<MemberActionValue>(member, 'info', f, { atMs });
  }
}

/** m1 owns p0 and p1, hands p1 over to m2 after revoking, then crashes; m2 redelivers b. */
function correctRun(): GroupHistory {
  return new GroupHistory()
    .send('producer-0', 0, 'a', 0)
    .send('producer-0', 1, 'b', 0)
    .send('producer-0', 1, 'c', 'fail')
    .own('member-1', 'assigned', [0, 1], 100)
    .consume('member-1', 0, 0, 'a', 110)
    .consume('member-1', 1, 0, 'b', 120)
    .committed([
      [0, 1],
      [1, -1],
    ])
    .own('member-1', 'revoked', [1], 200)
    .own('member-2', 'assigned', [1], 210)
    .consume('member-2', 1, 0, 'b', 220)
    .committed([
      [0, 1],
      [1, 1],
    ])
    .crash('member-1', 300)
    .own('member-2', 'assigned', [0], 350)
    .send('producer-0', 0, 'd', 1)
    .consume('member-2', 0, 1, 'd', 360)
    .committed([
      [0, 2],
      [1, 1],
    ]);
}

describe('GroupChecker', () => {
  it('finds a correct run valid, with redelivery reported but allowed', () => {
    const result = check(correctRun().build());
    expect(result.valid).toBe(true);
    expect(Object.keys(result.anomalies)).toEqual([GroupAnomaly.REDELIVERED]);
    expect(result.stats).toMatchObject({
      'sends-ok': 3,
      'sends-fail': 1,
      'acked-delivered': 3,
      redelivered: 1,
      'member-crashes': 1,
      'committed-p0': 2,
      'committed-p1': 1,
    });
  });

  const variants: [string, (h: GroupHistory) => GroupHistory][] = [
    [GroupAnomaly.OVERLAPPING_OWNERSHIP, (h) => h.own('member-3', 'assigned', [1], 250)],
    [GroupAnomaly.CONSUMED_WITHOUT_OWNERSHIP, (h) => h.consume('member-1', 1, 0, 'b', 205)],
    [GroupAnomaly.COMMITTED_OFFSET_DECREASED, (h) => h.committed([[0, 1]])],
    [GroupAnomaly.UNDELIVERED, (h) => h.send('producer-0', 1, 'e', 1)],
    [GroupAnomaly.UNEXPECTED, (h) => h.consume('member-2', 1, 1, 'zz', 400)],
    [GroupAnomaly.OFFSET_MISMATCH, (h) => h.consume('member-2', 0, 2, 'a', 400)],
    [GroupAnomaly.WRONG_PARTITION, (h) => h.consume('member-2', 1, 1, 'a', 400)],
    // member-2 owns p0 from 350 and handed out offset 1: offset 3 skips 2.
    [
      GroupAnomaly.OUT_OF_ORDER,
      (h) => h.send('producer-0', 0, 'f', 3).consume('member-2', 0, 3, 'f', 400),
    ],
  ];

  it.each(variants)('reports %s, and only that', (anomaly, breakIt) => {
    const result = check(breakIt(correctRun()).build());
    expect(result.valid).toBe(false);
    const errors = Object.entries(result.anomalies)
      .filter(([, report]) => report.isError)
      .map(([name]) => name);
    expect(errors).toEqual([anomaly]);
  });

  it('ends a crashed member ownership at its death, so a successor may start right after', () => {
    const history = new GroupHistory()
      .own('member-1', 'assigned', [0], 0)
      .crash('member-1', 50)
      .own('member-2', 'assigned', [0], 50)
      .build();
    expect(check(history).valid).toBe(true);
  });

  it('counts a paused member that kept consuming past its loss as consuming without ownership', () => {
    const history = new GroupHistory()
      .send('producer-0', 0, 'a', 0)
      .own('member-1', 'assigned', [0], 0)
      .own('member-1', 'lost', [0], 100)
      .own('member-2', 'assigned', [0], 120)
      .consume('member-1', 0, 0, 'a', 130)
      .consume('member-2', 0, 0, 'a', 140)
      .build();
    expect(Object.keys(check(history).anomalies)).toContain(
      GroupAnomaly.CONSUMED_WITHOUT_OWNERSHIP,
    );
  });

  it('counts a repeat within one stint as out of order, but a redelivery by the next owner as allowed', () => {
    const base = () =>
      new GroupHistory()
        .send('producer-0', 0, 'a', 0)
        .send('producer-0', 0, 'b', 1)
        .own('member-1', 'assigned', [0], 0)
        .consume('member-1', 0, 0, 'a', 10)
        .consume('member-1', 0, 1, 'b', 20);
    const repeated = check(base().consume('member-1', 0, 1, 'b', 30).build());
    expect(repeated.anomalies[GroupAnomaly.OUT_OF_ORDER]?.examples[0]).toMatchObject({
      member: 'member-1',
      after: 1,
      offset: 1,
    });
    const handedOver = base()
      .own('member-1', 'revoked', [0], 40)
      .own('member-2', 'assigned', [0], 50)
      .consume('member-2', 0, 1, 'b', 60)
      .build();
    const result = check(handedOver);
    expect(result.valid).toBe(true);
    expect(result.anomalies[GroupAnomaly.REDELIVERED]?.count).toBe(1);
  });

  it('lets an empty stint (lost before it was announced) overlap nothing', () => {
    const history = new GroupHistory()
      .own('member-1', 'assigned', [0], 0)
      .own('member-2', 'assigned', [1], 0)
      // member-1 resumes from a pause: announces p1 at 500, then finds it lost at 300.
      .own('member-1', 'assigned', [1], 500)
      .own('member-1', 'lost', [0, 1], 300)
      .build();
    expect(check(history).valid).toBe(true);
  });

  it('says whether the group committed past an undelivered record (at-most-once)', () => {
    const history = new GroupHistory()
      .send('producer-0', 0, 'a', 0)
      .send('producer-0', 0, 'b', 1)
      .own('member-1', 'assigned', [0], 0)
      .consume('member-1', 0, 1, 'b', 10)
      .committed([[0, 2]])
      .build();
    const result = check(history);
    expect(result.anomalies[GroupAnomaly.UNDELIVERED]?.examples).toEqual([
      { value: 'a', partition: 0, offset: 0, committedPast: true, op: 1 },
    ]);
  });

  it('reports a member that exited by itself, without failing the run, and counts the chaos', () => {
    const history = new GroupHistory()
      .action('member-1', 'member-start', 0)
      .own('member-1', 'assigned', [0], 10)
      .action('member-1', 'member-pause', 20)
      .action('member-1', 'member-resume', 30)
      .action('member-1', 'member-leave', 40)
      .own('member-1', 'revoked', [0], 41)
      .action('member-1', 'member-join', 50)
      .crash('member-1', 60, 'exit code 1')
      .add<CommitValue>('member-1', 'ok', 'commit', { offsets: [[0, 0]] })
      .add<CommitValue>('member-1', 'info', 'commit', { offsets: [[0, 0]], error: 'timeout' })
      .build();
    const result = check(history);
    expect(result.valid).toBe(true);
    expect(result.anomalies[GroupAnomaly.MEMBER_EXITED]).toMatchObject({
      count: 1,
      isError: false,
    });
    expect(result.stats).toMatchObject({
      'member-starts': 1,
      'member-pauses': 1,
      'member-resumes': 1,
      'member-leaves': 1,
      'member-joins': 1,
      'member-crashes': 1,
      'commits-ok': 1,
      'commits-failed': 1,
    });
  });
});
