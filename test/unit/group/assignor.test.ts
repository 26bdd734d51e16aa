/**
 * The server-side assignors of KIP-848 (src/group/assignors/) on hand-written groups. Each case
 * pins the exact target so a change to an algorithm shows up in review; range's cases are the
 * examples of Kafka's RangeAssignor documentation. The generated properties live in
 * assignor-properties.test.ts; the last block here checks a group of production size.
 */
import { describe, expect, it } from 'vitest';
import {
  ASSIGNOR_NAMES,
  DEFAULT_ASSIGNOR,
  assignorNamed,
  rangeAssignor,
  uniformAssignor,
  type AssignorInput,
  type AssignorMember,
} from '../../../src/group/assignors/index.js';
import { AssertionError } from '../../../src/util/assert.js';
import {
  homogeneousMovesMinOf,
  inputOf,
  localBalanceErrorsOf,
  movedCountOf,
  partitionCountOf,
  plainOf,
  validityErrorsOf,
  withPrevious,
} from './assignor-checks.js';

describe('assignor registry', () => {
  it('names uniform (the default) and range', () => {
    expect(DEFAULT_ASSIGNOR).toBe('uniform');
    expect(ASSIGNOR_NAMES).toEqual(['uniform', 'range']);
    expect(assignorNamed('uniform')).toBe(uniformAssignor);
    expect(assignorNamed('range')).toBe(rangeAssignor);
    expect(assignorNamed('roundrobin')).toBeUndefined();
    expect(assignorNamed(DEFAULT_ASSIGNOR)?.name).toBe(DEFAULT_ASSIGNOR);
  });
});

describe.each([
  ['uniform', uniformAssignor],
  ['range', rangeAssignor],
] as const)('%s assignor: common rules', (_name, assignor) => {
  it('gives an empty group an empty result', () => {
    expect(assignor.assign(inputOf([], { t: 3 })).size).toBe(0);
  });

  it('gives every member an entry, empty when it subscribes to nothing', () => {
    const input = inputOf(
      [
        { id: 'a', topics: [] },
        { id: 'b', topics: ['t'] },
      ],
      { t: 2 },
    );
    expect(plainOf(assignor.assign(input))).toEqual({ a: {}, b: { t: [0, 1] } });
  });

  it('gives one member every subscribed partition and nothing else', () => {
    const input = inputOf([{ id: 'a', topics: ['t1', 't2'] }], { t1: 2, t2: 3, t3: 4 });
    expect(plainOf(assignor.assign(input))).toEqual({ a: { t1: [0, 1], t2: [0, 1, 2] } });
  });

  it('ignores a subscription to a topic missing from topics (just deleted)', () => {
    const input = inputOf([{ id: 'a', topics: ['t', 'gone'], previous: { gone: [0] } }], { t: 1 });
    expect(plainOf(assignor.assign(input))).toEqual({ a: { t: [0] } });
  });

  it('lists members by memberId and topics by name, whatever the input order', () => {
    const input = inputOf(
      [
        { id: 'b', topics: ['y', 'x'] },
        { id: 'a', topics: ['y', 'x'] },
      ],
      { y: 2, x: 2 },
    );
    const result = assignor.assign(input);
    expect([...result.keys()]).toEqual(['a', 'b']);
    expect([...(result.get('a')?.keys() ?? [])]).toEqual(['x', 'y']);
  });

  it('fails an assertion on a duplicate memberId or a bad partition count (caller bugs)', () => {
    const twice = inputOf(
      [
        { id: 'a', topics: ['t'] },
        { id: 'a', topics: ['t'] },
      ],
      { t: 1 },
    );
    expect(() => assignor.assign(twice)).toThrow(AssertionError);
    const negative = inputOf([{ id: 'a', topics: ['t'] }], { t: -1 });
    expect(() => assignor.assign(negative)).toThrow(AssertionError);
  });
});

