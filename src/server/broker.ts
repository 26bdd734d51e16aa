/**
 * Wires one node together: data dir identity, the LevelDB store, the metadata controller, the
 * partition logs, retention, the Raft quorum member and the gRPC server. The broker reacts to
 * metadata changes (open a log for each partition it leads, delete the data of removed topics)
 * and never reads controller internals.
 *
 * In this release the Raft module runs beside the local controller (raft-node.ts): it replicates
 * a digest state machine, so the quorum can be observed and tested before the controller moves
 * onto it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { loadSync } from '@grpc/proto-loader';
import { ClassicLevel } from 'classic-level';
import type { Logger } from 'pino';
import { limits, type BrokerConfig } from '../config/index.js';
import { LogManager, RetentionTask } from '../log/index.js';
import {
  LevelMetadataLog,
  LocalController,
  type MetadataChanges,
  type MetadataImage,
} from '../metadata/index.js';
import { brookV1, publicPackageDefinition } from '../proto/index.js';
import { AdminHandler } from './grpc/admin.js';
import { FetchHandler } from './grpc/fetch.js';
import { ProduceHandler } from './grpc/produce.js';
import { raftPeerService } from './grpc/raft-peer.js';
import { adminService, brokerService } from './grpc/services.js';
import { SubscribeHandler } from './grpc/subscribe.js';
import { tolerantDefinition } from './grpc/malformed.js';
import { loadOrFormatIdentity, DataDirError, META_FILE } from './node-identity.js';
import { PartitionResolver } from './partition-resolver.js';
import { openRaftNode, stopRaftNode } from './raft-node.js';
import { topicSettings } from './topic-settings.js';

export interface RunningBroker {
  readonly nodeId: number;
  readonly clusterId: string;
  /** host:port the server is bound to (the real port when listen asked for port 0). */
  readonly address: string;
  /** Controlled shutdown: stop accepting calls, finish in-flight ones, flush, close the store. */
  stop(): Promise<void>;
}

export interface BrokerOptions {
  readonly logger: Logger;
  /** Called on an environment fault that makes local state untrustworthy (failed write). */
  readonly onFatal: (error: unknown) => void;
}

const HEALTH_SERVICES = ['', 'brook.v1.Broker', 'brook.v1.Admin'];

export async function startBroker(
  config: BrokerConfig,
  options: BrokerOptions,
): Promise<RunningBroker> {
  const { logger } = options;
  refuseQuorumWithoutClusterId(config);
  const identity = loadOrFormatIdentity(config.dataDir, config.nodeId, config.clusterId);
  if (identity.formatted)
    logger.info(
      { dataDir: config.dataDir, clusterId: identity.clusterId },
      'formatted a new data dir',
    );
  const db = await openStore(config.dataDir);
  const controller = await LocalController.open(new LevelMetadataLog(db), config.nodeId, {
    numPartitions: config.numPartitions,
    replicationFactor: config.defaultReplicationFactor,
  });
  const logs = await LogManager.open(db, {
    fsync: config.fsync,
    fsyncIntervalMs: config.fsyncIntervalMs,
    logger: logger.child({ component: 'log' }),
    onFatal: options.onFatal,
  });
  await reconcileLogs(controller.image(), logs, config.nodeId, logger);
  controller.onChange((image, changes) =>
    applyChanges(image, changes, logs, config.nodeId, logger),
  );

  const listen = config.listen;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': limits.grpcMessageBytesMax,
    'grpc.max_send_message_length': limits.grpcMessageBytesMax,
  });
  const health = new HealthImplementation(
    Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING'])),
  );
  health.addToServer(server);
  // Reflection describes the health service too, so probes and grpcurl see everything served.
  const described = { ...publicPackageDefinition(), ...loadSync(healthProtoPath) };
  new ReflectionService(described).addToServer(server);
  const port = await bind(server, `${listen.host}:${listen.port}`);
  const advertised = config.advertisedAddress.endsWith(':0')
    ? `${config.advertisedAddress.slice(0, -2)}:${port}`
    : config.advertisedAddress;
  const [host = listen.host] = advertised.split(/:(?=\d+$)/);
  const raft = await openRaftNode(config, {
    clusterId: identity.clusterId,
    db,
    advertised: `${host}:${port}`,
    logger,
    onFatal: options.onFatal,
  });
  const raftPeer = raftPeerService(raft.node.peer, logger.child({ component: 'raft' }));
  server.addService(raftPeer.definition, raftPeer.implementation);
  await controller.registerBroker({
    brokerId: config.nodeId,
    incarnationId: randomUUID(),
    host,
    port,
    rack: config.rack,
    fenced: false,
  });

  const resolver = new PartitionResolver(config.nodeId, controller, (topicId, p) =>
    logs.partition(topicId, p),
  );
  const shutdown = new AbortController();
  const deps = {
    shutdown: shutdown.signal,
    logger,
    clusterId: identity.clusterId,
    metadata: controller,
    resolver,
    produce: new ProduceHandler({
      config,
      metadata: controller,
      resolver,
      now: Date.now,
    }),
    fetch: new FetchHandler(resolver),
    subscribe: new SubscribeHandler(resolver),
    admin: new AdminHandler(config.nodeId, config, controller, resolver),
    quorum: raft,
  };
  const v1 = brookV1();
  server.addService(tolerantDefinition(v1.Broker.service), brokerService(deps));
  server.addService(tolerantDefinition(v1.Admin.service), adminService(deps));

  const retention = new RetentionTask(
    logs,
    (topicId) => {
      const topic = controller.image().topicsById.get(topicId);
      return topic === undefined ? null : topicSettings(topic, config);
    },
    { intervalMs: config.retentionCheckIntervalMs, now: Date.now },
  );
  retention.start();
  // Started once every service is in place, so the first message a peer gets answered finds the
  // whole node; peers' links retry until then.
  raft.node.start();
  for (const service of HEALTH_SERVICES) health.setStatus(service, 'SERVING');
  logger.info(
    {
      address: `${host}:${port}`,
      nodeId: config.nodeId,
      clusterId: identity.clusterId,
      dataDir: config.dataDir,
      fsync: config.fsync,
    },
    'broker ready',
  );

  return {
    nodeId: config.nodeId,
    clusterId: identity.clusterId,
    address: `${host}:${port}`,
    async stop() {
      for (const service of HEALTH_SERVICES) health.setStatus(service, 'NOT_SERVING');
      shutdown.abort();
      await retention.stop();
      // Before the server: closing the node ends the peers' Send streams into it, which would
      // otherwise hold tryShutdown until its timeout; and before the store, which it writes.
      await stopRaftNode(raft.node, config, logger);
      await shutdownServer(server, config.shutdownTimeoutMs, logger);
      await logs.close();
      await db.close();
      logger.info({}, 'broker stopped');
    },
  };
}

