/**
 * AlterPartition (KIP-497) on the controller: each test builds an image by replaying records,
 * sends one request, and checks the answer, the records, and the image after replaying them.
 * Every rejection is an error code in the answer with no records; the answer always carries the
 * partition's state after the call so the leader can resynchronise.
 */
import { describe, expect, it } from 'vitest';
import {
  alterPartition,
  type AlterPartitionInput,
} from '../../../src/metadata/controller/partitions.js';
import { applyRecords, broker, imageOf, livenessOf, partitionOf, topic } from './cluster.js';

// Brokers 1-3 unfenced (epochs 10, 11, 12), broker 4 fenced; partition t-0 on 1, 2, 3, 4 led by
// 1 with ISR [1, 2], leader epoch 3, partition epoch 7.
const image = imageOf(
  [
    ...broker(1, { epoch: 10 }),
    ...broker(2, { epoch: 11 }),
    ...broker(3, { epoch: 12 }),
    ...broker(4, { epoch: 13, fenced: true }),
  ],
  topic('t', 'T', [{ replicas: [1, 2, 3, 4], isr: [1, 2], leaderEpoch: 3, partitionEpoch: 7 }]),
);
const liveness = livenessOf(image);

const request = (change: Partial<AlterPartitionInput> = {}): AlterPartitionInput => ({
  brokerId: 1,
  brokerEpoch: 10,
  topicId: 'T',
  partition: 0,
  leaderEpoch: 3,
  partitionEpoch: 7,
  newIsr: [1, 2, 3],
  ...change,
});

const unchanged = { leader: 1, leaderEpoch: 3, partitionEpoch: 7, isr: [1, 2] };

describe('alterPartition', () => {
  it('expands the ISR with one PartitionChangeRecord: partition epoch + 1, leader epoch kept', () => {
    const { records, response } = alterPartition(image, request(), liveness);
    expect(records).toEqual([
      {
        type: 'PartitionChangeRecord',
        version: 1,
        topicId: 'T',
        partition: 0,
        isr: [1, 2, 3],
        leader: null,
        replicas: null,
      },
    ]);
    expect(response).toEqual({
      errorCode: 'NONE',
      errorMessage: '',
      leader: 1,
      leaderEpoch: 3,
      partitionEpoch: 8,
      isr: [1, 2, 3],
    });
    const after = partitionOf(applyRecords(image, records), 't');
    expect(after).toMatchObject({ leader: 1, isr: [1, 2, 3], leaderEpoch: 3, partitionEpoch: 8 });
  });

  it('shrinks the ISR to the leader alone', () => {
    const { records, response } = alterPartition(image, request({ newIsr: [1] }), liveness);
    expect(records).toHaveLength(1);
    expect(response).toMatchObject({ errorCode: 'NONE', isr: [1], partitionEpoch: 8 });
    expect(partitionOf(applyRecords(image, records), 't').isr).toEqual([1]);
  });

  it('writes nothing for the same members in another order', () => {
    const { records, response } = alterPartition(image, request({ newIsr: [2, 1] }), liveness);
    expect(records).toEqual([]);
    expect(response).toEqual({ errorCode: 'NONE', errorMessage: '', ...unchanged });
  });

  it('refuses an unknown broker or a superseded broker epoch: STALE_BROKER_EPOCH', () => {
    for (const change of [{ brokerEpoch: 9 }, { brokerId: 7 }]) {
      const { records, response } = alterPartition(image, request(change), liveness);
      expect(records).toEqual([]);
      expect(response.errorCode).toBe('STALE_BROKER_EPOCH');
    }
  });

  it('refuses an unknown topic id or partition: UNKNOWN_TOPIC_OR_PARTITION', () => {
    for (const change of [{ topicId: 'X' }, { partition: 1 }]) {
      const { records, response } = alterPartition(image, request(change), liveness);
      expect(records).toEqual([]);
      expect(response).toMatchObject({
        errorCode: 'UNKNOWN_TOPIC_OR_PARTITION',
        leader: -1,
        leaderEpoch: -1,
        partitionEpoch: -1,
        isr: [],
      });
    }
  });

  it('refuses another leader epoch, older or newer: FENCED_LEADER_EPOCH', () => {
    for (const leaderEpoch of [2, 4]) {
      const { records, response } = alterPartition(image, request({ leaderEpoch }), liveness);
      expect(records).toEqual([]);
      expect(response).toMatchObject({ errorCode: 'FENCED_LEADER_EPOCH', ...unchanged });
    }
    const older = alterPartition(image, request({ leaderEpoch: 2 }), liveness).response;
    const newer = alterPartition(image, request({ leaderEpoch: 4 }), liveness).response;
    expect(older.errorMessage).toMatch(/older/);
    expect(newer.errorMessage).toMatch(/newer/);
  });

  it('refuses a broker that is not the leader: NOT_LEADER_OR_FOLLOWER', () => {
    const input = request({ brokerId: 2, brokerEpoch: 11, newIsr: [1, 2] });
    const { records, response } = alterPartition(image, input, liveness);
    expect(records).toEqual([]);
    expect(response).toMatchObject({ errorCode: 'NOT_LEADER_OR_FOLLOWER', ...unchanged });
  });

  it('refuses a proposal from another partition epoch: INVALID_UPDATE_VERSION', () => {
    for (const partitionEpoch of [6, 8]) {
      const { records, response } = alterPartition(image, request({ partitionEpoch }), liveness);
      expect(records).toEqual([]);
      expect(response).toMatchObject({ errorCode: 'INVALID_UPDATE_VERSION', ...unchanged });
    }
  });

  it('refuses a malformed ISR: empty, duplicate, without the leader, or a non-replica', () => {
    for (const newIsr of [[], [1, 2, 2], [2, 3], [1, 5]]) {
      const { records, response } = alterPartition(image, request({ newIsr }), liveness);
      expect(records).toEqual([]);
      expect(response).toMatchObject({ errorCode: 'INVALID_REQUEST', ...unchanged });
    }
  });

  it('refuses to add a fenced or shutting-down replica: INELIGIBLE_REPLICA', () => {
    const fenced = alterPartition(image, request({ newIsr: [1, 2, 4] }), liveness);
    expect(fenced.records).toEqual([]);
    expect(fenced.response).toMatchObject({ errorCode: 'INELIGIBLE_REPLICA', ...unchanged });
    expect(fenced.response.errorMessage).toMatch(/4/);
    const shuttingDown = livenessOf(image, new Set([3]));
    const stopping = alterPartition(image, request(), shuttingDown);
    expect(stopping.response.errorCode).toBe('INELIGIBLE_REPLICA');
  });

  it('lets an ineligible member stay: only members it adds must be eligible', () => {
    // Broker 2 is shutting down but already in the ISR; the leader may keep it while adding 3.
    const { records, response } = alterPartition(image, request(), livenessOf(image, new Set([2])));
    expect(response.errorCode).toBe('NONE');
    expect(records).toHaveLength(1);
  });

  it('answers with a copy of the ISR the caller may keep', () => {
    const { response } = alterPartition(image, request({ newIsr: [2, 1] }), liveness);
    expect(response.isr).not.toBe(partitionOf(image, 't').isr);
  });
});
