/**
 * The groups of one __consumer_offsets partition, on the node that leads it (in one leader
 * epoch). It rebuilds their state by replaying the partition, answers COORDINATOR_LOAD_IN_PROGRESS
 * until it has (and until everything it replayed is committed), then serves heartbeats, commits
 * and admin calls.
 *
 * Every change is a record appended with acks=all before it takes effect: the in-memory state is
 * only ever what the committed log says. Operations on one group run one at a time (a lane per
 * group), so each computes from the state the previous one left; different groups proceed
 * concurrently and share group commits. When an append's outcome is unknown (timed out, or the
 * leadership moved), memory may no longer match the log: the shard fails, and its owner replays
 * the partition into a new one.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { GroupSettings } from '../config/index.js';
import { RecordBatch, decodeRecords, encodeBatch, type RecordInput } from '../codec/index.js';
import { BrokerError } from '../errors/index.js';
import type { PartitionLog } from '../log/index.js';
import { waitForHighWatermark, type PartitionLeader } from '../replication/index.js';
import {
  checkMemberCommit,
  heartbeat,
  removeMember,
  type HeartbeatInput,
  type HeartbeatOutcome,
} from './group-state.js';
import type { GroupMember, GroupState, OffsetAndMetadata } from './model.js';
import {
  OffsetsRecordError,
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  encodeGroupValue,
  encodeOffsetValue,
  groupKey,
  offsetKey,
} from './records.js';

/** Bytes read per step while replaying. */
const LOAD_READ_BYTES = 1024 * 1024;

export interface ShardOptions {
  readonly partition: number;
  readonly log: PartitionLog;
  readonly leader: PartitionLeader;
  readonly settings: GroupSettings;
  /** min.insync.replicas of __consumer_offsets now. */
  readonly minInsyncReplicas: () => number;
  /** Every topic of the cluster with its partition count. */
  readonly topics: () => ReadonlyMap<string, number>;
  /** The id of the topic of this name now; undefined when there is none. */
  readonly topicIdOf: (name: string) => string | undefined;
  readonly now: () => number;
  /**
   * Whether this broker's controller lease holds: without it the node cannot be sure it still
   * leads the partition, so it answers nothing (see src/server/controller-lease.ts).
   */
  readonly leaseHeld: () => boolean;
  /**
   * How long a previous leader of the partition may still be answering members after this shard
   * started: no member is removed before this long plus its timeout has passed since the start.
   */
  readonly takeoverDelayMs: number;
  readonly logger: Logger;
  /** Called once when the shard fails (memory may differ from the log): replay it anew. */
  readonly onFailed: (shard: CoordinatorShard) => void;
}

/** One group's state in the shard. */
interface GroupEntry {
  readonly groupId: string;
  /** Undefined while the group has only committed offsets (no member ever joined). */
  state: GroupState | undefined;
  /** The bytes of the last group record written or replayed, to skip writing no change. */
  stateBytes: Buffer | undefined;
  readonly offsets: Map<string, OffsetAndMetadata>;
  lane: Promise<unknown>;
  readonly sessionTimers: Map<string, NodeJS.Timeout>;
  readonly revocationTimers: Map<string, NodeJS.Timeout>;
}

export interface OffsetCommitInput {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
}

/** A commit's outcome for one partition: NONE, or why it was refused. */
export interface OffsetCommitOutcome {
  readonly topic: string;
  readonly partition: number;
  readonly error: BrokerError | null;
}

export interface GroupView {
  readonly groupId: string;
  readonly state: GroupState | undefined;
  readonly offsets: ReadonlyMap<string, OffsetAndMetadata>;
}

export type ShardStatus = 'loading' | 'active' | 'failed' | 'closed';

export class CoordinatorShard {
  readonly partition: number;
  private status: ShardStatus = 'loading';
  private readonly groups = new Map<string, GroupEntry>();
  private readonly loaded: Promise<void>;
  /** Monotonic time until which the previous leader may still answer heartbeats from memory. */
  private readonly takeoverEndsMs: number;

