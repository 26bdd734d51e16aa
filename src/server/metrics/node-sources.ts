/**
 * The metrics' view of a running node's parts: adapts the log manager, replica manager, group
 * coordinator, metadata state and Raft node to the narrow sources the collectors read, so the
 * collectors can be tested with plain objects.
 */
import path from 'node:path';
import type { BrokerConfig } from '../../config/index.js';
import { BrokerError } from '../../errors/index.js';
import type { GroupCoordinator, GroupView } from '../../group/index.js';
import type { LogManager } from '../../log/index.js';
import type { MetadataState } from '../../metadata/index.js';
import type { RaftNode } from '../../raft/io/driver.js';
import type { ReplicaManager } from '../../replication/index.js';
import { topicSettings } from '../topic-settings.js';
import { LOG_STORE_DIR, STORE_DIR } from '../node-identity.js';
import type { NodeMetricsSources } from './node-metrics.js';
import type { TrafficCounters } from './traffic.js';

export interface NodeParts {
  readonly config: BrokerConfig;
  readonly clusterId: string;
  readonly isInService: () => boolean;
  readonly traffic: TrafficCounters;
  readonly state: MetadataState;
  readonly logs: LogManager;
  readonly replicas: ReplicaManager;
  readonly groups: GroupCoordinator;
  readonly raft: RaftNode;
  readonly isActiveController: () => boolean;
}

export function nodeMetricsSources(parts: NodeParts): NodeMetricsSources {
  const { config, state, logs, replicas } = parts;
  return {
    nodeId: config.nodeId,
    clusterId: parts.clusterId,
    isInService: parts.isInService,
    traffic: parts.traffic,
    partitions: {
      image: () => state.image(),
      logs: () => logs.partitions(),
      isLeader: (topicId, partition) => replicas.leaderOf(topicId, partition) !== undefined,
      minInsyncReplicas: (topic) => topicSettings(topic, config).minInsyncReplicas,
    },
    raft: {
      status: () => parts.raft.status(),
      onRoleChange: (listener) => parts.raft.onRoleChange(listener),
      isActiveController: parts.isActiveController,
    },
    groups: {
      groups: () => coordinatedGroups(parts.groups),
      highWatermarkOf: (topic, partition) => {
        const topicId = state.image().topic(topic)?.topicId;
        if (topicId === undefined) return null;
        // The leader's HW is exact; a follower's is the one its leader last sent.
        const led = replicas.leaderOf(topicId, partition);
        if (led !== undefined) return led.log.highWatermark;
        return logs.partition(topicId, partition)?.highWatermark ?? null;
      },
    },
    storage: {
      dataDir: config.dataDir,
      storeDirs:
        logs.batchDb === logs.indexDb
          ? [path.join(config.dataDir, STORE_DIR)]
          : [path.join(config.dataDir, STORE_DIR), path.join(config.dataDir, LOG_STORE_DIR)],
      commitStats: () => logs.commitStats,
      levelDbStats: () => {
        const stats = (db: typeof logs.indexDb) =>
          db.status === 'open' ? db.getProperty('leveldb.stats') : null;
        const main = { store: STORE_DIR, text: stats(logs.indexDb) };
        return logs.batchDb === logs.indexDb
          ? [main]
          : [main, { store: LOG_STORE_DIR, text: stats(logs.batchDb) }];
      },
    },
  };
}

/**
 * Groups of every shard serving now. A shard that stops serving between the listing and the
 * read (its controller lease lapsed) is skipped: another node may coordinate its groups.
 */
function coordinatedGroups(coordinator: GroupCoordinator): GroupView[] {
  const out: GroupView[] = [];
  for (const shard of coordinator.localShards().active) {
    try {
      out.push(...shard.list());
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
    }
  }
  return out;
}
