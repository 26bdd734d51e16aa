/**
 * Wires one node together: data dir identity, the LevelDB store, the Raft member replicating
 * the metadata state machine, the controller (active while this node leads Raft), the broker's
 * session with the controller, the partition replicas and the gRPC server. The broker reacts to
 * metadata changes through the ReplicaManager and never reads controller internals.
 *
 * Start order: bind first (the node's own address is known then), add every service, start
 * Raft, then register with the controller. The node reports SERVING (health) and logs "broker
 * ready" once the controller has unfenced it, i.e. it has caught up with the metadata.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { loadSync } from '@grpc/proto-loader';
import { ClassicLevel } from 'classic-level';
import type { Logger } from 'pino';
import { limits, type BrokerConfig } from '../config/index.js';
import { CleanerTask, LogManager, RetentionTask } from '../log/index.js';
import {
  MetadataState,
  QuorumController,
  RELOAD_CHANGES,
  type MetadataImage,
} from '../metadata/index.js';
import { brookV1, publicPackageDefinition } from '../proto/index.js';
import { ReplicaManager, ReplicationThrottle } from '../replication/index.js';
import { GroupCoordinator } from '../group/index.js';
import { AdminHandler } from './grpc/admin.js';
import { brokerLifecycleService } from './grpc/broker-lifecycle.js';
import { FetchHandler } from './grpc/fetch.js';
import { GroupAdmin } from './grpc/group-admin.js';
import { groupsService } from './grpc/groups.js';
import { ProduceHandler } from './grpc/produce.js';
import { raftPeerService } from './grpc/raft-peer.js';
import { replicaFetchService } from './grpc/replica-fetch.js';
import { serveFetchConnection } from './replica-transport/fetch-session.js';
import { listenSharedPort, type SharedPort } from './replica-transport/shared-port.js';
import { adminService, brokerService } from './grpc/services.js';
import { SubscribeHandler } from './grpc/subscribe.js';
import { tolerantDefinition } from './grpc/malformed.js';
import { BrokerSession } from './broker-session.js';
import { successorWaitMs } from './controller-lease.js';
import { ControllerGateway } from './controller-gateway.js';
import {
  loadOrFormatIdentity,
  DataDirError,
  LOG_STORE_DIR,
  META_FILE,
  STORE_DIR,
} from './node-identity.js';
import {
  meteredReplicaFetchClient,
  NodeMetrics,
  startMetricsServer,
  TrafficCounters,
  type MetricsServer,
} from './metrics/index.js';
import { nodeMetricsSources } from './metrics/node-sources.js';
import { PartitionResolver } from './partition-resolver.js';
import { PeerClients } from './peer-clients.js';
import { openRaftNode, stopRaftNode, type OpenedRaftNode } from './raft-node.js';
import { cleanerPolicyOf, retentionPolicyOf, topicSettings } from './topic-settings.js';

export interface RunningBroker {
  readonly nodeId: number;
  readonly clusterId: string;
  /** host:port the server is bound to (the real port when listen asked for port 0). */
  readonly address: string;
  /** Resolves once the controller has unfenced this broker (it caught up with the metadata). */
  readonly ready: Promise<void>;
  /**
   * Controlled shutdown: hand partition leaderships and Raft leadership away, stop accepting
   * calls, finish in-flight ones, flush, close the store.
   */
  stop(): Promise<void>;
}

export interface BrokerOptions {
  readonly logger: Logger;
  /** Called on an environment fault that makes local state untrustworthy (failed write). */
  readonly onFatal: (error: unknown) => void;
}

