/**
 * Replica placement for new partitions: Kafka's assignment (AdminUtils.assignReplicasToBrokers),
 * made deterministic. Pure: the same brokers, range and start index always give the same
 * replicas, so a test (or a reader of the metadata log) can predict them.
 *
 * - The preferred leader (replicas[0]) of partition p is broker (p + startIndex) mod n of the
 *   broker list, so preferred leaders of consecutive partitions go round the brokers and their
 *   counts differ by at most one.
 * - Follower j of partition p sits `1 + (shift + j) mod (n - 1)` places after the leader, where
 *   shift = startIndex + floor(p / n) changes once per round of leaders: every round puts each
 *   broker in each follower position once, so followers spread as evenly as leaders, and the
 *   changing shift keeps the same brokers from always following the same leader.
 * - Rack-aware when every broker names a rack: the broker list alternates racks (first broker
 *   of each rack, then the second of each, ...), and a follower pick skips a broker whose rack
 *   already holds a replica while some rack holds none. A partition's replicas thus cover
 *   min(replicationFactor, racks) racks, so losing one rack loses at most one replica of a
 *   partition when there are at least as many racks as replicas.
 */
import { assert } from '../../util/assert.js';

/** A live broker as placement sees it. */
export interface PlacementBroker {
  readonly brokerId: number;
  /** Rack (availability zone); empty for none. */
  readonly rack: string;
}

export interface PlacementRequest {
  /** Live brokers, sorted by id, ids distinct; at least `replicationFactor` of them. */
  readonly brokers: readonly PlacementBroker[];
  /** First partition to place (the topic's current partition count when growing it). */
  readonly partitionFrom: number;
  /** One past the last partition to place. */
  readonly partitionTo: number;
  readonly replicationFactor: number;
  /**
   * Spreads placement across topics: the position (mod the broker count) of partition 0's
   * preferred leader, and the base of the follower shift. Any integer >= 0.
   */
  readonly startIndex: number;
}

/**
 * Replicas of partitions `partitionFrom` to `partitionTo - 1`, in that order, each with the
 * preferred leader first and its brokers distinct. Returns new arrays the caller owns. The
 * request must be valid (asserted): a caller checks the replication factor against the live
 * brokers and answers INVALID_REPLICATION_FACTOR itself.
 */
export function placeReplicas(request: PlacementRequest): number[][] {
  const { brokers, partitionFrom, partitionTo, replicationFactor, startIndex } = request;
  assert(Number.isInteger(replicationFactor), 'replication factor is an integer');
  assert(replicationFactor >= 1, `replication factor ${replicationFactor} >= 1`);
  assert(replicationFactor <= brokers.length, `${brokers.length} brokers >= replication factor`);
  assert(Number.isInteger(startIndex) && startIndex >= 0, `start index ${startIndex} >= 0`);
  assert(0 <= partitionFrom && partitionFrom <= partitionTo, 'partition range is ordered');
  for (let i = 1; i < brokers.length; i++) {
    const previous = brokers[i - 1] as PlacementBroker;
    assert(previous.brokerId < (brokers[i] as PlacementBroker).brokerId, 'brokers sorted by id');
  }
  const isRackAware = isEveryRackNamed(brokers);
  const arranged = arrange(brokers);
  const rackCount = new Set(arranged.map((b) => b.rack)).size;
  const result: number[][] = [];
  for (let partition = partitionFrom; partition < partitionTo; partition++) {
    const replicas = isRackAware
      ? placeRackAware(arranged, partition, replicationFactor, startIndex, rackCount)
      : placeRackUnaware(arranged, partition, replicationFactor, startIndex);
    assert(replicas.length === replicationFactor, 'one replica per replication factor');
    assert(new Set(replicas).size === replicas.length, 'replicas on distinct brokers');
    result.push(replicas);
  }
  return result;
}

/**
 * The brokers reordered so that racks alternate: racks in name order, the brokers of each in
 * id order, and the list takes one broker from each rack in turn (Kafka's
 * getRackAlternatedBrokerList). Consecutive brokers are then in different racks wherever the
 * rack sizes allow.
 */
