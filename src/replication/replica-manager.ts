/**
 * The node's partition replicas, driven by the metadata image (Kafka's ReplicaManager acting on
 * metadata deltas). For every partition the image places on this node it keeps the role the
 * image gives: leader (a PartitionLeader in the image's leader epoch), follower (a fetcher from
 * the leader), or neither while the partition has no leader. It deletes the logs of removed
 * topics.
 *
 * Changes are reconciled one at a time against the newest image, off the metadata apply path:
 * a role change awaits I/O (pending appends settle before a leader steps down; a follower's
 * request in flight ends before it becomes leader), and Raft must not wait for that.
 */
import type { LogManager, PartitionLog } from '../log/index.js';
import type { MetadataChanges, MetadataImage, PartitionImage } from '../metadata/index.js';
import { FollowerFetcher, type ReplicaFetchClient } from './follower-fetcher.js';
import { PartitionLeader, type AlterIsr } from './partition-leader.js';

export interface ReplicaManagerOptions {
  readonly nodeId: number;
  readonly logs: LogManager;
  readonly client: ReplicaFetchClient;
  readonly alterIsr: AlterIsr;
  /** This node's current broker epoch (0 before it registered). */
  readonly brokerEpoch: () => number;
  readonly lagTimeMaxMs: number;
  readonly fetchWaitMaxMs: number;
  readonly fetchMaxBytes: number;
  readonly now: () => number;
  /** Told each time this node takes the leadership of a partition (in a new leader epoch). */
  readonly onLeader?: (leader: PartitionLeader) => void;
  readonly logger: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    debug(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
}

type Role =
  | { readonly kind: 'leader'; readonly leader: PartitionLeader }
  | {
      readonly kind: 'follower';
      readonly topicId: string;
      readonly partition: number;
      readonly leaderId: number;
      readonly leaderEpoch: number;
    }
  | { readonly kind: 'none' };

export class ReplicaManager {
  private readonly roles = new Map<string, Role>();
  private readonly fetchers = new Map<number, FollowerFetcher>();
  private latest: MetadataImage | null = null;
  private pendingDeletes: { topicId: string; partitions: number }[] = [];
  private isScheduled = false;
  private idle: Promise<void> = Promise.resolve();
  private readonly lagTimer: NodeJS.Timeout;
  private isClosed = false;
  /**
   * Whether the controller has this broker in service (unfenced). Until then the image may be
   * stale (a restarted node replays an old log first) and taking the roles it names could make
   * this node lead a partition it no longer leads, acknowledging writes nobody replicates; so
   * no role is taken, and no log deleted, before it.
   */
  private isInService = false;
  /** The newest image seen, kept while out of service. */
  private newest: MetadataImage | null = null;

  constructor(private readonly options: ReplicaManagerOptions) {
    this.lagTimer = setInterval(() => this.checkLag(), Math.max(10, options.lagTimeMaxMs / 4));
    this.lagTimer.unref();
  }

  /** The metadata listener: notes the newest image and reconciles in the background. */
  onImage(image: MetadataImage, changes: MetadataChanges): void {
    for (const topic of changes.deletedTopics) {
      this.pendingDeletes.push({ topicId: topic.topicId, partitions: topic.partitions.length });
    }
    this.newest = image;
    if (!this.isInService) return;
    this.latest = image;
    this.schedule();
  }

  /**
   * Called when the controller unfences this broker: its metadata has caught up. Roles are
   * taken from then on, and a local log whose partition the image does not place here is an
   * orphan of a deletion this node missed, and goes.
   */
  markInService(): void {
    if (this.isInService) return;
    this.isInService = true;
    this.latest = this.newest;
    this.schedule();
  }

  /**
   * Called when the controller fenced this broker while it was in service (its session
   * expired, e.g. it was cut off): it stops leading and following at once, since other
   * replicas lead in its place, until it is unfenced again.
   */
  markFenced(): void {
    if (!this.isInService) return;
    this.isInService = false;
    this.latest = null;
    this.idle = this.idle.catch(() => undefined).then(() => this.leaveAll());
  }

  /** The partition's leader state if this node leads it now, in the image's epoch. */
  leaderOf(topicId: string, partition: number): PartitionLeader | undefined {
    const role = this.roles.get(key(topicId, partition));
    if (role?.kind !== 'leader' || role.leader.resigned.aborted) return undefined;
    return role.leader;
  }

  /** Resolves once every image seen so far has been reconciled. */
  settled(): Promise<void> {
    return this.idle.catch(() => undefined);
  }

  async close(): Promise<void> {
    this.isClosed = true;
    clearInterval(this.lagTimer);
    await this.settled();
    for (const role of this.roles.values()) if (role.kind === 'leader') role.leader.resign();
    await Promise.all([...this.fetchers.values()].map((f) => f.close()));
  }

