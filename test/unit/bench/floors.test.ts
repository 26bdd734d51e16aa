/**
 * The raw floors' arithmetic (bench/floors.ts): the seeded PRNG, the Monte Carlo draws of the
 * ack floor (independent samples, the slower follower) and their percentiles, the steps an ack waits for, and the CPU floor of
 * the cluster's batching produce. Pure: no processes, no clock.
 */
import { describe, expect, it } from 'vitest';
import {
  ackFloorPercentiles,
  ackFloorTerms,
  cpuFloor,
  percentileOfSorted,
  sampledAckFloors,
  seededRandom,
} from '../../../bench/floors.js';

describe('seededRandom', () => {
  it('gives the same numbers for the same seed, in [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const first = Array.from({ length: 1_000 }, () => a());
    expect(Array.from({ length: 1_000 }, () => b())).toEqual(first);
    for (const x of first) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });

  it('gives other numbers for another seed, spread over the interval', () => {
    const a = seededRandom(1);
    const b = seededRandom(2);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(Array.from({ length: 10 }, () => b())).not.toEqual(xs.slice(0, 10));
    const mean = xs.reduce((sum, x) => sum + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
  });
});

describe('percentileOfSorted', () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);

  it('is the nearest rank', () => {
    expect(percentileOfSorted(values, 50)).toBe(50);
    expect(percentileOfSorted(values, 99)).toBe(99);
    expect(percentileOfSorted(values, 100)).toBe(100);
    expect(percentileOfSorted(values, 0.001)).toBe(1);
    expect(percentileOfSorted([7], 99)).toBe(7);
  });

  it('is NaN without values', () => {
    expect(percentileOfSorted([], 50)).toBeNaN();
  });
});

describe('sampledAckFloors', () => {
  const one = ackFloorTerms('leader', 3)!;
  const twoFollowers = ackFloorTerms('all', 3)!;

  it('of constant samples is the leader round trip and write plus one follower', () => {
    const floors = sampledAckFloors([3], [4], twoFollowers, 10, 1);
    expect(Array.from(floors!)).toEqual(new Array(10).fill(14));
  });

  it('draws the terms independently: two fair coins sum to 0, 1, 2 as 1:2:1', () => {
    const coin = [0, 1];
    const floors = sampledAckFloors(coin, coin, one, 100_000, 7)!;
    const counts = [0, 0, 0];
    for (const floor of floors) counts[floor]!++;
    expect(counts[0]! / floors.length).toBeCloseTo(0.25, 1);
    expect(counts[1]! / floors.length).toBeCloseTo(0.5, 1);
    expect(counts[2]! / floors.length).toBeCloseTo(0.25, 1);
    expect(floors.every((floor, i) => i === 0 || floor >= floors[i - 1]!)).toBe(true);
  });

  it('waits for the slower follower: with coin writes, 0, 1, 2 as 1:4:3', () => {
    // Leader write 0 or 1; the slower of two followers' writes is 1 three times in four.
    const floors = sampledAckFloors([0], [0, 1], twoFollowers, 100_000, 11)!;
    const counts = [0, 0, 0];
    for (const floor of floors) counts[floor]!++;
    expect(counts[0]! / floors.length).toBeCloseTo(0.125, 1);
    expect(counts[1]! / floors.length).toBeCloseTo(0.5, 1);
    expect(counts[2]! / floors.length).toBeCloseTo(0.375, 1);
  });

  it('is reproducible for a seed', () => {
    const samples = [1, 5, 9, 20, 100];
    expect(sampledAckFloors(samples, samples, twoFollowers, 1_000, 3)).toEqual(
      sampledAckFloors(samples, samples, twoFollowers, 1_000, 3),
    );
  });

  it('is null when a sample array is empty', () => {
    expect(sampledAckFloors([1], [], one, 10, 1)).toBeNull();
    expect(sampledAckFloors([], [1], one, 10, 1)).toBeNull();
  });
});

