/**
 * Hand-driven tests of the pure Raft core, each naming the section of the Raft paper (or
 * Ongaro's thesis) it checks. A synchronous in-memory network (harness.ts) delivers messages
 * in rounds; tests cut links with `net.drop` and crash nodes by dropping their core while
 * keeping what they persisted.
 */
import { describe, expect, it } from 'vitest';
import { ConfChangeType, MessageType, NO_NODE, Role } from '../../../src/raft/types.js';
import { bytes, Net, voters } from './harness.js';

const leaderOf = (net: Net) =>
  [...net.cores.values()].filter((c) => c.status().role === Role.LEADER).map((c) => c.id);

describe('leader election (§5.2)', () => {
  it('elects exactly one leader when a timer fires, and every node learns it', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    expect(leaderOf(net)).toEqual([1]);
    net.tickAll(2);
    for (const core of net.cores.values()) expect(core.status().leader).toBe(1);
    expect(net.core(1).status().term).toBe(1);
  });

  it('elects someone through randomised timeouts alone', () => {
    const net = new Net(voters(1, 2, 3, 4, 5));
    for (let i = 0; i < 40 && leaderOf(net).length === 0; i++) net.tickAll();
    expect(leaderOf(net)).toHaveLength(1);
  });

  it('a single voter leads and commits on its own', () => {
    const net = new Net(voters(7));
    net.tickAll(25);
    expect(leaderOf(net)).toEqual([7]);
    expect(net.core(7).propose(bytes('a')).ok).toBe(true);
    net.deliver();
    expect(net.appliedData(7)).toEqual(['a']);
  });

  it('refuses a vote to a candidate whose log is behind (§5.4.1)', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    net.drop = (m) => m.to === 3;
    net.core(1).propose(bytes('x'));
    net.deliver();
    net.drop = () => false;
    net.crash(1);
    net.tick(3, 30); // 3 campaigns with a shorter log: 2 refuses
    net.deliver();
    expect(net.core(3).status().role).not.toBe(Role.LEADER);
  });

  it('does not vote twice in a term, even across a restart (§5.2, hard state)', () => {
    const net = new Net(voters(1, 2, 3));
    net.core(2).step({
      type: MessageType.VOTE,
      from: 1,
      to: 2,
      term: 5,
      lastLogIndex: 0,
      lastLogTerm: 0,
      transfer: false,
    });
    net.flush();
    net.crash(2);
    net.start(2);
    net.queue.length = 0;
    net.core(2).step({
      type: MessageType.VOTE,
      from: 3,
      to: 2,
      term: 5,
      lastLogIndex: 0,
      lastLogTerm: 0,
      transfer: false,
    });
    net.flush();
    const answer = net.queue.find((m) => m.type === MessageType.VOTE_RESPONSE && m.to === 3);
    expect(answer).toMatchObject({ granted: false });
    expect(net.core(2).status().vote).toBe(1);
  });
});

describe('pre-vote and check-quorum (thesis §9.6)', () => {
  it('a node cut off and rejoining does not raise the healthy cluster’s term', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    const term = net.core(1).status().term;
    net.drop = (m) => m.to === 3 || m.from === 3;
    for (let i = 0; i < 60; i++) net.tickAll();
    expect(net.core(3).status().term).toBe(term); // pre-votes failed: no term inflation
    net.drop = () => false;
    net.tickAll(5);
    expect(net.core(1).status().role).toBe(Role.LEADER);
    expect(net.core(1).status().term).toBe(term);
  });

  it('a leader that cannot reach a majority steps down', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    net.drop = (m) => m.from === 1 || m.to === 1;
    net.tickAll(25);
    expect(net.core(1).status().role).toBe(Role.FOLLOWER);
    expect(net.core(1).propose(bytes('late'))).toMatchObject({ ok: false, reason: 'not-leader' });
  });

  it('followers in a live lease ignore a higher-term vote request', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    net.core(2).step({
      type: MessageType.VOTE,
      from: 3,
      to: 2,
      term: 9,
      lastLogIndex: 99,
      lastLogTerm: 9,
      transfer: false,
    });
    expect(net.core(2).status().term).toBe(1);
  });
});

