/**
 * Leader election and partition-change records (elections.ts). Elections run on hand-built
 * PartitionImages; change records are replayed through MetadataDelta to check the epochs the
 * replay derives (leaderEpoch + 1 only when the leader is set, partitionEpoch + 1 always), as in
 * Kafka's PartitionChangeBuilder and PartitionRegistration.merge.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  electLeader,
  NO_LEADER,
  partitionChange,
} from '../../../src/metadata/controller/elections.js';
import type { PartitionImage } from '../../../src/metadata/image.js';
import { AssertionError } from '../../../src/util/assert.js';
import { applyRecords, broker, imageOf, partitionOf, topic } from './cluster.js';

const partitionImage = (
  replicas: number[],
  isr: number[],
  leader: number,
  leaderEpoch = 4,
  partitionEpoch = 9,
): PartitionImage => ({ partition: 0, replicas, isr, leader, leaderEpoch, partitionEpoch });

const eligible =
  (...ids: number[]) =>
  (brokerId: number): boolean =>
    ids.includes(brokerId);

describe('electLeader', () => {
  it('picks the first eligible ISR member in replica order, not ISR order', () => {
    const partition = partitionImage([3, 1, 2], [2, 1], NO_LEADER);
    expect(electLeader(partition, eligible(1, 2, 3), false)).toEqual({ leader: 1, isr: [2, 1] });
    expect(electLeader(partition, eligible(2, 3), false)).toEqual({ leader: 2, isr: [2, 1] });
  });

  it('leaves the partition leaderless with its ISR when no ISR member is eligible', () => {
    const partition = partitionImage([1, 2, 3], [1], NO_LEADER);
    const election = electLeader(partition, eligible(2, 3), false);
    expect(election).toEqual({ leader: NO_LEADER, isr: [1] });
  });

  it('elects outside the ISR only when unclean election is enabled, with ISR = [leader]', () => {
    const partition = partitionImage([1, 2, 3], [1], NO_LEADER);
    expect(electLeader(partition, eligible(3, 2), true)).toEqual({ leader: 2, isr: [2] });
  });

  it('prefers a clean candidate even when unclean election is enabled', () => {
    const partition = partitionImage([1, 2, 3], [3, 1], NO_LEADER);
    expect(electLeader(partition, eligible(2, 3), true)).toEqual({ leader: 3, isr: [3, 1] });
  });

  it('finds no leader when no replica is eligible, clean or not', () => {
    const partition = partitionImage([1, 2], [1, 2], NO_LEADER);
    expect(electLeader(partition, eligible(), true)).toEqual({ leader: NO_LEADER, isr: [1, 2] });
  });

  it('property: the leader is -1 or in the returned ISR, a clean one in the old ISR', () => {
    const partitions = fc
      .uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 5 })
      .chain((replicas) =>
        fc.record({
          replicas: fc.constant(replicas),
          isr: fc.subarray(replicas, { minLength: 1 }),
          eligibleIds: fc.subarray([0, 1, 2, 3, 4, 5, 6]),
          isUncleanEnabled: fc.boolean(),
        }),
      );
    fc.assert(
      fc.property(partitions, ({ replicas, isr, eligibleIds, isUncleanEnabled }) => {
        const before = partitionImage(replicas, isr, NO_LEADER);
        const { leader, isr: after } = electLeader(
          before,
          eligible(...eligibleIds),
          isUncleanEnabled,
        );
        expect(after.length).toBeGreaterThan(0);
        for (const id of after) expect(replicas).toContain(id);
        if (leader === NO_LEADER) {
          expect(after).toEqual(isr);
          expect(isr.some((id) => eligibleIds.includes(id))).toBe(false);
          return;
        }
        expect(after).toContain(leader);
        expect(eligibleIds).toContain(leader);
        if (isr.includes(leader)) expect(after).toEqual(isr);
        else expect(isUncleanEnabled).toBe(true);
      }),
    );
  });
});

describe('partitionChange', () => {
  const image = imageOf(
    [...broker(1), ...broker(2), ...broker(3)],
    topic('t', 'T', [{ replicas: [1, 2, 3], leaderEpoch: 4, partitionEpoch: 9 }]),
  );
  const before = partitionOf(image, 't');

  it('is null when nothing changes', () => {
    expect(partitionChange('T', before, { leader: 1, isr: [1, 2, 3] })).toBeNull();
    const same = { leader: 1, isr: [1, 2, 3], replicas: [1, 2, 3] };
    expect(partitionChange('T', before, same)).toBeNull();
  });

  it('sets only the ISR for an ISR change: the leader epoch stays', () => {
    const record = partitionChange('T', before, { leader: 1, isr: [1, 3] });
    expect(record).toEqual({
      type: 'PartitionChangeRecord',
      version: 1,
      topicId: 'T',
      partition: 0,
      isr: [1, 3],
      leader: null,
      replicas: null,
    });
    const after = partitionOf(applyRecords(image, [record!]), 't');
    expect(after).toMatchObject({ leader: 1, isr: [1, 3], leaderEpoch: 4, partitionEpoch: 10 });
  });

  it('sets the leader for a leader change: replay bumps the leader epoch', () => {
    const record = partitionChange('T', before, { leader: 2, isr: [2, 3] });
    expect(record).toMatchObject({ leader: 2, isr: [2, 3], replicas: null });
    const after = partitionOf(applyRecords(image, [record!]), 't');
    expect(after).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 5, partitionEpoch: 10 });
  });

  it('sets a leader of -1 (offline) and the replicas when they change', () => {
    const record = partitionChange('T', before, { leader: NO_LEADER, isr: [1], replicas: [1, 2] });
    expect(record).toMatchObject({ leader: NO_LEADER, isr: [1], replicas: [1, 2] });
    const after = partitionOf(applyRecords(image, [record!]), 't');
    expect(after).toMatchObject({ leader: -1, isr: [1], replicas: [1, 2], leaderEpoch: 5 });
  });

  it('asserts the invariants: non-empty ISR within the replicas, leader in the ISR', () => {
    expect(() => partitionChange('T', before, { leader: NO_LEADER, isr: [] })).toThrow(
      AssertionError,
    );
    expect(() => partitionChange('T', before, { leader: 1, isr: [1, 4] })).toThrow(AssertionError);
    expect(() => partitionChange('T', before, { leader: 2, isr: [1, 3] })).toThrow(AssertionError);
  });
});