const HEALTH_SERVICES = ['', 'brook.v1.Broker', 'brook.v1.Admin', 'brook.v1.Groups'];

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
  await refuseLegacyMetadata(db, config.dataDir);
  const state = new MetadataState();
  const batchDb = await openBatchStore(config.dataDir, db, logger);
  const logs = await LogManager.open(
    { batches: batchDb, index: db },
    {
      fsync: config.fsync,
      fsyncIntervalMs: config.fsyncIntervalMs,
      highWatermarkFollowsDurableEnd: false,
      logger: logger.child({ component: 'log' }),
      onFatal: options.onFatal,
    },
  );

  // Created before the server, which takes the request interceptor at construction.
  const metrics = config.metricsListen === null ? null : new NodeMetrics();
  const traffic = new TrafficCounters();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': limits.grpcMessageBytesMax,
    'grpc.max_send_message_length': limits.grpcMessageBytesMax,
    interceptors: metrics === null ? [] : [metrics.requests.interceptor],
  });
  const health = new HealthImplementation(
    Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING'])),
  );
  health.addToServer(server);
  // Reflection describes the health service too, so probes and grpcurl see everything served.
  const described = { ...publicPackageDefinition(), ...loadSync(healthProtoPath) };
  new ReflectionService(described).addToServer(server);
  const listen = config.listen;
  const sharedPort = await bind(server, listen, logger);
  const port = sharedPort.port;
  const advertised = config.advertisedAddress.endsWith(':0')
    ? `${config.advertisedAddress.slice(0, -2)}:${port}`
    : config.advertisedAddress;
  const [host = listen.host] = advertised.split(/:(?=\d+$)/);
  const address = `${host}:${port}`;
  const raft = await openRaftNode(config, {
    clusterId: identity.clusterId,
    db,
    advertised: address,
    logger,
    onFatal: options.onFatal,
    state,
  });
  const raftLogger = logger.child({ component: 'raft' });
  const raftPeer = raftPeerService(raft.node.peer, raftLogger);
  server.addService(raftPeer.definition, raftPeer.implementation);

  const peers = new PeerClients();
  const controllerLogger = logger.child({ component: 'controller' });
  const controller = new QuorumController({
    nodeId: config.nodeId,
    raft: {
      propose: (entries) => raft.node.propose(entries),
      onRoleChange: (listener) => raft.node.onRoleChange(listener),
      softState: () => {
        const status = raft.node.status();
        return { role: status.role, leader: status.leader, term: status.term };
      },
    },
    image: () => state.image(),
    addressOf: (nodeId) => raftAddressOf(raft, nodeId),
    sessionTimeoutMs: config.replication.sessionTimeoutMs,
    checkIntervalMs: Math.max(10, Math.floor(config.replication.heartbeatIntervalMs / 2)),
    rebalanceIntervalMs: config.replication.leaderImbalanceCheckIntervalMs,
    isUncleanEnabled: (image, topicId) => isUncleanEnabled(image, topicId, config),
    defaults: {
      numPartitions: config.numPartitions,
      replicationFactor: config.defaultReplicationFactor,
    },
    newTopicId: randomUUID,
    now: Date.now,
    logger: controllerLogger,
  });
  const lifecycle = brokerLifecycleService({
    clusterId: identity.clusterId,
    controller,
    raft: raft.node,
    logger: controllerLogger,
  });
  server.addService(lifecycle.definition, lifecycle.implementation);
  const gateway = new ControllerGateway({
    state,
    controller,
    peers,
    controllerAddress: () => {
      const leader = raft.node.status().leader;
      const leaderAddress = leader >= 0 ? raftAddressOf(raft, leader) : null;
      return leaderAddress === null ? null : { nodeId: leader, address: leaderAddress };
    },
    settled: () => replicas.settled(),
    raft: raft.node,
    logger: controllerLogger,
  });

  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  let isInService = false;
  const session: BrokerSession = new BrokerSession({
    nodeId: config.nodeId,
    clusterId: identity.clusterId,
    host,
    port,
    rack: config.rack,
    peers,
    address,
    controllerCandidates: () => controllerCandidates(raft, config),
    isRaftMember: () => {
      const conf = raft.node.status().confState;
      return [...conf.voters, ...conf.observers].some((m) => m.id === config.nodeId);
    },
    isRaftVoter: () => raft.node.status().confState.voters.some((m) => m.id === config.nodeId),
    metadataOffset: () => state.image().offset,
    heartbeatIntervalMs: config.replication.heartbeatIntervalMs,
    controllerUnreachableMs: config.replication.sessionTimeoutMs,
    onFenced: () => {
      isInService = false;
      replicas.markFenced();
    },
    onUnfenced: () => {
      isInService = true;
      replicas.markInService();
      for (const service of HEALTH_SERVICES) health.setStatus(service, 'SERVING');
      resolveReady();
    },
    logger: logger.child({ component: 'session' }),
  });
  const replicas: ReplicaManager = new ReplicaManager({
    nodeId: config.nodeId,
    logs,
    client: meteredReplicaFetchClient(peers, traffic),
    alterIsr: (request) =>
      session.callController('AlterPartition', {
        ...request,
        brokerId: config.nodeId,
        brokerEpoch: session.brokerEpoch,
      }),
    brokerEpoch: () => session.brokerEpoch,
    lagTimeMaxMs: config.replication.lagTimeMaxMs,
    fetchWaitMaxMs: config.replication.fetchWaitMaxMs,
    fetchMaxBytes: config.replication.fetchMaxBytes,
    now: Date.now,
    onLeader: (leader) => groups.onLeader(leader),
    logger: logger.child({ component: 'replication' }),
  });
  const groups: GroupCoordinator = new GroupCoordinator({
    nodeId: config.nodeId,
    settings: config.groups,
    metadata: gateway,
    minInsyncReplicas: (name) => {
      const topic = state.image().topic(name);
      return topic === undefined
        ? config.minInsyncReplicas
        : topicSettings(topic, config).minInsyncReplicas;
    },
    leaderOf: (topicId, partition) => replicas.leaderOf(topicId, partition),
    now: Date.now,
    leaseHeld: () => session.holdsLease(),
    takeoverDelayMs: successorWaitMs(config.replication.sessionTimeoutMs),
    logger: logger.child({ component: 'groups' }),
  });
  state.onChange((image, changes) => replicas.onImage(image, changes));
  replicas.onImage(state.image(), RELOAD_CHANGES);
  const resolver = new PartitionResolver(config.nodeId, gateway, (topicId, p) =>
    replicas.leaderOf(topicId, p),
  );

  const shutdown = new AbortController();
  // Every long poll and stream listens for shutdown while it waits and stops listening after:
  // the count follows the calls in flight, so Node's leak warning at 10 would be a false alarm.
  setMaxListeners(0, shutdown.signal);
  const deps = {
    shutdown: shutdown.signal,
    logger,
    clusterId: identity.clusterId,
    metadata: gateway,
    gateway,
    resolver,
    produce: new ProduceHandler({
      config,
      metadata: gateway,
      resolver,
      forwarder: peers,
      now: Date.now,
      traffic,
    }),
    fetch: new FetchHandler(resolver, peers, traffic),
    subscribe: new SubscribeHandler(resolver, traffic),
    admin: new AdminHandler(config.nodeId, config, gateway, resolver, peers, shutdown.signal),
    quorum: raft,
  };
  const v1 = brookV1();
  server.addService(tolerantDefinition(v1.Broker.service), brokerService(deps));
  server.addService(tolerantDefinition(v1.Admin.service), adminService(deps));
  server.addService(
    tolerantDefinition(v1.Groups.service),
    groupsService({
      nodeId: config.nodeId,
      coordinator: groups,
      admin: new GroupAdmin(config.nodeId, groups, gateway, resolver, peers),
      logger,
    }),
  );
  const throttle = new ReplicationThrottle();
  const applyThrottle = (image: MetadataImage): void => {
    const rate = image.brokerConfig(config.nodeId, 'leader.replication.throttled.rate');
    const bytesPerSecond = rate === undefined ? null : Number(rate);
    if (bytesPerSecond === throttle.bytesPerSecond) return;
    throttle.setRate(bytesPerSecond);
    logger.info(
      { bytesPerSecond },
      bytesPerSecond === null
        ? 'replication throttle removed'
        : 'replication to reassigned replicas is throttled',
    );
  };
  state.onChange((image) => applyThrottle(image));
  applyThrottle(state.image());
  const fetchDeps = {
    replicas,
    logger: logger.child({ component: 'replication' }),
    shutdown: shutdown.signal,
    traffic,
    throttle,
  };
  const fetchService = replicaFetchService(fetchDeps);
  server.addService(fetchService.definition, fetchService.implementation);
  sharedPort.onFetchConnection = (socket, buffered) =>
    serveFetchConnection(fetchDeps, socket, buffered);

  const retention = new RetentionTask(
    logs,
    (topicId) => {
      const topic = state.image().topicsById.get(topicId);
      // Pure cleanup.policy=compact: retention leaves the topic alone.
      return topic === undefined ? null : retentionPolicyOf(topic, config);
    },
    { intervalMs: config.retentionCheckIntervalMs, now: Date.now },
  );
  retention.start();
  // Every replica, leader or follower, compacts its own log of compacted topics (as Kafka).
  const cleaner = new CleanerTask(
    logs,
    (topicId) => {
      const topic = state.image().topicsById.get(topicId);
      return topic === undefined ? null : cleanerPolicyOf(topic, config);
    },
    {
      backoffMs: config.cleaner.backoffMs,
      now: Date.now,
      logger: logger.child({ component: 'cleaner' }),
    },
  );
  if (config.cleaner.enable) cleaner.start();
  let metricsServer: MetricsServer | null = null;
  if (metrics !== null && config.metricsListen !== null) {
    metrics.register(
      nodeMetricsSources({
        config,
        clusterId: identity.clusterId,
        isInService: () => isInService,
        traffic,
        state,
        logs,
        replicas,
        groups,
        raft: raft.node,
        isActiveController: () => gateway.isActiveController(),
      }),
    );
    metricsServer = await serveMetrics(metrics, config.metricsListen, logger);
  }
  // Started once every service is in place, so the first message a peer gets answered finds the
  // whole node; peers' links retry until then.
  raft.node.start();
  session.start();
  logger.info(
    { address, nodeId: config.nodeId, clusterId: identity.clusterId, dataDir: config.dataDir },
    'broker listening; joining the cluster',
  );
  void ready.then(() =>
    logger.info(
      {
        address,
        nodeId: config.nodeId,
        clusterId: identity.clusterId,
        dataDir: config.dataDir,
        fsync: config.fsync,
      },
      'broker ready',
    ),
  );

  return {
    nodeId: config.nodeId,
    clusterId: identity.clusterId,
    address,
    ready,
    async stop() {
      // Leaderships first, while the node still serves its followers and the controller.
      const agreed = await session.shutdown(config.shutdownTimeoutMs);
      if (!agreed) {
        logger.warn(
          {},
          'the controller did not confirm the controlled shutdown; stopping anyway (other replicas take over after the session timeout)',
        );
      }
      for (const service of HEALTH_SERVICES) health.setStatus(service, 'NOT_SERVING');
      isInService = false;
      shutdown.abort();
      session.close();
      await retention.stop();
      await cleaner.stop();
      groups.close();
      await replicas.close();
      controller.close();
      // Before the server: closing the node ends the peers' Send streams into it, which would
      // otherwise hold tryShutdown until its timeout; and before the store, which it writes.
      await stopRaftNode(raft.node, config, logger);
      sharedPort.stopListening();
      await shutdownServer(server, config.shutdownTimeoutMs, logger);
      // Each ended with shutdown after its answer in progress; a follower that never read it
      // must not keep the process up.
      sharedPort.destroyFetchConnections();
      await metricsServer?.close();
      peers.close();
      await logs.close();
      if (batchDb !== db) await batchDb.close();
      await db.close();
      logger.info({}, 'broker stopped');
    },
  };
}

