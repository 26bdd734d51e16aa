/**
 * The bootstrap membership: which voters a node's Raft log starts from, decided once and kept
 * in the store (store-codec.ts, key [0x04][0x04]), as KRaft and etcd keep theirs.
 *
 * Why it is stored. The core starts from `RaftConfig.initialConf` whenever the log holds no
 * snapshot and no conf-change entry. If that came from the configuration of each start, a voter
 * of three restarted with another voter list (or none: a quorum of one) would elect itself and
 * commit entries the other two never see, on the same log: a split brain. So the first start of
 * an empty store records the configured voters, every later start uses the recorded ones, and a
 * start whose configured voter ids differ is refused before anything is written. Addresses may
 * change (a node moves): the configured address of a recorded id wins and is recorded.
 *
 * A store that holds a snapshot or conf-change entries still gets its membership from those (the
 * core does that); the bootstrap is only the starting point of the log.
 *
 * Everything here is pure: the driver loads, calls planBootstrap() and writes what it says.
 */
import { assert } from '../../util/assert.js';
import { EMPTY_HARD_STATE, type ConfState, type Member, type NodeId } from '../types.js';
import type { StoredState } from './level-store.js';

/**
 * A start the stored bootstrap membership refuses. Thrown by RaftNode.open() before it writes
 * anything; the message is one line, names raft.voters and says what to do.
 */
export class RaftBootstrapError extends Error {
  override readonly name = 'RaftBootstrapError';
  constructor(
    message: string,
    /** The voter ids the store was bootstrapped with; null for a store without a bootstrap. */
    readonly storedVoterIds: readonly NodeId[] | null,
    /** The voter ids this start was given. */
    readonly givenVoterIds: readonly NodeId[],
  ) {
    super(message);
  }
}

/** A voter whose address differs from the stored one. */
export interface AddressChange {
  readonly id: NodeId;
  readonly stored: string;
  readonly given: string;
}

/** What open() does with the bootstrap membership, and the conf the core starts from. */
export type BootstrapPlan =
  /** First start of an empty store: record `conf` (synced) before anything else. */
  | { readonly kind: 'record'; readonly conf: ConfState }
  /** The stored voters, as given. */
  | { readonly kind: 'keep'; readonly conf: ConfState }
  /** The stored voter ids at new addresses: record `conf` and log `changes`. */
  | {
      readonly kind: 'readdress';
      readonly conf: ConfState;
      readonly changes: readonly AddressChange[];
    };

/**
 * Decides the bootstrap membership of a start from what the store holds and the voters given.
 * Throws RaftBootstrapError when the given voter ids differ from the stored ones, and when the
 * store holds Raft state but no bootstrap (written before the key existed): its membership
 * cannot be checked, so it is not guessed.
 */
export function planBootstrap(stored: StoredState, given: readonly Member[]): BootstrapPlan {
  assert(given.length >= 1, 'bootstrap: at least one voter is given');
  const givenIds = sortedIds(given);
  assert(new Set(givenIds).size === givenIds.length, 'bootstrap: each given voter id once');
  const conf: ConfState = { voters: [...given], observers: [] };
  if (stored.bootstrap === null) {
    if (isEmpty(stored)) return { kind: 'record', conf };
    throw new RaftBootstrapError(
      `this node's Raft store holds Raft state (${describeState(stored)}) but no bootstrap membership: it was written by an earlier Brook, which kept the voter ids in a raft-bootstrap-voters file beside the store, so raft.voters (ids ${givenIds.join(',')}) cannot be checked against the voters it started with. Start the node on an empty data dir (move this one aside).`,
      null,
      givenIds,
    );
  }
  const storedIds = sortedIds(stored.bootstrap.voters);
  if (storedIds.join(',') !== givenIds.join(',')) {
    throw new RaftBootstrapError(
      `raft.voters gives voter ids ${givenIds.join(',')}, but this node's Raft store was bootstrapped with voter ids ${storedIds.join(',')}: with other voters it would start a second quorum on the same log (a split brain). Restart it with raft.voters naming ids ${storedIds.join(',')} (their addresses may change), or start it on an empty data dir.`,
      storedIds,
      givenIds,
    );
  }
  const storedAddresses = new Map(stored.bootstrap.voters.map((m) => [m.id, m.address]));
  const changes: AddressChange[] = [];
  for (const voter of given) {
    const address = storedAddresses.get(voter.id);
    assert(address !== undefined, 'bootstrap: the same ids, so every given voter is stored');
    if (address !== voter.address) {
      changes.push({ id: voter.id, stored: address, given: voter.address });
    }
  }
  return changes.length === 0 ? { kind: 'keep', conf } : { kind: 'readdress', conf, changes };
}

/** No Raft state at all: no vote, term or commit, no snapshot, no entry. */
function isEmpty(stored: StoredState): boolean {
  const { hardState } = stored;
  return (
    stored.snapshot === null &&
    stored.entries.length === 0 &&
    hardState.term === EMPTY_HARD_STATE.term &&
    hardState.vote === EMPTY_HARD_STATE.vote &&
    hardState.commit === EMPTY_HARD_STATE.commit
  );
}

function describeState(stored: StoredState): string {
  const snapshot =
    stored.snapshot === null ? 'no snapshot' : `a snapshot at index ${stored.snapshot.meta.index}`;
  return `term ${stored.hardState.term}, ${stored.entries.length} entries, ${snapshot}`;
}

function sortedIds(members: readonly Member[]): NodeId[] {
  return members.map((m) => m.id).sort((a, b) => a - b);
}
