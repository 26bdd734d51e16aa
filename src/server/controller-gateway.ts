/**
 * The node's MetadataService: the image comes from the local metadata state machine; changes
 * go to the active controller. On the active controller they run locally; any other node
 * forwards them to the controller's Admin service (marked as forwarded, so they never hop
 * twice), retries through controller failovers until limits.controllerForwardTimeoutMs, and
 * answers only once its own image has applied the change, so a client that created a topic
 * through this node can use it here at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { limits } from '../config/index.js';
import { BrokerError } from '../errors/index.js';
import type {
  ConfigChange,
  CreateTopicInput,
  CreateTopicResult,
  ImageListener,
  ItemResult,
  MetadataImage,
  MetadataService,
  MetadataState,
  QuorumController,
  ReassignmentInput,
  ReassignmentResult,
  UnregisterBrokerResponse,
} from '../metadata/index.js';
import type {
  AlterConfigsResponse__Output,
  AlterPartitionReassignmentsResponse__Output,
  CreatePartitionsResponse__Output,
  CreateTopicsResponse__Output,
  DeleteTopicsResponse__Output,
  UnregisterBrokerResponse__Output,
} from '../proto/index.js';
import { isObserver } from '../raft/conf.js';
import { ConfChangeType, type ConfChange, type ConfState } from '../raft/types.js';
import type { PeerClients } from './peer-clients.js';

export interface ControllerGatewayOptions {
  readonly state: MetadataState;
  readonly controller: QuorumController | null;
  readonly peers: PeerClients;
  /** The active controller's node id and address as this node knows them, or null. */
  readonly controllerAddress: () => { nodeId: number; address: string } | null;
  /**
   * Resolves once this node has acted on the metadata it applied (partition roles taken), so
   * a topic created through this node can be produced to here at once.
   */
  readonly settled: () => Promise<void>;
  /**
   * The node's Raft member: its membership as this node sees it, and membership changes, which
   * only the Raft leader (where the active controller runs) can make.
   */
  readonly raft: {
    status(): { readonly confState: ConfState };
    changeMembership(change: ConfChange): Promise<void>;
  };
  readonly logger: Logger;
}

const RETRY_BACKOFF_MS = 100;

export class ControllerGateway implements MetadataService {
  constructor(private readonly options: ControllerGatewayOptions) {}

  image(): MetadataImage {
    return this.options.state.image();
  }

  onChange(listener: ImageListener): () => void {
    return this.options.state.onChange(listener);
  }

  controllerId(): number {
    return this.options.controllerAddress()?.nodeId ?? -1;
  }

  /** True when this node is the active controller. */
  isActiveController(): boolean {
    return this.options.controller?.active() === true;
  }

  createTopics(
    topics: readonly CreateTopicInput[],
    validateOnly: boolean,
  ): Promise<CreateTopicResult[]> {
    return this.route(
      (c) => c.createTopics(topics, validateOnly),
      async (address) => {
        const response = await this.forward<CreateTopicsResponse__Output>(address, 'CreateTopics', {
          topics: topics.map((t) => ({
            name: t.name,
            ...(t.partitions === null ? {} : { partitions: t.partitions }),
            ...(t.replicationFactor === null ? {} : { replicationFactor: t.replicationFactor }),
            configs: Object.fromEntries(t.configs),
          })),
          validateOnly,
        });
        return response.results.map((r) => ({ ...r, errorCode: r.errorCode }));
      },
    );
  }

  deleteTopics(names: readonly string[]): Promise<ItemResult[]> {
    return this.route(
      (c) => c.deleteTopics(names),
      async (address) =>
        (await this.forward<DeleteTopicsResponse__Output>(address, 'DeleteTopics', { names }))
          .results,
    );
  }

  createPartitions(
    requests: readonly { name: string; count: number }[],
    validateOnly: boolean,
  ): Promise<ItemResult[]> {
    return this.route(
      (c) => c.createPartitions(requests, validateOnly),
      async (address) =>
        (
          await this.forward<CreatePartitionsResponse__Output>(address, 'CreatePartitions', {
            topics: requests,
            validateOnly,
          })
        ).results,
    );
  }

  alterPartitionReassignments(inputs: readonly ReassignmentInput[]): Promise<ReassignmentResult[]> {
    return this.route(
      (c) => c.alterPartitionReassignments(inputs),
      async (address) =>
        (
          await this.forward<AlterPartitionReassignmentsResponse__Output>(
            address,
            'AlterPartitionReassignments',
            {
              partitions: inputs.map((i) => ({
                topic: i.topic,
                partition: i.partition,
                replicas: i.replicas ?? [],
                cancel: i.replicas === null,
              })),
            },
          )
        ).results,
    );
  }

