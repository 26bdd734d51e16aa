/**
 * The member side of KIP-848 as a pure state machine (src/client/group-membership.ts): each test
 * drives GroupMembership by hand with heartbeat answers, failures, task completions and clock
 * ticks, and checks what it asks the driver to do (heartbeats, tasks) and what it allows
 * (deliverable partitions, commits). A property test then runs random event sequences and
 * checks the safety rules after every step: only announced, owned, targeted partitions not
 * being revoked are deliverable, revocations come before assignments, and a partition stays
 * reported as owned until its revocation is done.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GroupMembership,
  partitionKey,
  type HeartbeatAnswer,
  type MemberPartition,
  type MembershipSettings,
  type OutgoingHeartbeat,
} from '../../../src/client/group-membership.js';

const SESSION_MS = 3_000;
const INTERVAL_MS = 300;

const settings: MembershipSettings = {
  memberId: 'member-1',
  clientId: 'client-1',
  sessionTimeoutMs: SESSION_MS,
  rebalanceTimeoutMs: 10_000,
  serverAssignor: 'uniform',
  backoffMs: (attempt) => 100 * 2 ** attempt,
  leaveAttemptsMax: 3,
};

const tp = (topic: string, partition: number): MemberPartition => ({ topic, partition });
const key = (topic: string, partition: number): string => partitionKey(tp(topic, partition));

function answer(
  assignment: readonly MemberPartition[],
  memberEpoch: number,
  errorCode = 'NONE',
): HeartbeatAnswer {
  const byTopic = new Map<string, number[]>();
  for (const p of assignment) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
  return {
    errorCode,
    error: errorCode === 'NONE' ? null : new Error(errorCode),
    retriable: errorCode === 'NONE' || errorCode === 'COORDINATOR_LOAD_IN_PROGRESS',
    memberEpoch,
    heartbeatIntervalMs: INTERVAL_MS,
    sessionTimeoutMs: SESSION_MS,
    assignment: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
  };
}

function owned(heartbeat: OutgoingHeartbeat): string[] {
  return heartbeat.request.ownedPartitions.flatMap(({ topic, partitions }) =>
    partitions.map((p) => key(topic, p)),
  );
}

/** A member that joined at `nowMs` 0 and was given `partitions` (announced) at epoch 1. */
function memberWith(partitions: readonly MemberPartition[]): GroupMembership {
  const m = new GroupMembership(settings);
  m.subscribe({ topicNames: ['a', 'b'], topicRegex: '' });
  const join = m.pollHeartbeat(0)!;
  m.onHeartbeatAnswer(join.seq, answer(partitions, 1), 10);
  const task = m.task();
  if (task !== null) m.taskDone(task, task.partitions);
  return m;
}

