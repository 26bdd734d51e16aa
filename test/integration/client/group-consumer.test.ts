/**
 * GroupConsumer against a real 3-node cluster (KIP-848 consumer groups): brokers are separate
 * `brook server` processes on loopback with short heartbeat intervals, members are GroupConsumers
 * in this process or, for crash tests, in a child process (test/helpers/group-member-child.mjs)
 * that prints every record it processed before committing it and is killed with SIGKILL. The
 * checks are about outcomes, never timings: who owns what (each member's assignment() and the
 * coordinator's DescribeGroups), that every produced record reaches the group (none lost across
 * crashes with commits after processing: at-least-once), and that graceful handovers (revoke
 * callbacks, close()) start the next owner where the previous one stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  GroupConsumer,
  Producer,
  type GroupConsumerOptions,
  type TopicPartition,
} from '../../../src/client/index.js';
import type {
  DescribeGroupsResponse__Output,
  DescribedGroup__Output,
  FindCoordinatorResponse__Output,
} from '../../../src/proto/index.js';
import { startCluster, type BrokerProcess } from '../../helpers/broker-process.js';
import { FAST_CLUSTER_ARGS, bootstrapOf, createTopic, waitFor } from '../../helpers/cluster.js';
import { call, rawClients } from '../../helpers/grpc.js';

const CHILD = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'helpers',
  'group-member-child.mjs',
);

const GROUP_ARGS = [
  ...FAST_CLUSTER_ARGS,
  '--offsets-topic-num-partitions',
  '3',
  '--group-consumer-heartbeat-interval-ms',
  '200',
];

/** Short sessions so crash tests move on quickly (the broker's minimum is 1000 ms). */
const SESSION_MS = 3_000;

interface Consumed {
  readonly member: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

/** A GroupConsumer in this process with a reading loop that records what it consumed. */
interface Member {
  readonly name: string;
  readonly consumer: GroupConsumer;
  readonly records: Consumed[];
  readonly errors: unknown[];
  readonly done: Promise<void>;
}

let nodes: BrokerProcess[] = [];
let members: Member[] = [];
let children: ChildProcess[] = [];

function startMember(
  name: string,
  groupId: string,
  topics: string[] | RegExp,
  options: Partial<GroupConsumerOptions> & { commitEach?: boolean } = {},
): Member {
  const { commitEach = false, ...rest } = options;
  const consumer = new GroupConsumer({
    bootstrap: bootstrapOf(nodes),
    groupId,
    clientId: name,
    sessionTimeoutMs: SESSION_MS,
    autoOffsetReset: 'earliest',
    ...rest,
  });
  const records: Consumed[] = [];
  const errors: unknown[] = [];
  consumer.subscribe(topics);
  const done = (async (): Promise<void> => {
    for await (const r of consumer) {
      const value = r.value?.toString('utf8') ?? '';
      records.push({
        member: name,
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        value,
      });
      if (commitEach) await consumer.commit();
    }
  })().catch((error: unknown) => {
    errors.push(error);
  });
  const member = { name, consumer, records, errors, done };
  members.push(member);
  return member;
}

async function stopMember(member: Member): Promise<void> {
  await member.consumer.close();
  await member.done;
  expect(member.errors).toEqual([]);
}

/** A member in a child process; `events` fills as it prints. */
interface ChildMember {
  readonly process: ChildProcess;
  readonly events: Record<string, unknown>[];
  /** What it owns by its own callbacks: assigned minus revoked and lost. */
  owned(): Set<string>;
  records(): Consumed[];
}

function spawnMember(options: Record<string, unknown>): ChildMember {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const events: Record<string, unknown>[] = [];
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines)
      if (line !== '') events.push(JSON.parse(line) as Record<string, unknown>);
  });
  return {
    process: child,
    events,
    owned: () => {
      const owned = new Set<string>();
      for (const e of events) {
        const partitions = (e['partitions'] ?? []) as TopicPartition[];
        for (const p of partitions) {
          if (e['event'] === 'assigned') owned.add(keyOf(p));
          else owned.delete(keyOf(p));
        }
      }
      return owned;
    },
    records: () =>
      events
        .filter((e) => e['event'] === 'record')
        .map((e) => ({
          member: 'child',
          topic: e['topic'] as string,
          partition: e['partition'] as number,
          offset: e['offset'] as number,
          value: e['value'] as string,
        })),
  };
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

function keyOf(tp: { topic: string; partition: number }): string {
  return `${tp.topic}-${tp.partition}`;
}