/** Binds the /metrics endpoint; a failure to bind stops the start like the gRPC port's. */
async function serveMetrics(
  metrics: NodeMetrics,
  listen: { readonly host: string; readonly port: number },
  logger: Logger,
): Promise<MetricsServer> {
  const metricsLogger = logger.child({ component: 'metrics' });
  let served: MetricsServer;
  try {
    served = await startMetricsServer({
      host: listen.host,
      port: listen.port,
      registry: metrics.registry,
      onScrapeError: (error) => metricsLogger.error({ err: error }, 'a metrics scrape failed'),
    });
  } catch (error) {
    throw new DataDirError(
      `cannot serve metrics on ${listen.host}:${listen.port} (metrics.listen): ${(error as Error).message}. Is another process using that port?`,
    );
  }
  metricsLogger.info(
    { address: served.address, url: `http://${served.address}/metrics` },
    'serving Prometheus metrics',
  );
  return served;
}

/** The Raft address of a member, from the membership in force. */
function raftAddressOf(raft: OpenedRaftNode, nodeId: number): string | null {
  const conf = raft.node.status().confState;
  return [...conf.voters, ...conf.observers].find((m) => m.id === nodeId)?.address ?? null;
}

/** Where to look for the controller: the Raft leader this node knows of, then every voter. */
function controllerCandidates(raft: OpenedRaftNode, config: BrokerConfig): string[] {
  const status = raft.node.status();
  const out: string[] = [];
  const leader = status.leader >= 0 ? raftAddressOf(raft, status.leader) : null;
  if (leader !== null) out.push(leader);
  for (const voter of status.confState.voters) out.push(voter.address);
  for (const voter of config.raft.voters) out.push(voter.address);
  return out;
}

