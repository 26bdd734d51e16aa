/**
 * RaftNode end to end (src/raft/io/driver.ts): three nodes in this process, each with its own
 * temp LevelDB and grpc.Server on 127.0.0.1, a state machine that chains SHA-256 over every
 * applied entry, and short ticks (20 ms). The tests elect a leader, replicate, lose and restart
 * nodes, catch a node up through InstallSnapshot, move leadership, change membership, restart
 * with other voters (refused, store untouched) or moved ones, and check the error contract. After each scenario, every node must have applied the same sequence
 * (same chained hash at the same index, same payloads): Raft's State Machine Safety (§5.4.3).
 */
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerError } from '../../../src/errors/index.js';
import { brookV1Peer } from '../../../src/proto/index.js';
import { RaftBootstrapError } from '../../../src/raft/io/bootstrap.js';
import { RaftNode, type StateMachine } from '../../../src/raft/io/driver.js';
import { statusFromProto } from '../../../src/raft/io/wire.js';
import {
  ConfChangeType,
  EntryType,
  NO_NODE,
  Role,
  type Entry,
  type Member,
  type NodeId,
  type Snapshot,
} from '../../../src/raft/types.js';
import {
  eventually,
  freePort,
  peerServiceOf,
  recordingLogger,
  removeDirs,
  startServer,
  stopServer,
  tempDir,
  type LogLine,
} from './helpers.js';

type Db = ClassicLevel<Buffer, Buffer>;

/** Chains SHA-256 over (index, term, type, data) of each applied entry; keeps the payloads. */
class ChainedHashMachine implements StateMachine {
  hash = Buffer.alloc(32);
  lastIndex = 0;
  /** Payloads of non-empty NORMAL entries, in apply order. */
  payloads: string[] = [];
  restores = 0;

  apply(entries: readonly Entry[]): void {
    for (const entry of entries) {
      expect(entry.index).toBe(this.lastIndex + 1);
      const header = Buffer.alloc(17);
      header.writeUInt32BE(Math.floor(entry.index / 2 ** 32), 0);
      header.writeUInt32BE(entry.index >>> 0, 4);
      header.writeUInt32BE(entry.term, 8);
      header.writeUInt8(entry.type, 16);
      this.hash = createHash('sha256').update(this.hash).update(header).update(entry.data).digest();
      this.lastIndex = entry.index;
      if (entry.type === EntryType.NORMAL && entry.data.length > 0) {
        this.payloads.push(Buffer.from(entry.data).toString());
      }
    }
  }

  snapshot(): Uint8Array {
    return Buffer.from(
      JSON.stringify({
        hash: this.hash.toString('hex'),
        lastIndex: this.lastIndex,
        payloads: this.payloads,
      }),
    );
  }

  restore(snapshot: Snapshot): void {
    const state = JSON.parse(Buffer.from(snapshot.data).toString()) as {
      hash: string;
      lastIndex: number;
      payloads: string[];
    };
    expect(state.lastIndex).toBe(snapshot.meta.index);
    this.hash = Buffer.from(state.hash, 'hex');
    this.lastIndex = state.lastIndex;
    this.payloads = state.payloads;
    this.restores++;
  }
}

interface TestNode {
  readonly id: NodeId;
  readonly dir: string;
  readonly port: number;
  readonly address: string;
  node: RaftNode;
  server: grpc.Server;
  db: Db;
  sm: ChainedHashMachine;
  lines: LogLine[];
  fatal: unknown[];
  isOpen: boolean;
}

const TIMING = { tickMs: 20, electionTicks: 10, heartbeatTicks: 2 };

const dirs: string[] = [];
const nodes: TestNode[] = [];

afterEach(async () => {
  for (const n of nodes.splice(0)) await stopNode(n);
  await removeDirs(dirs);
});

interface ClusterOptions {
  readonly snapshotEntries?: number;
  readonly proposeTimeoutMs?: number;
}

