/**
 * Generated groups (fast-check) for both KIP-848 assignors. A group has up to 5 topics of up to
 * 12 partitions, up to 8 members with arbitrary ids and a previous target drawn at random:
 * partitions given to any member or none, including to non-subscribers, past a topic's end and
 * in a deleted topic. The properties are the assignors' documented guarantees, checked by the
 * independent checkers of assignor-checks.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  rangeAssignor,
  uniformAssignor,
  type AssignorInput,
} from '../../../src/group/assignors/index.js';
import { SeededRng } from '../../../src/util/rng.js';
import {
  homogeneousMovesMinOf,
  inputOf,
  localBalanceErrorsOf,
  movedCountOf,
  orderedOf,
  partitionCountOf,
  validityErrorsOf,
  withPrevious,
  type MemberSpec,
} from './assignor-checks.js';

const MEMBERS_MAX = 8;
const GONE_TOPIC = 'gone';

/** Groups whose members all subscribe alike (`isAlike`) or each to a random subset. */
const groups = (isAlike: boolean): fc.Arbitrary<AssignorInput> =>
  fc
    .record({
      partitionCounts: fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 5 }),
      memberIds: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 3 }), {
        maxLength: MEMBERS_MAX,
      }),
      subscriptionMasks: fc.array(fc.nat({ max: 31 }), {
        minLength: MEMBERS_MAX,
        maxLength: MEMBERS_MAX,
      }),
      previousPicks: fc.array(fc.integer({ min: -4, max: MEMBERS_MAX - 1 }), {
        minLength: 1,
        maxLength: 100,
      }),
    })
    .map(({ partitionCounts, memberIds, subscriptionMasks, previousPicks }) => {
      const topicNames = partitionCounts.map((_, t) => `t${t}`);
      const previous = memberIds.map(() => new Map<string, number[]>());
      // A few partitions past each topic's end, and a deleted topic, must be dropped.
      const previousTopics = [...topicNames, GONE_TOPIC];
      let pick = 0;
      previousTopics.forEach((topic, t) => {
        for (let p = 0; p < (partitionCounts[t] ?? 3) + 2; p++) {
          const choice = previousPicks[pick++ % previousPicks.length] ?? -1;
          const target = previous[choice % Math.max(1, memberIds.length)];
          if (choice < 0 || target === undefined) continue;
          target.set(topic, [...(target.get(topic) ?? []), p]);
        }
      });
      const members: MemberSpec[] = memberIds.map((id, m) => {
        const mask = subscriptionMasks[isAlike ? 0 : m] ?? 0;
        return {
          id,
          topics: topicNames.filter((_, t) => (mask >> t) & 1),
          previous: Object.fromEntries(previous[m] ?? []),
        };
      });
      return inputOf(
        members,
        Object.fromEntries(topicNames.map((n, t) => [n, partitionCounts[t] ?? 0])),
      );
    });

/** The same group with members shuffled and every Map and Set built in reverse order. */
function scrambled(input: AssignorInput, seed: number): AssignorInput {
  const rng = new SeededRng(seed);
  const members = [...input.members];
  for (let i = members.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const [one, other] = [members[i], members[j]];
    if (one === undefined || other === undefined) continue;
    members[i] = other;
    members[j] = one;
  }
  return {
    topics: new Map([...input.topics].reverse()),
    members: members.map((member) => ({
      memberId: member.memberId,
      subscribedTopics: new Set([...member.subscribedTopics].reverse()),
      previousTarget: new Map([...member.previousTarget].reverse()),
    })),
  };
}

function spreadOf(counts: readonly number[]): number {
  return counts.length === 0 ? 0 : Math.max(...counts) - Math.min(...counts);
}

describe.each([
  ['uniform', uniformAssignor],
  ['range', rangeAssignor],
] as const)('%s assignor, common rules (generated)', (_name, assignor) => {
  it('assigns each subscribed partition exactly once, only to a subscriber', () => {
    fc.assert(
      fc.property(groups(false), (input) => {
        expect(validityErrorsOf(input, assignor.assign(input))).toEqual([]);
      }),
    );
  });

  it('does not depend on member order or on Map and Set iteration order', () => {
    fc.assert(
      fc.property(groups(false), fc.nat(), (input, seed) => {
        const expected = orderedOf(assignor.assign(input));
        expect(orderedOf(assignor.assign(scrambled(input, seed)))).toEqual(expected);
      }),
    );
  });

  it('given its own output as the previous target, changes nothing (stable fixpoint)', () => {
    fc.assert(
      fc.property(groups(false), (input) => {
        const first = assignor.assign(input);
        expect(orderedOf(assignor.assign(withPrevious(input, first)))).toEqual(orderedOf(first));
      }),
    );
  });
});

describe('uniform assignor (generated)', () => {
  it('all members alike: partition counts differ by at most one', () => {
    fc.assert(
      fc.property(groups(true), (input) => {
        const counts = [...uniformAssignor.assign(input).values()].map(partitionCountOf);
        expect(spreadOf(counts)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('all members alike: moves the fewest partitions any balanced result could', () => {
    fc.assert(
      fc.property(groups(true), (input) => {
        const result = uniformAssignor.assign(input);
        expect(movedCountOf(input, result)).toBe(homogeneousMovesMinOf(input));
      }),
    );
  });

  it('all members alike, no previous target: every topic is balanced on its own', () => {
    fc.assert(
      fc.property(groups(true), (input) => {
        const fresh = withPrevious(input, new Map());
        const result = uniformAssignor.assign(fresh);
        for (const topic of input.topics.keys()) {
          if (!input.members.some((member) => member.subscribedTopics.has(topic))) continue;
          const counts = [...result.values()].map((target) => target.get(topic)?.length ?? 0);
          expect(spreadOf(counts)).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  it('any subscriptions: no partition could move to a subscriber 2 or more lighter', () => {
    fc.assert(
      fc.property(groups(false), (input) => {
        expect(localBalanceErrorsOf(input, uniformAssignor.assign(input))).toEqual([]);
      }),
    );
  });
});

describe('range assignor (generated)', () => {
  it('gives each topic contiguous ranges over its subscribers by id, larger ones first', () => {
    fc.assert(
      fc.property(groups(false), (input) => {
        const result = rangeAssignor.assign(input);
        for (const [topic, count] of input.topics) {
          const subscribers = input.members
            .filter((member) => member.subscribedTopics.has(topic))
            .map((member) => member.memberId)
            .sort((a, b) => (a < b ? -1 : 1));
          let next = 0;
          subscribers.forEach((memberId, rank) => {
            const size =
              Math.floor(count / subscribers.length) + (rank < count % subscribers.length ? 1 : 0);
            const expected = Array.from({ length: size }, (_, i) => next + i);
            expect(result.get(memberId)?.get(topic) ?? []).toEqual(expected);
            next += size;
          });
        }
      }),
    );
  });
});
