/**
 * The active controller, KRaft-style: every voter runs one, and it acts only while its node is
 * the Raft leader. Operations run one at a time from a queue (no locks, as in Kafka's
 * QuorumController): each computes records with a pure handler from the current image,
 * proposes them as one Raft entry, and answers once the entry is committed and applied here,
 * so the next operation computes from an image that includes it.
 *
 * A new leader becomes active only after an entry of its own term has applied: then its image
 * holds every record committed before it (Raft's leader completeness), and handlers never
 * compute from a stale one.
 *
 * Broker sessions (last heartbeat, controlled-shutdown requests) live in memory, as in Kafka: a
 * new controller gives every unfenced broker a full session timeout from its activation.
 */
import {
  alterPartitionReassignments,
  type ReassignmentInput,
  type ReassignmentResult,
} from './reassignments.js';
import type { Logger } from 'pino';
import { BrokerError, type LeaderHint } from '../../errors/index.js';
import { Role, type SoftState } from '../../raft/types.js';
import type { MetadataImage } from '../image.js';
import { encodeMetadataEntry } from '../records.js';
import { alterBrokerConfigs } from './broker-configs.js';
import {
  brokerHeartbeat,
  electLeaders,
  fenceBroker,
  rebalancePreferredLeaders,
  registerBroker,
  type BrokerHeartbeatInput,
  type BrokerHeartbeatResponse,
  type Liveness,
  type RegisterBrokerInput,
  type RegisterBrokerResponse,
} from './brokers.js';
import {
  alterPartition,
  type AlterPartitionInput,
  type AlterPartitionResponse,
} from './partitions.js';
import { unregisterBroker, type UnregisterBrokerResponse } from './unregister.js';
import {
  alterTopicConfigs,
  createPartitions,
  createTopics,
  deleteTopics,
  type ConfigChange,
  type ControllerResult,
  type CreateDefaults,
  type CreateTopicInput,
  type CreateTopicResult,
  type ItemResult,
} from './topics.js';

/** What the controller needs from the node's Raft member. */
export interface ControllerRaft {
  /** Resolves once the entries are committed and applied on this node; rejects otherwise. */
  propose(entries: readonly Uint8Array[]): Promise<{ lastIndex: number; term: number }>;
  onRoleChange(listener: (state: SoftState) => void): void;
  /** The current role, leader and term. */
  softState(): SoftState;
}

export interface QuorumControllerOptions {
  readonly nodeId: number;
  readonly raft: ControllerRaft;
  readonly image: () => MetadataImage;
  /** The address of a node, for NOT_CONTROLLER hints; null when unknown. */
  readonly addressOf: (nodeId: number) => string | null;
  readonly sessionTimeoutMs: number;
  /** How often sessions are checked; also the granularity of fencing. */
  readonly checkIntervalMs: number;
  /** Preferred-leader rebalancing period; 0 turns it off. */
  readonly rebalanceIntervalMs: number;
  /** Whether a topic's partitions may elect a replica outside the ISR. */
  readonly isUncleanEnabled: (image: MetadataImage, topicId: string) => boolean;
  /** Partition count and replication factor of a topic created without them. */
  readonly defaults: CreateDefaults;
  readonly newTopicId: () => string;
  readonly now: () => number;
  readonly logger: Logger;
}

/** Records per rebalancing entry, so one Raft entry stays small. */
const REBALANCE_CHANGES_MAX = 100;

export class QuorumController {
  private isActive = false;
  /** The term this controller is (becoming) active in; -1 when not the leader. */
  private activeTerm = -1;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly lastHeartbeatMs = new Map<number, number>();
  private readonly shuttingDown = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private lastRebalanceMs = 0;
  private isClosed = false;

  constructor(private readonly options: QuorumControllerOptions) {
    options.raft.onRoleChange((state) => this.onRoleChange(state));
    this.onRoleChange(options.raft.softState());
  }

  /** True while this node is the active controller and has caught up with the log. */
  active(): boolean {
    return this.isActive;
  }

