/**
 * The newest durable batches of each partition, kept in memory as the very Buffers that were
 * written: followers and consumers that keep up read from here instead of LevelDB (an iterator,
 * a copy and a CRC check per read). Contiguous per partition by construction: a batch that does
 * not continue the cached run restarts it. Anything that rewrites a partition's history
 * (truncation, a new log start, deletion) clears its cache; a compaction step drops the cached
 * batches it rewrote.
 *
 * One byte budget for the whole node (TailCacheBudget): the partitions appended to least
 * recently give their memory up first, so an idle partition holds nothing a busy one needs.
 *
 * Batches are kept as they arrived, usually views into a larger message (a produce request, a
 * fetch answer of many batches): copying each one would double what the hot path allocates.
 * So the budget charges memory, not batch bytes: each underlying buffer once, for its whole
 * size, until the last cached batch in it leaves. A view into a buffer too large for the budget
 * to hold comfortably is copied instead.
 *
 * Pure bookkeeping, no I/O. Buffers handed out are shared: callers must not modify them.
 */
import { RecordBatch } from '../codec/index.js';
import { assert } from '../util/assert.js';

/** A view into a buffer larger than this share of the budget is copied, not retained. */
const RETAINED_BUFFER_SHARE_MAX = 1 / 4;

/** The node-wide memory bound of every partition's TailCache. */
export class TailCacheBudget {
  private usedBytes = 0;
  /** Caches holding memory, least recently appended to first (Map keeps insertion order). */
  private readonly holders = new Map<TailCache, true>();

  constructor(readonly bytesMax: number) {
    assert(bytesMax >= 0, 'tail cache bytesMax >= 0');
  }

  /** Bytes the caches retain now. */
  get bytes(): number {
    return this.usedBytes;
  }

  /** Charges `bytes` to `cache`, makes it the most recent, and evicts until within bounds. */
  charge(cache: TailCache, bytes: number): void {
    this.usedBytes += bytes;
    this.holders.delete(cache);
    this.holders.set(cache, true);
    for (const holder of this.holders.keys()) {
      if (this.usedBytes <= this.bytesMax) return;
      if (holder === cache) break;
      holder.clear();
    }
    cache.evictWhileOver();
  }

  /** Called by a cache when it gives memory back; `isEmpty` once it holds nothing. */
  release(cache: TailCache, bytes: number, isEmpty: boolean): void {
    this.usedBytes -= bytes;
    assert(this.usedBytes >= 0, 'tail cache budget below zero');
    if (isEmpty) this.holders.delete(cache);
  }

  /** True while more memory is retained than the budget allows. */
  get isOver(): boolean {
    return this.usedBytes > this.bytesMax;
  }
}

export class TailCache {
  private baseOffsets: number[] = [];
  private batches: Buffer[] = [];
  /**
   * Bytes charged to the budget for each entry: the whole underlying buffer for the first entry
   * of a run sharing one, 0 for the rest of the run. Eviction passes the charge along the run.
   */
  private charges: number[] = [];
  /** Index of the first live entry: entries before it were evicted (compacted lazily). */
  private head = 0;
  private endOffset = -1;

  constructor(private readonly budget: TailCacheBudget) {}

  /** Adds a batch that just became durable at `baseOffset`, ending at `nextOffset`. */
  add(baseOffset: number, nextOffset: number, batch: Buffer): void {
    const retainedMax = this.budget.bytesMax * RETAINED_BUFFER_SHARE_MAX;
    if (batch.length > retainedMax) {
      this.clear();
      return;
    }
    if (baseOffset !== this.endOffset) this.clear();
    const kept = batch.buffer.byteLength > retainedMax ? ownCopy(batch) : batch;
    const last = this.batches.length > this.head ? this.batches[this.batches.length - 1] : null;
    const charge = last?.buffer === kept.buffer ? 0 : kept.buffer.byteLength;
    this.baseOffsets.push(baseOffset);
    this.batches.push(kept);
    this.charges.push(charge);
    this.endOffset = nextOffset;
    this.budget.charge(this, charge);
  }

  /** Evicts this cache's oldest entries while the budget is over (it is the newest holder). */
  evictWhileOver(): void {
    while (this.budget.isOver && this.head < this.batches.length) this.evictHead();
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

  /**
   * Drops the cached batches that start before `offset` (compaction rewrote them), so reads of
   * them go to LevelDB; the rest stay, still contiguous. `offset` must be a batch boundary.
   */
  dropBefore(offset: number): void {
    while (this.head < this.batches.length && this.baseOffsets[this.head]! < offset) {
      this.evictHead();
    }
    if (this.head >= this.batches.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.batches.length) this.compact();
  }

  clear(): void {
    let charged = 0;
    for (let i = this.head; i < this.charges.length; i++) charged += this.charges[i]!;
    this.baseOffsets = [];
    this.batches = [];
    this.charges = [];
    this.head = 0;
    this.endOffset = -1;
    this.budget.release(this, charged, true);
  }

  private evictHead(): void {
    const index = this.head++;
    const charge = this.charges[index]!;
    const next = this.head < this.batches.length ? this.batches[this.head]! : null;
    // The underlying buffer stays alive while a later entry still points into it.
    if (next !== null && next.buffer === this.batches[index]!.buffer) {
      this.charges[this.head] = charge;
    } else {
      this.budget.release(this, charge, next === null);
    }
    this.batches[index] = EMPTY;
  }

  private compact(): void {
    this.baseOffsets = this.baseOffsets.slice(this.head);
    this.batches = this.batches.slice(this.head);
    this.charges = this.charges.slice(this.head);
    this.head = 0;
  }
}

/** Stands in for evicted entries until compaction, so they retain nothing. */
const EMPTY = Buffer.alloc(0);

/**
 * A copy in a buffer of its own. Buffer.from would put a small one in Node's shared 8 KiB pool,
 * which other caches' copies (and anything else) share: the charge would be the pool's, and one
 * slab could be charged by two caches.
 */
function ownCopy(batch: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(batch.length);
  batch.copy(copy);
  return copy;
}
