/**
 * retentionCutoff, the pure retention decision. fast-check draws runs of contiguous batches,
 * sizes, high watermarks and policies, and checks the contract: a batch boundary, never past
 * the HW, every removed batch met a rule when it was removed, and the first kept batch below
 * the HW meets none.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retentionCutoff, type BatchSummary } from '../../../src/log/index.js';

const batchesArb = fc
  .array(
    fc.record({
      recordCount: fc.integer({ min: 1, max: 5 }),
      maxTimestamp: fc.integer({ min: 0, max: 1_000 }),
      byteLength: fc.integer({ min: 61, max: 500 }),
    }),
    { maxLength: 30 },
  )
  .map((specs) => {
    const batches: BatchSummary[] = [];
    let base = 17;
    for (const spec of specs) {
      batches.push({
        baseOffset: base,
        lastOffset: base + spec.recordCount - 1,
        maxTimestamp: spec.maxTimestamp,
        byteLength: spec.byteLength,
      });
      base += spec.recordCount;
    }
    return batches;
  });

const settingArb = (max: number) => fc.oneof(fc.constant(-1), fc.integer({ min: 0, max }));

describe('retentionCutoff', () => {
  it('keeps its contract for any batches, HW and policy', () => {
    fc.assert(
      fc.property(
        batchesArb,
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 200 }),
        settingArb(1_000),
        settingArb(10_000),
        fc.integer({ min: 0, max: 2_000 }),
        (batches, extraBytes, hwSlack, retentionMs, retentionBytes, nowMs) => {
          const storedBytes = batches.reduce((s, b) => s + b.byteLength, 0) + extraBytes;
          const end = batches.length === 0 ? 17 : batches[batches.length - 1]!.lastOffset + 1;
          const highWatermark = Math.max(17, end - hwSlack);
          const policy = { retentionMs, retentionBytes };
          const input = { batches, sizeBytes: storedBytes, highWatermark };
          const cutoff = retentionCutoff(input, policy, nowMs);
          if (retentionMs === -1 && retentionBytes === -1) expect(cutoff).toBeNull();
          const removed = cutoff === null ? [] : batches.filter((b) => b.lastOffset < cutoff);
          if (cutoff !== null) {
            expect(removed.length).toBeGreaterThan(0);
            expect(removed[removed.length - 1]!.lastOffset + 1).toBe(cutoff);
            expect(cutoff).toBeLessThanOrEqual(highWatermark);
          }
          let size = storedBytes;
          for (const batch of removed) {
            const isExpired = retentionMs >= 0 && batch.maxTimestamp < nowMs - retentionMs;
            const isOverSize = retentionBytes >= 0 && size - batch.byteLength >= retentionBytes;
            expect(isExpired || isOverSize).toBe(true);
            size -= batch.byteLength;
          }
          const firstKept = batches[removed.length];
          if (firstKept !== undefined && firstKept.lastOffset < highWatermark) {
            const isExpired = retentionMs >= 0 && firstKept.maxTimestamp < nowMs - retentionMs;
            const isOverSize = retentionBytes >= 0 && size - firstKept.byteLength >= retentionBytes;
            expect(isExpired || isOverSize).toBe(false);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('removes by time and by size from the front, and never a batch at the HW', () => {
    const batches: BatchSummary[] = [
      { baseOffset: 0, lastOffset: 1, maxTimestamp: 100, byteLength: 100 },
      { baseOffset: 2, lastOffset: 4, maxTimestamp: 300, byteLength: 100 },
      { baseOffset: 5, lastOffset: 5, maxTimestamp: 200, byteLength: 100 },
    ];
    const input = { batches, sizeBytes: 300, highWatermark: 6 };
    expect(retentionCutoff(input, { retentionMs: 150, retentionBytes: -1 }, 400)).toBe(2);
    expect(retentionCutoff(input, { retentionMs: 50, retentionBytes: -1 }, 400)).toBe(6);
    expect(retentionCutoff(input, { retentionMs: -1, retentionBytes: 150 }, 400)).toBe(2);
    expect(retentionCutoff(input, { retentionMs: -1, retentionBytes: 100 }, 400)).toBe(5);
    expect(retentionCutoff(input, { retentionMs: -1, retentionBytes: 300 }, 400)).toBeNull();
    expect(
      retentionCutoff({ ...input, highWatermark: 5 }, { retentionMs: 0, retentionBytes: 0 }, 400),
    ).toBe(5);
    expect(
      retentionCutoff({ ...input, highWatermark: 1 }, { retentionMs: 0, retentionBytes: 0 }, 400),
    ).toBeNull();
  });
});