  constructor(private readonly options: ShardOptions) {
    this.partition = options.partition;
    this.takeoverEndsMs = performance.now() + options.takeoverDelayMs;
    options.leader.resigned.addEventListener('abort', () => this.close(), { once: true });
    this.loaded = this.load().catch((error: unknown) => {
      if (this.status === 'closed') return;
      options.logger.error(
        { err: error, partition: this.partition },
        'could not replay a partition of __consumer_offsets; its groups are unavailable',
      );
      this.fail(error);
    });
  }

  get state(): ShardStatus {
    return this.status;
  }

  /** Resolves once the replay ended (loaded, failed or closed). */
  whenLoaded(): Promise<void> {
    return this.loaded;
  }

  /** Stops serving at once (leadership moved, or the node stops); pending answers fail. */
  close(): void {
    if (this.status === 'closed') return;
    this.status = 'closed';
    this.clearAllTimers();
  }

  // ---- Calls ----------------------------------------------------------------------------------

  heartbeat(input: HeartbeatInput): Promise<HeartbeatOutcome> {
    return this.run(input.groupId, async (entry) => {
      const outcome = heartbeat(entry.state, input, {
        topics: this.options.topics(),
        newMemberId: randomUUID,
        settings: this.options.settings,
      });
      await this.saveState(entry, outcome.group);
      this.afterHeartbeat(entry, outcome.member, input.memberId);
      return outcome;
    });
  }

  commitOffsets(
    groupId: string,
    memberId: string,
    memberEpoch: number,
    commits: readonly OffsetCommitInput[],
  ): Promise<OffsetCommitOutcome[]> {
    return this.run(groupId, async (entry) => {
      checkMemberCommit(entry.state, memberId, memberEpoch);
      const topics = this.options.topics();
      const nowMs = this.options.now();
      const outcomes: OffsetCommitOutcome[] = [];
      const writes: { key: string; value: OffsetAndMetadata; record: RecordInput }[] = [];
      for (const commit of commits) {
        const error = this.commitError(commit, topics);
        outcomes.push({ topic: commit.topic, partition: commit.partition, error });
        if (error !== null) continue;
        const value: OffsetAndMetadata = {
          offset: commit.offset,
          leaderEpoch: commit.leaderEpoch,
          metadata: commit.metadata,
          commitTimestampMs: nowMs,
          ...this.topicIdField(commit.topic),
        };
        writes.push({
          key: partitionKey(commit.topic, commit.partition),
          value,
          record: record(
            offsetKey(groupId, commit.topic, commit.partition),
            encodeOffsetValue(value),
            nowMs,
          ),
        });
      }
      if (writes.length > 0) await this.write(writes.map((w) => w.record));
      for (const w of writes) entry.offsets.set(w.key, w.value);
      return outcomes;
    });
  }

  /** The group's committed state now (offsets and members), or undefined when it has none. */
  view(groupId: string): GroupView | undefined {
    this.requireServing();
    const entry = this.groups.get(groupId);
    if (entry === undefined) return undefined;
    const offsets = this.currentOffsets(entry);
    if (entry.state === undefined && offsets.size === 0) return undefined;
    return { groupId, state: entry.state, offsets };
  }

  /** Every group of the shard (with members or committed offsets). */
  list(): GroupView[] {
    this.requireServing();
    return [...this.groups.values()]
      .map((e) => ({ groupId: e.groupId, state: e.state, offsets: this.currentOffsets(e) }))
      .filter((view) => view.state !== undefined || view.offsets.size > 0);
  }

  /**
   * The group's offsets for topics as they are now: an offset committed for a topic since
   * deleted (and perhaps created again under its name, with a new id) is left out, as Kafka
   * drops the offsets of a deleted topic. It stays in the log, overwritten by the next commit
   * for the name or dropped with the group.
   */
  private currentOffsets(entry: GroupEntry): Map<string, OffsetAndMetadata> {
    const current = new Map<string, OffsetAndMetadata>();
    for (const [key, value] of entry.offsets) {
      const topicId = this.options.topicIdOf(splitPartitionKey(key)[0]);
      if (topicId === undefined) continue;
      if (value.topicId !== undefined && value.topicId !== topicId) continue;
      current.set(key, value);
    }
    return current;
  }

