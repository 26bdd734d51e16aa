/**
 * The metadata state machine Raft replicates (src/metadata/metadata-state.ts): committed
 * entries replay into the image, listeners see each change, and a snapshot restored into a
 * fresh state machine gives the same image and the same digest (what InstallSnapshot and a
 * restart rely on). Entries are built with the real record encoding.
 */
import { describe, expect, it } from 'vitest';
import {
  MetadataState,
  encodeMetadataEntry,
  type MetadataChanges,
  type MetadataRecord,
} from '../../../src/metadata/index.js';
import { EntryType, type Entry } from '../../../src/raft/types.js';

const TOPIC_ID = '00000000-0000-4000-8000-000000000001';

function entry(index: number, records: MetadataRecord[]): Entry {
  return { term: 1, index, type: EntryType.NORMAL, data: encodeMetadataEntry(records) };
}

const register = (brokerId: number, brokerEpoch: number): MetadataRecord => ({
  type: 'RegisterBrokerRecord',
  version: 1,
  brokerId,
  incarnationId: `inc-${brokerId}`,
  brokerEpoch,
  host: '127.0.0.1',
  port: 7000 + brokerId,
  rack: '',
});

const history: Entry[] = [
  entry(1, []),
  entry(2, [register(1, 2), register(2, 2)]),
  entry(3, [
    { type: 'UnfenceBrokerRecord', version: 1, brokerId: 1, brokerEpoch: 2 },
    { type: 'UnfenceBrokerRecord', version: 1, brokerId: 2, brokerEpoch: 2 },
  ]),
  entry(4, [
    { type: 'TopicRecord', version: 1, name: 'orders', topicId: TOPIC_ID },
    {
      type: 'ConfigRecord',
      version: 1,
      resourceType: 'topic',
      resourceName: 'orders',
      name: 'min.insync.replicas',
      value: '2',
    },
    {
      type: 'PartitionRecord',
      version: 1,
      topicId: TOPIC_ID,
      partition: 0,
      replicas: [1, 2],
      isr: [1, 2],
      leader: 1,
      leaderEpoch: 0,
      partitionEpoch: 0,
    },
  ]),
  entry(5, [
    {
      type: 'PartitionChangeRecord',
      version: 1,
      topicId: TOPIC_ID,
      partition: 0,
      isr: [2],
      leader: 2,
      replicas: null,
    },
    { type: 'FenceBrokerRecord', version: 1, brokerId: 1, brokerEpoch: 2 },
  ]),
];

describe('MetadataState', () => {
  it('replays committed entries into the image and tells listeners what changed', () => {
    const state = new MetadataState();
    const seen: MetadataChanges[] = [];
    state.onChange((_, changes) => seen.push(changes));
    state.apply(history.slice(0, 4));
    state.apply(history.slice(4));
    const image = state.image();
    expect(image.offset).toBe(5);
    expect(image.partition('orders', 0)).toEqual({
      partition: 0,
      replicas: [1, 2],
      isr: [2],
      leader: 2,
      leaderEpoch: 1,
      partitionEpoch: 1,
    });
    expect(image.brokers.get(1)?.fenced).toBe(true);
    expect(image.brokers.get(2)?.fenced).toBe(false);
    expect(image.topic('orders')?.configs.get('min.insync.replicas')).toBe('2');
    expect(seen.map((c) => c.createdTopics.map((t) => t.name))).toEqual([['orders'], []]);
    expect(seen[1]?.changedBrokers).toEqual([1]);
  });

  it('restores a snapshot to the same image and digest, and goes on from there', () => {
    const original = new MetadataState();
    original.apply(history.slice(0, 4));
    const data = original.snapshot();
    const copy = new MetadataState();
    const reloads: boolean[] = [];
    copy.onChange((_, changes) => reloads.push(changes.isReload));
    copy.restore({ meta: { index: 4, term: 1, confState: { voters: [], observers: [] } }, data });
    expect(reloads).toEqual([true]);
    expect(copy.digest()).toBe(original.digest());
    original.apply(history.slice(4));
    copy.apply(history.slice(4));
    expect(copy.digest()).toBe(original.digest());
    expect(copy.image().partition('orders', 0)).toEqual(original.image().partition('orders', 0));
  });

  it('gives the same digest however the entries were batched into applies', () => {
    const whole = new MetadataState();
    whole.apply(history);
    const oneByOne = new MetadataState();
    for (const e of history) oneByOne.apply([e]);
    expect(oneByOne.digest()).toBe(whole.digest());
  });

  it('resolves offset waiters once the offset is applied', async () => {
    const state = new MetadataState();
    let done = false;
    const waiting = state.waitForOffset(3).then(() => (done = true));
    state.apply(history.slice(0, 2));
    await Promise.resolve();
    expect(done).toBe(false);
    state.apply(history.slice(2, 3));
    await waiting;
    expect(done).toBe(true);
  });

  it('refuses an entry written by a newer release', () => {
    const state = new MetadataState();
    const future = { ...entry(1, []), data: Buffer.from('{"v":2,"records":[]}') };
    expect(() => state.apply([future])).toThrow(/newer Brook/);
  });
});
