/**
 * The group protocol's pure decisions (src/group/group-state.ts): joins, epochs, fencing,
 * revocation before assignment, and — over generated histories of joins, leaves, crashes,
 * subscription changes and topic growth — that no two members ever own one partition, and that
 * compliant members converge to a stable, complete assignment.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../src/errors/index.js';
import {
  checkMemberCommit,
  heartbeat,
  removeMember,
  stateName,
  type GroupEnv,
  type GroupState,
  type HeartbeatInput,
} from '../../../src/group/index.js';
import { partitionSet } from '../../../src/group/topic-partitions.js';
import type { TopicAssignment } from '../../../src/group/assignors/index.js';

const settings = {
  sessionTimeoutMs: 45_000,
  minSessionTimeoutMs: 1_000,
  maxSessionTimeoutMs: 60_000,
  heartbeatIntervalMs: 5_000,
};

function env(topics: Record<string, number>): GroupEnv {
  let next = 0;
  return {
    topics: new Map(Object.entries(topics)),
    newMemberId: () => `generated-${next++}`,
    settings,
  };
}

function join(memberId: string, topics: string[] | RegExp): HeartbeatInput {
  return {
    groupId: 'g',
    memberId,
    memberEpoch: 0,
    subscription:
      topics instanceof RegExp
        ? { topicNames: [], topicRegex: topics.source }
        : { topicNames: topics, topicRegex: '' },
    owned: partitionSet([]),
    clientId: `client-${memberId}`,
    host: '127.0.0.1',
    sessionTimeoutMs: 0,
    rebalanceTimeoutMs: 0,
    serverAssignor: '',
  };
}

function beat(group: GroupState, memberId: string, owned: TopicAssignment | null): HeartbeatInput {
  const member = group.members.get(memberId);
  return {
    ...join(memberId, []),
    memberEpoch: member?.memberEpoch ?? 99,
    subscription: null,
    owned,
  };
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof BrokerError) return error.code;
    throw error;
  }
  return 'NONE';
}

const all = (a: TopicAssignment): string[] =>
  [...a].flatMap(([t, ps]) => ps.map((p) => `${t}-${p}`)).sort();

describe('heartbeat', () => {
  it('gives a lone member every partition of its topics, at epoch 1', () => {
    const out = heartbeat(undefined, join('a', ['t']), env({ t: 3, other: 2 }));
    expect(out.memberEpoch).toBe(1);
    expect(all(out.member!.assigned)).toEqual(['t-0', 't-1', 't-2']);
    expect(stateName(out.group)).toBe('Stable');
  });

  it('chooses a member id when the join leaves it empty', () => {
    const out = heartbeat(undefined, join('', ['t']), env({ t: 1 }));
    expect(out.memberId).toBe('generated-0');
  });

  it('revokes before it assigns: a partition moves only after its owner confirms', () => {
    const e = env({ t: 4 });
    const a = heartbeat(undefined, join('a', ['t']), e);
    const b = heartbeat(a.group, join('b', ['t']), e);
    // b's target holds two partitions, but a still owns all four: b gets nothing yet.
    expect(all(b.member!.assigned)).toEqual([]);
    expect(b.member!.state).toBe('unreleased_partitions');
    // a's next heartbeat asks it to revoke two; its epoch waits.
    const a2 = heartbeat(b.group, beat(b.group, 'a', a.member!.assigned), e);
    expect(a2.member!.state).toBe('unrevoked_partitions');
    expect(a2.memberEpoch).toBe(1);
    expect(all(a2.member!.assigned)).toHaveLength(2);
    // a heartbeats again before it finished revoking (it still reports all four): it keeps
    // waiting at its old epoch, and b still gets nothing.
    const again = heartbeat(a2.group, beat(a2.group, 'a', a.member!.assigned), e);
    expect(again.member!.state).toBe('unrevoked_partitions');
    expect(again.memberEpoch).toBe(1);
    const b2 = heartbeat(again.group, beat(again.group, 'b', partitionSet([])), e);
    expect(all(b2.member!.assigned)).toEqual([]);
    // a confirms by reporting only what it kept; it moves to the new epoch.
    const a3 = heartbeat(b2.group, beat(b2.group, 'a', again.member!.assigned), e);
    expect(a3.member!.state).toBe('stable');
    expect(a3.memberEpoch).toBe(2);
    const b3 = heartbeat(a3.group, beat(a3.group, 'b', partitionSet([])), e);
    expect(b3.member!.state).toBe('stable');
    expect([...all(a3.member!.assigned), ...all(b3.member!.assigned)].sort()).toEqual([
      't-0',
      't-1',
      't-2',
      't-3',
    ]);
    expect(stateName(b3.group)).toBe('Stable');
  });

  it('fences a newer or unknown epoch, accepts the previous one after a lost answer', () => {
    const e = env({ t: 2 });
    const a = heartbeat(undefined, join('a', ['t']), e);
    const g = a.group;
    expect(codeOf(() => heartbeat(g, { ...beat(g, 'a', null), memberEpoch: 7 }, e))).toBe(
      'FENCED_MEMBER_EPOCH',
    );
    expect(codeOf(() => heartbeat(g, beat(g, 'nobody', null), e))).toBe('UNKNOWN_MEMBER_ID');
    // Epoch 0 -> 1 happened in the join's answer; pretend it was lost: the member sends its
    // previous epoch (0 is the join epoch, so bump once more to test a real previous epoch).
    const b = heartbeat(g, join('b', ['t']), e);
    const a2 = heartbeat(b.group, beat(b.group, 'a', a.member!.assigned), e);
    const a3 = heartbeat(a2.group, beat(a2.group, 'a', a2.member!.assigned), e);
    expect(a3.memberEpoch).toBe(2);
    const lost = { ...beat(a3.group, 'a', a3.member!.assigned), memberEpoch: 1 };
    expect(heartbeat(a3.group, lost, e).memberEpoch).toBe(2);
    // ...but not when it claims partitions it was not assigned.
    const greedy = { ...lost, owned: partitionSet([['t', [0, 1]]]) };
    expect(codeOf(() => heartbeat(a3.group, greedy, e))).toBe('FENCED_MEMBER_EPOCH');
  });

  it('refuses session timeouts outside the bounds and unknown assignors', () => {
    const e = env({ t: 1 });
    expect(
      codeOf(() => heartbeat(undefined, { ...join('a', ['t']), sessionTimeoutMs: 10 }, e)),
    ).toBe('INVALID_SESSION_TIMEOUT');
    expect(
      codeOf(() => heartbeat(undefined, { ...join('a', ['t']), serverAssignor: 'sticky' }, e)),
    ).toBe('UNSUPPORTED_ASSIGNOR');
  });

  it('leaving frees the member partitions for the others', () => {
    const e = env({ t: 2 });
    const a = heartbeat(undefined, join('a', ['t']), e);
    const left = heartbeat(a.group, { ...beat(a.group, 'a', null), memberEpoch: -1 }, e);
    expect(left.memberEpoch).toBe(-1);
    expect(left.group.members.size).toBe(0);
    expect(stateName(left.group)).toBe('Empty');
    expect(
      codeOf(() => heartbeat(left.group, { ...beat(left.group, 'a', null), memberEpoch: -1 }, e)),
    ).toBe('UNKNOWN_MEMBER_ID');
  });

  it('a regex subscription picks up a topic created later, never an internal one', () => {
    const a = heartbeat(
      undefined,
      join('a', /orders-.*/),
      env({ 'orders-eu': 1, __consumer_offsets: 3 }),
    );
    expect(all(a.member!.assigned)).toEqual(['orders-eu-0']);
    const later = env({ 'orders-eu': 1, 'orders-us': 2, __consumer_offsets: 3 });
    const a2 = heartbeat(a.group, beat(a.group, 'a', a.member!.assigned), later);
    expect(all(a2.member!.assigned)).toEqual(['orders-eu-0', 'orders-us-0', 'orders-us-1']);
    expect(a2.group.groupEpoch).toBe(a.group.groupEpoch + 1);
  });
});

