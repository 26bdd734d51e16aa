/**
 * A partition leader's end of one follower's framed fetch connection (peer.proto,
 * ReplicaFetchFrame). Requests are answered one at a time, in order, exactly as FetchStream
 * answers them (replicaFetch), but the batches go out as the stored Buffers themselves, in one
 * writev after the header: no protobuf copy and no HTTP/2 framing copy per follower.
 *
 * A request that fails (malformed, or a bad field) gets an error frame and the connection ends,
 * as FetchStream ends with a status. On shutdown the answer in progress goes out, then the
 * connection ends, so the follower moves on at once.
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { BrokerError, InvalidArgumentError, type ErrorCode } from '../../errors/index.js';
import type { ReplicaFetchRequest__Output, ReplicaFetchResponse } from '../../proto/index.js';
import { replicaFetch, type ReplicaFetchDeps } from '../grpc/replica-fetch.js';
import {
  FrameDecoder,
  frameCodec,
  framePrefix,
  MAGIC,
  requestCodec,
  type Frame,
} from './frames.js';

/** Requests read ahead of their answers before the connection stops reading. */
const QUEUED_REQUESTS_MAX = 8;
/** A request names at most replicaFetchPartitionsMax partitions: far below this. */
const REQUEST_HEADER_BYTES_MAX = 4 * 1024 * 1024;

/**
 * Serves the connection `socket`, whose first bytes (MAGIC) the listener has read; `buffered`
 * is what arrived after them.
 */
export function serveFetchConnection(
  deps: ReplicaFetchDeps,
  socket: Socket,
  buffered: Buffer,
): void {
  const closed = new AbortController();
  const decoder = new FrameDecoder({ headerBytesMax: REQUEST_HEADER_BYTES_MAX, dataBytesMax: 0 });
  let turn: Promise<void> = Promise.resolve();
  let isEnded = false;
  const end = (): void => {
    if (isEnded) return;
    isEnded = true;
    socket.end();
  };
  const onShutdown = (): void => {
    closed.abort();
    void turn.then(end);
  };
  deps.shutdown.addEventListener('abort', onShutdown, { once: true });
  closed.signal.addEventListener('abort', () =>
    deps.shutdown.removeEventListener('abort', onShutdown),
  );
  // A reset by the follower (it timed out, or went away) leaves nothing to answer.
  socket.on('error', () => closed.abort());
  socket.on('close', () => closed.abort());
  socket.on('end', () => {
    void turn.then(() => {
      end();
      closed.abort();
    });
  });

  const refuse = (error: unknown): void => {
    closed.abort();
    deps.traffic.replicaFetchRefusals++;
    const { code, message } = errorFrameOf(error, deps.logger);
    writeFrame(socket, frameCodec.encode({ errorCode: code, errorMessage: message }), []);
    end();
  };
  const answer = async (frame: Frame): Promise<void> => {
    if (closed.signal.aborted) return;
    try {
      const response = await replicaFetch(deps, decodeRequest(frame.header), closed.signal);
      if (socket.destroyed) return;
      deps.traffic.replicaFetchAnswers++;
      if (!writeAnswer(socket, response)) await drained(socket, closed.signal);
    } catch (error) {
      refuse(error);
    }
  };
  const onData = (chunk: Buffer): void => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      socket.off('data', onData);
      turn = turn.then(() => refuse(new InvalidArgumentError('frame', (error as Error).message)));
      return;
    }
    for (const frame of frames) {
      // A follower sends its next request after the answer; a peer that floods requests
      // without reading answers is read no further until it catches up.
      if (++queued >= QUEUED_REQUESTS_MAX) socket.pause();
      turn = turn.then(async () => {
        await answer(frame);
        if (--queued < QUEUED_REQUESTS_MAX && !closed.signal.aborted) socket.resume();
      });
    }
  };
  let queued = 0;
  socket.write(MAGIC);
  socket.on('data', onData);
  if (buffered.length > 0) onData(buffered);
  if (queued < QUEUED_REQUESTS_MAX) socket.resume();
}

function decodeRequest(header: Buffer): ReplicaFetchRequest__Output {
  try {
    return requestCodec.decode(header);
  } catch (error) {
    throw new InvalidArgumentError(
      'request',
      `is not a valid ReplicaFetchRequest (${(error as Error).message})`,
    );
  }
}

/** Writes `response` with its batches after the header; false when the socket is backed up. */
function writeAnswer(socket: Socket, response: ReplicaFetchResponse): boolean {
  const batches: Buffer[] = [];
  const partitions = (response.partitions ?? []).map((p) => {
    const own = (p.recordBatches ?? []) as Buffer[];
    for (const batch of own) batches.push(batch);
    return { ...p, recordBatches: [], recordBatchSizes: own.map((batch) => batch.length) };
  });
  return writeFrame(socket, frameCodec.encode({ response: { partitions } }), batches);
}

/** One frame in one writev: prefix and header, then each data buffer as it is. */
function writeFrame(socket: Socket, header: Uint8Array, data: readonly Buffer[]): boolean {
  let dataBytes = 0;
  for (const buffer of data) dataBytes += buffer.length;
  socket.cork();
  socket.write(Buffer.concat([framePrefix(header.length, dataBytes), header]));
  let isFlowing = true;
  for (const buffer of data) isFlowing = socket.write(buffer);
  socket.uncork();
  return isFlowing && !socket.writableNeedDrain;
}

async function drained(socket: Socket, signal: AbortSignal): Promise<void> {
  try {
    await once(socket, 'drain', { signal });
  } catch {
    // Closed meanwhile: nothing more goes out.
  }
}

/** The error frame for `error`, classified as the gRPC path does (error-status.ts). */
function errorFrameOf(error: unknown, logger: Logger): { code: ErrorCode; message: string } {
  if (error instanceof InvalidArgumentError)
    return { code: 'INVALID_REQUEST', message: error.message };
  if (error instanceof BrokerError) return { code: error.code, message: error.message };
  logger.error(
    { err: error, call: 'ReplicaFetch (framed)' },
    'unexpected error while serving a call',
  );
  return {
    code: 'UNKNOWN_SERVER_ERROR',
    message: 'internal error (UNKNOWN_SERVER_ERROR); the broker log has the details',
  };
}
