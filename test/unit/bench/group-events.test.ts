/**
 * The group benchmark's arithmetic (bench/group-events.ts): ownership replayed from a member's
 * callback events, the stability check, takeover times computed from the survivors' events,
 * their summaries, and consume progress added up over processes. Pure: hand-made event lists,
 * no processes, no clock, no timing assertions.
 */
import { describe, expect, it } from 'vitest';
import {
  combineProgress,
  effectiveHeartbeatIntervalMs,
  isTakenOver,
  ownedAfter,
  summarizeTakeovers,
  takeovers,
  unstableReason,
  type MemberEvent,
  type MemberView,
  type Takeover,
} from '../../../bench/group-events.js';

const assigned = (atMs: number, ...partitions: number[]): MemberEvent => ({
  type: 'assigned',
  partitions,
  atMs,
});
const revoked = (atMs: number, ...partitions: number[]): MemberEvent => ({
  type: 'revoked',
  partitions,
  atMs,
});
const lost = (atMs: number, ...partitions: number[]): MemberEvent => ({
  type: 'lost',
  partitions,
  atMs,
});
const first = (atMs: number, partition: number, offset = 0): MemberEvent => ({
  type: 'first-record',
  partition,
  offset,
  atMs,
});

describe('ownedAfter', () => {
  it('replays assigned minus revoked and lost, in order', () => {
    const owned = ownedAfter([assigned(10, 0, 1, 2), revoked(20, 1), assigned(30, 4), lost(40, 0)]);
    expect([...owned.keys()].sort()).toEqual([2, 4]);
    expect(owned.get(2)).toEqual({ assignedAtMs: 10, firstRecordAtMs: null });
    expect(owned.get(4)).toEqual({ assignedAtMs: 30, firstRecordAtMs: null });
  });

  it('keeps the first record after the latest assignment only, and ignores unowned partitions', () => {
    const owned = ownedAfter([
      assigned(10, 0),
      first(11, 0),
      first(12, 0),
      revoked(20, 0),
      first(21, 3),
      assigned(30, 0),
      first(35, 0),
    ]);
    expect(owned.get(0)).toEqual({ assignedAtMs: 30, firstRecordAtMs: 35 });
    expect(owned.has(3)).toBe(false);
  });
});

describe('unstableReason', () => {
  const member = (name: string, events: MemberEvent[]): MemberView => ({ name, events });
  const request = { partitionCount: 6, requireConsumption: false };

  it('is null for a balanced, disjoint assignment covering every partition', () => {
    const members = [
      member('a', [assigned(1, 0, 1)]),
      member('b', [assigned(1, 2, 3)]),
      member('c', [assigned(1, 4, 5)]),
    ];
    expect(unstableReason(members, request)).toBeNull();
  });

  it('names an unbalanced member, a partition owned twice, and one owned by nobody', () => {
    expect(
      unstableReason(
        [member('a', [assigned(1, 0, 1, 2, 3)]), member('b', [assigned(1, 4, 5)])],
        request,
      ),
    ).toContain('a owns 4');
    expect(
      unstableReason(
        [
          member('a', [assigned(1, 0, 1)]),
          member('b', [assigned(1, 1, 2)]),
          member('c', [assigned(1, 4, 5)]),
        ],
        request,
      ),
    ).toContain('partition 1 owned by a and b');
    expect(
      unstableReason(
        [
          member('a', [assigned(1, 0, 1)]),
          member('b', [assigned(1, 2, 3)]),
          member('c', [assigned(1, 4, 5), revoked(2, 5), assigned(3, 3)]),
        ],
        request,
      ),
    ).not.toBeNull();
  });

  it('accepts ⌊P/M⌋ or ⌈P/M⌉ partitions per member when they do not divide', () => {
    const members = [member('a', [assigned(1, 0, 1, 2)]), member('b', [assigned(1, 3, 4)])];
    expect(unstableReason(members, { partitionCount: 5, requireConsumption: false })).toBeNull();
  });

  it('with requireConsumption, waits for a record of every owned partition since its assignment', () => {
    const members = [
      member('a', [assigned(1, 0, 1), first(2, 0), first(3, 1)]),
      member('b', [assigned(1, 2, 3), first(2, 2), first(2, 3)]),
      member('c', [assigned(1, 4, 5), first(2, 4), first(2, 5), revoked(5, 5), assigned(6, 5)]),
    ];
    const strict = { partitionCount: 6, requireConsumption: true };
    expect(unstableReason(members, strict)).toContain('c has not consumed partition 5');
    members[2] = member('c', [...members[2]!.events, first(7, 5)]);
    expect(unstableReason(members, strict)).toBeNull();
  });
});