async function openNode(
  id: NodeId,
  dir: string,
  port: number,
  voters: readonly Member[],
  options: ClusterOptions = {},
): Promise<TestNode> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  await db.open({ createIfMissing: true, errorIfExists: false });
  const { logger, lines } = recordingLogger();
  const sm = new ChainedHashMachine();
  const fatal: unknown[] = [];
  const node = await RaftNode.open({
    id,
    clusterId: 'test-cluster',
    db,
    initialVoters: voters,
    stateMachine: sm,
    logger,
    onFatal: (error) => fatal.push(error),
    ...TIMING,
    snapshotEntries: options.snapshotEntries ?? 10_000,
    snapshotChunkBytes: 1024,
    appendBytesMax: 64 * 1024,
    inflightAppendsMax: 8,
    uncommittedBytesMax: 4 * 1024 * 1024,
    seed: id * 1_000 + port,
    ...(options.proposeTimeoutMs === undefined
      ? {}
      : { proposeTimeoutMs: options.proposeTimeoutMs }),
  });
  const { server } = await startServer([peerServiceOf(node.peer, logger)], port);
  node.start();
  const started: TestNode = {
    id,
    dir,
    port,
    address: `127.0.0.1:${port}`,
    node,
    server,
    db,
    sm,
    lines,
    fatal,
    isOpen: true,
  };
  nodes.push(started);
  return started;
}

/** Closes the node like a controlled stop: raft first, then the server, then the store. */
async function stopNode(n: TestNode): Promise<void> {
  if (!n.isOpen) return;
  n.isOpen = false;
  await n.node.close();
  stopServer(n.server);
  await n.db.close();
}

async function restart(
  n: TestNode,
  voters: readonly Member[],
  options: ClusterOptions = {},
): Promise<TestNode> {
  const index = nodes.indexOf(n);
  if (index >= 0) nodes.splice(index, 1);
  return openNode(n.id, n.dir, n.port, voters, options);
}

async function startCluster(
  size: number,
  options: ClusterOptions = {},
): Promise<{ cluster: TestNode[]; voters: Member[] }> {
  const voters: Member[] = [];
  for (let id = 1; id <= size; id++) voters.push({ id, address: `127.0.0.1:${await freePort()}` });
  const cluster: TestNode[] = [];
  for (const voter of voters) {
    const dir = await tempDir(dirs, `brook-raft-node${voter.id}-`);
    cluster.push(
      await openNode(voter.id, dir, Number(voter.address.split(':')[1]), voters, options),
    );
  }
  return { cluster, voters };
}

/** The one node every open node agrees leads. */
async function leaderOf(cluster: readonly TestNode[]): Promise<TestNode> {
  let leader: TestNode | undefined;
  await eventually(
    'an agreed leader',
    () => {
      const open = cluster.filter((n) => n.isOpen);
      const leaders = open.filter((n) => n.node.status().role === Role.LEADER);
      if (leaders.length !== 1) return false;
      leader = leaders[0]!;
      return open.every((n) => n.node.status().leader === leader!.id);
    },
    15_000,
  );
  return leader!;
}

async function proposeMany(leader: TestNode, prefix: string, count: number, perCall: number) {
  const calls = [];
  for (let i = 0; i < count; i += perCall) {
    const entries = [];
    for (let j = i; j < Math.min(count, i + perCall); j++)
      entries.push(Buffer.from(`${prefix}-${j}`));
    calls.push(leader.node.propose(entries));
  }
  return Promise.all(calls);
}

