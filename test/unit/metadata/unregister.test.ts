/**
 * Unregistering a broker (KIP-631's UnregisterBrokerRecord): the pure handler's refusals and
 * its one record (controller/unregister.ts), the record's replay into the image, a snapshot of
 * the result that round-trips without the broker, and the record type as the log decoder sees
 * it. Images are built by replaying records through MetadataDelta, as every node applies
 * committed entries.
 */
import { describe, expect, it } from 'vitest';
import { unregisterBroker } from '../../../src/metadata/controller/unregister.js';
import { MetadataDelta, imageToRecords } from '../../../src/metadata/image.js';
import { MetadataState } from '../../../src/metadata/metadata-state.js';
import {
  checkMetadataRecord,
  decodeMetadataEntry,
  encodeMetadataEntry,
  type MetadataRecord,
} from '../../../src/metadata/records.js';
import { EntryType } from '../../../src/raft/types.js';
import { applyRecords, broker, imageOf, topic } from './cluster.js';

// Brokers 1-3 unfenced (epoch 0), 4 fenced (epoch 7) and named by no partition, 5 fenced but
// still adding to t-1, 6 unfenced and named by no partition. Topic t: t-0 [1, 2, 3]; t-1 moving
// from [1, 2] to [1, 5] (5 adding, 2 removing).
const image = imageOf(
  [
    ...broker(1),
    ...broker(2),
    ...broker(3),
    ...broker(4, { epoch: 7, fenced: true }),
    ...broker(5, { fenced: true }),
    ...broker(6),
  ],
  topic('t', 'T', [{ replicas: [1, 2, 3] }, { replicas: [1, 2] }]),
  [
    {
      type: 'PartitionChangeRecord',
      version: 2,
      topicId: 'T',
      partition: 1,
      isr: null,
      leader: null,
      replicas: [1, 5, 2],
      addingReplicas: [5],
      removingReplicas: [2],
    },
  ],
);

describe('unregisterBroker (controller handler)', () => {
  it('drops a fenced broker that no partition names with one UnregisterBrokerRecord', () => {
    const { records, response } = unregisterBroker(image, 4);
    expect(response).toEqual({ errorCode: 'NONE', errorMessage: '' });
    expect(records).toEqual([
      { type: 'UnregisterBrokerRecord', version: 1, brokerId: 4, brokerEpoch: 7 },
    ]);
    const after = applyRecords(image, records);
    expect(after.brokers.has(4)).toBe(false);
    expect([...after.brokers.keys()].sort()).toEqual([1, 2, 3, 5, 6]);
    expect(after.topic('t')).toBe(image.topic('t'));
  });

  it('refuses an unknown id, and a second unregister, with BROKER_ID_NOT_REGISTERED', () => {
    expect(unregisterBroker(image, 9)).toEqual({
      records: [],
      response: {
        errorCode: 'BROKER_ID_NOT_REGISTERED',
        errorMessage: 'broker 9 is not registered',
      },
    });
    const after = applyRecords(image, unregisterBroker(image, 4).records);
    expect(unregisterBroker(after, 4).response.errorCode).toBe('BROKER_ID_NOT_REGISTERED');
    expect(unregisterBroker(after, 4).records).toEqual([]);
  });

  it('refuses a running (unfenced) broker, saying to stop it first', () => {
    expect(unregisterBroker(image, 6)).toEqual({
      records: [],
      response: {
        errorCode: 'INVALID_REQUEST',
        errorMessage:
          'broker 6 is running (unfenced): stop it first; a running broker would register again',
      },
    });
  });

  it('refuses a broker any partition names, in replicas or in a reassignment, saying to drain it', () => {
    expect(unregisterBroker(image, 1).response).toEqual({
      errorCode: 'INVALID_REQUEST',
      errorMessage:
        'broker 1 still holds 2 replica(s) (t-0, t-1): move them first with `brook brokers drain 1`',
    });
    // Fenced, but still being added to t-1: a drain comes before stopping, so this refusal wins.
    expect(unregisterBroker(image, 5).response.errorMessage).toBe(
      'broker 5 still holds 1 replica(s) (t-1): move them first with `brook brokers drain 5`',
    );
    // Being removed from t-1 still counts: the move is not done.
    expect(unregisterBroker(image, 2).response.errorMessage).toContain('2 replica(s) (t-0, t-1)');
    expect(unregisterBroker(image, 5).records).toEqual([]);
  });

  it('lists at most five partitions in the refusal', () => {
    const many = applyRecords(
      image,
      topic(
        'u',
        'U',
        Array.from({ length: 7 }, () => ({ replicas: [3] })),
      ),
    );
    expect(unregisterBroker(many, 3).response.errorMessage).toBe(
      'broker 3 still holds 8 replica(s) (t-0, u-0, u-1, u-2, u-3, …): move them first with `brook brokers drain 3`',
    );
  });
});