function isUncleanEnabled(image: MetadataImage, topicId: string, config: BrokerConfig): boolean {
  const value = image.topicsById.get(topicId)?.configs.get('unclean.leader.election.enable');
  return value === undefined ? config.uncleanLeaderElection : value === 'true';
}

/**
 * Metadata of the releases before the Raft controller lived in key space 0x02. This release
 * keeps metadata in the Raft log only; reading an old data dir would silently drop its topics.
 */
async function refuseLegacyMetadata(
  db: ClassicLevel<Buffer, Buffer>,
  dataDir: string,
): Promise<void> {
  const legacy = await db
    .keys({ gte: Buffer.from([0x02]), lt: Buffer.from([0x03]), limit: 1 })
    .all();
  if (legacy.length === 0) return;
  await db.close();
  throw new DataDirError(
    `data dir ${dataDir} holds metadata written by a Brook release before metadata moved onto Raft; this release cannot read it. Start with an empty data dir (and re-create the topics), or keep running the earlier release on it.`,
  );
}

/**
 * Every voter of a quorum must be formatted with the same cluster id: peers refuse each other's
 * Raft streams otherwise, and the quorum would never elect a leader. A generated id is unique
 * per node, so a new data dir of a multi-voter quorum needs cluster.id given (as Kafka's
 * `kafka-storage format --cluster-id`). Later starts read it from the data dir.
 */
