/**
 * The node's Raft member: the driver (src/raft/io) over the node's store, replicating the
 * metadata state machine (metadata/metadata-state.ts), bootstrapped from raft.voters, with the
 * timing and bounds from the raft.* keys. A node that raft.voters does not name is an observer:
 * it bootstraps with the voters it was given and asks the controller to add it
 * (broker-session.ts); until then it holds no log. The broker owns its
 * lifecycle: open after bind (the node's own address is known then), start once every service
 * is added, and on shutdown hand leadership away before closing it, ahead of the store.
 *
 * raft.voters is the bootstrap membership: the driver records it in the Raft store on the first
 * start and refuses a later start with other voter ids (src/raft/io/bootstrap.ts); that refusal
 * reaches `brook server` as a one-line DataDirError.
 */
import type { ClassicLevel } from 'classic-level';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/index.js';
import { RaftBootstrapError } from '../raft/io/bootstrap.js';
import { RaftNode } from '../raft/io/driver.js';
import { Role, type Member, type RaftStatus } from '../raft/types.js';
import type { AppliedState, QuorumSource } from './grpc/quorum.js';
import type { MetadataState } from '../metadata/index.js';
import { DataDirError } from './node-identity.js';

const RAFT_COMPONENT = { component: 'raft' } as const;

export interface RaftNodeDeps {
  readonly clusterId: string;
  readonly db: ClassicLevel<Buffer, Buffer>;
  /** This node's advertised host:port with the real port (after bind). */
  readonly advertised: string;
  /** The node's logger; the driver adds component "raft" itself. */
  readonly logger: Logger;
  readonly onFatal: (error: unknown) => void;
  /** The state machine the node replicates. */
  readonly state: MetadataState;
}

/** The opened Raft member and the view DescribeCluster reads. */
export interface OpenedRaftNode extends QuorumSource {
  readonly node: RaftNode;
}

/** Opens (does not start) this node's Raft member. */
export async function openRaftNode(
  config: BrokerConfig,
  deps: RaftNodeDeps,
): Promise<OpenedRaftNode> {
  const voters = bootstrapVoters(config, deps.advertised, deps.logger.child(RAFT_COMPONENT));
  const { voters: _configured, ...tuning } = config.raft;
  const node = await RaftNode.open({
    ...tuning,
    id: config.nodeId,
    clusterId: deps.clusterId,
    db: deps.db,
    initialVoters: voters,
    stateMachine: deps.state,
    logger: deps.logger,
    onFatal: deps.onFatal,
  }).catch((error: unknown) => {
    if (!(error instanceof RaftBootstrapError)) throw error;
    throw new DataDirError(`data dir ${config.dataDir}: ${error.message}`, { cause: error });
  });
  return {
    node,
    status: (): RaftStatus => node.status(),
    applied: (): AppliedState => ({
      appliedIndex: Math.max(0, deps.state.image().offset),
      digest: deps.state.digest(),
    }),
  };
}

/**
 * The voters to bootstrap with. The default (raft.voters empty) is this node alone at its
 * advertised address, which names port 0 when the node listens on port 0: the bound port
 * replaces it. An explicit list is used as given; if it gives this node another address than
 * the advertised one, that may be deliberate (a separate network for peers), so it is only
 * logged.
 */
function bootstrapVoters(config: BrokerConfig, advertised: string, logger: Logger): Member[] {
  const voters = config.raft.voters.map((v) =>
    v.id === config.nodeId && v.address.endsWith(':0') ? { id: v.id, address: advertised } : v,
  );
  const self = voters.find((v) => v.id === config.nodeId);
  if (self === undefined) {
    logger.info(
      { voters: voters.map((v) => v.id) },
      'this node is not a Raft voter: it will follow the metadata log as an observer',
    );
    return voters;
  }
  if (self.address !== advertised) {
    logger.warn(
      { voterAddress: self.address, advertised },
      'raft.voters gives this node another address than advertised.address; peers will dial the raft.voters one',
    );
  }
  return voters;
}

/**
 * Controlled shutdown of the Raft member: a leader first hands leadership to an up-to-date voter
 * (so the quorum does not wait an election timeout for a new leader), bounded by two election
 * timeouts; then the node closes. A failed transfer is logged and the node closes anyway: the
 * others elect a leader as they would after a crash.
 */
export async function stopRaftNode(
  node: RaftNode,
  config: BrokerConfig,
  nodeLogger: Logger,
): Promise<void> {
  const logger = nodeLogger.child(RAFT_COMPONENT);
  const status = node.status();
  const hasOtherVoters = status.confState.voters.some((v) => v.id !== status.id);
  if (status.role === Role.LEADER && hasOtherVoters) {
    const timeoutMs = 2 * config.raft.electionTicks * config.raft.tickMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no new leader within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([node.transferLeadership(), timeout]);
      logger.info({ term: node.status().term }, 'handed Raft leadership away before stopping');
    } catch (error) {
      logger.warn(
        { err: error },
        'could not hand Raft leadership away before stopping; the other voters will elect a leader after their election timeout',
      );
    } finally {
      clearTimeout(timer);
    }
  }
  await node.close();
}
