/**
 * Test helpers for the pure controller handlers: build images by replaying records through
 * MetadataDelta, exactly as every node applies committed entries, and a Liveness that mirrors
 * the controller's (registered, unfenced, not shutting down).
 */
import { MetadataDelta, MetadataImage, type PartitionImage } from '../../../src/metadata/image.js';
import type { MetadataRecord } from '../../../src/metadata/records.js';
import type { Liveness } from '../../../src/metadata/controller/brokers.js';

/** `image` with `records` applied as the next Raft entry (offset + 1). */
export function applyRecords(
  image: MetadataImage,
  records: readonly MetadataRecord[],
): MetadataImage {
  const delta = new MetadataDelta(image);
  delta.advanceTo(image.offset + 1);
  for (const record of records) delta.replay(record);
  return delta.apply().image;
}

/** The image after one entry per element of `entries`. */
export function imageOf(...entries: (readonly MetadataRecord[])[]): MetadataImage {
  let image = MetadataImage.EMPTY;
  for (const records of entries) image = applyRecords(image, records);
  return image;
}

/** RegisterBrokerRecord (and UnfenceBrokerRecord unless `fenced`) of broker `brokerId`. */
export function broker(
  brokerId: number,
  options: { rack?: string; epoch?: number; incarnationId?: string; fenced?: boolean } = {},
): MetadataRecord[] {
  const brokerEpoch = options.epoch ?? 0;
  const records: MetadataRecord[] = [
    {
      type: 'RegisterBrokerRecord',
      version: 1,
      brokerId,
      incarnationId: options.incarnationId ?? `incarnation-${brokerId}`,
      brokerEpoch,
      host: 'localhost',
      port: 9000 + brokerId,
      rack: options.rack ?? '',
    },
  ];
  if (options.fenced !== true) {
    records.push({ type: 'UnfenceBrokerRecord', version: 1, brokerId, brokerEpoch });
  }
  return records;
}

export interface PartitionSpec {
  readonly replicas: readonly number[];
  readonly isr?: readonly number[];
  readonly leader?: number;
  readonly leaderEpoch?: number;
  readonly partitionEpoch?: number;
}

/** TopicRecord plus one PartitionRecord per spec (ISR defaults to the replicas, leader to the first). */
export function topic(
  name: string,
  topicId: string,
  partitions: readonly PartitionSpec[],
): MetadataRecord[] {
  const records: MetadataRecord[] = [{ type: 'TopicRecord', version: 1, name, topicId }];
  partitions.forEach((spec, partition) => {
    records.push({
      type: 'PartitionRecord',
      version: 1,
      topicId,
      partition,
      replicas: spec.replicas,
      isr: spec.isr ?? spec.replicas,
      leader: spec.leader ?? (spec.replicas[0] as number),
      leaderEpoch: spec.leaderEpoch ?? 0,
      partitionEpoch: spec.partitionEpoch ?? 0,
    });
  });
  return records;
}

/** Partition `partition` of topic `name`; fails the test when missing. */
export function partitionOf(image: MetadataImage, name: string, partition = 0): PartitionImage {
  const found = image.partition(name, partition);
  if (found === undefined) throw new Error(`no partition ${name}-${partition}`);
  return found;
}

/** The controller's liveness: registered, unfenced and not in `shuttingDown`. */
export function livenessOf(
  image: MetadataImage,
  shuttingDown: ReadonlySet<number> = new Set(),
): Liveness {
  return {
    isEligible: (brokerId) =>
      image.brokers.get(brokerId)?.fenced === false && !shuttingDown.has(brokerId),
  };
}

export const noUnclean = (): boolean => false;
export const allUnclean = (): boolean => true;