/** Which member owns each partition, by the members' own assignment(); null on an overlap. */
function owners(of: readonly Member[]): Map<string, string> | null {
  const out = new Map<string, string>();
  for (const m of of) {
    for (const tp of m.consumer.assignment()) {
      if (out.has(keyOf(tp))) return null;
      out.set(keyOf(tp), m.name);
    }
  }
  return out;
}

/** The group as its coordinator describes it (FindCoordinator, then DescribeGroups). */
async function describeGroup(
  groupId: string,
): Promise<DescribedGroup__Output & { coordinatorNode: number }> {
  const via = nodes.find((n) => n.isRunning());
  if (via === undefined) throw new Error('no running node');
  const raw = rawClients(via.address);
  try {
    const found = await call<FindCoordinatorResponse__Output>(raw.groups, 'FindCoordinator', {
      groupIds: [groupId],
    });
    const coordinator = found.coordinators[0];
    if (coordinator === undefined || coordinator.errorCode !== 'NONE') {
      throw new Error(`no coordinator: ${coordinator?.errorMessage}`);
    }
    const direct = rawClients(coordinator.address);
    try {
      const described = await call<DescribeGroupsResponse__Output>(
        direct.groups,
        'DescribeGroups',
        {
          groupIds: [groupId],
        },
      );
      const group = described.groups[0];
      if (group === undefined || group.errorCode !== 'NONE') {
        throw new Error(`DescribeGroups: ${group?.errorCode} ${group?.errorMessage}`);
      }
      return { ...group, coordinatorNode: coordinator.nodeId };
    } finally {
      direct.close();
    }
  } finally {
    raw.close();
  }
}

/** True when the coordinator says Stable with `count` members and each client agrees with it. */
async function isStable(groupId: string, of: readonly Member[]): Promise<boolean> {
  const group = await describeGroup(groupId);
  if (group.state !== 'Stable' || group.members.length !== of.length) return false;
  for (const m of of) {
    const described = group.members.find((d) => d.memberId === m.consumer.memberId);
    if (described === undefined) return false;
    const server = described.assignment.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p}`));
    const client = m.consumer.assignment().map(keyOf);
    if (server.sort().join() !== client.sort().join()) return false;
  }
  return true;
}

async function produce(topic: string, values: readonly string[]): Promise<void> {
  // Enough retries to ride out a leader election after a node is killed.
  const producer = new Producer({ bootstrap: bootstrapOf(nodes), lingerMs: 5, retries: 50 });
  try {
    await Promise.all(values.map((value) => producer.send({ topic, key: value, value })));
  } finally {
    await producer.close();
  }
}

function valuesOf(records: readonly Consumed[]): Set<string> {
  return new Set(records.map((r) => r.value));
}

function range(prefix: string, from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`);
}

async function cleanupMembers(): Promise<void> {
  await Promise.all(children.map((child) => killChild(child)));
  children = [];
  await Promise.all(members.map((m) => m.consumer.close().then(() => m.done)));
  members = [];
}

