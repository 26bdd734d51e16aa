/**
 * Pure controller handlers for the broker lifecycle (KIP-631): registration, heartbeats (which
 * unfence a broker and drive its controlled shutdown), fencing on session expiry, and leader
 * elections. Each takes the current image and returns the records to append plus the answer
 * (ControllerResult); the controller loop appends the records as one Raft entry and answers once
 * it commits. Nothing here reads a clock or keeps state: the controller tracks heartbeat times
 * and controlled-shutdown requests in memory and passes what they mean as a `Liveness`.
 *
 * Every handler keeps the partition invariants of elections.ts (leader -1 or in the ISR, ISR a
 * non-empty subset of the replicas), and a fenced broker never leads a partition: fencing and
 * re-registration move its leaderships first, and elections only pick eligible brokers.
 */
import type { ErrorCode } from '../../errors/index.js';
import { assert } from '../../util/assert.js';
import type { BrokerImage, MetadataImage, PartitionImage } from '../image.js';
import type { MetadataRecord, PartitionChangeRecord } from '../records.js';
import { electLeader, NO_LEADER, partitionChange, type LeaderAndIsr } from './elections.js';
import type { ControllerResult } from './topics.js';

/**
 * Which brokers may lead a partition or join an ISR now: registered, unfenced and not in
 * controlled shutdown. Built by the controller from the image and its in-memory sessions.
 */
export interface Liveness {
  isEligible(brokerId: number): boolean;
}

/** Liveness from the image alone: registered and unfenced (no controlled-shutdown knowledge). */
export function imageLiveness(image: MetadataImage): Liveness {
  return {
    isEligible: (brokerId) => image.brokers.get(brokerId)?.fenced === false,
  };
}

/** Whether a topic's partitions may elect a replica outside the ISR (can lose records). */
export type IsUncleanEnabled = (topicId: string) => boolean;

export interface RegisterBrokerInput {
  readonly brokerId: number;
  /** Random per process start. */
  readonly incarnationId: string;
  readonly host: string;
  readonly port: number;
  /** Rack (availability zone); empty for none. */
  readonly rack: string;
}

export interface RegisterBrokerResponse {
  /** NONE, or INVALID_REQUEST for a malformed registration (brokerEpoch is then -1). */
  readonly errorCode: ErrorCode;
  readonly errorMessage: string;
  /** The epoch of the registration; every heartbeat and AlterPartition must carry it. */
  readonly brokerEpoch: number;
}

export interface BrokerHeartbeatInput {
  readonly brokerId: number;
  readonly brokerEpoch: number;
  /** The last metadata offset (Raft index) the broker has applied. */
  readonly metadataOffset: number;
  /** True while the broker is shutting down (controlled shutdown). */
  readonly wantShutDown: boolean;
}

export interface BrokerHeartbeatResponse {
  /** NONE, or STALE_BROKER_EPOCH when the broker must register again. */
  readonly errorCode: ErrorCode;
  readonly errorMessage: string;
  /** Whether the broker is fenced once the records of this heartbeat apply. */
  readonly isFenced: boolean;
  /** During a controlled shutdown: the broker may exit now. */
  readonly shouldShutDown: boolean;
}

/** What a handler did to partitions, for the controller's log. */
export interface PartitionChangeSummary {
  /** Partitions that got a PartitionChangeRecord. */
  readonly changedCount: number;
  /** Of those, partitions left without a leader. */
  readonly offlineCount: number;
}

export interface RebalanceSummary {
  /** Partitions whose leadership moved back to the preferred replica. */
  readonly movedCount: number;
  /** Partitions that could move too but were left for a later call (the per-call bound). */
  readonly remainingCount: number;
}

/** The new leader and ISR of a partition, or the partition itself for no change. */
type PartitionTarget = (topicId: string, partition: PartitionImage) => LeaderAndIsr;

const EMPTY_SUMMARY: PartitionChangeSummary = { changedCount: 0, offlineCount: 0 };

/**
 * Registers a broker process. The same incarnation registering again (a retried request) gets
 * its current epoch back and no records. A new incarnation gets brokerEpoch = image.offset + 1,
 * which is above every earlier epoch because the earlier registration's entry is at or below
 * image.offset. Before its RegisterBrokerRecord come the records that take the old incarnation
 * out of every ISR and every leadership, exactly as fencing does: the old process may have lost
 * unflushed records, or its data dir may be new. Where it is the last ISR member its ISR stays
 * [it] (leader -1): it is still the only replica that may hold every committed record, and a
 * wiped data dir then loses them when it leads again, as in Kafka before KIP-966.
 *
 * The broker starts fenced (the record's replay makes it so). Pass the controller's liveness
 * and unclean setting; the defaults (image liveness, no unclean election) are for tests.
 */