export function alternateRacks(brokers: readonly PlacementBroker[]): PlacementBroker[] {
  const byRack = new Map<string, PlacementBroker[]>();
  for (const broker of brokers) {
    const members = byRack.get(broker.rack) ?? [];
    members.push(broker);
    byRack.set(broker.rack, members);
  }
  const racks = [...byRack.keys()].sort();
  const result: PlacementBroker[] = [];
  for (let round = 0; result.length < brokers.length; round++) {
    assert(round < brokers.length, 'every round takes at least one broker');
    for (const rack of racks) {
      const broker = (byRack.get(rack) as PlacementBroker[])[round];
      if (broker !== undefined) result.push(broker);
    }
  }
  return result;
}

/**
 * The start index that makes partition 0's preferred leader `leaderId` (Kafka's choice when a
 * topic grows: new partitions continue the topic's round of leaders). 0 when that broker is not
 * among `brokers`.
 */
export function startIndexOfLeader(brokers: readonly PlacementBroker[], leaderId: number): number {
  return Math.max(
    0,
    arrange(brokers).findIndex((b) => b.brokerId === leaderId),
  );
}

/** Rack-aware placement applies only when every broker names its rack, as in Kafka. */
function isEveryRackNamed(brokers: readonly PlacementBroker[]): boolean {
  return brokers.every((b) => b.rack !== '');
}

/** The broker list placement walks: racks alternating when rack-aware, else by id. */
function arrange(brokers: readonly PlacementBroker[]): readonly PlacementBroker[] {
  return isEveryRackNamed(brokers) ? alternateRacks(brokers) : brokers;
}

/** Index in the broker list of follower `followerIndex`, `1 + (shift + j) mod (n - 1)` ahead. */
function followerPosition(
  leaderPosition: number,
  shift: number,
  followerIndex: number,
  brokerCount: number,
): number {
  const offset = 1 + ((shift + followerIndex) % (brokerCount - 1));
  return (leaderPosition + offset) % brokerCount;
}

function placeRackUnaware(
  brokers: readonly PlacementBroker[],
  partition: number,
  replicationFactor: number,
  startIndex: number,
): number[] {
  const n = brokers.length;
  const leaderPosition = (partition + startIndex) % n;
  const shift = startIndex + Math.floor(partition / n);
  const replicas = [(brokers[leaderPosition] as PlacementBroker).brokerId];
  for (let j = 0; j < replicationFactor - 1; j++) {
    const position = followerPosition(leaderPosition, shift, j, n);
    replicas.push((brokers[position] as PlacementBroker).brokerId);
  }
  return replicas;
}

function placeRackAware(
  arranged: readonly PlacementBroker[],
  partition: number,
  replicationFactor: number,
  startIndex: number,
  rackCount: number,
): number[] {
  const n = arranged.length;
  const leaderPosition = (partition + startIndex) % n;
  // Kafka multiplies the shift by the rack count so that a shift moves followers to another
  // broker of the same rack pattern rather than into the leader's rack.
  const shift = (startIndex + Math.floor(partition / n)) * rackCount;
  const leader = arranged[leaderPosition] as PlacementBroker;
  const replicas = [leader.brokerId];
  const racksUsed = new Set([leader.rack]);
  const brokersUsed = new Set([leader.brokerId]);
  // Every n - 1 consecutive candidates visit every other broker once, and an unused rack always
  // has an unused broker, so each follower is found within n - 1 candidates.
  const candidatesMax = (replicationFactor - 1) * (n - 1);
  let candidate = 0;
  while (replicas.length < replicationFactor) {
    assert(candidate < candidatesMax, 'rack-aware placement finds a follower in n - 1 steps');
    const broker = arranged[followerPosition(leaderPosition, shift, candidate, n)];
    assert(broker !== undefined, 'follower position is inside the broker list');
    candidate++;
    // A rack that already holds a replica is acceptable only once every rack holds one.
    const isRackAcceptable = !racksUsed.has(broker.rack) || racksUsed.size === rackCount;
    if (!isRackAcceptable || brokersUsed.has(broker.brokerId)) continue;
    replicas.push(broker.brokerId);
    racksUsed.add(broker.rack);
    brokersUsed.add(broker.brokerId);
  }
  return replicas;
}
