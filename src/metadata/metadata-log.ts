/**
 * Where committed metadata records live. On one node it is a LevelDB key space of the node's
 * store; the Raft module will implement the same interface with a replicated log, and nothing
 * above it changes.
 */
import type { ClassicLevel } from 'classic-level';
import { assert } from '../util/assert.js';
import { decodeMetadataRecord, encodeMetadataRecord, type MetadataRecord } from './records.js';

export interface MetadataLog {
  /** Every committed record in order, with its offset. */
  readAll(): Promise<{ offset: number; record: MetadataRecord }[]>;
  /** Appends records atomically and durably; resolves with the offset of the last one. */
  append(records: readonly MetadataRecord[]): Promise<number>;
}

/** Key space 0x02 of the node's store: [0x02][offset u64 BE] → JSON record. */
const PREFIX = 0x02;

function key(offset: number): Buffer {
  const buf = Buffer.alloc(9);
  buf[0] = PREFIX;
  buf.writeBigUInt64BE(BigInt(offset), 1);
  return buf;
}

export class LevelMetadataLog implements MetadataLog {
  private nextOffset = 0;

  constructor(private readonly db: ClassicLevel<Buffer, Buffer>) {}

  async readAll(): Promise<{ offset: number; record: MetadataRecord }[]> {
    const out: { offset: number; record: MetadataRecord }[] = [];
    const range = { gte: key(0), lt: Buffer.from([PREFIX + 1]) };
    for await (const [k, v] of this.db.iterator({ ...range, keys: true, values: true })) {
      const offset = Number(k.readBigUInt64BE(1));
      assert(
        offset === out.length,
        `metadata log gap: expected offset ${out.length}, found ${offset}`,
      );
      out.push({ offset, record: decodeMetadataRecord(v) });
    }
    this.nextOffset = out.length;
    return out;
  }

  async append(records: readonly MetadataRecord[]): Promise<number> {
    assert(records.length > 0, 'append of no metadata records');
    const ops = records.map((record, i) => ({
      type: 'put' as const,
      key: key(this.nextOffset + i),
      value: encodeMetadataRecord(record),
    }));
    // Synced: an admin call is answered only after its records survive power loss.
    await this.db.batch(ops, { sync: true });
    this.nextOffset += records.length;
    return this.nextOffset - 1;
  }
}