describe('GroupConsumer on a 3-node cluster', () => {
  beforeAll(async () => {
    nodes = await startCluster(3, { extraArgs: GROUP_ARGS });
  });

  afterEach(cleanupMembers);

  afterAll(async () => {
    await cleanupMembers();
    await Promise.all(nodes.map((n) => n.cleanup()));
    nodes = [];
  });

  it(
    'three members share six partitions two each; a fourth takes only from the others, moving as few as possible; every record is consumed once',
    { timeout: 120_000 },
    async () => {
      await createTopic(nodes[0]!, 'shares', 6, 3);
      const group = 'g-shares';
      const first = ['a', 'b', 'c'].map((name) => startMember(name, group, ['shares']));
      await waitFor('two partitions each, agreed with the coordinator', async () =>
        (await isStable(group, first)) && first.every((m) => m.consumer.assignment().length === 2)
          ? true
          : undefined,
      );
      const before = owners(first);
      expect(before?.size).toBe(6);
      await produce('shares', range('s', 0, 120));

      const d = startMember('d', group, ['shares']);
      const all = [...first, d];
      await produce('shares', range('s', 120, 240));
      await waitFor('a stable group of four', async () =>
        (await isStable(group, all)) && d.consumer.assignment().length > 0 ? true : undefined,
      );
      const after = owners(all);
      expect(after?.size).toBe(6);
      // Sticky (uniform) assignment: only the partitions the new member got moved, at most
      // ceil(6 / 4) of them, and every old member kept a subset of what it had.
      const moved = [...after!].filter(([tp, owner]) => before!.get(tp) !== owner);
      expect(moved.every(([, owner]) => owner === 'd')).toBe(true);
      expect(moved.length).toBe(d.consumer.assignment().length);
      expect(moved.length).toBeLessThanOrEqual(2);
      for (const m of first) {
        for (const tp of m.consumer.assignment()) expect(before!.get(keyOf(tp))).toBe(m.name);
      }

      const produced = range('s', 0, 240);
      await waitFor('every record consumed', () =>
        valuesOf(all.flatMap((m) => m.records)).size === produced.length ? true : undefined,
      );
      // A graceful handover (revocation after the record in hand, auto-commit, then the report)
      // starts the new owner where the old one stopped: no record twice.
      const consumed = all.flatMap((m) => m.records);
      expect(consumed.length).toBe(produced.length);
      expect([...valuesOf(consumed)].sort()).toEqual([...produced].sort());
      for (const m of all) await stopMember(m);
    },
  );

  it(
    'a member killed with SIGKILL loses its partitions to the others after its session; with commits after processing no record is lost',
    { timeout: 120_000 },
    async () => {
      await createTopic(nodes[1]!, 'crash', 6, 3);
      const group = 'g-crash';
      await produce('crash', range('c', 0, 300));
      const child = spawnMember({
        bootstrap: bootstrapOf(nodes),
        groupId: group,
        topics: ['crash'],
        sessionTimeoutMs: SESSION_MS,
        delayMs: 20,
      });
      await waitFor('the child owning all six partitions', () =>
        child.owned().size === 6 ? true : undefined,
      );
      const a = startMember('a', group, ['crash'], { commitEach: true });
      const b = startMember('b', group, ['crash'], { commitEach: true });
      await waitFor('the child down to two partitions, each in one member', () => {
        const mine = owners([a, b]);
        if (mine === null || child.owned().size !== 2 || mine.size !== 4) return undefined;
        return [...child.owned()].every((tp) => !mine.has(tp)) ? true : undefined;
      });
      const childOwned = child.owned();
      const printed = child.records().length;
      await waitFor('the child reading its two partitions', () =>
        child.records().length >= printed + 5 ? true : undefined,
      );
      await killChild(child.process);
      const childRecords = child.records();

      await waitFor('the survivors owning all six partitions', () =>
        owners([a, b])?.size === 6 ? true : undefined,
      );
      for (const tp of childOwned) expect(owners([a, b])?.has(tp)).toBe(true);
      await produce('crash', range('c', 300, 450));
      const produced = range('c', 0, 450);
      await waitFor('every record consumed by someone', () => {
        const seen = valuesOf([...childRecords, ...a.records, ...b.records]);
        return produced.every((v) => seen.has(v)) ? true : undefined;
      });
      // The survivors resumed the child's partitions at or before what it had printed: records
      // it printed but had not committed come again (at-least-once), none is skipped.
      for (const tp of childOwned) {
        const printedOffsets = childRecords.filter((r) => keyOf(r) === tp).map((r) => r.offset);
        const resumed = [...a.records, ...b.records].filter((r) => keyOf(r) === tp);
        if (printedOffsets.length === 0 || resumed.length === 0) continue;
        expect(Math.min(...resumed.map((r) => r.offset))).toBeLessThanOrEqual(
          Math.max(...printedOffsets) + 1,
        );
      }
      await stopMember(a);
      await stopMember(b);
    },
  );

  it(
    'a member paused past its session (SIGSTOP) treats its partitions as lost before it hands out another record of them',
    { timeout: 120_000 },
    async () => {
      await createTopic(nodes[2]!, 'pause', 3, 3);
      const group = 'g-pause';
      await produce('pause', range('p', 0, 600));
      const a = startMember('a', group, ['pause'], { commitEach: true });
      await waitFor('a owning all three', () =>
        a.consumer.assignment().length === 3 ? true : undefined,
      );
      const child = spawnMember({
        bootstrap: bootstrapOf(nodes),
        groupId: group,
        topics: ['pause'],
        sessionTimeoutMs: SESSION_MS,
        delayMs: 20,
        // No commit between waking up and the next record: only self-fencing can stop it.
        commitAfterEach: false,
      });
      await waitFor('the child reading partitions of its own', () =>
        child.owned().size > 0 && child.records().length >= 5 ? true : undefined,
      );
      const stoppedAtMs = performance.timeOrigin + performance.now();
      child.process.kill('SIGSTOP');
      await waitFor('a owning all three again (the coordinator dropped the silent child)', () =>
        a.consumer.assignment().length === 3 ? true : undefined,
      );
      // Stopped for a whole session: everything it printed before the stop has been read.
      const ownedAtStop = child.owned();
      const eventsBeforeWake = child.events.length;
      const wokeAtMs = performance.timeOrigin + performance.now();
      child.process.kill('SIGCONT');
      await waitFor('the child reporting its partitions lost', () =>
        child.events.slice(eventsBeforeWake).some((e) => e['event'] === 'lost') ? true : undefined,
      );
      // Awake, its first word is the loss: no record of a partition given away while it slept.
      // One exception: the stop may have frozen the child after the consumer handed it a record
      // (before its session ran out) but before it printed it; that record then prints on
      // waking. It is the one right after the last record printed before the stop.
      const afterWake = child.events.slice(eventsBeforeWake);
      const lostAt = afterWake.findIndex((e) => e['event'] === 'lost');
      const printedAfterWake = afterWake.slice(0, lostAt).filter((e) => e['event'] === 'record');
      expect(printedAfterWake.length).toBeLessThanOrEqual(1);
      for (const late of printedAfterWake) {
        const before = child.events
          .slice(0, eventsBeforeWake)
          .filter((e) => e['event'] === 'record' && e['partition'] === late['partition']);
        const lastBefore = before.at(-1)?.['offset'] as number | undefined;
        expect(late['offset']).toBe(lastBefore === undefined ? late['offset'] : lastBefore + 1);
      }
      expect(
        new Set(((afterWake[lostAt]?.['partitions'] ?? []) as TopicPartition[]).map(keyOf)),
      ).toEqual(ownedAtStop);
      // The loss dates from its session deadline, while it was stopped, not from its waking:
      // within a session after the stop (the last answered heartbeat came before the stop).
      const lostAtMs = afterWake[lostAt]?.['atMs'] as number;
      expect(lostAtMs).toBeLessThan(wokeAtMs);
      expect(lostAtMs).toBeGreaterThan(stoppedAtMs);
      expect(lostAtMs).toBeLessThanOrEqual(stoppedAtMs + SESSION_MS);
      // And over its whole life, replaying its own callbacks: every record it printed was of a
      // partition it owned at that moment.
      const owned = new Set<string>();
      for (const e of child.events) {
        const partitions = (e['partitions'] ?? []) as TopicPartition[];
        if (e['event'] === 'assigned') for (const p of partitions) owned.add(keyOf(p));
        if (e['event'] === 'revoked' || e['event'] === 'lost') {
          for (const p of partitions) owned.delete(keyOf(p));
        }
        if (e['event'] === 'record') {
          expect(owned.has(`${e['topic'] as string}-${e['partition'] as number}`)).toBe(true);
        }
      }
      const produced = range('p', 0, 600);
      await waitFor('every record consumed by someone', () => {
        const seen = valuesOf([...child.records(), ...a.records]);
        return produced.every((v) => seen.has(v)) ? true : undefined;
      });
      await killChild(child.process);
      await stopMember(a);
    },
  );

  it(
    'a revoke callback that commits has its commit in effect before the partition moves',
    { timeout: 120_000 },
    async () => {
      await createTopic(nodes[2]!, 'handover', 4, 3);
      const group = 'g-handover';
      await produce('handover', range('h', 0, 200));
      const committedAtRevoke: TopicPartition[][] = [];
      // No auto-commit: only the callback's commit can tell the next owner where to start.
      const a: Member = startMember('a', group, ['handover'], {
        enableAutoCommit: false,
        onPartitionsRevoked: async (partitions) => {
          await a.consumer.commit();
          committedAtRevoke.push(partitions);
        },
      });
      await waitFor('a read everything', () => (a.records.length >= 200 ? true : undefined));
      const b = startMember('b', group, ['handover'], { enableAutoCommit: false });
      await waitFor('two partitions each', async () =>
        (await isStable(group, [a, b])) && b.consumer.assignment().length === 2 ? true : undefined,
      );
      expect(committedAtRevoke.flat().map(keyOf).sort()).toEqual(
        b.consumer.assignment().map(keyOf).sort(),
      );
      await produce('handover', range('h', 200, 300));
      const produced = range('h', 0, 300);
      await waitFor('every record consumed', () =>
        valuesOf([...a.records, ...b.records]).size === produced.length ? true : undefined,
      );
      // b starts with autoOffsetReset 'earliest': had the commit not been in effect when the
      // partitions moved, b would have read them again from the start.
      expect(a.records.length + b.records.length).toBe(produced.length);
      expect(b.records.every((r) => Number(r.value.slice(2)) >= 200)).toBe(true);
      await stopMember(b);
      await stopMember(a);
    },
  );

  it(
    'close() leaves the group: the coordinator drops the member at once and the others take over without waiting for its session',
    { timeout: 120_000 },
    async () => {
      await createTopic(nodes[0]!, 'leave', 4, 3);
      const group = 'g-leave';
      // A session far longer than this test waits: only a leave can free the partitions.
      const long = { sessionTimeoutMs: 120_000 };
      const a = startMember('a', group, ['leave'], long);
      const b = startMember('b', group, ['leave'], long);
      await waitFor('two partitions each', async () =>
        (await isStable(group, [a, b])) && a.consumer.assignment().length === 2 ? true : undefined,
      );
      await produce('leave', range('l', 0, 100));
      await waitFor('all read', () =>
        a.records.length + b.records.length >= 100 ? true : undefined,
      );
      await stopMember(a);
      expect(a.consumer.phase).toBe('left');
      const described = await describeGroup(group);
      expect(described.members.map((m) => m.memberId)).toEqual([b.consumer.memberId]);
      await waitFor(
        'b owning all four partitions',
        async () =>
          (await isStable(group, [b])) && b.consumer.assignment().length === 4 ? true : undefined,
        60_000,
      );
      await produce('leave', range('l', 100, 150));
      await waitFor('b read the new records', () =>
        b.records.filter((r) => Number(r.value.slice(2)) >= 100).length === 50 ? true : undefined,
      );
      // a auto-committed on close, so b did not read a's records again.
      expect(a.records.length + b.records.length).toBe(150);
      await stopMember(b);
    },
  );

  it(
    'a regex subscription picks up a matching topic created later, and never a non-matching one',
    { timeout: 120_000 },
    async () => {
      await createTopic(nodes[0]!, 'regex-a', 2, 3);
      await createTopic(nodes[0]!, 'other-regex', 1, 3);
      const group = 'g-regex';
      const m = startMember('m', group, /regex-.*/);
      await waitFor('regex-a assigned', () =>
        m.consumer.assignment().length === 2 ? true : undefined,
      );
      await createTopic(nodes[1]!, 'regex-b', 3, 3);
      await waitFor('regex-b assigned too', () =>
        m.consumer.assignment().length === 5 ? true : undefined,
      );
      expect(new Set(m.consumer.assignment().map((tp) => tp.topic))).toEqual(
        new Set(['regex-a', 'regex-b']),
      );
      await produce('regex-b', range('rb', 0, 30));
      await produce('other-regex', range('o', 0, 10));
      await waitFor('regex-b records read', () =>
        m.records.filter((r) => r.topic === 'regex-b').length === 30 ? true : undefined,
      );
      expect(m.records.some((r) => r.topic === 'other-regex')).toBe(false);
      await stopMember(m);
    },
  );
});