describe('log replication (§5.3)', () => {
  it('replicates, commits and applies in order on every node', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    for (let i = 0; i < 50; i++) net.core(1).propose(bytes(`v${i}`));
    net.deliver();
    net.tickAll(2);
    const expected = Array.from({ length: 50 }, (_, i) => `v${i}`);
    for (const id of [1, 2, 3]) expect(net.appliedData(id)).toEqual(expected);
  });

  it('commits with a majority while one follower is down, and the follower catches up', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    net.crash(3);
    for (let i = 0; i < 20; i++) net.core(1).propose(bytes(`v${i}`));
    net.deliver();
    expect(net.appliedData(1)).toHaveLength(20);
    net.start(3);
    net.tickAll(3);
    expect(net.appliedData(3)).toHaveLength(20);
  });

  it('a follower with conflicting uncommitted entries is repaired (§5.3, fig. 7)', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    net.drop = (m) => m.from === 1 && m.to !== 1;
    net.core(1).propose(bytes('lost-1'));
    net.core(1).propose(bytes('lost-2'));
    net.deliver();
    net.crash(1);
    net.drop = () => false;
    for (let i = 0; i < 60 && leaderOf(net).length === 0; i++) net.tickAll();
    const [leader] = leaderOf(net);
    expect(net.core(leader!).propose(bytes('kept')).ok).toBe(true);
    net.deliver();
    net.start(1);
    net.tickAll(5);
    expect(net.appliedData(1)).toEqual(['kept']);
    expect(net.stores.get(1)!.entries.map((e) => e.term)).toEqual(
      net.stores.get(leader!)!.entries.map((e) => e.term),
    );
  });

  it('pipelines at most inflightAppendsMax Appends to a silent follower', () => {
    const net = new Net(voters(1, 2, 3), { appendBytesMax: 1, inflightAppendsMax: 3 });
    net.elect(1);
    net.tickAll(1);
    net.drop = (m) => m.from === 2 && m.to === 1; // 2 never answers
    for (let i = 0; i < 10; i++) {
      net.core(1).propose(bytes(`e${i}`));
      net.flush();
    }
    const appendsTo2 = net.queue.filter(
      (m) => m.type === MessageType.APPEND && m.to === 2 && m.entries.length > 0,
    );
    expect(appendsTo2.length).toBeLessThanOrEqual(3);
  });
});

describe('the commit rule (§5.4.2, figure 8)', () => {
  it('an entry of an earlier term is not committed by counting replicas', () => {
    // Figure 8: 'old' (term 1) reaches 1 and 2; an interim leader appears and vanishes before
    // sending anything; 1 returns, leads a later term and copies 'old' to a third node. Three of five
    // hold 'old', yet it must stay uncommitted until an entry of term 3 is on a majority.
    const net = new Net(voters(1, 2, 3, 4, 5), { appendBytesMax: 1 });
    net.elect(1);
    net.tickAll(1);
    net.drop = (m) => m.from === 1 && m.to > 2;
    net.core(1).propose(bytes('old'));
    net.deliver();
    net.crash(1);
    net.drop = (m) =>
      m.from === 2 ||
      m.to === 2 ||
      m.type === MessageType.APPEND ||
      m.type === MessageType.HEARTBEAT;
    for (let i = 0; i < 60 && leaderOf(net).length === 0; i++) net.tickAll();
    const [interim] = leaderOf(net);
    expect([3, 4, 5]).toContain(interim);
    net.crash(interim!);
    net.start(1);
    // Entries of 1's new term reach one follower only; the others get 'old' alone (a probe
    // that finds them without it is let through, so the leader learns they hold it).
    const helper = [3, 4, 5].find((id) => id !== interim)!;
    const holdsOld = (id: number) =>
      net.stores.get(id)!.entries.some((e) => e.index === 2 && e.term === 1);
    net.drop = (m) =>
      m.type === MessageType.APPEND &&
      m.to !== helper &&
      m.entries.some((e) => e.term > 1) &&
      holdsOld(m.to);
    for (let i = 0; i < 5 && net.core(1).status().role !== Role.LEADER; i++) net.elect(1);
    net.tickAll(3);
    const status = net.core(1).status();
    expect(status.role).toBe(Role.LEADER);
    // The leader knows a majority (itself and at least two followers) holds 'old'...
    expect(status.peers.filter((p) => p.matchIndex >= 2).length + 1).toBeGreaterThanOrEqual(3);
    // ...but no entry of its own term is on a majority yet, so nothing new is committed.
    expect(status.commitIndex).toBe(1);
    net.drop = () => false;
    // The dropped pipelined Appends are noticed after two silent heartbeats and resent.
    for (let i = 0; i < 10 && net.core(1).status().commitIndex < 3; i++) net.tickAll();
    expect(net.core(1).status().commitIndex).toBeGreaterThanOrEqual(3);
  });
});

