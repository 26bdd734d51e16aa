/**
 * The newest durable batches of one partition, kept in memory as the very Buffers that were
 * written: followers and consumers that keep up read from here instead of LevelDB (an iterator,
 * a copy and a CRC check per read). Contiguous by construction: a batch that does not continue
 * the cached run restarts it. Bounded by bytes; the oldest batches leave first. Anything that
 * rewrites history (truncation, a new log start, deletion) clears it.
 *
 * Pure bookkeeping, no I/O. Buffers handed out are shared: callers must not modify them. A
 * batch that is a view into a much larger buffer is copied, so the bound holds for memory too.
 */
import { RecordBatch } from '../codec/index.js';
import { assert } from '../util/assert.js';

export class TailCache {
  private baseOffsets: number[] = [];
  private batches: Buffer[] = [];
  /** Index of the first live entry: entries before it were evicted (compacted lazily). */
  private head = 0;
  private bytes = 0;
  private endOffset = -1;

  constructor(private readonly bytesMax: number) {
    assert(bytesMax >= 0, 'tail cache bytesMax >= 0');
  }

  /** Adds a batch that just became durable at `baseOffset`, ending at `nextOffset`. */
  add(baseOffset: number, nextOffset: number, batch: Buffer): void {
    if (this.bytesMax === 0 || batch.length > this.bytesMax) {
      this.clear();
      return;
    }
    if (baseOffset !== this.endOffset) this.clear();
    this.baseOffsets.push(baseOffset);
    // A batch is often a view into a much larger message (a produce request, a fetch answer of
    // many batches): keeping the view would keep that whole message alive, beyond the bound.
    const isView = batch.buffer.byteLength > 2 * batch.length;
    this.batches.push(isView ? Buffer.from(batch) : batch);
    this.bytes += batch.length;
    this.endOffset = nextOffset;
    while (this.bytes > this.bytesMax) {
      this.bytes -= this.batches[this.head]!.length;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.batches.length) this.compact();
  }

  /**
   * The cached batches from the one holding `offset`, none ending past `limitOffset`, up to
   * about `maxBytes` (always one when any fits); null when `offset` is not in the cache.
   */
  read(offset: number, limitOffset: number, maxBytes: number): Buffer[] | null {
    const count = this.batches.length;
    if (this.head >= count || offset < this.baseOffsets[this.head]! || offset >= this.endOffset) {
      return null;
    }
    // The last cached batch whose base is <= offset: it holds `offset` (the run is contiguous).
    let low = this.head;
    let high = count - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.baseOffsets[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    const out: Buffer[] = [];
    let bytes = 0;
    for (let i = low; i < count; i++) {
      const batch = this.batches[i]!;
      if (RecordBatch.of(batch).nextOffset > limitOffset) break;
      if (out.length > 0 && bytes + batch.length > maxBytes) break;
      out.push(batch);
      bytes += batch.length;
    }
    return out;
  }

  clear(): void {
    this.baseOffsets = [];
    this.batches = [];
    this.head = 0;
    this.bytes = 0;
    this.endOffset = -1;
  }

  private compact(): void {
    this.baseOffsets = this.baseOffsets.slice(this.head);
    this.batches = this.batches.slice(this.head);
    this.head = 0;
  }
}
