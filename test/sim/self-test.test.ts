/**
 * How it works: the checker is only worth something if it catches real bugs, so this runs the
 * CI seed range against deliberately broken cores (test/sim/broken-variants.ts) and requires a
 * safety invariant to fire within it. It stops at the first seed that catches the bug and logs
 * how many seeds that took. Failures of other kinds (liveness, a core assertion) do not count
 * as catches: the point is that the checker, not luck, finds the bug.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Invariant } from './checker.js';
import { CI_SEEDS, yieldToEventLoop } from './ci-campaign.js';
import { runSeed, failureLine } from './run.js';
import { CHAOS_TICKS_DEFAULT, type Variant } from './sim-config.js';

/** The invariants a caught safety bug may break (the paper's, plus durable votes). */
const SAFETY: readonly Invariant[] = [
  Invariant.ELECTION_SAFETY,
  Invariant.LOG_MATCHING,
  Invariant.LEADER_COMPLETENESS,
  Invariant.STATE_MACHINE_SAFETY,
  Invariant.COMMITTED_NEVER_LOST,
  Invariant.DURABLE_STATE,
];

const SELF_TEST_TIMEOUT_MS = 170_000;

/** Runs seeds 1.. until a safety invariant fires; returns the catching seed's line, or null. */
async function firstCatch(
  nodes: number,
  variant: Variant,
  voteCheck: boolean,
): Promise<{ seedsRun: number; invariant: Invariant; line: string } | null> {
  for (let seed = 1; seed <= CI_SEEDS; seed++) {
    const result = runSeed({
      seed,
      nodes,
      variant,
      chaosTicks: CHAOS_TICKS_DEFAULT,
      trace: false,
      voteCheck,
    });
    const v = result.violation;
    if (v !== null && SAFETY.includes(v.invariant)) {
      return {
        seedsRun: seed,
        invariant: v.invariant,
        line: failureLine(result, CHAOS_TICKS_DEFAULT),
      };
    }
    await yieldToEventLoop();
  }
  return null;
}

describe('checker self-test: broken cores are caught within the CI seeds', () => {
  for (const nodes of [3, 5]) {
    it(
      `double-vote is caught with ${nodes} voters (the durable vote check fires)`,
      async () => {
        const caught = await firstCatch(nodes, 'double-vote', true);
        console.log(
          `double-vote, ${nodes} voters: ${caught === null ? 'NOT caught' : `caught after ${caught.seedsRun} seeds: ${caught.line}`}`,
        );
        expect(caught).not.toBeNull();
      },
      SELF_TEST_TIMEOUT_MS,
    );

    it(
      `double-vote is caught with ${nodes} voters by election safety alone (§5.2)`,
      async () => {
        const caught = await firstCatch(nodes, 'double-vote', false);
        console.log(
          `double-vote without the vote check, ${nodes} voters: ${caught === null ? 'NOT caught' : `caught after ${caught.seedsRun} seeds: ${caught.line}`}`,
        );
        expect(caught?.invariant).toBe(Invariant.ELECTION_SAFETY);
      },
      SELF_TEST_TIMEOUT_MS,
    );

    it(
      `old-term-commit is caught with ${nodes} voters (Figure 8, §5.4.2)`,
      async () => {
        const caught = await firstCatch(nodes, 'old-term-commit', true);
        console.log(
          `old-term-commit, ${nodes} voters: ${caught === null ? 'NOT caught' : `caught after ${caught.seedsRun} seeds: ${caught.line}`}`,
        );
        expect(caught).not.toBeNull();
      },
      SELF_TEST_TIMEOUT_MS,
    );
  }
});

/** Every .ts file under `dir`, recursively (the source tree is small and has no cycles). */
function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts')) files.push(full);
  }
  return files;
}

describe('the broken variants stay out of production', () => {
  it('no file under src/ imports anything from test/', () => {
    const src = fileURLToPath(new URL('../../src', import.meta.url));
    const offenders = sourceFiles(src).filter((file) => {
      const text = readFileSync(file, 'utf8');
      return /from\s+['"][^'"]*\/test\//.test(text) || text.includes('broken-variants');
    });
    expect(offenders).toEqual([]);
  });
});