describe('ackFloorTerms', () => {
  it('acks=all through several replicas: 2 round trips and 2 writes, every follower at once', () => {
    expect(ackFloorTerms('all', 3)).toEqual({ roundTrips: 2, writes: 2, followers: 2 });
    expect(ackFloorTerms('all', 2)).toEqual({ roundTrips: 2, writes: 2, followers: 1 });
  });

  it('one replica, or acks=leader: 1 and 1; acks=none: nothing to wait for', () => {
    expect(ackFloorTerms('all', 1)).toEqual({ roundTrips: 1, writes: 1, followers: 0 });
    expect(ackFloorTerms('leader', 3)).toEqual({ roundTrips: 1, writes: 1, followers: 0 });
    expect(ackFloorTerms('none', 3)).toBeNull();
  });
});

describe('ackFloorPercentiles', () => {
  it('of constant samples is their sum over the terms', () => {
    const p = ackFloorPercentiles([100], [1_000], ackFloorTerms('all', 3)!, 1_000, 1);
    expect(p).toEqual({ p50Us: 2_200, p99Us: 2_200 });
  });

  it('a rare slow write moves p99 of two writes more than p99 of one', () => {
    // 2% of writes take 10 ms: one write's p99 is 1 ms, two writes' p99 includes a slow one.
    const writes = Array.from({ length: 100 }, (_, i) => (i < 2 ? 10_000 : 1_000));
    const one = ackFloorPercentiles([0], writes, ackFloorTerms('leader', 2)!)!;
    const two = ackFloorPercentiles([0], writes, ackFloorTerms('all', 2)!)!;
    expect(one.p50Us).toBe(1_000);
    expect(one.p99Us).toBe(10_000);
    expect(two.p50Us).toBe(2_000);
    expect(two.p99Us).toBe(11_000);
  });

  it('a second follower raises the floor: the ack waits for the slower of the two', () => {
    // A quarter of writes take 10 ms: with one follower most acks see two fast writes, with two
    // followers most see a slow one.
    const writes = Array.from({ length: 100 }, (_, i) => (i < 25 ? 10_000 : 1_000));
    const oneFollower = ackFloorPercentiles([0], writes, ackFloorTerms('all', 2)!)!;
    const twoFollowers = ackFloorPercentiles([0], writes, ackFloorTerms('all', 3)!)!;
    expect(oneFollower.p50Us).toBe(2_000);
    expect(twoFollowers.p50Us).toBe(11_000);
  });

  it('is null without samples', () => {
    expect(ackFloorPercentiles([], [1], ackFloorTerms('leader', 1)!)).toBeNull();
  });
});

describe('cpuFloor', () => {
  it('is RF × LevelDB + 1 × gRPC + (RF - 1) × TCP ms per MB, and cores × 1000 ÷ that MB/s', () => {
    const floor = cpuFloor(3, 4, 6, 1.5, 2)!;
    expect(floor.floorMsPerMb).toBe(3 * 4 + 6 + 2 * 1.5);
    expect(floor.boundMbPerSec).toBeCloseTo(2_000 / 21, 9);
  });

  it('with one replica has no follower leg: RF × LevelDB + 1 × gRPC, TCP known or not', () => {
    expect(cpuFloor(1, 4, 6, 1.5, 2)!.floorMsPerMb).toBe(10);
    expect(cpuFloor(1, 4, 6, null, 2)!.floorMsPerMb).toBe(10);
  });

  it('without a TCP figure prices the follower legs as gRPC: RF × (LevelDB + gRPC)', () => {
    const floor = cpuFloor(3, 4, 6, null, 2)!;
    expect(floor.floorMsPerMb).toBe(30);
    expect(floor.boundMbPerSec).toBeCloseTo(2_000 / 30, 9);
  });

  it('is null when LevelDB or gRPC is unknown or the floor is not positive', () => {
    expect(cpuFloor(3, null, 6, 1.5, 2)).toBeNull();
    expect(cpuFloor(3, 4, null, 1.5, 2)).toBeNull();
    expect(cpuFloor(3, 0, 0, 0, 2)).toBeNull();
    expect(cpuFloor(3, 0, 0, null, 2)).toBeNull();
  });
});
