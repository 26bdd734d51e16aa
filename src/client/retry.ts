/**
 * Bounded retries with jittered exponential backoff, driven by the error's `retriable` flag
 * (STYLE.md §4). Every loop here has a ceiling: a number of retries and, optionally, a deadline.
 */
import { isRetriable } from './connection.js';

/** How often and how patiently to retry. */
export interface RetryPolicy {
  /** Retries after the first attempt; 0 means try once. */
  readonly retries: number;
  /** Backoff before the first retry, in ms; later ones double up to retryBackoffMsMax. */
  readonly retryBackoffMsMin: number;
  /** Ceiling of one backoff, in ms. */
  readonly retryBackoffMsMax: number;
}

/** Share of a backoff that is randomized either way, as in Kafka's ExponentialBackoff (±20%). */
export const BACKOFF_JITTER = 0.2;

/** A ceiling on `retries`, whatever the caller asks, so no loop is unbounded. */
export const RETRIES_MAX = 1_000;

/**
 * Backoff before retry number `attempt` (0 for the first retry): retryBackoffMsMin doubled per
 * attempt, jittered by ±20% so clients that failed together do not retry together, and clamped
 * to [retryBackoffMsMin, retryBackoffMsMax]. `random` returns a number in [0, 1).
 */
export function backoffMs(
  attempt: number,
  policy: Pick<RetryPolicy, 'retryBackoffMsMin' | 'retryBackoffMsMax'>,
  random: () => number = Math.random,
): number {
  const { retryBackoffMsMin: min, retryBackoffMsMax: max } = policy;
  // 2^30 already exceeds any sensible ceiling; capping the exponent keeps the math finite.
  const exponential = min * 2 ** Math.min(Math.max(attempt, 0), 30);
  const factor = 1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random();
  return Math.round(Math.min(max, Math.max(min, exponential * factor)));
}

/** Checks a policy's numbers; throws RangeError naming the offending option. */
export function checkRetryPolicy(policy: RetryPolicy): void {
  checkInteger('retries', policy.retries, 0, RETRIES_MAX);
  checkInteger('retryBackoffMsMin', policy.retryBackoffMsMin, 0, 3_600_000);
  checkInteger('retryBackoffMsMax', policy.retryBackoffMsMax, policy.retryBackoffMsMin, 3_600_000);
}

/** Throws RangeError unless `value` is an integer in [min, max]. */
export function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

export interface RetryOptions {
  /** Which errors to retry; default: those whose `retriable` flag is set. */
  readonly isRetriable?: (error: unknown) => boolean;
  /** Called before each backoff, e.g. to refresh metadata after NOT_LEADER_OR_FOLLOWER. */
  readonly onRetry?: (error: unknown, attempt: number) => void | Promise<void>;
  /** Give up (rethrowing the last error) rather than sleep past this Date.now() value. */
  readonly deadlineMs?: number;
  /** Stops retrying (rethrowing the last error) once aborted. */
  readonly signal?: AbortSignal;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/**
 * Runs `operation` until it succeeds, fails with a non-retriable error, or the retries (or the
 * deadline) run out; then rethrows the last error unchanged. `operation` gets the attempt number,
 * starting at 0.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  options: RetryOptions = {},
): Promise<T> {
  const retriable = options.isRetriable ?? isRetriable;
  const sleep = options.sleep ?? delay;
  const retries = Math.min(policy.retries, RETRIES_MAX);
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error: unknown) {
      if (attempt >= retries || !retriable(error) || options.signal?.aborted === true) throw error;
      const waitMs = backoffMs(attempt, policy, options.random);
      if (options.deadlineMs !== undefined && Date.now() + waitMs >= options.deadlineMs) {
        throw error;
      }
      await options.onRetry?.(error, attempt);
      await sleep(waitMs);
    }
  }
}

/** A promise resolved after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