  /** Runs `handler` as one controller operation; see the module comment. */
  run<T>(handler: (image: MetadataImage) => ControllerResult<T>, validateOnly = false): Promise<T> {
    const next = this.queue.then(async () => {
      this.requireActive();
      const result = handler(this.options.image());
      if (validateOnly || result.records.length === 0) return result.response;
      await this.options.raft.propose([encodeMetadataEntry(result.records)]);
      return result.response;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  registerBroker(input: RegisterBrokerInput): Promise<RegisterBrokerResponse> {
    return this.run((image) => {
      const result = registerBroker(image, input, this.liveness(image), (topicId) =>
        this.options.isUncleanEnabled(image, topicId),
      );
      this.lastHeartbeatMs.set(input.brokerId, this.options.now());
      this.shuttingDown.delete(input.brokerId);
      return result;
    });
  }

  /**
   * Also answers the metadata offset applied once the heartbeat's own records are: every
   * leadership change made before the broker sent it is at or below that (its controller lease).
   */
  async brokerHeartbeat(
    input: BrokerHeartbeatInput,
  ): Promise<BrokerHeartbeatResponse & { readonly metadataOffset: number }> {
    const response = await this.run((image) => {
      const broker = image.brokers.get(input.brokerId);
      if (broker !== undefined && broker.brokerEpoch === input.brokerEpoch) {
        this.lastHeartbeatMs.set(input.brokerId, this.options.now());
        if (input.wantShutDown) this.shuttingDown.add(input.brokerId);
      }
      return brokerHeartbeat(image, input, this.liveness(image), (topicId) =>
        this.options.isUncleanEnabled(image, topicId),
      );
    });
    return { ...response, metadataOffset: this.options.image().offset };
  }

  alterPartition(input: AlterPartitionInput): Promise<AlterPartitionResponse> {
    return this.run((image) => alterPartition(image, input, this.liveness(image)));
  }

  /**
   * Drops a broker's registration (unregister.ts has the refusals). Its session goes with it,
   * dropped when the operation runs rather than once it commits: only unfenced brokers' sessions
   * are consulted, and a fenced broker that registers again starts a new one either way.
   */
  unregisterBroker(brokerId: number): Promise<UnregisterBrokerResponse> {
    return this.run((image) => {
      const result = unregisterBroker(image, brokerId);
      if (result.records.length > 0) {
        this.lastHeartbeatMs.delete(brokerId);
        this.shuttingDown.delete(brokerId);
      }
      return result;
    });
  }

  createTopics(
    topics: readonly CreateTopicInput[],
    validateOnly: boolean,
  ): Promise<CreateTopicResult[]> {
    return this.run(
      (image) => createTopics(image, topics, this.options.defaults, this.options.newTopicId),
      validateOnly,
    );
  }

  deleteTopics(names: readonly string[]): Promise<ItemResult[]> {
    return this.run((image) => deleteTopics(image, names));
  }

  createPartitions(
    requests: readonly { name: string; count: number }[],
    validateOnly: boolean,
  ): Promise<ItemResult[]> {
    return this.run((image) => createPartitions(image, requests), validateOnly);
  }

  alterTopicConfigs(
    name: string,
    changes: readonly ConfigChange[],
    validateOnly: boolean,
  ): Promise<ItemResult> {
    return this.run((image): ControllerResult<ItemResult> => {
      const topic = image.topic(name);
      if (topic === undefined) {
        const errorMessage = `topic "${name}" does not exist`;
        return {
          records: [],
          response: { name, errorCode: 'UNKNOWN_TOPIC_OR_PARTITION', errorMessage },
        };
      }
      const { records, error } = alterTopicConfigs(topic, changes);
      if (error !== null) {
        return {
          records: [],
          response: { name, errorCode: error.code, errorMessage: error.message },
        };
      }
      return { records, response: { name, errorCode: 'NONE', errorMessage: '' } };
    }, validateOnly);
  }

  alterPartitionReassignments(inputs: readonly ReassignmentInput[]): Promise<ReassignmentResult[]> {
    return this.run((image) => alterPartitionReassignments(image, inputs, this.liveness(image)));
  }

  alterBrokerConfigs(
    resource: string,
    changes: readonly ConfigChange[],
    validateOnly: boolean,
  ): Promise<ItemResult> {
    return this.run((): ControllerResult<ItemResult> => {
      const { records, error } = alterBrokerConfigs(resource, changes);
      const response =
        error === null
          ? { name: resource, errorCode: 'NONE' as const, errorMessage: '' }
          : { name: resource, errorCode: error.code, errorMessage: error.message };
      return { records, response };
    }, validateOnly);
  }

  /** Stops the timers; queued operations still settle. */
  close(): void {
    this.isClosed = true;
    this.deactivate();
  }

  /** Eligible to lead or join an ISR: registered, unfenced, heartbeating, not shutting down. */
  private liveness(image: MetadataImage): Liveness {
    return {
      isEligible: (brokerId) => {
        const broker = image.brokers.get(brokerId);
        return broker !== undefined && !broker.fenced && !this.shuttingDown.has(brokerId);
      },
    };
  }

  private onRoleChange(state: SoftState): void {
    if (this.isClosed) return;
    if (state.role !== Role.LEADER) {
      if (this.activeTerm !== -1) this.deactivate();
      return;
    }
    if (this.activeTerm === state.term) return;
    this.deactivate();
    this.activeTerm = state.term;
    const term = state.term;
    // An empty entry of our own term: once it applies, so has everything committed before.
    this.options.raft.propose([encodeMetadataEntry([])]).then(
      () => {
        if (this.activeTerm !== term || this.isClosed) return;
        this.activate();
      },
      (error: unknown) => {
        this.options.logger.info(
          { err: error, term },
          'lost the Raft leadership before becoming the active controller',
        );
      },
    );
  }

  private activate(): void {
    const now = this.options.now();
    this.lastHeartbeatMs.clear();
    this.shuttingDown.clear();
    for (const broker of this.options.image().brokers.values()) {
      if (!broker.fenced) this.lastHeartbeatMs.set(broker.brokerId, now);
    }
    this.lastRebalanceMs = now;
    this.isActive = true;
    this.timer = setInterval(() => this.check(), this.options.checkIntervalMs);
    this.timer.unref();
    this.options.logger.info(
      { term: this.activeTerm, metadataOffset: this.options.image().offset },
      'this node is now the active controller',
    );
    // Partitions left leaderless while no controller was active get a leader now.
    this.runInBackground('elect leaders', (image) =>
      electLeaders(image, this.liveness(image), (topicId) =>
        this.options.isUncleanEnabled(image, topicId),
      ),
    );
  }

  private deactivate(): void {
    if (this.isActive) this.options.logger.info({}, 'no longer the active controller');
    this.isActive = false;
    this.activeTerm = -1;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Fences brokers whose session expired; rebalances preferred leaders now and then. */
  private check(): void {
    if (!this.isActive) return;
    const now = this.options.now();
    for (const broker of this.options.image().brokers.values()) {
      if (broker.fenced) continue;
      const last = this.lastHeartbeatMs.get(broker.brokerId) ?? now;
      if (now - last <= this.options.sessionTimeoutMs) continue;
      this.options.logger.warn(
        { brokerId: broker.brokerId, silentMs: now - last },
        'broker session expired: fencing it and moving its partition leaderships',
      );
      this.lastHeartbeatMs.delete(broker.brokerId);
      this.runInBackground('fence broker', (image) =>
        fenceBroker(image, broker.brokerId, this.liveness(image), (topicId) =>
          this.options.isUncleanEnabled(image, topicId),
        ),
      );
    }
    const interval = this.options.rebalanceIntervalMs;
    if (interval > 0 && now - this.lastRebalanceMs >= interval) {
      this.lastRebalanceMs = now;
      this.runInBackground('rebalance preferred leaders', (image) =>
        rebalancePreferredLeaders(image, this.liveness(image), REBALANCE_CHANGES_MAX),
      );
    }
  }

  private runInBackground<T>(
    what: string,
    handler: (image: MetadataImage) => ControllerResult<T>,
  ): void {
    this.run(handler).catch((error: unknown) => {
      this.options.logger.info({ err: error }, `controller could not ${what}; it will retry`);
    });
  }

  private requireActive(): void {
    if (this.isActive) return;
    const { leader } = this.options.raft.softState();
    const address = leader >= 0 ? this.options.addressOf(leader) : null;
    const hint: LeaderHint | null =
      address === null || leader === this.options.nodeId ? null : { nodeId: leader, address };
    throw new BrokerError(
      'NOT_CONTROLLER',
      leader >= 0 && leader !== this.options.nodeId
        ? `node ${this.options.nodeId} is not the active controller; node ${leader} is`
        : `node ${this.options.nodeId} is not the active controller and knows of none yet`,
      hint,
    );
  }
}
