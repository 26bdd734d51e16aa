/**
 * Kafka's default partitioning, client side: an explicit partition wins, a keyed record goes to
 * murmur2(key) mod partitions (so every Kafka client puts a key in the same partition), and a
 * keyless record goes to the topic's *sticky* partition, which changes only when a batch for it
 * is closed (KIP-480). Sticking fills one batch at a time instead of spreading every linger
 * window's records thinly over all partitions.
 */
import { partitionForKey } from '../codec/index.js';

/** Chooses partitions for keyless records; one sticky choice per topic. */
export class StickyPartitioner {
  private readonly sticky = new Map<string, number>();

  /** `random` returns a number in [0, 1); injected so tests are deterministic. */
  constructor(private readonly random: () => number = Math.random) {}

  /** The sticky partition of `topic`, choosing one when there is none or it no longer fits. */
  partition(topic: string, partitionCount: number): number {
    const current = this.sticky.get(topic);
    if (current !== undefined && current < partitionCount) return current;
    return this.choose(topic, partitionCount, -1);
  }

  /**
   * Called when the batch of `closedPartition` closes: if that was the sticky partition, pick
   * another (different when there is more than one), so the next batch goes elsewhere.
   */
  onBatchClosed(topic: string, partitionCount: number, closedPartition: number): void {
    if (this.sticky.get(topic) === closedPartition) {
      this.choose(topic, partitionCount, closedPartition);
    }
  }

  private choose(topic: string, partitionCount: number, previous: number): number {
    // Uniform over all partitions, or over all but the previous one when there is a choice.
    const next =
      previous >= 0 && partitionCount > 1
        ? (previous + 1 + Math.floor(this.random() * (partitionCount - 1))) % partitionCount
        : Math.floor(this.random() * partitionCount);
    this.sticky.set(topic, next);
    return next;
  }
}

/**
 * The partition of one record: `explicit` when given, else the key's murmur2 partition, else the
 * topic's sticky partition. `partitionCount` must be at least 1.
 */
export function choosePartition(
  topic: string,
  key: Buffer | null,
  explicit: number | undefined,
  partitionCount: number,
  sticky: StickyPartitioner,
): number {
  if (explicit !== undefined) return explicit;
  if (key !== null) return partitionForKey(key, partitionCount);
  return sticky.partition(topic, partitionCount);
}
