/**
 * What the SDK knows about the cluster: brokers by node id, and per topic its partition count and
 * each partition's leader. Filled by the Metadata RPC, refreshed on demand (after
 * UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_OR_FOLLOWER) and when older than metadataMaxAgeMs.
 *
 * Producers and consumers route straight to partition leaders with it; when a leader is unknown
 * they wait for a refresh rather than guess, because a guess costs a forwarded hop at best.
 */
import type { MetadataResponse__Output } from '../proto/index.js';
import { brokerErrorOf, callUnary, isRetriable, type ConnectionPool } from './connection.js';
import type { LeaderHint } from '../errors/index.js';

/** One partition as the cache last saw it. */
export interface PartitionInfo {
  readonly partition: number;
  /** Node id of the leader, -1 when none. */
  readonly leaderId: number;
  readonly leaderEpoch: number;
  /** `host:port` of the leader, null when there is none or it is not a live broker. */
  readonly leaderAddress: string | null;
}

/** One topic as the cache last saw it; `partitions` is indexed by partition number. */
export interface TopicInfo {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: readonly PartitionInfo[];
  /** Date.now() when this answer arrived. */
  readonly fetchedAtMs: number;
}

export interface MetadataCacheOptions {
  /** Deadline of one Metadata call. */
  readonly requestTimeoutMs: number;
  /** Refresh a topic whose entry is older than this, in ms. */
  readonly metadataMaxAgeMs: number;
}

/** Formats a broker's address; IPv6 hosts get brackets. */
export function brokerAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The topic/leader cache. Entries are immutable snapshots: a refresh replaces a topic's entry, it
 * never edits one, so a caller may keep a TopicInfo across awaits. Refreshes of one topic are
 * coalesced: concurrent callers share one Metadata call.
 */
export class MetadataCache {
  private readonly topics = new Map<string, TopicInfo>();
  private readonly stale = new Set<string>();
  private readonly refreshing = new Map<string, Promise<TopicInfo | null>>();
  private readonly brokers = new Map<number, string>();
  /** Rotates the first address tried, so one dead bootstrap broker is not always hit first. */
  private nextAddressIndex = 0;

  constructor(
    private readonly pool: ConnectionPool,
    private readonly bootstrap: readonly string[],
    private readonly options: MetadataCacheOptions,
  ) {}

  /** The cached entry of `topic` if it is present and neither stale nor too old. */
  fresh(topic: string): TopicInfo | null {
    const info = this.topics.get(topic);
    if (info === undefined || this.stale.has(topic)) return null;
    if (Date.now() - info.fetchedAtMs > this.options.metadataMaxAgeMs) return null;
    return info;
  }

  /** The cached entry of `topic`, however old, or null. */
  cached(topic: string): TopicInfo | null {
    return this.topics.get(topic) ?? null;
  }

  /** True while the entry of `topic` waits for a refresh (after markStale). */
  isStale(topic: string): boolean {
    return this.stale.has(topic) || !this.topics.has(topic);
  }

  /** The leader address of a partition from the cache, or null when unknown. */
  leaderAddress(topic: string, partition: number): string | null {
    return this.topics.get(topic)?.partitions[partition]?.leaderAddress ?? null;
  }

  /** Asks for a refresh of `topic` before its next use, e.g. after NOT_LEADER_OR_FOLLOWER. */
  markStale(topic: string): void {
    this.stale.add(topic);
  }

  /**
   * Records the leader a NOT_LEADER_OR_FOLLOWER answer named, so the next request goes there
   * without waiting for a Metadata call. The topic is not marked stale: a Metadata answer from a
   * broker that has not yet seen the change would send the request back to the old leader. (The
   * hint carries no leader epoch, so the cache cannot order it against metadata; the newest
   * information simply wins.)
   */
  applyLeaderHint(topic: string, partition: number, hint: LeaderHint): void {
    const info = this.topics.get(topic);
    const current = info?.partitions[partition];
    if (info === undefined || current === undefined) return;
    const partitions = info.partitions.slice();
    partitions[partition] = { ...current, leaderId: hint.nodeId, leaderAddress: hint.address };
    this.topics.set(topic, { ...info, partitions });
  }

