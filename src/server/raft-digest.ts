/**
 * The Raft state machine of this release: a running digest of the committed log. It keeps the
 * index of the last applied entry, how many NORMAL entries carried data and how many bytes, and
 * a SHA-256 chained over (index, term, data) of every applied NORMAL entry, leader no-ops
 * included. Two nodes that applied up to the same index hold the same digest exactly when they
 * applied the same entries: the integration tests and DescribeCluster compare it across nodes.
 *
 * It is a real state machine (snapshot and restore serialise exactly this state, so a node that
 * catches up through InstallSnapshot must land on the same digest), but a minimal one: the next
 * release replaces it with the metadata image, when the controller moves onto Raft.
 */
import { createHash } from 'node:crypto';
import { EntryType, type Entry, type Snapshot } from '../raft/types.js';
import { assert } from '../util/assert.js';

/** What the digest holds; also what a snapshot of it carries. */
export interface DigestState {
  /** Index of the last entry applied (of any type); 0 before the first. */
  readonly appliedIndex: number;
  /** NORMAL entries with data applied (leader no-ops and membership changes not counted). */
  readonly entryCount: number;
  /** Bytes of their data. */
  readonly dataBytes: number;
  /** The chained SHA-256, hex; 64 zeros before the first NORMAL entry. */
  readonly digest: string;
}

const SNAPSHOT_VERSION = 1;
const DIGEST_BYTES = 32;
/** version u8, appliedIndex u64, entryCount u64, dataBytes u64, digest. */
const SNAPSHOT_BYTES = 1 + 8 + 8 + 8 + DIGEST_BYTES;
const TWO_TO_32 = 2 ** 32;

/** Implements the driver's StateMachine (src/raft/io/driver.ts) over a running digest. */
export class RaftDigest {
  private appliedIndex = 0;
  private entryCount = 0;
  private dataBytes = 0;
  private digest: Buffer = Buffer.alloc(DIGEST_BYTES);
  /** Scratch for the (index, term) prefix hashed before each entry's data. */
  private readonly header = Buffer.alloc(16);

  /** Applies committed entries, which must follow the last applied one without a gap. */
  apply(entries: readonly Entry[]): void {
    for (const entry of entries) {
      assert(
        entry.index === this.appliedIndex + 1,
        `raft digest: entry ${entry.index} applied after ${this.appliedIndex}`,
      );
      this.appliedIndex = entry.index;
      if (entry.type !== EntryType.NORMAL) continue;
      writeUint64(this.header, 0, entry.index);
      writeUint64(this.header, 8, entry.term);
      this.digest = createHash('sha256')
        .update(this.digest)
        .update(this.header)
        .update(entry.data)
        .digest();
      if (entry.data.length > 0) {
        this.entryCount++;
        this.dataBytes += entry.data.length;
      }
    }
  }

  /** The state as of the last applied entry, serialised; a fresh buffer the caller owns. */
  snapshot(): Uint8Array {
    const out = Buffer.alloc(SNAPSHOT_BYTES);
    out.writeUInt8(SNAPSHOT_VERSION, 0);
    writeUint64(out, 1, this.appliedIndex);
    writeUint64(out, 9, this.entryCount);
    writeUint64(out, 17, this.dataBytes);
    this.digest.copy(out, 25);
    return out;
  }

  /**
   * Replaces the state with a snapshot's. The snapshot must be one snapshot() made, as of its
   * own meta.index: anything else is a bug in the driver or a corrupted store, and crashes.
   */
  restore(snapshot: Snapshot): void {
    const data = Buffer.from(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.length);
    assert(data.length === SNAPSHOT_BYTES, `raft digest snapshot is ${data.length} bytes`);
    assert(data.readUInt8(0) === SNAPSHOT_VERSION, 'raft digest snapshot version');
    const appliedIndex = readUint64(data, 1);
    assert(
      appliedIndex === snapshot.meta.index,
      `raft digest snapshot holds index ${appliedIndex}, its meta says ${snapshot.meta.index}`,
    );
    this.appliedIndex = appliedIndex;
    this.entryCount = readUint64(data, 9);
    this.dataBytes = readUint64(data, 17);
    this.digest = Buffer.from(data.subarray(25, 25 + DIGEST_BYTES));
  }

  /** The current state; a copy. */
  state(): DigestState {
    return {
      appliedIndex: this.appliedIndex,
      entryCount: this.entryCount,
      dataBytes: this.dataBytes,
      digest: this.digest.toString('hex'),
    };
  }
}

function writeUint64(buf: Buffer, at: number, value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, `uint64 out of range: ${value}`);
  buf.writeUInt32BE(Math.floor(value / TWO_TO_32), at);
  buf.writeUInt32BE(value % TWO_TO_32, at + 4);
}

function readUint64(buf: Buffer, at: number): number {
  const value = buf.readUInt32BE(at) * TWO_TO_32 + buf.readUInt32BE(at + 4);
  assert(Number.isSafeInteger(value), 'uint64 above 2^53 in a raft digest snapshot');
  return value;
}