/** Every open node applied through `index`, and all agree on the chained hash there. */
async function converged(cluster: readonly TestNode[], index?: number): Promise<void> {
  const open = cluster.filter((n) => n.isOpen);
  await eventually(
    'all nodes applied the same log',
    () => {
      const target = index ?? Math.max(...open.map((n) => n.node.status().commitIndex));
      return open.every((n) => n.sm.lastIndex >= target && n.node.status().appliedIndex >= target);
    },
    20_000,
  );
  const reference = open[0]!;
  for (const n of open) {
    // Nodes may have applied a little further meanwhile; compare at equal lengths.
    const length = Math.min(n.sm.payloads.length, reference.sm.payloads.length);
    expect(n.sm.payloads.slice(0, length)).toEqual(reference.sm.payloads.slice(0, length));
    if (n.sm.lastIndex === reference.sm.lastIndex)
      expect(n.sm.hash.equals(reference.sm.hash)).toBe(true);
  }
}

/** Every key and value in `db`, hex-encoded, in key order. */
async function dump(db: Db): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const [key, value] of db.iterator())
    out.push([key.toString('hex'), value.toString('hex')]);
  return out;
}

/** Timers alive in this process (the tick timer and proposal timeouts would show up here). */
function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

function rpcClient(address: string) {
  return new (brookV1Peer().RaftPeer)(address, grpc.credentials.createInsecure());
}

