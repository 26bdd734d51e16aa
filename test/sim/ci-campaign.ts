/**
 * The seed ranges CI runs and how a chunk of them turns into a test result. Kept out of the
 * *.test.ts files so both node counts share it; it imports no test framework, so the build may
 * compile it with the rest of test/sim.
 */
import { CHAOS_TICKS_DEFAULT } from './sim-config.js';
import { failureLine, formatViolation, runSeed, type SeedResult } from './run.js';

/** Seeds 1..CI_SEEDS of each configuration run in CI. */
export const CI_SEEDS = 500;
/** Seeds per test case: small enough that a failing case names few seeds. */
export const CI_CHUNK_SEEDS = 50;
/** Per test case; a chunk takes about 10 s on the CI machine. */
export const CI_CHUNK_TIMEOUT_MS = 120_000;

export interface Chunk {
  readonly seedStart: number;
  readonly count: number;
}

export function campaignChunks(): Chunk[] {
  const chunks: Chunk[] = [];
  for (let seedStart = 1; seedStart <= CI_SEEDS; seedStart += CI_CHUNK_SEEDS) {
    chunks.push({ seedStart, count: Math.min(CI_CHUNK_SEEDS, CI_SEEDS - seedStart + 1) });
  }
  return chunks;
}

/**
 * Lets the event loop run between seeds. A chunk is seconds of synchronous work, and a vitest
 * worker whose loop is blocked that long misses its RPC deadlines ("Timeout calling
 * onTaskUpdate").
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs one chunk of production seeds. `failures` has one line per failed seed (with its replay
 * command); `report` is the full report of the first, for the test's failure message.
 */
export async function checkChunk(
  nodes: number,
  chunk: Chunk,
): Promise<{ failures: string[]; report: string }> {
  const failed: SeedResult[] = [];
  for (let seed = chunk.seedStart; seed < chunk.seedStart + chunk.count; seed++) {
    const result = runSeed({
      seed,
      nodes,
      variant: 'production',
      chaosTicks: CHAOS_TICKS_DEFAULT,
      trace: false,
      voteCheck: true,
    });
    if (result.violation !== null) failed.push(result);
    await yieldToEventLoop();
  }
  const failures = failed.map((f) => failureLine(f, CHAOS_TICKS_DEFAULT));
  const first = failed[0];
  const report = first === undefined ? '' : formatViolation(first, CHAOS_TICKS_DEFAULT);
  return { failures, report };
}
