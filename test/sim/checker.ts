/**
 * The safety checker. The cluster reports what each node does (roles it takes, entries and hard
 * states it makes durable, entries it hands out as committed, states it applies or restores) and
 * the checker compares every report with everything seen before in the run, so a violation is
 * caught at the event that causes it. Each check is incremental: per report it costs time in the
 * size of the report, except leader completeness, which walks the committed log once per term.
 *
 * The invariants (Raft paper §5.2-5.4, Figure 3):
 * - election safety: at most one leader per term, over the whole history;
 * - log matching: entries with equal (index, term) have equal content and equal predecessors,
 *   which by induction makes the logs identical up to there;
 * - leader completeness: a leader's log holds every entry committed before it was elected;
 * - state machine safety: no two nodes commit or apply different entries at one index, and a
 *   snapshot carries exactly the committed state at its index;
 * - durable state: per node, the stored term and commit never decrease and the stored vote never
 *   changes within a term (a node that forgets its vote can elect two leaders);
 * - monotonic progress: within one incarnation, commit and applied never go backwards.
 */
import {
  NO_NODE,
  Role,
  type Entry,
  type HardState,
  type NodeId,
  type Snapshot,
} from '../../src/raft/types.js';
import {
  decodeImage,
  entryText,
  HASH_EMPTY,
  rollHash,
  type StateMachineImage,
} from './state-machine.js';
import type { SimStore } from './sim-store.js';

export const Invariant = {
  ELECTION_SAFETY: 'election-safety',
  LOG_MATCHING: 'log-matching',
  LEADER_COMPLETENESS: 'leader-completeness',
  STATE_MACHINE_SAFETY: 'state-machine-safety',
  COMMITTED_NEVER_LOST: 'committed-never-lost',
  DURABLE_STATE: 'durable-state',
  MONOTONIC_PROGRESS: 'monotonic-progress',
  READY_CONTRACT: 'ready-contract',
  LIVENESS: 'liveness',
  /** The core threw (an AssertionError or worse): a bug found by the simulation too. */
  CORE_THREW: 'core-threw',
} as const;
export type Invariant = (typeof Invariant)[keyof typeof Invariant];

/** A broken invariant. The run stops at the first one and prints how to replay it. */
export class SimViolation extends Error {
  override readonly name = 'SimViolation';
  constructor(
    readonly invariant: Invariant,
    message: string,
  ) {
    super(`${invariant}: ${message}`);
  }
}

function violated(invariant: Invariant, message: string): never {
  throw new SimViolation(invariant, message);
}

interface StoredKey {
  readonly text: string;
  /** Term of the entry before it in the log that stored it (0 before index 1). */
  readonly prevTerm: number;
  readonly node: NodeId;
}

export interface CheckerOptions {
  /**
   * Check that a stored vote never changes within a term. It catches a double vote at once;
   * the self-test turns it off to show the paper's invariants catch one too.
   */
  readonly voteCheck: boolean;
}

