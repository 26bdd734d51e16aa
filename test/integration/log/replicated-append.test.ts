/**
 * Follower replication on the partition log, against a real LevelDB in a temp dir. A "leader"
 * partition appends (and so stamps) batches, its reads are handed to a "follower" partition's
 * appendReplicated, and the follower must then read back the same bytes and answer the same
 * leader-epoch questions, before and after a reopen. Refused calls (gaps, bad CRC, epochs going
 * back) must leave the follower's memory and its keys untouched. A fast-check property replays
 * random leader histories in random chunkings, some issued without waiting under a tiny queue.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BATCH, RecordBatch, encodeBatch, stampBatch } from '../../../src/codec/index.js';
import { BrokerError } from '../../../src/errors/index.js';
import type { PartitionLog } from '../../../src/log/index.js';
import { allKeys, makeBatch, newTopicId, openStore, type Db, type TestStore } from './helpers.js';

let store: TestStore;
let topicId: string;

beforeEach(async () => {
  store = await openStore();
  topicId = newTopicId();
});

afterEach(async () => {
  expect(store.faults).toEqual([]);
  await store.close();
});

const LEADER = 0;
const FOLLOWER = 1;

/** Every committed batch of `log` from `from` (default its start), in offset order. */
async function readAll(log: PartitionLog, from = log.logStartOffset): Promise<Buffer[]> {
  const batches: Buffer[] = [];
  let offset = from;
  // Bounded: every read below the high watermark returns at least one batch.
  while (offset < log.highWatermark) {
    const read = await log.read(offset, 1 << 20);
    batches.push(...read.batches);
    offset = RecordBatch.of(read.batches.at(-1)!).nextOffset;
  }
  return batches;
}

/** Appends one batch per entry of `counts` to the leader in `epoch`; timestamps rise from `ts`. */
async function lead(log: PartitionLog, counts: number[], epoch: number, ts = 1_000): Promise<void> {
  for (const count of counts) {
    const timestamps = Array.from({ length: count }, (_, i) => ts + 10 * log.logEndOffset + i);
    await log.append(await makeBatch(count, `e${epoch}`, timestamps), epoch, null);
  }
}

/** What the follower must agree with the leader on, and what a refused call must not change. */
async function snapshot(log: PartitionLog, maxEpoch = 10) {
  const answers = [];
  for (let epoch = -1; epoch <= maxEpoch; epoch++) answers.push(log.endOffsetForEpoch(epoch));
  return {
    start: log.logStartOffset,
    end: log.logEndOffset,
    durableEnd: log.durableEndOffset,
    hw: log.highWatermark,
    size: log.sizeBytes,
    latestEpoch: log.latestEpoch(),
    epochs: log.epochEntries(),
    answers,
    batches: (await readAll(log)).map((batch) => batch.toString('hex')),
  };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<BrokerError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrokerError);
  expect((error as BrokerError).code).toBe(code);
  return error as BrokerError;
}

/** A batch as a leader of `epoch` would store it at `baseOffset`. */
async function stamped(baseOffset: number, epoch: number, count = 1): Promise<Buffer> {
  const batch = await makeBatch(count, 'stamped');
  stampBatch(batch, { baseOffset, leaderEpoch: epoch, logAppendTimeMs: null });
  return batch;
}

async function openPair(): Promise<[PartitionLog, PartitionLog]> {
  const leader = await store.manager.createPartition(topicId, LEADER);
  const follower = await store.manager.createPartition(topicId, FOLLOWER);
  return [leader, follower];
}

