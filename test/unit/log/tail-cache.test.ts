/**
 * The in-memory tail of a partition (src/log/tail-cache.ts): it serves exactly what a LevelDB
 * read would (the batch holding the offset, whole batches below the limit, about maxBytes),
 * keeps a contiguous run within its byte bound, and declines offsets it does not hold.
 */
import { describe, expect, it } from 'vitest';
import { encodeBatch, stampBatch } from '../../../src/codec/index.js';
import { TailCache } from '../../../src/log/tail-cache.js';

/** A stamped batch of `count` records of `bytes` each at `baseOffset`. */
async function batchAt(baseOffset: number, count: number, bytes = 100): Promise<Buffer> {
  const records = Array.from({ length: count }, () => ({
    key: null,
    value: Buffer.alloc(bytes, 1),
    timestampMs: 1_000,
    headers: [],
  }));
  const batch = await encodeBatch(records, {});
  stampBatch(batch, { baseOffset, leaderEpoch: 0, logAppendTimeMs: null });
  return batch;
}

describe('TailCache', () => {
  it('serves the batch holding an offset and the following ones below the limit', async () => {
    const cache = new TailCache(1024 * 1024);
    const batches = [await batchAt(0, 5), await batchAt(5, 5), await batchAt(10, 5)];
    cache.add(0, 5, batches[0]!);
    cache.add(5, 10, batches[1]!);
    cache.add(10, 15, batches[2]!);
    expect(cache.read(7, 15, 1 << 20)).toEqual([batches[1], batches[2]]);
    expect(cache.read(0, 10, 1 << 20)).toEqual([batches[0], batches[1]]);
    expect(cache.read(12, 14, 1 << 20)).toEqual([]);
    expect(cache.read(15, 15, 1 << 20)).toBeNull();
    expect(cache.read(7, 15, 1)).toEqual([batches[1]]);
  });

  it('keeps a contiguous run: a gap restarts it', async () => {
    const cache = new TailCache(1024 * 1024);
    cache.add(0, 5, await batchAt(0, 5));
    const after = await batchAt(8, 2);
    cache.add(8, 10, after);
    expect(cache.read(2, 10, 1 << 20)).toBeNull();
    expect(cache.read(8, 10, 1 << 20)).toEqual([after]);
  });

  it('evicts the oldest batches beyond its byte bound, and clears', async () => {
    const one = await batchAt(0, 1, 1000);
    const cache = new TailCache(one.length * 2);
    const batches: Buffer[] = [];
    for (let i = 0; i < 5; i++) {
      batches.push(await batchAt(i, 1, 1000));
      cache.add(i, i + 1, batches[i]!);
    }
    expect(cache.read(2, 5, 1 << 20)).toBeNull();
    expect(cache.read(3, 5, 1 << 20)).toEqual([batches[3], batches[4]]);
    cache.clear();
    expect(cache.read(4, 5, 1 << 20)).toBeNull();
  });
});

describe('TailCache memory', () => {
  it('copies a batch that is a view into a larger buffer, so the message is not retained', async () => {
    const batch = await batchAt(0, 10, 1000);
    const message = Buffer.alloc(batch.length * 10);
    batch.copy(message, 100);
    const view = message.subarray(100, 100 + batch.length);
    const cache = new TailCache(1024 * 1024);
    cache.add(0, 10, view);
    const [cached] = cache.read(0, 10, 1 << 20)!;
    expect(cached).toEqual(batch);
    expect(cached!.buffer.byteLength).toBeLessThan(message.length);
  });
});
