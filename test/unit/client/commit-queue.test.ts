/**
 * The commit queue (src/client/commit-queue.ts): commits go out one at a time in call order, so
 * a later commit never overtakes an earlier one, and commits asked for while one waits are
 * merged (per partition the later offset wins) and share one outcome. `send` is a fake whose
 * calls the test settles by hand, so nothing here waits on time.
 */
import { describe, expect, it } from 'vitest';
import { CommitQueue, type CommitOffset } from '../../../src/client/commit-queue.js';

interface Sent {
  readonly offsets: readonly CommitOffset[];
  resolve(): void;
  reject(error: unknown): void;
}

function fakeQueue(): { queue: CommitQueue; sent: Sent[] } {
  const sent: Sent[] = [];
  const queue = new CommitQueue(
    (offsets) =>
      new Promise<void>((resolve, reject) => {
        sent.push({ offsets, resolve, reject });
      }),
  );
  return { queue, sent };
}

const at = (partition: number, offset: number): CommitOffset => ({
  topic: 't',
  partition,
  offset,
});

/** Lets promise callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('CommitQueue', () => {
  it('sends one commit at a time, in call order, merging those that wait (later offsets win)', async () => {
    const { queue, sent } = fakeQueue();
    const first = queue.enqueue([at(0, 5)]);
    const second = queue.enqueue([at(0, 7), at(1, 3)]);
    const third = queue.enqueue([at(0, 9)]);
    expect(sent.map((s) => s.offsets)).toEqual([[at(0, 5)]]);
    sent[0]!.resolve();
    await first;
    await settle();
    expect(sent).toHaveLength(2);
    expect(sent[1]!.offsets).toEqual([at(0, 9), at(1, 3)]);
    sent[1]!.resolve();
    await Promise.all([second, third]);
  });

  it('merged commits share the outcome of their request; the queue goes on after a failure', async () => {
    const { queue, sent } = fakeQueue();
    const first = queue.enqueue([at(0, 1)]);
    const second = queue.enqueue([at(0, 2)]);
    const third = queue.enqueue([at(1, 2)]);
    sent[0]!.reject(new Error('coordinator gone'));
    await expect(first).rejects.toThrow('coordinator gone');
    await settle();
    sent[1]!.reject(new Error('fenced'));
    await expect(second).rejects.toThrow('fenced');
    await expect(third).rejects.toThrow('fenced');
    const fourth = queue.enqueue([at(0, 3)]);
    sent[2]!.resolve();
    await fourth;
  });

  it('idle() resolves once everything queued so far has settled, failures included', async () => {
    const { queue, sent } = fakeQueue();
    const idleEmpty = queue.idle();
    await idleEmpty;
    const first = queue.enqueue([at(0, 1)]).catch(() => undefined);
    const second = queue.enqueue([at(0, 2)]);
    let isIdle = false;
    const idle = queue.idle().then(() => {
      isIdle = true;
    });
    sent[0]!.reject(new Error('x'));
    await first;
    await settle();
    expect(isIdle).toBe(false);
    sent[1]!.resolve();
    await second;
    await idle;
    expect(isIdle).toBe(true);
  });
});
