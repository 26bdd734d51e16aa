/**
 * The nemesis decides which fault comes next: network partitions of every shape (symmetric
 * splits, an isolated leader, majority/minority splits with a bridging node, one-way cuts),
 * network profiles (loss, duplication, long tails), clock drift, and which node to crash. It
 * only decides; the cluster applies the action, so every decision is one traceable event.
 */
import { assert } from '../../src/util/assert.js';
import { NO_NODE, type NodeId } from '../../src/raft/types.js';
import type { Rng } from '../../src/util/rng.js';
import type { NetworkProfile } from './network.js';
import type { SimConfig } from './sim-config.js';

export type NemesisAction =
  | { readonly kind: 'heal-network' }
  | {
      readonly kind: 'partition';
      readonly groups: readonly (readonly NodeId[])[];
      readonly bridges: readonly NodeId[];
    }
  | { readonly kind: 'isolate'; readonly node: NodeId }
  | { readonly kind: 'cut-one-way'; readonly links: readonly (readonly [NodeId, NodeId])[] }
  | { readonly kind: 'profile'; readonly name: string; readonly profile: NetworkProfile }
  | { readonly kind: 'drift'; readonly node: NodeId; readonly factor: number };

export function describeAction(action: NemesisAction): string {
  switch (action.kind) {
    case 'heal-network':
      return 'heal network';
    case 'partition':
      return `partition ${action.groups.map((g) => `{${g.join(',')}}`).join(' | ')}${action.bridges.length > 0 ? ` bridges ${action.bridges.join(',')}` : ''}`;
    case 'isolate':
      return `isolate ${action.node}`;
    case 'cut-one-way':
      return `cut ${action.links.map(([a, b]) => `${a}->${b}`).join(' ')}`;
    case 'profile':
      return `network ${action.name}`;
    case 'drift':
      return `drift ${action.node} x${action.factor.toFixed(3)}`;
  }
}

/** Shuffles a copy (Fisher-Yates), driven by the run's rng. */
export function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const copy = items.slice();
  for (let i = copy.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const a = copy[i];
    const b = copy[j];
    assert(a !== undefined && b !== undefined, 'shuffle index out of range');
    copy[i] = b;
    copy[j] = a;
  }
  return copy;
}

export class Nemesis {
  constructor(
    private readonly rng: Rng,
    private readonly config: SimConfig,
    private readonly nodeIds: readonly NodeId[],
  ) {}

  /** A drift factor for a node's tick period: 1 ± up to driftMax. */
  driftFactor(): number {
    return 1 + (this.rng.next() * 2 - 1) * this.config.driftMax;
  }

  /** The next network or clock fault; `leader` (or NO_NODE) lets it aim at the leader. */
  nextAction(leader: NodeId): NemesisAction {
    const roll = this.rng.next();
    if (roll < 0.25) return { kind: 'heal-network' };
    if (roll < 0.4) return this.randomSplit();
    if (roll < 0.5) return { kind: 'isolate', node: this.leaderOrAny(leader) };
    if (roll < 0.6) return this.leaderInMinority(leader);
    if (roll < 0.7) return this.bridgedSplit();
    if (roll < 0.8) return this.oneWayCuts(leader);
    if (roll < 0.93) return this.profile();
    const node = this.nodeIds[this.rng.int(this.nodeIds.length)];
    assert(node !== undefined, 'no nodes');
    return { kind: 'drift', node, factor: this.driftFactor() };
  }

  /** Whom to crash: the leader half of the time (the interesting case), else anyone. */
  crashTarget(leader: NodeId): NodeId {
    if (leader !== NO_NODE && this.rng.next() < 0.5) return leader;
    return this.leaderOrAny(NO_NODE);
  }

  restartDelayMs(): number {
    return 1 + this.rng.next() * this.config.restartDelayMsMax;
  }

