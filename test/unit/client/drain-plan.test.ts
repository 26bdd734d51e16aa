/**
 * The drain planner (src/client/drain-plan.ts): which reassignments move every replica off some
 * brokers. Property tests over random clusters (brokers with or without racks, some fenced,
 * partitions of random replica lists) check the plan's invariants and when it must refuse; a
 * balance property checks that a drain spreads replicas evenly; hand examples pin the choice
 * rules (position kept, rack first, then fewest replicas, then lowest id) and the messages.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  planDrain,
  type DrainBroker,
  type DrainPartition,
} from '../../../src/client/drain-plan.js';

interface Cluster {
  readonly brokers: DrainBroker[];
  readonly partitions: DrainPartition[];
  readonly drained: number[];
}

/** A cluster of 1-8 brokers, 0-12 partitions over 3 topics, and 1-3 brokers to drain. */
function clusterArbitrary(options: { racks: boolean }): fc.Arbitrary<Cluster> {
  return fc.integer({ min: 1, max: 8 }).chain((size) => {
    const ids = Array.from({ length: size }, (_, i) => i);
    const broker = (nodeId: number) =>
      fc
        .record({
          rack: options.racks ? fc.constantFrom('', 'a', 'b', 'c') : fc.constant(''),
          fenced: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
        })
        .map(({ rack, fenced }) => ({ nodeId, rack, fenced }));
    const replicas = fc.shuffledSubarray(ids, { minLength: 1, maxLength: Math.min(size, 4) });
    const partition = fc.record({
      topic: fc.constantFrom('a', 'b', 'c'),
      partition: fc.integer({ min: 0, max: 5 }),
      replicas,
    });
    return fc.record({
      brokers: fc.tuple(...ids.map(broker)),
      partitions: fc.uniqueArray(partition, {
        maxLength: 12,
        selector: (p) => `${p.topic}-${p.partition}`,
      }),
      drained: fc.shuffledSubarray(ids, { minLength: 1, maxLength: Math.min(size, 3) }),
    });
  });
}

/** Live brokers (unfenced, not drained) the partition does not name. */
function spareFor(cluster: Cluster, p: DrainPartition): number {
  return cluster.brokers.filter(
    (b) => !b.fenced && !cluster.drained.includes(b.nodeId) && !p.replicas.includes(b.nodeId),
  ).length;
}

function drainedCount(cluster: Cluster, p: DrainPartition): number {
  return p.replicas.filter((r) => cluster.drained.includes(r)).length;
}

const byName = (a: DrainPartition, b: DrainPartition): number =>
  a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;