export class Checker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** committedCount when the leader of a term was first seen: its log must reach past it. */
  private readonly committedAtElection = new Map<number, number>();
  private readonly completenessChecked = new Set<number>();
  /** Every entry any node ever made durable, by `${index}/${term}`. */
  private readonly storedKeys = new Map<string, StoredKey>();
  /** The committed log, from index 1, as first reported by any node; [0] is the empty state. */
  private readonly committedTerms: number[] = [0];
  private readonly committedTexts: string[] = [''];
  private readonly committedHashes: number[] = [HASH_EMPTY];
  private readonly committedBy: NodeId[] = [NO_NODE];
  /** Per node: last commit index seen in this incarnation (reset on restart). */
  private readonly commitSeen = new Map<NodeId, number>();

  constructor(private readonly options: CheckerOptions = { voteCheck: true }) {}

  /** Highest index any node has reported committed. */
  get committedCount(): number {
    return this.committedTerms.length - 1;
  }

  /** Which node is known to have led `term`, or undefined. */
  leaderOf(term: number): NodeId | undefined {
    return this.leaderOfTerm.get(term);
  }

  committedHashAt(index: number): number | undefined {
    return this.committedHashes[index];
  }

  /**
   * Called with every role a node is seen in (after each event that touched it). Returns true
   * the first time a node is seen leading `term`.
   */
  observeRole(node: NodeId, role: Role, term: number): boolean {
    if (role !== Role.LEADER) return false;
    const known = this.leaderOfTerm.get(term);
    if (known === undefined) {
      this.leaderOfTerm.set(term, node);
      this.committedAtElection.set(term, this.committedCount);
      return true;
    }
    if (known !== node) {
      violated(Invariant.ELECTION_SAFETY, `nodes ${known} and ${node} both led term ${term}`);
    }
    return false;
  }

  /** A node restarted: its volatile progress starts again from its durable state. */
  observeRestart(node: NodeId): void {
    this.commitSeen.delete(node);
  }

  observeCommitIndex(node: NodeId, commitIndex: number): void {
    const seen = this.commitSeen.get(node) ?? 0;
    if (commitIndex < seen) {
      violated(
        Invariant.MONOTONIC_PROGRESS,
        `node ${node} commit went from ${seen} to ${commitIndex}`,
      );
    }
    this.commitSeen.set(node, commitIndex);
  }

  /** Before a hard state replaces `previous` on a node's disk. */
  observeHardState(node: NodeId, previous: HardState, next: HardState): void {
    if (next.term < previous.term) {
      violated(
        Invariant.DURABLE_STATE,
        `node ${node} stored term ${next.term} after ${previous.term}`,
      );
    }
    const voteChanged = previous.vote !== NO_NODE && next.vote !== previous.vote;
    if (this.options.voteCheck && next.term === previous.term && voteChanged) {
      violated(
        Invariant.DURABLE_STATE,
        `node ${node} changed its vote in term ${next.term} from ${previous.vote} to ${next.vote}`,
      );
    }
    if (next.commit < previous.commit) {
      violated(
        Invariant.DURABLE_STATE,
        `node ${node} stored commit ${next.commit} after ${previous.commit}`,
      );
    }
  }

  /**
   * Entries a node is about to make durable; `prevTerm` is the term its log holds just before
   * entries[0] (after dropping the suffix they replace).
   */
  observeStoredEntries(node: NodeId, entries: readonly Entry[], prevTerm: number): void {
    let before = prevTerm;
    for (const entry of entries) {
      const key = `${entry.index}/${entry.term}`;
      const text = entryText(entry);
      const known = this.storedKeys.get(key);
      if (known === undefined) {
        this.storedKeys.set(key, { text, prevTerm: before, node });
      } else if (known.text !== text) {
        violated(
          Invariant.LOG_MATCHING,
          `entry ${key} is "${known.text}" on node ${known.node} but "${text}" on node ${node}`,
        );
      } else if (known.prevTerm !== before) {
        violated(
          Invariant.LOG_MATCHING,
          `entry ${key} follows term ${known.prevTerm} on node ${known.node} but term ${before} on node ${node}`,
        );
      }
      if (entry.term < before) {
        violated(
          Invariant.LOG_MATCHING,
          `node ${node} stores term ${entry.term} after term ${before}`,
        );
      }
      before = entry.term;
    }
  }

  /**
   * After a node persisted a Ready: if it is the leader of a term and just stored the first entry
   * of that term (its no-op), everything committed before its election must precede it, intact.
   */
  observeLeaderLog(node: NodeId, entries: readonly Entry[], store: SimStore): void {
    for (const entry of entries) {
      if (this.leaderOfTerm.get(entry.term) !== node) continue;
      if (this.completenessChecked.has(entry.term)) return;
      this.completenessChecked.add(entry.term);
      this.checkCompleteness(node, entry, store);
      return;
    }
  }

  private checkCompleteness(node: NodeId, first: Entry, store: SimStore): void {
    const atElection = this.committedAtElection.get(first.term) ?? 0;
    if (first.index <= atElection) {
      violated(
        Invariant.LEADER_COMPLETENESS,
        `leader ${node} of term ${first.term} appended at ${first.index}, but ${atElection} was already committed`,
      );
    }
    const through = Math.min(first.index - 1, this.committedCount);
    if (store.snapshotIndex > 0 && store.snapshotIndex <= through) {
      this.checkSnapshot(node, store.snapshot, Invariant.LEADER_COMPLETENESS);
    }
    for (let index = store.snapshotIndex + 1; index <= through; index++) {
      const entry = store.entryAt(index);
      const why = `leader ${node} of term ${first.term} holds at ${index}`;
      if (entry === undefined) violated(Invariant.LEADER_COMPLETENESS, `${why} nothing`);
      if (
        entry.term !== this.committedTerms[index] ||
        entryText(entry) !== this.committedTexts[index]
      ) {
        violated(
          Invariant.LEADER_COMPLETENESS,
          `${why} term ${entry.term} "${entryText(entry)}", committed was term ${this.committedTerms[index]} "${this.committedTexts[index]}"`,
        );
      }
    }
  }

  /** A snapshot must hold exactly the committed state at its index. */
  checkSnapshot(node: NodeId, snapshot: Snapshot | null, invariant: Invariant): void {
    if (snapshot === null) return;
    const image = decodeImage(snapshot.data);
    if (image.index !== snapshot.meta.index) {
      violated(
        invariant,
        `node ${node} snapshot at ${snapshot.meta.index} holds state ${image.index}`,
      );
    }
    if (snapshot.meta.term !== this.committedTerms[image.index]) {
      violated(
        invariant,
        `node ${node} snapshot at ${image.index} has term ${snapshot.meta.term}, committed term ${this.committedTerms[image.index]}`,
      );
    }
    this.checkImage(node, image, invariant);
  }

  /** A state machine image (after a restore) must equal the committed state at its index. */
  checkImage(node: NodeId, image: StateMachineImage, invariant: Invariant): void {
    const expected = this.committedHashes[image.index];
    if (expected === undefined) {
      violated(invariant, `node ${node} holds state at ${image.index}, past anything committed`);
    }
    if (expected !== image.hash) {
      violated(invariant, `node ${node} state at ${image.index} differs from the committed state`);
    }
  }

  /** Entries a node hands out in Ready.committed. */
  observeCommitted(node: NodeId, entries: readonly Entry[]): void {
    for (const entry of entries) {
      const text = entryText(entry);
      const index = entry.index;
      const knownTerm = this.committedTerms[index];
      if (knownTerm === undefined) {
        // Whoever commits index i first has applied or restored i - 1, which someone committed.
        if (index !== this.committedCount + 1) {
          violated(
            Invariant.STATE_MACHINE_SAFETY,
            `node ${node} committed ${index}, but nothing was ever committed at ${this.committedCount + 1}`,
          );
        }
        const previous = this.committedHashes[index - 1] ?? HASH_EMPTY;
        this.committedTerms.push(entry.term);
        this.committedTexts.push(text);
        this.committedHashes.push(rollHash(previous, index, entry.term, text));
        this.committedBy.push(node);
      } else if (knownTerm !== entry.term || this.committedTexts[index] !== text) {
        violated(
          Invariant.STATE_MACHINE_SAFETY,
          `node ${node} committed ${index}/${entry.term} "${text}", node ${this.committedBy[index]} committed ${index}/${knownTerm} "${this.committedTexts[index]}"`,
        );
      }
    }
  }

  /** A node applied `index` and its state machine now hashes to `hash`. */
  observeApplied(node: NodeId, index: number, hash: number): void {
    this.checkImage(node, { index, hash }, Invariant.STATE_MACHINE_SAFETY);
  }

  /**
   * End of run: a live voter's state machine must hold everything committed before the network
   * healed (nothing committed was lost) and agree with it.
   */
  checkNothingLost(node: NodeId, image: StateMachineImage, through: number): void {
    if (image.index < through) {
      violated(
        Invariant.COMMITTED_NEVER_LOST,
        `node ${node} applied only up to ${image.index}, but ${through} was committed`,
      );
    }
    this.checkImage(node, image, Invariant.COMMITTED_NEVER_LOST);
  }

  /** The term committed at `index`, or undefined when nothing is known committed there. */
  committedTermAt(index: number): number | undefined {
    return index === 0 ? undefined : this.committedTerms[index];
  }
}
