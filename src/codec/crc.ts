/**
 * CRC32C (Castagnoli), hardware-accelerated through @node-rs/crc32. The batch CRC covers bytes
 * [8, end): everything after the CRC field except batchLength, which is checked against the
 * buffer's length instead (docs/record-batch.md, "CRC").
 */
import { crc32c as crc32cNative } from '@node-rs/crc32';
import { BATCH, CRC_START } from './layout.js';

/** CRC32C of all of buf, as an unsigned 32-bit integer. */
export function crc32c(buf: Buffer): number {
  // The native binding already returns the unsigned value; `>>> 0` pins that contract here.
  return crc32cNative(buf) >>> 0;
}

/** The CRC a batch should carry: CRC32C of bytes [8, end). buf must be at least 8 bytes. */
export function computeBatchCrc(buf: Buffer): number {
  return crc32c(buf.subarray(CRC_START));
}

/** Recomputes and stores the batch CRC; the last write to a batch after any header change. */
export function writeBatchCrc(buf: Buffer): void {
  buf.writeUInt32BE(computeBatchCrc(buf), BATCH.CRC);
}
