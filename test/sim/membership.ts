/**
 * Membership changes and leadership transfers, proposed at the current leader. One spare node
 * exists beyond the bootstrap voters, so the cycle is: add the spare (or a removed node) as an
 * observer, promote it, later remove some voter (possibly the leader itself), never going below
 * three voters. Refusals (a change already pending, no commit yet in the term) are normal.
 */
import { assert } from '../../src/util/assert.js';
import {
  ConfChangeType,
  NO_NODE,
  type ConfChange,
  type NodeId,
  type ProposeResult,
} from '../../src/raft/types.js';
import type { Rng } from '../../src/util/rng.js';
import { addressOf, type ClusterView } from './cluster-view.js';

/** Fewer voters than this and one crash stops the cluster: the simulation never goes below. */
export const VOTERS_MIN = 3;

export interface ChangeOutcome {
  readonly leader: NodeId;
  readonly change: ConfChange;
  readonly result: ProposeResult;
}

export interface TransferOutcome {
  readonly leader: NodeId;
  readonly target: NodeId;
  readonly started: boolean;
}

function pickOne<T>(rng: Rng, items: readonly T[]): T {
  const item = items[rng.int(items.length)];
  assert(item !== undefined, 'pick from an empty list');
  return item;
}

export class MembershipChanger {
  constructor(
    private readonly rng: Rng,
    private readonly view: ClusterView,
  ) {}

  /** Proposes the next change at the leader; null when there is no leader or nothing to do. */
  changeMembership(): ChangeOutcome | null {
    const leader = this.view.leader();
    const core = leader === NO_NODE ? null : this.view.coreOf(leader);
    if (core === null) return null;
    const change = this.nextChange(core.status().confState);
    if (change === null) return null;
    return { leader, change, result: core.proposeConfChange(change) };
  }

  /** Asks the leader to hand over to a random other voter. */
  transferLeadership(): TransferOutcome | null {
    const leader = this.view.leader();
    const core = leader === NO_NODE ? null : this.view.coreOf(leader);
    if (core === null) return null;
    const others = core.status().confState.voters.filter((m) => m.id !== leader);
    if (others.length === 0) return null;
    const target = pickOne(this.rng, others).id;
    return { leader, target, started: core.transferLeadership(target) };
  }

  private nextChange(conf: {
    readonly voters: readonly { readonly id: NodeId }[];
    readonly observers: readonly { readonly id: NodeId }[];
  }): ConfChange | null {
    const observer = conf.observers[0];
    if (observer !== undefined) {
      return {
        type: ConfChangeType.PROMOTE_OBSERVER,
        nodeId: observer.id,
        address: addressOf(observer.id),
      };
    }
    const members = new Set<NodeId>();
    for (const m of conf.voters) members.add(m.id);
    const outsiders = this.view.nodeIds.filter((id) => !members.has(id));
    const canRemove = conf.voters.length > VOTERS_MIN;
    if (canRemove && (outsiders.length === 0 || this.rng.next() < 0.5)) {
      const victim = pickOne(this.rng, conf.voters).id;
      return { type: ConfChangeType.REMOVE_VOTER, nodeId: victim, address: '' };
    }
    if (outsiders.length === 0) return null;
    const joiner = pickOne(this.rng, outsiders);
    return { type: ConfChangeType.ADD_OBSERVER, nodeId: joiner, address: addressOf(joiner) };
  }
}
