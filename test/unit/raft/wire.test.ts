/**
 * Raft messages on the wire (src/raft/io/wire.ts): every message type must survive the trip
 * through its proto object AND through real protobuf bytes (uint64 loaded as Number, enums as
 * names) unchanged, and anything malformed arriving from a peer must be refused with a
 * WireError, never reach the core. Method: fast-check generates messages of every type with
 * indexes over the whole safe-integer range; hand-made proto objects cover each refusal.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { brookV1Peer, type RaftMessage__Output } from '../../../src/proto/index.js';
import {
  WireError,
  messageFromProto,
  messageToProto,
  statusFromProto,
  statusToProto,
} from '../../../src/raft/io/wire.js';
import {
  EntryType,
  MessageType,
  NO_NODE,
  ProgressState,
  Role,
  type ConfState,
  type Entry,
  type Message,
  type RaftStatus,
  type SnapshotMeta,
} from '../../../src/raft/types.js';

const SAFE_MAX = Number.MAX_SAFE_INTEGER;
const indexArb = fc.integer({ min: 0, max: SAFE_MAX });
const nodeIdArb = fc.integer({ min: 0, max: 0x7fffffff });
const bytesArb = fc.uint8Array({ maxLength: 64 });

/** Sends a batch through the Send method's own protobuf (de)serializers. */
function throughBytes(messages: ReturnType<typeof messageToProto>[]): RaftMessage__Output[] {
  const send = brookV1Peer().RaftPeer.service.Send;
  const bytes = send.requestSerialize({ messages });
  return send.requestDeserialize(bytes).messages;
}

const confArb: fc.Arbitrary<ConfState> = fc
  .uniqueArray(nodeIdArb, { minLength: 1, maxLength: 6 })
  .chain((ids) =>
    fc.integer({ min: 1, max: ids.length }).map((voterCount) => ({
      voters: ids.slice(0, voterCount).map((id) => ({ id, address: `host-${id}:9092` })),
      observers: ids.slice(voterCount).map((id) => ({ id, address: `obs-${id}:9092` })),
    })),
  );

const headArb = fc
  .tuple(nodeIdArb, nodeIdArb, fc.integer({ min: 1, max: SAFE_MAX }))
  .filter(([from, to]) => from !== to)
  .map(([from, to, term]) => ({ from, to, term }));

/** An Append as a correct leader sends it: contiguous entries, terms in [prevLogTerm, term]. */
const appendArb: fc.Arbitrary<Message> = headArb.chain((head) =>
  fc
    .record({
      prevLogIndex: fc.integer({ min: 0, max: SAFE_MAX - 100 }),
      prevLogTerm: fc.integer({ min: 0, max: head.term }),
      commit: indexArb,
      count: fc.integer({ min: 0, max: 5 }),
      data: fc.array(bytesArb, { minLength: 5, maxLength: 5 }),
      types: fc.array(fc.constantFrom(EntryType.NORMAL, EntryType.CONF_CHANGE), {
        minLength: 5,
        maxLength: 5,
      }),
    })
    .map(({ prevLogIndex, prevLogTerm, commit, count, data, types }) => {
      const entries: Entry[] = [];
      const term = Math.max(prevLogTerm, 1);
      for (let i = 0; i < count; i++) {
        entries.push({ index: prevLogIndex + 1 + i, term, type: types[i]!, data: data[i]! });
      }
      return { ...head, type: MessageType.APPEND, prevLogIndex, prevLogTerm, entries, commit };
    }),
);

const snapshotArb: fc.Arbitrary<Message> = headArb.chain((head) =>
  fc
    .record({
      index: fc.integer({ min: 1, max: SAFE_MAX }),
      metaTerm: fc.integer({ min: 1, max: head.term }),
      confState: confArb,
      offset: fc.integer({ min: 0, max: 1_000_000 }),
      chunk: bytesArb,
      rest: fc.integer({ min: 0, max: 1_000 }),
    })
    .map(({ index, metaTerm, confState, offset, chunk, rest }) => {
      const meta: SnapshotMeta = { index, term: metaTerm, confState };
      const totalBytes = offset + chunk.length + rest;
      return {
        ...head,
        type: MessageType.SNAPSHOT,
        meta,
        offset,
        chunk,
        totalBytes,
        done: rest === 0,
      };
    }),
);

