/**
 * Raft values <-> the protobuf objects of peer.proto (as @grpc/proto-loader hands them out:
 * uint64 as numbers, enums as names, defaults filled in, oneofs named in `body`). Pure functions.
 *
 * Outgoing values come from our own Raft core, so encoding asserts what the core promises.
 * Incoming values come from the network: decoding checks every field and throws WireError on
 * anything malformed (no body, an unknown enum value, a negative or unsafe index, a missing
 * sub-message, entries that are not contiguous). The transport turns a WireError into a dropped
 * message and a warning; it must never reach the core, whose asserts would crash the node.
 */
import type {
  RaftConfState,
  RaftConfState__Output,
  RaftEntry,
  RaftEntry__Output,
  RaftEntryType__Output,
  RaftMember__Output,
  RaftMessage,
  RaftMessage__Output,
  RaftPeerStatus__Output,
  RaftProgressState__Output,
  RaftRole__Output,
  RaftSnapshotMeta,
  RaftSnapshotMeta__Output,
  RaftStatusResponse,
  RaftStatusResponse__Output,
} from '../../proto/index.js';
import { assert, unreachable } from '../../util/assert.js';
import {
  EntryType,
  MessageType,
  NO_NODE,
  ProgressState,
  Role,
  type ConfState,
  type Entry,
  type Member,
  type Message,
  type NodeId,
  type PeerStatus,
  type RaftStatus,
  type SnapshotMeta,
} from '../types.js';

/** An incoming message or field that does not make sense; the message is dropped. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

const NODE_ID_MAX = 0x7fffffff;

const ENTRY_TYPE_TO_PROTO = {
  [EntryType.NORMAL]: 'RAFT_ENTRY_NORMAL',
  [EntryType.CONF_CHANGE]: 'RAFT_ENTRY_CONF_CHANGE',
} as const satisfies Record<EntryType, string>;

const ROLE_TO_PROTO = {
  [Role.FOLLOWER]: 'RAFT_ROLE_FOLLOWER',
  [Role.PRE_CANDIDATE]: 'RAFT_ROLE_PRE_CANDIDATE',
  [Role.CANDIDATE]: 'RAFT_ROLE_CANDIDATE',
  [Role.LEADER]: 'RAFT_ROLE_LEADER',
  [Role.OBSERVER]: 'RAFT_ROLE_OBSERVER',
} as const satisfies Record<Role, string>;

const PROGRESS_TO_PROTO = {
  [ProgressState.PROBE]: 'RAFT_PROGRESS_PROBE',
  [ProgressState.REPLICATE]: 'RAFT_PROGRESS_REPLICATE',
  [ProgressState.SNAPSHOT]: 'RAFT_PROGRESS_SNAPSHOT',
} as const satisfies Record<ProgressState, string>;

// ---------------------------------------------------------------------------------------------
// Field checks for incoming values. Each throws WireError naming the field.

/** An index, term, offset or count: a safe integer >= 0 (uint64 above 2^53 is refused). */
function wireIndex(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new WireError(`${field} is ${String(value)}, not an integer in [0, 2^53)`);
  }
  return value;
}

function wireNodeId(value: unknown, field: string): NodeId {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > NODE_ID_MAX) {
    throw new WireError(`${field} is ${String(value)}, not a node id`);
  }
  return value;
}

function wireBytes(value: unknown, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new WireError(`${field} is missing or not bytes`);
  return value;
}

function wireBool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new WireError(`${field} is not a boolean`);
  return value;
}

