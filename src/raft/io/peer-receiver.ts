/**
 * The receiving half of Raft's network: the handler of RaftPeer.Send streams (peer.proto).
 *
 * A stream is accepted only when its metadata names this cluster and this node; otherwise it
 * is refused with FAILED_PRECONDITION and a message saying what is misconfigured, before any
 * batch is read. An accepted stream gets its response headers at once, which tells the sender
 * the link is up.
 *
 * Each batch is decoded message by message (wire.ts). A malformed message, or one whose from/to
 * contradicts the stream, is dropped and counted, with a warning; it never reaches the core and
 * never fails the stream: Raft tolerates a lost message, and one bad message should not cost the
 * good ones behind it. Decoded messages go to `onMessages` synchronously: the handler does no
 * Raft work itself (STYLE.md §1.3: handlers enqueue, the driver's loop drains).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { RaftMessageBatch__Output, SendAck } from '../../proto/index.js';
import type { Message, NodeId } from '../types.js';
import { METADATA_CLUSTER_ID, METADATA_FROM, METADATA_TO } from './grpc-transport.js';
import { WireError, messageFromProto } from './wire.js';

export interface PeerReceiverOptions {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly logger: Logger;
  /** Takes decoded messages (at least one, all to this node). Must not throw. */
  readonly onMessages: (messages: Message[]) => void;
}

/** Counters for tests and metrics. */
export interface PeerReceiverStats {
  messagesReceived: number;
  messagesMalformed: number;
  streamsAccepted: number;
  streamsRefused: number;
}

/** Of a stream's malformed messages, warn about the first and then every this-many. */
const MALFORMED_WARN_EVERY = 1_000;

type SendCall = grpc.ServerReadableStream<RaftMessageBatch__Output, SendAck>;
type SendCallback = grpc.sendUnaryData<SendAck>;

export class PeerReceiver {
  readonly stats: PeerReceiverStats = {
    messagesReceived: 0,
    messagesMalformed: 0,
    streamsAccepted: 0,
    streamsRefused: 0,
  };
  /** Open streams and how to answer each, so close() can end them. */
  private readonly open = new Map<SendCall, (status: Partial<grpc.StatusObject> | null) => void>();
  private isClosed = false;

  constructor(private readonly options: PeerReceiverOptions) {}

  /** The Send handler, for the RaftPeer service implementation. */
  readonly handleSend = (call: SendCall, callback: SendCallback): void => {
    const from = this.admit(call);
    if (typeof from === 'string') {
      this.stats.streamsRefused++;
      this.options.logger.warn({ peer: call.getPeer(), problem: from }, 'raft stream refused');
      callback({ code: grpc.status.FAILED_PRECONDITION, details: from });
      return;
    }
    this.stats.streamsAccepted++;
    let received = 0;
    let malformed = 0;
    let isAnswered = false;
    const answer = (status: Partial<grpc.StatusObject> | null): void => {
      if (isAnswered) return;
      isAnswered = true;
      this.open.delete(call);
      if (status === null) callback(null, { messagesReceived: received });
      else callback(status);
    };
    this.open.set(call, answer);
    call.sendMetadata(new grpc.Metadata());
    call.on('data', (batch: RaftMessageBatch__Output) => {
      if (this.isClosed) return;
      const { messages, dropped, problem } = this.decode(batch, from);
      received += messages.length;
      if (dropped > 0) {
        malformed += dropped;
        this.stats.messagesMalformed += dropped;
        if (malformed === dropped || malformed % MALFORMED_WARN_EVERY < dropped) {
          this.options.logger.warn(
            { peer: from, dropped: malformed, problem },
            'malformed raft message dropped',
          );
        }
      }
      if (messages.length > 0) this.options.onMessages(messages);
    });
    call.on('end', () => answer(null));
    // A cancelled or broken stream needs no answer; forget it.
    call.on('cancelled', () => answer({ code: grpc.status.CANCELLED }));
    call.on('error', () => answer({ code: grpc.status.CANCELLED }));
  };

  /** Ends every open stream with UNAVAILABLE (so a server can shut down) and ignores later ones. */
  close(): void {
    this.isClosed = true;
    for (const answer of [...this.open.values()]) {
      answer({ code: grpc.status.UNAVAILABLE, details: 'the raft node is closing' });
    }
  }

  /** The sender's node id, or why the stream is refused. */
  private admit(call: SendCall): NodeId | string {
    const { id, clusterId } = this.options;
    if (this.isClosed) return `node ${id} is closing`;
    const [cluster] = call.metadata.get(METADATA_CLUSTER_ID);
    const [fromText] = call.metadata.get(METADATA_FROM);
    const [toText] = call.metadata.get(METADATA_TO);
    if (cluster !== clusterId) {
      return `a raft stream from cluster ${String(cluster)} reached node ${id} of cluster ${clusterId}; check the quorum's addresses`;
    }
    const to = Number(toText);
    if (to !== id) {
      return `a raft stream for node ${String(toText)} reached node ${id} at this address; check the quorum's addresses`;
    }
    const from = Number(fromText);
    if (!Number.isInteger(from) || from < 0 || from === id) {
      return `a raft stream names its sender as ${String(fromText)}, not another node id`;
    }
    return from;
  }

  private decode(
    batch: RaftMessageBatch__Output,
    from: NodeId,
  ): { messages: Message[]; dropped: number; problem: string | null } {
    const messages: Message[] = [];
    // A batch that did not decode at all arrives without its list (see server/grpc/malformed.ts).
    if (!Array.isArray(batch.messages))
      return { messages, dropped: 1, problem: 'undecodable batch' };
    let dropped = 0;
    let problem: string | null = null;
    for (const proto of batch.messages) {
      try {
        const message = messageFromProto(proto);
        if (message.from !== from || message.to !== this.options.id) {
          throw new WireError(
            `message from ${message.from} to ${message.to} on a stream from ${from}`,
          );
        }
        messages.push(message);
      } catch (error) {
        if (!(error instanceof WireError)) throw error;
        dropped++;
        problem = error.message;
      }
    }
    this.stats.messagesReceived += messages.length;
    return { messages, dropped, problem };
  }
}