describe('RaftNode', () => {
  it('elects one leader and replicates 1000 proposals identically to all three nodes', async () => {
    const { cluster } = await startCluster(3);
    const leader = await leaderOf(cluster);
    const results = await proposeMany(leader, 'a', 1000, 10);
    // Each call's entries are contiguous, and the calls together cover 1000 distinct indexes.
    const indexes = new Set<number>();
    for (const r of results) {
      expect(r.lastIndex - r.firstIndex).toBe(9);
      for (let i = r.firstIndex; i <= r.lastIndex; i++) indexes.add(i);
    }
    expect(indexes.size).toBe(1000);
    await converged(cluster, Math.max(...results.map((r) => r.lastIndex)));
    for (const n of cluster) {
      expect(n.sm.payloads).toHaveLength(1000);
      expect([...n.sm.payloads].sort()).toEqual(
        Array.from({ length: 1000 }, (_, i) => `a-${i}`).sort(),
      );
      expect(n.fatal).toEqual([]);
    }
    // Role changes are logged at info with role, term and leader.
    const roleLine = leader.lines.find(
      (l) => l.msg === 'raft role changed' && l['role'] === Role.LEADER,
    );
    expect(roleLine).toMatchObject({
      level: 30,
      component: 'raft',
      term: expect.any(Number),
      leader: leader.id,
    });
  });

  it('refuses proposals on a follower with NOT_CONTROLLER and the leader address, also over gRPC', async () => {
    const { cluster } = await startCluster(3);
    const leader = await leaderOf(cluster);
    const follower = cluster.find((n) => n !== leader)!;
    const error = await follower.node.propose([Buffer.from('x')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('NOT_CONTROLLER');
    expect((error as BrokerError).retriable).toBe(true);
    expect((error as BrokerError).leader).toEqual({ nodeId: leader.id, address: leader.address });

    const client = rpcClient(follower.address);
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const empty = Buffer.from('{"v":1,"records":[]}');
      client.Propose({ entries: [empty] }, { deadline: Date.now() + 5_000 }, (e) =>
        resolve(e as grpc.StatusObject),
      );
    });
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.metadata.get('brook-error-code')).toEqual(['NOT_CONTROLLER']);
    expect(status.metadata.get('brook-leader-id')).toEqual([String(leader.id)]);
    expect(status.metadata.get('brook-leader-address')).toEqual([leader.address]);
    client.close();

    const leaderClient = rpcClient(leader.address);
    const answer = await new Promise<{ firstIndex: number; lastIndex: number }>(
      (resolve, reject) => {
        leaderClient.Propose(
          {
            entries: [
              Buffer.from('{"v":1,"records":[],"pad":"p1"}'),
              Buffer.from('{"v":1,"records":[],"pad":"p2"}'),
            ],
          },
          { deadline: Date.now() + 5_000 },
          (e, r) => (e === null ? resolve(r!) : reject(e)),
        );
      },
    );
    expect(answer.lastIndex - answer.firstIndex).toBe(1);
    const empty = await new Promise<grpc.StatusObject>((resolve) => {
      leaderClient.Propose({ entries: [] }, { deadline: Date.now() + 5_000 }, (e) =>
        resolve(e as grpc.StatusObject),
      );
    });
    expect(empty.code).toBe(grpc.status.INVALID_ARGUMENT);
    // Only empty metadata entries: records are the controller's to write.
    const records = await new Promise<grpc.StatusObject>((resolve) => {
      const entry = Buffer.from('{"v":1,"records":[{"type":"TopicRecord","version":1}]}');
      leaderClient.Propose({ entries: [entry] }, { deadline: Date.now() + 5_000 }, (e) =>
        resolve(e as grpc.StatusObject),
      );
    });
    expect(records.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(records.details).toMatch(/entries\[0\].*controller/);
    const raw = await new Promise<Parameters<typeof statusFromProto>[0]>((resolve, reject) => {
      leaderClient.RaftStatus({}, { deadline: Date.now() + 5_000 }, (e, r) =>
        e === null ? resolve(r!) : reject(e),
      );
    });
    const status2 = statusFromProto(raw);
    expect(status2).toMatchObject({
      id: leader.id,
      role: Role.LEADER,
      leader: leader.id,
      leaderAddress: leader.address,
    });
    expect(status2.peers.map((p) => p.id).sort()).toEqual(
      cluster
        .filter((n) => n !== leader)
        .map((n) => n.id)
        .sort(),
    );
    expect(status2.appliedIndex).toBeGreaterThanOrEqual(answer.lastIndex);
    leaderClient.close();
  });

  it('survives the loss of the leader, and the old leader catches up after a restart', async () => {
    const { cluster, voters } = await startCluster(3);
    const first = await leaderOf(cluster);
    await proposeMany(first, 'b', 100, 10);
    await stopNode(first);
    const second = await leaderOf(cluster);
    expect(second.id).not.toBe(first.id);
    const results = await proposeMany(second, 'c', 200, 20);
    const reopened = await restart(first, voters);
    const all = [...cluster.filter((n) => n !== first), reopened];
    await converged(all, Math.max(...results.map((r) => r.lastIndex)));
    expect(reopened.sm.payloads.filter((p) => p.startsWith('c-'))).toHaveLength(200);
    expect(reopened.sm.payloads.filter((p) => p.startsWith('b-'))).toHaveLength(100);
  });

  it('catches a lagging node up through InstallSnapshot when the log it needs is compacted', async () => {
    const options = { snapshotEntries: 20 };
    const { cluster, voters } = await startCluster(3, options);
    const leader = await leaderOf(cluster);
    const lagging = cluster.find((n) => n !== leader)!;
    await proposeMany(leader, 'd', 10, 5);
    await converged(cluster);
    const laggingLastIndex = lagging.node.status().lastIndex;
    await stopNode(lagging);
    // Two rounds: the log is compacted with the state serialised one snapshot interval earlier.
    const results = await proposeMany(leader, 'e', 300, 10);
    results.push(...(await proposeMany(leader, 'e2', 30, 10)));
    // The leader compacted past everything the lagging node holds: only a snapshot can help it.
    await eventually('the leader compacted', () => leader.node.stats.snapshotsTaken >= 1);
    expect(leader.node.status().snapshotIndex).toBeGreaterThan(laggingLastIndex + 1);
    const reopened = await restart(lagging, voters, options);
    const all = [...cluster.filter((n) => n !== lagging), reopened];
    await converged(all, Math.max(...results.map((r) => r.lastIndex)));
    // It restored from the leader's snapshot (a Ready snapshot, not its own at open).
    expect(reopened.node.stats.snapshotsRestored).toBeGreaterThanOrEqual(1);
    expect(reopened.lines.some((l) => l.msg === 'restored a snapshot')).toBe(true);
    expect(reopened.sm.payloads.filter((p) => p.startsWith('e-'))).toHaveLength(300);
  });

  it('transfers leadership to the most caught-up voter, or to a chosen one', async () => {
    const { cluster } = await startCluster(3);
    const leader = await leaderOf(cluster);
    await proposeMany(leader, 'f', 20, 5);
    await leader.node.transferLeadership();
    const next = await leaderOf(cluster);
    expect(next.id).not.toBe(leader.id);
    const target = cluster.find((n) => n !== next)!;
    await next.node.transferLeadership(target.id);
    expect((await leaderOf(cluster)).id).toBe(target.id);
    const notLeader = await next.node.transferLeadership().catch((e: unknown) => e);
    expect((notLeader as BrokerError).code).toBe('NOT_CONTROLLER');
    await proposeMany(target, 'g', 20, 5);
    await converged(cluster);
  });

  it('adds an observer through a membership change; it replicates without voting', async () => {
    const { cluster, voters } = await startCluster(3);
    const leader = await leaderOf(cluster);
    await proposeMany(leader, 'h', 30, 10);
    const port = await freePort();
    const observer = await openNode(4, await tempDir(dirs, 'brook-raft-node4-'), port, voters);
    await leader.node.changeMembership({
      type: ConfChangeType.ADD_OBSERVER,
      nodeId: 4,
      address: observer.address,
    });
    await proposeMany(leader, 'i', 30, 10);
    await converged([...cluster, observer]);
    expect(observer.node.status().role).toBe(Role.OBSERVER);
    expect(observer.sm.payloads).toHaveLength(60);
    expect(leader.node.status().confState.observers).toEqual([
      { id: 4, address: observer.address },
    ]);
  });

  it('refuses a restart with other voter ids without writing, and takes a new address for the same id', async () => {
    const { cluster, voters } = await startCluster(1);
    const solo = cluster[0]!;
    await leaderOf(cluster);
    await proposeMany(solo, 'm', 10, 5);
    await converged(cluster);
    // The first start recorded its voters (logged at info).
    expect(solo.lines).toContainEqual(
      expect.objectContaining({ msg: 'recorded the raft bootstrap membership', voters }),
    );
    await stopNode(solo);

    // A second voter that was never there: a start that could form another quorum.
    const db = new ClassicLevel<Buffer, Buffer>(solo.dir, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    await db.open({ createIfMissing: false, errorIfExists: false });
    const before = await dump(db);
    const { logger } = recordingLogger();
    const refused = await RaftNode.open({
      id: solo.id,
      clusterId: 'test-cluster',
      db,
      initialVoters: [...voters, { id: 2, address: '127.0.0.1:1' }],
      stateMachine: new ChainedHashMachine(),
      logger,
      onFatal: () => undefined,
      ...TIMING,
      snapshotEntries: 10_000,
      snapshotChunkBytes: 1024,
      appendBytesMax: 64 * 1024,
      inflightAppendsMax: 8,
      uncommittedBytesMax: 4 * 1024 * 1024,
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RaftBootstrapError);
    expect((refused as RaftBootstrapError).storedVoterIds).toEqual([1]);
    expect((refused as RaftBootstrapError).givenVoterIds).toEqual([1, 2]);
    expect((refused as Error).message).toMatch(
      /^raft\.voters gives voter ids 1,2, but this node's Raft store was bootstrapped with voter ids 1:/,
    );
    expect(await dump(db)).toEqual(before);
    await db.close();

    // The same id at another address: it starts, leads at the new address, keeps its log.
    const port = await freePort();
    const moved = await openNode(solo.id, solo.dir, port, [
      { id: solo.id, address: `127.0.0.1:${port}` },
    ]);
    await leaderOf([moved]);
    expect(moved.node.status().confState.voters).toEqual([{ id: solo.id, address: moved.address }]);
    expect(moved.lines).toContainEqual(
      expect.objectContaining({
        level: 30,
        msg: 'raft voter addresses changed since the last start; the new ones are recorded',
        changes: [{ id: solo.id, stored: solo.address, given: moved.address }],
      }),
    );
    await converged([moved]);
    expect(moved.sm.payloads).toEqual(solo.sm.payloads);
    await proposeMany(moved, 'n', 5, 5);
    // The next start finds the new address recorded: nothing changed, nothing logged.
    await stopNode(moved);
    const again = await openNode(moved.id, moved.dir, moved.port, [
      { id: moved.id, address: moved.address },
    ]);
    expect(again.lines.some((l) => l.msg.startsWith('raft voter addresses changed'))).toBe(false);
    expect(again.lines.some((l) => l.msg === 'recorded the raft bootstrap membership')).toBe(false);
  });

  it('stops and reports a failed write instead of carrying on', async () => {
    const { cluster } = await startCluster(3);
    const leader = await leaderOf(cluster);
    await proposeMany(leader, 'j', 10, 5);
    const db = leader.db as unknown as { batch: () => unknown };
    db.batch = () => ({
      put: () => undefined,
      del: () => undefined,
      write: () => Promise.reject(new Error('simulated fsync failure')),
    });
    const error = await leader.node.propose([Buffer.from('lost')]).catch((e: unknown) => e);
    expect((error as BrokerError).code).toBe('KAFKA_STORAGE_ERROR');
    expect(leader.fatal).toHaveLength(1);
    expect(String(leader.fatal[0])).toMatch(/simulated fsync failure/);
    const later = await leader.node.propose([Buffer.from('later')]).catch((e: unknown) => e);
    expect((later as BrokerError).code).toBe('KAFKA_STORAGE_ERROR');
    // The others elect a new leader without it.
    leader.isOpen = false;
    await leader.node.close();
    stopServer(leader.server);
    await leader.db.close();
    const next = await leaderOf(cluster);
    expect(next.id).not.toBe(leader.id);
    expect(next.node.status().leader).not.toBe(NO_NODE);
  });

  it('a proposal without a quorum times out', async () => {
    const { cluster } = await startCluster(3, { proposeTimeoutMs: 300 });
    const leader = await leaderOf(cluster);
    for (const n of cluster) if (n !== leader) await stopNode(n);
    const timedOut = await leader.node.propose([Buffer.from('k')]).catch((e: unknown) => e);
    expect((timedOut as BrokerError).code).toBe('REQUEST_TIMED_OUT');
    expect((timedOut as BrokerError).message).toMatch(/may still commit/);
  });

  it('close() rejects proposals still waiting for their quorum', async () => {
    const { cluster } = await startCluster(3);
    const leader = await leaderOf(cluster);
    for (const n of cluster) if (n !== leader) await stopNode(n);
    const pending = leader.node.propose([Buffer.from('l')]).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await stopNode(leader);
    const error = (await pending) as BrokerError;
    expect(error.code).toBe('NOT_CONTROLLER');
    expect(error.message).toMatch(/closing/);
  });

  it('close() is idempotent, rejects what is pending and leaves no timers', async () => {
    const timersBefore = activeTimers();
    const { cluster } = await startCluster(1);
    const solo = cluster[0]!;
    await leaderOf(cluster);
    const answer = await solo.node.propose([Buffer.from('solo')]);
    expect(answer.firstIndex).toBeGreaterThan(0);
    await Promise.all([solo.node.close(), solo.node.close()]);
    const refused = await solo.node.propose([Buffer.from('after')]).catch((e: unknown) => e);
    expect((refused as BrokerError).code).toBe('NOT_CONTROLLER');
    await stopNode(solo);
    expect(activeTimers()).toBeLessThanOrEqual(timersBefore);
  });
});
