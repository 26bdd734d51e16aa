import { describe, expect, it } from 'vitest';
import { InOrderCalls } from '../../../src/server/replica-transport/in-order-calls.js';

describe('InOrderCalls', () => {
  it('settles requests oldest first', async () => {
    const calls = new InOrderCalls<string>();
    const stall = (): void => undefined;
    const signal = new AbortController().signal;
    const first = calls.add(1_000, signal, stall);
    const second = calls.add(1_000, signal, stall);
    expect(calls.settleNext({ response: 'a' })).toBe(true);
    expect(calls.settleNext({ error: new Error('b') })).toBe(true);
    expect(calls.settleNext({ response: 'c' })).toBe(false);
    await expect(first).resolves.toBe('a');
    await expect(second).rejects.toThrow('b');
  });

  it('reports a timeout or an abort as a stall, and failAll fails what waits', async () => {
    const calls = new InOrderCalls<string>();
    const stalls: string[] = [];
    const controller = new AbortController();
    const timedOut = calls.add(10, new AbortController().signal, (e) => stalls.push(e.message));
    const aborted = calls.add(60_000, controller.signal, (e) => stalls.push(e.message));
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(stalls).toEqual(['fetch cancelled', 'no fetch answer within 10 ms']);
    calls.failAll(new Error('closed'));
    await expect(timedOut).rejects.toThrow('closed');
    await expect(aborted).rejects.toThrow('closed');
  });
});
