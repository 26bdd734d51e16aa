/**
 * GroupCommit with a fake writer whose writes complete only when the test says so. That makes
 * the batching visible: what goes into each write, with which sync flag, in which order waiters
 * hear back, how admission is bounded and what a failed write does. No LevelDB, no disk.
 */
import { describe, expect, it } from 'vitest';
import type { BrokerError } from '../../../src/errors/index.js';
import {
  GroupCommit,
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

  batch(ops: LogWriteOp[], options: { sync: boolean }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.writes.push({ ops, sync: options.sync, finish: resolve, fail: reject });
    });
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(overrides: Partial<GroupCommitOptions> = {}) {
  const writer = new FakeWriter();
  const fatal: Error[] = [];
  const commit = new GroupCommit(writer, {
    fsync: 'always',
    fsyncIntervalMs: 1_000,
    appendsMax: 100,
    bytesMax: 1_000_000,
    logger: { info() {}, error() {} },
    onFatal: (error) => fatal.push(error),
    ...overrides,
  });
  const events: string[] = [];
  /** Queues one op for `name` and records when its write completes or fails. */
  const submit = (name: string): void => {
    commit.push({ type: 'put', key: Buffer.from(name), value: Buffer.from('v') });
    commit.onNextWrite({
      onDurable: () => events.push(`durable ${name}`),
      onFailed: (error) => events.push(`failed ${name}: ${(error as BrokerError).code}`),
    });
  };
  const names = (write: FakeWrite | undefined) => write?.ops.map((op) => op.key.toString());
  return { writer, commit, fatal, events, submit, names };
}

function admission(bytes: number, onAdmit: () => void, refused: Error[] = []): Admission {
  return { bytes, admit: onAdmit, refuse: (error) => refused.push(error) };
}

describe('GroupCommit', () => {
  it('puts everything queued in one turn into one synced write', async () => {
    const { writer, submit, events, names } = setup();
    submit('a');
    submit('b');
    submit('c');
    expect(writer.writes).toHaveLength(0);
    await turn();
    expect(writer.writes).toHaveLength(1);
    expect(names(writer.writes[0])).toEqual(['a', 'b', 'c']);
    expect(writer.writes[0]!.sync).toBe(true);
    writer.writes[0]!.finish();
    await turn();
    expect(events).toEqual(['durable a', 'durable b', 'durable c']);
  });

  it('holds new work while a write is in flight, then writes it all at once', async () => {
    const { writer, submit, events, names } = setup();
    submit('a');
    await turn();
    submit('b');
    await turn();
    submit('c');
    await turn();
    expect(writer.writes).toHaveLength(1);
    writer.writes[0]!.finish();
    await turn();
    await turn();
    expect(writer.writes).toHaveLength(2);
    expect(names(writer.writes[1])).toEqual(['b', 'c']);
    writer.writes[1]!.finish();
    await turn();
    expect(events).toEqual(['durable a', 'durable b', 'durable c']);
  });

  it('writes each dirty state record once, at the end of the write', async () => {
    const { writer, commit, submit, names } = setup();
    let version = 0;
    const source = {
      stateOp: (): LogWriteOp => ({
        type: 'put',
        key: Buffer.from('state'),
        value: Buffer.from(String(++version)),
      }),
    };
    submit('a');
    commit.markDirty(source);
    submit('b');
    commit.markDirty(source);
    await turn();
    expect(names(writer.writes[0])).toEqual(['a', 'b', 'state']);
    expect(version).toBe(1);
  });

  it('admits appends in FIFO order within the bounds, and the rest when a write starts', async () => {
    const { writer, commit, submit } = setup({ appendsMax: 2, bytesMax: 1_000 });
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
    // The first write took a and b; c and d now fill the queue for the next one.
    expect(admitted).toEqual(['a', 'b', 'c', 'd']);
    writer.writes[0]!.finish();
    await turn();
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

  it("does not sync under 'never', and syncs once on request under 'interval'", async () => {
    for (const fsync of ['never', 'interval'] as const) {
      const { writer, commit, submit } = setup({ fsync, fsyncIntervalMs: 60_000 });
      submit('a');
      await turn();
      expect(writer.writes[0]!.sync).toBe(false);
      writer.writes[0]!.finish();
      await turn();
      if (fsync === 'interval') {
        commit.requestSync();
        await turn();
        // Nothing else queued: the sync rides on a marker key under 0x14.
        expect(writer.writes).toHaveLength(2);
        expect(writer.writes[1]!.sync).toBe(true);
        expect(writer.writes[1]!.ops[0]!.key[0]).toBe(0x14);
        writer.writes[1]!.finish();
      }
      const closing = commit.close();
      await turn();
      await turn();
      if (fsync === 'never') {
        // close() syncs what 'never' left unsynced, so a clean shutdown loses nothing.
        expect(writer.writes.at(-1)!.sync).toBe(true);
        writer.writes.at(-1)!.finish();
      }
      await closing;
    }
  });

  it('treats a failed write as fatal: waiters fail, later work is refused, nothing retries', async () => {
    const { writer, commit, submit, events, fatal } = setup();
    submit('a');
    await turn();
    submit('b');
    writer.writes[0]!.fail(new Error('EIO'));
    await turn();
    expect(fatal.map((e) => e.message)).toEqual(['EIO']);
    expect(events).toEqual(['failed a: KAFKA_STORAGE_ERROR', 'failed b: KAFKA_STORAGE_ERROR']);
    const refused: Error[] = [];
    commit.admit(admission(1, () => events.push('admitted'), refused));
    submit('c');
    await turn();
    expect(refused).toHaveLength(1);
    expect(events.at(-1)).toBe('failed c: KAFKA_STORAGE_ERROR');
    expect(writer.writes).toHaveLength(1);
    await commit.close();
  });
});