  /**
   * The entry of `topic`, from the cache when fresh, else from a Metadata call. Resolves null
   * when the cluster says the topic does not exist. Rejects with a ClientError when no broker
   * answered.
   */
  async topic(topic: string): Promise<TopicInfo | null> {
    return this.fresh(topic) ?? this.refresh(topic);
  }

  /** Fetches `topic` now (sharing a call already in flight). */
  refresh(topic: string): Promise<TopicInfo | null> {
    let pending = this.refreshing.get(topic);
    if (pending === undefined) {
      pending = this.load(topic).finally(() => this.refreshing.delete(topic));
      this.refreshing.set(topic, pending);
    }
    return pending;
  }

  /**
   * One Metadata call for `topics` (all when empty), tried on each known address in turn until
   * one answers. Updates the broker list and the entries of the topics it returns.
   */
  async fetch(topics: readonly string[]): Promise<MetadataResponse__Output> {
    const addresses = this.addresses();
    let lastError: unknown = null;
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[(this.nextAddressIndex + i) % addresses.length];
      if (address === undefined) continue;
      try {
        const response = await callUnary<MetadataResponse__Output>(
          address,
          this.options.requestTimeoutMs,
          (options, callback) =>
            this.pool.broker(address).metadata({ topics: [...topics] }, options, callback),
        );
        this.update(response);
        return response;
      } catch (error: unknown) {
        lastError = error;
        // A connection failure means try elsewhere; anything else is the cluster's answer.
        if (!isRetriable(error)) throw error;
        this.nextAddressIndex = (this.nextAddressIndex + 1) % addresses.length;
      }
    }
    throw lastError;
  }

  /** Addresses to ask for metadata: the bootstrap list first, then brokers learned since. */
  addresses(): string[] {
    const addresses = [...this.bootstrap];
    for (const address of this.brokers.values()) {
      if (!addresses.includes(address)) addresses.push(address);
    }
    return addresses;
  }

  private async load(topic: string): Promise<TopicInfo | null> {
    const response = await this.fetch([topic]);
    const found = response.topics.find((entry) => entry.name === topic);
    if (found === undefined) return null;
    const error = brokerErrorOf(found.errorCode, `topic "${topic}"`);
    if (error !== null) {
      if (error.code === 'UNKNOWN_TOPIC_OR_PARTITION') return null;
      throw error;
    }
    return this.topics.get(topic) ?? null;
  }

  private update(response: MetadataResponse__Output): void {
    const fetchedAtMs = Date.now();
    // Every answer lists all live brokers, so the map is replaced rather than merged: a broker
    // that left must not stay a routing target.
    this.brokers.clear();
    for (const broker of response.brokers) {
      this.brokers.set(broker.nodeId, brokerAddress(broker.host, broker.port));
    }
    for (const entry of response.topics) {
      if (entry.errorCode !== 'NONE') {
        if (entry.errorCode === 'UNKNOWN_TOPIC_OR_PARTITION') this.topics.delete(entry.name);
        continue;
      }
      const partitions: PartitionInfo[] = [];
      for (const partition of entry.partitions) {
        partitions[partition.partition] = {
          partition: partition.partition,
          leaderId: partition.leaderId,
          leaderEpoch: partition.leaderEpoch,
          leaderAddress:
            partition.leaderId >= 0 ? (this.brokers.get(partition.leaderId) ?? null) : null,
        };
      }
      this.topics.set(entry.name, {
        name: entry.name,
        topicId: entry.topicId,
        partitions,
        fetchedAtMs,
      });
      this.stale.delete(entry.name);
    }
  }
}
