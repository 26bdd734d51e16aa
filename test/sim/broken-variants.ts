/**
 * Deliberately broken Raft cores, to prove the checker catches real bugs (the checker's
 * self-test). Each overrides one protected safety hook of RaftCore. They live under test/ and
 * are chosen only by the simulator's --variant switch: nothing under src/ imports this file, so
 * no production build can reach them.
 */
import { RaftCore } from '../../src/raft/core.js';
import { NO_NODE, type VoteRequest } from '../../src/raft/types.js';
import type { CoreFactory } from './sim-node.js';
import type { Variant } from './sim-config.js';

/**
 * Votes twice in one term: it ignores the vote it already cast (but still refuses candidates
 * whose log is behind). Two candidates of one term can then both win: election safety breaks.
 */
export class DoubleVoteCore extends RaftCore {
  protected override canGrantVote(m: VoteRequest): boolean {
    const vote = this.status().vote;
    // Present the request as coming from the node already voted for, so the production check
    // sees "same candidate again" and only its log comparison still applies.
    return super.canGrantVote(vote === NO_NODE ? m : { ...m, from: vote });
  }
}

/**
 * Commits an entry of an earlier term as soon as a quorum holds it, the mistake Figure 8 of
 * the Raft paper (§5.4.2) shows: a later leader can overwrite such an entry after it applied.
 */
export class OldTermCommitCore extends RaftCore {
  protected override canCommitByCounting(_entryTerm: number): boolean {
    return true;
  }
}

export function coreFactoryFor(variant: Variant): CoreFactory {
  switch (variant) {
    case 'production':
      return (config, restored, rng) => new RaftCore(config, restored, rng);
    case 'double-vote':
      return (config, restored, rng) => new DoubleVoteCore(config, restored, rng);
    case 'old-term-commit':
      return (config, restored, rng) => new OldTermCommitCore(config, restored, rng);
  }
}
