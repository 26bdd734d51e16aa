/**
 * The BrokerLifecycle service (peer.proto): brokers' registrations, heartbeats and ISR changes,
 * answered by the active controller (any other node answers NOT_CONTROLLER with a hint), and
 * observers asking to join the Raft log.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { parseAddress } from '../../config/index.js';
import { BrokerError, InvalidArgumentError } from '../../errors/index.js';
import type { QuorumController } from '../../metadata/index.js';
import {
  brookV1Peer,
  type AddRaftObserverRequest__Output,
  type AddRaftObserverResponse,
  type AlterPartitionRequest__Output,
  type AlterPartitionResponse,
  type BrokerHeartbeatRequest__Output,
  type BrokerHeartbeatResponse,
  type RegisterBrokerRequest__Output,
  type RegisterBrokerResponse,
} from '../../proto/index.js';
import type { RaftNode } from '../../raft/io/driver.js';
import { ConfChangeType } from '../../raft/types.js';
import { unary } from '../error-status.js';
import { requireInt, requireNonEmpty } from '../validate.js';
import { tolerantDefinition } from './malformed.js';

export interface BrokerLifecycleDeps {
  readonly clusterId: string;
  readonly controller: QuorumController;
  readonly raft: RaftNode;
  readonly logger: Logger;
}

const NODE_ID_MAX = 2 ** 31 - 1;

export function brokerLifecycleService(deps: BrokerLifecycleDeps): {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
} {
  const { controller, logger } = deps;
  const register = unary<RegisterBrokerRequest__Output, RegisterBrokerResponse>(
    'BrokerLifecycle.RegisterBroker',
    logger,
    async (request) => {
      requireInt(request.brokerId, 'broker_id', 0, NODE_ID_MAX);
      requireNonEmpty(request.incarnationId, 'incarnation_id');
      requireNonEmpty(request.host, 'host');
      requireInt(request.port, 'port', 1, 65_535);
      if (request.clusterId !== deps.clusterId) {
        return {
          errorCode: 'INCONSISTENT_CLUSTER_ID',
          errorMessage: `broker ${request.brokerId} belongs to cluster ${request.clusterId}, this is ${deps.clusterId}`,
          brokerEpoch: -1,
        };
      }
      const answer = await controller.registerBroker(request);
      if (answer.errorCode === 'NONE') {
        logger.info(
          { brokerId: request.brokerId, brokerEpoch: answer.brokerEpoch },
          'broker registered',
        );
      }
      return answer;
    },
  );
  const heartbeat = unary<BrokerHeartbeatRequest__Output, BrokerHeartbeatResponse>(
    'BrokerLifecycle.BrokerHeartbeat',
    logger,
    async (request) => {
      requireInt(request.brokerId, 'broker_id', 0, NODE_ID_MAX);
      const answer = await controller.brokerHeartbeat(request);
      return {
        errorCode: answer.errorCode,
        errorMessage: answer.errorCode === 'NONE' ? '' : 'register again',
        isFenced: answer.isFenced,
        shouldShutDown: answer.shouldShutDown,
        metadataOffset: answer.metadataOffset,
      };
    },
  );
  const alterPartition = unary<AlterPartitionRequest__Output, AlterPartitionResponse>(
    'BrokerLifecycle.AlterPartition',
    logger,
    async (request) => {
      requireInt(request.brokerId, 'broker_id', 0, NODE_ID_MAX);
      requireNonEmpty(request.topicId, 'topic_id');
      return controller.alterPartition(request);
    },
  );
  const addObserver = unary<AddRaftObserverRequest__Output, AddRaftObserverResponse>(
    'BrokerLifecycle.AddRaftObserver',
    logger,
    async (request) => {
      requireInt(request.nodeId, 'node_id', 0, NODE_ID_MAX);
      requireNonEmpty(request.address, 'address');
      if (parseAddress(request.address) === null) {
        throw new InvalidArgumentError('address', `"${request.address}" is not host:port`);
      }
      if (request.clusterId !== deps.clusterId) {
        throw new BrokerError(
          'INCONSISTENT_CLUSTER_ID',
          `node ${request.nodeId} belongs to cluster ${request.clusterId}, this is ${deps.clusterId}`,
        );
      }
      const conf = deps.raft.status().confState;
      const known = [...conf.voters, ...conf.observers].find((m) => m.id === request.nodeId);
      if (known !== undefined) return {};
      await deps.raft.changeMembership({
        type: ConfChangeType.ADD_OBSERVER,
        nodeId: request.nodeId,
        address: request.address,
      });
      logger.info({ nodeId: request.nodeId, address: request.address }, 'added a Raft observer');
      return {};
    },
  );
  return {
    definition: tolerantDefinition(brookV1Peer().BrokerLifecycle.service),
    implementation: {
      RegisterBroker: register,
      BrokerHeartbeat: heartbeat,
      AlterPartition: alterPartition,
      AddRaftObserver: addObserver,
    },
  };
}
