/**
 * The sending half of Raft's network: messages from Ready go to their peers over one long-lived
 * RaftPeer.Send client stream per peer (peer.proto). The receiving half is peer-receiver.ts.
 *
 * send() never blocks and never waits: it appends each message to its peer's bounded queue and
 * asks the peer's link to flush. A link writes batches as fast as its stream drains (a write
 * that returns false waits for 'drain'), so a slow or dead peer only fills its own queue; when
 * the queue is full its oldest message is dropped and counted. Raft tolerates that: a lost
 * Append is resent after a rejection or the next heartbeat, a lost vote is a lost election.
 *
 * A stream that fails (peer down, refused, reset) is reopened after an exponential backoff with
 * jitter, from limits.raftPeerReconnectBackoffMsMin up to ...Max, reset once a stream is
 * accepted (the receiver sends its headers at once). Messages written into a failed stream are
 * lost, as above. The address book follows membership: setPeers() adds, re-points and removes
 * links.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { limits } from '../../config/index.js';
import {
  brookV1Peer,
  type RaftMessage,
  type RaftMessageBatch,
  type RaftPeerClient,
} from '../../proto/index.js';
import { assert } from '../../util/assert.js';
import type { Rng } from '../../util/rng.js';
import { MessageType, type Member, type Message, type NodeId } from '../types.js';
import { messageToProto } from './wire.js';

/** Request metadata of a Send stream, checked by the receiver (peer.proto). */
export const METADATA_CLUSTER_ID = 'brook-cluster-id';
export const METADATA_FROM = 'brook-raft-from';
export const METADATA_TO = 'brook-raft-to';

export interface GrpcTransportOptions {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly logger: Logger;
  /** Jitter source for reconnect backoff. */
  readonly rng: Rng;
  /** Defaults from limits.ts; tests shrink them. */
  readonly queueMessagesMax?: number;
  readonly reconnectBackoffMsMin?: number;
  readonly reconnectBackoffMsMax?: number;
}

/** Counters for tests and metrics. */
export interface GrpcTransportStats {
  /** Messages written into a stream. */
  messagesSent: number;
  batchesSent: number;
  /** Messages dropped because their peer's queue was full. */
  messagesDropped: number;
  /** Messages for a node not in the address book. */
  messagesUnroutable: number;
  /** Streams opened, and streams that ended in an error. */
  streamsOpened: number;
  streamsFailed: number;
  /** Times a write returned false and the link waited for 'drain'. */
  drainWaits: number;
}

/** Rough wire size of a message, for batch bounds: payload bytes plus a fixed overhead. */
function messageBytes(message: Message): number {
  const overhead = 64;
  if (message.type === MessageType.APPEND) {
    let bytes = overhead;
    for (const entry of message.entries) bytes += entry.data.length + 32;
    return bytes;
  }
  if (message.type === MessageType.SNAPSHOT) return overhead + message.chunk.length;
  return overhead;
}

export class GrpcTransport {
  readonly stats: GrpcTransportStats = {
    messagesSent: 0,
    batchesSent: 0,
    messagesDropped: 0,
    messagesUnroutable: 0,
    streamsOpened: 0,
    streamsFailed: 0,
    drainWaits: 0,
  };
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly unroutableWarned = new Set<NodeId>();
  private isClosed = false;

  constructor(private readonly options: GrpcTransportOptions) {
    const min = options.reconnectBackoffMsMin ?? limits.raftPeerReconnectBackoffMsMin;
    const max = options.reconnectBackoffMsMax ?? limits.raftPeerReconnectBackoffMsMax;
    assert(min >= 1 && min <= max, 'transport: reconnect backoff min <= max');
    assert((options.queueMessagesMax ?? 1) >= 1, 'transport: a queue holds at least one message');
  }

  /**
   * Sets the address book to `members` (this node itself is skipped). Links of members that
   * left are closed, links whose address changed are re-pointed, new members get a link.
   */
  setPeers(members: readonly Member[]): void {
    assert(!this.isClosed, 'transport: setPeers after close');
    const wanted = new Map<NodeId, string>();
    for (const member of members)
      if (member.id !== this.options.id) wanted.set(member.id, member.address);
    for (const [id, link] of this.links) {
      if (wanted.get(id) === link.address) continue;
      link.close();
      this.links.delete(id);
    }
    for (const [id, address] of wanted) {
      if (this.links.has(id)) continue;
      this.links.set(id, new PeerLink(id, address, this.options, this.stats));
      this.unroutableWarned.delete(id);
    }
  }

