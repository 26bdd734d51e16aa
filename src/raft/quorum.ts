/**
 * Majority arithmetic, kept apart so the rules read plainly: a quorum is a strict majority of
 * the voters in force, and the committed index is the highest index a quorum has durably.
 */
import { assert } from '../util/assert.js';
import type { NodeId } from './types.js';

export function quorumSize(voterCount: number): number {
  assert(voterCount > 0, 'a configuration has at least one voter');
  return Math.floor(voterCount / 2) + 1;
}

/** The largest index that at least a quorum of `matchIndexes` (one per voter) has reached. */
export function quorumMatchIndex(matchIndexes: readonly number[]): number {
  const sorted = [...matchIndexes].sort((a, b) => b - a);
  const index = sorted[quorumSize(sorted.length) - 1];
  assert(index !== undefined, 'quorum index exists');
  return index;
}

export const VoteOutcome = { PENDING: 'pending', WON: 'won', LOST: 'lost' } as const;
export type VoteOutcome = (typeof VoteOutcome)[keyof typeof VoteOutcome];

/** Tallies the answers of `voters`; answers from non-voters do not count. */
export function voteOutcome(
  voters: readonly NodeId[],
  answers: ReadonlyMap<NodeId, boolean>,
): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const answer = answers.get(id);
    if (answer === true) granted++;
    else if (answer === false) rejected++;
  }
  const quorum = quorumSize(voters.length);
  if (granted >= quorum) return VoteOutcome.WON;
  if (rejected > voters.length - quorum) return VoteOutcome.LOST;
  return VoteOutcome.PENDING;
}