describe('GroupConsumer when the coordinator dies', () => {
  beforeAll(async () => {
    nodes = await startCluster(3, { extraArgs: GROUP_ARGS });
  });

  afterEach(cleanupMembers);

  afterAll(async () => {
    await cleanupMembers();
    await Promise.all(nodes.map((n) => n.cleanup()));
    nodes = [];
  });

  it(
    'the group continues from its committed offsets after the coordinator node is killed',
    { timeout: 120_000 },
    async () => {
      await createTopic(nodes[0]!, 'coord', 4, 3, { 'min.insync.replicas': '1' });
      const group = 'g-coord';
      await produce('coord', range('k', 0, 200));
      const a = startMember('a', group, ['coord'], { commitEach: true });
      const b = startMember('b', group, ['coord'], { commitEach: true });
      await waitFor('all read', () =>
        valuesOf([...a.records, ...b.records]).size === 200 ? true : undefined,
      );
      const { coordinatorNode } = await describeGroup(group);
      const victim = nodes.find((n) => n.nodeId === coordinatorNode)!;
      await victim.kill('SIGKILL');
      await produce('coord', range('k', 200, 400));
      await waitFor('the group reads on under a new coordinator', () =>
        valuesOf([...a.records, ...b.records]).size === 400 ? true : undefined,
      );
      const after = await describeGroup(group);
      expect(after.coordinatorNode).not.toBe(coordinatorNode);
      await stopMember(a);
      await stopMember(b);

      // The commits survived the move: a new member starts after everything read so far.
      await produce('coord', range('k', 400, 450));
      const c = startMember('c', group, ['coord']);
      await waitFor('the new member read the new records', () =>
        valuesOf(c.records).size === 50 ? true : undefined,
      );
      expect(c.records.every((r) => Number(r.value.slice(2)) >= 400)).toBe(true);
      await stopMember(c);
    },
  );
});
