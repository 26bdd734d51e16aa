/**
 * `brook groups` as a user runs it: separate bin/brook processes against one real broker. Each
 * subcommand's happy path is checked through its text and --json output, and each bad input
 * through its exit code (2 for usage, 1 for a refusal) and its single `brook: ` line on stderr.
 * Members are joined with raw GroupHeartbeat calls, as a consumer would.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer } from '../../../src/client/index.js';
import { brookV1, type GroupHeartbeatResponse__Output } from '../../../src/proto/index.js';
import {
  runCli,
  startBroker,
  type BrokerProcess,
  type CliResult,
} from '../../helpers/broker-process.js';
import { call } from '../../helpers/grpc.js';

const TOPIC = 'cg-orders';
/** Record i of every partition has this create time plus i hours. */
const BASE_TIME_MS = Date.UTC(2024, 4, 1);
const HOUR_MS = 3_600_000;

let broker: BrokerProcess;
let admin: Admin;

beforeAll(async () => {
  broker = await startBroker({ extraArgs: ['--offsets-topic-num-partitions', '3'] });
  admin = new Admin({ bootstrap: broker.address, retries: 5 });
  const [created] = await admin.createTopics([{ name: TOPIC, partitions: 2 }]);
  expect(created?.error).toBeUndefined();
  const producer = new Producer({ bootstrap: broker.address, acks: 'all', lingerMs: 0 });
  try {
    // Partition 0 gets 10 records, partition 1 gets 5.
    for (const [partition, count] of [
      [0, 10],
      [1, 5],
    ] as const) {
      await Promise.all(
        Array.from({ length: count }, (_, i) =>
          producer.send({
            topic: TOPIC,
            partition,
            value: `r${i}`,
            timestampMs: BASE_TIME_MS + i * HOUR_MS,
          }),
        ),
      );
    }
  } finally {
    await producer.close();
  }
});

afterAll(async () => {
  await admin?.close();
  await broker?.cleanup();
});

function brook(args: string[]): Promise<CliResult> {
  return runCli([...args, '--bootstrap', broker.address]);
}

function expectOneErrorLine(result: CliResult, code: number, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(code);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^brook: /);
  expect(lines[0]).toMatch(pattern);
}

async function committed(groupId: string): Promise<number[]> {
  const offsets = await admin.fetchOffsets(groupId, [
    { topic: TOPIC, partition: 0 },
    { topic: TOPIC, partition: 1 },
  ]);
  return offsets.map((o) => o.offset);
}

/** Joins a member with a raw GroupHeartbeat; resolves a function that makes it leave. */
async function joinMember(groupId: string): Promise<() => Promise<void>> {
  const client = new (brookV1().Groups)(broker.address, grpc.credentials.createInsecure());
  const joined = await call<GroupHeartbeatResponse__Output>(client, 'GroupHeartbeat', {
    groupId,
    memberId: '',
    memberEpoch: 0,
    subscription: { topicNames: [TOPIC] },
    ownedPartitionsSet: true,
    ownedPartitions: [],
    clientId: 'cli-test-member',
  });
  expect(joined.errorCode).toBe('NONE');
  return async () => {
    await call(client, 'GroupHeartbeat', {
      groupId,
      memberId: joined.memberId,
      memberEpoch: -1,
    });
    client.close();
  };
}

/** The rows of a table printed by the CLI, split on runs of spaces, without the header. */
function rowsOf(text: string, header: RegExp): string[][] {
  const lines = text.split('\n').map((l) => l.trim());
  const start = lines.findIndex((l) => header.test(l));
  expect(start, text).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line === '' || !/\s{2,}/.test(line)) break;
    rows.push(line.split(/\s{2,}/));
  }
  return rows;
}