const messageArb: fc.Arbitrary<Message> = fc.oneof(
  headArb.chain((head) =>
    fc
      .record({
        type: fc.constantFrom(MessageType.PRE_VOTE, MessageType.VOTE),
        lastLogIndex: indexArb,
        lastLogTerm: indexArb,
        transfer: fc.boolean(),
      })
      .map((body) => ({ ...head, ...body })),
  ),
  headArb.chain((head) =>
    fc
      .record({
        type: fc.constantFrom(MessageType.PRE_VOTE_RESPONSE, MessageType.VOTE_RESPONSE),
        granted: fc.boolean(),
      })
      .map((body) => ({ ...head, ...body })),
  ),
  appendArb,
  headArb.chain((head) =>
    fc
      .record({ success: fc.boolean(), index: indexArb, hintIndex: indexArb, hintTerm: indexArb })
      .map((body) => ({ ...head, type: MessageType.APPEND_RESPONSE, ...body })),
  ),
  headArb.chain((head) =>
    indexArb.map((commit) => ({ ...head, type: MessageType.HEARTBEAT, commit })),
  ),
  headArb.map((head) => ({ ...head, type: MessageType.HEARTBEAT_RESPONSE })),
  snapshotArb,
  headArb.chain((head) =>
    fc
      .record({ snapshotIndex: indexArb, nextOffset: indexArb, done: fc.boolean() })
      .map((body) => ({ ...head, type: MessageType.SNAPSHOT_RESPONSE, ...body })),
  ),
  headArb.map((head) => ({ ...head, type: MessageType.TIMEOUT_NOW })),
) as fc.Arbitrary<Message>;

/** Bytes decode as Buffers; compare them as plain byte arrays. */
function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(normalize);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}

describe('wire: round trips', () => {
  it('every message type survives proto objects and protobuf bytes unchanged', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 8 }), (messages) => {
        const decoded = throughBytes(messages.map(messageToProto)).map(messageFromProto);
        expect(decoded.map(normalize)).toEqual(messages.map(normalize));
      }),
      { numRuns: 300 },
    );
  });

  it('covers all eleven message types', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(messageArb, (message) => {
        seen.add(message.type);
      }),
      { numRuns: 500 },
    );
    expect([...seen].sort()).toEqual(Object.values(MessageType).sort());
  });

  it('status survives the RaftStatus answer, with -1 for no leader and no vote', () => {
    const status: RaftStatus = {
      id: 2,
      role: Role.LEADER,
      term: 2 ** 40,
      leader: 2,
      vote: NO_NODE,
      commitIndex: 17,
      appliedIndex: 16,
      lastIndex: 18,
      snapshotIndex: 9,
      confState: { voters: [{ id: 2, address: 'a:1' }], observers: [{ id: 5, address: 'b:2' }] },
      peers: [
        {
          id: 5,
          isVoter: false,
          matchIndex: 18,
          nextIndex: 19,
          state: ProgressState.SNAPSHOT,
          recentActive: true,
        },
      ],
    };
    const method = brookV1Peer().RaftPeer.service.RaftStatus;
    const proto = method.responseDeserialize(
      method.responseSerialize(statusToProto(status, 'a:1')),
    );
    expect(statusFromProto(proto)).toEqual({ ...status, leaderAddress: 'a:1' });
    const noLeader = { ...status, role: Role.FOLLOWER, leader: NO_NODE };
    const proto2 = method.responseDeserialize(
      method.responseSerialize(statusToProto(noLeader, '')),
    );
    expect(statusFromProto(proto2)).toEqual({ ...noLeader, leaderAddress: '' });
  });
});

