/**
 * The nemesis loop: quiet, a fault of a kind drawn at random (seeded) from the run's set, held
 * for a while, healed; again until stopped. One fault at a time, so every window in the history
 * has one cause. Stopping heals the fault in progress at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Rng } from '../../../src/util/rng.js';
import { startFault, type FaultKind, type NemesisEnv } from './faults.js';

/** Seconds, as [min, max]: each draw is uniform within. */
export type SecondsRange = readonly [number, number];

export interface NemesisSchedule {
  readonly kinds: readonly FaultKind[];
  /** Time with no fault before each one. */
  readonly quietS: SecondsRange;
  /** How long each fault lasts. */
  readonly faultS: SecondsRange;
}

/** Runs faults until `stop` aborts; resolves after the last one is healed. Counts faults. */
export async function runNemesis(
  env: NemesisEnv,
  schedule: NemesisSchedule,
  stop: AbortSignal,
): Promise<number> {
  let faults = 0;
  while (!stop.aborted) {
    await sleepUnless(drawMs(env.rng, schedule.quietS), stop);
    if (stop.aborted) break;
    const kind = schedule.kinds[env.rng.int(schedule.kinds.length)]!;
    const heal = await startFault(env, kind);
    faults++;
    try {
      await sleepUnless(drawMs(env.rng, schedule.faultS), stop);
    } finally {
      await heal();
    }
  }
  return faults;
}

function drawMs(rng: Rng, [min, max]: SecondsRange): number {
  return 1000 * (min + rng.next() * (max - min));
}

/** Sleeps `ms`, or less if `signal` aborts first. */
async function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}
