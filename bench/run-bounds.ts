/**
 * Bounds every benchmark run shares: how little time a raw yardstick run may have, when other
 * processes' CPU makes a run "disturbed", and the watchdog that ends a run stuck past
 * --max-seconds.
 */

/** A raw run is skipped with less than this left. */
export const RAW_TIME_MIN_MS = 5_000;
/** Above this many cores of other processes' CPU in a measured phase, the run says so. */
export const OTHER_CORES_NOTICEABLE = 0.2;
/** The watchdog fires this long after --max-seconds. */
const WATCHDOG_GRACE_MS = 30_000;

/** Runs `work`, exiting with status 2 if it is still running WATCHDOG_GRACE_MS past `limitMs`. */
export async function withWatchdog<T>(limitMs: number, work: () => Promise<T>): Promise<T> {
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: still running ${WATCHDOG_GRACE_MS} ms past --max-seconds\n`);
    process.exit(2);
  }, limitMs + WATCHDOG_GRACE_MS);
  watchdog.unref();
  try {
    return await work();
  } finally {
    clearTimeout(watchdog);
  }
}