describe('uniform assignor, all members subscribed alike', () => {
  it('with no previous target deals flat partitions round-robin by memberId', () => {
    const members = ['c', 'a', 'b'].map((id) => ({ id, topics: ['t1', 't2'] }));
    const result = uniformAssignor.assign(inputOf(members, { t1: 4, t2: 3 }));
    expect(plainOf(result)).toEqual({
      a: { t1: [0, 3], t2: [2] },
      b: { t1: [1], t2: [0] },
      c: { t1: [2], t2: [1] },
    });
  });

  it('with more members than partitions leaves the last members by id empty', () => {
    const members = ['m5', 'm4', 'm3', 'm2', 'm1'].map((id) => ({ id, topics: ['t'] }));
    const result = uniformAssignor.assign(inputOf(members, { t: 3 }));
    expect(plainOf(result)).toEqual({
      m1: { t: [0] },
      m2: { t: [1] },
      m3: { t: [2] },
      m4: {},
      m5: {},
    });
  });

  it('when a member leaves, hands out only its partitions', () => {
    // c held 6, 7 and 8; a and b keep everything they had.
    const input = inputOf(
      [
        { id: 'a', topics: ['t'], previous: { t: [0, 1, 2] } },
        { id: 'b', topics: ['t'], previous: { t: [3, 4, 5] } },
      ],
      { t: 9 },
    );
    const result = uniformAssignor.assign(input);
    expect(plainOf(result)).toEqual({ a: { t: [0, 1, 2, 6, 8] }, b: { t: [3, 4, 5, 7] } });
    expect(movedCountOf(input, result)).toBe(0);
  });

  it('when a member joins, moves exactly its share to it', () => {
    const input = inputOf(
      [
        { id: 'a', topics: ['t'], previous: { t: [0, 1, 2, 3, 4, 5] } },
        { id: 'b', topics: ['t'], previous: { t: [6, 7, 8, 9, 10, 11] } },
        { id: 'c', topics: ['t'] },
      ],
      { t: 12 },
    );
    const result = uniformAssignor.assign(input);
    expect(plainOf(result)).toEqual({
      a: { t: [0, 1, 2, 3] },
      b: { t: [6, 7, 8, 9] },
      c: { t: [4, 5, 10, 11] },
    });
    expect(movedCountOf(input, result)).toBe(4);
    expect(homogeneousMovesMinOf(input)).toBe(4);
  });

  it('gives the extra partitions to members that had more, so they need not move', () => {
    // 7 partitions over 3 members: quotas 3, 2, 2. b and c had 3 each; a had 1.
    const input = inputOf(
      [
        { id: 'a', topics: ['t'], previous: { t: [0] } },
        { id: 'b', topics: ['t'], previous: { t: [1, 2, 3] } },
        { id: 'c', topics: ['t'], previous: { t: [4, 5, 6] } },
      ],
      { t: 7 },
    );
    const result = uniformAssignor.assign(input);
    expect(plainOf(result)).toEqual({ a: { t: [0, 6] }, b: { t: [1, 2, 3] }, c: { t: [4, 5] } });
    expect(movedCountOf(input, result)).toBe(1);
  });

  it('when a topic grows, keeps the old partitions and spreads the new ones', () => {
    const input = inputOf(
      [
        { id: 'a', topics: ['t'], previous: { t: [0, 1] } },
        { id: 'b', topics: ['t'], previous: { t: [2, 3] } },
      ],
      { t: 8 },
    );
    const result = uniformAssignor.assign(input);
    expect(plainOf(result)).toEqual({ a: { t: [0, 1, 4, 6] }, b: { t: [2, 3, 5, 7] } });
  });

  it('when a topic is deleted, drops its partitions from the previous target', () => {
    const input = inputOf(
      [
        { id: 'a', topics: ['t1'], previous: { t1: [0, 1], t2: [0, 1] } },
        { id: 'b', topics: ['t1'], previous: { t1: [2, 3], t2: [2, 3] } },
      ],
      { t1: 4 },
    );
    expect(plainOf(uniformAssignor.assign(input))).toEqual({
      a: { t1: [0, 1] },
      b: { t1: [2, 3] },
    });
  });

  it('drops previous partitions that no longer exist or are no longer subscribed', () => {
    // Valid leftovers: a keeps t-0, b keeps t-3. Nobody subscribes to `other`: it goes nowhere.
    const input = inputOf(
      [
        { id: 'a', topics: ['t'], previous: { t: [0, 7, -1, 1.5], gone: [0], other: [0] } },
        { id: 'b', topics: ['t'], previous: { t: [3] } },
      ],
      { t: 4, other: 2 },
    );
    expect(plainOf(uniformAssignor.assign(input))).toEqual({ a: { t: [0, 1] }, b: { t: [2, 3] } });
  });

  it('resolves a partition claimed by two members to the first by memberId', () => {
    const input = inputOf(
      [
        { id: 'b', topics: ['t'], previous: { t: [0, 1] } },
        { id: 'a', topics: ['t'], previous: { t: [0, 1] } },
      ],
      { t: 2 },
    );
    expect(plainOf(uniformAssignor.assign(input))).toEqual({ a: { t: [0] }, b: { t: [1] } });
  });
});