  /** `{ topicId }` of the topic named `topic` now, for an offset about to be written. */
  private topicIdField(topic: string): { topicId?: string } {
    const topicId = this.options.topicIdOf(topic);
    return topicId === undefined ? {} : { topicId };
  }

  /** Deletes a group with no members, and its offsets. */
  deleteGroup(groupId: string): Promise<void> {
    return this.run(groupId, async (entry) => {
      if (isGone(entry)) {
        throw new BrokerError('GROUP_ID_NOT_FOUND', `group "${groupId}" does not exist`);
      }
      requireNoMembers(entry, 'deleted');
      const nowMs = this.options.now();
      const records: RecordInput[] = [];
      for (const key of entry.offsets.keys()) {
        const [topic, partition] = splitPartitionKey(key);
        records.push(record(offsetKey(groupId, topic, partition), null, nowMs));
      }
      if (entry.state !== undefined) records.push(record(groupKey(groupId), null, nowMs));
      if (records.length > 0) await this.write(records);
      entry.offsets.clear();
      entry.state = undefined;
      entry.stateBytes = undefined;
    });
  }

  /**
   * Sets committed offsets of a group with no members: `compute` gets the current offsets and
   * returns the new ones; they are written only when `execute`.
   */
  resetOffsets<T extends { topic: string; partition: number; newOffset: number | null }>(
    groupId: string,
    compute: (current: ReadonlyMap<string, OffsetAndMetadata>) => Promise<T[]>,
    execute: boolean,
  ): Promise<T[]> {
    return this.run(groupId, async (entry) => {
      requireNoMembers(entry, 'reset');
      const results = await compute(this.currentOffsets(entry));
      if (!execute) return results;
      // Members may have joined while the offsets were being looked up.
      requireNoMembers(entry, 'reset');
      const nowMs = this.options.now();
      const writes = results
        .filter((r) => r.newOffset !== null)
        .map((r) => {
          const value: OffsetAndMetadata = {
            offset: r.newOffset as number,
            leaderEpoch: -1,
            metadata: '',
            commitTimestampMs: nowMs,
            ...this.topicIdField(r.topic),
          };
          return {
            key: partitionKey(r.topic, r.partition),
            value,
            record: record(
              offsetKey(groupId, r.topic, r.partition),
              encodeOffsetValue(value),
              nowMs,
            ),
          };
        });
      if (writes.length > 0) await this.write(writes.map((w) => w.record));
      for (const w of writes) entry.offsets.set(w.key, w.value);
      return results;
    });
  }

  // ---- Replay ---------------------------------------------------------------------------------

  private async load(): Promise<void> {
    const { log, leader, logger } = this.options;
    const started = this.options.now();
    const end = log.durableEndOffset;
    let offset = log.logStartOffset;
    let records = 0;
    while (offset < end && this.status === 'loading') {
      const read = await log.read(offset, LOAD_READ_BYTES, { maxOffset: end });
      if (read.batches.length === 0) break;
      for (const batch of read.batches) {
        for (const r of await decodeRecords(batch)) {
          this.replay(r.key, r.value, r.offset);
          records++;
        }
        offset = RecordBatch.of(batch).nextOffset;
      }
    }
    // Answer only from committed state: what was replayed must be below the high watermark
    // (a new leader's HW catches up once its followers fetch).
    while (this.status === 'loading' && log.highWatermark < end) {
      await waitForHighWatermark(
        log,
        end,
        this.options.settings.offsetsCommitTimeoutMs,
        leader.resigned,
      );
    }
    if (this.status !== 'loading') return;
    this.status = 'active';
    for (const entry of this.groups.values()) {
      for (const member of entry.state?.members.values() ?? []) {
        this.armTimers(entry, member);
      }
    }
    logger.info(
      {
        partition: this.partition,
        groups: this.groups.size,
        records,
        endOffset: end,
        ms: this.options.now() - started,
      },
      'coordinator loaded a partition of __consumer_offsets',
    );
  }

