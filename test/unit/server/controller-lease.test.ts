import { describe, expect, it } from 'vitest';
import { ControllerLease, successorWaitMs } from '../../../src/server/controller-lease.js';

describe('ControllerLease', () => {
  it('is not held before any answer', () => {
    expect(new ControllerLease(3_000).isHeld(0, 100)).toBe(false);
  });

  it('lasts the duration from when the answered heartbeat was sent, not from the answer', () => {
    const lease = new ControllerLease(3_000);
    lease.renew(1_000, 50, 50);
    expect(lease.isHeld(3_999, 50)).toBe(true);
    expect(lease.isHeld(4_000, 50)).toBe(false);
  });

  it('waits until this broker applied the offset the controller answered with', () => {
    const lease = new ControllerLease(3_000);
    lease.renew(1_000, 80, 50);
    expect(lease.isHeld(1_500, 79)).toBe(false);
    expect(lease.isHeld(1_600, 80)).toBe(true);
    expect(lease.isHeld(3_999, 80)).toBe(true);
  });

  it('a caught-up older answer holds while a newer one waits for its offset', () => {
    const lease = new ControllerLease(3_000);
    lease.renew(1_000, 50, 50);
    lease.renew(2_000, 90, 60);
    expect(lease.isHeld(3_500, 60)).toBe(true);
    expect(lease.isHeld(4_500, 60)).toBe(false);
    // Catching up later still counts the newer answer from when it was sent.
    expect(lease.isHeld(4_600, 90)).toBe(true);
    expect(lease.isHeld(5_000, 90)).toBe(false);
  });

  it('never shrinks: a late answer of an older heartbeat does not cut it short', () => {
    const lease = new ControllerLease(3_000);
    lease.renew(2_000, 50, 50);
    lease.renew(1_000, 50, 50);
    expect(lease.isHeld(4_500, 50)).toBe(true);
  });

  it('ends at once when the controller fences this broker, until a new unfenced answer', () => {
    const lease = new ControllerLease(3_000);
    lease.renew(1_000, 50, 50);
    lease.renew(1_200, 70, 60);
    lease.revoke();
    expect(lease.isHeld(1_300, 70)).toBe(false);
    lease.renew(1_400, 75, 75);
    expect(lease.isHeld(1_500, 75)).toBe(true);
  });

  it('a successor waits out the whole lease and a margin for clock rates', () => {
    expect(successorWaitMs(3_000)).toBe(3_300);
    expect(successorWaitMs(2_000)).toBeGreaterThan(2_000);
  });
});
