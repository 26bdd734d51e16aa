/**
 * The CI simulation suite for one cluster size, shared by sim-3-nodes.test.ts and
 * sim-5-nodes.test.ts (two files so vitest runs the sizes in parallel workers).
 *
 * How it works: each seed draws a whole run (timeouts, network and fault rates, snapshot
 * cadence) and simulates the voters plus a spare node through partitions, loss, duplication,
 * crashes that lose unsynced writes, membership changes and leader transfers, checking the
 * safety invariants after every event; then it heals everything and requires a proposal to
 * commit on every voter within a bound. One `it` per 50 seeds, so a failure names its seeds
 * and prints a one-line replay command (`npm run sim -- --seed S --nodes N --trace`).
 */
import { describe, expect, it } from 'vitest';
import { campaignChunks, checkChunk, CI_CHUNK_TIMEOUT_MS } from './ci-campaign.js';

export function describeCampaign(nodes: 3 | 5): void {
  describe(`simulation: ${nodes} voters and a spare, seeds 1..500`, () => {
    for (const chunk of campaignChunks()) {
      it(
        `seeds ${chunk.seedStart}..${chunk.seedStart + chunk.count - 1} keep every invariant and stay live`,
        async () => {
          const { failures, report } = await checkChunk(nodes, chunk);
          expect(failures, report).toEqual([]);
        },
        CI_CHUNK_TIMEOUT_MS,
      );
    }
  });
}
