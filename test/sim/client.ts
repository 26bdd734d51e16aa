/**
 * A simulated client. It proposes unique payloads to the node it believes leads, follows the
 * NOT_LEADER hint when refused, and picks a random node when it has no hint or its target is
 * down, as the SDK's retry loop does. It never retries an accepted proposal: an accepted
 * proposal whose term loses its index is simply lost, which Raft allows.
 */
import { assert } from '../../src/util/assert.js';
import { NO_NODE, ProposeRefusal, type NodeId, type ProposeResult } from '../../src/raft/types.js';
import type { Rng } from '../../src/util/rng.js';
import type { ClusterView } from './cluster-view.js';

/** A proposal the leader accepted at (index, term); it commits iff that entry commits. */
export interface AcceptedProposal {
  readonly index: number;
  readonly term: number;
  readonly timeMs: number;
}

export interface ProposalOutcome {
  readonly target: NodeId;
  readonly payload: string;
  /** null when the target was down (the connection was refused). */
  readonly result: ProposeResult | null;
}

const encoder = new TextEncoder();

export class SimClient {
  private target: NodeId = NO_NODE;
  private counter = 0;
  proposedCount = 0;
  acceptedCount = 0;

  constructor(
    private readonly rng: Rng,
    private readonly view: ClusterView,
  ) {}

  propose(): ProposalOutcome {
    if (this.target === NO_NODE) this.target = this.randomNode();
    const target = this.target;
    const core = this.view.coreOf(target);
    const payload = `c${this.counter++}`;
    this.proposedCount++;
    if (core === null) {
      this.target = this.randomNode();
      return { target, payload, result: null };
    }
    const result = core.propose(encoder.encode(payload));
    if (result.ok) {
      this.acceptedCount++;
    } else if (result.reason === ProposeRefusal.NOT_LEADER) {
      this.target =
        result.leader === NO_NODE || result.leader === target ? this.randomNode() : result.leader;
    }
    return { target, payload, result };
  }

  private randomNode(): NodeId {
    const id = this.view.nodeIds[this.rng.int(this.view.nodeIds.length)];
    assert(id !== undefined, 'no nodes');
    return id;
  }
}