  private leaderOrAny(leader: NodeId): NodeId {
    if (leader !== NO_NODE) return leader;
    const node = this.nodeIds[this.rng.int(this.nodeIds.length)];
    assert(node !== undefined, 'no nodes');
    return node;
  }

  private randomSplit(): NemesisAction {
    const order = shuffled(this.rng, this.nodeIds);
    const cut = 1 + this.rng.int(order.length - 1);
    return { kind: 'partition', groups: [order.slice(0, cut), order.slice(cut)], bridges: [] };
  }

  /** The leader and one other node on the minority side: the rest must elect a new leader. */
  private leaderInMinority(leader: NodeId): NemesisAction {
    const others = shuffled(
      this.rng,
      this.nodeIds.filter((id) => id !== leader),
    );
    const minority = leader === NO_NODE ? others.slice(0, 2) : [leader, ...others.slice(0, 1)];
    const rest = this.nodeIds.filter((id) => !minority.includes(id));
    return { kind: 'partition', groups: [minority, rest], bridges: [] };
  }

  /** Two sides that only one node connects: leaders on each side compete through it. */
  private bridgedSplit(): NemesisAction {
    const order = shuffled(this.rng, this.nodeIds);
    const bridge = order.pop();
    assert(bridge !== undefined, 'no nodes');
    const cut = 1 + this.rng.int(Math.max(1, order.length - 1));
    return {
      kind: 'partition',
      groups: [order.slice(0, cut), order.slice(cut)],
      bridges: [bridge],
    };
  }

  /** A few directed cuts, often around the leader (it hears nothing, or nobody hears it). */
  private oneWayCuts(leader: NodeId): NemesisAction {
    const links: [NodeId, NodeId][] = [];
    const count = 1 + this.rng.int(this.nodeIds.length);
    for (let i = 0; i < count; i++) {
      const from = this.rng.next() < 0.5 ? this.leaderOrAny(leader) : this.leaderOrAny(NO_NODE);
      const to = this.leaderOrAny(NO_NODE);
      if (from === to) continue;
      links.push(this.rng.next() < 0.5 ? [from, to] : [to, from]);
    }
    return { kind: 'cut-one-way', links };
  }

  private profile(): NemesisAction {
    const electionMs = this.config.electionTicks * this.config.tickMs;
    const roll = this.rng.int(5);
    const base = { delayMsMin: 0.5 + this.rng.next() * 2, delayMsMean: 1 + this.rng.next() * 4 };
    const none = {
      lossProbability: 0,
      duplicateProbability: 0,
      slowProbability: 0,
      slowDelayMsMax: 0,
    };
    switch (roll) {
      case 0:
        return { kind: 'profile', name: 'calm', profile: { ...none, ...base } };
      case 1: {
        const lossProbability = 0.05 + this.rng.next() * 0.3;
        return {
          kind: 'profile',
          name: `lossy ${lossProbability.toFixed(2)}`,
          profile: { ...none, ...base, lossProbability },
        };
      }
      case 2: {
        const duplicateProbability = 0.05 + this.rng.next() * 0.2;
        return {
          kind: 'profile',
          name: `duplicating ${duplicateProbability.toFixed(2)}`,
          profile: { ...none, ...base, duplicateProbability },
        };
      }
      case 3: {
        const slowProbability = 0.01 + this.rng.next() * 0.05;
        const slow = { slowProbability, slowDelayMsMax: 4 * electionMs };
        return {
          kind: 'profile',
          name: `long tail ${slowProbability.toFixed(2)}`,
          profile: { ...none, ...base, ...slow },
        };
      }
      default: {
        const profile = {
          ...base,
          delayMsMean: 5 + this.rng.next() * 15,
          lossProbability: 0.05,
          duplicateProbability: 0.05,
          slowProbability: 0.01,
          slowDelayMsMax: 2 * electionMs,
        };
        return { kind: 'profile', name: 'jittery', profile };
      }
    }
  }
}