describe('brook groups reset-offsets', () => {
  it('prints a dry run that changes nothing, then applies it with --execute', async () => {
    const dry = await brook([
      'groups',
      'reset-offsets',
      'cg-reset',
      '--topic',
      TOPIC,
      '--to-latest',
    ]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toBe('');
    expect(rowsOf(dry.stdout, /^TOPIC\s+PARTITION\s+PREVIOUS\s+NEW$/)).toEqual([
      [TOPIC, '0', '-', '10'],
      [TOPIC, '1', '-', '5'],
    ]);
    expect(dry.stdout).toMatch(/Dry run: nothing was changed\. .*--execute/);
    expect(await committed('cg-reset')).toEqual([-1, -1]);

    const done = await brook([
      'groups',
      'reset-offsets',
      'cg-reset',
      '--topic',
      TOPIC,
      '--to-latest',
      '--execute',
    ]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/Reset the committed offsets of group "cg-reset" on 2 partition/);
    expect(await committed('cg-reset')).toEqual([10, 5]);
  });

  it('applies each --to-* option, with clamping, to the partitions named', async () => {
    const reset = async (...target: string[]): Promise<number[]> => {
      const r = await brook([
        'groups',
        'reset-offsets',
        'cg-each',
        '--topic',
        `${TOPIC}:0,1`,
        ...target,
        '--execute',
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const parsed = JSON.parse(r.stdout) as {
        groupId: string;
        executed: boolean;
        results: { partition: number; newOffset: number }[];
      };
      expect(parsed.groupId).toBe('cg-each');
      expect(parsed.executed).toBe(true);
      return parsed.results.map((x) => x.newOffset);
    };
    expect(await reset('--to-offset', '7')).toEqual([7, 5]);
    expect(await reset('--shift-by', '-3')).toEqual([4, 2]);
    expect(await reset('--shift-by=100')).toEqual([10, 5]);
    expect(await reset('--to-earliest')).toEqual([0, 0]);
    expect(await reset('--to-datetime', '2024-05-01T02:30:00Z')).toEqual([3, 3]);
    expect(await reset('--to-datetime', '2024-05-01T05:00:00+01:00')).toEqual([4, 4]);
    expect(await reset('--to-datetime', '2030-01-01')).toEqual([10, 5]);
    expect(await reset('--to-datetime', '1970-01-02')).toEqual([0, 0]);
    // Only the partition named moves.
    const one = await brook([
      'groups',
      'reset-offsets',
      'cg-each',
      '--topic',
      `${TOPIC}:1`,
      '--to-latest',
      '--execute',
    ]);
    expect(one.code, one.stderr).toBe(0);
    expect(await committed('cg-each')).toEqual([0, 5]);
  });

  it('resets every committed partition with --all-topics', async () => {
    await admin.commitOffsets('cg-all', [{ topic: TOPIC, partition: 1, offset: 1 }]);
    const r = await brook(['groups', 'reset-offsets', 'cg-all', '--all-topics', '--shift-by', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(rowsOf(r.stdout, /^TOPIC/)).toEqual([[TOPIC, '1', '1', '3']]);
    const none = await brook([
      'groups',
      'reset-offsets',
      'cg-nothing',
      '--all-topics',
      '--to-earliest',
    ]);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe('Group "cg-nothing" has no committed offsets to reset.\n');
  });

  it('is refused while the group has active members, and changes nothing', async () => {
    await admin.commitOffsets('cg-busy', [{ topic: TOPIC, partition: 0, offset: 2 }]);
    const leave = await joinMember('cg-busy');
    try {
      for (const execute of [[], ['--execute']]) {
        const r = await brook([
          'groups',
          'reset-offsets',
          'cg-busy',
          '--topic',
          TOPIC,
          '--to-earliest',
          ...execute,
        ]);
        expectOneErrorLine(r, 1, /group "cg-busy" has 1 active member.*\(NON_EMPTY_GROUP\)$/);
        expect(r.stdout).toBe('');
      }
    } finally {
      await leave();
    }
    expect(await committed('cg-busy')).toEqual([2, -1]);
  });

  it('reports a topic that does not exist as one line, exit 1', async () => {
    const r = await brook([
      'groups',
      'reset-offsets',
      'cg-unknown-topic',
      '--topic',
      'cg-no-such-topic',
      '--to-earliest',
    ]);
    expectOneErrorLine(r, 1, /cg-no-such-topic-0 not reset: .*\(UNKNOWN_TOPIC_OR_PARTITION\)$/);
  });

  it.each([
    [
      ['--topic', TOPIC],
      /give one of --to-earliest, --to-latest, --to-datetime, --to-offset, --shift-by/,
    ],
    [
      ['--topic', TOPIC, '--to-earliest', '--to-latest'],
      /'--to-earliest' cannot be used with option '--to-latest'/,
    ],
    [['--topic', TOPIC, '--to-offset', '3', '--shift-by', '1'], /cannot be used with option/],
    [['--topic', TOPIC, '--to-offset', '-1'], /'--to-offset <n>' argument '-1' is invalid/],
    [['--topic', TOPIC, '--to-offset', 'x'], /must be a whole number/],
    [['--to-earliest'], /give --topic TOPIC\[:P,P\.\.\.\] or --all-topics/],
    [
      ['--topic', TOPIC, '--all-topics', '--to-earliest'],
      /cannot be used with option '--all-topics'/,
    ],
    [['--topic', `${TOPIC}:a`, '--to-earliest'], /expected TOPIC or TOPIC:P,P/],
    [['--topic', TOPIC, '--to-datetime', 'yesterday'], /expected an ISO 8601 date-time/],
    [['--topic', TOPIC, '--to-datetime', '2024-02-30'], /expected an ISO 8601 date-time/],
    [['--topic', TOPIC, '--to-earliest', '--dry-run'], /unknown option '--dry-run'/],
  ])('exits 2 with one line for bad options: %j', async (args, pattern) => {
    const r = await brook(['groups', 'reset-offsets', 'cg-usage', ...args]);
    expectOneErrorLine(r, 2, pattern);
    expect(r.stdout).toBe('');
  });
});

describe('brook groups list, describe and delete', () => {
  it('lists groups with state, members and coordinator, in text and JSON, filtered by state', async () => {
    await admin.commitOffsets('cg-list-empty', [{ topic: TOPIC, partition: 0, offset: 1 }]);
    const leave = await joinMember('cg-list-stable');
    try {
      const text = await brook(['groups', 'list']);
      expect(text.code, text.stderr).toBe(0);
      const rows = rowsOf(text.stdout, /^GROUP\s+STATE\s+MEMBERS\s+COORDINATOR$/);
      expect(rows).toContainEqual(['cg-list-empty', 'Empty', '0', '0']);
      expect(rows).toContainEqual(['cg-list-stable', 'Stable', '1', '0']);
      const names = rows.map((r) => r[0]);
      expect(names).toEqual([...names].sort());

      const json = await brook(['groups', 'list', '--json', '--state', 'stable']);
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual([
        { groupId: 'cg-list-stable', state: 'Stable', members: 1, coordinatorId: 0 },
      ]);
    } finally {
      await leave();
    }
  });

  it('describes a group: header, members and per-partition offsets, lag and owner', async () => {
    await admin.commitOffsets('cg-describe', [{ topic: TOPIC, partition: 0, offset: 4 }]);
    const leave = await joinMember('cg-describe');
    try {
      const text = await brook(['groups', 'describe', 'cg-describe']);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(
        /^Group: cg-describe {2}State: Stable {2}GroupEpoch: \d+ {2}AssignmentEpoch: \d+ {2}Assignor: uniform {2}Coordinator: 0 {2}Members: 1$/m,
      );
      const members = rowsOf(text.stdout, /^MEMBER\s+CLIENT\s+HOST\s+EPOCH\s+STATE\s+ASSIGNED$/);
      expect(members).toHaveLength(1);
      const [memberId, client, host, , state, assigned] = members[0]!;
      expect([client, host, state, assigned]).toEqual([
        'cli-test-member',
        '127.0.0.1',
        'stable',
        `${TOPIC}:0,1`,
      ]);
      expect(
        rowsOf(text.stdout, /^TOPIC\s+PARTITION\s+COMMITTED\s+LOG-END\s+LAG\s+OWNER$/),
      ).toEqual([
        [TOPIC, '0', '4', '10', '6', memberId],
        [TOPIC, '1', '-', '5', '5', memberId],
      ]);

      const json = await brook(['groups', 'describe', 'cg-describe', '--json']);
      expect(json.code, json.stderr).toBe(0);
      const [group] = JSON.parse(json.stdout) as {
        groupId: string;
        state: string;
        members: { memberId: string; subscription: { topicNames: string[] } }[];
        offsets: { partition: number; lag: number }[];
      }[];
      expect(group?.groupId).toBe('cg-describe');
      expect(group?.members[0]?.memberId).toBe(memberId);
      expect(group?.members[0]?.subscription.topicNames).toEqual([TOPIC]);
      expect(group?.offsets.map((o) => o.lag)).toEqual([6, 5]);
    } finally {
      await leave();
    }
  });

  it('describes an unknown group as one line, exit 1', async () => {
    const r = await brook(['groups', 'describe', 'cg-no-such-group']);
    expectOneErrorLine(
      r,
      1,
      /^brook: group "cg-no-such-group" does not exist \(GROUP_ID_NOT_FOUND\)$/,
    );
  });

  it('deletes empty groups, and refuses one with members or one that does not exist', async () => {
    await admin.commitOffsets('cg-delete', [{ topic: TOPIC, partition: 0, offset: 1 }]);
    const deleted = await brook(['groups', 'delete', 'cg-delete']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe('Deleted group "cg-delete".\n');
    const list = await brook(['groups', 'list', '--json']);
    expect((JSON.parse(list.stdout) as { groupId: string }[]).map((g) => g.groupId)).not.toContain(
      'cg-delete',
    );

    const again = await brook(['groups', 'delete', 'cg-delete']);
    expectOneErrorLine(again, 1, /group "cg-delete" does not exist \(GROUP_ID_NOT_FOUND\)$/);

    const leave = await joinMember('cg-delete-busy');
    try {
      const busy = await brook(['groups', 'delete', 'cg-delete-busy']);
      expectOneErrorLine(
        busy,
        1,
        /group "cg-delete-busy" has 1 active member.*\(NON_EMPTY_GROUP\)$/,
      );
      expect(busy.stdout).toBe('');
    } finally {
      await leave();
    }
  });

  it.each([
    [['groups', 'list', '--state', 'sleeping'], /'--state <state>' argument 'sleeping' is invalid/],
    [['groups', 'list', '--members'], /unknown option '--members'/],
    [['groups', 'describe'], /missing required argument 'group'/],
    [['groups', 'delete'], /missing required argument 'group'/],
    [['groups', 'rebalance'], /unknown command 'rebalance'/],
  ])('exits 2 with one line for bad usage: %j', async (args, pattern) => {
    const r = await brook(args);
    expectOneErrorLine(r, 2, pattern);
  });

  it('says clearly when no broker is reachable', async () => {
    const r = await runCli(['groups', 'list'], { env: { BROOK_BOOTSTRAP: '127.0.0.1:1' } });
    expectOneErrorLine(r, 1, /^brook: cannot reach a broker at 127\.0\.0\.1:1/);
  });

  it('documents every option in --help', async () => {
    const r = await brook(['groups', 'reset-offsets', '--help']);
    expect(r.code).toBe(0);
    for (const option of [
      '--topic',
      '--all-topics',
      '--to-earliest',
      '--to-latest',
      '--to-datetime',
      '--to-offset',
      '--shift-by',
      '--execute',
      '--json',
      '--bootstrap',
    ]) {
      expect(r.stdout).toContain(option);
    }
  });
});
