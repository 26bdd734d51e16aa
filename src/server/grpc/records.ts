/**
 * Turning stored batches into the RECORDS format of Fetch and Subscribe. This is the one place
 * the broker builds an object per record, and only for clients that asked for decoded records;
 * the SDK asks for BATCHES and decodes on its own side.
 */
import { decodeRecords, RecordBatch, TimestampType } from '../../codec/index.js';
import type { FetchedRecord } from '../../proto/index.js';

export async function toFetchedRecords(
  batches: readonly Buffer[],
  fromOffset: number,
): Promise<FetchedRecord[]> {
  const out: FetchedRecord[] = [];
  for (const batch of batches) {
    const header = RecordBatch.of(batch);
    const timestampType =
      header.timestampType === TimestampType.LOG_APPEND_TIME ? 'LOG_APPEND_TIME' : 'CREATE_TIME';
    for (const record of await decodeRecords(batch)) {
      if (record.offset < fromOffset) continue;
      const fetched: FetchedRecord = {
        offset: record.offset,
        leaderEpoch: header.leaderEpoch,
        timestampMs: record.timestampMs,
        headers: record.headers,
        timestampType,
      };
      if (record.key !== null) fetched.key = record.key;
      if (record.value !== null) fetched.value = record.value;
      out.push(fetched);
    }
  }
  return out;
}