export function registerBroker(
  image: MetadataImage,
  input: RegisterBrokerInput,
  liveness: Liveness = imageLiveness(image),
  isUncleanEnabled: IsUncleanEnabled = () => false,
): ControllerResult<RegisterBrokerResponse> {
  const problem = checkRegistration(input);
  if (problem !== null) {
    return {
      records: [],
      response: { errorCode: 'INVALID_REQUEST', errorMessage: problem, brokerEpoch: -1 },
    };
  }
  const current = image.brokers.get(input.brokerId);
  if (current !== undefined && current.incarnationId === input.incarnationId) {
    return {
      records: [],
      response: { errorCode: 'NONE', errorMessage: '', brokerEpoch: current.brokerEpoch },
    };
  }
  const brokerEpoch = image.offset + 1;
  const records: MetadataRecord[] = [];
  if (current !== undefined) {
    assert(brokerEpoch > current.brokerEpoch, 'broker epochs increase');
    const isEligible = excluding(liveness, input.brokerId);
    changePartitions(image, records, (topicId, partition) =>
      removeBroker(partition, input.brokerId, isEligible, isUncleanEnabled(topicId)),
    );
  }
  records.push({
    type: 'RegisterBrokerRecord',
    version: 1,
    brokerId: input.brokerId,
    incarnationId: input.incarnationId,
    brokerEpoch,
    host: input.host,
    port: input.port,
    rack: input.rack,
  });
  return { records, response: { errorCode: 'NONE', errorMessage: '', brokerEpoch } };
}

/**
 * A broker's heartbeat. A broker that is unknown, or whose epoch is not its registration's,
 * gets STALE_BROKER_EPOCH and no records: it must register again.
 *
 * - Fenced, caught up (metadataOffset >= brokerEpoch) and not shutting down: it is unfenced
 *   (UnfenceBrokerRecord), and every leaderless partition gets an election in which it counts
 *   as eligible, so partitions it is the last ISR member of come back online with it.
 * - wantShutDown (controlled shutdown): see `controlledShutdown`.
 * - Otherwise nothing changes.
 */
export function brokerHeartbeat(
  image: MetadataImage,
  input: BrokerHeartbeatInput,
  liveness: Liveness,
  isUncleanEnabled: IsUncleanEnabled,
): ControllerResult<BrokerHeartbeatResponse> {
  const broker = image.brokers.get(input.brokerId);
  if (broker === undefined || broker.brokerEpoch !== input.brokerEpoch) {
    const registered = broker === undefined ? 'no registration' : `epoch ${broker.brokerEpoch}`;
    return {
      records: [],
      response: {
        errorCode: 'STALE_BROKER_EPOCH',
        errorMessage: `broker ${input.brokerId} heartbeats with epoch ${input.brokerEpoch}; the controller has ${registered}`,
        isFenced: true,
        shouldShutDown: false,
      },
    };
  }
  if (input.wantShutDown) return controlledShutdown(image, broker, liveness, isUncleanEnabled);
  const answer = (isFenced: boolean): BrokerHeartbeatResponse => ({
    errorCode: 'NONE',
    errorMessage: '',
    isFenced,
    shouldShutDown: false,
  });
  if (!broker.fenced) return { records: [], response: answer(false) };
  if (input.metadataOffset < broker.brokerEpoch) return { records: [], response: answer(true) };
  const records: MetadataRecord[] = [
    {
      type: 'UnfenceBrokerRecord',
      version: 1,
      brokerId: broker.brokerId,
      brokerEpoch: broker.brokerEpoch,
    },
  ];
  const isEligible = (brokerId: number): boolean =>
    brokerId === broker.brokerId || liveness.isEligible(brokerId);
  electLeaderless(image, records, isEligible, isUncleanEnabled);
  return { records, response: answer(false) };
}