describe('snapshots and InstallSnapshot (§7)', () => {
  it('a follower behind the compacted log catches up through chunks', () => {
    const net = new Net(voters(1, 2, 3), { snapshotChunkBytes: 7 });
    net.elect(1);
    net.crash(3);
    for (let i = 0; i < 30; i++) net.core(1).propose(bytes(`v${i}`));
    net.deliver();
    const applied = net.core(1).status().appliedIndex;
    const snapshot = net.core(1).compact(applied, bytes('state-machine-image-of-some-length'));
    net.compactStore(1, snapshot!);
    net.core(1).propose(bytes('after'));
    net.deliver();
    net.start(3);
    net.tickAll(10);
    expect(net.restored.get(3)?.[0]?.meta.index).toBe(applied);
    expect(new TextDecoder().decode(net.restored.get(3)![0]!.data)).toBe(
      'state-machine-image-of-some-length',
    );
    expect(net.appliedData(3)).toEqual(['after']);
    expect(net.core(3).status().commitIndex).toBe(net.core(1).status().commitIndex);
  });
});

describe('leadership transfer (thesis §3.10)', () => {
  it('TimeoutNow makes the target leader at once', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    net.core(1).propose(bytes('a'));
    net.deliver();
    expect(net.core(1).transferLeadership(3)).toBe(true);
    net.deliver();
    expect(leaderOf(net)).toEqual([3]);
    expect(net.core(3).propose(bytes('b')).ok).toBe(true);
  });

  it('refuses proposals while a transfer is under way', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    net.drop = (m) => m.to === 3;
    net.core(1).transferLeadership(3);
    expect(net.core(1).propose(bytes('x'))).toMatchObject({ ok: false, reason: 'transferring' });
    net.tickAll(12); // the transfer times out
    expect(net.core(1).propose(bytes('y')).ok).toBe(true);
  });
});

describe('observers and membership changes (thesis §4)', () => {
  it('an observer replicates but never votes or campaigns; promotion makes it a voter', () => {
    const conf = { voters: voters(1, 2, 3).voters, observers: [{ id: 4, address: 'n4:1' }] };
    const net = new Net(conf);
    net.elect(1);
    net.core(1).propose(bytes('a'));
    net.deliver();
    net.tickAll(2);
    expect(net.appliedData(4)).toEqual(['a']);
    expect(net.core(4).status().role).toBe(Role.OBSERVER);
    net.tick(4, 100);
    expect(net.core(4).status().role).toBe(Role.OBSERVER);
    expect(
      net
        .core(1)
        .proposeConfChange({ type: ConfChangeType.PROMOTE_OBSERVER, nodeId: 4, address: '' }).ok,
    ).toBe(true);
    net.deliver();
    net.tickAll(2);
    expect(net.core(4).status().role).toBe(Role.FOLLOWER);
    expect(
      net
        .core(1)
        .status()
        .confState.voters.map((m) => m.id),
    ).toEqual([1, 2, 3, 4]);
  });

  it('one change at a time: a second change waits for the first to commit', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    net.drop = (m) => m.from === 1 && m.type === MessageType.APPEND;
    const first = net
      .core(1)
      .proposeConfChange({ type: ConfChangeType.ADD_OBSERVER, nodeId: 4, address: 'n4:1' });
    expect(first.ok).toBe(true);
    expect(
      net.core(1).proposeConfChange({ type: ConfChangeType.REMOVE_VOTER, nodeId: 3, address: '' }),
    ).toMatchObject({ ok: false, reason: 'conf-change-pending' });
  });

  it('a removed leader commits its removal, then steps down; the rest elect a leader', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    net.tickAll(1);
    expect(
      net.core(1).proposeConfChange({ type: ConfChangeType.REMOVE_VOTER, nodeId: 1, address: '' })
        .ok,
    ).toBe(true);
    net.deliver();
    net.tickAll(1);
    expect(net.core(1).status().role).toBe(Role.OBSERVER);
    for (let i = 0; i < 40 && leaderOf(net).length === 0; i++) net.tickAll();
    const [leader] = leaderOf(net);
    expect([2, 3]).toContain(leader);
    expect(
      net
        .core(leader!)
        .status()
        .confState.voters.map((m) => m.id),
    ).toEqual([2, 3]);
  });

  it('rejects invalid changes with a reason', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    net.tickAll(1);
    expect(
      net
        .core(1)
        .proposeConfChange({ type: ConfChangeType.PROMOTE_OBSERVER, nodeId: 9, address: '' }),
    ).toMatchObject({
      ok: false,
      reason: 'invalid-conf-change',
    });
    expect(
      net
        .core(2)
        .proposeConfChange({ type: ConfChangeType.ADD_OBSERVER, nodeId: 9, address: 'x:1' }),
    ).toMatchObject({
      ok: false,
      reason: 'not-leader',
      leader: 1,
    });
  });
});