describe('joining', () => {
  it('sends nothing before subscribe, then a join with epoch 0, the subscription and nothing owned', () => {
    const m = new GroupMembership(settings);
    expect(m.pollHeartbeat(0)).toBeNull();
    m.subscribe({ topicNames: ['a'], topicRegex: '' });
    const join = m.pollHeartbeat(0)!;
    expect(join.request).toMatchObject({
      memberId: 'member-1',
      memberEpoch: 0,
      subscription: { topicNames: ['a'], topicRegex: '' },
      ownedPartitions: [],
      ownedPartitionsSet: true,
      clientId: 'client-1',
      sessionTimeoutMs: SESSION_MS,
      rebalanceTimeoutMs: 10_000,
      serverAssignor: 'uniform',
    });
    // One heartbeat in flight at a time.
    expect(m.pollHeartbeat(0)).toBeNull();
  });

  it('a new partition is owned (and reported) at once, deliverable only after its assign task', () => {
    const m = new GroupMembership(settings);
    m.subscribe({ topicNames: ['a'], topicRegex: '' });
    const join = m.pollHeartbeat(0)!;
    m.onHeartbeatAnswer(join.seq, answer([tp('a', 0), tp('a', 1)], 3), 10);
    expect(m.phase).toBe('member');
    expect(m.memberEpoch).toBe(3);
    expect(m.task()).toEqual({ kind: 'assign', partitions: [tp('a', 0), tp('a', 1)] });
    expect(m.isDeliverable(key('a', 0))).toBe(false);
    expect(m.isOwned(key('a', 0))).toBe(true);
    // The next heartbeat comes one interval after the answer and reports both as owned.
    expect(m.pollHeartbeat(10 + INTERVAL_MS - 1)).toBeNull();
    const beat = m.pollHeartbeat(10 + INTERVAL_MS)!;
    expect(beat.request.memberEpoch).toBe(3);
    expect(beat.request.subscription).toBeUndefined();
    expect(owned(beat)).toEqual([key('a', 0), key('a', 1)]);
    m.taskDone(m.task()!, [tp('a', 0), tp('a', 1)]);
    expect(m.isDeliverable(key('a', 0))).toBe(true);
    expect(m.assignment()).toEqual([tp('a', 0), tp('a', 1)]);
  });

  it('a changed subscription goes with the next heartbeat, at once, until an answer acknowledges it', () => {
    const m = memberWith([]);
    m.subscribe({ topicNames: [], topicRegex: 'orders-.*' });
    const first = m.pollHeartbeat(20)!;
    expect(first.request.subscription).toEqual({ topicNames: [], topicRegex: 'orders-.*' });
    m.onHeartbeatFailure(first.seq, { retriable: true, error: new Error('unreachable') }, 30);
    const retry = m.pollHeartbeat(30 + 100)!;
    expect(retry.request.subscription).toEqual({ topicNames: [], topicRegex: 'orders-.*' });
    m.onHeartbeatAnswer(retry.seq, answer([], 1), 140);
    expect(m.pollHeartbeat(140 + INTERVAL_MS)!.request.subscription).toBeUndefined();
  });
});

describe('reconciliation (KIP-848)', () => {
  it('revokes before it assigns, and reports a revoked partition until its revocation is done', () => {
    const m = memberWith([tp('a', 0), tp('a', 1)]);
    const beat = m.pollHeartbeat(400)!;
    // a-0 goes away, b-0 comes: the revocation runs first.
    m.onHeartbeatAnswer(beat.seq, answer([tp('a', 1), tp('b', 0)], 2), 410);
    expect(m.task()).toEqual({ kind: 'revoke', partitions: [tp('a', 0)] });
    expect(m.isDeliverable(key('a', 0))).toBe(false);
    expect(m.isDeliverable(key('a', 1))).toBe(true);
    expect(m.isDeliverable(key('b', 0))).toBe(false);
    // Heartbeats while the callback runs still report a-0: it is not gone yet.
    const during = m.pollHeartbeat(410 + INTERVAL_MS)!;
    expect(owned(during)).toContain(key('a', 0));
    m.onHeartbeatAnswer(during.seq, answer([tp('a', 1), tp('b', 0)], 2), 720);
    expect(m.task()?.kind).toBe('revoke');
    m.taskDone(m.task()!);
    // Done: the coordinator hears at once, and the new partition's assignment starts.
    expect(m.heartbeatDueMs()).toBe(0);
    const report = m.pollHeartbeat(730)!;
    expect(owned(report)).toEqual([key('a', 1), key('b', 0)]);
    expect(m.task()).toEqual({ kind: 'assign', partitions: [tp('b', 0)] });
    expect(m.isOwned(key('a', 0))).toBe(false);
  });

  it('a partition unlisted while its assign task runs is revoked (with its callback) after it', () => {
    const m = new GroupMembership(settings);
    m.subscribe({ topicNames: ['a'], topicRegex: '' });
    const join = m.pollHeartbeat(0)!;
    m.onHeartbeatAnswer(join.seq, answer([tp('a', 0)], 1), 10);
    const assign = m.task()!;
    const beat = m.pollHeartbeat(10 + INTERVAL_MS)!;
    m.onHeartbeatAnswer(beat.seq, answer([], 1), 320);
    expect(m.task()).toBe(assign);
    m.taskDone(assign, [tp('a', 0)]);
    expect(m.isDeliverable(key('a', 0))).toBe(false);
    expect(m.task()).toEqual({ kind: 'revoke', partitions: [tp('a', 0)] });
  });

  it('a partition unlisted before its assign task started is dropped without any callback', () => {
    const m = memberWith([tp('a', 0)]);
    const beat = m.pollHeartbeat(400)!;
    // b-0 arrives while a-0 is being revoked, then is taken back before its turn.
    m.onHeartbeatAnswer(beat.seq, answer([tp('b', 0)], 2), 410);
    expect(m.task()).toEqual({ kind: 'revoke', partitions: [tp('a', 0)] });
    const during = m.pollHeartbeat(410 + INTERVAL_MS)!;
    m.onHeartbeatAnswer(during.seq, answer([], 2), 720);
    m.taskDone(m.task()!);
    expect(m.task()).toBeNull();
    expect(m.isOwned(key('b', 0))).toBe(false);
    expect(owned(m.pollHeartbeat(730)!)).toEqual([]);
  });
});

