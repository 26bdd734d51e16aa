/**
 * The metadata state machine Raft replicates on every node (voters and observers alike): each
 * committed entry's records replay into a delta, and each batch of applied entries yields a new
 * immutable image that listeners see with what changed. A snapshot is the image written as the
 * records that rebuild it (imageToRecords), so installing one is replaying it onto the empty
 * image, as KRaft loads a snapshot.
 *
 * Listeners are called synchronously, in apply order, and must only take note of the change
 * (queue work): Raft waits for apply, and a listener that did I/O here would stall the quorum.
 */
import { createHash } from 'node:crypto';
import { EntryType, type Entry, type Snapshot } from '../raft/types.js';
import { assert } from '../util/assert.js';
import { MetadataDelta, MetadataImage, imageToRecords, type MetadataChanges } from './image.js';
import { checkMetadataRecord, decodeMetadataEntry } from './records.js';

/** Called after every applied batch of entries with the new image and what changed. */
export type ImageListener = (image: MetadataImage, changes: MetadataChanges) => void;

const SNAPSHOT_VERSION = 1;

/** The changes of a wholesale replacement: listeners reconcile against the whole image. */
export const RELOAD_CHANGES: MetadataChanges = {
  isReload: true,
  changedBrokers: [],
  createdTopics: [],
  deletedTopics: [],
  changedPartitions: new Map(),
  changedConfigs: [],
};

/** Implements the Raft driver's StateMachine (src/raft/io/driver.ts) over the metadata image. */
export class MetadataState {
  private current = MetadataImage.EMPTY;
  private readonly listeners = new Set<ImageListener>();
  private readonly offsetWaiters = new Set<{ offset: number; resolve: () => void }>();

  /** The image as of the last applied entry. */
  image(): MetadataImage {
    return this.current;
  }

  /** Adds a listener; returns the function that removes it. */
  onChange(listener: ImageListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * SHA-256 (hex) of the image's canonical records: two nodes that applied the same offset hold
   * the same image exactly when their digests are equal.
   */
  digest(): string {
    return createHash('sha256').update(this.snapshot()).digest('hex');
  }

  /** Resolves once the image has applied `offset` (a Raft index), or at once if it has. */
  waitForOffset(offset: number): Promise<void> {
    if (this.current.offset >= offset) return Promise.resolve();
    return new Promise((resolve) => this.offsetWaiters.add({ offset, resolve }));
  }

  apply(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const delta = new MetadataDelta(this.current);
    for (const entry of entries) {
      assert(entry.index > this.current.offset, `metadata entry ${entry.index} applied twice`);
      delta.advanceTo(entry.index);
      if (entry.type !== EntryType.NORMAL || entry.data.length === 0) continue;
      for (const record of decodeMetadataEntry(entry.data)) delta.replay(record);
    }
    const { image, changes } = delta.apply();
    this.publish(image, changes);
  }

  snapshot(): Uint8Array {
    const records = imageToRecords(this.current);
    const body = { v: SNAPSHOT_VERSION, offset: this.current.offset, records };
    return Buffer.from(JSON.stringify(body), 'utf8');
  }

  restore(snapshot: Snapshot): void {
    const data = snapshot.data;
    const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
    const body = JSON.parse(text) as { v?: unknown; offset?: unknown; records?: unknown };
    if (body.v !== SNAPSHOT_VERSION || !Array.isArray(body.records)) {
      throw new Error(
        `unknown metadata snapshot version ${String(body.v)}: written by a newer Brook`,
      );
    }
    assert(
      body.offset === snapshot.meta.index,
      `metadata snapshot of offset ${String(body.offset)} stored as index ${snapshot.meta.index}`,
    );
    const delta = new MetadataDelta(MetadataImage.EMPTY);
    delta.advanceTo(snapshot.meta.index);
    for (const record of body.records) delta.replay(checkMetadataRecord(record));
    this.publish(delta.apply().image, RELOAD_CHANGES);
  }

  private publish(image: MetadataImage, changes: MetadataChanges): void {
    this.current = image;
    for (const listener of this.listeners) listener(image, changes);
    for (const waiter of this.offsetWaiters) {
      if (image.offset < waiter.offset) continue;
      this.offsetWaiters.delete(waiter);
      waiter.resolve();
    }
  }
}