describe('uniform assignor, members subscribed differently', () => {
  it('fills the topics with the fewest subscribers first', () => {
    // t1 only a, t3 only c: those go first; then t2's partitions all go to b, the lightest.
    const input = inputOf(
      [
        { id: 'a', topics: ['t1', 't2'] },
        { id: 'b', topics: ['t2'] },
        { id: 'c', topics: ['t3'] },
      ],
      { t1: 3, t2: 3, t3: 2 },
    );
    const result = uniformAssignor.assign(input);
    expect(plainOf(result)).toEqual({
      a: { t1: [0, 1, 2] },
      b: { t2: [0, 1, 2] },
      c: { t3: [0, 1] },
    });
  });

  it('balances a member with a private topic against one sharing it', () => {
    // b alone has t2 (2 partitions), so t1 splits 6 to a and 4 to b: 6 each.
    const input = inputOf(
      [
        { id: 'a', topics: ['t1'] },
        { id: 'b', topics: ['t1', 't2'] },
      ],
      { t1: 10, t2: 2 },
    );
    const result = uniformAssignor.assign(input);
    expect(plainOf(result)).toEqual({
      a: { t1: [0, 1, 2, 4, 6, 8] },
      b: { t1: [3, 5, 7, 9], t2: [0, 1] },
    });
  });

  it('moves only as many kept partitions as local balance needs', () => {
    // b joins and can only take t2: moving 3 of a's 6 is the least that balances them.
    const input = inputOf(
      [
        { id: 'a', topics: ['t1', 't2'], previous: { t1: [0, 1, 2], t2: [0, 1, 2] } },
        { id: 'b', topics: ['t2'] },
        { id: 'c', topics: ['t3'] },
      ],
      { t1: 3, t2: 3, t3: 2 },
    );
    const result = uniformAssignor.assign(input);
    expect(plainOf(result)).toEqual({
      a: { t1: [0, 1, 2] },
      b: { t2: [0, 1, 2] },
      c: { t3: [0, 1] },
    });
    expect(movedCountOf(input, result)).toBe(3);
  });

  it('keeps an unbalanced-looking target that no single move could improve', () => {
    // a has 4 partitions of its private topic and b has 1: no partition of a's may go to b.
    const input = inputOf(
      [
        { id: 'a', topics: ['t1'], previous: { t1: [0, 1, 2, 3] } },
        { id: 'b', topics: ['t2'], previous: { t2: [0] } },
      ],
      { t1: 4, t2: 1 },
    );
    const result = uniformAssignor.assign(input);
    expect(plainOf(result)).toEqual({ a: { t1: [0, 1, 2, 3] }, b: { t2: [0] } });
  });

  it('moves a partition nobody had before ahead of a kept one', () => {
    // Fill: t1-3 goes to a (1 < 2), then t2-6..8 to a (2 < 6), so a has 5 and b 2. Balance
    // first moves the new t1-3 to b, then t2-5 from c to a, then t1-0 from a to b. No locally
    // balanced target keeps more: a with t1-0 would need both a - b <= 1 and c - a <= 1.
    const input = inputOf(
      [
        { id: 'a', topics: ['t1', 't2'], previous: { t1: [0] } },
        { id: 'b', topics: ['t1'], previous: { t1: [1, 2] } },
        { id: 'c', topics: ['t2'], previous: { t2: [0, 1, 2, 3, 4, 5] } },
      ],
      { t1: 4, t2: 9 },
    );
    const result = uniformAssignor.assign(input);
    expect(plainOf(result)).toEqual({
      a: { t2: [5, 6, 7, 8] },
      b: { t1: [0, 1, 2, 3] },
      c: { t2: [0, 1, 2, 3, 4] },
    });
    expect(movedCountOf(input, result)).toBe(2);
  });

  it('takes from a member holding a shared and a private topic only what balance needs', () => {
    // a must end at most one above b, and u cannot move: 4 and 4, so 2 of t move.
    const input = inputOf(
      [
        { id: 'a', topics: ['t', 'u'], previous: { t: [0, 1, 2, 3], u: [0, 1] } },
        { id: 'b', topics: ['t'] },
      ],
      { t: 6, u: 2 },
    );
    const result = uniformAssignor.assign(input);
    expect(plainOf(result)).toEqual({ a: { t: [0, 1], u: [0, 1] }, b: { t: [2, 3, 4, 5] } });
    expect(movedCountOf(input, result)).toBe(2);
  });
});

