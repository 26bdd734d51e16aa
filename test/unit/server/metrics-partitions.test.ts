/**
 * Partition gauges are computed from the local logs and the metadata image at scrape time. These
 * tests feed hand-built images and logs to the pure snapshot and to a registry, and check which
 * partition counts as led, under-replicated, under min ISR and offline.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  offlinePartitions,
  partitionSnapshot,
  registerPartitionMetrics,
  type PartitionSource,
} from '../../../src/server/metrics/partition-metrics.js';
import { imageOf, logOf, samplesOf, valueOf } from './metrics-fixtures.js';

function source(overrides: Partial<PartitionSource> = {}): PartitionSource {
  const image = imageOf(
    [
      {
        name: 'a',
        partitions: [
          { replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1 }, // led here, healthy
          { replicas: [1, 2, 3], isr: [1], leader: 1 }, // led here, under-replicated and < min ISR 2
          { replicas: [2, 1, 3], isr: [2, 1], leader: 2 }, // followed here
        ],
      },
      { name: 'b', partitions: [{ replicas: [3], isr: [3], leader: -1 }] }, // offline, not here
    ],
    [{ id: 1 }, { id: 2 }, { id: 3 }],
  );
  const logs = [
    logOf('a', 0, { start: 0, end: 100, hw: 90, bytes: 4096 }),
    logOf('a', 1, { start: 5, end: 7, hw: 7, bytes: 100 }),
    logOf('a', 2, { start: 0, end: 40, hw: 35, bytes: 2000 }),
    logOf('gone', 0, { start: 0, end: 1, hw: 1, bytes: 9 }), // topic no longer in the image
  ];
  return {
    image: () => image,
    logs: () => logs,
    isLeader: (topicId, partition) => topicId === 'id-a' && partition < 2,
    minInsyncReplicas: () => 2,
    ...overrides,
  };
}

describe('partition snapshot', () => {
  it('reports every local replica, and leader facts only for led partitions', () => {
    const snapshot = partitionSnapshot(source());
    expect(snapshot.replicas.map((r) => [r.topic, r.partition, r.leader !== null])).toEqual([
      ['a', 0, true],
      ['a', 1, true],
      ['a', 2, false],
    ]);
    expect(snapshot.replicas[0]).toEqual({
      topic: 'a',
      partition: 0,
      logStartOffset: 0,
      logEndOffset: 100,
      sizeBytes: 4096,
      leader: { highWatermark: 90, isrSize: 3, replicaCount: 3 },
    });
    expect(snapshot.replicaCount).toBe(3);
    expect(snapshot.leaderCount).toBe(2);
    expect(snapshot.logSizeBytes).toBe(4096 + 100 + 2000);
  });

  it('counts under-replicated and under-min-ISR partitions among led ones only', () => {
    const snapshot = partitionSnapshot(source());
    // a-2 is followed here with ISR 2 of 3: its leader (node 2) counts it, not this node.
    expect(snapshot.underReplicated).toBe(1);
    expect(snapshot.underMinIsr).toBe(1);
    const lenient = partitionSnapshot(source({ minInsyncReplicas: () => 1 }));
    expect(lenient.underMinIsr).toBe(0);
  });

  it('counts offline partitions of the whole cluster: no leader, or a fenced or unknown one', () => {
    const brokers = [{ id: 1 }, { id: 2, fenced: true }];
    const image = imageOf(
      [
        {
          name: 't',
          partitions: [
            { replicas: [1], isr: [1], leader: 1 },
            { replicas: [2], isr: [2], leader: 2 },
            { replicas: [3], isr: [3], leader: 3 },
            { replicas: [1], isr: [1], leader: -1 },
          ],
        },
      ],
      brokers,
    );
    expect(offlinePartitions(image)).toBe(3);
    expect(partitionSnapshot(source()).offline).toBe(1);
  });
});

describe('partition gauges', () => {
  it('expose the snapshot with topic and partition labels', async () => {
    const registry = new Registry();
    registerPartitionMetrics(registry, source());
    expect(
      await valueOf(registry, 'brook_partition_log_end_offset', { topic: 'a', partition: 2 }),
    ).toBe(40);
    expect(
      await valueOf(registry, 'brook_partition_high_watermark', { topic: 'a', partition: 0 }),
    ).toBe(90);
    expect(await valueOf(registry, 'brook_partition_isr_size', { topic: 'a', partition: 1 })).toBe(
      1,
    );
    expect(
      await valueOf(registry, 'brook_partition_log_start_offset', { topic: 'a', partition: 1 }),
    ).toBe(5);
    // A follower reports no HW, ISR or replica count of its own.
    const hw = await samplesOf(registry, 'brook_partition_high_watermark');
    expect(hw.map((s) => s.labels['partition'])).toEqual([0, 1]);
    expect(await valueOf(registry, 'brook_under_replicated_partitions')).toBe(1);
    expect(await valueOf(registry, 'brook_offline_partitions')).toBe(1);
    expect(await valueOf(registry, 'brook_leader_partitions')).toBe(2);
  });

  it('drop the series of a partition that left the node at the next scrape', async () => {
    let logs = source().logs();
    const registry = new Registry();
    registerPartitionMetrics(registry, source({ logs: () => logs }));
    expect(await samplesOf(registry, 'brook_partition_log_end_offset')).toHaveLength(3);
    logs = logs.slice(0, 1);
    // One scrape's snapshot serves until the event loop turns; the next scrape is a later turn.
    await new Promise((resolve) => setImmediate(resolve));
    expect(await samplesOf(registry, 'brook_partition_log_end_offset')).toHaveLength(1);
  });
});