  /** Chains one drain after whatever runs now; several calls before it starts share it. */
  private schedule(): void {
    if (this.isScheduled || this.isClosed) return;
    this.isScheduled = true;
    this.idle = this.idle
      .catch(() => undefined)
      .then(async () => {
        this.isScheduled = false;
        await this.drain();
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const image = this.latest;
      const deletes = this.pendingDeletes;
      this.latest = null;
      this.pendingDeletes = [];
      if (image === null && deletes.length === 0) return;
      try {
        for (const deleted of deletes) await this.deleteTopic(deleted.topicId, deleted.partitions);
        if (image !== null) await this.reconcile(image);
      } catch (error) {
        this.options.logger.error({ err: error }, 'could not apply a metadata change to replicas');
        throw error;
      }
    }
  }

  private async reconcile(image: MetadataImage): Promise<void> {
    const wanted = new Set<string>();
    for (const topic of image.topicsById.values()) {
      for (const partition of topic.partitions) {
        if (!partition.replicas.includes(this.options.nodeId)) continue;
        wanted.add(key(topic.topicId, partition.partition));
        const log = await this.options.logs.createPartition(topic.topicId, partition.partition);
        await this.applyRole(image, topic.topicId, partition, log);
      }
    }
    for (const [id, role] of this.roles) {
      if (wanted.has(id)) continue;
      await this.leaveRole(role);
      this.roles.delete(id);
    }
    if (this.isInService) {
      for (const log of this.options.logs.partitions()) {
        if (wanted.has(key(log.topicId, log.partition))) continue;
        this.options.logger.info(
          { topicId: log.topicId, partition: log.partition },
          'deleting the log of a partition no longer placed on this node',
        );
        await this.options.logs.deletePartition(log.topicId, log.partition);
      }
    }
  }

  private async applyRole(
    image: MetadataImage,
    topicId: string,
    partition: PartitionImage,
    log: PartitionLog,
  ): Promise<void> {
    const id = key(topicId, partition.partition);
    const current = this.roles.get(id) ?? { kind: 'none' };
    const { nodeId } = this.options;
    if (partition.leader === nodeId) {
      if (current.kind === 'leader' && current.leader.leaderEpoch === partition.leaderEpoch) {
        current.leader.update(partition);
        return;
      }
      await this.leaveRole(current);
      log.setHighWatermarkFollowsDurableEnd(false);
      const leader = new PartitionLeader({
        nodeId,
        topicId,
        log,
        partition,
        lagTimeMaxMs: this.options.lagTimeMaxMs,
        alterIsr: this.options.alterIsr,
        now: this.options.now,
        onError: (reason, what) =>
          this.options.logger.info(
            { reason: typeof reason === 'string' ? reason : String(reason), partition: log.name },
            `${what} not done; retrying later`,
          ),
      });
      this.roles.set(id, { kind: 'leader', leader });
      // With an ISR of one the HW is this log's own end.
      leader.onAppended();
      this.options.onLeader?.(leader);
      this.options.logger.info(
        { partition: log.name, leaderEpoch: partition.leaderEpoch, isr: partition.isr },
        'leading partition',
      );
      return;
    }
    const broker = image.brokers.get(partition.leader);
    if (partition.leader < 0 || broker === undefined) {
      await this.leaveRole(current);
      this.roles.set(id, { kind: 'none' });
      return;
    }
    if (
      current.kind === 'follower' &&
      current.leaderId === partition.leader &&
      current.leaderEpoch === partition.leaderEpoch
    ) {
      return;
    }
    await this.leaveRole(current);
    log.setHighWatermarkFollowsDurableEnd(false);
    const fetcher = this.fetcherFor(partition.leader, `${broker.host}:${broker.port}`);
    fetcher.add(topicId, partition.partition, log, partition.leaderEpoch);
    this.roles.set(id, {
      kind: 'follower',
      topicId,
      partition: partition.partition,
      leaderId: partition.leader,
      leaderEpoch: partition.leaderEpoch,
    });
    this.options.logger.info(
      { partition: log.name, leaderId: partition.leader, leaderEpoch: partition.leaderEpoch },
      'following partition',
    );
  }

  private async leaveRole(role: Role): Promise<void> {
    if (role.kind === 'leader') {
      role.leader.resign();
      // Appends admitted in the old epoch finish before anything truncates the log.
      await role.leader.log.settle();
    } else if (role.kind === 'follower') {
      const fetcher = this.fetchers.get(role.leaderId);
      if (fetcher !== undefined) {
        await fetcher.remove(role.topicId, role.partition);
        if (fetcher.size === 0) {
          this.fetchers.delete(role.leaderId);
          await fetcher.close();
        }
      }
    }
  }

  private async leaveAll(): Promise<void> {
    for (const role of this.roles.values()) await this.leaveRole(role);
    this.roles.clear();
  }

  private fetcherFor(leaderId: number, address: string): FollowerFetcher {
    const existing = this.fetchers.get(leaderId);
    if (existing !== undefined && existing.leaderAddress === address) return existing;
    const fetcher = new FollowerFetcher({
      nodeId: this.options.nodeId,
      leaderId,
      leaderAddress: address,
      brokerEpoch: this.options.brokerEpoch,
      client: this.options.client,
      fetchWaitMaxMs: this.options.fetchWaitMaxMs,
      fetchMaxBytes: this.options.fetchMaxBytes,
      logger: this.options.logger,
    });
    this.fetchers.set(leaderId, fetcher);
    return fetcher;
  }

  private async deleteTopic(topicId: string, partitions: number): Promise<void> {
    for (let partition = 0; partition < partitions; partition++) {
      const id = key(topicId, partition);
      const role = this.roles.get(id);
      if (role !== undefined) await this.leaveRole(role);
      this.roles.delete(id);
      if (this.options.logs.partition(topicId, partition) !== undefined) {
        await this.options.logs.deletePartition(topicId, partition);
      }
    }
  }

  private checkLag(): void {
    for (const role of this.roles.values()) if (role.kind === 'leader') role.leader.checkLag();
  }
}

function key(topicId: string, partition: number): string {
  return `${topicId}/${partition}`;
}
