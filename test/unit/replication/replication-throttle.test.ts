import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplicationThrottle } from '../../../src/replication/index.js';

function clocked(): { throttle: ReplicationThrottle; advance: (ms: number) => void } {
  let now = 0;
  return { throttle: new ReplicationThrottle(() => now), advance: (ms) => (now += ms) };
}

describe('ReplicationThrottle', () => {
  it('lets everything through without a rate', () => {
    const { throttle } = clocked();
    expect(throttle.allowance()).toBe(Infinity);
    throttle.consume(1e12);
    expect(throttle.delayMs()).toBe(0);
  });

  it('starts empty and waits for a tenth of a second of rate before a read', () => {
    const { throttle, advance } = clocked();
    throttle.setRate(1_000_000);
    expect(throttle.allowance()).toBe(0);
    expect(throttle.delayMs()).toBe(100);
    advance(99);
    expect(throttle.allowance()).toBe(0);
    advance(1);
    expect(throttle.allowance()).toBe(100_000);
  });

  it('charges overdrafts to the next read', () => {
    const { throttle, advance } = clocked();
    throttle.setRate(1_000);
    advance(1_000);
    expect(throttle.allowance()).toBe(1_000);
    throttle.consume(3_000);
    expect(throttle.allowance()).toBe(0);
    expect(throttle.delayMs()).toBe(2_100);
  });

  it('banks at most one second of rate', () => {
    const { throttle, advance } = clocked();
    throttle.setRate(1_000);
    advance(60_000);
    expect(throttle.allowance()).toBe(1_000);
    throttle.setRate(500);
    expect(throttle.allowance()).toBe(500);
    throttle.setRate(null);
    expect(throttle.allowance()).toBe(Infinity);
  });

  it('never sends more than the rate allows over a run, plus one burst and one overdraft', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 10_000_000 }),
        fc.array(fc.record({ waitMs: fc.integer({ min: 0, max: 500 }), batch: fc.nat(1 << 20) }), {
          maxLength: 200,
        }),
        (rate, steps) => {
          const { throttle, advance } = clocked();
          throttle.setRate(rate);
          let sent = 0;
          let elapsedMs = 0;
          let largest = 0;
          for (const { waitMs, batch } of steps) {
            advance(waitMs);
            elapsedMs += waitMs;
            const allowance = throttle.allowance();
            if (allowance === 0) continue;
            const bytes = Math.max(batch, 1);
            throttle.consume(bytes);
            sent += bytes;
            largest = Math.max(largest, bytes);
          }
          expect(sent).toBeLessThanOrEqual((rate * elapsedMs) / 1000 + rate + largest);
        },
      ),
    );
  });
});
