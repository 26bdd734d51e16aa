/**
 * Replica placement (placement.ts) and its use by createTopics/createPartitions. Examples pin
 * the exact layout so a change to the algorithm shows up in review; fast-check properties state
 * the guarantees for any broker set: distinct replicas, preferred leaders balanced within one,
 * followers balanced, and rack coverage min(replication factor, racks), as in Kafka's
 * rack-aware assignment (KIP-36).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  alternateRacks,
  placeReplicas,
  startIndexOfLeader,
  type PlacementBroker,
} from '../../../src/metadata/controller/placement.js';
import { createPartitions, createTopics } from '../../../src/metadata/controller/topics.js';
import { AssertionError } from '../../../src/util/assert.js';
import { applyRecords, broker, imageOf, partitionOf } from './cluster.js';

const brokersOf = (...racks: string[]): PlacementBroker[] =>
  racks.map((rack, brokerId) => ({ brokerId, rack }));

const countBy = (ids: readonly number[], brokers: readonly PlacementBroker[]): number[] =>
  brokers.map((b) => ids.filter((id) => id === b.brokerId).length);

const spreadOf = (counts: readonly number[]): number => Math.max(...counts) - Math.min(...counts);

/** Brokers with ids 0..n-1 (sparse ids would do too), racks named or all empty. */
const brokerSets = fc
  .record({
    brokerCount: fc.integer({ min: 1, max: 9 }),
    rackCount: fc.integer({ min: 1, max: 4 }),
    isRackAware: fc.boolean(),
    rackSeed: fc.array(fc.nat(), { minLength: 9, maxLength: 9 }),
  })
  .map(({ brokerCount, rackCount, isRackAware, rackSeed }) =>
    Array.from({ length: brokerCount }, (_, i) => ({
      brokerId: i * 3 + 1,
      rack: isRackAware ? `rack-${(rackSeed[i] as number) % rackCount}` : '',
    })),
  );

const requests = brokerSets.chain((brokers) =>
  fc.record({
    brokers: fc.constant(brokers),
    replicationFactor: fc.integer({ min: 1, max: brokers.length }),
    partitionCount: fc.integer({ min: 1, max: 40 }),
    startIndex: fc.nat({ max: 1000 }),
  }),
);