describe('range assignor (Kafka RangeAssignor semantics)', () => {
  it("matches Kafka's example: two consumers, two topics of three partitions", () => {
    const members = ['C1', 'C0'].map((id) => ({ id, topics: ['t0', 't1'] }));
    const result = rangeAssignor.assign(inputOf(members, { t0: 3, t1: 3 }));
    expect(plainOf(result)).toEqual({
      C0: { t0: [0, 1], t1: [0, 1] },
      C1: { t0: [2], t1: [2] },
    });
  });

  it('gives the first P mod N members by id one partition more', () => {
    const members = ['c', 'b', 'a'].map((id) => ({ id, topics: ['t'] }));
    const result = rangeAssignor.assign(inputOf(members, { t: 10 }));
    expect(plainOf(result)).toEqual({
      a: { t: [0, 1, 2, 3] },
      b: { t: [4, 5, 6] },
      c: { t: [7, 8, 9] },
    });
  });

  it('splits each topic over its own subscribers only', () => {
    const input = inputOf(
      [
        { id: 'a', topics: ['t0'] },
        { id: 'b', topics: ['t0', 't1'] },
        { id: 'c', topics: ['t0', 't1'] },
      ],
      { t0: 4, t1: 2 },
    );
    expect(plainOf(rangeAssignor.assign(input))).toEqual({
      a: { t0: [0, 1] },
      b: { t0: [2], t1: [0] },
      c: { t0: [3], t1: [1] },
    });
  });

  it('leaves the last members empty when there are more members than partitions', () => {
    const members = ['a', 'b', 'c'].map((id) => ({ id, topics: ['t'] }));
    const result = rangeAssignor.assign(inputOf(members, { t: 2 }));
    expect(plainOf(result)).toEqual({ a: { t: [0] }, b: { t: [1] }, c: {} });
  });

  it('ignores the previous target (range is not sticky)', () => {
    const input = inputOf(
      [
        { id: 'a', topics: ['t'], previous: { t: [2, 3] } },
        { id: 'b', topics: ['t'], previous: { t: [0, 1] } },
      ],
      { t: 4 },
    );
    expect(plainOf(rangeAssignor.assign(input))).toEqual({ a: { t: [0, 1] }, b: { t: [2, 3] } });
  });
});

describe('a group of production size: 1,000 members, 100 topics of 200 partitions', () => {
  // Correctness only: speed is measured by benchmarks, not asserted here.
  const topics = new Map(Array.from({ length: 100 }, (_, t) => [`topic-${t}`, 200]));
  const topicNames = [...topics.keys()];
  const membersOf = (subscribe: (m: number) => readonly string[]): AssignorMember[] =>
    Array.from({ length: 1000 }, (_, m) => ({
      memberId: `member-${m}`,
      subscribedTopics: new Set(subscribe(m)),
      previousTarget: new Map(),
    }));
  const homogeneous: AssignorInput = { members: membersOf(() => topicNames), topics };

  it('uniform: 20 partitions each, then one leaves and one joins with the fewest moves', () => {
    const first = uniformAssignor.assign(homogeneous);
    expect(validityErrorsOf(homogeneous, first)).toEqual([]);
    for (const target of first.values()) expect(partitionCountOf(target)).toBe(20);
    const next = withPrevious(homogeneous, first);
    const changed: AssignorInput = {
      topics,
      members: [
        ...next.members.slice(1),
        {
          memberId: 'member-new',
          subscribedTopics: new Set(topicNames),
          previousTarget: new Map(),
        },
      ],
    };
    const second = uniformAssignor.assign(changed);
    expect(validityErrorsOf(changed, second)).toEqual([]);
    for (const target of second.values()) expect(partitionCountOf(target)).toBe(20);
    expect(movedCountOf(changed, second)).toBe(homogeneousMovesMinOf(changed));
  });

  it('uniform: locally balanced when members subscribe to different topics', () => {
    const input: AssignorInput = {
      topics,
      members: membersOf((m) => topicNames.filter((_, t) => (m + t) % 3 !== 0)),
    };
    const result = uniformAssignor.assign(input);
    expect(validityErrorsOf(input, result)).toEqual([]);
    expect(localBalanceErrorsOf(input, result)).toEqual([]);
  });

  it('range: the first 200 members by id get one partition of every topic', () => {
    const result = rangeAssignor.assign(homogeneous);
    expect(validityErrorsOf(homogeneous, result)).toEqual([]);
    const counts = [...result.values()].map(partitionCountOf);
    expect(counts.filter((count) => count === 100)).toHaveLength(200);
    expect(counts.filter((count) => count === 0)).toHaveLength(800);
  });
});
