/**
 * The bootstrap membership (src/raft/io/bootstrap.ts and its value in store-codec.ts): the
 * first start of an empty store records the given voters, a later start with the same voter ids
 * keeps them (new addresses win and are recorded), and a start with other voter ids, or on a
 * store holding Raft state but no bootstrap, is refused with one line naming raft.voters, both
 * id lists and what to do. The stored value round-trips and any damage is refused as
 * KAFKA_STORAGE_ERROR. Method: planBootstrap() is pure, so each case is a hand-made StoredState;
 * the codec cases seal values by hand with a correct CRC to reach the checks behind it.
 */
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/codec/index.js';
import { BrokerError } from '../../../src/errors/index.js';
import { RaftBootstrapError, planBootstrap } from '../../../src/raft/io/bootstrap.js';
import type { StoredState } from '../../../src/raft/io/level-store.js';
import { decodeBootstrap, encodeBootstrap } from '../../../src/raft/io/store-codec.js';
import {
  EMPTY_HARD_STATE,
  EntryType,
  type ConfState,
  type Member,
} from '../../../src/raft/types.js';

const THREE: Member[] = [
  { id: 1, address: 'n1:7071' },
  { id: 2, address: 'n2:7072' },
  { id: 3, address: 'n3:7073' },
];

function stored(fields: Partial<StoredState> = {}): StoredState {
  return {
    hardState: EMPTY_HARD_STATE,
    snapshot: null,
    entries: [],
    bootstrap: null,
    ...fields,
  };
}

function refusal(run: () => unknown): RaftBootstrapError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RaftBootstrapError);
    return error as RaftBootstrapError;
  }
  throw new Error('expected a RaftBootstrapError');
}

describe('planBootstrap', () => {
  it('records the given voters on the first start of an empty store', () => {
    expect(planBootstrap(stored(), THREE)).toEqual({
      kind: 'record',
      conf: { voters: THREE, observers: [] },
    });
  });

  it('keeps the stored voters when the same ones are given, in any order', () => {
    const plan = planBootstrap(
      stored({
        bootstrap: { voters: THREE, observers: [] },
        hardState: { term: 4, vote: 2, commit: 9 },
      }),
      [...THREE].reverse(),
    );
    expect(plan.kind).toBe('keep');
    expect(plan.conf.voters.map((v) => v.id).sort()).toEqual([1, 2, 3]);
  });

  it('takes new addresses for the same voter ids, and lists what changed', () => {
    const moved = THREE.map((v) => (v.id === 2 ? { id: 2, address: 'elsewhere:9000' } : v));
    const plan = planBootstrap(stored({ bootstrap: { voters: THREE, observers: [] } }), moved);
    expect(plan).toEqual({
      kind: 'readdress',
      conf: { voters: moved, observers: [] },
      changes: [{ id: 2, stored: 'n2:7072', given: 'elsewhere:9000' }],
    });
  });

  it('refuses a voter of three restarted as a quorum of one (the split brain)', () => {
    const error = refusal(() =>
      planBootstrap(stored({ bootstrap: { voters: THREE, observers: [] } }), [THREE[0]!]),
    );
    expect(error.storedVoterIds).toEqual([1, 2, 3]);
    expect(error.givenVoterIds).toEqual([1]);
    expect(error.message).not.toContain('\n');
    expect(error.message).toMatch(
      /^raft\.voters gives voter ids 1, but this node's Raft store was bootstrapped with voter ids 1,2,3: .*split brain.*Restart it with raft\.voters naming ids 1,2,3 \(their addresses may change\), or start it on an empty data dir\.$/,
    );
  });

  it('refuses a voter given more voters than it started with', () => {
    const error = refusal(() =>
      planBootstrap(stored({ bootstrap: { voters: [THREE[0]!], observers: [] } }), THREE),
    );
    expect(error.message).toMatch(/gives voter ids 1,2,3, but .* bootstrapped with voter ids 1:/);
  });

  it('checks the ids even when a snapshot holds the membership in force', () => {
    const snapshot = {
      meta: { index: 50, term: 3, confState: { voters: THREE, observers: [] } },
      data: Buffer.from('state'),
    };
    const state = stored({ bootstrap: { voters: THREE, observers: [] }, snapshot });
    expect(planBootstrap(state, THREE).kind).toBe('keep');
    expect(() => planBootstrap(state, [THREE[0]!])).toThrow(RaftBootstrapError);
  });

  it('refuses a store holding Raft state but no bootstrap (written by an earlier Brook)', () => {
    const entries = [{ index: 1, term: 1, type: EntryType.NORMAL, data: Buffer.alloc(0) }];
    const withEntries = stored({ hardState: { term: 1, vote: 1, commit: 1 }, entries });
    const error = refusal(() => planBootstrap(withEntries, THREE));
    expect(error.storedVoterIds).toBeNull();
    expect(error.message).not.toContain('\n');
    expect(error.message).toMatch(
      /^this node's Raft store holds Raft state \(term 1, 1 entries, no snapshot\) but no bootstrap membership: it was written by an earlier Brook.*raft\.voters \(ids 1,2,3\).*Start the node on an empty data dir/,
    );
    // A vote alone is state too: the node may have promised it to a candidate.
    const votedOnly = stored({ hardState: { term: 2, vote: 3, commit: 0 } });
    expect(() => planBootstrap(votedOnly, THREE)).toThrow(/no bootstrap membership/);
  });
});

