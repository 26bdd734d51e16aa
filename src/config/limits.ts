/**
 * Every bound in the broker, named once (STYLE.md §1.3). Queues, maps that grow with client
 * input and loops take their maximum from here; the relations between bounds are asserted when
 * the module loads, so an edit that breaks one fails at start-up, not under load.
 */
import { assert } from '../util/assert.js';

const MiB = 1024 * 1024;

export const limits = {
  /** Largest record batch the broker accepts or builds (max.message.bytes may be lower). */
  batchBytesMax: 8 * MiB,
  /** Records in one batch. */
  batchRecordsMax: 100_000,
  /** Records in one structured Produce request. */
  produceRecordsMax: 100_000,
  /** Pre-encoded batches in one Produce request. */
  produceBatchesMax: 1_000,
  /** Bytes of one gRPC message, in either direction. */
  grpcMessageBytesMax: 64 * MiB,
  /** Partitions in one Fetch or ListOffsets request. */
  fetchPartitionsMax: 1_000,
  /** Default and largest per-partition fetch size. */
  fetchPartitionBytesDefault: 1 * MiB,
  fetchPartitionBytesMax: 32 * MiB,
  /** Default and largest whole-response fetch size. */
  fetchResponseBytesDefault: 50 * MiB,
  fetchResponseBytesMax: 56 * MiB,
  /** Longest long-poll a client may ask for. */
  fetchWaitMsMax: 60_000,
  /** Longest produce acks timeout a client may ask for. */
  produceTimeoutMsMax: 300_000,
  produceTimeoutMsDefault: 30_000,
  /** Appends waiting for one group commit; more get backpressure (the caller waits). */
  inflightAppendsMax: 10_000,
  /** Bytes waiting for one group commit. */
  groupCommitBytesMax: 64 * MiB,
  /** Batches one partition-log read returns (besides its byte limit). */
  logReadBatchesMax: 100_000,
  /** Batches one log maintenance step (truncate, delete, retention scan) handles per write. */
  logMaintenanceBatchesMax: 1_000,
  /**
   * Memory for every partition's newest batches together, kept for readers that keep up
   * (followers, tailing consumers; tail-cache.ts). A follower is about one produce request
   * (up to 4 MiB) behind, so this lets a few busy partitions serve their followers from memory.
   */
  logTailCacheBytesMax: 64 * MiB,
  /** Batches one retention pass examines per partition. */
  retentionBatchesPerRunMax: 100_000,
  /**
   * Distinct keys, and bytes of those keys, one compaction pass holds in its key map
   * (log/cleaner.ts). A pass that would exceed either cleans only up to the batch where the map
   * filled; the next pass goes on from there.
   */
  cleanerKeysPerPassMax: 250_000,
  cleanerKeyBytesPerPassMax: 32 * MiB,
  /** Bytes of stored batches one compaction step reads and rewrites in one atomic write. */
  cleanerStepBytesMax: 16 * MiB,
  /** Members of one consumer group; a join beyond it gets GROUP_MAX_SIZE_REACHED. */
  groupMembersMax: 10_000,
  /** Groups, offsets or partitions named in one Groups call. */
  groupCallItemsMax: 10_000,
  /** Topics in one admin request, and partitions per topic. */
  adminTopicsMax: 1_000,
  partitionsPerTopicMax: 10_000,
  /** Header entries in one record, and bytes of a topic name. */
  recordHeadersMax: 1_000,
  topicNameLengthMax: 249,
  /** Requests in flight on one ProduceStream. */
  produceStreamInflightMax: 1_024,
  /**
   * LevelDB memtable size of the node's store (LevelDB's default is 4 MiB). One produce request
   * can carry 4 MiB; with the default every request filled the memtable and waited on its
   * flush. The benchmark's raw LevelDB yardstick opens with the same size.
   */
  storeWriteBufferBytes: 32 * MiB,
  /** Open Subscribe streams per node. */
  subscriptionsMax: 10_000,
  /**
   * Raft messages waiting to go to one peer. When a peer is slow or down the oldest are
   * dropped (Raft tolerates loss; the leader's flow control resends what matters), so a sick
   * peer costs bounded memory and never blocks the others.
   */
  raftPeerQueueMessagesMax: 1_024,
  /** Raft messages, and their bytes, in one batch on a peer stream (at least one is sent). */
  raftPeerBatchMessagesMax: 256,
  raftPeerBatchBytesMax: 16 * MiB,
  /** Reconnect backoff of a failed peer stream: doubles from min to max, with full jitter. */
  raftPeerReconnectBackoffMsMin: 50,
  raftPeerReconnectBackoffMsMax: 2_000,
  /** HTTP/2 keepalive ping interval on peer streams, so a silently dead peer is noticed. */
  raftPeerKeepaliveMs: 10_000,
  /** Received Raft messages waiting for the driver's loop; the oldest are dropped beyond it. */
  raftInboxMessagesMax: 10_000,
  /** Propose calls waiting to be applied on this node; more are refused (retriable). */
  raftPendingProposalsMax: 1_024,
  /** Entries in one Propose call. */
  raftProposeEntriesMax: 10_000,
  /** How long a proposal waits to be committed and applied before REQUEST_TIMED_OUT. */
  raftProposeTimeoutMs: 30_000,
  /** Deadline of a node-to-node call (beyond a fetch's own long-poll wait). */
  peerCallTimeoutMs: 5_000,
  /** How long a node keeps retrying an admin call it forwards to the controller. */
  controllerForwardTimeoutMs: 15_000,
  /** How long a forwarding node waits to apply the metadata change it forwarded. */
  metadataCatchUpTimeoutMs: 5_000,
  /** Partitions in one replica Fetch or OffsetsForLeaderEpoch request. */
  replicaFetchPartitionsMax: 10_000,
  /**
   * Committed entries handed to the state machine in one call; the driver yields to the event
   * loop between such slices, so a node catching up on a long log keeps serving its sockets.
   */
  raftApplyBatchEntriesMax: 1_000,
} as const;

assert(limits.fetchResponseBytesMax >= limits.fetchPartitionBytesMax, 'response >= partition');
assert(limits.fetchPartitionBytesMax >= limits.batchBytesMax, 'a fetch must fit the largest batch');
assert(limits.grpcMessageBytesMax > limits.fetchResponseBytesMax, 'gRPC must fit a full fetch');
assert(limits.groupCommitBytesMax >= limits.batchBytesMax, 'one commit must fit one batch');
assert(limits.batchRecordsMax <= limits.produceRecordsMax, 'a request can fill a batch');
// A compaction pass always maps at least one whole batch, so it always makes progress.
assert(limits.cleanerKeysPerPassMax >= limits.batchRecordsMax, 'the key map fits a batch');
assert(limits.cleanerKeyBytesPerPassMax >= limits.batchBytesMax, 'the key map fits a batch');
// A step carries an empty batch over from the one before, plus at least one whole batch.
assert(limits.cleanerStepBytesMax >= 2 * limits.batchBytesMax, 'a compaction step fits 2 batches');
assert(
  limits.raftPeerBatchBytesMax < limits.grpcMessageBytesMax,
  'a peer batch must fit one gRPC message',
);
assert(
  limits.raftPeerReconnectBackoffMsMin <= limits.raftPeerReconnectBackoffMsMax,
  'reconnect backoff: min <= max',
);
assert(
  limits.raftPeerBatchMessagesMax <= limits.raftPeerQueueMessagesMax,
  'a peer batch never exceeds its queue',
);