  private replay(key: Buffer | null, value: Buffer | null, offset: number): void {
    if (key === null) {
      this.options.logger.warn(
        { partition: this.partition, offset },
        'skipping a record without a key in __consumer_offsets',
      );
      return;
    }
    let parsed;
    try {
      parsed = decodeKey(key);
      if (parsed === null) {
        this.options.logger.warn(
          { partition: this.partition, offset },
          'skipping a record of an unknown kind in __consumer_offsets',
        );
        return;
      }
      const entry = this.entry(parsed.groupId);
      if (parsed.kind === 'offset') {
        const id = partitionKey(parsed.topic, parsed.partition);
        if (value === null) entry.offsets.delete(id);
        else entry.offsets.set(id, decodeOffsetValue(value));
      } else if (value === null) {
        entry.state = undefined;
        entry.stateBytes = undefined;
      } else {
        entry.state = decodeGroupValue(parsed.groupId, value);
        entry.stateBytes = value;
      }
    } catch (error) {
      if (!(error instanceof OffsetsRecordError)) throw error;
      // A record this release cannot read must not silently roll a group back: stop serving.
      throw new Error(
        `record at offset ${offset} of __consumer_offsets-${this.partition}: ${error.message}`,
      );
    }
  }

  // ---- Writing --------------------------------------------------------------------------------

  /** Writes the group record when the state changed, then adopts the state. */
  private async saveState(entry: GroupEntry, next: GroupState): Promise<void> {
    const bytes = encodeGroupValue(next);
    if (entry.stateBytes === undefined || !bytes.equals(entry.stateBytes)) {
      await this.write([record(groupKey(entry.groupId), bytes, this.options.now())]);
      entry.stateBytes = bytes;
    }
    entry.state = next;
  }

  /**
   * Appends one batch of records as the partition's leader and waits until the in-sync replicas
   * have it. Refusals before the append change nothing (COORDINATOR_NOT_AVAILABLE); an unknown
   * outcome fails the shard.
   */
  private async write(records: RecordInput[]): Promise<void> {
    const { log, leader, settings } = this.options;
    const batch = await encodeBatch(records);
    this.requireActive();
    if (leader.resigned.aborted) throw this.notCoordinator();
    const minIsr = this.options.minInsyncReplicas();
    if (leader.isrSize < minIsr) {
      throw new BrokerError(
        'COORDINATOR_NOT_AVAILABLE',
        `__consumer_offsets-${this.partition} has ${leader.isrSize} in-sync replica(s), min.insync.replicas=${minIsr}; retry once replicas catch up`,
      );
    }
    let lastOffset: number;
    try {
      const appended = await log.append(batch, leader.leaderEpoch, null);
      leader.onAppended();
      lastOffset = appended.lastOffset;
    } catch (error) {
      this.fail(error);
      throw new BrokerError(
        'COORDINATOR_NOT_AVAILABLE',
        `could not write to __consumer_offsets-${this.partition}: ${String(error)}`,
      );
    }
    const reached = await waitForHighWatermark(
      log,
      lastOffset + 1,
      settings.offsetsCommitTimeoutMs,
      leader.resigned,
    );
    if (reached) return;
    if (leader.resigned.aborted) throw this.notCoordinator();
    this.fail(
      new Error(
        `in-sync replicas did not acknowledge within ${settings.offsetsCommitTimeoutMs} ms`,
      ),
    );
    throw new BrokerError(
      'REQUEST_TIMED_OUT',
      `the in-sync replicas of __consumer_offsets-${this.partition} did not acknowledge within offsets.commit.timeout.ms=${settings.offsetsCommitTimeoutMs}; the change may or may not have been applied`,
    );
  }

  // ---- Timers ---------------------------------------------------------------------------------

  private afterHeartbeat(entry: GroupEntry, member: GroupMember | null, memberId: string): void {
    if (member === null) {
      this.clearTimers(entry, memberId);
      return;
    }
    this.armTimers(entry, member);
  }

