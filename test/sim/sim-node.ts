/**
 * One simulated node: a RaftCore, its durable store, its state machine, and a driver that
 * follows the Ready contract of src/raft/types.ts the way src/raft/driver.ts does, one Ready in
 * flight at a time: take a Ready, wait for the simulated fsync, then persist, send, restore,
 * apply, advance, and sometimes compact. A crash drops everything but the store.
 */
import { assert } from '../../src/util/assert.js';
import type { RaftCore } from '../../src/raft/core.js';
import type { Message, NodeId, RaftConfig, Ready, RestoredState } from '../../src/raft/types.js';
import type { Rng } from '../../src/util/rng.js';
import { Invariant, SimViolation, type Checker } from './checker.js';
import { decodeImage, encodeImage, SimStateMachine } from './state-machine.js';
import { SimStore } from './sim-store.js';

/** Builds the core under test (production or a deliberately broken variant). */
export type CoreFactory = (config: RaftConfig, restored: RestoredState, rng: Rng) => RaftCore;

export class SimNode {
  core: RaftCore | null = null;
  readonly store = new SimStore();
  sm = new SimStateMachine();
  /** The Ready being persisted, or null; the driver takes the next only after advance(). */
  inflight: Ready | null = null;
  /** Bumped on every crash, so events of a previous life (ticks, fsyncs) are recognised. */
  incarnation = 0;
  /** This node's tick period factor (clock drift): ticks come every tickMs * tickFactor. */
  tickFactor = 1;
  /** Virtual time of the crash, or -1 while up. */
  crashedAtMs = -1;

  constructor(readonly id: NodeId) {}

  get isUp(): boolean {
    return this.core !== null;
  }

  /** (Re)starts from the durable store: the state machine first, from the stored snapshot. */
  start(factory: CoreFactory, config: RaftConfig, rng: Rng): void {
    assert(this.core === null, `node ${this.id} started twice`);
    assert(config.id === this.id, 'config for another node');
    this.sm = new SimStateMachine();
    if (this.store.snapshot !== null) this.sm.restore(decodeImage(this.store.snapshot.data));
    this.inflight = null;
    this.crashedAtMs = -1;
    this.core = factory(config, this.store.restoredState(), rng);
  }

  /** Loses all volatile state, including a Ready whose fsync has not completed. */
  crash(nowMs: number): void {
    assert(this.core !== null, `node ${this.id} crashed while down`);
    this.core = null;
    this.inflight = null;
    this.incarnation++;
    this.crashedAtMs = nowMs;
  }

  /**
   * Takes the next Ready if the node is up and idle. Checks what can be checked at once:
   * entries handed out as committed must already be durable here, and must agree with what
   * every other node committed.
   */
  takeReady(checker: Checker): Ready | null {
    const core = this.core;
    if (core === null || this.inflight !== null || !core.hasReady()) return null;
    const rd = core.ready();
    this.inflight = rd;
    for (const entry of rd.committed) {
      if (
        this.store.termAt(entry.index) !== entry.term ||
        entry.index <= this.store.snapshotIndex
      ) {
        throw new SimViolation(
          Invariant.READY_CONTRACT,
          `node ${this.id} hands out ${entry.index}/${entry.term} as committed, but it is not durable here`,
        );
      }
    }
    checker.observeCommitted(this.id, rd.committed);
    return rd;
  }

  /** The fsync of the in-flight Ready completed: the rest of the Ready loop, in order. */
  completeReady(
    checker: Checker,
    send: (message: Message) => void,
    rng: Rng,
    snapshotEvery: number,
    snapshotTrailing: number,
  ): void {
    const rd = this.inflight;
    const core = this.core;
    assert(rd !== null && core !== null, `node ${this.id} completes a Ready it does not have`);
    this.persist(rd, checker);
    for (const message of rd.messages) {
      if (message.from !== this.id) {
        throw new SimViolation(
          Invariant.READY_CONTRACT,
          `node ${this.id} sends a message from ${message.from}`,
        );
      }
      send(message);
    }
    this.apply(rd, checker);
    core.advance(rd);
    this.inflight = null;
    this.maybeCompact(checker, rng, snapshotEvery, snapshotTrailing);
  }

  private persist(rd: Ready, checker: Checker): void {
    if (rd.snapshot !== null) {
      checker.checkSnapshot(this.id, rd.snapshot, Invariant.STATE_MACHINE_SAFETY);
      this.store.installSnapshot(rd.snapshot);
    }
    const first = rd.entries[0];
    if (first !== undefined) {
      const prevTerm = first.index === 1 ? 0 : this.store.termAt(first.index - 1);
      if (prevTerm === undefined || first.index <= this.store.snapshotIndex) {
        throw new SimViolation(
          Invariant.READY_CONTRACT,
          `node ${this.id} appends at ${first.index}, its store holds ${this.store.snapshotIndex + 1}..${this.store.lastIndex}`,
        );
      }
      checker.observeStoredEntries(this.id, rd.entries, prevTerm);
      this.store.appendEntries(rd.entries);
    }
    if (rd.hardState !== null) {
      checker.observeHardState(this.id, this.store.hardState, rd.hardState);
      this.store.setHardState(rd.hardState);
    }
    checker.observeLeaderLog(this.id, rd.entries, this.store);
  }

  private apply(rd: Ready, checker: Checker): void {
    if (rd.snapshot !== null) {
      const image = decodeImage(rd.snapshot.data);
      if (image.index < this.sm.index) {
        throw new SimViolation(
          Invariant.MONOTONIC_PROGRESS,
          `node ${this.id} restores snapshot ${image.index} over applied ${this.sm.index}`,
        );
      }
      this.sm.restore(image);
    }
    for (const entry of rd.committed) {
      if (entry.index !== this.sm.index + 1) {
        throw new SimViolation(
          Invariant.READY_CONTRACT,
          `node ${this.id} is handed ${entry.index} to apply after ${this.sm.index}`,
        );
      }
      const hash = this.sm.apply(entry);
      checker.observeApplied(this.id, entry.index, hash);
    }
  }

  /** Every `every` applied entries, snapshot at applied - trailing and drop the log up to it. */
  private maybeCompact(checker: Checker, rng: Rng, every: number, trailing: number): void {
    const core = this.core;
    assert(core !== null, 'compact on a crashed node');
    if (this.sm.index - this.store.snapshotIndex < every) return;
    const index = this.sm.index - rng.int(trailing + 1);
    if (index <= this.store.snapshotIndex) return;
    const image = this.sm.imageAt(index);
    const snapshot = core.compact(index, encodeImage(image));
    // Null while a snapshot from the leader, newer than our state machine, is being installed.
    if (snapshot === null) return;
    if (snapshot.meta.index !== index || snapshot.meta.term !== this.store.termAt(index)) {
      throw new SimViolation(
        Invariant.READY_CONTRACT,
        `node ${this.id} compact(${index}) returned a snapshot at ${snapshot.meta.index}/${snapshot.meta.term}`,
      );
    }
    checker.checkSnapshot(this.id, snapshot, Invariant.STATE_MACHINE_SAFETY);
    this.store.compact(snapshot);
    this.sm.trimBefore(index);
  }
}