  /** Queues messages for their peers, in order per peer. Never blocks; never throws for I/O. */
  send(messages: readonly Message[]): void {
    if (this.isClosed) return;
    const touched = new Set<PeerLink>();
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      assert(message.from === this.options.id, 'transport: sending a message from another node');
      const link = this.links.get(message.to);
      if (link === undefined) {
        this.unroutable(message.to);
        continue;
      }
      link.enqueue(message);
      touched.add(link);
    }
    for (const link of touched) link.flush();
  }

  /** Peers in the address book, for status and tests. */
  peers(): Member[] {
    return [...this.links.values()].map((link) => ({ id: link.id, address: link.address }));
  }

  /** Queued messages per peer, for tests. */
  queuedMessages(id: NodeId): number {
    return this.links.get(id)?.queued() ?? 0;
  }

  /** Ends every stream and stops reconnecting. Idempotent. Queued messages are discarded. */
  close(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    this.isClosed = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    return Promise.resolve();
  }

  private unroutable(id: NodeId): void {
    this.stats.messagesUnroutable++;
    if (this.unroutableWarned.has(id)) return;
    this.unroutableWarned.add(id);
    this.options.logger.warn({ peer: id }, 'raft message for a node with no known address dropped');
  }
}

/**
 * One peer: its queue, its channel and its current stream. All state changes happen in its
 * own methods; the stream's callbacks only call back into them.
 */
class PeerLink {
  private readonly queue: Message[] = [];
  /** Index of the oldest queued message in `queue` (consumed prefix is trimmed lazily). */
  private head = 0;
  private readonly client: RaftPeerClient;
  private stream: grpc.ClientWritableStream<RaftMessageBatch> | null = null;
  private isWaitingForDrain = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private isClosed = false;
  private readonly queueMax: number;
  private readonly backoffMsMin: number;
  private readonly backoffMsMax: number;
  private readonly logger: Logger;