  /**
   * A session timer from now, and a revocation timer while the member has to revoke; both count
   * from the end of the takeover delay at the earliest.
   */
  private armTimers(entry: GroupEntry, member: GroupMember): void {
    const { memberId } = member;
    clearTimeout(entry.sessionTimers.get(memberId));
    this.armTimer(entry, memberId, 'session', member.sessionTimeoutMs);
    if (member.state !== 'unrevoked_partitions') {
      clearTimeout(entry.revocationTimers.get(memberId));
      entry.revocationTimers.delete(memberId);
    } else if (!entry.revocationTimers.has(memberId)) {
      // Never before its session timeout: if the answer asking it to revoke was lost, the member
      // still owns the partitions until it fences itself, a session after its last answered
      // heartbeat, which it sent before this one was computed.
      const timeoutMs = Math.max(member.rebalanceTimeoutMs, member.sessionTimeoutMs);
      this.armTimer(entry, memberId, 'revocation', timeoutMs);
    }
  }

  /**
   * Arms one timer. The timer object is its own token: the removal it queues goes ahead only if
   * that timer is still the member's current one when the removal's turn in the group's lane
   * comes. A heartbeat queued before it re-arms the session timer, so a member whose session was
   * renewed meanwhile (typical when this node resumes from a pause and every timer fires at once
   * while the members' heartbeats wait in the socket) is not removed right after its answer.
   */
  private armTimer(
    entry: GroupEntry,
    memberId: string,
    why: 'session' | 'revocation',
    delayMs: number,
  ): void {
    const timers = why === 'session' ? entry.sessionTimers : entry.revocationTimers;
    const takeoverLeftMs = Math.max(0, this.takeoverEndsMs - performance.now());
    const timer: NodeJS.Timeout = setTimeout(
      () => this.evict(entry.groupId, memberId, why, timer),
      takeoverLeftMs + delayMs,
    );
    timer.unref();
    timers.set(memberId, timer);
  }

  private evict(
    groupId: string,
    memberId: string,
    why: 'session' | 'revocation',
    token: NodeJS.Timeout,
  ): void {
    if (this.status !== 'active') return;
    this.run(groupId, async (entry) => {
      const timers = why === 'session' ? entry.sessionTimers : entry.revocationTimers;
      if (timers.get(memberId) !== token) return;
      const member = entry.state?.members.get(memberId);
      if (entry.state === undefined || member === undefined) return;
      if (why === 'revocation' && member.state !== 'unrevoked_partitions') return;
      await this.saveState(entry, removeMember(entry.state, memberId));
      this.clearTimers(entry, memberId);
      this.options.logger.info(
        { group: groupId, member: memberId, clientId: member.clientId, why },
        why === 'session'
          ? 'removed a group member whose session expired; its partitions go to others'
          : 'removed a group member that did not revoke its partitions within its rebalance timeout',
      );
    }).catch((error: unknown) => {
      this.options.logger.info(
        { err: error, group: groupId, member: memberId },
        'could not remove an expired group member; retrying',
      );
      const entry = this.groups.get(groupId);
      const timers = why === 'session' ? entry?.sessionTimers : entry?.revocationTimers;
      // Retried only if nothing re-armed the timer meanwhile (a heartbeat did, say).
      if (entry !== undefined && timers?.get(memberId) === token && this.status === 'active') {
        this.armTimer(entry, memberId, why, 1_000);
      }
    });
  }

  private clearTimers(entry: GroupEntry, memberId: string): void {
    clearTimeout(entry.sessionTimers.get(memberId));
    clearTimeout(entry.revocationTimers.get(memberId));
    entry.sessionTimers.delete(memberId);
    entry.revocationTimers.delete(memberId);
  }

  private clearAllTimers(): void {
    for (const entry of this.groups.values()) {
      for (const timer of entry.sessionTimers.values()) clearTimeout(timer);
      for (const timer of entry.revocationTimers.values()) clearTimeout(timer);
      entry.sessionTimers.clear();
      entry.revocationTimers.clear();
    }
  }

  // ---- Plumbing -------------------------------------------------------------------------------

