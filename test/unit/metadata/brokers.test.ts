/**
 * The broker-lifecycle handlers (brokers.ts): registration, heartbeats (unfencing, controlled
 * shutdown), fencing on session expiry, elections and preferred-leader rebalancing. Each test
 * builds an image by replaying records through MetadataDelta, runs one handler, replays its
 * records the same way, and checks both the records and the resulting image (KIP-631 broker
 * lifecycle; Kafka's ReplicationControlManager). The last test drives random sequences of
 * operations and checks the partition invariants after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  brokerHeartbeat,
  electLeaders,
  fenceBroker,
  rebalancePreferredLeaders,
  registerBroker,
  type BrokerHeartbeatInput,
  type IsUncleanEnabled,
} from '../../../src/metadata/controller/brokers.js';
import { alterPartition } from '../../../src/metadata/controller/partitions.js';
import { createTopics } from '../../../src/metadata/controller/topics.js';
import type { MetadataImage, PartitionImage } from '../../../src/metadata/image.js';
import type { MetadataRecord } from '../../../src/metadata/records.js';
import {
  allUnclean,
  applyRecords,
  broker,
  imageOf,
  livenessOf,
  noUnclean,
  partitionOf,
  topic,
} from './cluster.js';

const types = (records: readonly MetadataRecord[]): string[] => records.map((r) => r.type);

const registration = (brokerId: number, incarnationId: string) => ({
  brokerId,
  incarnationId,
  host: 'localhost',
  port: 9000 + brokerId,
  rack: '',
});

// Brokers 1-3 unfenced with epoch 0. Topic t:
//   t-0 replicas [1, 2, 3], ISR [3, 2, 1] (not replica order), led by 1, leader epoch 5;
//   t-1 replicas [2, 1, 3], ISR [2, 1], led by 2;
//   t-2 replicas [1, 3],    ISR [1],    led by 1 (1 is the last ISR member).
const image = imageOf(
  [...broker(1), ...broker(2), ...broker(3)],
  topic('t', 'T', [
    { replicas: [1, 2, 3], isr: [3, 2, 1], leaderEpoch: 5, partitionEpoch: 8 },
    { replicas: [2, 1, 3], isr: [2, 1] },
    { replicas: [1, 3], isr: [1] },
  ]),
);

describe('fenceBroker (session expired)', () => {
  const { records, response } = fenceBroker(image, 1, livenessOf(image), noUnclean);
  const after = applyRecords(image, records);

  it('elects the first live ISR member in replica order, with leader epoch + 1', () => {
    expect(partitionOf(after, 't', 0)).toEqual({
      partition: 0,
      replicas: [1, 2, 3],
      isr: [3, 2],
      leader: 2,
      leaderEpoch: 6,
      partitionEpoch: 9,
    });
  });

  it('removes a follower from the ISR without touching the leader epoch', () => {
    expect(partitionOf(after, 't', 1)).toMatchObject({ leader: 2, isr: [2], leaderEpoch: 0 });
    expect(partitionOf(after, 't', 1).partitionEpoch).toBe(1);
  });

  it('leaves a partition whose last ISR member it is offline, ISR kept', () => {
    expect(partitionOf(after, 't', 2)).toMatchObject({ leader: -1, isr: [1], leaderEpoch: 1 });
    expect(response).toEqual({ changedCount: 3, offlineCount: 1 });
  });

  it('writes the partition changes, then FenceBrokerRecord', () => {
    expect(types(records)).toEqual([
      'PartitionChangeRecord',
      'PartitionChangeRecord',
      'PartitionChangeRecord',
      'FenceBrokerRecord',
    ]);
    expect(records[3]).toEqual({
      type: 'FenceBrokerRecord',
      version: 1,
      brokerId: 1,
      brokerEpoch: 0,
    });
    expect(after.brokers.get(1)?.fenced).toBe(true);
  });

  it('never elects another broker the liveness refuses', () => {
    const shuttingDown = livenessOf(image, new Set([2]));
    const fenced = applyRecords(image, fenceBroker(image, 1, shuttingDown, noUnclean).records);
    expect(partitionOf(fenced, 't', 0)).toMatchObject({ leader: 3, isr: [3, 2] });
  });

  it('elects outside the ISR only where unclean election is enabled for the topic', () => {
    const isUnclean: IsUncleanEnabled = (topicId) => topicId === 'T';
    const unclean = fenceBroker(image, 1, livenessOf(image), isUnclean);
    const uncleanAfter = applyRecords(image, unclean.records);
    expect(partitionOf(uncleanAfter, 't', 2)).toMatchObject({
      leader: 3,
      isr: [3],
      leaderEpoch: 1,
    });
    const other: IsUncleanEnabled = (topicId) => topicId === 'other';
    const clean = applyRecords(image, fenceBroker(image, 1, livenessOf(image), other).records);
    expect(partitionOf(clean, 't', 2)).toMatchObject({ leader: -1, isr: [1] });
  });

  it('writes nothing for a fenced or unknown broker', () => {
    expect(fenceBroker(after, 1, livenessOf(after), noUnclean).records).toEqual([]);
    expect(fenceBroker(image, 9, livenessOf(image), noUnclean).records).toEqual([]);
  });
});

describe('brokerHeartbeat', () => {
  const fenced = applyRecords(image, fenceBroker(image, 1, livenessOf(image), noUnclean).records);
  const heartbeat = (change: Partial<BrokerHeartbeatInput> = {}): BrokerHeartbeatInput => ({
    brokerId: 1,
    brokerEpoch: 0,
    metadataOffset: fenced.offset,
    wantShutDown: false,
    ...change,
  });

  it('refuses an unknown broker or another epoch: STALE_BROKER_EPOCH, no records', () => {
    for (const change of [{ brokerEpoch: 1 }, { brokerId: 9 }]) {
      const { records, response } = brokerHeartbeat(
        fenced,
        heartbeat(change),
        livenessOf(fenced),
        noUnclean,
      );
      expect(records).toEqual([]);
      expect(response).toMatchObject({ errorCode: 'STALE_BROKER_EPOCH', isFenced: true });
    }
  });

  it('keeps a broker fenced until it has caught up to its registration', () => {
    const lagging = imageOf(broker(1, { epoch: 7, fenced: true }));
    const input = heartbeat({ brokerEpoch: 7, metadataOffset: 6 });
    const { records, response } = brokerHeartbeat(lagging, input, livenessOf(lagging), noUnclean);
    expect(records).toEqual([]);
    expect(response).toEqual({
      errorCode: 'NONE',
      errorMessage: '',
      isFenced: true,
      shouldShutDown: false,
    });
    const caughtUp = heartbeat({ brokerEpoch: 7, metadataOffset: 7 });
    const unfenced = brokerHeartbeat(lagging, caughtUp, livenessOf(lagging), noUnclean);
    expect(types(unfenced.records)).toEqual(['UnfenceBrokerRecord']);
  });

  it('unfences a returning broker and elects it for the partitions it alone can lead', () => {
    const { records, response } = brokerHeartbeat(
      fenced,
      heartbeat(),
      livenessOf(fenced),
      noUnclean,
    );
    expect(types(records)).toEqual(['UnfenceBrokerRecord', 'PartitionChangeRecord']);
    expect(response).toMatchObject({ errorCode: 'NONE', isFenced: false, shouldShutDown: false });
    const after = applyRecords(fenced, records);
    expect(after.brokers.get(1)?.fenced).toBe(false);
    // Fencing bumped t-2 to leader epoch 1 (leader -1); the return bumps it again.
    expect(partitionOf(after, 't', 2)).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 2 });
    // It rejoins other ISRs only through its leaders' AlterPartition, once caught up.
    expect(partitionOf(after, 't', 0).isr).toEqual([3, 2]);
  });

  it('writes nothing for an unfenced broker that is not shutting down', () => {
    const input = heartbeat({ brokerId: 2 });
    const { records, response } = brokerHeartbeat(fenced, input, livenessOf(fenced), noUnclean);
    expect(records).toEqual([]);
    expect(response.isFenced).toBe(false);
  });
});

describe('brokerHeartbeat: controlled shutdown', () => {
  // Broker 1 asks to shut down; the controller marks it shutting down in its liveness.
  const shutdown = (current: MetadataImage) =>
    brokerHeartbeat(
      current,
      { brokerId: 1, brokerEpoch: 0, metadataOffset: current.offset, wantShutDown: true },
      livenessOf(current, new Set([1])),
      noUnclean,
    );

  it('first moves leaderships and shrinks ISRs, and holds the broker back', () => {
    const first = shutdown(image);
    expect(first.response).toEqual({
      errorCode: 'NONE',
      errorMessage: '',
      isFenced: false,
      shouldShutDown: false,
    });
    expect(types(first.records)).toEqual(['PartitionChangeRecord', 'PartitionChangeRecord']);
    const after = applyRecords(image, first.records);
    expect(partitionOf(after, 't', 0)).toMatchObject({ leader: 2, isr: [3, 2], leaderEpoch: 6 });
    expect(partitionOf(after, 't', 1)).toMatchObject({ leader: 2, isr: [2], leaderEpoch: 0 });
    // The last ISR member cannot hand over: it keeps leading until it is fenced.
    expect(partitionOf(after, 't', 2)).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 0 });
    expect(after.brokers.get(1)?.fenced).toBe(false);
  });

  it('then tells it to shut down and fences it; its sole partitions go offline', () => {
    const moved = applyRecords(image, shutdown(image).records);
    const second = shutdown(moved);
    expect(second.response).toMatchObject({ isFenced: true, shouldShutDown: true });
    expect(types(second.records)).toEqual(['PartitionChangeRecord', 'FenceBrokerRecord']);
    const after = applyRecords(moved, second.records);
    expect(partitionOf(after, 't', 2)).toMatchObject({ leader: -1, isr: [1], leaderEpoch: 1 });
    expect(after.brokers.get(1)?.fenced).toBe(true);
    const third = shutdown(after);
    expect(third.records).toEqual([]);
    expect(third.response).toMatchObject({ isFenced: true, shouldShutDown: true });
  });

  it('hands over a sole-ISR partition whose follower caught up in the meantime', () => {
    const moved = applyRecords(image, shutdown(image).records);
    const t2 = partitionOf(moved, 't', 2);
    const expand = alterPartition(
      moved,
      {
        brokerId: 1,
        brokerEpoch: 0,
        topicId: 'T',
        partition: 2,
        leaderEpoch: t2.leaderEpoch,
        partitionEpoch: t2.partitionEpoch,
        newIsr: [1, 3],
      },
      livenessOf(moved, new Set([1])),
    );
    const expanded = applyRecords(moved, expand.records);
    const next = shutdown(expanded);
    expect(next.response.shouldShutDown).toBe(false);
    expect(partitionOf(applyRecords(expanded, next.records), 't', 2)).toMatchObject({
      leader: 3,
      isr: [3],
    });
  });

  it('lets a broker that leads nothing movable go at once', () => {
    const follower = brokerHeartbeat(
      image,
      { brokerId: 3, brokerEpoch: 0, metadataOffset: image.offset, wantShutDown: true },
      livenessOf(image, new Set([3])),
      noUnclean,
    );
    expect(follower.response).toMatchObject({ isFenced: true, shouldShutDown: true });
    expect(types(follower.records)).toEqual(['PartitionChangeRecord', 'FenceBrokerRecord']);
    const after = applyRecords(image, follower.records);
    expect(partitionOf(after, 't', 0).isr).toEqual([2, 1]);
  });
});

describe('registerBroker', () => {
  it('gives a new broker epoch = offset + 1 and starts it fenced', () => {
    const { records, response } = registerBroker(image, registration(4, 'a'));
    expect(response).toEqual({
      errorCode: 'NONE',
      errorMessage: '',
      brokerEpoch: image.offset + 1,
    });
    expect(types(records)).toEqual(['RegisterBrokerRecord']);
    const after = applyRecords(image, records);
    expect(after.brokers.get(4)).toMatchObject({ brokerEpoch: image.offset + 1, fenced: true });
  });

  it('answers a retried registration of the same incarnation with its epoch, no records', () => {
    const first = registerBroker(image, registration(4, 'a'));
    const after = applyRecords(image, first.records);
    const again = registerBroker(after, registration(4, 'a'));
    expect(again.records).toEqual([]);
    expect(again.response.brokerEpoch).toBe(first.response.brokerEpoch);
  });

  it('takes a new incarnation out of every ISR and leadership before registering it', () => {
    const { records, response } = registerBroker(image, registration(1, 'restarted'));
    expect(types(records)).toEqual([
      'PartitionChangeRecord',
      'PartitionChangeRecord',
      'PartitionChangeRecord',
      'RegisterBrokerRecord',
    ]);
    const after = applyRecords(image, records);
    expect(response.brokerEpoch).toBeGreaterThan(0);
    expect(after.brokers.get(1)).toMatchObject({
      incarnationId: 'restarted',
      brokerEpoch: response.brokerEpoch,
      fenced: true,
    });
    expect(partitionOf(after, 't', 0)).toMatchObject({ leader: 2, isr: [3, 2], leaderEpoch: 6 });
    expect(partitionOf(after, 't', 1).isr).toEqual([2]);
    expect(partitionOf(after, 't', 2)).toMatchObject({ leader: -1, isr: [1] });
  });

  it('makes the old epoch stale for heartbeats and AlterPartition', () => {
    const { records, response } = registerBroker(image, registration(2, 'restarted'));
    const after = applyRecords(image, records);
    const old = brokerHeartbeat(
      after,
      { brokerId: 2, brokerEpoch: 0, metadataOffset: after.offset, wantShutDown: false },
      livenessOf(after),
      noUnclean,
    );
    expect(old.response.errorCode).toBe('STALE_BROKER_EPOCH');
    const current = brokerHeartbeat(
      after,
      {
        brokerId: 2,
        brokerEpoch: response.brokerEpoch,
        metadataOffset: after.offset,
        wantShutDown: false,
      },
      livenessOf(after),
      noUnclean,
    );
    expect(current.response).toMatchObject({ errorCode: 'NONE', isFenced: false });
  });

  it('refuses a malformed registration with INVALID_REQUEST', () => {
    for (const bad of [
      { ...registration(-1, 'a') },
      { ...registration(1, '') },
      { ...registration(1, 'a'), port: 0 },
    ]) {
      const { records, response } = registerBroker(image, bad);
      expect(records).toEqual([]);
      expect(response).toMatchObject({ errorCode: 'INVALID_REQUEST', brokerEpoch: -1 });
    }
  });
});

describe('electLeaders and rebalancePreferredLeaders', () => {
  // Broker 1 fenced: t-0 led by 2, t-2 offline with ISR [1].
  const fenced = applyRecords(image, fenceBroker(image, 1, livenessOf(image), noUnclean).records);

  it('elects nothing clean while the last ISR member is away', () => {
    const { records, response } = electLeaders(fenced, livenessOf(fenced), noUnclean);
    expect(records).toEqual([]);
    expect(response).toEqual({ changedCount: 0, offlineCount: 0 });
  });

  it('elects an unclean leader when the topic allows it', () => {
    const { records } = electLeaders(fenced, livenessOf(fenced), allUnclean);
    const after = applyRecords(fenced, records);
    expect(partitionOf(after, 't', 2)).toMatchObject({ leader: 3, isr: [3], leaderEpoch: 2 });
  });

  it('moves leadership back to an eligible in-sync preferred replica, bounded per call', () => {
    // Broker 1 back and in sync again on t-0: the preferred replica 1 should lead it.
    const back = imageOf(
      [...broker(1), ...broker(2), ...broker(3)],
      topic('t', 'T', [
        { replicas: [1, 2, 3], isr: [2, 1], leader: 2 },
        { replicas: [1, 2, 3], isr: [2, 1], leader: 2 },
        { replicas: [3, 2, 1], isr: [2], leader: 2 },
        { replicas: [1, 2], isr: [2, 1], leader: 2 },
      ]),
    );
    const first = rebalancePreferredLeaders(back, livenessOf(back), 2);
    expect(first.response).toEqual({ movedCount: 2, remainingCount: 1 });
    const once = applyRecords(back, first.records);
    expect(partitionOf(once, 't', 0)).toMatchObject({ leader: 1, isr: [2, 1], leaderEpoch: 1 });
    expect(partitionOf(once, 't', 1).leader).toBe(1);
    const second = rebalancePreferredLeaders(once, livenessOf(once), 2);
    expect(second.response).toEqual({ movedCount: 1, remainingCount: 0 });
    const twice = applyRecords(once, second.records);
    expect(partitionOf(twice, 't', 3).leader).toBe(1);
    // t-2's preferred replica 3 is not in the ISR: it stays with 2.
    expect(partitionOf(twice, 't', 2).leader).toBe(2);
    const shuttingDown = rebalancePreferredLeaders(back, livenessOf(back, new Set([1])), 10);
    expect(shuttingDown.records).toEqual([]);
  });
});

describe('property: random broker lifecycles keep the partition invariants', () => {
  // Five brokers and two topics, one with unclean election enabled. Random operations run
  // through the handlers the way the controller runs them (shutting-down brokers tracked in
  // memory); after each, the image must keep: leader -1 or in the ISR, ISR a non-empty subset
  // of the replicas without duplicates, a fenced broker only as a sole ISR member and never a
  // leader, epochs never decreasing, and on the clean topic every new leader from the old ISR.
  const brokerIds = [0, 1, 2, 3, 4];
  const isUncleanEnabled: IsUncleanEnabled = (topicId) => topicId === 'U';

  type Op =
    | { kind: 'fence'; brokerId: number }
    | { kind: 'heartbeat'; brokerId: number; wantShutDown: boolean; isCaughtUp: boolean }
    | { kind: 'staleHeartbeat'; brokerId: number }
    | { kind: 'register'; brokerId: number }
    | {
        kind: 'alterPartition';
        topicId: string;
        partition: number;
        keep: readonly number[];
        isAddingOnlyEligible: boolean;
      }
    | { kind: 'electLeaders' }
    | { kind: 'rebalance'; changesMax: number }
    // Every broker heartbeats once, caught up (those shutting down keep asking to).
    | { kind: 'heartbeatAll' }
    // Every partition leader proposes all replicas it sees as eligible: followers caught up.
    | { kind: 'catchUpAll' };

  /** The single operations `o` stands for; each is one controller operation (one entry). */
  function expand(o: Op, current: MetadataImage, shuttingDown: ReadonlySet<number>): Op[] {
    if (o.kind === 'heartbeatAll') {
      return brokerIds.map((id) => ({
        kind: 'heartbeat',
        brokerId: id,
        wantShutDown: shuttingDown.has(id),
        isCaughtUp: true,
      }));
    }
    if (o.kind !== 'catchUpAll') return [o];
    return [...current.topicsById.values()].flatMap((t) =>
      t.partitions.map((p) => ({
        kind: 'alterPartition' as const,
        topicId: t.topicId,
        partition: p.partition,
        keep: brokerIds,
        isAddingOnlyEligible: true,
      })),
    );
  }

  const brokerId = fc.constantFrom(...brokerIds);
  // Weighted so that brokers come back about as often as they leave and ISRs grow as well as
  // shrink: otherwise most sequences decay into a cluster of fenced brokers.
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('fence' as const), brokerId }) },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('heartbeat' as const),
        brokerId,
        wantShutDown: fc.nat({ max: 7 }).map((n) => n === 0),
        isCaughtUp: fc.nat({ max: 3 }).map((n) => n > 0),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('staleHeartbeat' as const), brokerId }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('register' as const), brokerId }) },
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('alterPartition' as const),
        topicId: fc.constantFrom('C', 'U'),
        partition: fc.nat({ max: 5 }),
        keep: fc.oneof(fc.constant(brokerIds), fc.subarray(brokerIds)),
        isAddingOnlyEligible: fc.nat({ max: 3 }).map((n) => n > 0),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'electLeaders' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'heartbeatAll' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'catchUpAll' as const }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('rebalance' as const),
        changesMax: fc.integer({ min: 1, max: 4 }),
      }),
    },
  );

  function setUp(): MetadataImage {
    let current = imageOf();
    for (const id of brokerIds) {
      const registered = registerBroker(current, {
        ...registration(id, `boot-${id}`),
        rack: `rack-${id % 2}`,
      });
      current = applyRecords(current, registered.records);
      const epoch = registered.response.brokerEpoch;
      const input = {
        brokerId: id,
        brokerEpoch: epoch,
        metadataOffset: epoch,
        wantShutDown: false,
      };
      current = applyRecords(
        current,
        brokerHeartbeat(current, input, livenessOf(current), noUnclean).records,
      );
    }
    const topics = [
      { name: 'clean', partitions: 6, replicationFactor: 3, configs: new Map<string, string>() },
      { name: 'unclean', partitions: 6, replicationFactor: 2, configs: new Map<string, string>() },
    ];
    const ids = ['C', 'U'];
    const created = createTopics(
      current,
      topics,
      { numPartitions: 1, replicationFactor: 1 },
      () => ids.shift() ?? 'X',
    );
    return applyRecords(current, created.records);
  }

  function run(
    current: MetadataImage,
    o: Op,
    shuttingDown: Set<number>,
    incarnation: number,
  ): readonly MetadataRecord[] {
    const liveness = livenessOf(current, shuttingDown);
    switch (o.kind) {
      case 'fence':
        return fenceBroker(current, o.brokerId, liveness, isUncleanEnabled).records;
      case 'heartbeat': {
        const registered = current.brokers.get(o.brokerId);
        if (registered === undefined) return [];
        if (o.wantShutDown) shuttingDown.add(o.brokerId);
        const input = {
          brokerId: o.brokerId,
          brokerEpoch: registered.brokerEpoch,
          metadataOffset: o.isCaughtUp ? current.offset : registered.brokerEpoch - 1,
          wantShutDown: o.wantShutDown,
        };
        return brokerHeartbeat(current, input, livenessOf(current, shuttingDown), isUncleanEnabled)
          .records;
      }
      case 'staleHeartbeat': {
        const epoch = (current.brokers.get(o.brokerId)?.brokerEpoch ?? 0) - 1;
        const input = {
          brokerId: o.brokerId,
          brokerEpoch: epoch,
          metadataOffset: current.offset,
          wantShutDown: false,
        };
        const result = brokerHeartbeat(current, input, liveness, isUncleanEnabled);
        expect(result.response.errorCode).toBe('STALE_BROKER_EPOCH');
        expect(result.records).toEqual([]);
        return [];
      }
      case 'register':
        shuttingDown.delete(o.brokerId);
        return registerBroker(
          current,
          registration(o.brokerId, `incarnation-${incarnation}`),
          livenessOf(current, shuttingDown),
          isUncleanEnabled,
        ).records;
      case 'alterPartition': {
        const partition = current.topicsById.get(o.topicId)?.partitions[o.partition];
        if (partition === undefined || partition.leader === -1) return [];
        const leader = current.brokers.get(partition.leader);
        if (leader === undefined) return [];
        // A leader adds followers that caught up; a careful one here adds only eligible ones.
        const isWanted = (id: number): boolean =>
          id !== partition.leader &&
          partition.replicas.includes(id) &&
          (!o.isAddingOnlyEligible || partition.isr.includes(id) || liveness.isEligible(id));
        const newIsr = [partition.leader, ...o.keep.filter(isWanted)];
        const result = alterPartition(
          current,
          {
            brokerId: partition.leader,
            brokerEpoch: leader.brokerEpoch,
            topicId: o.topicId,
            partition: o.partition,
            leaderEpoch: partition.leaderEpoch,
            partitionEpoch: partition.partitionEpoch,
            newIsr,
          },
          liveness,
        );
        expect(['NONE', 'INELIGIBLE_REPLICA']).toContain(result.response.errorCode);
        return result.records;
      }
      case 'electLeaders':
        return electLeaders(current, liveness, isUncleanEnabled).records;
      case 'rebalance':
        return rebalancePreferredLeaders(current, liveness, o.changesMax).records;
      case 'heartbeatAll':
      case 'catchUpAll':
        throw new Error(`${o.kind} is expanded before it runs`);
    }
  }

  /** Throws naming the broken invariant; plain checks, as this runs thousands of times. */
  function check(condition: boolean, what: string, p: PartitionImage): void {
    if (!condition) throw new Error(`${what}: ${JSON.stringify(p)}`);
  }

  function checkInvariants(before: MetadataImage, after: MetadataImage): void {
    for (const topicImage of after.topicsById.values()) {
      for (const p of topicImage.partitions) {
        const old = before.topicsById.get(topicImage.topicId)?.partitions[p.partition];
        check(p.isr.length > 0, 'ISR never empty', p);
        check(new Set(p.isr).size === p.isr.length, 'ISR without duplicates', p);
        check(
          p.isr.every((id) => p.replicas.includes(id)),
          'ISR within the replicas',
          p,
        );
        check(p.leader === -1 || p.isr.includes(p.leader), 'leader -1 or in the ISR', p);
        const isFenced = (id: number): boolean => after.brokers.get(id)?.fenced !== false;
        check(p.leader === -1 || !isFenced(p.leader), 'a fenced broker never leads', p);
        check(p.isr.length === 1 || !p.isr.some(isFenced), 'a fenced broker only as sole ISR', p);
        if (old === undefined) continue;
        check(p.leaderEpoch >= old.leaderEpoch, 'leader epoch never decreases', p);
        check(p.partitionEpoch >= old.partitionEpoch, 'partition epoch never decreases', p);
        const isLeaderChanged = p.leader !== old.leader;
        check(!isLeaderChanged || p.leaderEpoch > old.leaderEpoch, 'new leader, new epoch', p);
        if (topicImage.topicId === 'C' && isLeaderChanged && p.leader !== -1) {
          check(old.isr.includes(p.leader), 'a clean election picks from the ISR', p);
        }
      }
    }
  }

  it('after any sequence of fence, heartbeat, register, AlterPartition and elections', () => {
    const initial = setUp();
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 60, size: 'max' }), (ops) => {
        let current = initial;
        const shuttingDown = new Set<number>();
        let step = 0;
        for (const o of ops) {
          for (const single of expand(o, current, shuttingDown)) {
            const records = run(current, single, shuttingDown, step++);
            const next = applyRecords(current, records);
            checkInvariants(current, next);
            current = next;
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
