/**
 * A follower takes its leader's log start from fetch answers (Kafka's
 * maybeIncrementLogStartOffset on the follower), so DeleteRecords survives a failover. One real
 * LevelDB holds a "leader" partition and a "follower" partition; a FollowerFetcher pulls the
 * follower from the leader through a fake ReplicaFetchClient that answers from the leader's log
 * and can cap the high watermark it reports. The checks: the follower's log start follows the
 * leader's, with and without new batches in the answer, never passes the follower's own high
 * watermark, leaves the follower byte for byte equal to the leader, and survives a reopen.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordBatch } from '../../../src/codec/index.js';
import type { PartitionLog } from '../../../src/log/index.js';
import type {
  OffsetsForLeaderEpochRequest,
  OffsetsForLeaderEpochResponse__Output,
  ReplicaFetchPartitionResponse__Output,
  ReplicaFetchRequest,
  ReplicaFetchResponse__Output,
} from '../../../src/proto/index.js';
import { FollowerFetcher, type ReplicaFetchClient } from '../../../src/replication/index.js';
import { makeBatch, newTopicId, openStore, type TestStore } from '../log/helpers.js';

const LEADER = 0;
const FOLLOWER = 1;
const EPOCH = 3;
const BATCH_RECORDS = 5;

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

/** The leader's ReplicaFetch service, answered from its log in this process. */
class FakeLeader implements ReplicaFetchClient {
  /** The high watermark reported is min(the leader's, this). */
  highWatermarkMax = Number.MAX_SAFE_INTEGER;

  constructor(private readonly log: PartitionLog) {}

  async fetch(
    _address: string,
    request: ReplicaFetchRequest,
    signal: AbortSignal,
  ): Promise<ReplicaFetchResponse__Output> {
    const wanted = request.partitions![0]!;
    const fetchOffset = Number(wanted.fetchOffset);
    const log = this.log;
    const answer: ReplicaFetchPartitionResponse__Output = {
      topicId: wanted.topicId!,
      partition: wanted.partition!,
      errorCode: 'NONE',
      errorMessage: '',
      highWatermark: Math.min(log.highWatermark, this.highWatermarkMax),
      logStartOffset: log.logStartOffset,
      logEndOffset: log.durableEndOffset,
      recordBatches: [],
      recordBatchSizes: [],
    };
    if (fetchOffset < log.logStartOffset || fetchOffset > log.durableEndOffset) {
      answer.errorCode = 'OFFSET_OUT_OF_RANGE';
    } else if (fetchOffset === log.durableEndOffset) {
      // A short long poll: nothing new, answer after a moment.
      await sleep(5, undefined, { signal }).catch(() => undefined);
    } else {
      const read = await log.read(fetchOffset, Number(request.partitionMaxBytes), {
        maxOffset: log.durableEndOffset,
      });
      answer.recordBatches = read.batches;
    }
    return { partitions: [answer] };
  }

  offsetsForLeaderEpoch(
    _address: string,
    request: OffsetsForLeaderEpochRequest,
  ): Promise<OffsetsForLeaderEpochResponse__Output> {
    const partitions = request.partitions!.map((p) => {
      const end = this.log.endOffsetForEpoch(p.leaderEpoch!);
      return {
        topicId: p.topicId!,
        partition: p.partition!,
        errorCode: 'NONE' as const,
        errorMessage: '',
        leaderEpoch: end.epoch,
        endOffset: end.endOffset,
      };
    });
    return Promise.resolve({ partitions });
  }
}

function startFetcher(client: ReplicaFetchClient, follower: PartitionLog): FollowerFetcher {
  const quiet = { info() {}, warn() {}, debug() {} };
  const fetcher = new FollowerFetcher({
    nodeId: 2,
    leaderId: 1,
    leaderAddress: 'fake:0',
    brokerEpoch: () => 1,
    client,
    fetchWaitMaxMs: 5,
    fetchMaxBytes: 1 << 20,
    logger: quiet,
  });
  fetcher.add(topicId, FOLLOWER, follower, EPOCH);
  return fetcher;
}

/**
 * Polls until `done()`, checking on every poll that the follower's log start never passes its
 * high watermark; fails after 5 s.
 */
async function until(follower: PartitionLog, what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    expect(follower.logStartOffset).toBeLessThanOrEqual(follower.highWatermark);
    if (done()) return;
    if (Date.now() > deadline) {
      const at = `start ${follower.logStartOffset}, hw ${follower.highWatermark}, end ${follower.logEndOffset}`;
      throw new Error(`timed out waiting for ${what} (${at})`);
    }
    await sleep(2);
  }
}

async function produce(log: PartitionLog, batches: number, tag: string): Promise<void> {
  for (let b = 0; b < batches; b++) {
    await log.append(await makeBatch(BATCH_RECORDS, `${tag}${b}`), EPOCH, null);
  }
}

/** The stored batches from the one holding the log start, as hex. */
async function storedBatches(log: PartitionLog): Promise<string[]> {
  const out: string[] = [];
  let offset = log.logStartOffset;
  // Bounded: each read below the high watermark returns at least one batch.
  while (offset < log.highWatermark) {
    const read = await log.read(offset, 1 << 20);
    for (const batch of read.batches) out.push(batch.toString('hex'));
    offset = RecordBatch.of(read.batches.at(-1)!).nextOffset;
  }
  return out;
}

describe('a follower and its leader log start', () => {
  it('follows the leader log start from fetch answers, never past its own high watermark', async () => {
    const leader = await store.manager.createPartition(topicId, LEADER);
    const follower = await store.manager.createPartition(topicId, FOLLOWER);
    follower.setHighWatermarkFollowsDurableEnd(false);
    await produce(leader, 4, 'b');
    const client = new FakeLeader(leader);
    client.highWatermarkMax = 3;
    const fetcher = startFetcher(client, follower);
    try {
      await until(follower, 'the follower to catch up', () => follower.logEndOffset === 20);

      // Offset 7 is inside the batch [5, 9]; the follower's high watermark is 3.
      expect(await leader.deleteBefore(7)).toBe(7);
      await until(follower, 'log start 3', () => follower.logStartOffset === 3);
      await sleep(50);
      expect(follower.logStartOffset).toBe(3);

      client.highWatermarkMax = Number.MAX_SAFE_INTEGER;
      await until(follower, 'log start 7', () => follower.logStartOffset === 7);
      expect(follower.highWatermark).toBe(20);

      // Answers with no batch carry the log start too.
      expect(await leader.deleteBefore(12)).toBe(12);
      await until(follower, 'log start 12', () => follower.logStartOffset === 12);

      await produce(leader, 2, 'c');
      await until(follower, 'the new batches', () => follower.highWatermark === 30);
      await until(
        follower,
        'the old batches removed',
        () => follower.sizeBytes === leader.sizeBytes,
      );
      expect(await storedBatches(follower)).toEqual(await storedBatches(leader));
    } finally {
      await fetcher.close();
    }
    await store.reopen();
    const reopened = store.manager.partition(topicId, FOLLOWER)!;
    expect(reopened.logStartOffset).toBe(12);
    expect(reopened.logEndOffset).toBe(30);
  });
});
