/**
 * GroupCommit with two fake writers, one per store, whose writes complete only when the test
 * says so. That makes the rounds visible: what goes into each store's write, with which sync
 * flag, in which order the two writes run and waiters hear back, how admission is bounded and
 * what a failed write does. No LevelDB, no disk. The clock the index sync interval reads is
 * Date.now, stubbed where it matters: fake timers would also stop the setImmediate that starts
 * each round.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BrokerError } from '../../../src/errors/index.js';
import {
  GroupCommit,
  INDEX_SYNC_INTERVAL_MS,
  type Admission,
  type GroupCommitOptions,
  type LogWriteOp,
} from '../../../src/log/group-commit.js';

interface FakeWrite {
  ops: LogWriteOp[];
  sync: boolean;
  finish(): void;
  fail(error: Error): void;
}

class FakeWriter {
  readonly writes: FakeWrite[] = [];

  /** `journal` is shared by both stores' writers: it records the order their writes start in. */
  constructor(
    private readonly store: string,
    private readonly journal: string[],
  ) {}

  batch(ops: LogWriteOp[], options: { sync: boolean }): Promise<void> {
    this.journal.push(`${this.store} write`);
    return new Promise((resolve, reject) => {
      this.writes.push({ ops, sync: options.sync, finish: resolve, fail: reject });
    });
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(overrides: Partial<GroupCommitOptions> = {}) {
  const journal: string[] = [];
  const batches = new FakeWriter('batches', journal);
  const index = new FakeWriter('index', journal);
  const fatal: Error[] = [];
  const commit = new GroupCommit(
    { batches, index },
    {
      fsync: 'always',
      fsyncIntervalMs: 1_000,
      appendsMax: 100,
      bytesMax: 1_000_000,
      logger: { info() {}, error() {} },
      onFatal: (error) => fatal.push(error),
      ...overrides,
    },
  );
  const events: string[] = [];
  const put = (key: string, value = 'v'): LogWriteOp => ({
    type: 'put',
    key: Buffer.from(key),
    value: Buffer.from(value),
  });
  /**
   * Queues a batch-store op `name` and, unless `indexed` is false, an index-store op `i:name`
   * (as an append with a time-index entry does), and records when its round completes or fails.
   */
  const submit = (name: string, indexed = true): void => {
    commit.pushBatch(put(name));
    if (indexed) commit.pushIndex(put(`i:${name}`));
    commit.onNextWrite({
      onDurable: () => events.push(`durable ${name}`),
      onFailed: (error) => events.push(`failed ${name}: ${(error as BrokerError).code}`),
    });
  };
  /** Completes round `n`: its batch-store write, then the index-store write that follows it. */
  const finishRound = async (n: number): Promise<void> => {
    batches.writes[n]!.finish();
    await turn();
    index.writes[n]!.finish();
    await turn();
  };
  const names = (write: FakeWrite | undefined) => write?.ops.map((op) => op.key.toString());
  return { batches, index, journal, commit, fatal, events, put, submit, finishRound, names };
}

function admission(bytes: number, onAdmit: () => void, refused: Error[] = []): Admission {
  return { bytes, admit: onAdmit, refuse: (error) => refused.push(error) };
}

/** Stubs Date.now, which GroupCommit reads to space the index syncs under 'always'. */
function fakeClock(startMs: number): { set(ms: number): void } {
  let nowMs = startMs;
  vi.spyOn(Date, 'now').mockImplementation(() => nowMs);
  return {
    set: (ms) => {
      nowMs = ms;
    },
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('GroupCommit', () => {
  it('puts everything queued in one turn into one round: one write per store', async () => {
    const { batches, index, commit, submit, events, names, finishRound } = setup();
    submit('a');
    submit('b');
    submit('c');
    expect(batches.writes).toHaveLength(0);
    await turn();
    expect(batches.writes).toHaveLength(1);
    expect(names(batches.writes[0])).toEqual(['a', 'b', 'c']);
    expect(batches.writes[0]!.sync).toBe(true);
    await finishRound(0);
    expect(index.writes).toHaveLength(1);
    expect(names(index.writes[0])).toEqual(['i:a', 'i:b', 'i:c']);
    expect(events).toEqual(['durable a', 'durable b', 'durable c']);
    expect(commit.stats).toMatchObject({ writes: 2, syncedWrites: 2, opsWritten: 6 });
  });

  it('writes the batch store first, and starts the index write only when that finished', async () => {
    const { batches, index, journal, submit } = setup();
    submit('a');
    await turn();
    expect(journal).toEqual(['batches write']);
    // However long the batch write takes, the index write waits for it.
    await turn();
    await turn();
    expect(index.writes).toHaveLength(0);
    batches.writes[0]!.finish();
    await turn();
    expect(journal).toEqual(['batches write', 'index write']);
    expect(index.writes).toHaveLength(1);
  });

  it('tells waiters only when the index write completed too', async () => {
    const { batches, index, submit, events } = setup();
    submit('a');
    submit('b');
    await turn();
    batches.writes[0]!.finish();
    await turn();
    await turn();
    expect(index.writes).toHaveLength(1);
    expect(events).toEqual([]);
    index.writes[0]!.finish();
    await turn();
    expect(events).toEqual(['durable a', 'durable b']);
  });

  it('skips the write of a store with nothing queued for it', async () => {
    const { batches, index, journal, commit, events, put } = setup();
    // An index-only round (an epoch entry, say): no batch-store write at all.
    commit.pushIndex(put('epoch'));
    commit.onNextWrite({ onDurable: () => events.push('durable epoch'), onFailed() {} });
    await turn();
    expect(batches.writes).toHaveLength(0);
    expect(index.writes).toHaveLength(1);
    index.writes[0]!.finish();
    await turn();
    expect(events).toEqual(['durable epoch']);
    // A batch-only round: its waiter hears back after the one write.
    commit.pushBatch(put('a'));
    commit.onNextWrite({ onDurable: () => events.push('durable a'), onFailed() {} });
    await turn();
    batches.writes[0]!.finish();
    await turn();
    expect(events).toEqual(['durable epoch', 'durable a']);
    expect(index.writes).toHaveLength(1);
    expect(journal).toEqual(['index write', 'batches write']);
  });

  it('holds new work while a round is in flight, then writes it all in the next one', async () => {
    const { batches, index, submit, events, names, finishRound } = setup();
    submit('a');
    await turn();
    submit('b');
    await turn();
    batches.writes[0]!.finish();
    await turn();
    // The round is still in flight while its index write runs: c waits too.
    submit('c');
    await turn();
    expect(batches.writes).toHaveLength(1);
    expect(index.writes).toHaveLength(1);
    index.writes[0]!.finish();
    await turn();
    await turn();
    expect(batches.writes).toHaveLength(2);
    expect(names(batches.writes[1])).toEqual(['b', 'c']);
    expect(events).toEqual(['durable a']);
    await finishRound(1);
    expect(names(index.writes[1])).toEqual(['i:b', 'i:c']);
    expect(events).toEqual(['durable a', 'durable b', 'durable c']);
  });

  it('writes each dirty state record once, at the end of the index write, as of the round start', async () => {
    const { batches, index, commit, submit, names, finishRound } = setup();
    let value = 'before';
    let calls = 0;
    const source = {
      stateOp: (): LogWriteOp => {
        calls++;
        return { type: 'put', key: Buffer.from('state'), value: Buffer.from(value) };
      },
    };
    submit('a');
    commit.markDirty(source);
    submit('b');
    commit.markDirty(source);
    await turn();
    // Taken when the round started, while the batch write runs: later changes are the next
    // round's.
    expect(calls).toBe(1);
    value = 'after';
    expect(names(batches.writes[0])).toEqual(['a', 'b']);
    batches.writes[0]!.finish();
    await turn();
    expect(names(index.writes[0])).toEqual(['i:a', 'i:b', 'state']);
    expect(index.writes[0]!.ops.at(-1)).toMatchObject({ value: Buffer.from('before') });
    expect(calls).toBe(1);
    // Marked dirty again while the round runs: the record goes into the next round, alone.
    commit.markDirty(source);
    index.writes[0]!.finish();
    await turn();
    await turn();
    expect(batches.writes).toHaveLength(1);
    expect(names(index.writes[1])).toEqual(['state']);
    expect(index.writes[1]!.ops[0]).toMatchObject({ value: Buffer.from('after') });
    index.writes[1]!.finish();
    await turn();
    submit('c');
    await turn();
    await finishRound(1);
    // Not dirty any more: no state record.
    expect(names(index.writes[2])).toEqual(['i:c']);
    expect(calls).toBe(2);
  });

  it('admits appends in FIFO order within the bounds, and the rest when a round starts', async () => {
    const { commit, submit, finishRound } = setup({ appendsMax: 2, bytesMax: 1_000 });
    const admitted: string[] = [];
    const admit = (name: string, bytes = 10) =>
      commit.admit(
        admission(bytes, () => {
          admitted.push(name);
          submit(name);
        }),
      );
    admit('a');
    admit('b');
    admit('c');
    admit('d');
    admit('e');
    expect(admitted).toEqual(['a', 'b']);
    await turn();
    // The first round took a and b; c and d now fill the queue for the next one.
    expect(admitted).toEqual(['a', 'b', 'c', 'd']);
    await finishRound(0);
    await turn();
    expect(admitted).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(commit.stats.queuedAppendsHigh).toBe(2);
  });

  it('bounds queued bytes, but always takes one append into an empty queue', async () => {
    const { commit, submit } = setup({ appendsMax: 100, bytesMax: 100 });
    const admitted: string[] = [];
    const admit = (name: string, bytes: number) =>
      commit.admit(
        admission(bytes, () => {
          admitted.push(name);
          submit(name);
        }),
      );
    admit('a', 60);
    admit('b', 60);
    // A later small append must not overtake b (order across partitions is FIFO).
    admit('c', 10);
    expect(admitted).toEqual(['a']);
    await turn();
    expect(admitted).toEqual(['a', 'b', 'c']);
    expect(commit.stats.queuedBytesHigh).toBeLessThanOrEqual(100);
    expect(() => admit('huge', 101)).toThrow(/exceeds bytesMax/);
  });

  it("syncs nothing under 'never', and both stores once when close() finds writes unsynced", async () => {
    const { batches, index, commit, submit, finishRound } = setup({ fsync: 'never' });
    submit('a');
    await turn();
    expect(batches.writes[0]!.sync).toBe(false);
    await finishRound(0);
    expect(index.writes[0]!.sync).toBe(false);
    const closing = commit.close();
    // close() waits for the queue to drain before it schedules its round.
    await turn();
    await turn();
    // Nothing queued: each store's sync rides on a marker key under 0x14.
    expect(batches.writes).toHaveLength(2);
    expect(batches.writes[1]!.sync).toBe(true);
    expect(batches.writes[1]!.ops.map((op) => op.key[0])).toEqual([0x14]);
    batches.writes[1]!.finish();
    await turn();
    expect(index.writes).toHaveLength(2);
    expect(index.writes[1]!.sync).toBe(true);
    expect(index.writes[1]!.ops.map((op) => op.key[0])).toEqual([0x14]);
    index.writes[1]!.finish();
    await closing;
  });

  it('puts a sync marker only into the stores that hold unsynced writes', async () => {
    const { batches, index, commit, submit } = setup({ fsync: 'never' });
    // A batch-only round: the index store has nothing unsynced.
    submit('a', false);
    await turn();
    batches.writes[0]!.finish();
    await turn();
    const closing = commit.close();
    await turn();
    await turn();
    expect(batches.writes).toHaveLength(2);
    expect(batches.writes[1]!.sync).toBe(true);
    expect(batches.writes[1]!.ops.map((op) => op.key[0])).toEqual([0x14]);
    batches.writes[1]!.finish();
    await closing;
    expect(index.writes).toHaveLength(0);
  });

  it("syncs both stores on the 'interval' tick, with a marker key when nothing is queued", async () => {
    const { batches, index, commit, submit, finishRound } = setup({
      fsync: 'interval',
      fsyncIntervalMs: 60_000,
    });
    submit('a');
    await turn();
    expect(batches.writes[0]!.sync).toBe(false);
    await finishRound(0);
    expect(index.writes[0]!.sync).toBe(false);
    commit.requestSync();
    await turn();
    expect(batches.writes).toHaveLength(2);
    expect(batches.writes[1]!.sync).toBe(true);
    expect(batches.writes[1]!.ops[0]!.key[0]).toBe(0x14);
    await finishRound(1);
    expect(index.writes[1]!.sync).toBe(true);
    expect(index.writes[1]!.ops[0]!.key[0]).toBe(0x14);
    // Unsynced writes again, and a tick with work queued: that round's own writes are synced,
    // no marker.
    submit('b');
    await turn();
    expect(batches.writes[2]!.sync).toBe(false);
    await finishRound(2);
    submit('c');
    commit.requestSync();
    await turn();
    expect(batches.writes[3]!.sync).toBe(true);
    expect(batches.writes[3]!.ops.map((op) => op.key.toString())).toEqual(['c']);
    await finishRound(3);
    expect(index.writes[3]!.sync).toBe(true);
    expect(index.writes[3]!.ops.map((op) => op.key.toString())).toEqual(['i:c']);
    // Everything is synced: neither another tick nor close() writes anything.
    commit.requestSync();
    await turn();
    await commit.close();
    expect(batches.writes).toHaveLength(4);
    expect(index.writes).toHaveLength(4);
  });

  it("syncs both writes of the round after syncNextWrite, even under 'never'", async () => {
    const { batches, index, commit, submit, finishRound } = setup({ fsync: 'never' });
    submit('truncate');
    commit.syncNextWrite();
    await turn();
    expect(batches.writes[0]!.sync).toBe(true);
    await finishRound(0);
    expect(index.writes[0]!.sync).toBe(true);
    // Only that round: the next one is back to the policy.
    submit('a');
    await turn();
    expect(batches.writes[1]!.sync).toBe(false);
    await finishRound(1);
    expect(index.writes[1]!.sync).toBe(false);
    expect(commit.stats).toMatchObject({ writes: 4, syncedWrites: 2 });
  });

  it(`under 'always', syncs the index write at most once every ${INDEX_SYNC_INTERVAL_MS} ms`, async () => {
    const start = 1_700_000_000_000;
    const clock = fakeClock(start);
    const { batches, index, commit, submit } = setup({ fsync: 'always' });
    let round = 0;
    /** One round at `atMs` after start; returns the sync flags of its two writes. */
    const roundAt = async (atMs: number, indexed = true) => {
      clock.set(start + atMs);
      submit(`r${round}`, indexed);
      await turn();
      const n = round++;
      batches.writes[n]!.finish();
      await turn();
      const indexWrite = indexed ? index.writes.at(-1) : undefined;
      indexWrite?.finish();
      await turn();
      return { batches: batches.writes[n]!.sync, index: indexWrite?.sync };
    };
    // The first index write is synced, then none until the interval passed since it.
    expect(await roundAt(0)).toEqual({ batches: true, index: true });
    expect(await roundAt(500)).toEqual({ batches: true, index: false });
    expect(await roundAt(INDEX_SYNC_INTERVAL_MS - 1)).toEqual({ batches: true, index: false });
    expect(await roundAt(INDEX_SYNC_INTERVAL_MS)).toEqual({ batches: true, index: true });
    // A round without index ops does not use up the next sync.
    expect(await roundAt(2 * INDEX_SYNC_INTERVAL_MS, false)).toEqual({
      batches: true,
      index: undefined,
    });
    expect(await roundAt(2 * INDEX_SYNC_INTERVAL_MS + 1)).toEqual({ batches: true, index: true });
    expect(index.writes).toHaveLength(5);
    expect(commit.stats).toMatchObject({ writes: 11, syncedWrites: 6 + 3 });
    // close() syncs the index write left unsynced: a marker in the index store alone, as every
    // batch-store write was synced.
    await roundAt(2 * INDEX_SYNC_INTERVAL_MS + 2);
    expect(index.writes.at(-1)!.sync).toBe(false);
    const closing = commit.close();
    // close() waits for the queue to drain before it schedules its round.
    await turn();
    await turn();
    expect(batches.writes).toHaveLength(round);
    expect(index.writes).toHaveLength(7);
    expect(index.writes.at(-1)!.sync).toBe(true);
    expect(index.writes.at(-1)!.ops.map((op) => op.key[0])).toEqual([0x14]);
    index.writes.at(-1)!.finish();
    await closing;
  });

  it('treats a failed batch write as fatal: waiters fail, later work is refused, nothing retries', async () => {
    const { batches, index, commit, submit, events, fatal } = setup();
    submit('a');
    await turn();
    submit('b');
    batches.writes[0]!.fail(new Error('EIO'));
    await turn();
    expect(fatal.map((e) => e.message)).toEqual(['EIO']);
    expect(events).toEqual(['failed a: KAFKA_STORAGE_ERROR', 'failed b: KAFKA_STORAGE_ERROR']);
    // The index never counts what the batch store may not hold.
    expect(index.writes).toHaveLength(0);
    const refused: Error[] = [];
    commit.admit(admission(1, () => events.push('admitted'), refused));
    submit('c');
    await turn();
    expect(refused).toHaveLength(1);
    expect(events.at(-1)).toBe('failed c: KAFKA_STORAGE_ERROR');
    expect(batches.writes).toHaveLength(1);
    await commit.close();
  });

  it('treats a failed index write as fatal too, failing the waiters of its round', async () => {
    const { batches, index, commit, submit, events, fatal } = setup();
    submit('a');
    await turn();
    batches.writes[0]!.finish();
    await turn();
    submit('b');
    index.writes[0]!.fail(new Error('ENOSPC'));
    await turn();
    expect(fatal.map((e) => e.message)).toEqual(['ENOSPC']);
    expect(events).toEqual(['failed a: KAFKA_STORAGE_ERROR', 'failed b: KAFKA_STORAGE_ERROR']);
    const refused: Error[] = [];
    commit.admit(admission(1, () => events.push('admitted'), refused));
    submit('c');
    await turn();
    expect(refused).toHaveLength(1);
    expect(events.at(-1)).toBe('failed c: KAFKA_STORAGE_ERROR');
    expect(batches.writes).toHaveLength(1);
    expect(index.writes).toHaveLength(1);
    await commit.close();
  });
});