/**
 * Controlled shutdown, one heartbeat at a time (Kafka's two steps):
 *
 * 1. While the image shows the broker leading a partition that another eligible ISR member can
 *    take, this heartbeat moves every such leadership (a clean election with the broker
 *    excluded) and removes the broker from every ISR that has other members, so acks=all stops
 *    waiting for it. shouldShutDown is false: the broker learns it may exit from a later
 *    heartbeat, after these moves have committed, and in the meantime followers that catch up
 *    can still join the ISRs it alone holds and take those over too.
 * 2. Once it leads nothing another eligible ISR member could take, shouldShutDown is true and,
 *    unless already fenced, the broker is fenced exactly as on session expiry: partitions where
 *    it is the last ISR member go offline (leader -1, ISR [it] kept) rather than block the
 *    shutdown forever, and come back when it returns.
 *
 * The broker itself never counts as eligible here, whatever `liveness` says; the controller's
 * liveness should also refuse it from now on, so it joins no ISR while it shuts down.
 */
function controlledShutdown(
  image: MetadataImage,
  broker: BrokerImage,
  liveness: Liveness,
  isUncleanEnabled: IsUncleanEnabled,
): ControllerResult<BrokerHeartbeatResponse> {
  const brokerId = broker.brokerId;
  const isEligible = excluding(liveness, brokerId);
  const answer = (shouldShutDown: boolean): BrokerHeartbeatResponse => ({
    errorCode: 'NONE',
    errorMessage: '',
    isFenced: broker.fenced || shouldShutDown,
    shouldShutDown,
  });
  // A fenced broker leads nothing: fencing moved its leaderships, and elections skip it.
  if (broker.fenced) return { records: [], response: answer(true) };
  const records: MetadataRecord[] = [];
  if (leadsMovablePartition(image, brokerId, isEligible)) {
    changePartitions(image, records, (_topicId, partition) =>
      handOver(partition, brokerId, isEligible),
    );
    return { records, response: answer(false) };
  }
  records.push(...fenceBroker(image, brokerId, liveness, isUncleanEnabled).records);
  return { records, response: answer(true) };
}

/**
 * Session expiry: takes the broker out of every ISR that has other members, elects a new leader
 * (electLeader, with the broker not eligible) for every partition it led, then fences it. Where
 * it is the last ISR member the ISR stays [it] and the partition goes offline (leader -1)
 * unless an unclean election is allowed: Kafka never empties an ISR, so the last member can lead
 * again when it returns. An unknown or already fenced broker gets no records.
 */
export function fenceBroker(
  image: MetadataImage,
  brokerId: number,
  liveness: Liveness,
  isUncleanEnabled: IsUncleanEnabled,
): ControllerResult<PartitionChangeSummary> {
  const broker = image.brokers.get(brokerId);
  if (broker === undefined || broker.fenced) return { records: [], response: EMPTY_SUMMARY };
  const records: MetadataRecord[] = [];
  const isEligible = excluding(liveness, brokerId);
  const response = changePartitions(image, records, (topicId, partition) =>
    removeBroker(partition, brokerId, isEligible, isUncleanEnabled(topicId)),
  );
  records.push({
    type: 'FenceBrokerRecord',
    version: 1,
    brokerId,
    brokerEpoch: broker.brokerEpoch,
  });
  return { records, response };
}

/**
 * Elects a leader for every leaderless partition (leader -1) that has an eligible candidate:
 * used when a controller becomes active and after an unclean-election config changes. Clean
 * first; unclean only where `isUncleanEnabled(topicId)`.
 */
export function electLeaders(
  image: MetadataImage,
  liveness: Liveness,
  isUncleanEnabled: IsUncleanEnabled,
): ControllerResult<PartitionChangeSummary> {
  const records: MetadataRecord[] = [];
  const isEligible = (brokerId: number): boolean => liveness.isEligible(brokerId);
  const response = electLeaderless(image, records, isEligible, isUncleanEnabled);
  return { records, response };
}

/**
 * Moves leadership back to the preferred replica (replicas[0]) of every partition where that
 * replica is eligible, in the ISR and not the leader, at most `changesMax` partitions per call
 * so one Raft entry stays small; `remainingCount` tells the caller to call again. Partitions
 * are visited in the image's topic order, then partition order.
 */