function refuseQuorumWithoutClusterId(config: BrokerConfig): void {
  const isFormatted = existsSync(path.join(config.dataDir, META_FILE));
  if (isFormatted || config.clusterId !== null) return;
  const isVoter = config.raft.voters.some((v) => v.id === config.nodeId);
  if (!isVoter) {
    throw new DataDirError(
      `node ${config.nodeId} is not in raft.voters, so it joins their cluster as an observer, but cluster.id is not set: give it the voters' cluster id with --cluster-id <id> at its first start.`,
    );
  }
  if (config.raft.voters.length === 1) return;
  throw new DataDirError(
    `raft.voters names ${config.raft.voters.length} nodes but cluster.id is not set: every voter must be formatted with the same cluster id. Generate one (e.g. with uuidgen) and give every node --cluster-id <id> at its first start.`,
  );
}

async function openStore(dataDir: string): Promise<ClassicLevel<Buffer, Buffer>> {
  return openLevel(dataDir, STORE_DIR);
}

/**
 * The partition logs' batch store, <data.dir>/log (src/log/README.md, "Two stores"). A data dir
 * from before the split keeps its batches in the main store, and both roles stay there.
 */
async function openBatchStore(
  dataDir: string,
  db: ClassicLevel<Buffer, Buffer>,
  logger: Logger,
): Promise<ClassicLevel<Buffer, Buffer>> {
  if (!existsSync(path.join(dataDir, LOG_STORE_DIR))) {
    if (await LogManager.expectsBatchStore(db)) {
      await db.close();
      throw new DataDirError(
        `data dir ${dataDir} keeps its record batches in ${LOG_STORE_DIR}/, which is missing: started without it, this node would serve its partitions empty. Restore ${LOG_STORE_DIR}/ together with ${STORE_DIR}/ from the same copy, or empty the whole data dir so that the node refills its replicas from the others.`,
      );
    }
    if (await LogManager.holdsBatches(db)) {
      logger.info(
        { dataDir },
        'record batches stay in data.dir/store (written before the log store split); new data dirs keep them in data.dir/log',
      );
      return db;
    }
  }
  let batchDb: ClassicLevel<Buffer, Buffer> | null = null;
  try {
    batchDb = await openLevel(dataDir, LOG_STORE_DIR);
    // From here on, a missing log/ is lost data, not a data dir from before the split.
    await LogManager.recordBatchStore(db);
    return batchDb;
  } catch (error) {
    await batchDb?.close();
    await db.close();
    throw error;
  }
}

async function openLevel(dataDir: string, dir: string): Promise<ClassicLevel<Buffer, Buffer>> {
  const db = new ClassicLevel<Buffer, Buffer>(path.join(dataDir, dir), {
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
    throw new DataDirError(`cannot open the store ${dir} in ${dataDir}: ${cause}`);
  }
  return db;
}

async function bind(
  server: grpc.Server,
  listen: { readonly host: string; readonly port: number },
  logger: Logger,
): Promise<SharedPort> {
  try {
    return await listenSharedPort(server, listen.host, listen.port, logger);
  } catch (error) {
    throw new DataDirError(
      `cannot listen on ${listen.host}:${listen.port}: ${(error as Error).message}. Is another broker using that port?`,
    );
  }
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