function present<T>(value: T | null | undefined, field: string): T {
  if (value === null || value === undefined) throw new WireError(`${field} is missing`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Entries, membership, snapshot metadata.

export function entryToProto(entry: Entry): RaftEntry {
  assert(Number.isSafeInteger(entry.index) && entry.index >= 1, 'entryToProto: index >= 1');
  assert(Number.isSafeInteger(entry.term) && entry.term >= 1, 'entryToProto: term >= 1');
  return {
    term: entry.term,
    index: entry.index,
    type: ENTRY_TYPE_TO_PROTO[entry.type],
    data: entry.data,
  };
}

export function entryFromProto(proto: RaftEntry__Output, field = 'entry'): Entry {
  const index = wireIndex(proto.index, `${field}.index`);
  const term = wireIndex(proto.term, `${field}.term`);
  if (index < 1) throw new WireError(`${field}.index is 0; the log starts at 1`);
  if (term < 1) throw new WireError(`${field}.term is 0; entries are written in terms >= 1`);
  return {
    term,
    index,
    type: entryTypeFromProto(proto.type, field),
    data: wireBytes(proto.data, `${field}.data`),
  };
}

function entryTypeFromProto(type: RaftEntryType__Output, field: string): EntryType {
  switch (type) {
    case 'RAFT_ENTRY_NORMAL':
      return EntryType.NORMAL;
    case 'RAFT_ENTRY_CONF_CHANGE':
      return EntryType.CONF_CHANGE;
    default:
      // proto-loader hands out an enum value it does not know as its number.
      throw new WireError(`${field}.type ${String(type)} is not a known entry type`);
  }
}

export function confStateToProto(conf: ConfState): RaftConfState {
  const member = (m: Member) => ({ nodeId: m.id, address: m.address });
  return { voters: conf.voters.map(member), observers: conf.observers.map(member) };
}

export function confStateFromProto(proto: RaftConfState__Output | null, field: string): ConfState {
  const conf = present(proto, field);
  const seen = new Set<NodeId>();
  const member = (m: RaftMember__Output, at: string): Member => {
    const id = wireNodeId(m.nodeId, `${at}.node_id`);
    if (seen.has(id)) throw new WireError(`${at}: node ${id} is listed twice`);
    seen.add(id);
    if (typeof m.address !== 'string') throw new WireError(`${at}.address is not a string`);
    return { id, address: m.address };
  };
  const voters = conf.voters.map((m, i) => member(m, `${field}.voters[${i}]`));
  const observers = conf.observers.map((m, i) => member(m, `${field}.observers[${i}]`));
  if (voters.length === 0) throw new WireError(`${field} has no voters`);
  return { voters, observers };
}

export function snapshotMetaToProto(meta: SnapshotMeta): RaftSnapshotMeta {
  return { index: meta.index, term: meta.term, confState: confStateToProto(meta.confState) };
}

export function snapshotMetaFromProto(
  proto: RaftSnapshotMeta__Output | null,
  field: string,
): SnapshotMeta {
  const meta = present(proto, field);
  const index = wireIndex(meta.index, `${field}.index`);
  const term = wireIndex(meta.term, `${field}.term`);
  if (index < 1 || term < 1) throw new WireError(`${field} covers no entry (index ${index})`);
  return { index, term, confState: confStateFromProto(meta.confState, `${field}.conf_state`) };
}

// ---------------------------------------------------------------------------------------------
// Messages.

/** The proto object of a message from our own core (asserts what the core promises). */
export function messageToProto(message: Message): RaftMessage {
  assert(message.from >= 0 && message.to >= 0, 'messageToProto: from and to are node ids');
  assert(Number.isSafeInteger(message.term) && message.term >= 0, 'messageToProto: term');
  const head = { from: message.from, to: message.to, term: message.term };
  switch (message.type) {
    case MessageType.PRE_VOTE:
    case MessageType.VOTE: {
      const body = {
        lastLogIndex: message.lastLogIndex,
        lastLogTerm: message.lastLogTerm,
        transfer: message.transfer,
      };
      return message.type === MessageType.VOTE
        ? { ...head, vote: body }
        : { ...head, preVote: body };
    }
    case MessageType.PRE_VOTE_RESPONSE:
      return { ...head, preVoteResponse: { granted: message.granted } };
    case MessageType.VOTE_RESPONSE:
      return { ...head, voteResponse: { granted: message.granted } };
    case MessageType.APPEND:
      return {
        ...head,
        append: {
          prevLogIndex: message.prevLogIndex,
          prevLogTerm: message.prevLogTerm,
          entries: message.entries.map(entryToProto),
          commit: message.commit,
        },
      };
    case MessageType.APPEND_RESPONSE:
      return {
        ...head,
        appendResponse: {
          success: message.success,
          index: message.index,
          hintIndex: message.hintIndex,
          hintTerm: message.hintTerm,
        },
      };
    case MessageType.HEARTBEAT:
      return { ...head, heartbeat: { commit: message.commit } };
    case MessageType.HEARTBEAT_RESPONSE:
      return { ...head, heartbeatResponse: {} };
    case MessageType.SNAPSHOT:
      return {
        ...head,
        snapshot: {
          meta: snapshotMetaToProto(message.meta),
          offset: message.offset,
          chunk: message.chunk,
          totalBytes: message.totalBytes,
          done: message.done,
        },
      };
    case MessageType.SNAPSHOT_RESPONSE:
      return {
        ...head,
        snapshotResponse: {
          snapshotIndex: message.snapshotIndex,
          nextOffset: message.nextOffset,
          done: message.done,
        },
      };
    case MessageType.TIMEOUT_NOW:
      return { ...head, timeoutNow: {} };
    default:
      return unreachable(message, 'messageToProto: message type');
  }
}

/** A message received from a peer. Throws WireError when anything in it is malformed. */
export function messageFromProto(proto: RaftMessage__Output): Message {
  const from = wireNodeId(proto.from, 'from');
  const to = wireNodeId(proto.to, 'to');
  if (from === to) throw new WireError(`from and to are both node ${from}`);
  const term = wireIndex(proto.term, 'term');
  const head = { from, to, term };
  const body = proto.body;
  switch (body) {
    case 'preVote':
    case 'vote': {
      const vote = present(proto[body], body);
      return {
        ...head,
        type: body === 'vote' ? MessageType.VOTE : MessageType.PRE_VOTE,
        lastLogIndex: wireIndex(vote.lastLogIndex, `${body}.last_log_index`),
        lastLogTerm: wireIndex(vote.lastLogTerm, `${body}.last_log_term`),
        transfer: wireBool(vote.transfer, `${body}.transfer`),
      };
    }
    case 'preVoteResponse':
    case 'voteResponse': {
      const answer = present(proto[body], body);
      return {
        ...head,
        type: body === 'voteResponse' ? MessageType.VOTE_RESPONSE : MessageType.PRE_VOTE_RESPONSE,
        granted: wireBool(answer.granted, `${body}.granted`),
      };
    }
    case 'append':
      return appendFromProto(head, present(proto.append, 'append'));
    case 'appendResponse': {
      const answer = present(proto.appendResponse, 'append_response');
      return {
        ...head,
        type: MessageType.APPEND_RESPONSE,
        success: wireBool(answer.success, 'append_response.success'),
        index: wireIndex(answer.index, 'append_response.index'),
        hintIndex: wireIndex(answer.hintIndex, 'append_response.hint_index'),
        hintTerm: wireIndex(answer.hintTerm, 'append_response.hint_term'),
      };
    }
    case 'heartbeat': {
      const heartbeat = present(proto.heartbeat, 'heartbeat');
      return {
        ...head,
        type: MessageType.HEARTBEAT,
        commit: wireIndex(heartbeat.commit, 'heartbeat.commit'),
      };
    }
    case 'heartbeatResponse':
      present(proto.heartbeatResponse, 'heartbeat_response');
      return { ...head, type: MessageType.HEARTBEAT_RESPONSE };
    case 'snapshot':
      return snapshotFromProto(head, present(proto.snapshot, 'snapshot'));
    case 'snapshotResponse': {
      const answer = present(proto.snapshotResponse, 'snapshot_response');
      return {
        ...head,
        type: MessageType.SNAPSHOT_RESPONSE,
        snapshotIndex: wireIndex(answer.snapshotIndex, 'snapshot_response.snapshot_index'),
        nextOffset: wireIndex(answer.nextOffset, 'snapshot_response.next_offset'),
        done: wireBool(answer.done, 'snapshot_response.done'),
      };
    }
    case 'timeoutNow':
      present(proto.timeoutNow, 'timeout_now');
      return { ...head, type: MessageType.TIMEOUT_NOW };
    case undefined:
      throw new WireError('message has no body (unknown or missing message type)');
    default:
      return unreachable(body, 'messageFromProto: body');
  }
}

interface Head {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

type AppendProto = NonNullable<RaftMessage__Output['append']>;
type SnapshotProto = NonNullable<RaftMessage__Output['snapshot']>;

/**
 * Besides the fields, checks what every correct leader's Append satisfies, because the core
 * asserts it: entries are contiguous after prev_log_index, and their terms never decrease,
 * start at or above prev_log_term and never exceed the leader's term (Raft §5.3).
 */
function appendFromProto(head: Head, append: AppendProto): Message {
  const prevLogIndex = wireIndex(append.prevLogIndex, 'append.prev_log_index');
  const prevLogTerm = wireIndex(append.prevLogTerm, 'append.prev_log_term');
  if (prevLogTerm > head.term) {
    throw new WireError(`append.prev_log_term ${prevLogTerm} is above the term ${head.term}`);
  }
  const entries: Entry[] = [];
  let lastTerm = prevLogTerm;
  for (let i = 0; i < append.entries.length; i++) {
    const field = `append.entries[${i}]`;
    const entry = entryFromProto(append.entries[i]!, field);
    if (entry.index !== prevLogIndex + 1 + i) {
      throw new WireError(`${field}.index is ${entry.index}, expected ${prevLogIndex + 1 + i}`);
    }
    if (entry.term < lastTerm || entry.term > head.term) {
      throw new WireError(`${field}.term ${entry.term} is outside [${lastTerm}, ${head.term}]`);
    }
    lastTerm = entry.term;
    entries.push(entry);
  }
  return {
    ...head,
    type: MessageType.APPEND,
    prevLogIndex,
    prevLogTerm,
    entries,
    commit: wireIndex(append.commit, 'append.commit'),
  };
}

function snapshotFromProto(head: Head, snapshot: SnapshotProto): Message {
  const meta = snapshotMetaFromProto(snapshot.meta, 'snapshot.meta');
  const offset = wireIndex(snapshot.offset, 'snapshot.offset');
  const chunk = wireBytes(snapshot.chunk, 'snapshot.chunk');
  const totalBytes = wireIndex(snapshot.totalBytes, 'snapshot.total_bytes');
  const done = wireBool(snapshot.done, 'snapshot.done');
  const end = offset + chunk.length;
  if (end > totalBytes) {
    throw new WireError(`snapshot chunk ends at ${end}, past total_bytes ${totalBytes}`);
  }
  if (done && end !== totalBytes) {
    throw new WireError(`snapshot chunk marked done ends at ${end}, not at ${totalBytes}`);
  }
  if (meta.term > head.term) {
    throw new WireError(`snapshot.meta.term ${meta.term} is above the term ${head.term}`);
  }
  return { ...head, type: MessageType.SNAPSHOT, meta, offset, chunk, totalBytes, done };
}

// ---------------------------------------------------------------------------------------------
// Status (RaftStatus RPC).

/** The RaftStatus RPC answer; `leaderAddress` is '' when the leader or its address is unknown. */
export function statusToProto(status: RaftStatus, leaderAddress: string): RaftStatusResponse {
  return {
    nodeId: status.id,
    role: ROLE_TO_PROTO[status.role],
    term: status.term,
    leaderId: status.leader,
    leaderAddress,
    vote: status.vote,
    commitIndex: status.commitIndex,
    appliedIndex: status.appliedIndex,
    lastIndex: status.lastIndex,
    snapshotIndex: status.snapshotIndex,
    confState: confStateToProto(status.confState),
    peers: status.peers.map((peer) => ({
      nodeId: peer.id,
      isVoter: peer.isVoter,
      matchIndex: peer.matchIndex,
      nextIndex: peer.nextIndex,
      state: PROGRESS_TO_PROTO[peer.state],
      recentActive: peer.recentActive,
    })),
  };
}

/** A decoded RaftStatus answer (for tests and the CLI); throws WireError when malformed. */
export function statusFromProto(proto: RaftStatusResponse__Output): RaftStatus & {
  readonly leaderAddress: string;
} {
  return {
    id: wireNodeId(proto.nodeId, 'node_id'),
    role: roleFromProto(proto.role),
    term: wireIndex(proto.term, 'term'),
    leader: optionalNodeId(proto.leaderId, 'leader_id'),
    leaderAddress: proto.leaderAddress,
    vote: optionalNodeId(proto.vote, 'vote'),
    commitIndex: wireIndex(proto.commitIndex, 'commit_index'),
    appliedIndex: wireIndex(proto.appliedIndex, 'applied_index'),
    lastIndex: wireIndex(proto.lastIndex, 'last_index'),
    snapshotIndex: wireIndex(proto.snapshotIndex, 'snapshot_index'),
    confState: confStateFromProto(proto.confState, 'conf_state'),
    peers: proto.peers.map((peer, i) => peerStatusFromProto(peer, `peers[${i}]`)),
  };
}

function optionalNodeId(value: number, field: string): NodeId {
  return value === NO_NODE ? NO_NODE : wireNodeId(value, field);
}

function roleFromProto(role: RaftRole__Output): Role {
  for (const [name, wire] of Object.entries(ROLE_TO_PROTO)) if (wire === role) return name as Role;
  throw new WireError(`role ${String(role)} is not a known role`);
}

function progressFromProto(state: RaftProgressState__Output, field: string): ProgressState {
  for (const [name, wire] of Object.entries(PROGRESS_TO_PROTO)) {
    if (wire === state) return name as ProgressState;
  }
  throw new WireError(`${field} ${String(state)} is not a known progress state`);
}

function peerStatusFromProto(peer: RaftPeerStatus__Output, field: string): PeerStatus {
  return {
    id: wireNodeId(peer.nodeId, `${field}.node_id`),
    isVoter: peer.isVoter,
    matchIndex: wireIndex(peer.matchIndex, `${field}.match_index`),
    nextIndex: wireIndex(peer.nextIndex, `${field}.next_index`),
    state: progressFromProto(peer.state, `${field}.state`),
    recentActive: peer.recentActive,
  };
}