  constructor(
    readonly id: NodeId,
    readonly address: string,
    private readonly options: GrpcTransportOptions,
    private readonly stats: GrpcTransportStats,
  ) {
    this.queueMax = options.queueMessagesMax ?? limits.raftPeerQueueMessagesMax;
    this.backoffMsMin = options.reconnectBackoffMsMin ?? limits.raftPeerReconnectBackoffMsMin;
    this.backoffMsMax = options.reconnectBackoffMsMax ?? limits.raftPeerReconnectBackoffMsMax;
    this.logger = options.logger.child({ peer: id, peerAddress: address });
    const RaftPeer = brookV1Peer().RaftPeer;
    this.client = new RaftPeer(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': limits.grpcMessageBytesMax,
      'grpc.max_send_message_length': limits.grpcMessageBytesMax,
      // grpc-js backs off up to 120 s between connection attempts by default; a restarted peer
      // would stay unreachable long after it is back. Pace it like our own stream backoff.
      'grpc.initial_reconnect_backoff_ms': this.backoffMsMin,
      'grpc.max_reconnect_backoff_ms': this.backoffMsMax,
      // A peer that vanishes without a TCP reset is noticed by keepalive pings, not by a write.
      'grpc.keepalive_time_ms': limits.raftPeerKeepaliveMs,
      'grpc.keepalive_timeout_ms': limits.raftPeerKeepaliveMs,
      // One channel per link: closing a link must not disturb another link's connection.
      'grpc.use_local_subchannel_pool': 1,
    });
  }

  queued(): number {
    return this.queue.length - this.head;
  }

  enqueue(message: Message): void {
    if (this.isClosed) return;
    this.queue.push(message);
    if (this.queued() > this.queueMax) {
      // Drop the oldest: the newest messages carry the freshest term and commit index.
      this.head++;
      this.stats.messagesDropped++;
    }
  }

  /** Writes queued batches until the queue is empty or the stream pushes back. */
  flush(): void {
    if (this.isClosed || this.isWaitingForDrain || this.reconnectTimer !== null) return;
    if (this.queued() === 0) return;
    const stream = this.stream ?? this.openStream();
    while (this.queued() > 0) {
      const batch = this.takeBatch();
      this.stats.batchesSent++;
      this.stats.messagesSent += batch.length;
      if (!stream.write({ messages: batch })) {
        this.stats.drainWaits++;
        this.isWaitingForDrain = true;
        stream.once('drain', () => this.onDrain(stream));
        return;
      }
    }
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.queue.length = 0;
    this.head = 0;
    const stream = this.stream;
    this.stream = null;
    // Cancel rather than end: end() would wait for the receiver's SendAck on a channel we are
    // about to close, and nothing queued needs to arrive.
    stream?.cancel();
    this.client.close();
  }

  private takeBatch(): RaftMessage[] {
    const batch: RaftMessage[] = [];
    let bytes = 0;
    while (this.queued() > 0 && batch.length < limits.raftPeerBatchMessagesMax) {
      const message = this.queue[this.head]!;
      const size = messageBytes(message);
      // At least one message per batch, so an oversized one still goes (gRPC bounds it).
      if (batch.length > 0 && bytes + size > limits.raftPeerBatchBytesMax) break;
      batch.push(messageToProto(message));
      bytes += size;
      this.head++;
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > this.queueMax) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return batch;
  }

  private openStream(): grpc.ClientWritableStream<RaftMessageBatch> {
    const metadata = new grpc.Metadata();
    metadata.set(METADATA_CLUSTER_ID, this.options.clusterId);
    metadata.set(METADATA_FROM, String(this.options.id));
    metadata.set(METADATA_TO, String(this.id));
    // No deadline: the stream lives as long as the link. Keepalive, not a deadline, detects a
    // dead peer, and a failed stream is reopened (STYLE.md §8 asks for explicit call options).
    const stream = this.client.Send(metadata, { deadline: Infinity }, (error) =>
      this.onStreamEnd(stream, error),
    );
    stream.on('metadata', () => this.onAccepted(stream));
    // Errors also reach the callback above; this listener only keeps an 'error' event from
    // being thrown as unhandled.
    stream.on('error', () => {});
    this.stream = stream;
    this.stats.streamsOpened++;
    return stream;
  }

  private onAccepted(stream: grpc.ClientWritableStream<RaftMessageBatch>): void {
    if (stream !== this.stream) return;
    if (this.failures > 0)
      this.logger.info({ failures: this.failures }, 'raft peer stream reconnected');
    this.failures = 0;
  }

  private onDrain(stream: grpc.ClientWritableStream<RaftMessageBatch>): void {
    if (stream !== this.stream) return;
    this.isWaitingForDrain = false;
    this.flush();
  }

  private onStreamEnd(
    stream: grpc.ClientWritableStream<RaftMessageBatch>,
    error: grpc.ServiceError | null,
  ): void {
    if (stream !== this.stream || this.isClosed) return;
    this.stream = null;
    this.isWaitingForDrain = false;
    this.stats.streamsFailed++;
    this.failures++;
    const detail = { code: error?.code, details: error?.details, failures: this.failures };
    // Refusals are configuration errors an operator must see; connection failures are expected
    // while a peer restarts, so only the first of a streak is a warning.
    if (error?.code === grpc.status.FAILED_PRECONDITION) {
      this.logger.error(detail, 'raft peer refused the stream');
    } else if (this.failures === 1) {
      this.logger.warn(detail, 'raft peer stream failed; reconnecting with backoff');
    } else {
      this.logger.debug(detail, 'raft peer stream failed again');
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    assert(this.reconnectTimer === null, 'transport: two reconnects scheduled');
    const ceiling = Math.min(
      this.backoffMsMax,
      this.backoffMsMin * 2 ** Math.min(this.failures - 1, 30),
    );
    // Equal jitter: half the ceiling, plus up to the other half at random, so peers that failed
    // together do not retry in lockstep, and the delay never collapses to zero.
    const delayMs = ceiling / 2 + this.options.rng.next() * (ceiling / 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.flush();
    }, delayMs);
  }
}