describe('placeReplicas', () => {
  it('goes round the brokers: leader p + start, followers shifted once per round', () => {
    const replicas = placeReplicas({
      brokers: brokersOf('', '', ''),
      partitionFrom: 0,
      partitionTo: 6,
      replicationFactor: 3,
      startIndex: 0,
    });
    expect(replicas).toEqual([
      [0, 1, 2],
      [1, 2, 0],
      [2, 0, 1],
      [0, 2, 1],
      [1, 0, 2],
      [2, 1, 0],
    ]);
  });

  it('alternates racks in the broker list (racks by name, brokers by id)', () => {
    const brokers = brokersOf('b', 'a', 'b', 'a', 'c');
    expect(alternateRacks(brokers).map((b) => b.brokerId)).toEqual([1, 0, 4, 3, 2]);
  });

  it('puts the replicas of a partition in distinct racks when rack-aware', () => {
    // Ids in rack order would put neighbours in one rack; the alternated list does not.
    const brokers = brokersOf('a', 'a', 'b', 'b', 'c', 'c');
    const replicas = placeReplicas({
      brokers,
      partitionFrom: 0,
      partitionTo: 12,
      replicationFactor: 3,
      startIndex: 0,
    });
    for (const partition of replicas) {
      const racks = partition.map((id) => (brokers[id] as PlacementBroker).rack);
      expect(new Set(racks).size).toBe(3);
    }
  });

  it('ignores racks unless every broker names one', () => {
    const brokers = brokersOf('a', 'a', '', 'b');
    const unaware = brokersOf('', '', '', '');
    const request = { partitionFrom: 0, partitionTo: 8, replicationFactor: 2, startIndex: 3 };
    expect(placeReplicas({ ...request, brokers })).toEqual(
      placeReplicas({ ...request, brokers: unaware }),
    );
  });

  it('refuses (asserts) a replication factor above the broker count', () => {
    const request = { partitionFrom: 0, partitionTo: 1, replicationFactor: 3, startIndex: 0 };
    expect(() => placeReplicas({ ...request, brokers: brokersOf('', '') })).toThrow(AssertionError);
  });

  it('property: replicas are distinct, RF long, on the given brokers', () => {
    fc.assert(
      fc.property(requests, ({ brokers, replicationFactor, partitionCount, startIndex }) => {
        const ids = new Set(brokers.map((b) => b.brokerId));
        const replicas = placeReplicas({
          brokers,
          partitionFrom: 0,
          partitionTo: partitionCount,
          replicationFactor,
          startIndex,
        });
        expect(replicas).toHaveLength(partitionCount);
        const isWellFormed = (partition: number[]): boolean =>
          partition.length === replicationFactor &&
          new Set(partition).size === replicationFactor &&
          partition.every((id) => ids.has(id));
        expect(replicas.filter((partition) => !isWellFormed(partition))).toEqual([]);
      }),
    );
  });

  it('property: preferred leaders of a new topic differ by at most one per broker', () => {
    fc.assert(
      fc.property(requests, ({ brokers, replicationFactor, partitionCount, startIndex }) => {
        const replicas = placeReplicas({
          brokers,
          partitionFrom: 0,
          partitionTo: partitionCount,
          replicationFactor,
          startIndex,
        });
        const leaders = replicas.map((partition) => partition[0] as number);
        expect(spreadOf(countBy(leaders, brokers))).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('property: rack-aware replicas cover min(RF, racks) racks', () => {
    fc.assert(
      fc.property(requests, ({ brokers, replicationFactor, partitionCount, startIndex }) => {
        fc.pre(brokers.every((b) => b.rack !== ''));
        const rackOf = new Map(brokers.map((b) => [b.brokerId, b.rack]));
        const rackCount = new Set(rackOf.values()).size;
        const replicas = placeReplicas({
          brokers,
          partitionFrom: 0,
          partitionTo: partitionCount,
          replicationFactor,
          startIndex,
        });
        for (const partition of replicas) {
          const racks = new Set(partition.map((id) => rackOf.get(id)));
          expect(racks.size).toBe(Math.min(replicationFactor, rackCount));
        }
      }),
    );
  });

  it('property: without racks, each follower position differs by at most one per broker', () => {
    fc.assert(
      fc.property(requests, ({ brokers, replicationFactor, partitionCount, startIndex }) => {
        const unaware = brokers.map((b) => ({ ...b, rack: '' }));
        const replicas = placeReplicas({
          brokers: unaware,
          partitionFrom: 0,
          partitionTo: partitionCount,
          replicationFactor,
          startIndex,
        });
        for (let position = 1; position < replicationFactor; position++) {
          const followers = replicas.map((partition) => partition[position] as number);
          expect(spreadOf(countBy(followers, unaware))).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  it('property: whole rounds over equal racks give every broker the same follower count', () => {
    const equalRacks = fc.record({
      rackCount: fc.integer({ min: 1, max: 4 }),
      brokersPerRack: fc.integer({ min: 1, max: 3 }),
      isRackAware: fc.boolean(),
      rounds: fc.integer({ min: 1, max: 4 }),
      startIndex: fc.nat({ max: 1000 }),
      replicationFactorSeed: fc.nat(),
    });
    fc.assert(
      fc.property(equalRacks, (r) => {
        const brokerCount = r.rackCount * r.brokersPerRack;
        const brokers = Array.from({ length: brokerCount }, (_, brokerId) => ({
          brokerId,
          rack: r.isRackAware ? `rack-${brokerId % r.rackCount}` : '',
        }));
        const replicas = placeReplicas({
          brokers,
          partitionFrom: 0,
          partitionTo: brokerCount * r.rounds,
          replicationFactor: 1 + (r.replicationFactorSeed % brokerCount),
          startIndex: r.startIndex,
        });
        const followers = replicas.flatMap((partition) => partition.slice(1));
        expect(spreadOf(countBy(followers, brokers))).toBe(0);
      }),
    );
  });

  it('is deterministic, and a grown topic continues its round of leaders', () => {
    const brokers = brokersOf('', '', '', '');
    const first = placeReplicas({
      brokers,
      partitionFrom: 0,
      partitionTo: 3,
      replicationFactor: 2,
      startIndex: 2,
    });
    const start = startIndexOfLeader(brokers, first[0]?.[0] as number);
    const grown = placeReplicas({
      brokers,
      partitionFrom: 3,
      partitionTo: 8,
      replicationFactor: 2,
      startIndex: start,
    });
    const leaders = [...first, ...grown].map((partition) => partition[0]);
    expect(leaders).toEqual([2, 3, 0, 1, 2, 3, 0, 1]);
    expect(startIndexOfLeader(brokers, 99)).toBe(0);
  });
});

describe('createTopics and createPartitions place with placement.ts', () => {
  const defaults = { numPartitions: 1, replicationFactor: 1 };
  const threeBrokers = imageOf(broker(0), broker(1), broker(2));

  it('spreads the first preferred leader across topics', () => {
    // Each topic starts where the image's partition count leaves off, so single-partition
    // topics go round the brokers instead of all landing on broker 0.
    let image = threeBrokers;
    const leaders: number[] = [];
    for (let i = 0; i < 6; i++) {
      const input = { name: `t${i}`, partitions: 1, replicationFactor: 2, configs: new Map() };
      const { records, response } = createTopics(image, [input], defaults, () => `id-${i}`);
      expect(response[0]?.errorCode).toBe('NONE');
      image = applyRecords(image, records);
      leaders.push(partitionOf(image, `t${i}`).leader);
    }
    expect(leaders).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('spreads topics created in one request too', () => {
    const inputs = [0, 1, 2].map((i) => ({
      name: `t${i}`,
      partitions: 1,
      replicationFactor: 1,
      configs: new Map<string, string>(),
    }));
    let next = 0;
    const { records } = createTopics(threeBrokers, inputs, defaults, () => `id-${next++}`);
    const image = applyRecords(threeBrokers, records);
    expect(inputs.map((t) => partitionOf(image, t.name).leader)).toEqual([0, 1, 2]);
  });

  it('places on unfenced brokers only, rack-aware when every broker has a rack', () => {
    const image = imageOf(
      broker(0, { rack: 'a' }),
      broker(1, { rack: 'a' }),
      broker(2, { rack: 'b' }),
      broker(3, { rack: 'b' }),
      broker(4, { rack: 'b', fenced: true }),
    );
    const input = { name: 't', partitions: 8, replicationFactor: 2, configs: new Map() };
    const { records } = createTopics(image, [input], defaults, () => 'id');
    const after = applyRecords(image, records);
    for (const partition of after.topic('t')?.partitions ?? []) {
      expect(partition.replicas).not.toContain(4);
      const racks = partition.replicas.map((id) => after.brokers.get(id)?.rack);
      expect(new Set(racks).size).toBe(2);
      expect(partition.isr).toEqual(partition.replicas);
      expect(partition.leader).toBe(partition.replicas[0]);
    }
  });

  it('grows a topic without touching its existing partitions', () => {
    const input = { name: 't', partitions: 3, replicationFactor: 2, configs: new Map() };
    const created = createTopics(threeBrokers, [input], defaults, () => 'id');
    const image = applyRecords(threeBrokers, created.records);
    const before = image.topic('t')?.partitions;
    const { records, response } = createPartitions(image, [{ name: 't', count: 6 }]);
    expect(response[0]?.errorCode).toBe('NONE');
    expect(records.map((r) => (r.type === 'PartitionRecord' ? r.partition : -1))).toEqual([
      3, 4, 5,
    ]);
    const after = applyRecords(image, records).topic('t')?.partitions ?? [];
    expect(after.slice(0, 3)).toEqual(before);
    const leaders = after.map((p) => p.leader);
    expect(countBy(leaders, brokersOf('', '', ''))).toEqual([2, 2, 2]);
  });
});
