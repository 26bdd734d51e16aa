/**
 * A follower's end of the framed fetch transport (peer.proto, ReplicaFetchFrame): one TCP
 * connection to a leader's address, over which fetch requests go one at a time and answers come
 * back in order. It reads into one reused buffer and copies each answer's batches once, into a
 * Buffer they then share: no HTTP/2 chunks to reassemble and no protobuf copy.
 *
 * As with the gRPC stream it replaces: a request that times out or is cancelled ends the
 * connection (an answer cannot be taken back), as does any socket error or a frame that breaks
 * the protocol; the next request opens a new connection. Pending requests then fail, and the
 * follower's fetcher retries them as it retries a failed call.
 */
import { connect, type Socket } from 'node:net';
import { limits } from '../../config/index.js';
import { BrokerError, type ErrorCode } from '../../errors/index.js';
import type {
  ReplicaFetchFrame__Output,
  ReplicaFetchRequest,
  ReplicaFetchResponse__Output,
} from '../../proto/index.js';
import {
  FrameDecoder,
  FrameError,
  frameCodec,
  framePrefix,
  MAGIC,
  requestCodec,
  type Frame,
} from './frames.js';
import { InOrderCalls } from './in-order-calls.js';

/** Bytes per socket read; the answers' batches are copied out of it. */
const READ_BUFFER_BYTES = 256 * 1024;
/** An answer's header lists partitions and batch sizes: far below this. */
const ANSWER_HEADER_BYTES_MAX = 16 * 1024 * 1024;

/** The leader answered the hello with something else: a release without this transport. */
export class FramedFetchUnsupportedError extends Error {
  override readonly name = 'FramedFetchUnsupportedError';

  constructor() {
    super('the leader does not speak the framed fetch transport (an older release?)');
  }
}

interface Connection {
  readonly socket: Socket;
  readonly decoder: FrameDecoder;
  /** The leader's MAGIC bytes received so far. */
  magicReceived: number;
}

export class FramedFetchLink {
  private connection: Connection | null = null;
  private readonly calls = new InOrderCalls<ReplicaFetchResponse__Output>();
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** Sends `request`; resolves with its answer, rejects on timeout, abort or a connection failure. */
  fetch(
    request: ReplicaFetchRequest,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ReplicaFetchResponse__Output> {
    if (signal.aborted) return Promise.reject(new Error('fetch cancelled'));
    const connection = this.connection ?? this.open();
    const answer = this.calls.add(timeoutMs, signal, (error) => this.fail(connection, error));
    const header = requestCodec.encode(request);
    connection.socket.write(Buffer.concat([framePrefix(header.length, 0), header]));
    return answer;
  }

  close(): void {
    if (this.connection !== null) this.fail(this.connection, new Error('fetch link closed'));
  }

  private open(): Connection {
    const connection: Connection = {
      decoder: new FrameDecoder({
        headerBytesMax: ANSWER_HEADER_BYTES_MAX,
        dataBytesMax: limits.grpcMessageBytesMax,
      }),
      magicReceived: 0,
      socket: connect({
        host: this.host,
        port: this.port,
        noDelay: true,
        onread: {
          buffer: this.readBuffer,
          callback: (bytes) => {
            this.received(connection, this.readBuffer.subarray(0, bytes));
            return true;
          },
        },
      }),
    };
    this.connection = connection;
    const { socket } = connection;
    socket.on('error', (error) => this.fail(connection, error));
    socket.on('end', () => this.fail(connection, new Error('the leader closed the connection')));
    socket.on('close', () => this.fail(connection, new Error('the connection closed')));
    socket.write(MAGIC);
    return connection;
  }

  private received(connection: Connection, bytes: Buffer): void {
    if (this.connection !== connection) return;
    let rest = bytes;
    if (connection.magicReceived < MAGIC.length) {
      const n = Math.min(MAGIC.length - connection.magicReceived, rest.length);
      const expected = MAGIC.subarray(connection.magicReceived, connection.magicReceived + n);
      if (!rest.subarray(0, n).equals(expected)) {
        this.fail(connection, new FramedFetchUnsupportedError());
        return;
      }
      connection.magicReceived += n;
      rest = rest.subarray(n);
    }
    try {
      for (const frame of connection.decoder.push(rest)) {
        if (this.connection !== connection) return;
        this.answered(frame);
      }
    } catch (error) {
      this.fail(connection, error as Error);
    }
  }

  /** Hands `frame` to the oldest pending request; throws FrameError when it breaks the protocol. */
  private answered(frame: Frame): void {
    let decoded: ReplicaFetchFrame__Output;
    try {
      decoded = frameCodec.decode(frame.header);
    } catch (error) {
      throw new FrameError(`undecodable answer header: ${(error as Error).message}`);
    }
    if (decoded.errorCode !== 'NONE') {
      // The leader closes the connection after an error frame; fail the rest with it too.
      const error = new BrokerError(decoded.errorCode as ErrorCode, decoded.errorMessage);
      if (!this.calls.settleNext({ error })) throw new FrameError('an answer to no request');
      if (this.connection !== null) this.fail(this.connection, error);
      return;
    }
    const response = decoded.response;
    if (response === null) throw new FrameError('an answer with neither response nor error');
    let at = 0;
    for (const p of response.partitions) {
      p.recordBatches = p.recordBatchSizes.map((size) => {
        const batch = frame.data.subarray(at, at + size);
        at += size;
        return batch;
      });
    }
    if (at !== frame.data.length) {
      throw new FrameError(
        `answer batch sizes add up to ${at}, not its ${frame.data.length} bytes`,
      );
    }
    if (!this.calls.settleNext({ response })) throw new FrameError('an answer to no request');
  }

  /** Ends `connection` (if still current) and fails every request waiting on it. */
  private fail(connection: Connection, error: Error): void {
    if (this.connection !== connection) return;
    this.connection = null;
    connection.socket.destroy();
    this.calls.failAll(error);
  }
}