  /**
   * Drops broker `brokerId`'s registration (the controller's checks are in unregister.ts), then,
   * if it is a Raft observer, takes it out of the metadata quorum. Both steps run on the active
   * controller, the Raft leader; other nodes forward the call there.
   *
   * The record goes first: the controller checks in its one queue that the broker holds no
   * replica and is stopped, and only a broker that passed those checks leaves the quorum. (The
   * other order could take a running broker off the metadata log and then refuse to unregister
   * it.) A crash or a lost leadership between the two steps leaves the broker unregistered but
   * still an observer, which costs the leader some replication attempts to a dead address and
   * shows in DescribeCluster's quorum. A rerun finishes the job: when the controller answers
   * BROKER_ID_NOT_REGISTERED and the id is still an observer, the observer is removed and the
   * answer is NONE. A lost leadership is retried by route(), so it reruns on the new controller.
   */
  unregisterBroker(brokerId: number): Promise<UnregisterBrokerResponse> {
    return this.route(
      (c) => this.unregisterHere(c, brokerId),
      async (address) => {
        const response = await this.forward<UnregisterBrokerResponse__Output>(
          address,
          'UnregisterBroker',
          { brokerId },
        );
        return { errorCode: response.errorCode, errorMessage: response.errorMessage };
      },
    );
  }

  private async unregisterHere(
    controller: QuorumController,
    brokerId: number,
  ): Promise<UnregisterBrokerResponse> {
    const answer = await controller.unregisterBroker(brokerId);
    const isUnregistered =
      answer.errorCode === 'NONE' || answer.errorCode === 'BROKER_ID_NOT_REGISTERED';
    if (!isUnregistered || !isObserver(this.options.raft.status().confState, brokerId)) {
      return answer;
    }
    await this.options.raft.changeMembership({
      type: ConfChangeType.REMOVE_OBSERVER,
      nodeId: brokerId,
      address: '',
    });
    this.options.logger.info(
      { brokerId },
      'removed an unregistered broker from the Raft observers',
    );
    return { errorCode: 'NONE', errorMessage: '' };
  }

  alterTopicConfigs(
    name: string,
    changes: readonly ConfigChange[],
    validateOnly: boolean,
  ): Promise<ItemResult> {
    return this.route(
      (c) => c.alterTopicConfigs(name, changes, validateOnly),
      (address) => this.forwardAlterConfigs(address, 'TOPIC', name, changes, validateOnly),
    );
  }

  alterBrokerConfigs(
    resource: string,
    changes: readonly ConfigChange[],
    validateOnly: boolean,
  ): Promise<ItemResult> {
    return this.route(
      (c) => c.alterBrokerConfigs(resource, changes, validateOnly),
      (address) => this.forwardAlterConfigs(address, 'BROKER', resource, changes, validateOnly),
    );
  }

  private async forwardAlterConfigs(
    address: string,
    type: 'TOPIC' | 'BROKER',
    name: string,
    changes: readonly ConfigChange[],
    validateOnly: boolean,
  ): Promise<ItemResult> {
    const response = await this.forward<AlterConfigsResponse__Output>(address, 'AlterConfigs', {
      resources: [
        {
          resource: { type, name },
          ops: changes.map((c) =>
            c.value === null
              ? { name: c.name, op: 'DELETE', value: '' }
              : { name: c.name, op: 'SET', value: c.value },
          ),
        },
      ],
      validateOnly,
    });
    const result = response.results[0];
    if (result === undefined) throw new BrokerError('UNKNOWN_SERVER_ERROR', 'empty answer');
    return { name, errorCode: result.errorCode, errorMessage: result.errorMessage };
  }

  /**
   * Runs locally on the active controller, else forwards; retries NOT_CONTROLLER and
   * unreachable controllers (a failover) until the forward bound.
   */
  private async route<T>(
    local: (controller: QuorumController) => Promise<T>,
    remote: (address: string) => Promise<T>,
  ): Promise<T> {
    const deadline = Date.now() + limits.controllerForwardTimeoutMs;
    for (;;) {
      try {
        const controller = this.options.controller;
        let answer: T;
        if (controller?.active() === true) {
          answer = await local(controller);
        } else {
          const target = this.options.controllerAddress();
          if (target === null) {
            throw new BrokerError('NOT_CONTROLLER', 'no active controller is known yet');
          }
          answer = await remote(target.address);
        }
        // Bounded: this node acts on what it applied (partition roles taken) before answering.
        await atMost(this.options.settled());
        return answer;
      } catch (error) {
        const isRetriable =
          (error instanceof BrokerError && error.code === 'NOT_CONTROLLER') ||
          !(error instanceof BrokerError);
        if (!isRetriable || Date.now() + RETRY_BACKOFF_MS > deadline) throw error;
        this.options.logger.debug({ err: error }, 'controller unavailable; retrying');
        await sleep(RETRY_BACKOFF_MS);
      }
    }
  }

  /** Calls the controller's Admin service, then waits until this node applied the change. */
  private async forward<Res>(address: string, method: string, request: object): Promise<Res> {
    const response = await this.options.peers.call<Res>('Admin', address, method, request, {
      deadlineMs: limits.controllerForwardTimeoutMs,
      forwarded: true,
    });
    const offset = (response as { metadataOffset?: number }).metadataOffset ?? -1;
    if (offset > 0) await atMost(this.options.state.waitForOffset(offset));
    return response;
  }
}

/**
 * Waits for `work`, but no longer than limits.metadataCatchUpTimeoutMs: catching up locally
 * is a courtesy to the caller (use a change here at once), not a condition of the answer.
 */
async function atMost(work: Promise<void>): Promise<void> {
  const bound = new AbortController();
  await Promise.race([
    work,
    sleep(limits.metadataCatchUpTimeoutMs, undefined, { signal: bound.signal }).catch(
      () => undefined,
    ),
  ]);
  bound.abort();
}
