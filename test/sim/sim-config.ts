/**
 * Everything one simulation run varies, drawn from its seed. Drawing the knobs per seed (rather
 * than fixing them) makes the seed range cover calm and violent runs, large and one-entry
 * Appends, frequent and rare snapshots, with no list of scenarios to maintain.
 */
import type { RaftConfig } from '../../src/raft/types.js';
import { assert } from '../../src/util/assert.js';
import { SeededRng, type Rng } from '../../src/util/rng.js';

export const VARIANTS = ['production', 'double-vote', 'old-term-commit'] as const;
export type Variant = (typeof VARIANTS)[number];

export function isVariant(text: string): text is Variant {
  return (VARIANTS as readonly string[]).includes(text);
}

/** What the caller chooses; the rest is drawn from the seed. */
export interface SimOptions {
  readonly seed: number;
  /** Voters at bootstrap (3 or 5); one more node starts as a spare for membership changes. */
  readonly nodes: number;
  readonly variant: Variant;
  /** Nominal ticks of the fault phase, before the network heals. */
  readonly chaosTicks: number;
  /** Print every event to stderr. */
  readonly trace: boolean;
  /** Check that stored votes never change within a term (see CheckerOptions). */
  readonly voteCheck: boolean;
}

export const CHAOS_TICKS_DEFAULT = 2000;

/** The core's tuning, drawn per seed. */
type CoreTuning = Omit<RaftConfig, 'id' | 'initialConf'>;

export interface SimConfig extends SimOptions, CoreTuning {
  readonly tickMs: number;
  /** Each node's tick period is tickMs * (1 + drift), drift in [-driftMax, driftMax]. */
  readonly driftMax: number;
  /** A Ready that must be synced takes up to this long to become durable. */
  readonly fsyncMsMax: number;
  /** A node snapshots after this many applied entries, keeping this many behind in its log. */
  readonly snapshotEveryEntries: number;
  readonly snapshotTrailingEntries: number;
  /** Mean gaps between client proposals, membership changes, leader transfers (Infinity: off). */
  readonly clientIntervalMsMean: number;
  readonly membershipIntervalMsMean: number;
  readonly transferIntervalMsMean: number;
  /** Mean gap between network faults (partitions, profiles) and between crashes. */
  readonly nemesisIntervalMsMean: number;
  readonly crashIntervalMsMean: number;
  readonly restartDelayMsMax: number;
  /** Chance that a new leader is crashed or isolated soon after its election (Figure 8 hunts). */
  readonly leaderCrashProbability: number;
  readonly leaderIsolateProbability: number;
  /** Chance that a leader crashes right after the first commit of its term. */
  readonly firstCommitCrashProbability: number;
  /** After healing, a proposal must commit on every voter within this many ticks. */
  readonly livenessTicks: number;
}

/** Simulated node ids are small; the CLI rejects anything else. */
export const NODES_ALLOWED: readonly number[] = [3, 5];

function pick<T>(rng: Rng, choices: readonly T[]): T {
  const choice = choices[rng.int(choices.length)];
  assert(choice !== undefined, 'pick from an empty list');
  return choice;
}

/** A seed for one purpose (stream) of one run, so that streams do not shift each other. */
export function streamSeed(seed: number, stream: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(stream + 1, 0x85ebca6b)) | 0;
}

export function drawConfig(options: SimOptions): SimConfig {
  assert(NODES_ALLOWED.includes(options.nodes), `nodes must be 3 or 5, got ${options.nodes}`);
  assert(options.chaosTicks > 0, 'chaosTicks must be positive');
  const rng = new SeededRng(streamSeed(options.seed, 0));
  const electionTicks = 5 + rng.int(8);
  const appendBytesMax = pick(rng, [1, 1, 32, 512, 8192]);
  return {
    ...options,
    tickMs: 10,
    electionTicks,
    heartbeatTicks: 1 + rng.int(Math.max(1, Math.floor(electionTicks / 3))),
    inflightAppendsMax: pick(rng, [1, 2, 4, 16]),
    appendBytesMax,
    snapshotChunkBytes: pick(rng, [4, 16, 64, 4096]),
    uncommittedBytesMax: Math.max(appendBytesMax, pick(rng, [64, 1024, 1 << 20])),
    driftMax: rng.next() * 0.2,
    fsyncMsMax: pick(rng, [0.2, 2, 8]),
    snapshotEveryEntries: 3 + rng.int(40),
    snapshotTrailingEntries: rng.int(6),
    clientIntervalMsMean: pick(rng, [5, 15, 40]),
    membershipIntervalMsMean: pick(rng, [Infinity, 200, 600]),
    transferIntervalMsMean: pick(rng, [Infinity, 400, 1500]),
    nemesisIntervalMsMean: pick(rng, [80, 250, 800]),
    crashIntervalMsMean: pick(rng, [Infinity, 150, 500]),
    restartDelayMsMax: pick(rng, [40, 300, 1500]),
    leaderCrashProbability: pick(rng, [0, 0, 0.15, 0.5]),
    leaderIsolateProbability: pick(rng, [0, 0.15, 0.4]),
    firstCommitCrashProbability: pick(rng, [0, 0.3, 0.7]),
    livenessTicks: 40 * electionTicks,
  };
}

/** The knobs that matter for reading a failure, on one line. */
export function describeConfig(c: SimConfig): string {
  return [
    `election=${c.electionTicks}t heartbeat=${c.heartbeatTicks}t inflight=${c.inflightAppendsMax}`,
    `appendBytes=${c.appendBytesMax} chunk=${c.snapshotChunkBytes} uncommitted=${c.uncommittedBytesMax}`,
    `drift=${c.driftMax.toFixed(2)} fsync<=${c.fsyncMsMax}ms snapshotEvery=${c.snapshotEveryEntries}+${c.snapshotTrailingEntries}`,
    `client~${c.clientIntervalMsMean}ms membership~${c.membershipIntervalMsMean}ms transfer~${c.transferIntervalMsMean}ms`,
    `nemesis~${c.nemesisIntervalMsMean}ms crash~${c.crashIntervalMsMean}ms restart<=${c.restartDelayMsMax}ms`,
    `leaderCrash=${c.leaderCrashProbability} leaderIsolate=${c.leaderIsolateProbability} firstCommitCrash=${c.firstCommitCrashProbability}`,
  ].join(' ');
}