/**
 * Every voter of a quorum must be formatted with the same cluster id: peers refuse each other's
 * Raft streams otherwise, and the quorum would never elect a leader. A generated id is unique
 * per node, so a new data dir of a multi-voter quorum needs cluster.id given (as Kafka's
 * `kafka-storage format --cluster-id`). Later starts read it from the data dir.
 */
function refuseQuorumWithoutClusterId(config: BrokerConfig): void {
  const isFormatted = existsSync(path.join(config.dataDir, META_FILE));
  if (isFormatted || config.clusterId !== null || config.raft.voters.length === 1) return;
  throw new DataDirError(
    `raft.voters names ${config.raft.voters.length} nodes but cluster.id is not set: every voter must be formatted with the same cluster id. Generate one (e.g. with uuidgen) and give every node --cluster-id <id> at its first start.`,
  );
}

async function openStore(dataDir: string): Promise<ClassicLevel<Buffer, Buffer>> {
  const db = new ClassicLevel<Buffer, Buffer>(path.join(dataDir, 'store'), {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  try {
    await db.open({
      createIfMissing: true,
      errorIfExists: false,
      writeBufferSize: limits.storeWriteBufferBytes,
    });
  } catch (error) {
    const cause = (error as { cause?: Error }).cause?.message ?? (error as Error).message;
    if (/lock/i.test(cause)) {
      throw new DataDirError(
        `data dir ${dataDir} is in use by another process (LevelDB lock held). Stop the other broker, or use another data.dir.`,
      );
    }
    throw new DataDirError(`cannot open the store in ${dataDir}: ${cause}`);
  }
  return db;
}

/** At start: open a log for every partition this node leads; drop logs of topics gone since. */
async function reconcileLogs(
  image: MetadataImage,
  logs: LogManager,
  nodeId: number,
  logger: Logger,
): Promise<void> {
  const wanted = new Set<string>();
  for (const topic of image.topicsById.values()) {
    for (const partition of topic.partitions) {
      if (!partition.replicas.includes(nodeId)) continue;
      wanted.add(`${topic.topicId}/${partition.partition}`);
      await logs.createPartition(topic.topicId, partition.partition);
    }
  }
  for (const log of logs.partitions()) {
    if (wanted.has(`${log.topicId}/${log.partition}`)) continue;
    logger.info(
      { topicId: log.topicId, partition: log.partition },
      'deleting the log of a partition no longer assigned here',
    );
    await logs.deletePartition(log.topicId, log.partition);
  }
}

async function applyChanges(
  image: MetadataImage,
  changes: MetadataChanges,
  logs: LogManager,
  nodeId: number,
  logger: Logger,
): Promise<void> {
  for (const topic of changes.deletedTopics) {
    for (const partition of topic.partitions) {
      if (logs.partition(topic.topicId, partition.partition) !== undefined)
        await logs.deletePartition(topic.topicId, partition.partition);
    }
    logger.info({ topic: topic.name, topicId: topic.topicId }, 'deleted topic data');
  }
  for (const [topicId, partitions] of changes.changedPartitions) {
    if (image.topicsById.get(topicId) === undefined) continue;
    for (const partition of partitions) {
      if (partition.replicas.includes(nodeId))
        await logs.createPartition(topicId, partition.partition);
    }
  }
}

function bind(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) => {
      if (error === null) resolve(port);
      else
        reject(
          new DataDirError(
            `cannot listen on ${address}: ${error.message}. Is another broker using that port?`,
          ),
        );
    });
  });
}

function shutdownServer(server: grpc.Server, timeoutMs: number, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      logger.warn({ timeoutMs }, 'in-flight calls did not finish in time; closing them');
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