describe('UnregisterBrokerRecord replay', () => {
  it('removes the broker and reports it as changed', () => {
    const delta = new MetadataDelta(image);
    delta.advanceTo(image.offset + 1);
    delta.replay({ type: 'UnregisterBrokerRecord', version: 1, brokerId: 4, brokerEpoch: 7 });
    const { image: after, changes } = delta.apply();
    expect(after.brokers.has(4)).toBe(false);
    expect(changes.changedBrokers).toEqual([4]);
  });

  it('leaves a newer registration in place (a record of an older epoch)', () => {
    const delta = new MetadataDelta(image);
    delta.advanceTo(image.offset + 1);
    delta.replay({ type: 'UnregisterBrokerRecord', version: 1, brokerId: 4, brokerEpoch: 6 });
    const { image: after, changes } = delta.apply();
    expect(after.brokers.get(4)).toEqual(image.brokers.get(4));
    expect(changes.changedBrokers).toEqual([]);
  });

  it('asserts on a broker the image does not have', () => {
    const delta = new MetadataDelta(image);
    expect(() =>
      delta.replay({ type: 'UnregisterBrokerRecord', version: 1, brokerId: 9, brokerEpoch: 0 }),
    ).toThrow(/unknown broker 9/);
  });

  it('a broker unregistered and then registered again gets a fresh registration', () => {
    const gone = applyRecords(image, unregisterBroker(image, 4).records);
    const back = applyRecords(gone, broker(4, { epoch: gone.offset + 1, incarnationId: 'new' }));
    expect(back.brokers.get(4)).toMatchObject({ incarnationId: 'new', fenced: false });
  });
});

describe('snapshots without the broker', () => {
  const after = applyRecords(image, unregisterBroker(image, 4).records);

  it('the image written as records rebuilds the same image', () => {
    const records = imageToRecords(after);
    expect(records.some((r) => 'brokerId' in r && r.brokerId === 4)).toBe(false);
    const rebuilt = imageOf(records);
    expect(imageToRecords(rebuilt)).toEqual(records);
    expect([...rebuilt.brokers.keys()].sort()).toEqual([1, 2, 3, 5, 6]);
  });

  it('a state machine restored from the snapshot has the same digest', () => {
    const entries: (readonly MetadataRecord[])[] = [
      imageToRecords(image),
      unregisterBroker(image, 4).records,
    ];
    const original = new MetadataState();
    original.apply(
      entries.map((records, i) => ({
        term: 1,
        index: i + 1,
        type: EntryType.NORMAL,
        data: encodeMetadataEntry(records),
      })),
    );
    expect(original.image().brokers.has(4)).toBe(false);
    const copy = new MetadataState();
    copy.restore({
      meta: { index: 2, term: 1, confState: { voters: [], observers: [] } },
      data: original.snapshot(),
    });
    expect(copy.digest()).toBe(original.digest());
    expect(copy.image().brokers.has(4)).toBe(false);
  });
});

describe('the record type in the log', () => {
  it('decodes version 1 and refuses another version, as written by a newer release', () => {
    const record = { type: 'UnregisterBrokerRecord', version: 1, brokerId: 4, brokerEpoch: 7 };
    expect(checkMetadataRecord(record)).toEqual(record);
    expect(decodeMetadataEntry(encodeMetadataEntry([record as MetadataRecord]))).toEqual([record]);
    expect(() => checkMetadataRecord({ ...record, version: 2 })).toThrow(
      /unknown metadata record UnregisterBrokerRecord v2: this log was written by a newer Brook/,
    );
  });
});