describe('appendReplicated', () => {
  it('stores the leader batches byte for byte, with the same epochs and epoch answers', async () => {
    const [leader, follower] = await openPair();
    await lead(leader, [3, 1], 1);
    await leader.append(await makeBatch(2, 'lat', [5, 6]), 1, 9_999); // LogAppendTime
    await lead(leader, [4], 3);
    await lead(leader, [2, 2, 1], 7);
    const batches = await readAll(leader);
    const first = await follower.appendReplicated(batches.slice(0, 2));
    expect(first).toEqual({ baseOffset: 0, lastOffset: 3, logStartOffset: 0 });
    const rest = await follower.appendReplicated(batches.slice(2));
    expect(rest).toEqual({ baseOffset: 4, lastOffset: 14, logStartOffset: 0 });
    expect(await snapshot(follower)).toEqual(await snapshot(leader));
    expect(follower.epochEntries()).toEqual([
      [1, 0],
      [3, 6],
      [7, 10],
    ]);
    // The same bytes, not re-stamped copies: the LogAppendTime batch kept the leader's time.
    const replicated = await readAll(follower);
    for (let i = 0; i < batches.length; i++) expect(replicated[i]!.equals(batches[i]!)).toBe(true);
    for (const t of [0, 1_005, 1_061, 9_999, 10_000]) {
      expect(await follower.offsetForTimestamp(t)).toEqual(await leader.offsetForTimestamp(t));
    }
  });

  it('refuses a batch that does not start at the log end or leaves a gap, changing nothing', async () => {
    const [leader, follower] = await openPair();
    await lead(leader, [2, 2, 2, 2], 1);
    const batches = await readAll(leader);
    await follower.appendReplicated(batches.slice(0, 1));
    const before = await snapshot(follower);
    const keysBefore = await allKeys(store);
    // Past the end (a gap before it), already held, and a gap between two batches of one call.
    await expectCode(follower.appendReplicated([batches[2]!]), 'OFFSET_OUT_OF_RANGE');
    await expectCode(follower.appendReplicated([batches[0]!]), 'OFFSET_OUT_OF_RANGE');
    const gap = await expectCode(
      follower.appendReplicated([batches[1]!, batches[3]!]),
      'OFFSET_OUT_OF_RANGE',
    );
    expect(gap.message).toContain('starts at 6, but the log continues at 4');
    expect(await snapshot(follower)).toEqual(before);
    expect(await allKeys(store)).toEqual(keysBefore);
    await follower.appendReplicated(batches.slice(1));
    expect(await snapshot(follower)).toEqual(await snapshot(leader));
  });

  it('refuses a batch failing its CRC or header check (CORRUPT_MESSAGE), changing nothing', async () => {
    const [leader, follower] = await openPair();
    await lead(leader, [2, 3], 1);
    const batches = await readAll(leader);
    const before = await snapshot(follower);
    const keysBefore = await allKeys(store);
    // A flipped record byte, a flipped baseOffset byte (the CRC covers it), a flipped CRC
    // byte, and a batch cut short.
    const flipped = (at: number): Buffer => {
      const copy = Buffer.from(batches[1]!);
      copy[at]! ^= 0x01;
      return copy;
    };
    const broken = [
      flipped(batches[1]!.length - 1),
      flipped(BATCH.BASE_OFFSET + 7),
      flipped(BATCH.CRC),
      batches[1]!.subarray(0, batches[1]!.length - 1),
    ];
    for (const bad of broken) {
      // The good first batch must not go in either: the call is checked as a whole first.
      await expectCode(follower.appendReplicated([batches[0]!, bad]), 'CORRUPT_MESSAGE');
    }
    // A batch no leader stamped carries leader epoch -1.
    await expectCode(follower.appendReplicated([await makeBatch(1)]), 'CORRUPT_MESSAGE');
    expect(await snapshot(follower)).toEqual(before);
    expect(await allKeys(store)).toEqual(keysBefore);
    expect(store.faults).toEqual([]);
  });

  it('refuses leader epochs going back, within a call or below latestEpoch (KIP-101)', async () => {
    const [, follower] = await openPair();
    await follower.appendReplicated([await stamped(0, 5, 2)]);
    const before = await snapshot(follower);
    const keysBefore = await allKeys(store);
    const older = await expectCode(
      follower.appendReplicated([await stamped(2, 4)]),
      'OFFSET_OUT_OF_RANGE',
    );
    expect(older.message).toContain('leader epoch 4, older than the 5');
    await expectCode(
      follower.appendReplicated([await stamped(2, 6), await stamped(3, 5)]),
      'OFFSET_OUT_OF_RANGE',
    );
    expect(await snapshot(follower)).toEqual(before);
    expect(await allKeys(store)).toEqual(keysBefore);
    // The same epoch and newer ones go on.
    await follower.appendReplicated([await stamped(2, 5), await stamped(3, 8, 2)]);
    expect(follower.epochEntries()).toEqual([
      [5, 0],
      [8, 3],
    ]);
  });

  it('checks a call queued behind appends waiting for room against the end they will leave', async () => {
    store.config = { inflightAppendsMax: 2 };
    await store.reopen();
    const [leader, follower] = await openPair();
    await lead(leader, [1, 2, 1, 3, 1], 2);
    await lead(leader, [2, 2], 4);
    const batches = await readAll(leader);
    // Issued in one tick: only two batches get room; the rest, and the later calls, wait.
    const first = follower.appendReplicated(batches.slice(0, 4));
    expect(follower.logEndOffset).toBe(3);
    const second = follower.appendReplicated(batches.slice(4));
    await expectCode(follower.appendReplicated([await stamped(11, 3)]), 'OFFSET_OUT_OF_RANGE');
    await expectCode(follower.appendReplicated([await stamped(12, 3)]), 'OFFSET_OUT_OF_RANGE');
    expect(await first).toEqual({ baseOffset: 0, lastOffset: 6, logStartOffset: 0 });
    expect(await second).toEqual({ baseOffset: 7, lastOffset: 11, logStartOffset: 0 });
    expect(store.manager.commitStats.queuedAppendsHigh).toBe(2);
    expect(await snapshot(follower)).toEqual(await snapshot(leader));
  });

  it('survives a reopen: log end, size, epochs and bytes are recovered as the leader has them', async () => {
    const [leader, follower] = await openPair();
    await lead(leader, [2, 3], 0);
    await lead(leader, [1], 2);
    await lead(leader, [4, 1], 5);
    await follower.appendReplicated(await readAll(leader));
    const expected = await snapshot(leader);
    await store.reopen();
    const reopened = store.manager.partition(topicId, FOLLOWER)!;
    expect(await snapshot(reopened)).toEqual(expected);
    // Replication continues from the recovered end.
    const leaderAgain = store.manager.partition(topicId, LEADER)!;
    await lead(leaderAgain, [2], 6);
    await reopened.appendReplicated(await readAll(leaderAgain, reopened.logEndOffset));
    expect(await snapshot(reopened)).toEqual(await snapshot(leaderAgain));
  });

  it('repairs a divergent suffix: truncateTo at the new leader epoch end, then replicate (KIP-101)', async () => {
    const oldLeader = await store.manager.createPartition(topicId, 0);
    const newLeader = await store.manager.createPartition(topicId, 1);
    const follower = await store.manager.createPartition(topicId, 2);
    // Epoch 1 reaches everyone; epoch 2's records reach only the follower before its leader dies.
    await lead(oldLeader, [3, 2], 1);
    const common = await readAll(oldLeader);
    await lead(oldLeader, [2, 2], 2);
    await follower.appendReplicated(await readAll(oldLeader));
    await newLeader.appendReplicated(common);
    await lead(newLeader, [1, 4, 2], 3, 50_000);
    expect(follower.logEndOffset).toBe(9);
    // Fetching at the follower's end hands it batches that do not line up: refused.
    await expectCode(follower.appendReplicated(await readAll(newLeader, 5)), 'OFFSET_OUT_OF_RANGE');
    // The handshake: the new leader's end of the follower's latest epoch, then truncate to it.
    const answer = newLeader.endOffsetForEpoch(follower.latestEpoch());
    expect(answer).toEqual({ epoch: 1, endOffset: 5 });
    expect(await follower.truncateTo(answer.endOffset)).toBe(5);
    expect(follower.epochEntries()).toEqual([[1, 0]]);
    await follower.appendReplicated(await readAll(newLeader, follower.logEndOffset));
    expect(await snapshot(follower)).toEqual(await snapshot(newLeader));
    expect(await follower.offsetForTimestamp(50_000)).toEqual(
      await newLeader.offsetForTimestamp(50_000),
    );
    await store.reopen();
    expect(await snapshot(store.manager.partition(topicId, 2)!)).toEqual(
      await snapshot(store.manager.partition(topicId, 1)!),
    );
  });
});