export function rebalancePreferredLeaders(
  image: MetadataImage,
  liveness: Liveness,
  changesMax: number,
): ControllerResult<RebalanceSummary> {
  assert(Number.isInteger(changesMax) && changesMax >= 1, `changesMax ${changesMax} >= 1`);
  const records: PartitionChangeRecord[] = [];
  let remainingCount = 0;
  for (const topic of image.topicsById.values()) {
    for (const partition of topic.partitions) {
      const preferred = partition.replicas[0];
      assert(preferred !== undefined, 'a partition has at least one replica');
      if (partition.leader === preferred) continue;
      if (!partition.isr.includes(preferred) || !liveness.isEligible(preferred)) continue;
      if (records.length === changesMax) {
        remainingCount++;
        continue;
      }
      const after = { leader: preferred, isr: partition.isr };
      const record = partitionChange(topic.topicId, partition, after);
      assert(record !== null, 'a leader change is a change');
      records.push(record);
    }
  }
  return { records, response: { movedCount: records.length, remainingCount } };
}

/** Fencing's target for one partition; see `fenceBroker`. */
function removeBroker(
  partition: PartitionImage,
  brokerId: number,
  isEligible: (brokerId: number) => boolean,
  isUncleanEnabled: boolean,
): LeaderAndIsr {
  const isMember = partition.isr.includes(brokerId);
  if (!isMember && partition.leader !== brokerId) return partition;
  const isr =
    isMember && partition.isr.length > 1 ? without(partition.isr, brokerId) : partition.isr;
  if (partition.leader !== brokerId) return { leader: partition.leader, isr };
  return electLeader({ ...partition, isr }, isEligible, isUncleanEnabled);
}

/** Controlled shutdown's first step for one partition; see `controlledShutdown`. */
function handOver(
  partition: PartitionImage,
  brokerId: number,
  isEligible: (brokerId: number) => boolean,
): LeaderAndIsr {
  if (!partition.isr.includes(brokerId) || partition.isr.length === 1) return partition;
  const isr = without(partition.isr, brokerId);
  if (partition.leader !== brokerId) return { leader: partition.leader, isr };
  const election = electLeader({ ...partition, isr }, isEligible, false);
  // No other eligible ISR member: it keeps leading (and stays in the ISR) until it is fenced.
  return election.leader === NO_LEADER ? partition : election;
}

/** True when `brokerId` leads a partition that another eligible ISR member could lead. */
function leadsMovablePartition(
  image: MetadataImage,
  brokerId: number,
  isEligible: (brokerId: number) => boolean,
): boolean {
  for (const topic of image.topicsById.values()) {
    for (const partition of topic.partitions) {
      if (partition.leader !== brokerId) continue;
      if (partition.isr.some((b) => b !== brokerId && isEligible(b))) return true;
    }
  }
  return false;
}

/** Appends an election's record for every leaderless partition that gets a leader. */
function electLeaderless(
  image: MetadataImage,
  records: MetadataRecord[],
  isEligible: (brokerId: number) => boolean,
  isUncleanEnabled: IsUncleanEnabled,
): PartitionChangeSummary {
  return changePartitions(image, records, (topicId, partition) =>
    partition.leader === NO_LEADER
      ? electLeader(partition, isEligible, isUncleanEnabled(topicId))
      : partition,
  );
}

/**
 * Visits every partition in topic order, then partition order, and appends a record for each
 * one whose `target` differs from it. The caller owns `records`.
 */
function changePartitions(
  image: MetadataImage,
  records: MetadataRecord[],
  target: PartitionTarget,
): PartitionChangeSummary {
  let changedCount = 0;
  let offlineCount = 0;
  for (const topic of image.topicsById.values()) {
    for (const partition of topic.partitions) {
      const after = target(topic.topicId, partition);
      const record = partitionChange(topic.topicId, partition, after);
      if (record === null) continue;
      records.push(record);
      changedCount++;
      if (after.leader === NO_LEADER) offlineCount++;
    }
  }
  return { changedCount, offlineCount };
}

/** `liveness` with `brokerId` never eligible: the broker being fenced or shutting down. */
function excluding(liveness: Liveness, brokerId: number): (brokerId: number) => boolean {
  return (candidate) => candidate !== brokerId && liveness.isEligible(candidate);
}

function without(isr: readonly number[], brokerId: number): number[] {
  return isr.filter((b) => b !== brokerId);
}

/** Null when the registration is well formed; else what is wrong with it. */
function checkRegistration(input: RegisterBrokerInput): string | null {
  if (!Number.isInteger(input.brokerId) || input.brokerId < 0) {
    return `broker id ${input.brokerId} is not an integer >= 0`;
  }
  if (input.incarnationId === '') return 'incarnation id is empty';
  if (input.host === '') return 'host is empty';
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65_535) {
    return `port ${input.port} is not between 1 and 65535`;
  }
  return null;
}