describe('takeovers', () => {
  const startMs = 1_000;

  it('takes, per partition, the earliest record at or after the departure among the others', () => {
    const others: MemberView[] = [
      { name: 'b', events: [assigned(100, 2), first(120, 2), assigned(4_000, 0), first(4_050, 0)] },
      {
        name: 'c',
        events: [assigned(3_900, 1), first(3_990, 1), assigned(4_100, 0), first(4_020, 0)],
      },
    ];
    const result = takeovers(startMs, [0, 1], others);
    expect(result).toEqual([
      { partition: 0, member: 'c', assignedAfterMs: 3_000, consumedAfterMs: 3_020 },
      { partition: 1, member: 'c', assignedAfterMs: 2_900, consumedAfterMs: 2_990 },
    ]);
    expect(isTakenOver(result)).toBe(true);
  });

  it('ignores events before the departure and leaves nulls for a partition nobody took yet', () => {
    const others: MemberView[] = [
      { name: 'b', events: [assigned(500, 3), first(600, 3), assigned(1_500, 4)] },
    ];
    const result = takeovers(startMs, [3, 4], others);
    expect(result).toEqual([
      { partition: 3, member: null, assignedAfterMs: null, consumedAfterMs: null },
      { partition: 4, member: null, assignedAfterMs: 500, consumedAfterMs: null },
    ]);
    expect(isTakenOver(result)).toBe(false);
  });

  it('is trivially taken over for a member that owned nothing', () => {
    expect(takeovers(startMs, [], [])).toEqual([]);
    expect(isTakenOver([])).toBe(true);
  });
});

describe('summarizeTakeovers', () => {
  const t = (consumedAfterMs: number | null): Takeover => ({
    partition: 0,
    member: consumedAfterMs === null ? null : 'x',
    assignedAfterMs: null,
    consumedAfterMs,
  });

  it('gives the nearest-rank p50 and the max over every partition of every trial', () => {
    const summary = summarizeTakeovers(
      [
        [t(3_400), t(3_100)],
        [t(3_300), t(3_200)],
        [t(4_000), t(3_000)],
      ],
      3_000,
    );
    expect(summary).toMatchObject({
      count: 6,
      missing: 0,
      p50Ms: 3_200,
      maxMs: 4_000,
      minMs: 3_000,
      baseMs: 3_000,
      p50ToBase: 1.07,
      maxToBase: 1.33,
    });
  });

  it('counts partitions never taken over apart, outside the percentiles', () => {
    const summary = summarizeTakeovers([[t(200), t(null)]], 100);
    expect(summary).toMatchObject({ count: 2, missing: 1, p50Ms: 200, maxMs: 200 });
  });

  it('has no figures without trials', () => {
    expect(summarizeTakeovers([], 3_000)).toMatchObject({
      count: 0,
      missing: 0,
      p50Ms: null,
      maxMs: null,
      p50ToBase: null,
    });
  });
});

describe('effectiveHeartbeatIntervalMs', () => {
  it("is the broker's interval, capped at a third of the member's session", () => {
    expect(effectiveHeartbeatIntervalMs(200, 3_000)).toBe(200);
    expect(effectiveHeartbeatIntervalMs(5_000, 3_000)).toBe(1_000);
    expect(effectiveHeartbeatIntervalMs(5_000, 2)).toBe(1);
  });
});

describe('combineProgress', () => {
  const ends = [100, 50, 0];

  it('is done once every partition is read to its end by one process or another', () => {
    const a = { counts: [100, 0, 0], nextOffsets: [100, 0, 0], firstAtMs: 10, lastAtMs: 90 };
    const b = { counts: [0, 49, 0], nextOffsets: [0, 49, 0], firstAtMs: 5, lastAtMs: 80 };
    expect(combineProgress([a, b], ends)).toEqual({
      isDone: false,
      records: 149,
      distinctRecords: 149,
      firstAtMs: 5,
      lastAtMs: 90,
    });
    const b2 = { ...b, counts: [0, 50, 0], nextOffsets: [0, 50, 0], lastAtMs: 95 };
    expect(combineProgress([a, b2], ends)).toMatchObject({
      isDone: true,
      distinctRecords: 150,
      lastAtMs: 95,
    });
  });

  it('counts a partition read twice once among the distinct records', () => {
    const a = { counts: [60, 0, 0], nextOffsets: [60, 0, 0], firstAtMs: 1, lastAtMs: 2 };
    const b = { counts: [70, 50, 0], nextOffsets: [100, 50, 0], firstAtMs: 3, lastAtMs: 4 };
    const combined = combineProgress([a, b], ends);
    expect(combined.records).toBe(180);
    expect(combined.distinctRecords).toBe(150);
    expect(combined.isDone).toBe(true);
  });

  it('has no times before any record', () => {
    const none = { counts: [], nextOffsets: [], firstAtMs: null, lastAtMs: null };
    expect(combineProgress([none], ends)).toEqual({
      isDone: false,
      records: 0,
      distinctRecords: 0,
      firstAtMs: null,
      lastAtMs: null,
    });
  });
});
