/**
 * The service of the raw loopback yardsticks (raw-loopback.ts, raw-loopback-child.ts): two
 * methods with raw Buffer (de)serializers, so no protobuf work is measured, only gRPC's own.
 *   RoundTrip: unary; any request, answered at once with ROUND_TRIP_ANSWER_BYTES.
 *   Stream:    server-streaming; the request says how many bytes to send and until when, the
 *              answer comes in STREAM_MESSAGE_BYTES messages.
 * Beside it, the child's plain TCP stream: the same request as one line (TCP_REQUEST_END ends
 * it), answered with the bytes in STREAM_MESSAGE_BYTES writes and the end of the stream.
 */
import type * as grpc from '@grpc/grpc-js';

const MiB = 1024 * 1024;

export const ROUND_TRIP_ANSWER_BYTES = 16;
export const STREAM_MESSAGE_BYTES = 1 * MiB;
/** Room for the stream's messages, both ways, with margin. */
export const MESSAGE_BYTES_MAX = 8 * MiB;

const asIs = (value: Buffer): Buffer => value;

export const RAW_LOOPBACK_SERVICE = {
  RoundTrip: {
    path: '/brook.bench.RawLoopback/RoundTrip',
    requestStream: false,
    responseStream: false,
    requestSerialize: asIs,
    requestDeserialize: asIs,
    responseSerialize: asIs,
    responseDeserialize: asIs,
  },
  Stream: {
    path: '/brook.bench.RawLoopback/Stream',
    requestStream: false,
    responseStream: true,
    requestSerialize: asIs,
    requestDeserialize: asIs,
    responseSerialize: asIs,
    responseDeserialize: asIs,
  },
} satisfies grpc.ServiceDefinition;

/** What the Stream method is asked to send. */
export interface StreamRequest {
  readonly bytes: number;
  /** Wall-clock time (Date.now()) at which the server stops sending and ends the stream. */
  readonly deadlineMs: number;
}

export function encodeStreamRequest(request: StreamRequest): Buffer {
  return Buffer.from(JSON.stringify(request));
}

/** Ends the request line of a TCP stream. */
export const TCP_REQUEST_END = '\n';

export function decodeStreamRequest(bytes: Buffer): StreamRequest {
  return JSON.parse(bytes.toString('utf8')) as StreamRequest;
}

/** The child's answer to the parent's 'cpu' message: its CPU since the last stream began. */
export interface StreamCpuMessage {
  readonly cpuSeconds: number;
}

/** The child's first message: the ports it serves on. */
export interface PortMessage {
  /** The gRPC server's. */
  readonly port: number;
  /** The plain TCP stream server's. */
  readonly tcpPort: number;
}
