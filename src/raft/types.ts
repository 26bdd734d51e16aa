/**
 * The vocabulary of the Raft module: entries, hard state, membership, snapshots, messages and
 * the Ready record that hands work to the driver. Pure data; see README.md for the contract.
 */

/** A Brook node id (>= 0). */
export type NodeId = number;
/** "No node": no vote cast, no leader known. */
export const NO_NODE: NodeId = -1;

export const EntryType = {
  /** Application data. The empty entry a new leader appends (its no-op) is NORMAL too. */
  NORMAL: 0,
  /** A membership change; `data` is an encoded ConfChange (see conf.ts). */
  CONF_CHANGE: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must survive a crash before any message that depends on it leaves the node. */
export interface HardState {
  readonly term: number;
  /** Whom this node voted for in `term`, or NO_NODE. */
  readonly vote: NodeId;
  /** Highest index known committed (persisting it is an optimisation for restarts). */
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NO_NODE, commit: 0 };

/** A member of the quorum: its id and the host:port its peers reach it on. */
export interface Member {
  readonly id: NodeId;
  readonly address: string;
}

/** The membership in force: voters elect and commit, observers only replicate the log. */
export interface ConfState {
  readonly voters: readonly Member[];
  readonly observers: readonly Member[];
}

export const ConfChangeType = {
  ADD_VOTER: 'add-voter',
  REMOVE_VOTER: 'remove-voter',
  ADD_OBSERVER: 'add-observer',
  PROMOTE_OBSERVER: 'promote-observer',
  REMOVE_OBSERVER: 'remove-observer',
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

/** One-server-at-a-time change (Ongaro's thesis §4.1). `address` is '' for removals. */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  readonly address: string;
}

export interface SnapshotMeta {
  /** Last index the snapshot covers, and that entry's term. */
  readonly index: number;
  readonly term: number;
  /** Membership as of `index`. */
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's serialised state as of meta.index (opaque to Raft). */
  readonly data: Uint8Array;
}

export const Role = {
  FOLLOWER: 'follower',
  PRE_CANDIDATE: 'pre-candidate',
  CANDIDATE: 'candidate',
  LEADER: 'leader',
  /** Replicates the log, never votes or campaigns. */
  OBSERVER: 'observer',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** Volatile state worth logging when it changes. */
export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId;
  readonly term: number;
}

export const MessageType = {
  PRE_VOTE: 'pre-vote',
  PRE_VOTE_RESPONSE: 'pre-vote-response',
  VOTE: 'vote',
  VOTE_RESPONSE: 'vote-response',
  APPEND: 'append',
  APPEND_RESPONSE: 'append-response',
  HEARTBEAT: 'heartbeat',
  HEARTBEAT_RESPONSE: 'heartbeat-response',
  SNAPSHOT: 'snapshot',
  SNAPSHOT_RESPONSE: 'snapshot-response',
  TIMEOUT_NOW: 'timeout-now',
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  /** Sender's term; for PRE_VOTE, the term the sender would campaign in. */
  readonly term: number;
}

/** A (pre-)vote request. `transfer` marks a campaign started by TimeoutNow (ignores leases). */
export interface VoteRequest extends MessageBase {
  readonly type: typeof MessageType.PRE_VOTE | typeof MessageType.VOTE;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  readonly transfer: boolean;
}

export interface VoteResponse extends MessageBase {
  readonly type: typeof MessageType.PRE_VOTE_RESPONSE | typeof MessageType.VOTE_RESPONSE;
  readonly granted: boolean;
}

export interface AppendRequest extends MessageBase {
  readonly type: typeof MessageType.APPEND;
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  /** Leader's commit index. */
  readonly commit: number;
}

export interface AppendResponse extends MessageBase {
  readonly type: typeof MessageType.APPEND_RESPONSE;
  readonly success: boolean;
  /**
   * On success, the last index the follower now holds that matches the leader (prevLogIndex +
   * entries). On rejection, the prevLogIndex that did not match.
   */
  readonly index: number;
  /**
   * On rejection, a guess for the leader's next probe (fast backtracking, thesis §5.3): the
   * highest index <= the rejected one whose term is <= the rejected prevLogTerm, and its term.
   */
  readonly hintIndex: number;
  readonly hintTerm: number;
}

export interface HeartbeatRequest extends MessageBase {
  readonly type: typeof MessageType.HEARTBEAT;
  /** min(leader commit, follower's match): never ahead of what the follower is known to hold. */
  readonly commit: number;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: typeof MessageType.HEARTBEAT_RESPONSE;
}

/** One chunk of InstallSnapshot. Chunks of one snapshot go out one at a time, in order. */
export interface SnapshotRequest extends MessageBase {
  readonly type: typeof MessageType.SNAPSHOT;
  readonly meta: SnapshotMeta;
  /** Byte offset of `chunk` in the snapshot's data. */
  readonly offset: number;
  readonly chunk: Uint8Array;
  readonly totalBytes: number;
  /** True on the last chunk. */
  readonly done: boolean;
}

export interface SnapshotResponse extends MessageBase {
  readonly type: typeof MessageType.SNAPSHOT_RESPONSE;
  /** meta.index of the snapshot being answered. */
  readonly snapshotIndex: number;
  /** The byte offset the follower expects next (equals totalBytes once it has all). */
  readonly nextOffset: number;
  /** True once the follower has installed (persisted) the snapshot. */
  readonly done: boolean;
}

/** Leadership transfer: the leader tells an up-to-date target to campaign now. */
export interface TimeoutNowRequest extends MessageBase {
  readonly type: typeof MessageType.TIMEOUT_NOW;
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotRequest
  | SnapshotResponse
  | TimeoutNowRequest;

/**
 * Work for the driver, in this order: persist (snapshot, then entries and hard state, fsynced
 * when mustSync), then send messages, then restore the state machine from `snapshot` if any,
 * then apply `committed` in order, then call advance(ready).
 */
export interface Ready {
  /** Role, leader or term changed since the last Ready (for logs and metrics), else null. */
  readonly softState: SoftState | null;
  /** Must be durable before any message leaves; null when unchanged. */
  readonly hardState: HardState | null;
  /** Append; first drop any stored entries with index >= entries[0].index. */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader: persist it, drop stored entries, restore from it. */
  readonly snapshot: Snapshot | null;
  /** Entries newly committed and already durable on this node; apply in order. */
  readonly committed: readonly Entry[];
  readonly messages: readonly Message[];
  /** Membership in force changed (driver updates its address book), else null. */
  readonly confState: ConfState | null;
  /** False only when nothing above needs an fsync. */
  readonly mustSync: boolean;
}

/** What a node restarts from: everything its storage holds, as last persisted. */
export interface RestoredState {
  readonly hardState: HardState;
  /** The latest snapshot, or null before the first one. */
  readonly snapshot: Snapshot | null;
  /** Stored entries after the snapshot, contiguous, in index order. */
  readonly entries: readonly Entry[];
}

export interface RaftConfig {
  readonly id: NodeId;
  /** Membership at index 0 (bootstrap); the snapshot and conf-change entries override it. */
  readonly initialConf: ConfState;
  /** Base election timeout in ticks; each timeout is drawn from [electionTicks, 2 * electionTicks). */
  readonly electionTicks: number;
  /** Leader heartbeat interval in ticks (< electionTicks). */
  readonly heartbeatTicks: number;
  /** Append messages in flight to one follower before the leader waits for acks. */
  readonly inflightAppendsMax: number;
  /** Bytes of entries per Append message (at least one entry is always sent). */
  readonly appendBytesMax: number;
  /** Bytes per InstallSnapshot chunk. */
  readonly snapshotChunkBytes: number;
  /** Bytes of proposed but not yet committed entries the leader accepts before refusing. */
  readonly uncommittedBytesMax: number;
}

export const ProposeRefusal = {
  /** This node is not the leader; retry at `leader` (NO_NODE when unknown). */
  NOT_LEADER: 'not-leader',
  /** A leadership transfer is under way; retry shortly. */
  TRANSFERRING: 'transferring',
  /** Too many uncommitted bytes; retry after some commit. */
  BUSY: 'busy',
  /** A membership change is still uncommitted, or the leader has not yet committed in its term. */
  CONF_CHANGE_PENDING: 'conf-change-pending',
  /** The change makes no sense for the current membership (e.g. removing a non-member). */
  INVALID_CONF_CHANGE: 'invalid-conf-change',
} as const;
export type ProposeRefusal = (typeof ProposeRefusal)[keyof typeof ProposeRefusal];

/** A proposal is accepted at (index, term): it commits iff the entry committed at index has that term. */
export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | {
      readonly ok: false;
      readonly reason: ProposeRefusal;
      readonly leader: NodeId;
      readonly message: string;
    };

export const ProgressState = {
  /** Leader does not know the follower's log: one Append at a time until one matches. */
  PROBE: 'probe',
  /** Follower matches: Appends are pipelined, up to inflightAppendsMax. */
  REPLICATE: 'replicate',
  /** Follower is behind the compacted log: InstallSnapshot in progress. */
  SNAPSHOT: 'snapshot',
} as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

export interface PeerStatus {
  readonly id: NodeId;
  readonly isVoter: boolean;
  readonly matchIndex: number;
  readonly nextIndex: number;
  readonly state: ProgressState;
  /** Heard from within the last election timeout (check-quorum). */
  readonly recentActive: boolean;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly leader: NodeId;
  readonly vote: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly confState: ConfState;
  /** Leader only (empty elsewhere): what it knows of every other member. */
  readonly peers: readonly PeerStatus[];
}
