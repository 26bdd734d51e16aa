/**
 * Reads what a stopped node stored for a partition, straight from its LevelDB: the replica as it
 * is on disk, not as any node serves it. Tests compare replicas with it byte for byte and record
 * by record ("no two replicas disagree about a committed offset").
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { RecordBatch, decodeRecords } from '../../src/codec/index.js';
import { LogManager, type LogStores } from '../../src/log/index.js';

export interface StoredRecord {
  readonly offset: number;
  readonly value: string;
}

export interface StoredReplica {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  /** Every stored record, in offset order. */
  readonly records: StoredRecord[];
  /** The stored batches' [baseOffset, leaderEpoch] pairs. */
  readonly batchEpochs: Array<[number, number]>;
}

/**
 * A stopped node's log stores, as the broker opens them: data.dir/store, and data.dir/log when
 * it exists (a data dir from before the split keeps batches in the store).
 */
export async function openNodeStores(
  dataDir: string,
): Promise<{ stores: LogStores; close(): Promise<void> }> {
  const open = async (dir: string) => {
    const db = new ClassicLevel<Buffer, Buffer>(path.join(dataDir, dir), {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    await db.open({ createIfMissing: false });
    return db;
  };
  const index = await open('store');
  const batches = existsSync(path.join(dataDir, 'log')) ? await open('log') : index;
  return {
    stores: { batches, index },
    async close() {
      if (batches !== index) await batches.close();
      await index.close();
    },
  };
}

/** The replica of `topicId`-`partition` in a stopped node's data dir; null if it has none. */
export async function readStoredReplica(
  dataDir: string,
  topicId: string,
  partition: number,
): Promise<StoredReplica | null> {
  const node = await openNodeStores(dataDir);
  const logs = await LogManager.open(node.stores, {
    fsync: 'never',
    fsyncIntervalMs: 1000,
    highWatermarkFollowsDurableEnd: true,
    onFatal: (error) => {
      throw error;
    },
  });
  try {
    const log = logs.partition(topicId, partition);
    if (log === undefined) return null;
    const records: StoredRecord[] = [];
    const batchEpochs: Array<[number, number]> = [];
    let offset = log.logStartOffset;
    while (offset < log.logEndOffset) {
      const read = await log.read(offset, 1024 * 1024);
      if (read.batches.length === 0) break;
      for (const batch of read.batches) {
        const header = RecordBatch.of(batch);
        batchEpochs.push([header.baseOffset, header.leaderEpoch]);
        for (const record of await decodeRecords(batch)) {
          records.push({ offset: record.offset, value: record.value?.toString('utf8') ?? '' });
        }
        offset = header.nextOffset;
      }
    }
    return {
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      records,
      batchEpochs,
    };
  } finally {
    await logs.close();
    await node.close();
  }
}