describe('resetTo', () => {
  it('starts an empty log at the leader log start, and replication continues from there', async () => {
    const [leader, follower] = await openPair();
    await lead(leader, [2, 3], 1);
    await lead(leader, [4, 1], 2);
    await leader.deleteBefore(5);
    await follower.resetTo(leader.logStartOffset);
    expect([follower.logStartOffset, follower.logEndOffset, follower.highWatermark]).toEqual([
      5, 5, 5,
    ]);
    expect(follower.epochEntries()).toEqual([]);
    await expectCode(follower.read(4, 100), 'OFFSET_OUT_OF_RANGE');
    expect((await follower.read(5, 100)).batches).toEqual([]);
    await follower.appendReplicated(await readAll(leader));
    expect(await snapshot(follower)).toEqual(await snapshot(leader));
    await store.reopen();
    expect(await snapshot(store.manager.partition(topicId, FOLLOWER)!)).toEqual(
      await snapshot(store.manager.partition(topicId, LEADER)!),
    );
  });

  it('drops a log wholly below the offset, with its epochs and time index, for good', async () => {
    const [leader, follower] = await openPair();
    await follower.appendReplicated([await stamped(0, 9, 3), await stamped(3, 9, 2)]);
    const followerKeys = async () => {
      // Batch, epoch and time keys of the follower: [space][topicId 16][partition u32 = 1].
      const keys = await allKeys(store);
      const partition = '00000001';
      return keys.filter(
        (k) => ['10', '12', '13'].includes(k.slice(0, 2)) && k.slice(34, 42) === partition,
      );
    };
    expect(await followerKeys()).not.toEqual([]);
    await lead(leader, [10, 10, 10], 2);
    await leader.deleteBefore(20);
    await follower.resetTo(20);
    expect(follower.sizeBytes).toBe(0);
    expect(follower.latestEpoch()).toBe(-1);
    expect(await followerKeys()).toEqual([]);
    // The leader's epoch 2 is older than the 9 the follower had: fine after the reset.
    await follower.appendReplicated(await readAll(leader));
    expect(await snapshot(follower)).toEqual(await snapshot(leader));
    await store.reopen();
    const reopened = store.manager.partition(topicId, FOLLOWER)!;
    expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([20, 30]);
    expect(reopened.epochEntries()).toEqual([[2, 20]]);
  });

  it('is done by its first write: a crash right after it recovers to the reset log', async () => {
    const [leader, follower] = await openPair();
    // Old records with far later timestamps than the leader's, so a time-index entry the
    // crash leaves behind sits above every new batch's maximum.
    await follower.appendReplicated([await stamped(0, 9, 3), await stamped(3, 9, 2)]);
    await lead(leader, [10, 10, 10], 2);
    await leader.deleteBefore(20);
    // The "crash": every LevelDB write after the reset's first one is lost.
    const db = store.db as unknown as {
      batch: (ops: unknown[], options: unknown) => Promise<void>;
    };
    const original = db.batch;
    let writes = 0;
    db.batch = (ops, options) => (writes++ === 0 ? original(ops, options) : Promise.resolve());
    await follower.resetTo(20);
    expect(writes).toBeGreaterThan(1);
    await store.reopen();
    const recovered = store.manager.partition(topicId, FOLLOWER)!;
    expect([recovered.logStartOffset, recovered.logEndOffset, recovered.sizeBytes]).toEqual([
      20, 20, 0,
    ]);
    expect(recovered.epochEntries()).toEqual([]);
    const leaderAgain = store.manager.partition(topicId, LEADER)!;
    await recovered.appendReplicated(await readAll(leaderAgain));
    expect(await snapshot(recovered)).toEqual(await snapshot(leaderAgain));
    for (const t of [0, 1_200, 1_290, 1_700_000_000_000]) {
      expect(await recovered.offsetForTimestamp(t)).toEqual(
        await leaderAgain.offsetForTimestamp(t),
      );
    }
  });

  it('asserts when records at or after the offset would be dropped (truncateTo does that)', async () => {
    const [, follower] = await openPair();
    await follower.appendReplicated([await stamped(0, 1, 4)]);
    await expect(follower.resetTo(3)).rejects.toThrow(/below the log end 4; truncate instead/);
    expect(follower.logEndOffset).toBe(4);
  });
});

