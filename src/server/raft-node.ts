/**
 * The node's Raft quorum member, as the broker runs it in this release: the driver
 * (src/raft/io) over the node's store, with the digest state machine (raft-digest.ts), the
 * voters from raft.voters, and the timing and bounds from the raft.* keys. The broker owns its
 * lifecycle: open after bind (the node's own address is known then), start once every service
 * is added, and on shutdown hand leadership away before closing it, ahead of the store.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClassicLevel } from 'classic-level';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/index.js';
import { RaftNode } from '../raft/io/driver.js';
import { Role, type Member, type RaftStatus } from '../raft/types.js';
import { assert } from '../util/assert.js';
import type { QuorumSource } from './grpc/quorum.js';
import { DataDirError, writeDurably } from './node-identity.js';
import { RaftDigest, type DigestState } from './raft-digest.js';

const RAFT_COMPONENT = { component: 'raft' } as const;

export interface RaftNodeDeps {
  readonly clusterId: string;
  readonly db: ClassicLevel<Buffer, Buffer>;
  /** This node's advertised host:port with the real port (after bind). */
  readonly advertised: string;
  /** The node's logger; the driver adds component "raft" itself. */
  readonly logger: Logger;
  readonly onFatal: (error: unknown) => void;
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
  const digest = new RaftDigest();
  const voters = bootstrapVoters(config, deps.advertised, deps.logger.child(RAFT_COMPONENT));
  checkBootstrapVoterIds(config.dataDir, voters);
  const node = await RaftNode.open({
    id: config.nodeId,
    clusterId: deps.clusterId,
    db: deps.db,
    initialVoters: voters,
    stateMachine: digest,
    logger: deps.logger,
    onFatal: deps.onFatal,
    tickMs: config.raft.tickMs,
    electionTicks: config.raft.electionTicks,
    heartbeatTicks: config.raft.heartbeatTicks,
    snapshotEntries: config.raft.snapshotEntries,
    snapshotChunkBytes: config.raft.snapshotChunkBytes,
    appendBytesMax: config.raft.appendBytesMax,
    inflightAppendsMax: config.raft.inflightAppendsMax,
    uncommittedBytesMax: config.raft.uncommittedBytesMax,
  });
  return {
    node,
    status: (): RaftStatus => node.status(),
    applied: (): DigestState => digest.state(),
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
  assert(self !== undefined, 'config checks that raft.voters names this node');
  if (self.address !== advertised) {
    logger.warn(
      { voterAddress: self.address, advertised },
      'raft.voters gives this node another address than advertised.address; peers will dial the raft.voters one',
    );
  }
  return voters;
}

/** File in the data dir holding the voter ids the node first started with. */
export const BOOTSTRAP_VOTERS_FILE = 'raft-bootstrap-voters';

/**
 * The Raft core starts from the configured voters until its log holds a snapshot or a membership
 * change, so a voter restarted with another list would start another quorum on the same log: a
 * node of three restarted without raft.voters elects itself alone and commits entries the
 * others never see. So the voter ids of the first start are kept in the data dir and a later
 * start with other ids is refused. Addresses may change (a node moves); ids may not.
 */
function checkBootstrapVoterIds(dataDir: string, voters: readonly Member[]): void {
  const file = path.join(dataDir, BOOTSTRAP_VOTERS_FILE);
  const ids = voters
    .map((v) => v.id)
    .sort((a, b) => a - b)
    .join(',');
  if (!existsSync(file)) {
    writeDurably(
      file,
      `# The Raft voter ids this data dir was first started with; written by Brook, do not edit.\n${ids}\n`,
    );
    return;
  }
  const stored = readFileSync(file, 'utf8')
    .split('\n')
    .find((line) => line !== '' && !line.startsWith('#'));
  if (stored === ids) return;
  throw new DataDirError(
    `raft.voters names nodes ${ids || 'none'}, but the data dir ${dataDir} was started as a voter of nodes ${stored ?? '(unreadable)'}; with another list this node would start a quorum of its own on the same Raft log. Give it the voters it started with (e.g. --voters for nodes ${stored ?? '?'}), or start it on an empty data dir.`,
  );
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
