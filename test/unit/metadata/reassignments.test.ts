/**
 * Partition reassignment (KIP-455) on the controller: each test replays records into an image,
 * asks for a reassignment, then plays the leader's AlterPartition expansions as the added
 * replicas catch up, checking the image after every step. The invariants that keep
 * acknowledged writes: nothing leaves the replicas or the ISR before every target replica is in
 * sync, the ISR is never empty, the leader is always in the ISR; and a snapshot of an image in
 * mid-reassignment replays to the same image.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alterPartition } from '../../../src/metadata/controller/partitions.js';
import {
  alterPartitionReassignments,
  listReassignments,
  type ReassignmentInput,
} from '../../../src/metadata/controller/reassignments.js';
import { imageToRecords, type MetadataImage } from '../../../src/metadata/image.js';
import { checkMetadataRecord } from '../../../src/metadata/records.js';
import { applyRecords, broker, imageOf, livenessOf, partitionOf, topic } from './cluster.js';

// Brokers 1-5 unfenced (epoch = id), broker 6 fenced; t-0 on [1, 2, 3], all in sync, led by 1.
const base = imageOf(
  [1, 2, 3, 4, 5].flatMap((id) => broker(id, { epoch: id })),
  [...broker(6, { epoch: 6, fenced: true })],
  topic('t', 'T', [{ replicas: [1, 2, 3] }]),
);

function reassign(image: MetadataImage, inputs: ReassignmentInput[]) {
  const result = alterPartitionReassignments(image, inputs, livenessOf(image));
  return { ...result, image: applyRecords(image, result.records) };
}

/** The leader of t-0 asks to add `replica` to the ISR (it caught up). */
function catchUp(image: MetadataImage, replica: number): MetadataImage {
  const p = partitionOf(image, 't');
  const { records, response } = alterPartition(
    image,
    {
      brokerId: p.leader,
      brokerEpoch: p.leader,
      topicId: 'T',
      partition: 0,
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch,
      newIsr: [...p.isr, replica],
    },
    livenessOf(image),
  );
  expect(response.errorCode).toBe('NONE');
  const after = applyRecords(image, records);
  // The answer tells the leader the state the records produce.
  const q = partitionOf(after, 't');
  expect(response).toMatchObject({
    leader: q.leader,
    leaderEpoch: q.leaderEpoch,
    partitionEpoch: q.partitionEpoch,
  });
  return after;
}

