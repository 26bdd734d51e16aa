/**
 * Three `brook server` processes as one Raft quorum on loopback, for the Raft benchmark: node
 * ids 1-3 on free ports, each with --voters naming all three, one shared --cluster-id, a fresh
 * temp data dir, the default Raft timeouts, and log.fsync=always (the Raft log itself is always
 * fsynced). Nodes are found, killed (SIGKILL) and restarted by node id; dispose() stops every
 * process and removes the dirs.
 */
import type { BrokerProcess } from './broker-process.js';
import { startVoters } from './cluster.js';
import { RaftClients } from './raft-client.js';

const SIZE = 3;
const POLL_MS = 10;
const STATUS_DEADLINE_MS = 1_000;

export interface ClusterNode {
  readonly nodeId: number;
  process: BrokerProcess;
  isRunning: boolean;
}

export class RaftCluster {
  private warningsOfEarlierProcesses = 0;

  private constructor(
    readonly nodes: readonly ClusterNode[],
    readonly clients: RaftClients,
  ) {}

  static async start(brookBin: string): Promise<RaftCluster> {
    const processes = await startVoters({ brookBin, fsync: 'always', count: SIZE });
    const nodes: ClusterNode[] = processes.map((broker, i) => ({
      nodeId: i + 1,
      process: broker,
      isRunning: true,
    }));
    return new RaftCluster(nodes, new RaftClients());
  }

  pids(): number[] {
    return this.nodes.filter((n) => n.isRunning).map((n) => n.process.pid);
  }

  addressOf(nodeId: number): string | null {
    const node = this.nodes.find((n) => n.nodeId === nodeId && n.isRunning);
    return node === undefined ? null : node.process.address;
  }

  running(): ClusterNode[] {
    return this.nodes.filter((n) => n.isRunning);
  }

  /**
   * The node a majority of the quorum names as leader (so a deposed leader that has not heard
   * of its successor is not taken for it), and its term; polls until `deadlineMs`.
   */
  async waitForLeader(deadlineMs: number): Promise<{ node: ClusterNode; term: number }> {
    while (Date.now() < deadlineMs) {
      const running = this.running();
      const statuses = await Promise.all(
        running.map((n) =>
          this.clients.status(n.process.address, STATUS_DEADLINE_MS).catch(() => null),
        ),
      );
      for (const s of statuses) {
        if (s?.role !== 'RAFT_ROLE_LEADER') continue;
        const agree = statuses.filter((o) => o?.term === s.term && o.leaderId === s.nodeId);
        const node = running.find((n) => n.nodeId === s.nodeId);
        if (node !== undefined && agree.length * 2 > SIZE) return { node, term: s.term };
      }
      await sleep(POLL_MS);
    }
    throw new Error('the cluster elected no leader in time');
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(node: ClusterNode): Promise<void> {
    node.isRunning = false;
    await node.process.kill();
  }

  /** Starts a killed node again on its port and data dir. */
  async restart(node: ClusterNode): Promise<void> {
    this.warningsOfEarlierProcesses += node.process.warningCount;
    node.process = await node.process.respawn();
    node.isRunning = true;
  }

  /** Warning and error lines every process of the cluster logged, restarted ones included. */
  warningCount(): number {
    let count = this.warningsOfEarlierProcesses;
    for (const node of this.nodes) count += node.process.warningCount;
    return count;
  }

  /** Waits until every running node has applied the leader's commit index. */
  async waitCaughtUp(deadlineMs: number): Promise<void> {
    while (Date.now() < deadlineMs) {
      const statuses = await Promise.all(
        this.running().map((n) =>
          this.clients.status(n.process.address, STATUS_DEADLINE_MS).catch(() => null),
        ),
      );
      const leader = statuses.find((s) => s?.role === 'RAFT_ROLE_LEADER');
      if (
        leader != null &&
        statuses.every((s) => s !== null && s.appliedIndex >= leader.commitIndex)
      ) {
        return;
      }
      await sleep(POLL_MS * 10);
    }
    throw new Error('a restarted node did not catch up in time');
  }

  async dispose(): Promise<void> {
    this.clients.close();
    await Promise.all(this.nodes.map((n) => n.process.dispose()));
  }
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
