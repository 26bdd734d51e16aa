/**
 * The benchmark's RaftPeer client (peer.proto): Propose and RaftStatus with a deadline on every
 * call, one channel per address, and the leader hint a NOT_CONTROLLER answer carries. Raw
 * promises, no retries: the workloads decide what a failure means for their measurement.
 */
import * as grpc from '@grpc/grpc-js';
import { brookV1Peer } from '../src/proto/index.js';
import type {
  ProposeResponse__Output,
  RaftPeerClient,
  RaftStatusResponse__Output,
} from '../src/proto/index.js';

/** Largest message either way: a proposal of 10,000 entries of 4 KiB is 40 MB. */
const MESSAGE_BYTES_MAX = 64 * 1024 * 1024;

export class RaftClients {
  private readonly clients = new Map<string, RaftPeerClient>();

  /** Appends `entries` through the quorum at `address`; resolves once committed and applied. */
  propose(
    address: string,
    entries: readonly Buffer[],
    deadlineMs: number,
  ): Promise<ProposeResponse__Output> {
    return new Promise((resolve, reject) => {
      this.client(address).propose(
        { entries: entries as Buffer[] },
        { deadline: Date.now() + deadlineMs },
        (error, response) => {
          if (error !== null || response === undefined) reject(error ?? new Error('no answer'));
          else resolve(response);
        },
      );
    });
  }

  status(address: string, deadlineMs: number): Promise<RaftStatusResponse__Output> {
    return new Promise((resolve, reject) => {
      this.client(address).raftStatus(
        {},
        { deadline: Date.now() + deadlineMs },
        (error, response) => {
          if (error !== null || response === undefined) reject(error ?? new Error('no answer'));
          else resolve(response);
        },
      );
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client(address: string): RaftPeerClient {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new (brookV1Peer().RaftPeer)(address, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': MESSAGE_BYTES_MAX,
        'grpc.max_send_message_length': MESSAGE_BYTES_MAX,
      });
      this.clients.set(address, client);
    }
    return client;
  }
}

/** The node id in a NOT_CONTROLLER answer's brook-leader-id trailer; -1 when absent. */
export function leaderHintOf(error: unknown): number {
  const metadata = (error as Partial<grpc.ServiceError> | null)?.metadata;
  const value = metadata?.get('brook-leader-id')[0];
  return value === undefined ? -1 : Number(value);
}

/** The brook-error-code trailer of a failed call, or the gRPC status name. */
export function errorCodeOf(error: unknown): string {
  const e = error as Partial<grpc.ServiceError> | null;
  const code = e?.metadata?.get('brook-error-code')[0];
  if (code !== undefined) return String(code);
  return e?.code === undefined ? 'UNKNOWN' : (grpc.status[e.code] ?? String(e.code));
}