describe('alterPartitionReassignments', () => {
  it('adds the new replicas first and removes the old ones only once every target is in sync', () => {
    const started = reassign(base, [{ topic: 't', partition: 0, replicas: [4, 5, 1] }]);
    expect(started.response).toEqual([
      { topic: 't', partition: 0, errorCode: 'NONE', errorMessage: '' },
    ]);
    expect(started.records).toHaveLength(1);
    expect(started.records[0]?.version).toBe(2);
    expect(partitionOf(started.image, 't')).toEqual({
      partition: 0,
      replicas: [4, 5, 1, 2, 3],
      isr: [1, 2, 3],
      leader: 1,
      leaderEpoch: 0,
      partitionEpoch: 1,
      addingReplicas: [4, 5],
      removingReplicas: [2, 3],
    });
    expect(listReassignments(started.image)).toEqual([
      {
        topic: 't',
        partition: 0,
        replicas: [4, 5, 1, 2, 3],
        addingReplicas: [4, 5],
        removingReplicas: [2, 3],
        isr: [1, 2, 3],
        leader: 1,
      },
    ]);

    const oneIn = catchUp(started.image, 4);
    expect(partitionOf(oneIn, 't')).toMatchObject({
      replicas: [4, 5, 1, 2, 3],
      isr: [1, 2, 3, 4],
      addingReplicas: [4, 5],
    });

    const done = catchUp(oneIn, 5);
    expect(partitionOf(done, 't')).toEqual({
      partition: 0,
      replicas: [4, 5, 1],
      isr: [1, 4, 5],
      leader: 1,
      leaderEpoch: 0,
      partitionEpoch: 3,
    });
    expect(listReassignments(done)).toEqual([]);
  });

  it('moves leadership to an in-sync target replica when the leader is removed', () => {
    const started = reassign(base, [{ topic: 't', partition: 0, replicas: [4, 2, 3] }]).image;
    const done = catchUp(started, 4);
    expect(partitionOf(done, 't')).toMatchObject({
      replicas: [4, 2, 3],
      isr: [2, 3, 4],
      leader: 4,
      leaderEpoch: 1,
    });
  });

  it('completes at once when the target is already in sync (a shrink or a reorder)', () => {
    const shrunk = reassign(base, [{ topic: 't', partition: 0, replicas: [2, 3] }]);
    expect(shrunk.records[0]?.version).toBe(1);
    expect(partitionOf(shrunk.image, 't')).toEqual({
      partition: 0,
      replicas: [2, 3],
      isr: [2, 3],
      leader: 2,
      leaderEpoch: 1,
      partitionEpoch: 1,
    });
    const reordered = reassign(base, [{ topic: 't', partition: 0, replicas: [3, 1, 2] }]).image;
    expect(partitionOf(reordered, 't')).toMatchObject({ replicas: [3, 1, 2], leader: 1 });
    expect(reassign(base, [{ topic: 't', partition: 0, replicas: [1, 2, 3] }]).records).toEqual([]);
  });

  it('a cancel goes back to the original replicas, dropping the ones being added', () => {
    const started = reassign(base, [{ topic: 't', partition: 0, replicas: [4, 5, 1] }]).image;
    const oneIn = catchUp(started, 4);
    const cancelled = reassign(oneIn, [{ topic: 't', partition: 0, replicas: null }]);
    expect(cancelled.response[0]?.errorCode).toBe('NONE');
    expect(partitionOf(cancelled.image, 't')).toEqual({
      partition: 0,
      replicas: [1, 2, 3],
      isr: [1, 2, 3],
      leader: 1,
      leaderEpoch: 0,
      partitionEpoch: 3,
    });
  });

  it('a new target replaces the one in progress, counted from the original replicas', () => {
    const started = reassign(base, [{ topic: 't', partition: 0, replicas: [4, 5, 1] }]).image;
    const changed = reassign(started, [{ topic: 't', partition: 0, replicas: [1, 2, 5] }]).image;
    expect(partitionOf(changed, 't')).toMatchObject({
      replicas: [1, 2, 5, 4, 3],
      addingReplicas: [5],
      removingReplicas: [4, 3],
    });
    const done = catchUp(changed, 5);
    expect(partitionOf(done, 't')).toMatchObject({ replicas: [1, 2, 5], isr: [1, 2, 5] });
  });

  it('waits rather than hand leadership to a replica that cannot lead', () => {
    // Broker 6 is fenced: it may be a target, but it cannot join the ISR or lead.
    const started = reassign(base, [{ topic: 't', partition: 0, replicas: [6] }]);
    expect(started.response[0]?.errorCode).toBe('NONE');
    expect(partitionOf(started.image, 't')).toMatchObject({
      replicas: [6, 1, 2, 3],
      isr: [1, 2, 3],
      leader: 1,
      addingReplicas: [6],
    });
  });

  it('refuses bad targets with the Kafka codes, changing nothing', () => {
    const started = reassign(base, [{ topic: 't', partition: 0, replicas: [4, 5, 1] }]).image;
    const cases: [ReassignmentInput, string][] = [
      [{ topic: 'nope', partition: 0, replicas: [1] }, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ topic: 't', partition: 1, replicas: [1] }, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ topic: 't', partition: 0, replicas: [] }, 'INVALID_REPLICA_ASSIGNMENT'],
      [{ topic: 't', partition: 0, replicas: [1, 1] }, 'INVALID_REPLICA_ASSIGNMENT'],
      [{ topic: 't', partition: 0, replicas: [1, 9] }, 'INVALID_REPLICA_ASSIGNMENT'],
    ];
    for (const [input, code] of cases) {
      const result = reassign(started, [input]);
      expect(result.response[0]?.errorCode, JSON.stringify(input)).toBe(code);
      expect(result.records).toEqual([]);
    }
    expect(
      reassign(base, [{ topic: 't', partition: 0, replicas: null }]).response[0],
    ).toMatchObject({ errorCode: 'NO_REASSIGNMENT_IN_PROGRESS' });
    const twice = reassign(base, [
      { topic: 't', partition: 0, replicas: [4, 5, 1] },
      { topic: 't', partition: 0, replicas: [2, 3] },
    ]);
    expect(twice.response.map((r) => r.errorCode)).toEqual(['NONE', 'INVALID_REQUEST']);
    expect(twice.records).toHaveLength(1);
  });

  it('a snapshot taken mid-reassignment replays to the same image, as version 2 records', () => {
    const started = reassign(base, [{ topic: 't', partition: 0, replicas: [4, 5, 1] }]).image;
    const records = imageToRecords(started).map((r) =>
      checkMetadataRecord(JSON.parse(JSON.stringify(r))),
    );
    const replayed = imageOf(records);
    expect(partitionOf(replayed, 't')).toEqual(partitionOf(started, 't'));
    expect(records.find((r) => r.type === 'PartitionRecord')?.version).toBe(2);
    // Without a reassignment the snapshot stays version 1, readable by older releases.
    const plain = imageToRecords(base).find((r) => r.type === 'PartitionRecord');
    expect(plain?.version).toBe(1);
    expect(plain).not.toHaveProperty('addingReplicas');
  });

  it('generated: any target, caught up in any order, ends on the target with every write kept', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 10 }),
        (target, order) => {
          let image = reassign(base, [{ topic: 't', partition: 0, replicas: target }]).image;
          const inSync = (): readonly number[] => partitionOf(image, 't').isr;
          for (const replica of [...order, ...target]) {
            const p = partitionOf(image, 't');
            // Invariants at every step.
            expect(p.isr.length).toBeGreaterThan(0);
            expect(p.isr).toContain(p.leader);
            expect(p.isr.every((r) => p.replicas.includes(r))).toBe(true);
            if (!p.replicas.includes(replica) || inSync().includes(replica)) continue;
            // An added replica joins only once in sync, and what was in sync stays until done.
            const before = new Set(p.isr);
            image = catchUp(image, replica);
            const q = partitionOf(image, 't');
            if (q.addingReplicas !== undefined) {
              for (const r of before) expect(q.isr).toContain(r);
            }
          }
          const final = partitionOf(image, 't');
          expect(final.replicas).toEqual(target);
          expect([...final.isr].sort()).toEqual([...target].sort());
          expect(final.addingReplicas).toBeUndefined();
          expect(target).toContain(final.leader);
        },
      ),
      { numRuns: 300 },
    );
  });
});
