/**
 * The digest state machine the broker runs on Raft in this release. Its digest is what the
 * integration tests compare across nodes, so it must depend on exactly the applied NORMAL
 * entries (index, term, data), and a restore from its own snapshot must reproduce it bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { EntryType, type Entry, type Snapshot } from '../../../src/raft/types.js';
import { RaftDigest } from '../../../src/server/raft-digest.js';
import { AssertionError } from '../../../src/util/assert.js';

const normal = (index: number, term: number, text: string): Entry => ({
  index,
  term,
  type: EntryType.NORMAL,
  data: Buffer.from(text),
});

const snapshotOf = (digest: RaftDigest, index: number): Snapshot => ({
  meta: { index, term: 1, confState: { voters: [{ id: 0, address: 'h:1' }], observers: [] } },
  data: digest.snapshot(),
});

describe('RaftDigest', () => {
  it('starts empty', () => {
    expect(new RaftDigest().state()).toEqual({
      appliedIndex: 0,
      entryCount: 0,
      dataBytes: 0,
      digest: '0'.repeat(64),
    });
  });

  it('counts data entries and bytes; no-ops and conf changes only move the index', () => {
    const digest = new RaftDigest();
    digest.apply([
      normal(1, 1, ''),
      normal(2, 1, 'abc'),
      { index: 3, term: 1, type: EntryType.CONF_CHANGE, data: Buffer.from('x') },
      normal(4, 2, 'de'),
    ]);
    expect(digest.state()).toMatchObject({ appliedIndex: 4, entryCount: 2, dataBytes: 5 });
  });

  it('chains index, term and data: the same data at another term gives another digest', () => {
    const a = new RaftDigest();
    const b = new RaftDigest();
    const c = new RaftDigest();
    a.apply([normal(1, 1, 'x'), normal(2, 1, 'y')]);
    b.apply([normal(1, 1, 'x'), normal(2, 2, 'y')]);
    c.apply([normal(1, 1, 'x')]);
    c.apply([normal(2, 1, 'y')]);
    expect(a.state().digest).not.toBe(b.state().digest);
    expect(a.state()).toEqual(c.state());
  });

  it('restores exactly what it snapshotted, and goes on from there', () => {
    const original = new RaftDigest();
    original.apply([normal(1, 1, ''), normal(2, 1, 'one'), normal(3, 1, 'two')]);
    const copy = new RaftDigest();
    copy.restore(snapshotOf(original, 3));
    expect(copy.state()).toEqual(original.state());
    original.apply([normal(4, 2, 'three')]);
    copy.apply([normal(4, 2, 'three')]);
    expect(copy.state()).toEqual(original.state());
  });

  it('asserts that entries follow the last applied one without a gap', () => {
    const digest = new RaftDigest();
    digest.apply([normal(1, 1, 'a')]);
    expect(() => digest.apply([normal(3, 1, 'c')])).toThrow(AssertionError);
    expect(() => digest.apply([normal(1, 1, 'a')])).toThrow(/entry 1 applied after 1/);
  });

  it('asserts that a snapshot is its own, as of its meta index', () => {
    const digest = new RaftDigest();
    digest.apply([normal(1, 1, 'a')]);
    expect(() => new RaftDigest().restore(snapshotOf(digest, 2))).toThrow(
      /holds index 1, its meta says 2/,
    );
    const foreign = { ...snapshotOf(digest, 1), data: new Uint8Array(10) };
    expect(() => new RaftDigest().restore(foreign)).toThrow(AssertionError);
  });
});
