/**
 * Three real `brook server` processes form one Raft quorum over loopback gRPC, each on its own
 * LevelDB (issue item 7). Entries go in through RaftPeer.Propose at whichever node leads; every
 * check compares the nodes' applied index and digest (DescribeCluster's quorum section), which
 * are equal only when the nodes applied the same entries in the same order.
 *
 * 1. SIGKILL the leader: the other two elect a new one, which commits further proposals; the
 *    killed node, restarted, catches up from the log.
 * 2. With a small raft.snapshot.entries, stop a follower, commit far past a snapshot (so the
 *    leader's log no longer holds what the follower lacks), restart it: it catches up through
 *    InstallSnapshot and lands on the same digest.
 * Timeouts are shortened (20 ms ticks) only to keep the test quick; the benchmark measures
 * failover with the defaults.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, type BrokerProcess } from '../../helpers/broker-process.js';
import {
  appliedState,
  closeRaftClients,
  describeCluster,
  propose,
  raftStatus,
  waitForConvergence,
  waitForLeader,
} from '../../helpers/raft.js';

const FAST_RAFT = [
  '--raft-tick-ms',
  '20',
  '--raft-election-timeout-ms',
  '400',
  '--raft-heartbeat-interval-ms',
  '40',
];
const WAIT_MS = 20_000;
const ENTRY_BYTES = 100;

let nodes: BrokerProcess[] = [];

afterEach(async () => {
  closeRaftClients();
  await Promise.all(nodes.map((n) => n.cleanup()));
  nodes = [];
});

/** Proposes `requests` requests of `perRequest` random entries each; the last index committed. */
async function proposeMany(
  cluster: readonly BrokerProcess[],
  requests: number,
  perRequest: number,
): Promise<{ lastIndex: number; term: number }> {
  let last = { lastIndex: 0, term: 0 };
  for (let i = 0; i < requests; i++) {
    const entries = Array.from({ length: perRequest }, () => randomBytes(ENTRY_BYTES));
    const answer = await propose(cluster, entries, WAIT_MS);
    expect(answer.lastIndex - answer.firstIndex + 1).toBe(perRequest);
    last = { lastIndex: answer.lastIndex, term: answer.term };
  }
  return last;
}

describe('a 3-node Raft quorum of real processes', () => {
  it('elects a new leader when the leader is killed, and the restarted node catches up', async () => {
    nodes = await startCluster(3, { extraArgs: FAST_RAFT });
    const leader = await waitForLeader(nodes, WAIT_MS);
    const before = await proposeMany(nodes, 10, 10);
    await waitForConvergence(nodes, before.lastIndex, WAIT_MS);

    await leader.kill('SIGKILL');
    const survivors = nodes.filter((n) => n !== leader);
    const successor = await waitForLeader(survivors, WAIT_MS);
    expect(successor.nodeId).not.toBe(leader.nodeId);
    const after = await proposeMany(survivors, 10, 10);
    expect(after.term).toBeGreaterThan(before.term);
    expect(after.lastIndex).toBeGreaterThan(before.lastIndex + 100);
    // Each node logs its role changes; the successor says it became leader.
    expect(successor.output()).toMatch(/"role":"leader".*"msg":"raft role changed"/);

    await leader.restart();
    const states = await waitForConvergence(nodes, after.lastIndex, WAIT_MS);
    expect(new Set(states.map((s) => s.digest)).size).toBe(1);
    // It caught up from the log: with 10,000 entries per snapshot nobody has snapshotted.
    expect(states.every((s) => s.snapshotIndex === 0)).toBe(true);

    // The leader sees every member in sync, and says so in DescribeCluster.
    const quorum = (await describeCluster(successor)).quorum;
    expect(quorum?.leaderId).toBe(successor.nodeId);
    expect(quorum?.members.map((m) => m.nodeId)).toEqual([1, 2, 3]);
    for (const member of quorum?.members ?? []) {
      expect(member.replication?.matchIndex).toBeGreaterThanOrEqual(after.lastIndex);
    }
    for (const node of nodes) expect(node.errorLines()).toEqual([]);
  });

  it('a follower that missed more than the log holds catches up through InstallSnapshot', async () => {
    nodes = await startCluster(3, {
      extraArgs: [...FAST_RAFT, '--raft-snapshot-entries', '100'],
    });
    const leader = await waitForLeader(nodes, WAIT_MS);
    const first = await proposeMany(nodes, 5, 10);
    await waitForConvergence(nodes, first.lastIndex, WAIT_MS);
    const follower = nodes.find((n) => n !== leader)!;
    const stoppedAt = await appliedState(follower);
    const exit = await follower.stop();
    expect(exit?.code).toBe(0);

    const second = await proposeMany(nodes, 50, 10);
    const leaderStatus = await raftStatus(leader);
    // The leader has snapshotted past everything the follower holds, so its log cannot serve it.
    expect(leaderStatus.snapshotIndex).toBeGreaterThan(stoppedAt.appliedIndex + 1);

    await follower.restart();
    const states = await waitForConvergence(nodes, second.lastIndex, WAIT_MS);
    const caughtUp = states.find((s) => s.nodeId === follower.nodeId)!;
    expect(caughtUp.snapshotIndex).toBeGreaterThan(stoppedAt.appliedIndex);
    expect(follower.output()).toMatch(/"msg":"restored a snapshot"/);
    for (const node of nodes) expect(node.errorLines()).toEqual([]);
  });
});
