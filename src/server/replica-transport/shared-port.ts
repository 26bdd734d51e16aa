/**
 * The node's one port, shared by gRPC and the framed fetch transport. Each connection is routed
 * by its first bytes: MAGIC goes to the framed fetch handler, anything else (HTTP/2's preface
 * starts with 'P') to the gRPC server, through grpc-js's connection injector, with the bytes
 * already read put back. So followers get a copy-free path without a second port to configure,
 * expose and open in every manifest.
 */
import { EventEmitter } from 'node:events';
import { lookup } from 'node:dns/promises';
import type { Http2Server } from 'node:http2';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { MAGIC } from './frames.js';

export type FetchConnectionHandler = (socket: Socket, buffered: Buffer) => void;

export interface SharedPort {
  /** The bound port (the chosen one when asked for port 0). */
  readonly port: number;
  /**
   * Where framed fetch connections go; until set (the node is still starting), they are closed
   * and the follower retries.
   */
  onFetchConnection: FetchConnectionHandler | null;
  /** Stops accepting connections; those open are left to their owners' shutdown. */
  stopListening(): void;
  /** Destroys the framed connections still open (gRPC's are the gRPC server's). */
  destroyFetchConnections(): void;
}

export async function listenSharedPort(
  grpcServer: grpc.Server,
  host: string,
  port: number,
  logger: Logger,
): Promise<SharedPort> {
  const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  widenReceiveWindow(grpcServer, logger);
  const fetchSockets = new Set<Socket>();
  const servers: Server[] = [];
  const shared: { -readonly [K in keyof SharedPort]: SharedPort[K] } = {
    port,
    onFetchConnection: null,
    stopListening: () => {
      for (const server of servers) server.close();
    },
    destroyFetchConnections: () => {
      for (const socket of fetchSockets) {
        socket.destroy();
      }
    },
  };
  const route = (socket: Socket): void => {
    // Until a protocol owns the socket, an error (a reset) just closes it.
    const onError = (): void => {
      socket.destroy();
    };
    socket.on('error', onError);
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const isFramedSoFar = head
        .subarray(0, MAGIC.length)
        .equals(MAGIC.subarray(0, Math.min(head.length, MAGIC.length)));
      if (isFramedSoFar && head.length < MAGIC.length) return;
      socket.off('data', onData);
      socket.pause();
      socket.off('error', onError);
      if (isFramedSoFar) {
        const handler = shared.onFetchConnection;
        if (handler === null) {
          socket.destroy();
          return;
        }
        fetchSockets.add(socket);
        socket.once('close', () => fetchSockets.delete(socket));
        handler(socket, head.subarray(MAGIC.length));
      } else {
        socket.unshift(head);
        injector.injectConnection(socket);
      }
    };
    socket.on('data', onData);
  };
  // Like grpc-js's own bind: a host name listens on every address it resolves to (localhost:
  // 127.0.0.1 and ::1), all on the port the first one got.
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const addresses =
    isIP(bare) !== 0 ? [bare] : (await lookup(bare, { all: true })).map((a) => a.address);
  for (const address of addresses) {
    const server = createServer({ noDelay: true }, route);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => {
        for (const bound of servers) bound.close();
        reject(error);
      });
      server.listen({ host: address, port: shared.port }, () => {
        server.removeAllListeners('error');
        resolve();
      });
    });
    server.on('error', (error) => logger.warn({ err: error }, 'accepting a connection failed'));
    const bound = server.address();
    if (typeof bound === 'object' && bound !== null) shared.port = bound.port;
    servers.push(server);
  }
  return shared;
}

/** HTTP/2 receive window of the server's sessions, as the SDK's and the peers' channels have. */
export const RECEIVE_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * grpc-js's server keeps Node's 64 KiB HTTP/2 receive window and has no option for it, so a
 * client's 4 MiB produce request crossed in 64 window updates: a 16 MiB window took a single
 * node from 61-62 MB/s to 76-78 MB/s in the same hour (docs/benchmarks.md). The injector's
 * HTTP/2 server is the newest entry of grpc-js's internal `http2Servers`; should a grpc-js
 * release move it, the defaults stay and the node says so (and a test fails).
 */
function widenReceiveWindow(grpcServer: grpc.Server, logger: Logger): void {
  const servers = (grpcServer as unknown as { http2Servers?: unknown }).http2Servers;
  const http2Server = servers instanceof Map ? ([...servers.keys()].at(-1) as unknown) : null;
  if (!(http2Server instanceof EventEmitter) || !('updateSettings' in http2Server)) {
    logger.warn(
      {},
      "cannot reach grpc-js's HTTP/2 server to widen its receive window; produce requests cross in 64 KiB windows",
    );
    return;
  }
  const server = http2Server as Http2Server;
  server.updateSettings({ initialWindowSize: RECEIVE_WINDOW_BYTES });
  server.on('session', (session) => session.setLocalWindowSize(RECEIVE_WINDOW_BYTES));
}