describe('checkMemberCommit', () => {
  const e = env({ t: 1 });
  const group = heartbeat(undefined, join('a', ['t']), e).group;
  it('allows the member at its epoch, and outsiders only while the group is empty', () => {
    expect(codeOf(() => checkMemberCommit(group, 'a', 1))).toBe('NONE');
    expect(codeOf(() => checkMemberCommit(group, 'a', 0))).toBe('STALE_MEMBER_EPOCH');
    expect(codeOf(() => checkMemberCommit(group, 'a', 2))).toBe('FENCED_MEMBER_EPOCH');
    expect(codeOf(() => checkMemberCommit(group, 'b', 1))).toBe('UNKNOWN_MEMBER_ID');
    expect(codeOf(() => checkMemberCommit(group, '', -1))).toBe('UNKNOWN_MEMBER_ID');
    expect(codeOf(() => checkMemberCommit(undefined, '', -1))).toBe('NONE');
    expect(codeOf(() => checkMemberCommit(removeMember(group, 'a'), '', -1))).toBe('NONE');
  });
});

type Step =
  | { kind: 'join'; member: number; topics: number[] }
  | { kind: 'beat'; member: number }
  | { kind: 'leave'; member: number }
  | { kind: 'crash'; member: number }
  | { kind: 'revoked'; member: number }
  | { kind: 'grow'; topic: number };