describe('losing partitions', () => {
  it.each(['FENCED_MEMBER_EPOCH', 'UNKNOWN_MEMBER_ID'])(
    '%s: nothing is deliverable or committable at once; the lost callback runs; then it joins again with epoch 0 and the same id',
    (code) => {
      const m = memberWith([tp('a', 0), tp('a', 1)]);
      expect(m.commitIdentity()).toEqual({ memberId: 'member-1', memberEpoch: 1, generation: 0 });
      const beat = m.pollHeartbeat(400)!;
      m.onHeartbeatAnswer(beat.seq, answer([], 0, code), 410);
      expect(m.phase).toBe('fenced');
      expect(m.isDeliverable(key('a', 0))).toBe(false);
      expect(m.isOwned(key('a', 0))).toBe(false);
      expect(m.commitIdentity()).toBeNull();
      expect(m.task()).toEqual({ kind: 'lost', partitions: [tp('a', 0), tp('a', 1)] });
      // No heartbeat until the callback is done.
      expect(m.pollHeartbeat(10_000)).toBeNull();
      m.taskDone(m.task()!);
      const join = m.pollHeartbeat(10_001)!;
      expect(join.request).toMatchObject({
        memberId: 'member-1',
        memberEpoch: 0,
        ownedPartitions: [],
      });
      expect(join.request.subscription).toEqual({ topicNames: ['a', 'b'], topicRegex: '' });
    },
  );

  it('self-fences once no answer came for the session timeout, counted from the answered send', () => {
    const m = memberWith([tp('a', 0)]);
    // The join was sent at 0 and answered at 10: the session runs from 0.
    expect(m.sessionDeadlineMs()).toBe(SESSION_MS);
    const beat = m.pollHeartbeat(400)!;
    expect(m.tick(SESSION_MS - 1)).toBe(false);
    expect(m.isDeliverable(key('a', 0))).toBe(true);
    expect(m.tick(SESSION_MS)).toBe(true);
    expect(m.isDeliverable(key('a', 0))).toBe(false);
    expect(m.task()).toEqual({ kind: 'lost', partitions: [tp('a', 0)] });
    // The answer to the heartbeat sent before the loss is ignored.
    m.onHeartbeatAnswer(beat.seq, answer([tp('a', 0)], 1), SESSION_MS + 1);
    expect(m.isOwned(key('a', 0))).toBe(false);
    expect(m.memberEpoch).toBe(0);
  });

  it('an answer moves the session deadline to its send time', () => {
    const m = memberWith([tp('a', 0)]);
    const beat = m.pollHeartbeat(2_000)!;
    m.onHeartbeatAnswer(beat.seq, answer([tp('a', 0)], 1), 2_900);
    expect(m.sessionDeadlineMs()).toBe(2_000 + SESSION_MS);
    expect(m.tick(3_500)).toBe(false);
  });

  it('lost during an assign task: partitions whose callback ran are reported lost; others never announced', () => {
    const m = new GroupMembership(settings);
    m.subscribe({ topicNames: ['a'], topicRegex: '' });
    const join = m.pollHeartbeat(0)!;
    m.onHeartbeatAnswer(join.seq, answer([tp('a', 0), tp('a', 1)], 1), 10);
    const assign = m.task()!;
    m.tick(SESSION_MS);
    // The driver's callback saw only a-0 still owned? Nothing is owned after a loss: none.
    expect(m.isOwned(key('a', 0))).toBe(false);
    m.taskDone(assign, []);
    expect(m.task()).toBeNull();
    expect(m.phase).toBe('joining');
  });

  it('lost during a revoke task: the revocation finishes, then the rest is reported lost', () => {
    const m = memberWith([tp('a', 0), tp('a', 1)]);
    const beat = m.pollHeartbeat(400)!;
    m.onHeartbeatAnswer(beat.seq, answer([tp('a', 1)], 1), 410);
    const revoke = m.task()!;
    expect(revoke.partitions).toEqual([tp('a', 0)]);
    m.onCommitFenced(m.generation, 420);
    expect(m.isOwned(key('a', 0))).toBe(false);
    m.taskDone(revoke);
    expect(m.task()).toEqual({ kind: 'lost', partitions: [tp('a', 1)] });
  });

  it('a commit refusal of an older generation does not fence the current one', () => {
    const m = memberWith([tp('a', 0)]);
    const generation = m.generation;
    m.tick(SESSION_MS);
    m.taskDone(m.task()!);
    const join = m.pollHeartbeat(SESSION_MS + 1)!;
    m.onHeartbeatAnswer(join.seq, answer([], 4), SESSION_MS + 2);
    m.onCommitFenced(generation, SESSION_MS + 3);
    expect(m.phase).toBe('member');
    expect(m.memberEpoch).toBe(4);
  });
});

