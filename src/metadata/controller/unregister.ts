/**
 * Pure controller handler for removing a broker from the cluster (KIP-631's UnregisterBroker):
 * the last step of a scale-down, after `brook brokers drain` moved the broker's replicas away and
 * its process is gone. The answer carries the refusal in the body, as the other single-item
 * answers do; the Raft side (taking an observer out of the metadata quorum) is the caller's,
 * after the record commits (server/controller-gateway.ts).
 */
import type { ErrorCode } from '../../errors/index.js';
import { assert } from '../../util/assert.js';
import type { MetadataImage } from '../image.js';
import type { UnregisterBrokerRecord } from '../records.js';
import type { ControllerResult } from './topics.js';

export interface UnregisterBrokerResponse {
  /** NONE, BROKER_ID_NOT_REGISTERED, or INVALID_REQUEST with what to do first. */
  readonly errorCode: ErrorCode;
  /** Empty for NONE. */
  readonly errorMessage: string;
}

/** How many partition names a refusal lists before it says how many more there are. */
const NAMES_MAX = 5;

/**
 * Drops broker `brokerId`'s registration with one UnregisterBrokerRecord. Refused, with no
 * records, in this order:
 *
 * - BROKER_ID_NOT_REGISTERED: the image has no registration for the id (never registered, or
 *   unregistered already).
 * - INVALID_REQUEST: a partition still names the broker in its replicas (adding and removing
 *   ones included). Checked before liveness because draining comes first: stopping a broker that
 *   still holds replicas leaves them under-replicated.
 * - INVALID_REQUEST: the broker is unfenced, so its process is running. A running broker would
 *   heartbeat, learn it has no registration and register again.
 *
 * A fenced broker whose process still runs (its session expired while it was cut off) passes
 * these checks; it registers again as soon as it reaches the controller, as a running one would.
 */
export function unregisterBroker(
  image: MetadataImage,
  brokerId: number,
): ControllerResult<UnregisterBrokerResponse> {
  assert(Number.isInteger(brokerId) && brokerId >= 0, `broker id ${brokerId} >= 0`);
  const refuse = (errorCode: ErrorCode, errorMessage: string) => ({
    records: [],
    response: { errorCode, errorMessage },
  });
  const broker = image.brokers.get(brokerId);
  if (broker === undefined) {
    return refuse('BROKER_ID_NOT_REGISTERED', `broker ${brokerId} is not registered`);
  }
  const held = partitionsNaming(image, brokerId);
  if (held.length > 0) {
    const shown = held.slice(0, NAMES_MAX).join(', ');
    const names = held.length > NAMES_MAX ? `${shown}, …` : shown;
    return refuse(
      'INVALID_REQUEST',
      `broker ${brokerId} still holds ${held.length} replica(s) (${names}): move them first with \`brook brokers drain ${brokerId}\``,
    );
  }
  if (!broker.fenced) {
    return refuse(
      'INVALID_REQUEST',
      `broker ${brokerId} is running (unfenced): stop it first; a running broker would register again`,
    );
  }
  const record: UnregisterBrokerRecord = {
    type: 'UnregisterBrokerRecord',
    version: 1,
    brokerId,
    brokerEpoch: broker.brokerEpoch,
  };
  return { records: [record], response: { errorCode: 'NONE', errorMessage: '' } };
}

/** `topic-partition` names of every partition that names the broker, by topic then partition. */
function partitionsNaming(image: MetadataImage, brokerId: number): string[] {
  const names: string[] = [];
  const topics = [...image.topicsByName.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const topic of topics) {
    for (const partition of topic.partitions) {
      const isNamed =
        partition.replicas.includes(brokerId) ||
        (partition.addingReplicas?.includes(brokerId) ?? false) ||
        (partition.removingReplicas?.includes(brokerId) ?? false);
      if (isNamed) names.push(`${topic.name}-${partition.partition}`);
    }
  }
  return names;
}
