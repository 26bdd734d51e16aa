/**
 * What the raw LevelDB children share, so every raw yardstick writes like the broker: the db
 * opened as the broker opens its store, and the size of the value the codec gives one batch.
 */
import { ClassicLevel } from 'classic-level';
import { encodeBatch } from '../src/codec/index.js';
import { limits } from '../src/config/limits.js';

/** A fresh db in `dir`, opened as the broker opens its store (server/broker.ts). */
export async function openRawStore(dir: string): Promise<ClassicLevel<Buffer, Buffer>> {
  // Buffer encodings and default options, as the broker's store.
  const db = new ClassicLevel<Buffer, Buffer>(dir, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  // The broker's memtable size, so the yardstick flushes as often.
  await db.open({
    createIfMissing: true,
    errorIfExists: true,
    writeBufferSize: limits.storeWriteBufferBytes,
  });
  return db;
}

/** Size of the batch the codec builds from R records of B random bytes (no key, no headers). */
export async function batchBytes(recordsPerBatch: number, recordBytes: number): Promise<number> {
  const nowMs = Date.now();
  const records = [];
  for (let i = 0; i < recordsPerBatch; i++) {
    records.push({ key: null, value: Buffer.alloc(recordBytes), timestampMs: nowMs, headers: [] });
  }
  const batch = await encodeBatch(records);
  return batch.length;
}
