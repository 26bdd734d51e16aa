/**
 * Waiting for a partition's high watermark, for acks=all produces, long-poll fetches and
 * Subscribe streams. Event-driven (the log notifies), bounded by a timeout and an abort signal.
 */
import type { PartitionLog } from '../log/index.js';

/** Resolves true once log.highWatermark >= offset, false on timeout or abort. */
export function waitForHighWatermark(
  log: PartitionLog,
  offset: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  if (log.highWatermark >= offset) return Promise.resolve(true);
  return waitForAny([log], () => log.highWatermark >= offset, timeoutMs, signal);
}

/**
 * Resolves true when `done()` holds after a change on any of the logs, false when timeoutMs
 * passes or the signal aborts first.
 */
export function waitForAny(
  logs: readonly PartitionLog[],
  done: () => boolean,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve) => {
    if (timeoutMs <= 0 || signal?.aborted === true) {
      resolve(done());
      return;
    }
    const unsubscribes: (() => void)[] = [];
    const finish = (value: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      for (const unsubscribe of unsubscribes) unsubscribe();
      resolve(value);
    };
    const onAbort = (): void => finish(false);
    const timer = setTimeout(() => finish(done()), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    for (const log of logs) {
      unsubscribes.push(
        log.onHighWatermark(() => {
          if (done()) finish(true);
        }),
      );
    }
  });
}