describe('planDrain properties', () => {
  it('moves exactly the partitions naming a drained broker, in place, onto live brokers only', () => {
    fc.assert(
      fc.property(clusterArbitrary({ racks: true }), (cluster) => {
        const plan = planDrain(cluster.brokers, cluster.partitions, cluster.drained);
        const feasible = cluster.partitions.every(
          (p) => drainedCount(cluster, p) <= spareFor(cluster, p),
        );
        expect(plan.ok).toBe(feasible);
        if (!plan.ok) return;
        const named = cluster.partitions.filter((p) => drainedCount(cluster, p) > 0).sort(byName);
        // Untouched partitions are left out; the rest come in topic, then partition order.
        expect(plan.reassignments.map((r) => `${r.topic}-${r.partition}`)).toEqual(
          named.map((p) => `${p.topic}-${p.partition}`),
        );
        const live = new Set(
          cluster.brokers.filter((b) => !b.fenced && !cluster.drained.includes(b.nodeId)),
        );
        const liveIds = new Set([...live].map((b) => b.nodeId));
        for (const [i, move] of plan.reassignments.entries()) {
          const before = named[i]!.replicas;
          const after = move.replicas!;
          expect(after).toHaveLength(before.length);
          expect(new Set(after).size).toBe(after.length);
          after.forEach((r, position) => {
            expect(cluster.drained).not.toContain(r);
            // A replica that stays keeps its position; a new one goes to a live broker.
            if (!cluster.drained.includes(before[position]!)) expect(r).toBe(before[position]);
            else expect(liveIds.has(r)).toBe(true);
          });
        }
      }),
      { numRuns: 500 },
    );
  });

  it('names the first partition that cannot move, by topic and partition', () => {
    fc.assert(
      fc.property(clusterArbitrary({ racks: true }), (cluster) => {
        const plan = planDrain(cluster.brokers, cluster.partitions, cluster.drained);
        const stuck = cluster.partitions
          .filter((p) => drainedCount(cluster, p) > spareFor(cluster, p))
          .sort(byName);
        if (stuck.length === 0) return;
        expect(plan.ok).toBe(false);
        if (plan.ok) return;
        const name = `${stuck[0]!.topic}-${stuck[0]!.partition}`;
        const others = stuck.length > 1 ? ` (and ${stuck.length - 1} more partition(s)` : '';
        expect(
          plan.error.startsWith(`${name} already has`) ||
            plan.error.startsWith(`no live broker is left to take ${name}'s replicas`),
        ).toBe(true);
        expect(plan.error.includes('more partition(s)')).toBe(others !== '');
        if (others !== '') expect(plan.error).toContain(others);
      }),
      { numRuns: 300 },
    );
  });

  it('spreads a drained broker evenly: live brokers end within one replica of each other', () => {
    // Racks unset, nothing fenced, and the live brokers start empty (every replica is on a
    // drained broker), so the fewest-replicas rule alone decides every choice.
    const arbitrary = fc
      .record({ live: fc.integer({ min: 1, max: 6 }), drained: fc.integer({ min: 1, max: 3 }) })
      .chain(({ live, drained }) => {
        const drainedIds = Array.from({ length: drained }, (_, i) => live + i);
        const brokers = Array.from({ length: live + drained }, (_, nodeId) => ({
          nodeId,
          rack: '',
          fenced: false,
        }));
        const replicas = fc.shuffledSubarray(drainedIds, {
          minLength: 1,
          maxLength: Math.min(drained, live),
        });
        return fc.record({
          brokers: fc.constant(brokers),
          drained: fc.constant(drainedIds),
          partitions: fc
            .array(replicas, { maxLength: 30 })
            .map((lists) => lists.map((r, partition) => ({ topic: 't', partition, replicas: r }))),
        });
      });
    fc.assert(
      fc.property(arbitrary, ({ brokers, partitions, drained }) => {
        const plan = planDrain(brokers, partitions, drained);
        expect(plan.ok).toBe(true);
        if (!plan.ok) return;
        const load = new Map<number, number>();
        for (const b of brokers) if (!drained.includes(b.nodeId)) load.set(b.nodeId, 0);
        for (const move of plan.reassignments) {
          for (const r of move.replicas!) load.set(r, (load.get(r) ?? 0) + 1);
        }
        const counts = [...load.values()];
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });
});

const plain = (nodeId: number, rack = '', fenced = false): DrainBroker => ({
  nodeId,
  rack,
  fenced,
});

describe('planDrain examples', () => {
  it('replaces a drained preferred leader in place, with the least-loaded live broker', () => {
    const brokers = [plain(0), plain(1), plain(2), plain(3)];
    const partitions = [
      { topic: 'demo', partition: 0, replicas: [3, 0, 1] },
      { topic: 'demo', partition: 1, replicas: [0, 1, 2] },
      { topic: 'demo', partition: 2, replicas: [1, 3] },
    ];
    // Loads before: 0 → 2, 1 → 3, 2 → 1. demo-0 can only take 2; demo-2 then picks 0 (2 each
    // for 0 and 2, lowest id wins).
    expect(planDrain(brokers, partitions, [3])).toEqual({
      ok: true,
      reassignments: [
        { topic: 'demo', partition: 0, replicas: [2, 0, 1] },
        { topic: 'demo', partition: 2, replicas: [1, 0] },
      ],
    });
  });

  it('counts its own earlier choices, and breaks ties by the lowest id', () => {
    const brokers = [plain(0), plain(1), plain(2), plain(9)];
    const partitions = [0, 1, 2, 3].map((partition) => ({
      topic: 't',
      partition,
      replicas: [9],
    }));
    const plan = planDrain(brokers, partitions, [9]);
    expect(plan.ok && plan.reassignments.map((r) => r.replicas)).toEqual([[0], [1], [2], [0]]);
  });

  it('prefers the drained broker’s rack, then falls back to any rack', () => {
    const brokers = [plain(0, 'a'), plain(1, 'b'), plain(2, 'a'), plain(3, 'b')];
    const partitions = [
      { topic: 't', partition: 0, replicas: [3, 0] },
      { topic: 't', partition: 1, replicas: [1, 2] },
      { topic: 't', partition: 2, replicas: [1, 0] },
      { topic: 't', partition: 3, replicas: [3, 1] },
    ];
    // t-0: rack b's only other broker is 1 (the busiest), still chosen over 2. t-3 names 1
    // already, so the choice falls back to rack a, least loaded: 2.
    expect(planDrain(brokers, partitions, [3])).toEqual({
      ok: true,
      reassignments: [
        { topic: 't', partition: 0, replicas: [1, 0] },
        { topic: 't', partition: 3, replicas: [2, 1] },
      ],
    });
  });

  it('never chooses a fenced broker or another drained one', () => {
    const brokers = [plain(0), plain(1, '', true), plain(2), plain(3)];
    const plan = planDrain(brokers, [{ topic: 't', partition: 0, replicas: [2, 3] }], [2, 3]);
    expect(plan).toEqual({ ok: false, error: expect.stringContaining('t-0') as unknown });
    const wider = planDrain(
      [...brokers, plain(4)],
      [{ topic: 't', partition: 0, replicas: [2, 3] }],
      [2, 3],
    );
    expect(wider).toEqual({
      ok: true,
      reassignments: [{ topic: 't', partition: 0, replicas: [0, 4] }],
    });
  });

  it('says which partition cannot move and what to do', () => {
    const brokers = [plain(0), plain(1), plain(2), plain(3)];
    const partitions = [
      { topic: 'demo', partition: 0, replicas: [0, 1, 2, 3] },
      { topic: 'demo', partition: 1, replicas: [3, 2, 1, 0] },
      { topic: 'ok', partition: 0, replicas: [3] },
    ];
    expect(planDrain(brokers, partitions, [3])).toEqual({
      ok: false,
      error:
        'demo-0 already has a replica on every other live broker (0,1,2) (and 1 more partition(s) like it); add a broker or lower the replication factor',
    });
    expect(planDrain([plain(1, '', true), plain(3)], partitions.slice(2), [3])).toEqual({
      ok: false,
      error:
        "no live broker is left to take ok-0's replicas: every unfenced broker is being drained; start a broker first",
    });
  });

  it('plans nothing for brokers that hold nothing, or ids no broker has', () => {
    const partitions = [{ topic: 't', partition: 0, replicas: [0, 1] }];
    expect(planDrain([plain(0), plain(1), plain(2)], partitions, [2, 7])).toEqual({
      ok: true,
      reassignments: [],
    });
  });
});