describe('wire: malformed messages are refused with WireError', () => {
  const valid = (): RaftMessage__Output =>
    throughBytes([
      messageToProto({
        from: 1,
        to: 2,
        term: 3,
        type: MessageType.APPEND,
        prevLogIndex: 4,
        prevLogTerm: 2,
        entries: [
          { index: 5, term: 2, type: EntryType.NORMAL, data: new Uint8Array([1]) },
          { index: 6, term: 3, type: EntryType.NORMAL, data: new Uint8Array([2]) },
        ],
        commit: 4,
      }),
    ])[0]!;

  const refuses = (proto: RaftMessage__Output, pattern: RegExp): void => {
    expect(() => messageFromProto(proto)).toThrow(WireError);
    expect(() => messageFromProto(proto)).toThrow(pattern);
  };

  it('accepts the valid base message', () => {
    expect(messageFromProto(valid()).type).toBe(MessageType.APPEND);
  });

  it('refuses a message without a body (unknown or missing type)', () => {
    const proto = valid();
    const { body: _body, ...noBody } = proto;
    refuses({ ...noBody, append: null }, /no body/);
    // An unknown oneof field number on the wire decodes to no body at all.
    const decoded = throughBytes([{ from: 1, to: 2, term: 3 }])[0]!;
    refuses(decoded, /no body/);
  });

  it('refuses an unknown entry type', () => {
    const proto = valid();
    const entries = proto.append!.entries.map((e) => ({ ...e, type: 7 as never }));
    refuses({ ...proto, append: { ...proto.append!, entries } }, /not a known entry type/);
  });

  it('refuses negative and unsafe indexes and terms', () => {
    const proto = valid();
    refuses({ ...proto, term: -1 }, /term is -1/);
    refuses({ ...proto, append: { ...proto.append!, commit: -3 } }, /append.commit/);
    refuses({ ...proto, append: { ...proto.append!, prevLogIndex: 2 ** 60 } }, /prev_log_index/);
    // A negative int64 sent as uint64 arrives as a huge number, refused as unsafe.
    const wrapped = throughBytes([{ ...messageToProto(messageFromProto(proto)), term: '-1' }])[0]!;
    refuses(wrapped, /term/);
  });

  it('refuses bad node ids and a message to itself', () => {
    const proto = valid();
    refuses({ ...proto, from: -5 }, /from is -5/);
    refuses({ ...proto, to: 1 }, /both node 1/);
  });

  it('refuses non-contiguous entries and entry terms outside [prevLogTerm, term]', () => {
    const proto = valid();
    const [a, b] = proto.append!.entries;
    refuses({ ...proto, append: { ...proto.append!, entries: [b!, a!] } }, /expected 5/);
    const high = { ...b!, term: 4 };
    refuses({ ...proto, append: { ...proto.append!, entries: [a!, high] } }, /outside/);
    const low = { ...a!, term: 1 };
    refuses({ ...proto, append: { ...proto.append!, entries: [low, b!] } }, /outside/);
    refuses({ ...proto, append: { ...proto.append!, entries: [{ ...a!, index: 0 }] } }, /index/);
  });

  it('refuses a missing sub-message', () => {
    const proto = valid();
    refuses({ ...proto, append: null }, /append is missing/);
    const snapshot = throughBytes([
      messageToProto({
        from: 1,
        to: 2,
        term: 3,
        type: MessageType.SNAPSHOT,
        meta: {
          index: 9,
          term: 3,
          confState: { voters: [{ id: 1, address: 'x:1' }], observers: [] },
        },
        offset: 0,
        chunk: new Uint8Array([1, 2]),
        totalBytes: 4,
        done: false,
      }),
    ])[0]!;
    expect(messageFromProto(snapshot).type).toBe(MessageType.SNAPSHOT);
    refuses({ ...snapshot, snapshot: { ...snapshot.snapshot!, meta: null } }, /meta is missing/);
    const noConf = { ...snapshot.snapshot!.meta!, confState: null };
    refuses({ ...snapshot, snapshot: { ...snapshot.snapshot!, meta: noConf } }, /conf_state/);
    const noVoters = { ...noConf, confState: { voters: [], observers: [] } };
    refuses({ ...snapshot, snapshot: { ...snapshot.snapshot!, meta: noVoters } }, /no voters/);
  });

  it('refuses snapshot chunks that overrun or end early when done', () => {
    const base = {
      from: 1,
      to: 2,
      term: 3,
      type: MessageType.SNAPSHOT,
      meta: {
        index: 9,
        term: 3,
        confState: { voters: [{ id: 1, address: 'x:1' }], observers: [] },
      },
      offset: 3,
      chunk: new Uint8Array([1, 2]),
      totalBytes: 4,
      done: false,
    } as const;
    refuses(throughBytes([messageToProto(base)])[0]!, /past total_bytes/);
    const early = { ...base, offset: 0, done: true };
    refuses(throughBytes([messageToProto(early)])[0]!, /marked done/);
  });
});