describe("when ownership ended (the callbacks' atMs)", () => {
  it('a loss by self-fencing dates from the session deadline, however late it is noticed', () => {
    const m = memberWith([tp('a', 0)]);
    // A paused process: the join (sent at 0) was the last answered heartbeat; it resumes at 9 s.
    expect(m.tick(9_000)).toBe(true);
    expect(m.task()).toEqual({ kind: 'lost', partitions: [tp('a', 0)] });
    expect(m.ownershipEndMs(9_050)).toBe(SESSION_MS);
  });

  it('a fencing answer ends ownership when it is applied, or at the deadline if that passed', () => {
    const early = memberWith([tp('a', 0)]);
    const beat = early.pollHeartbeat(400)!;
    early.onHeartbeatAnswer(beat.seq, answer([], 0, 'FENCED_MEMBER_EPOCH'), 450);
    expect(early.ownershipEndMs(500)).toBe(450);

    // The answer is read only after the process resumes, past the session deadline.
    const late = memberWith([tp('a', 0)]);
    const lateBeat = late.pollHeartbeat(400)!;
    late.onHeartbeatAnswer(lateBeat.seq, answer([], 0, 'UNKNOWN_MEMBER_ID'), 7_000);
    expect(late.task()?.kind).toBe('lost');
    expect(late.ownershipEndMs(7_010)).toBe(SESSION_MS);
  });

  it('a refused commit ends ownership when it is applied', () => {
    const m = memberWith([tp('a', 0)]);
    m.onCommitFenced(m.generation, 1_234);
    expect(m.ownershipEndMs(2_000)).toBe(1_234);
  });

  it('a revocation ends ownership when its task starts, never after the session deadline', () => {
    const m = memberWith([tp('a', 0), tp('a', 1)]);
    const beat = m.pollHeartbeat(400)!;
    m.onHeartbeatAnswer(beat.seq, answer([tp('a', 1)], 2), 410);
    expect(m.task()?.kind).toBe('revoke');
    // The session now runs from 400: started at once, the revocation ends ownership then.
    expect(m.ownershipEndMs(420)).toBe(420);
    // Started late (the application held a record through a pause), it ended at the deadline.
    expect(m.ownershipEndMs(9_000)).toBe(400 + SESSION_MS);
  });

  it('the next generation starts afresh: a new loss dates from its own deadline', () => {
    const m = memberWith([tp('a', 0)]);
    m.tick(SESSION_MS);
    m.taskDone(m.task()!);
    const join = m.pollHeartbeat(5_000)!;
    m.onHeartbeatAnswer(join.seq, answer([tp('a', 0)], 3), 5_010);
    m.taskDone(m.task()!, [tp('a', 0)]);
    expect(m.ownershipEndMs(6_000)).toBe(6_000);
    m.tick(5_000 + SESSION_MS);
    expect(m.ownershipEndMs(20_000)).toBe(5_000 + SESSION_MS);
  });
});

