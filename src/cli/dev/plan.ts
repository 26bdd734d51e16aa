/**
 * The layout of a `brook dev` cluster, as a pure function of the command line: which nodes run,
 * on which ports, with which data dirs, log and pid files, and which of them vote in the Raft
 * quorum. No I/O: the command checks ports, reads the cluster id and spawns processes from this
 * plan.
 */
import path from 'node:path';
import { UsageError } from '../output.js';

/** Bounds and defaults of `brook dev`'s options. */
export const DEV_NODES_MIN = 1;
export const DEV_NODES_MAX = 9;
export const DEV_NODES_DEFAULT = 3;
export const DEV_BASE_PORT_DEFAULT = 7070;
export const DEV_DATA_DIR_DEFAULT = './data/dev';
export const PORT_MIN = 1;
export const PORT_MAX = 65_535;

/** The host every dev node listens on and advertises. */
export const DEV_HOST = '127.0.0.1';

/** Kafka's combined-mode sizing: every node votes up to 3 nodes; from 5 nodes on, 5 vote. */
const VOTERS_SMALL_MAX = 3;
const VOTERS_LARGE = 5;

/** One node of the plan. Paths are absolute. */
export interface DevNode {
  /** Its --node-id: 0..nodeCount-1. */
  readonly id: number;
  readonly port: number;
  /** `127.0.0.1:<port>`: where it listens, and the address clients and peers use. */
  readonly address: string;
  /** `<dir>/node-<id>`: its --data-dir. */
  readonly dataDir: string;
  /** `<dir>/node-<id>.log`: its stdout and stderr, appended. */
  readonly logFile: string;
  /** `<dir>/node-<id>.pid`: its PID while it runs. */
  readonly pidFile: string;
  /** Whether it is among the Raft voters; the others are observers. */
  readonly isVoter: boolean;
}

/** A whole dev cluster. */
export interface DevClusterPlan {
  /** The --data-dir, absolute. */
  readonly dataDir: string;
  /** `<dir>/cluster-id`: the id every node is formatted with, kept across runs. */
  readonly clusterIdFile: string;
  /** Nodes 0..N-1, in id order. */
  readonly nodes: readonly DevNode[];
  /** The voters' ids, ascending: nodes 0..voterCount-1. */
  readonly voterIds: readonly number[];
  /** `--voters` of every node: `0@127.0.0.1:7070,1@127.0.0.1:7071,...` (voters only). */
  readonly voters: string;
  /** Every node's address, comma-separated: the clients' --bootstrap list. */
  readonly bootstrap: string;
}

export interface DevPlanInput {
  readonly nodeCount: number;
  readonly basePort: number;
  /** The --data-dir as given; a relative one is resolved against `cwd`. */
  readonly dataDir: string;
  /** The directory a relative dataDir is relative to. */
  readonly cwd: string;
}

/**
 * How many of `nodeCount` nodes vote, as in Kafka's combined mode: all of them up to 3, then 3
 * while there are fewer than 5 nodes (a 4th voter would add no fault tolerance), then 5.
 */
export function voterCount(nodeCount: number): number {
  checkNodeCount(nodeCount);
  return Math.min(nodeCount, nodeCount >= VOTERS_LARGE ? VOTERS_LARGE : VOTERS_SMALL_MAX);
}

/**
 * Plans a dev cluster. Throws UsageError (exit code 2) for a node count outside 1..9, a base
 * port outside 1..65535, or a port range that runs past 65535.
 */
export function planDevCluster(input: DevPlanInput): DevClusterPlan {
  checkNodeCount(input.nodeCount);
  checkBasePort(input.basePort, input.nodeCount);
  if (input.dataDir.trim() === '') throw new UsageError('--data-dir must not be empty.');
  const dataDir = path.resolve(input.cwd, input.dataDir);
  const votersWanted = voterCount(input.nodeCount);
  const nodes: DevNode[] = [];
  for (let id = 0; id < input.nodeCount; id++) {
    const port = input.basePort + id;
    nodes.push({
      id,
      port,
      address: `${DEV_HOST}:${port}`,
      dataDir: path.join(dataDir, `node-${id}`),
      logFile: path.join(dataDir, `node-${id}.log`),
      pidFile: path.join(dataDir, `node-${id}.pid`),
      isVoter: id < votersWanted,
    });
  }
  const voterNodes = nodes.filter((node) => node.isVoter);
  return {
    dataDir,
    clusterIdFile: path.join(dataDir, 'cluster-id'),
    nodes,
    voterIds: voterNodes.map((node) => node.id),
    voters: voterNodes.map((node) => `${node.id}@${node.address}`).join(','),
    bootstrap: nodes.map((node) => node.address).join(','),
  };
}

/** The arguments after `node` for one node: bin/brook, then `server` and its flags. */
export function serverArgs(
  brookBin: string,
  plan: DevClusterPlan,
  node: DevNode,
  clusterId: string,
): string[] {
  return [
    brookBin,
    'server',
    '--node-id',
    String(node.id),
    '--listen',
    node.address,
    '--data-dir',
    node.dataDir,
    '--voters',
    plan.voters,
    '--cluster-id',
    clusterId,
  ];
}

function checkNodeCount(nodeCount: number): void {
  if (!Number.isInteger(nodeCount) || nodeCount < DEV_NODES_MIN || nodeCount > DEV_NODES_MAX) {
    throw new UsageError(
      `--nodes must be a whole number from ${DEV_NODES_MIN} to ${DEV_NODES_MAX}, got ${nodeCount}.`,
    );
  }
}

function checkBasePort(basePort: number, nodeCount: number): void {
  if (!Number.isInteger(basePort) || basePort < PORT_MIN || basePort > PORT_MAX) {
    throw new UsageError(
      `--base-port must be a whole number from ${PORT_MIN} to ${PORT_MAX}, got ${basePort}.`,
    );
  }
  const lastPort = basePort + nodeCount - 1;
  if (lastPort > PORT_MAX) {
    throw new UsageError(
      `--base-port ${basePort} with --nodes ${nodeCount} needs ports up to ${lastPort}, past ${PORT_MAX}; use a base port of at most ${PORT_MAX - nodeCount + 1}.`,
    );
  }
}
