/**
 * The arithmetic of the raw floors, pure (no I/O, no clock, no ambient randomness): what the
 * cluster's two targets could reach at best on this machine, from raw measurements.
 *
 * - The ack floor: an acks=all ack through R > 1 replicas needs at least one client→leader
 *   round trip and the leader's synced write, then, on each of the R - 1 followers at once, one
 *   more round trip (its fetch) and its synced write: the ack waits for the slower. Its
 *   distribution is estimated by Monte Carlo from independent draws of the measured round trips
 *   and synced writes, with a seeded PRNG so a run can be reproduced. It is an estimate of a
 *   lower bound, not a prediction.
 * - The CPU floor: per payload MB, R raw LevelDB writes, one gRPC transfer (client→leader) and
 *   R - 1 plain TCP transfers (leader→each follower, the framed fetch transport), both sides of
 *   each; all cores busy with nothing else bounds MB/s.
 */
import { SeededRng } from '../src/util/rng.js';
import type { Acks } from './options.js';

/** Draws of the Monte Carlo estimate, and the seed of its PRNG. */
export const FLOOR_DRAWS = 100_000;
export const FLOOR_SEED = 0x5eed;

/** Numbers in [0, 1) from the project's seeded PRNG, so an estimate can be reproduced. */
export function seededRandom(seed: number): () => number {
  const rng = new SeededRng(seed);
  return () => rng.next();
}

/** Nearest-rank percentile (0 < p <= 100) of ascending values; NaN when there are none. */
export function percentileOfSorted(sorted: ArrayLike<number>, percentile: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((percentile / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Steps an ack waits for at least. */
export interface AckFloorTerms {
  /** Round trips in series on the ack's path (the slowest follower's counted once). */
  readonly roundTrips: number;
  /** Synced writes in series on the ack's path. */
  readonly writes: number;
  /** Followers that each make one round trip and one write at the same time: 0 or R - 1. */
  readonly followers: number;
}

/**
 * What one acknowledged record needs at least: with acks=all and R > 1, a round trip and a
 * write on the leader, then every follower's fetch round trip and write, side by side; with
 * acks=leader (or R = 1), the first two. Null with acks=none: nothing is waited for.
 */
export function ackFloorTerms(acks: Acks, replicationFactor: number): AckFloorTerms | null {
  if (acks === 'none') return null;
  const followers = acks === 'all' && replicationFactor > 1 ? replicationFactor - 1 : 0;
  const steps = followers > 0 ? 2 : 1;
  return { roundTrips: steps, writes: steps, followers };
}

export interface FloorPercentiles {
  readonly p50Us: number;
  readonly p99Us: number;
}

/**
 * `draws` samples of the ack floor, sorted ascending: the leader's round trip and write, plus,
 * with followers, the largest of their round-trip-plus-write sums, every term an independent
 * draw. Null when either sample array is empty.
 */
export function sampledAckFloors(
  roundTripSamples: readonly number[],
  writeSamples: readonly number[],
  terms: AckFloorTerms,
  draws: number,
  seed: number,
): Float64Array | null {
  if (roundTripSamples.length === 0 || writeSamples.length === 0) return null;
  const random = seededRandom(seed);
  const draw = (samples: readonly number[]): number =>
    samples[Math.floor(random() * samples.length)]!;
  const floors = new Float64Array(draws);
  for (let i = 0; i < draws; i++) {
    let slowest = 0;
    for (let f = 0; f < terms.followers; f++) {
      slowest = Math.max(slowest, draw(roundTripSamples) + draw(writeSamples));
    }
    floors[i] = draw(roundTripSamples) + draw(writeSamples) + slowest;
  }
  return floors.sort();
}

/** p50 and p99 of the ack floor, sampled from round-trip and write latencies (any one unit). */
export function ackFloorPercentiles(
  roundTripSamples: readonly number[],
  writeSamples: readonly number[],
  terms: AckFloorTerms,
  draws = FLOOR_DRAWS,
  seed = FLOOR_SEED,
): FloorPercentiles | null {
  const floors = sampledAckFloors(roundTripSamples, writeSamples, terms, draws, seed);
  if (floors === null) return null;
  return { p50Us: percentileOfSorted(floors, 50), p99Us: percentileOfSorted(floors, 99) };
}

export interface CpuFloor {
  /** CPU ms per payload MB the cluster's batching produce needs at least. */
  readonly floorMsPerMb: number;
  /** MB/s the cores could sustain at that cost, doing nothing else. */
  readonly boundMbPerSec: number;
}

/**
 * R × (raw LevelDB CPU ms/MB) + 1 × (gRPC CPU ms/MB) + (R - 1) × (TCP CPU ms/MB), each transfer
 * both sides: R copies written, the client's produce stream to the leader over gRPC, the leader's
 * batches to each follower over plain TCP. Without a TCP figure the follower legs are priced as
 * gRPC (R × gRPC), which overstates them. The bound: cores × 1000 ms/s ÷ that. Null when the
 * LevelDB or gRPC figure is unknown or the floor is not positive.
 */
export function cpuFloor(
  replicationFactor: number,
  rawLevelDbMsPerMb: number | null,
  rawGrpcMsPerMb: number | null,
  rawTcpMsPerMb: number | null,
  cores: number,
): CpuFloor | null {
  if (rawLevelDbMsPerMb === null || rawGrpcMsPerMb === null) return null;
  const followerLegMsPerMb = rawTcpMsPerMb ?? rawGrpcMsPerMb;
  const floorMsPerMb =
    replicationFactor * rawLevelDbMsPerMb +
    rawGrpcMsPerMb +
    (replicationFactor - 1) * followerLegMsPerMb;
  if (!(floorMsPerMb > 0)) return null;
  return { floorMsPerMb, boundMbPerSec: (cores * 1_000) / floorMsPerMb };
}