  /** Runs `op` after every earlier op of the group, while the shard is active. */
  private run<T>(groupId: string, op: (entry: GroupEntry) => Promise<T>): Promise<T> {
    try {
      this.requireServing();
    } catch (error) {
      return Promise.reject(error);
    }
    const entry = this.entry(groupId);
    const result = entry.lane.then(() => {
      this.requireServing();
      return op(entry);
    });
    const settled: Promise<unknown> = result
      .catch(() => undefined)
      .then(() => {
        // A call about a group that does not exist (or was just deleted) leaves no entry.
        if (entry.lane === settled && isGone(entry) && this.groups.get(groupId) === entry) {
          this.groups.delete(groupId);
        }
      });
    entry.lane = settled;
    return result;
  }

  /** Active, and sure it still leads the partition. */
  private requireServing(): void {
    this.requireActive();
    if (this.options.leaseHeld()) return;
    throw new BrokerError(
      'COORDINATOR_NOT_AVAILABLE',
      `the controller has not confirmed within broker.session.timeout.ms that this node still leads __consumer_offsets-${this.partition}; find the coordinator again`,
    );
  }

  private requireActive(): void {
    if (this.status === 'active') return;
    if (this.status === 'loading') {
      throw new BrokerError(
        'COORDINATOR_LOAD_IN_PROGRESS',
        `the coordinator is replaying __consumer_offsets-${this.partition}; retry shortly`,
      );
    }
    if (this.status === 'failed') {
      throw new BrokerError(
        'COORDINATOR_NOT_AVAILABLE',
        `the coordinator of __consumer_offsets-${this.partition} is reloading its state; retry shortly`,
      );
    }
    throw this.notCoordinator();
  }

  private notCoordinator(): BrokerError {
    return new BrokerError(
      'NOT_COORDINATOR',
      `this node no longer leads __consumer_offsets-${this.partition}; find the coordinator again`,
    );
  }

  private fail(error: unknown): void {
    if (this.status === 'closed' || this.status === 'failed') return;
    this.status = 'failed';
    this.clearAllTimers();
    this.options.logger.warn(
      { err: error, partition: this.partition },
      'the coordinator state of a partition of __consumer_offsets may differ from its log; replaying it',
    );
    this.options.onFailed(this);
  }

  private commitError(
    commit: OffsetCommitInput,
    topics: ReadonlyMap<string, number>,
  ): BrokerError | null {
    const count = topics.get(commit.topic);
    if (count === undefined || commit.partition >= count) {
      return new BrokerError(
        'UNKNOWN_TOPIC_OR_PARTITION',
        count === undefined
          ? `topic "${commit.topic}" does not exist`
          : `topic "${commit.topic}" has partitions 0..${count - 1}, not ${commit.partition}`,
      );
    }
    const metadataBytes = Buffer.byteLength(commit.metadata, 'utf8');
    if (metadataBytes > this.options.settings.offsetMetadataMaxBytes) {
      return new BrokerError(
        'OFFSET_METADATA_TOO_LARGE',
        `metadata of ${metadataBytes} bytes is above offset.metadata.max.bytes=${this.options.settings.offsetMetadataMaxBytes}`,
      );
    }
    return null;
  }

  private entry(groupId: string): GroupEntry {
    let entry = this.groups.get(groupId);
    if (entry === undefined) {
      entry = {
        groupId,
        state: undefined,
        stateBytes: undefined,
        offsets: new Map(),
        lane: Promise.resolve(),
        sessionTimers: new Map(),
        revocationTimers: new Map(),
      };
      this.groups.set(groupId, entry);
    }
    return entry;
  }
}

function isGone(entry: GroupEntry): boolean {
  return entry.state === undefined && entry.offsets.size === 0;
}

function requireNoMembers(entry: GroupEntry, what: string): void {
  const members = entry.state?.members.size ?? 0;
  if (members > 0) {
    throw new BrokerError(
      'NON_EMPTY_GROUP',
      `group "${entry.groupId}" has ${members} active member(s); its offsets cannot be ${what} while they consume (stop them first)`,
    );
  }
}

/** Map key of a committed offset. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function splitPartitionKey(key: string): [string, number] {
  const at = key.lastIndexOf('\u0000');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

function record(key: Buffer, value: Buffer | null, timestampMs: number): RecordInput {
  return { key, value, timestampMs, headers: [] };
}