describe('restart from storage', () => {
  it('a node restarted from its store re-applies what was committed and keeps its term', () => {
    const net = new Net(voters(1, 2, 3));
    net.elect(1);
    for (let i = 0; i < 5; i++) net.core(1).propose(bytes(`v${i}`));
    net.deliver();
    net.tickAll(2);
    const term = net.core(2).status().term;
    net.crash(2);
    net.start(2);
    net.flush();
    expect(net.core(2).status().term).toBe(term);
    expect(net.appliedData(2)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(net.core(2).status().leader).toBe(NO_NODE);
  });
});

describe('InstallSnapshot chunks', () => {
  it('never joins chunks of two leaders’ snapshots of the same index', () => {
    // Leader 1 (term 5) starts a snapshot, leader 2 (term 6) sends its own of the same index:
    // the follower must restart from byte 0 for leader 2, not continue leader 1's bytes.
    const net = new Net(voters(1, 2, 3));
    const follower = net.core(3);
    const meta = { index: 10, term: 4, confState: voters(1, 2, 3) };
    const chunk = (from: number, term: number, offset: number, text: string, total: number) => ({
      type: MessageType.SNAPSHOT,
      from,
      to: 3,
      term,
      meta,
      offset,
      chunk: bytes(text),
      totalBytes: total,
      done: offset + text.length === total,
    });
    follower.step(chunk(1, 5, 0, 'AAAA', 8));
    follower.step(chunk(2, 6, 4, 'BBBBBBBB', 12));
    net.flush();
    const answers = net.queue.filter((m) => m.type === MessageType.SNAPSHOT_RESPONSE && m.to === 2);
    expect(answers).toEqual([expect.objectContaining({ nextOffset: 0, done: false })]);
    follower.step(chunk(2, 6, 0, 'BBBB', 12));
    follower.step(chunk(2, 6, 4, 'CCCCCCCC', 12));
    net.flush();
    expect(new TextDecoder().decode(net.restored.get(3)![0]!.data)).toBe('BBBBCCCCCCCC');
  });
});

describe('InstallSnapshot while the leader compacts again', () => {
  it('finishes sending the snapshot it started, then catches up from the log', () => {
    const net = new Net(voters(1, 2, 3), { snapshotChunkBytes: 4 });
    net.elect(1);
    net.crash(3);
    for (let i = 0; i < 10; i++) net.core(1).propose(bytes(`v${i}`));
    net.deliver();
    const first = net
      .core(1)
      .compact(net.core(1).status().appliedIndex, bytes('first-snapshot-data'))!;
    net.compactStore(1, first);
    net.start(3);
    // Let the transfer start (a few chunks), then compact again on the leader.
    net.tickAll(1);
    net.core(1).propose(bytes('more'));
    net.deliver(2);
    const second = net.core(1).compact(net.core(1).status().appliedIndex, bytes('second'));
    if (second !== null) net.compactStore(1, second);
    net.tickAll(20);
    const restored = net.restored.get(3)!;
    expect(new TextDecoder().decode(restored[0]!.data)).toBe('first-snapshot-data');
    expect(net.core(3).status().commitIndex).toBe(net.core(1).status().commitIndex);
  });
});
