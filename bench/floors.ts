/**
 * The arithmetic of the raw floors, pure (no I/O, no clock, no ambient randomness): what the
 * cluster's two targets could reach at best on this machine, from raw measurements.
 *
 * - The ack floor: an acks=all ack through R > 1 replicas needs at least one client→leader
 *   round trip and the leader's synced write, then one more round trip (a follower's fetch) and
 *   the follower's synced write, in series. Its distribution is estimated by Monte Carlo: sums
 *   of independent draws from the measured round trips and synced writes, with a seeded PRNG so
 *   a run can be reproduced. It is an estimate of a lower bound, not a prediction.
 * - The CPU floor: per payload MB, R raw LevelDB writes and R gRPC transfers (client→leader,
 *   leader→each follower), both sides of each; all cores busy with nothing else bounds MB/s.
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

/**
 * `draws` sums of one independent draw from each term's samples (a term may repeat: two round
 * trips are two draws from one array), sorted ascending. Null when a term has no samples.
 */
export function sampledSums(
  terms: readonly (readonly number[])[],
  draws: number,
  seed: number,
): Float64Array | null {
  if (terms.some((samples) => samples.length === 0)) return null;
  const random = seededRandom(seed);
  const sums = new Float64Array(draws);
  for (let i = 0; i < draws; i++) {
    let sum = 0;
    for (const samples of terms) sum += samples[Math.floor(random() * samples.length)]!;
    sums[i] = sum;
  }
  return sums.sort();
}

/** Nearest-rank percentile (0 < p <= 100) of ascending values; NaN when there are none. */
export function percentileOfSorted(sorted: ArrayLike<number>, percentile: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((percentile / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Steps an ack waits for at least, in series. */
export interface AckFloorTerms {
  readonly roundTrips: number;
  readonly writes: number;
}

/**
 * What one acknowledged record needs at least: with acks=all and R > 1, a round trip and a
 * write on the leader, then a follower's fetch round trip and its write; with acks=leader (or
 * R = 1), the first two. Null with acks=none: nothing is waited for.
 */
export function ackFloorTerms(acks: Acks, replicationFactor: number): AckFloorTerms | null {
  if (acks === 'none') return null;
  const steps = acks === 'all' && replicationFactor > 1 ? 2 : 1;
  return { roundTrips: steps, writes: steps };
}

export interface FloorPercentiles {
  readonly p50Us: number;
  readonly p99Us: number;
}

/** p50 and p99 of the ack floor, sampled from round-trip and write latencies (any one unit). */
export function ackFloorPercentiles(
  roundTripSamples: readonly number[],
  writeSamples: readonly number[],
  terms: AckFloorTerms,
  draws = FLOOR_DRAWS,
  seed = FLOOR_SEED,
): FloorPercentiles | null {
  const sampleTerms: (readonly number[])[] = [];
  for (let i = 0; i < terms.roundTrips; i++) sampleTerms.push(roundTripSamples);
  for (let i = 0; i < terms.writes; i++) sampleTerms.push(writeSamples);
  const sums = sampledSums(sampleTerms, draws, seed);
  if (sums === null) return null;
  return { p50Us: percentileOfSorted(sums, 50), p99Us: percentileOfSorted(sums, 99) };
}

export interface CpuFloor {
  /** CPU ms per payload MB the cluster's batching produce needs at least. */
  readonly floorMsPerMb: number;
  /** MB/s the cores could sustain at that cost, doing nothing else. */
  readonly boundMbPerSec: number;
}

/**
 * R × (raw LevelDB CPU ms/MB) + R × (gRPC CPU ms/MB, both sides): R copies written, R transfers
 * (client→leader, leader→each follower). The bound: cores × 1000 ms/s ÷ that. Null when an
 * input is unknown or the floor is not positive.
 */
export function cpuFloor(
  replicationFactor: number,
  rawLevelDbMsPerMb: number | null,
  rawGrpcMsPerMb: number | null,
  cores: number,
): CpuFloor | null {
  if (rawLevelDbMsPerMb === null || rawGrpcMsPerMb === null) return null;
  const floorMsPerMb = replicationFactor * (rawLevelDbMsPerMb + rawGrpcMsPerMb);
  if (!(floorMsPerMb > 0)) return null;
  return { floorMsPerMb, boundMbPerSec: (cores * 1_000) / floorMsPerMb };
}