/** Makes `db` drop every write (a crash that lost them) until the returned function runs. */
function loseWrites(db: Db): () => void {
  const target = db as unknown as { batch: (ops: unknown[], options: unknown) => Promise<void> };
  const original = target.batch;
  target.batch = () => Promise.resolve();
  return () => {
    target.batch = original;
  };
}

describe('a log that starts inside its first batch', () => {
  /**
   * DeleteRecords moved the leader's log start into the middle of a batch, which the leader
   * keeps. A follower whose log ends below that start resets to it and is then handed, from its
   * log end, the leader's first batch, which starts before it. It stores that batch as it is,
   * keeping its log start (as the leader does), so it mirrors the leader byte for byte.
   */
  async function leaderStartingInsideABatch(): Promise<PartitionLog> {
    const leader = await store.manager.createPartition(topicId, LEADER);
    await lead(leader, [2, 3], 1);
    await lead(leader, [4, 1], 2);
    // Batches [0, 1], [2, 4], [5, 8], [9]: the new start 3 lies inside [2, 4].
    expect(await leader.deleteBefore(3)).toBe(3);
    return leader;
  }

  it('a follower reset to the leader log start takes the batch holding it as it is, and recovers it', async () => {
    const leader = await leaderStartingInsideABatch();
    const follower = await store.manager.createPartition(topicId, FOLLOWER);
    await follower.appendReplicated([await stamped(0, 1, 2)]);
    await follower.resetTo(leader.logStartOffset);
    const batches = await readAll(leader);
    expect(RecordBatch.of(batches[0]!).baseOffset).toBe(2);
    const first = await follower.appendReplicated(batches.slice(0, 1));
    expect(first).toEqual({ baseOffset: 2, lastOffset: 4, logStartOffset: 3 });
    await follower.appendReplicated(batches.slice(1));
    expect(await snapshot(follower)).toEqual(await snapshot(leader));
    expect([follower.logStartOffset, follower.logEndOffset]).toEqual([3, 10]);
    expect(follower.epochEntries()).toEqual([
      [1, 3],
      [2, 5],
    ]);
    // A read at the log start returns the same batch as on the leader; below it, nothing.
    const atStart = await follower.read(3, 1);
    expect(atStart.batches[0]!.equals(batches[0]!)).toBe(true);
    await expectCode(follower.read(2, 100), 'OFFSET_OUT_OF_RANGE');
    for (const t of [0, 1_020, 1_030, 1_095, 5_000]) {
      expect(await follower.offsetForTimestamp(t)).toEqual(await leader.offsetForTimestamp(t));
    }
    // Recovery: log start, log end, size, epochs and bytes as before the restart.
    const expected = await snapshot(leader);
    await store.reopen();
    const reopened = store.manager.partition(topicId, FOLLOWER)!;
    expect(await snapshot(reopened)).toEqual(expected);
    expect([reopened.logStartOffset, reopened.logEndOffset, reopened.sizeBytes]).toEqual([
      3,
      10,
      batches.reduce((sum, batch) => sum + batch.length, 0),
    ]);
    // Replication continues from the recovered end.
    const leaderAgain = store.manager.partition(topicId, LEADER)!;
    await lead(leaderAgain, [2], 3);
    await reopened.appendReplicated(await readAll(leaderAgain, reopened.logEndOffset));
    expect(await snapshot(reopened)).toEqual(await snapshot(leaderAgain));
  });

  it('a crash before the write of that batch leaves the empty reset log, and the fetch is redone', async () => {
    const leader = await leaderStartingInsideABatch();
    const follower = await store.manager.createPartition(topicId, FOLLOWER);
    await follower.resetTo(leader.logStartOffset);
    // The "crash": both writes of the round holding the batch (the batch, then its epoch, time
    // and state entries) are lost.
    const restore = [loseWrites(store.db), loseWrites(store.batchDb)];
    await follower.appendReplicated(await readAll(leader));
    for (const undo of restore) undo();
    await store.reopen();
    const recovered = store.manager.partition(topicId, FOLLOWER)!;
    expect([recovered.logStartOffset, recovered.logEndOffset, recovered.sizeBytes]).toEqual([
      3, 3, 0,
    ]);
    expect(recovered.epochEntries()).toEqual([]);
    const leaderAgain = store.manager.partition(topicId, LEADER)!;
    await recovered.appendReplicated(await readAll(leaderAgain));
    expect(await snapshot(recovered)).toEqual(await snapshot(leaderAgain));
  });

  it('a crash after the batch but before its index write: recovery indexes the batch before the start', async () => {
    const leader = await leaderStartingInsideABatch();
    const follower = await store.manager.createPartition(topicId, FOLLOWER);
    await follower.resetTo(leader.logStartOffset);
    // Only the index store's write (epoch, time and state entries) is lost.
    const undo = loseWrites(store.db);
    await follower.appendReplicated(await readAll(leader));
    undo();
    await store.reopen();
    const recovered = store.manager.partition(topicId, FOLLOWER)!;
    const leaderAgain = store.manager.partition(topicId, LEADER)!;
    expect([recovered.logStartOffset, recovered.logEndOffset, recovered.sizeBytes]).toEqual([
      leaderAgain.logStartOffset,
      leaderAgain.logEndOffset,
      leaderAgain.sizeBytes,
    ]);
    expect(recovered.epochEntries()).toEqual(leaderAgain.epochEntries());
    expect(await snapshot(recovered)).toEqual(await snapshot(leaderAgain));
    // And the repaired index was written: a second reopen finds the same without repairing.
    await store.reopen();
    const again = store.manager.partition(topicId, FOLLOWER)!;
    expect([again.logEndOffset, again.sizeBytes]).toEqual([
      recovered.logEndOffset,
      recovered.sizeBytes,
    ]);
  });

  it('a truncation into that batch empties the log below its start, and a reset refills it', async () => {
    const leader = await leaderStartingInsideABatch();
    const follower = await store.manager.createPartition(topicId, FOLLOWER);
    await follower.resetTo(leader.logStartOffset);
    await follower.appendReplicated(await readAll(leader));
    // The batch holding offset 4 starts at 2, before the log start: nothing is left.
    expect(await follower.truncateTo(4)).toBe(2);
    expect([follower.logStartOffset, follower.logEndOffset, follower.sizeBytes]).toEqual([2, 2, 0]);
    await store.reopen();
    const reopened = store.manager.partition(topicId, FOLLOWER)!;
    expect([reopened.logStartOffset, reopened.logEndOffset, reopened.sizeBytes]).toEqual([2, 2, 0]);
    const leaderAgain = store.manager.partition(topicId, LEADER)!;
    await reopened.resetTo(leaderAgain.logStartOffset);
    await reopened.appendReplicated(await readAll(leaderAgain));
    expect(await snapshot(reopened)).toEqual(await snapshot(leaderAgain));
  });

  it('takes a first batch before the log start only while the log is empty, and only if it holds the start', async () => {
    const leader = await leaderStartingInsideABatch();
    const follower = await store.manager.createPartition(topicId, FOLLOWER);
    await follower.resetTo(3);
    const empty = await snapshot(follower);
    const keysBefore = await allKeys(store);
    // Ending before the log start, or starting after it: refused, as any other misplaced batch.
    await expectCode(follower.appendReplicated([await stamped(0, 1, 3)]), 'OFFSET_OUT_OF_RANGE');
    await expectCode(follower.appendReplicated([await stamped(4, 1, 2)]), 'OFFSET_OUT_OF_RANGE');
    // Holding the start, but followed by a gap: the call is checked as a whole.
    await expectCode(
      follower.appendReplicated([await stamped(2, 1, 3), await stamped(6, 1)]),
      'OFFSET_OUT_OF_RANGE',
    );
    expect(await snapshot(follower)).toEqual(empty);
    expect(await allKeys(store)).toEqual(keysBefore);
    // Once the log holds a batch, each batch must start at the log end again.
    await follower.appendReplicated([await stamped(3, 1, 2)]);
    const refused = await expectCode(
      follower.appendReplicated([await stamped(4, 1, 3)]),
      'OFFSET_OUT_OF_RANGE',
    );
    expect(refused.message).toContain('starts at 4, but the log continues at 5');
    expect(follower.logEndOffset).toBe(5);
    expect(leader.logStartOffset).toBe(3);
  });
});

