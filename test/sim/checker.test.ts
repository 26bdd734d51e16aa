/**
 * How it works: the simulator's parts are tested on hand-made situations before they are
 * trusted with random ones. The checker is fed the reports a broken cluster would produce (two
 * leaders in a term, divergent entries, a forgotten vote, a leader missing a committed entry)
 * and must throw the right SimViolation; the network, event queue and store are checked
 * against their contracts with fixed seeds.
 */
import { describe, expect, it } from 'vitest';
import { EntryType, NO_NODE, Role, type Entry } from '../../src/raft/types.js';
import { SeededRng } from '../../src/util/rng.js';
import { Checker, Invariant, SimViolation } from './checker.js';
import { EventQueue } from './event-queue.js';
import { CALM_PROFILE, SimNetwork } from './network.js';
import { runSeed } from './run.js';
import { SimStore } from './sim-store.js';
import { encodeImage, HASH_EMPTY, SimStateMachine } from './state-machine.js';

const encoder = new TextEncoder();

function entry(index: number, term: number, text: string): Entry {
  return { index, term, type: EntryType.NORMAL, data: encoder.encode(text) };
}

function violationOf(action: () => void): string | null {
  try {
    action();
  } catch (error: unknown) {
    if (error instanceof SimViolation) return error.invariant;
    throw error;
  }
  return null;
}

