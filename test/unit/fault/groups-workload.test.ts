/**
 * The pure pieces of the groups workload: the member protocol (member-protocol.ts), whose lines
 * must become exactly the history ops group-checker.ts reads, and the seeded client chaos
 * (member-chaos.ts), whose pauses must outlast the session timeout. Lines are fed by hand to a
 * recorder writing to a temporary file; chaos steps are drawn over many seeds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SeededRng } from '../../../src/util/rng.js';
import { GroupChecker } from '../../fault/checker/group-checker.js';
import { HistoryRecorder } from '../../fault/history.js';
import {
  CHAOS_KINDS,
  drawChaos,
  parseChaosKinds,
  type ChaosSettings,
} from '../../fault/workload/member-chaos.js';
import {
  parseMemberEvent,
  recordMemberEvent,
  type MemberEvent,
} from '../../fault/workload/member-protocol.js';

describe('member protocol', () => {
  let dir: string;
  let history: HistoryRecorder;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'groups-workload-'));
    history = new HistoryRecorder(path.join(dir, 'history.jsonl'));
  });
  afterEach(async () => {
    await history.close();
    await rm(dir, { recursive: true, force: true });
  });

  const feed = (name: string, lines: readonly string[]): void => {
    for (const line of lines) {
      const event = parseMemberEvent(line);
      if (event !== null) recordMemberEvent(history, name, event);
    }
  };
  const line = (event: MemberEvent): string => JSON.stringify(event);

  it('turns a member session into the ops the group checker reads, in order', () => {
    feed('member-0', [
      line({ event: 'assigned', partitions: [3, 1], atMs: 1_000.5 }),
      line({ event: 'consume', partition: 1, offset: 0, value: 'producer-0-0', atMs: 1_001 }),
      line({ event: 'commit', offsets: [[1, 1]] }),
      line({ event: 'commit', offsets: [[1, 1]], error: 'DEADLINE_EXCEEDED: x', isUnknown: true }),
      line({ event: 'commit', offsets: [], error: 'FENCED_MEMBER_EPOCH: y', isUnknown: false }),
      line({ event: 'error', error: 'UNAVAILABLE: z' }),
      line({ event: 'revoked', partitions: [1], atMs: 1_002 }),
      line({ event: 'lost', partitions: [3], atMs: 1_003 }),
      line({ event: 'left', atMs: 1_004 }),
      line({ event: 'freezing', atMs: 1_005 }),
    ]);
    const ops = history.history.map(({ process, type, f, value }) => ({ process, type, f, value }));
    expect(ops).toEqual([
      {
        process: 'member-0',
        type: 'ok',
        f: 'assigned',
        value: { partitions: [1, 3], atMs: 1_000.5 },
      },
      {
        process: 'member-0',
        type: 'ok',
        f: 'consume',
        value: { partition: 1, offset: 0, value: 'producer-0-0', atMs: 1_001 },
      },
      { process: 'member-0', type: 'ok', f: 'commit', value: { offsets: [[1, 1]] } },
      {
        process: 'member-0',
        type: 'info',
        f: 'commit',
        value: { offsets: [[1, 1]], error: 'DEADLINE_EXCEEDED: x' },
      },
      {
        process: 'member-0',
        type: 'fail',
        f: 'commit',
        value: { offsets: [], error: 'FENCED_MEMBER_EPOCH: y' },
      },
      { process: 'member-0', type: 'info', f: 'member-error', value: { error: 'UNAVAILABLE: z' } },
      { process: 'member-0', type: 'ok', f: 'revoked', value: { partitions: [1], atMs: 1_002 } },
      { process: 'member-0', type: 'ok', f: 'lost', value: { partitions: [3], atMs: 1_003 } },
    ]);
    const result = new GroupChecker().check(history.history);
    expect(result.stats).toMatchObject({
      'ownership-changes': 3,
      'records-consumed': 1,
      'commits-ok': 1,
      'commits-failed': 2,
      'member-errors': 1,
    });
  });

  it('ignores lines that are not well-formed events', () => {
    for (const text of [
      '',
      'not json',
      '[]',
      'null',
      '{"event":"consume","partition":1,"offset":"2","value":"v","atMs":1}',
      '{"event":"assigned","partitions":[1,"x"],"atMs":1}',
      '{"event":"commit","offsets":[[1]]}',
      '{"event":"nope"}',
    ]) {
      expect(parseMemberEvent(text)).toBeNull();
    }
  });
});

describe('member chaos', () => {
  const settings: ChaosSettings = {
    kinds: CHAOS_KINDS,
    members: 4,
    quietS: [3, 8],
    sessionTimeoutMs: 5_000,
  };

  it('draws every kind and member; quiets within range; pauses outlast the session', () => {
    const rng = new SeededRng(7);
    const kinds = new Set<string>();
    const members = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const step = drawChaos(rng, settings);
      kinds.add(step.kind);
      members.add(step.member);
      expect(step.quietMs).toBeGreaterThanOrEqual(3_000);
      expect(step.quietMs).toBeLessThanOrEqual(8_000);
      if (step.kind === 'pause') expect(step.holdMs).toBeGreaterThan(settings.sessionTimeoutMs);
      else expect(step.holdMs).toBeGreaterThan(0);
    }
    expect([...kinds].sort()).toEqual(['crash', 'leave', 'pause']);
    expect([...members].sort()).toEqual([0, 1, 2, 3]);
  });

  it('is the same plan for the same seed', () => {
    const plan = (seed: number) => {
      const rng = new SeededRng(seed);
      return Array.from({ length: 20 }, () => drawChaos(rng, settings));
    };
    expect(plan(42)).toEqual(plan(42));
    expect(plan(42)).not.toEqual(plan(43));
  });

  it('parses kinds, none, and refuses the unknown', () => {
    expect(parseChaosKinds('crash,pause,crash')).toEqual(['crash', 'pause']);
    expect(parseChaosKinds('none')).toEqual([]);
    expect(() => parseChaosKinds('crash,explode')).toThrow(/explode/);
    expect(() => drawChaos(new SeededRng(1), { ...settings, kinds: [] })).toThrow(RangeError);
  });
});
