/**
 * Raft helpers for integration tests against real nodes: RaftPeer.Propose to whichever node
 * leads (following NOT_CONTROLLER hints, moving on from dead nodes), RaftStatus, and waiting for
 * every running node to reach the same applied index and digest through DescribeCluster. Every
 * wait is bounded by a deadline and fails with what the nodes last said.
 */
import * as grpc from '@grpc/grpc-js';
import { brookV1Peer } from '../../src/proto/index.js';
import type {
  DescribeClusterResponse__Output,
  ProposeResponse__Output,
  RaftStatusResponse__Output,
} from '../../src/proto/index.js';
import type { BrokerProcess } from './broker-process.js';
import { call, rawClients } from './grpc.js';

type PeerClient = InstanceType<ReturnType<typeof brookV1Peer>['RaftPeer']>;

const POLL_MS = 50;
const CALL_DEADLINE_MS = 5_000;

/** One client per address, closed by closeRaftClients(). */
const clients = new Map<string, PeerClient>();

function peer(address: string): PeerClient {
  let client = clients.get(address);
  if (client === undefined) {
    client = new (brookV1Peer().RaftPeer)(address, grpc.credentials.createInsecure());
    clients.set(address, client);
  }
  return client;
}

export function closeRaftClients(): void {
  for (const client of clients.values()) client.close();
  clients.clear();
}

export function raftStatus(node: BrokerProcess): Promise<RaftStatusResponse__Output> {
  return call<RaftStatusResponse__Output>(peer(node.address), 'RaftStatus', {}, CALL_DEADLINE_MS);
}

export async function describeCluster(
  node: BrokerProcess,
): Promise<DescribeClusterResponse__Output> {
  const c = rawClients(node.address);
  try {
    return await call<DescribeClusterResponse__Output>(c.admin, 'DescribeCluster', {});
  } finally {
    c.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The running node that is leader, once a majority of the running nodes agree on it (so a
 * deposed leader that has not yet heard of its successor is not taken for the leader).
 */
export async function waitForLeader(
  nodes: readonly BrokerProcess[],
  timeoutMs: number,
): Promise<BrokerProcess> {
  const deadline = Date.now() + timeoutMs;
  let last: string[] = [];
  while (Date.now() < deadline) {
    const running = nodes.filter((n) => n.isRunning());
    const statuses = await Promise.all(running.map((n) => raftStatus(n).catch(() => null)));
    last = statuses.map((s, i) =>
      s === null ? `${running[i]?.nodeId}: no answer` : `${s.nodeId}: ${s.role} t${s.term}`,
    );
    const leaders = statuses.filter((s) => s?.role === 'RAFT_ROLE_LEADER');
    for (const leader of leaders) {
      const agree = statuses.filter(
        (s) => s !== null && s.term === leader?.term && s.leaderId === leader.nodeId,
      ).length;
      const node = running.find((n) => n.nodeId === leader?.nodeId);
      if (node !== undefined && agree * 2 > nodes.length) return node;
    }
    await sleep(POLL_MS);
  }
  throw new Error(`no leader within ${timeoutMs} ms; nodes said: ${last.join(', ')}`);
}

/**
 * Proposes `entries` as one request, to the leader: it starts at `first` (or the first running
 * node), follows a NOT_CONTROLLER hint to the named node, and moves on to the next running node
 * when a node is down or knows no leader, until committed or the deadline passes.
 */
export async function propose(
  nodes: readonly BrokerProcess[],
  entries: readonly Buffer[],
  timeoutMs: number,
  first?: BrokerProcess,
): Promise<ProposeResponse__Output> {
  const deadline = Date.now() + timeoutMs;
  let target = first ?? nodes.find((n) => n.isRunning());
  let lastError: unknown = new Error('no running node');
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if (target === undefined || !target.isRunning()) {
      const running = nodes.filter((n) => n.isRunning());
      target = running[attempt % Math.max(1, running.length)];
      if (target === undefined) break;
    }
    try {
      return await call<ProposeResponse__Output>(
        peer(target.address),
        'Propose',
        // Propose takes only empty metadata entries: each test payload rides in the padding.
        { entries: entries.map(emptyEntryCarrying) },
        Math.max(1, Math.min(CALL_DEADLINE_MS, deadline - Date.now())),
      );
    } catch (error) {
      lastError = error;
      const hinted = leaderHint(error);
      const next = nodes.find((n) => n.nodeId === hinted && n.isRunning());
      target = next ?? undefined;
      if (next === undefined) await sleep(POLL_MS);
    }
  }
  throw new Error(`proposal not committed within ${timeoutMs} ms: ${String(lastError)}`);
}

/** The node id in a NOT_CONTROLLER answer's brook-leader-id trailer, or -1. */
function leaderHint(error: unknown): number {
  const metadata = (error as Partial<grpc.ServiceError>).metadata;
  const value = metadata?.get('brook-leader-id')[0];
  return value === undefined ? -1 : Number(value);
}

/** What one node says of its state machine, from DescribeCluster. */
export interface AppliedState {
  readonly nodeId: number;
  readonly appliedIndex: number;
  readonly digest: string;
  readonly snapshotIndex: number;
}

export async function appliedState(node: BrokerProcess): Promise<AppliedState> {
  const quorum = (await describeCluster(node)).quorum;
  if (quorum?.node == null) throw new Error(`node ${node.nodeId} answered without a quorum`);
  return {
    nodeId: quorum.node.nodeId,
    appliedIndex: quorum.node.appliedIndex,
    digest: quorum.node.appliedDigest,
    snapshotIndex: quorum.node.snapshotIndex,
  };
}

/**
 * Waits until every given node has applied at least `index` and all hold the same applied
 * index and digest; returns their states.
 */
export async function waitForConvergence(
  nodes: readonly BrokerProcess[],
  index: number,
  timeoutMs: number,
): Promise<AppliedState[]> {
  const deadline = Date.now() + timeoutMs;
  let last: (AppliedState | null)[] = [];
  while (Date.now() < deadline) {
    last = await Promise.all(nodes.map((n) => appliedState(n).catch(() => null)));
    const states = last.filter((s): s is AppliedState => s !== null);
    const converged =
      states.length === nodes.length &&
      states.every(
        (s) =>
          s.appliedIndex >= index &&
          s.appliedIndex === states[0]?.appliedIndex &&
          s.digest === states[0]?.digest,
      );
    if (converged) return states;
    await sleep(POLL_MS);
  }
  throw new Error(
    `nodes did not converge on index >= ${index} within ${timeoutMs} ms: ${JSON.stringify(last)}`,
  );
}

/** An empty metadata entry (what Propose accepts) carrying `payload` in its padding. */
function emptyEntryCarrying(payload: Buffer): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, records: [], pad: payload.toString('base64') }));
}
