/**
 * RetentionTask against a real LevelDB: partitions get batches with chosen timestamps and
 * sizes, a pass runs with a fixed clock and tiny settings, and the log start offset, the size
 * and the stored keys must show exactly the whole front batches the policy removes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RetentionTask, type PartitionLog, type RetentionPolicy } from '../../../src/log/index.js';
import { makeBatch, newTopicId, openStore, type TestStore } from './helpers.js';

let store: TestStore;
let topicId: string;

beforeEach(async () => {
  store = await openStore();
  topicId = newTopicId();
});

afterEach(async () => {
  await store.close();
});

/** Appends one 2-record batch per timestamp, all records at that time. */
async function appendAt(log: PartitionLog, timestampsMs: number[]): Promise<number> {
  let batchBytes = 0;
  for (const t of timestampsMs) {
    const batch = await makeBatch(2, 'r', [t, t]);
    batchBytes = batch.length;
    await log.append(batch, 0, null);
  }
  return batchBytes;
}

function task(policy: RetentionPolicy | null, nowMs: number): RetentionTask {
  return new RetentionTask(store.manager, () => policy, { intervalMs: 10, now: () => nowMs });
}

async function batchKeyCount(): Promise<number> {
  return (await store.batchDb.keys({ gte: Buffer.from([0x10]), lt: Buffer.from([0x11]) }).all())
    .length;
}

describe('RetentionTask', () => {
  it('deletes batches older than retention.ms from the front', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAt(log, [100, 200, 300, 150]);
    // Expired: maxTimestamp < 400 - 150 = 250. The fourth is old too, but retention stops at
    // the first batch it keeps.
    expect(await task({ retentionMs: 150, retentionBytes: -1 }, 400).runOnce()).toBe(2);
    expect(log.logStartOffset).toBe(4);
    expect(await batchKeyCount()).toBe(2);
    expect(await task({ retentionMs: 150, retentionBytes: -1 }, 400).runOnce()).toBe(0);
  });

  it('deletes from the front while the log stays at least retention.bytes without the batch', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const batchBytes = await appendAt(log, [1, 2, 3, 4, 5]);
    expect(await task({ retentionMs: -1, retentionBytes: 2 * batchBytes + 1 }, 0).runOnce()).toBe(
      2,
    );
    expect(log.sizeBytes).toBe(3 * batchBytes);
    expect(await task({ retentionMs: -1, retentionBytes: 2 * batchBytes }, 0).runOnce()).toBe(1);
    expect(log.sizeBytes).toBe(2 * batchBytes);
    expect(log.logStartOffset).toBe(6);
  });

  it('never deletes past the high watermark, and skips topics without a policy', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAt(log, [1, 2, 3]);
    expect(await task(null, 1_000).runOnce()).toBe(0);
    expect(await task({ retentionMs: -1, retentionBytes: -1 }, 1_000).runOnce()).toBe(0);
    log.setHighWatermarkFollowsDurableEnd(false);
    log.setHighWatermark(3);
    expect(await task({ retentionMs: 0, retentionBytes: 0 }, 1_000).runOnce()).toBe(1);
    expect(log.logStartOffset).toBe(2);
  });

  it('works through many batches in bounded chunks', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    const batches = await Promise.all(
      Array.from({ length: 600 }, (_, i) => makeBatch(1, 'r', [i])),
    );
    await Promise.all(batches.map((b) => log.append(b, 0, null)));
    expect(await task({ retentionMs: 100, retentionBytes: -1 }, 550).runOnce()).toBe(450);
    expect(log.logStartOffset).toBe(450);
    expect(await batchKeyCount()).toBe(150);
  });

  it('runs on its timer until stopped', async () => {
    const log = await store.manager.createPartition(topicId, 0);
    await appendAt(log, [1, 2]);
    const running = task({ retentionMs: 0, retentionBytes: -1 }, 10);
    running.start();
    for (let i = 0; i < 200 && log.logStartOffset < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await running.stop();
    expect(log.logStartOffset).toBe(4);
  });
});
