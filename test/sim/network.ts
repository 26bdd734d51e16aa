/**
 * The simulated network between nodes. Every message gets its own random delay (so messages
 * reorder), may be lost, may be duplicated, and is dropped when its link is cut. Cuts are a
 * directed matrix, so one-way partitions are as easy as symmetric ones. The network only
 * decides fates; the cluster schedules the deliveries.
 */
import { assert } from '../../src/util/assert.js';
import type { NodeId } from '../../src/raft/types.js';
import type { Rng } from '../../src/util/rng.js';

/** How one period of the network behaves; the nemesis swaps profiles. */
export interface NetworkProfile {
  readonly lossProbability: number;
  readonly duplicateProbability: number;
  /** Every message takes at least this long. */
  readonly delayMsMin: number;
  /** Mean of the exponential part added to delayMsMin. */
  readonly delayMsMean: number;
  /** Chance that one message is very late (up to slowDelayMsMax): stale messages arrive. */
  readonly slowProbability: number;
  readonly slowDelayMsMax: number;
}

export const CALM_PROFILE: NetworkProfile = {
  lossProbability: 0,
  duplicateProbability: 0,
  delayMsMin: 1,
  delayMsMean: 2,
  slowProbability: 0,
  slowDelayMsMax: 0,
};

/** Copies of one message the network may deliver (the original plus duplicates). */
const COPIES_MAX = 3;
/** Upper bound on one delay, so exponential tails stay finite. */
const DELAY_MS_MAX = 5_000;

export class SimNetwork {
  profile: NetworkProfile = CALM_PROFILE;
  private readonly cut: Uint8Array;

  constructor(
    readonly nodeCount: number,
    private readonly rng: Rng,
  ) {
    assert(nodeCount > 0 && nodeCount <= 64, `node count out of range: ${nodeCount}`);
    this.cut = new Uint8Array(nodeCount * nodeCount);
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut[this.slot(from, to)] === 1;
  }

  /** Cuts the link from -> to only (a one-way partition). */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.cut[this.slot(from, to)] = 1;
  }

  cutBothWays(a: NodeId, b: NodeId): void {
    this.cutOneWay(a, b);
    this.cutOneWay(b, a);
  }

  /** Removes every cut. */
  heal(): void {
    this.cut.fill(0);
  }

  /**
   * Splits the nodes into groups that cannot talk across (symmetric). A node in `bridges`
   * keeps its links to everyone, as a node with two network cards would.
   */
  partition(groups: readonly (readonly NodeId[])[], bridges: readonly NodeId[]): void {
    const groupOf = new Int32Array(this.nodeCount).fill(-1);
    for (let g = 0; g < groups.length; g++) {
      for (const id of groups[g] ?? []) groupOf[id] = g;
    }
    for (let a = 0; a < this.nodeCount; a++) {
      for (let b = 0; b < this.nodeCount; b++) {
        if (a === b || bridges.includes(a) || bridges.includes(b)) continue;
        const ga = groupOf[a] ?? -1;
        const gb = groupOf[b] ?? -1;
        if (ga !== -1 && gb !== -1 && ga !== gb) this.cutOneWay(a, b);
      }
    }
  }

  /** Node `id` hears nobody and nobody hears it. */
  isolate(id: NodeId): void {
    for (let other = 0; other < this.nodeCount; other++) {
      if (other !== id) this.cutBothWays(id, other);
    }
  }

  /**
   * The delays (ms) after which copies of one message from -> to arrive: empty when it is lost
   * or the link is cut, more than one when it is duplicated.
   */
  fate(from: NodeId, to: NodeId): number[] {
    if (this.isCut(from, to)) return [];
    const p = this.profile;
    const delays: number[] = [];
    if (this.rng.next() >= p.lossProbability) delays.push(this.delayMs());
    while (delays.length < COPIES_MAX && this.rng.next() < p.duplicateProbability) {
      delays.push(this.delayMs());
    }
    return delays;
  }

  private delayMs(): number {
    const p = this.profile;
    if (p.slowProbability > 0 && this.rng.next() < p.slowProbability) {
      return p.delayMsMin + this.rng.next() * p.slowDelayMsMax;
    }
    const tail = -Math.log(1 - this.rng.next()) * p.delayMsMean;
    return Math.min(DELAY_MS_MAX, p.delayMsMin + tail);
  }

  private slot(from: NodeId, to: NodeId): number {
    assert(from >= 0 && from < this.nodeCount, `no node ${from}`);
    assert(to >= 0 && to < this.nodeCount, `no node ${to}`);
    return from * this.nodeCount + to;
  }
}
