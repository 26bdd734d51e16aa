/**
 * Child process of raw-loopback.ts: a gRPC server on a free loopback port serving
 * RAW_LOOPBACK_SERVICE (raw-loopback-service.ts), and a plain TCP server on another. RoundTrip
 * answers at once; Stream sends the bytes asked for in 1 MiB messages, honouring backpressure.
 * A TCP connection sends one JSON line asking the same (a StreamRequest) and gets the bytes in
 * 1 MiB writes, honouring backpressure, then the end of the stream. After either stream the
 * parent may ask over IPC ('cpu') for this process's CPU since the stream began. It tells the
 * parent its ports over IPC and exits when the parent says 'stop' or goes away. Run only through
 * raw-loopback.ts.
 */
import { randomFillSync } from 'node:crypto';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import {
  MESSAGE_BYTES_MAX,
  RAW_LOOPBACK_SERVICE,
  ROUND_TRIP_ANSWER_BYTES,
  STREAM_MESSAGE_BYTES,
  TCP_REQUEST_END,
  decodeStreamRequest,
  type PortMessage,
  type StreamRequest,
  type StreamCpuMessage,
} from './raw-loopback-service.js';

/** Distinct messages cycled through, so the stream is not one buffer sent again and again. */
const STREAM_POOL_SIZE = 4;

const answer = randomFillSync(Buffer.allocUnsafe(ROUND_TRIP_ANSWER_BYTES));
const pool: Buffer[] = [];
for (let i = 0; i < STREAM_POOL_SIZE; i++) {
  pool.push(randomFillSync(Buffer.allocUnsafe(STREAM_MESSAGE_BYTES)));
}
let streamCpuStart: NodeJS.CpuUsage | null = null;

const server = new grpc.Server({
  'grpc.max_receive_message_length': MESSAGE_BYTES_MAX,
  'grpc.max_send_message_length': MESSAGE_BYTES_MAX,
});
server.addService(RAW_LOOPBACK_SERVICE, {
  RoundTrip: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
    callback(null, answer),
  Stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) =>
    sendStream(call, decodeStreamRequest(call.request), () => call.cancelled),
});

const tcpServer = net.createServer((socket) => {
  // The parent destroys its end on any failure: nothing here to report.
  socket.on('error', () => socket.destroy());
  let requestBytes = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    requestBytes = Buffer.concat([requestBytes, chunk]);
    const end = requestBytes.indexOf(TCP_REQUEST_END);
    if (end < 0) return;
    socket.off('data', onData);
    const request = decodeStreamRequest(requestBytes.subarray(0, end));
    sendStream(socket, request, () => socket.destroyed);
  };
  socket.on('data', onData);
});

/** A gRPC server stream or a socket: both take writes, say when to wait, and end. */
interface StreamSink {
  write(message: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
  end(): unknown;
}

/**
 * Sends what `request` asks for in STREAM_MESSAGE_BYTES writes, as a leader sends batches to a
 * follower, with backpressure (on a false write, wait for 'drain'), then ends the stream; and
 * starts the CPU measure the parent's 'cpu' message reads.
 */
function sendStream(sink: StreamSink, request: StreamRequest, isClosed: () => boolean): void {
  streamCpuStart = process.cpuUsage();
  let sent = 0;
  let index = 0;
  const writeMore = (): void => {
    while (sent < request.bytes && Date.now() < request.deadlineMs && !isClosed()) {
      const size = Math.min(STREAM_MESSAGE_BYTES, request.bytes - sent);
      const message = pool[index++ % pool.length]!.subarray(0, size);
      sent += size;
      if (!sink.write(message)) {
        sink.once('drain', writeMore);
        return;
      }
    }
    if (!isClosed()) sink.end();
  };
  writeMore();
}

const grpcPort = new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) =>
    error === null ? resolve(port) : reject(error),
  ),
);
const tcpPort = new Promise<number>((resolve, reject) => {
  tcpServer.once('error', reject);
  tcpServer.listen(0, '127.0.0.1', () => resolve((tcpServer.address() as net.AddressInfo).port));
});
Promise.all([grpcPort, tcpPort]).then(
  ([port, tcp]) => {
    if (process.send === undefined) fail('no IPC channel');
    process.send({ port, tcpPort: tcp } satisfies PortMessage);
  },
  (error: unknown) => fail(error instanceof Error ? error.message : String(error)),
);

function fail(message: string): never {
  process.stderr.write(`raw loopback child: ${message}\n`);
  process.exit(1);
}

process.on('message', (message: 'cpu' | 'stop') => {
  if (message === 'stop') {
    tcpServer.close();
    server.tryShutdown(() => process.exit(0));
    return;
  }
  const used = process.cpuUsage(streamCpuStart ?? undefined);
  const cpuSeconds = streamCpuStart === null ? 0 : (used.user + used.system) / 1e6;
  process.send?.({ cpuSeconds } satisfies StreamCpuMessage);
});
process.on('disconnect', () => process.exit(0));