describe('failures and leaving', () => {
  it('backs off after a retriable failure and resends the same epoch and owned partitions', () => {
    const m = memberWith([tp('a', 0)]);
    const beat = m.pollHeartbeat(400)!;
    m.onHeartbeatFailure(beat.seq, { retriable: true, error: new Error('unavailable') }, 500);
    expect(m.heartbeatDueMs()).toBe(600);
    expect(m.pollHeartbeat(599)).toBeNull();
    const retry = m.pollHeartbeat(600)!;
    expect(retry.request.memberEpoch).toBe(1);
    expect(owned(retry)).toEqual([key('a', 0)]);
    m.onHeartbeatAnswer(retry.seq, answer([], 0, 'COORDINATOR_LOAD_IN_PROGRESS'), 610);
    expect(m.heartbeatDueMs()).toBe(610 + 200);
  });

  it('a fatal answer stops the member, loses its partitions and keeps the error', () => {
    const m = memberWith([tp('a', 0)]);
    const beat = m.pollHeartbeat(400)!;
    m.onHeartbeatAnswer(beat.seq, answer([], 0, 'INVALID_SESSION_TIMEOUT'), 410);
    expect(m.phase).toBe('failed');
    expect((m.fatalError as Error).message).toBe('INVALID_SESSION_TIMEOUT');
    expect(m.task()).toEqual({ kind: 'lost', partitions: [tp('a', 0)] });
    m.taskDone(m.task()!);
    expect(m.heartbeatDueMs()).toBeNull();
    expect(m.pollHeartbeat(100_000)).toBeNull();
  });

  it('leaving revokes everything first, then sends epoch -1, then is left', () => {
    const m = memberWith([tp('a', 0), tp('b', 0)]);
    m.leave();
    expect(m.phase).toBe('leaving');
    expect(m.task()).toEqual({ kind: 'revoke', partitions: [tp('a', 0), tp('b', 0)] });
    expect(m.isDeliverable(key('a', 0))).toBe(false);
    // The session is kept alive while the callback runs.
    const during = m.pollHeartbeat(400)!;
    expect(during.request.memberEpoch).toBe(1);
    m.onHeartbeatAnswer(during.seq, answer([tp('a', 0), tp('b', 0), tp('c', 0)], 1), 410);
    expect(m.isOwned(key('c', 0))).toBe(false);
    expect(m.commitIdentity()?.memberEpoch).toBe(1);
    m.taskDone(m.task()!);
    const leave = m.pollHeartbeat(420)!;
    expect(leave.request).toMatchObject({ memberId: 'member-1', memberEpoch: -1 });
    m.onHeartbeatAnswer(leave.seq, answer([], -1), 430);
    expect(m.phase).toBe('left');
    expect(m.heartbeatDueMs()).toBeNull();
  });

  it('leaving before anything was sent needs no leave heartbeat', () => {
    const m = new GroupMembership(settings);
    m.leave();
    expect(m.phase).toBe('left');
    const n = new GroupMembership(settings);
    n.subscribe({ topicNames: ['a'], topicRegex: '' });
    n.leave();
    expect(n.pollHeartbeat(0)).toBeNull();
    expect(n.phase).toBe('left');
  });

  it('gives up a leave after leaveAttemptsMax failures', () => {
    const m = memberWith([]);
    m.leave();
    let nowMs = 100;
    for (let i = 0; i < settings.leaveAttemptsMax; i++) {
      const leave = m.pollHeartbeat(nowMs)!;
      expect(leave.request.memberEpoch).toBe(-1);
      m.onHeartbeatFailure(leave.seq, { retriable: true, error: new Error('down') }, nowMs);
      nowMs += 10_000;
    }
    expect(m.phase).toBe('left');
  });
});