const TOPICS = ['a', 'b', 'c'];

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('join' as const),
      member: fc.nat(4),
      topics: fc.uniqueArray(fc.nat(2), { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('beat' as const), member: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), member: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), member: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('grow' as const), topic: fc.nat(2) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('revoked' as const), member: fc.nat(4) }) },
);

describe('generated histories', () => {
  it('no two live members ever own one partition, and compliant members converge', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 60 }),
        fc.constantFrom('uniform', 'range'),
        (steps, assignor) => {
          const counts: Record<string, number> = { a: 2, b: 3, c: 1 };
          let group: GroupState | undefined;
          // What each live client holds: it takes new partitions at once, but revokes slowly
          // (a callback runs, a commit is sent): what an answer no longer lists stays held until
          // a 'revoked' step, and its heartbeats keep reporting it meanwhile.
          const owned = new Map<string, TopicAssignment>();
          const revoking = new Map<string, TopicAssignment>();
          const e = (): GroupEnv => env(counts);
          const held = (id: string): TopicAssignment =>
            partitionSet([...(owned.get(id) ?? []), ...(revoking.get(id) ?? [])]);
          const adopt = (id: string, assigned: TopicAssignment): void => {
            const before = held(id);
            const gone = [...before].map(
              ([t, ps]) => [t, ps.filter((p) => !(assigned.get(t) ?? []).includes(p))] as const,
            );
            owned.set(id, assigned);
            revoking.set(id, partitionSet(gone));
          };
          const checkDisjoint = (): void => {
            const seen = new Set<string>();
            for (const id of owned.keys()) {
              for (const p of all(held(id))) {
                expect(seen.has(p)).toBe(false);
                seen.add(p);
              }
            }
          };
          for (const step of steps) {
            if (step.kind === 'grow') {
              counts[TOPICS[step.topic]!]! += 1;
              continue;
            }
            const id = `m${step.member}`;
            const isMember = group?.members.has(id) === true;
            if (step.kind === 'revoked') {
              if (owned.has(id)) revoking.set(id, partitionSet([]));
              continue;
            }
            if (step.kind === 'join') {
              if (isMember) continue;
              const out = heartbeat(
                group,
                {
                  ...join(
                    id,
                    step.topics.map((t) => TOPICS[t]!),
                  ),
                  serverAssignor: assignor,
                },
                e(),
              );
              group = out.group;
              owned.set(id, partitionSet([]));
              adopt(id, out.member!.assigned);
            } else if (step.kind === 'beat') {
              if (!isMember || group === undefined) continue;
              const out = heartbeat(group, beat(group, id, held(id)), e());
              group = out.group;
              adopt(id, out.member!.assigned);
            } else if (step.kind === 'leave') {
              if (!isMember || group === undefined) continue;
              owned.delete(id);
              revoking.delete(id);
              group = heartbeat(group, { ...beat(group, id, null), memberEpoch: -1 }, e()).group;
            } else {
              // A crash: the client is gone; the coordinator removes it when its session expires.
              if (!isMember || group === undefined) continue;
              owned.delete(id);
              revoking.delete(id);
              group = removeMember(group, id);
            }
            checkDisjoint();
          }
          if (group === undefined || group.members.size === 0) return;
          // Quiet period: every member finishes revoking and heartbeats a few rounds; the group
          // must settle.
          for (let round = 0; round < 4; round++) {
            for (const id of [...group.members.keys()].sort()) {
              revoking.set(id, partitionSet([]));
              const out = heartbeat(group, beat(group, id, held(id)), e());
              group = out.group;
              adopt(id, out.member!.assigned);
              checkDisjoint();
            }
          }
          expect(stateName(group)).toBe('Stable');
          const subscribed = new Set<string>();
          for (const m of group.members.values())
            for (const t of m.subscription.topicNames) subscribed.add(t);
          const expected = [...subscribed]
            .flatMap((t) => Array.from({ length: counts[t]! }, (_, p) => `${t}-${p}`))
            .sort();
          expect([...owned.keys()].flatMap((id) => all(held(id))).sort()).toEqual(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
