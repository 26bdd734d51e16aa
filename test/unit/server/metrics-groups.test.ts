/**
 * Group lag is computed per committed partition against the high watermark this node knows.
 * Hand-built group views check the lag arithmetic, the state names and the count of partitions
 * whose high watermark is not known here.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { emptyGroup, partitionKey, type GroupView } from '../../../src/group/index.js';
import {
  groupSnapshot,
  registerGroupMetrics,
  type GroupSource,
} from '../../../src/server/metrics/group-metrics.js';
import { samplesOf, valueOf } from './metrics-fixtures.js';

const committed = (offset: number) => ({
  offset,
  leaderEpoch: 0,
  metadata: '',
  commitTimestampMs: 0,
});

const member = {
  memberId: 'm1',
  clientId: 'c',
  host: 'h',
  memberEpoch: 3,
  previousMemberEpoch: 2,
  state: 'stable' as const,
  subscription: { topicNames: ['t'], topicRegex: '' },
  sessionTimeoutMs: 45_000,
  rebalanceTimeoutMs: 60_000,
  assigned: new Map(),
  pendingRevocation: new Map(),
};

const stable: GroupView = {
  groupId: 'readers',
  state: {
    ...emptyGroup('readers', 'uniform'),
    groupEpoch: 3,
    assignmentEpoch: 3,
    members: new Map([['m1', member]]),
  },
  offsets: new Map([
    [partitionKey('t', 0), committed(10)],
    [partitionKey('t', 1), committed(50)],
    [partitionKey('elsewhere', 0), committed(1)],
  ]),
};
const offsetsOnly: GroupView = {
  groupId: 'old',
  state: undefined,
  offsets: new Map([[partitionKey('t', 0), committed(25)]]),
};

const source: GroupSource = {
  groups: () => [stable, offsetsOnly],
  // t-1's HW (40) is behind the commit (50): a follower's HW lags the leader's.
  highWatermarkOf: (topic, partition) => (topic !== 't' ? null : partition === 0 ? 30 : 40),
};

describe('group metrics', () => {
  it('computes lag against the known high watermark, never below zero', () => {
    const snapshot = groupSnapshot(source);
    expect(snapshot.lags).toEqual([
      { group: 'readers', topic: 't', partition: 0, lag: 20 },
      { group: 'readers', topic: 't', partition: 1, lag: 0 },
      { group: 'old', topic: 't', partition: 0, lag: 5 },
    ]);
    expect(snapshot.groups).toEqual([
      { group: 'readers', state: 'Stable', members: 1, unknownPartitions: 1 },
      { group: 'old', state: 'Empty', members: 0, unknownPartitions: 0 },
    ]);
  });

  it('exposes lag, members, unknown partitions and one state set to 1 per group', async () => {
    const registry = new Registry();
    registerGroupMetrics(registry, source);
    expect(
      await valueOf(registry, 'brook_group_lag', { group: 'readers', topic: 't', partition: 0 }),
    ).toBe(20);
    expect(await valueOf(registry, 'brook_group_members', { group: 'readers' })).toBe(1);
    expect(
      await valueOf(registry, 'brook_group_lag_unknown_partitions', { group: 'readers' }),
    ).toBe(1);
    const states = await samplesOf(registry, 'brook_group_state');
    expect(
      states.filter((s) => s.value === 1).map((s) => [s.labels['group'], s.labels['state']]),
    ).toEqual([
      ['readers', 'Stable'],
      ['old', 'Empty'],
    ]);
    expect(states).toHaveLength(8);
  });
});