describe('safety over random event sequences', () => {
  const universe = [tp('a', 0), tp('a', 1), tp('b', 0), tp('b', 1)];
  type Step =
    | { kind: 'answer'; assigned: boolean[]; code: string }
    | { kind: 'fail' }
    | { kind: 'taskDone' }
    | { kind: 'advance'; ms: number }
    | { kind: 'commitFenced' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      kind: fc.constant('answer' as const),
      assigned: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      code: fc.constantFrom(
        'NONE',
        'NONE',
        'NONE',
        'NONE',
        'FENCED_MEMBER_EPOCH',
        'UNKNOWN_MEMBER_ID',
      ),
    }),
    fc.constant({ kind: 'fail' as const }),
    fc.constant({ kind: 'taskDone' as const }),
    fc.constant({ kind: 'taskDone' as const }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2_000 }) }),
    fc.constant({ kind: 'commitFenced' as const }),
  );

  it('only announced, owned, targeted partitions not being revoked are ever deliverable; revocations come first', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const m = new GroupMembership(settings);
        m.subscribe({ topicNames: ['a', 'b'], topicRegex: '' });
        let nowMs = 0;
        let inflight: OutgoingHeartbeat | null = null;
        let target = new Set<string>();
        const announced = new Set<string>();
        let epoch = 1;
        let previousTask: ReturnType<typeof m.task> = null;
        for (const s of steps) {
          inflight ??= m.pollHeartbeat(nowMs);
          if (s.kind === 'answer' && inflight !== null) {
            const assignment = universe.filter((_, i) => s.assigned[i]);
            if (s.code === 'NONE') target = new Set(assignment.map(partitionKey));
            m.onHeartbeatAnswer(
              inflight.seq,
              answer(assignment, s.code === 'NONE' ? epoch++ : 0, s.code),
              nowMs,
            );
            inflight = null;
          } else if (s.kind === 'fail' && inflight !== null) {
            m.onHeartbeatFailure(inflight.seq, { retriable: true, error: new Error('x') }, nowMs);
            inflight = null;
          } else if (s.kind === 'taskDone' && m.task() !== null) {
            const task = m.task()!;
            // The driver announces what is still owned when the callback runs.
            const still = task.partitions.filter((p) => m.isOwned(partitionKey(p)));
            if (task.kind === 'assign') for (const p of still) announced.add(partitionKey(p));
            if (task.kind !== 'assign')
              for (const p of task.partitions) announced.delete(partitionKey(p));
            m.taskDone(task, task.kind === 'assign' ? still : []);
          } else if (s.kind === 'advance') {
            nowMs += s.ms;
            if (m.tick(nowMs)) inflight = null;
          } else if (s.kind === 'commitFenced') {
            m.onCommitFenced(m.generation, nowMs);
            if (m.phase === 'fenced') inflight = null;
          }
          if (m.phase === 'fenced' || m.phase === 'joining') target = new Set();
          const task = m.task();
          for (const p of universe) {
            const k = partitionKey(p);
            if (!m.isDeliverable(k)) continue;
            expect(announced.has(k) && m.isOwned(k) && target.has(k)).toBe(true);
            expect(
              task?.kind === 'revoke' && task.partitions.some((q) => partitionKey(q) === k),
            ).toBe(false);
          }
          if (task?.kind === 'assign' && task !== previousTask) {
            // No announced partition the target dropped waits behind a new assignment (one
            // already running finishes first: a task is never preempted, and the dropped
            // partition is not deliverable meanwhile, as checked above).
            for (const k of announced) expect(target.has(k) || !m.isOwned(k)).toBe(true);
            // When handed out, an assign task's partitions are owned (a loss may end that later).
            for (const p of task.partitions) expect(m.isOwned(partitionKey(p))).toBe(true);
          }
          previousTask = task;
          if (task?.kind === 'lost') expect(m.commitIdentity()).toBeNull();
          // Ownership never ends in the future, nor after the session deadline.
          expect(m.ownershipEndMs(nowMs)).toBeLessThanOrEqual(nowMs);
          expect(m.ownershipEndMs(nowMs)).toBeLessThanOrEqual(m.sessionDeadlineMs() ?? Infinity);
          // A partition whose revocation is not done is still reported as owned.
          const next: OutgoingHeartbeat | null =
            inflight === null && m.phase === 'member' ? m.pollHeartbeat(nowMs + 100_000) : null;
          if (next !== null) {
            inflight = next;
            const reported = new Set(owned(next));
            if (next.request.memberEpoch === 0) expect(reported.size).toBe(0);
            for (const k of announced) if (m.isOwned(k)) expect(reported.has(k)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