describe('the stored bootstrap value', () => {
  const conf: ConfState = { voters: THREE, observers: [] };

  /** A value with a correct version byte and CRC around `json`, to reach the later checks. */
  function sealed(json: string): Buffer {
    const body = Buffer.from(json, 'utf8');
    const value = Buffer.alloc(5 + body.length);
    value[0] = 1;
    body.copy(value, 5);
    value.writeUInt32BE(crc32c(value.subarray(5)), 1);
    return value;
  }

  function corruption(value: Buffer): string {
    try {
      decodeBootstrap(value);
    } catch (error) {
      expect(error).toBeInstanceOf(BrokerError);
      expect((error as BrokerError).code).toBe('KAFKA_STORAGE_ERROR');
      return (error as Error).message;
    }
    throw new Error('expected the value to be refused');
  }

  it('round-trips ids and addresses', () => {
    expect(decodeBootstrap(encodeBootstrap(conf))).toEqual(conf);
    expect(decodeBootstrap(sealed(JSON.stringify(conf)))).toEqual(conf);
  });

  it('refuses a flipped bit, a torn value and an unknown version', () => {
    const value = encodeBootstrap(conf);
    const flipped = Buffer.from(value);
    flipped[flipped.length - 3]! ^= 0x04;
    expect(corruption(flipped)).toMatch(/bootstrap membership fails its CRC/);
    expect(corruption(value.subarray(0, 5))).toMatch(/too short/);
    const version = Buffer.from(value);
    version[0] = 9;
    expect(corruption(version)).toMatch(/unknown version 9/);
  });

  it('refuses JSON that is not a membership with at least one voter, each id once', () => {
    expect(corruption(sealed('{"voters":'))).toMatch(/bootstrap membership conf state is not JSON/);
    expect(corruption(sealed('{"voters":[]}'))).toMatch(/has no member list/);
    expect(corruption(sealed('{"voters":[],"observers":[]}'))).toMatch(/has no voter/);
    expect(corruption(sealed('{"voters":[{"id":-1,"address":"a:1"}],"observers":[]}'))).toMatch(
      /malformed member/,
    );
    expect(
      corruption(
        sealed('{"voters":[{"id":1,"address":"a:1"},{"id":1,"address":"b:2"}],"observers":[]}'),
      ),
    ).toMatch(/names a node twice/);
  });
});