describe('checker', () => {
  it('flags two leaders in one term (election safety, §5.2)', () => {
    const checker = new Checker();
    expect(checker.observeRole(0, Role.LEADER, 3)).toBe(true);
    expect(checker.observeRole(0, Role.LEADER, 3)).toBe(false);
    expect(checker.observeRole(1, Role.FOLLOWER, 3)).toBe(false);
    expect(checker.observeRole(1, Role.LEADER, 4)).toBe(true);
    expect(violationOf(() => checker.observeRole(2, Role.LEADER, 3))).toBe(
      Invariant.ELECTION_SAFETY,
    );
  });

  it('flags two nodes committing different entries at one index (state machine safety)', () => {
    const checker = new Checker();
    checker.observeCommitted(0, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
    checker.observeCommitted(1, [entry(1, 1, 'a')]);
    expect(violationOf(() => checker.observeCommitted(2, [entry(2, 2, 'b')]))).toBe(
      Invariant.STATE_MACHINE_SAFETY,
    );
    expect(violationOf(() => checker.observeCommitted(2, [entry(2, 1, 'x')]))).toBe(
      Invariant.STATE_MACHINE_SAFETY,
    );
  });

  it('flags an applied state that differs from the committed one', () => {
    const checker = new Checker();
    checker.observeCommitted(0, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
    const good = new SimStateMachine();
    good.apply(entry(1, 1, 'a'));
    checker.observeApplied(0, 1, good.hash);
    const bad = new SimStateMachine();
    bad.apply(entry(1, 1, 'z'));
    expect(violationOf(() => checker.observeApplied(1, 1, bad.hash))).toBe(
      Invariant.STATE_MACHINE_SAFETY,
    );
    expect(violationOf(() => checker.observeApplied(1, 3, HASH_EMPTY))).toBe(
      Invariant.STATE_MACHINE_SAFETY,
    );
  });

  it('flags equal (index, term) with different content or different predecessors (log matching)', () => {
    const checker = new Checker();
    checker.observeStoredEntries(0, [entry(1, 1, 'a'), entry(2, 2, 'b')], 0);
    checker.observeStoredEntries(1, [entry(2, 2, 'b')], 1);
    expect(violationOf(() => checker.observeStoredEntries(2, [entry(2, 2, 'c')], 1))).toBe(
      Invariant.LOG_MATCHING,
    );
    expect(violationOf(() => checker.observeStoredEntries(2, [entry(2, 2, 'b')], 0))).toBe(
      Invariant.LOG_MATCHING,
    );
  });

  it('flags a stored vote that changes within a term, unless that check is off', () => {
    const strict = new Checker();
    const before = { term: 4, vote: 1, commit: 0 };
    strict.observeHardState(0, before, { term: 4, vote: 1, commit: 2 });
    strict.observeHardState(0, before, { term: 5, vote: 2, commit: 2 });
    expect(
      violationOf(() => strict.observeHardState(0, before, { term: 4, vote: 2, commit: 0 })),
    ).toBe(Invariant.DURABLE_STATE);
    expect(
      violationOf(() => strict.observeHardState(0, before, { term: 3, vote: NO_NODE, commit: 0 })),
    ).toBe(Invariant.DURABLE_STATE);
    const lax = new Checker({ voteCheck: false });
    expect(
      violationOf(() => lax.observeHardState(0, before, { term: 4, vote: 2, commit: 0 })),
    ).toBeNull();
  });

  it('flags a new leader whose log lacks an entry committed before its election (§5.4)', () => {
    const checker = new Checker();
    checker.observeCommitted(0, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
    checker.observeRole(1, Role.LEADER, 2);
    const store = new SimStore();
    store.appendEntries([entry(1, 1, 'a'), entry(2, 1, 'x'), entry(3, 2, '')]);
    expect(violationOf(() => checker.observeLeaderLog(1, [entry(3, 2, '')], store))).toBe(
      Invariant.LEADER_COMPLETENESS,
    );
    // A leader whose no-op lands on a committed index is caught even with its log compacted.
    checker.observeRole(2, Role.LEADER, 3);
    const short = new SimStore();
    short.appendEntries([entry(1, 1, 'a'), entry(2, 3, '')]);
    expect(violationOf(() => checker.observeLeaderLog(2, [entry(2, 3, '')], short))).toBe(
      Invariant.LEADER_COMPLETENESS,
    );
  });

  it('accepts a leader holding the committed log, and a snapshot of the committed state', () => {
    const checker = new Checker();
    checker.observeCommitted(0, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
    checker.observeRole(1, Role.LEADER, 2);
    const store = new SimStore();
    store.appendEntries([entry(1, 1, 'a'), entry(2, 1, 'b'), entry(3, 2, '')]);
    checker.observeLeaderLog(1, [entry(3, 2, '')], store);
    const sm = new SimStateMachine();
    sm.apply(entry(1, 1, 'a'));
    sm.apply(entry(2, 1, 'b'));
    const confState = { voters: [], observers: [] };
    const snapshot = { meta: { index: 2, term: 1, confState }, data: encodeImage(sm.imageAt(2)) };
    checker.checkSnapshot(1, snapshot, Invariant.STATE_MACHINE_SAFETY);
    const wrong = {
      meta: { index: 2, term: 1, confState },
      data: encodeImage({ index: 2, hash: 7 }),
    };
    expect(violationOf(() => checker.checkSnapshot(1, wrong, Invariant.STATE_MACHINE_SAFETY))).toBe(
      Invariant.STATE_MACHINE_SAFETY,
    );
  });

  it('flags a voter that lost committed entries at the end of a run', () => {
    const checker = new Checker();
    checker.observeCommitted(0, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
    expect(violationOf(() => checker.checkNothingLost(1, { index: 1, hash: 0 }, 2))).toBe(
      Invariant.COMMITTED_NEVER_LOST,
    );
  });
});

describe('network model', () => {
  it('cuts links across partition groups both ways, keeps them within groups and at bridges', () => {
    const network = new SimNetwork(5, new SeededRng(1));
    network.partition(
      [
        [0, 1],
        [2, 3],
      ],
      [4],
    );
    expect(network.isCut(0, 2)).toBe(true);
    expect(network.isCut(3, 1)).toBe(true);
    expect(network.isCut(0, 1)).toBe(false);
    expect(network.isCut(2, 3)).toBe(false);
    expect(network.isCut(4, 0)).toBe(false);
    expect(network.isCut(2, 4)).toBe(false);
    network.heal();
    expect(network.isCut(0, 2)).toBe(false);
  });

  it('cuts one way only, and isolates a node from everyone', () => {
    const network = new SimNetwork(3, new SeededRng(1));
    network.cutOneWay(0, 1);
    expect(network.isCut(0, 1)).toBe(true);
    expect(network.isCut(1, 0)).toBe(false);
    expect(network.fate(0, 1)).toEqual([]);
    network.heal();
    network.isolate(2);
    expect([
      network.isCut(2, 0),
      network.isCut(0, 2),
      network.isCut(1, 2),
      network.isCut(0, 1),
    ]).toEqual([true, true, true, false]);
  });

  it('loses, duplicates and delays messages as the profile says', () => {
    const network = new SimNetwork(2, new SeededRng(7));
    network.profile = { ...CALM_PROFILE, lossProbability: 1 };
    expect(network.fate(0, 1)).toEqual([]);
    network.profile = { ...CALM_PROFILE, duplicateProbability: 1 };
    expect(network.fate(0, 1).length).toBe(3);
    network.profile = { ...CALM_PROFILE, delayMsMin: 5, delayMsMean: 1 };
    let reordered = false;
    let previous = 0;
    for (let i = 0; i < 100; i++) {
      const [delay] = network.fate(0, 1);
      expect(delay).toBeGreaterThanOrEqual(5);
      if (delay !== undefined && delay < previous) reordered = true;
      previous = delay ?? 0;
    }
    expect(reordered).toBe(true);
  });
});

describe('event queue and store', () => {
  it('pops events by time, and events at the same time in scheduling order', () => {
    const queue = new EventQueue<string>();
    queue.push(5, 'c');
    queue.push(1, 'a');
    queue.push(5, 'd');
    queue.push(2, 'b');
    queue.push(5, 'e');
    const order: string[] = [];
    while (queue.size > 0) order.push(queue.pop().item);
    expect(order).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('truncates the stored suffix before appending, and compacts behind a snapshot', () => {
    const store = new SimStore();
    store.appendEntries([entry(1, 1, 'a'), entry(2, 1, 'b'), entry(3, 1, 'c')]);
    store.appendEntries([entry(2, 2, 'x')]);
    expect(store.lastIndex).toBe(2);
    expect(store.termAt(2)).toBe(2);
    const confState = { voters: [], observers: [] };
    store.compact({ meta: { index: 1, term: 1, confState }, data: new Uint8Array(0) });
    expect(store.entryAt(1)).toBeUndefined();
    expect(store.termAt(1)).toBe(1);
    expect(store.restoredState().entries.map((e) => e.index)).toEqual([2]);
  });
});

describe('determinism', () => {
  it('one seed replays the same history, event for event', () => {
    const options = {
      seed: 42,
      nodes: 3,
      variant: 'production',
      chaosTicks: 300,
      trace: false,
      voteCheck: true,
    } as const;
    const first = runSeed(options);
    const second = runSeed(options);
    expect(first.violation).toBeNull();
    expect(second.stats).toEqual(first.stats);
    expect(second.traceTail).toEqual(first.traceTail);
    expect(first.stats.committed).toBeGreaterThan(0);
  });
});