describe('generated', () => {
  interface LeaderStep {
    readonly timestamps: number[];
    readonly bumpEpoch: number;
    readonly logAppendTime: boolean;
  }

  const stepArb: fc.Arbitrary<LeaderStep> = fc.record({
    timestamps: fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: 1, maxLength: 5 }),
    bumpEpoch: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 3 })),
    logAppendTime: fc.boolean(),
  });

  /** Splits `count` batches into runs of the given (cycled) sizes. */
  function chunk<T>(items: T[], sizes: number[]): T[][] {
    const chunks: T[][] = [];
    let at = 0;
    for (let i = 0; at < items.length; i++) {
      const size = sizes[i % sizes.length]!;
      chunks.push(items.slice(at, at + size));
      at += size;
    }
    return chunks;
  }

  it('leaves the follower byte-identical to the leader under any chunking', async () => {
    // A tiny queue, so calls issued without waiting also exercise admission in FIFO order.
    store.config = { inflightAppendsMax: 3, groupCommitBytesMax: 4_096 };
    await store.reopen();
    let partition = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 1, maxLength: 15 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        async (steps, sizes, pipelined) => {
          const leader = await store.manager.createPartition(topicId, partition++);
          const follower = await store.manager.createPartition(topicId, partition++);
          let epoch = 0;
          for (const step of steps) {
            epoch += step.bumpEpoch;
            const records = step.timestamps.map((timestampMs, i) => ({
              key: null,
              value: Buffer.from(`r${i}`),
              timestampMs,
              headers: [],
            }));
            const appendTimeMs = step.logAppendTime ? 2_000 + leader.logEndOffset : null;
            await leader.append(await encodeBatch(records), epoch, appendTimeMs);
          }
          const calls = chunk(await readAll(leader), sizes);
          if (pipelined) {
            await Promise.all(calls.map((batches) => follower.appendReplicated(batches)));
          } else {
            for (const batches of calls) await follower.appendReplicated(batches);
          }
          expect(await snapshot(follower, epoch + 1)).toEqual(await snapshot(leader, epoch + 1));
          for (const t of [0, 500, 1_000, 2_005]) {
            expect(await follower.offsetForTimestamp(t)).toEqual(
              await leader.offsetForTimestamp(t),
            );
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
