/**
 * Fixtures for the Raft I/O integration tests: loopback gRPC servers on port 0 (stopped by the
 * test that started them), the RaftPeer service as the broker builds it, pino loggers that
 * record their lines, temp dirs removed afterwards, and a polling `eventually`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { limits } from '../../../src/config/index.js';
import type { RaftPeerEndpoint } from '../../../src/raft/io/driver.js';
import { raftPeerService, type RaftPeerService } from '../../../src/server/grpc/raft-peer.js';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A pino logger at debug whose lines land in `lines` (parsed), and nowhere else. */
export function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString().split('\n')) {
        if (text.trim() !== '') lines.push(JSON.parse(text) as LogLine);
      }
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

export const WARN = 40;
export const ERROR = 50;

/** Starts a server with `services` on 127.0.0.1:`port` (0: any free port). */
export async function startServer(
  services: readonly {
    definition: grpc.ServiceDefinition;
    implementation: grpc.UntypedServiceImplementation;
  }[],
  port = 0,
): Promise<{ server: grpc.Server; port: number; address: string }> {
  // The broker's own message bounds: a peer batch may be up to limits.raftPeerBatchBytesMax.
  const server = new grpc.Server({
    'grpc.max_receive_message_length': limits.grpcMessageBytesMax,
    'grpc.max_send_message_length': limits.grpcMessageBytesMax,
  });
  for (const service of services) server.addService(service.definition, service.implementation);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) =>
      error === null ? resolve(p) : reject(error),
    );
  });
  return { server, port: bound, address: `127.0.0.1:${bound}` };
}

/** The RaftPeer service of `peer` (a node's, or a stand-in), built as the broker builds it. */
export function peerServiceOf(peer: RaftPeerEndpoint, logger: Logger): RaftPeerService {
  return raftPeerService(peer, logger);
}

/** Stops a server at once: open peer streams are long-lived and would hold tryShutdown. */
export function stopServer(server: grpc.Server): void {
  server.forceShutdown();
}

/** A free loopback port: bind a server on port 0 and stop it. */
export async function freePort(): Promise<number> {
  const { server, port } = await startServer([]);
  stopServer(server);
  return port;
}

export async function tempDir(dirs: string[], prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export async function removeDirs(dirs: string[]): Promise<void> {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
}

/** Polls `check` every `intervalMs` until it returns true; fails after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
