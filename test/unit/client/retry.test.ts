/**
 * The retry loop's bounds: backoffs stay within [retryBackoffMsMin, retryBackoffMsMax] and grow
 * exponentially (checked as properties over random attempts and jitter), and withRetry stops at
 * the retry limit, at the first non-retriable error, and before a deadline. Sleeping is injected,
 * so nothing here waits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../src/errors/index.js';
import { BrookClientError } from '../../../src/client/connection.js';
import {
  BACKOFF_JITTER,
  backoffMs,
  checkRetryPolicy,
  withRetry,
  type RetryPolicy,
} from '../../../src/client/retry.js';

const policy: RetryPolicy = { retries: 5, retryBackoffMsMin: 100, retryBackoffMsMax: 1000 };
const noSleep = (): Promise<void> => Promise.resolve();

describe('backoffMs', () => {
  it('stays within [min, max] for any attempt and jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, min, extra, random) => {
          const max = min + extra;
          const ms = backoffMs(
            attempt,
            { retryBackoffMsMin: min, retryBackoffMsMax: max },
            () => random,
          );
          expect(ms).toBeGreaterThanOrEqual(min);
          expect(ms).toBeLessThanOrEqual(max);
          expect(Number.isInteger(ms)).toBe(true);
        },
      ),
    );
  });

  it('doubles per attempt within the jitter band until it reaches the ceiling', () => {
    const low = (): number => 0;
    const high = (): number => 0.999_999;
    for (let attempt = 0; attempt < 3; attempt++) {
      const base = 100 * 2 ** attempt;
      expect(backoffMs(attempt, policy, low)).toBe(
        Math.max(100, Math.round(base * (1 - BACKOFF_JITTER))),
      );
      expect(backoffMs(attempt, policy, high)).toBe(Math.round(base * (1 + BACKOFF_JITTER)));
    }
    expect(backoffMs(10, policy, low)).toBe(1000);
    expect(backoffMs(10, policy, high)).toBe(1000);
  });

  it('jitters: two clients failing together do not retry at the same moment', () => {
    const values = new Set<number>();
    for (let i = 0; i < 50; i++) values.add(backoffMs(2, policy));
    expect(values.size).toBeGreaterThan(1);
  });
});

describe('withRetry', () => {
  it('retries a retriable error at most `retries` times, then rethrows it', async () => {
    let calls = 0;
    const error = new BrokerError('NOT_LEADER_OR_FOLLOWER', 'moved');
    await expect(
      withRetry(
        () => {
          calls++;
          return Promise.reject(error);
        },
        policy,
        { sleep: noSleep },
      ),
    ).rejects.toBe(error);
    expect(calls).toBe(policy.retries + 1);
  });

  it('does not retry a non-retriable error', async () => {
    let calls = 0;
    const error = new BrokerError('TOPIC_ALREADY_EXISTS', 'exists');
    await expect(
      withRetry(
        () => {
          calls++;
          return Promise.reject(error);
        },
        policy,
        { sleep: noSleep },
      ),
    ).rejects.toBe(error);
    expect(calls).toBe(1);
  });

  it('treats plain errors as non-retriable', async () => {
    let calls = 0;
    await expect(
      withRetry(
        () => {
          calls++;
          return Promise.reject(new Error('bug'));
        },
        policy,
        { sleep: noSleep },
      ),
    ).rejects.toThrow('bug');
    expect(calls).toBe(1);
  });

  it('returns the first success and reports each retry with its backoff', async () => {
    const sleeps: number[] = [];
    const retried: number[] = [];
    const result = await withRetry(
      (attempt) =>
        attempt < 2
          ? Promise.reject(new BrookClientError('UNAVAILABLE', 'down', true))
          : Promise.resolve('ok'),
      policy,
      {
        sleep: (ms) => {
          sleeps.push(ms);
          return Promise.resolve();
        },
        onRetry: (_error, attempt) => void retried.push(attempt),
        random: () => 0.5,
      },
    );
    expect(result).toBe('ok');
    expect(retried).toEqual([0, 1]);
    expect(sleeps).toEqual([100, 200]);
  });

  it('gives up rather than sleep past the deadline', async () => {
    let calls = 0;
    await expect(
      withRetry(
        () => {
          calls++;
          return Promise.reject(new BrookClientError('UNAVAILABLE', 'down', true));
        },
        policy,
        { sleep: noSleep, deadlineMs: Date.now() + 50 },
      ),
    ).rejects.toBeInstanceOf(BrookClientError);
    expect(calls).toBe(1);
  });

  it('rejects policies that would be unbounded or inverted', () => {
    expect(() => checkRetryPolicy({ ...policy, retries: -1 })).toThrow(RangeError);
    expect(() => checkRetryPolicy({ ...policy, retries: 1.5 })).toThrow(RangeError);
    expect(() => checkRetryPolicy({ ...policy, retryBackoffMsMax: 50 })).toThrow(
      /retryBackoffMsMax/,
    );
    expect(() => checkRetryPolicy(policy)).not.toThrow();
  });
});
