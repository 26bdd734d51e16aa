/**
 * gRPC clients this node uses to call other nodes: the controller (BrokerLifecycle), partition
 * leaders (ReplicaFetch) and, for forwarded admin calls, the controller's Admin service. One
 * channel per address, reused by every call; closed with the node.
 *
 * Calls fail with a BrokerError carrying the Kafka code from the answer's trailers (or
 * NETWORK_EXCEPTION-like UNAVAILABLE errors as plain Errors), so callers branch on codes.
 */
import * as grpc from '@grpc/grpc-js';
import { limits, parseAddress } from '../config/index.js';
import { BrokerError, type ErrorCode } from '../errors/index.js';
import {
  brookV1,
  brookV1Peer,
  type DeleteRecordsRequest,
  type DeleteRecordsResponse__Output,
  type FetchRequest,
  type FetchResponse__Output,
  type ProduceRequest,
  type ProduceResponse__Output,
  type ReplicaFetchRequest,
  type ReplicaFetchResponse__Output,
} from '../proto/index.js';
import { FetchStreamLink } from './replica-transport/fetch-stream-link.js';
import { FramedFetchLink, FramedFetchUnsupportedError } from './replica-transport/fetch-link.js';
import type { ReplicaFetchClient } from '../replication/index.js';
import { TRAILER_ERROR_CODE, TRAILER_LEADER_ADDRESS, TRAILER_LEADER_ID } from './error-status.js';

type AnyClient = grpc.Client & Record<string, unknown>;
type PeerService = 'BrokerLifecycle' | 'ReplicaFetch' | 'Admin' | 'Broker';

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': limits.grpcMessageBytesMax,
  'grpc.max_send_message_length': limits.grpcMessageBytesMax,
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.use_local_subchannel_pool': 1,
  // HTTP/2 receive window: with grpc-js's 64 KiB default a leader sends 64 KiB of a follower's
  // fetch answer (up to replica.fetch.max.bytes, 1 MiB) per window update round trip.
  'grpc-node.flow_control_window': 16 * 1024 * 1024,
};

/** How long a follower fetches over gRPC from a leader that did not speak the framed transport. */
const GRPC_FETCH_FALLBACK_MS = 60_000;

/** Marks a call one node forwarded to another, so the receiver never forwards it again. */
export const HEADER_FORWARDED = 'brook-forwarded';

export class PeerClients implements ReplicaFetchClient {
  private readonly clients = new Map<string, AnyClient>();
  private readonly fetchLinks = new Map<string, FramedFetchLink>();
  /** Leaders that do not speak the framed transport, and until when to use FetchStream. */
  private readonly grpcFetchUntil = new Map<string, number>();
  private readonly grpcFetchLinks = new Map<string, FetchStreamLink>();

  /** Calls `method` of `service` at `address`; rejects with a BrokerError when coded. */
  call<Res>(
    service: PeerService,
    address: string,
    method: string,
    request: object,
    options: { deadlineMs: number; signal?: AbortSignal; forwarded?: boolean },
  ): Promise<Res> {
    const client = this.client(service, address);
    const fn = client[method] as (
      request: object,
      metadata: grpc.Metadata,
      callOptions: grpc.CallOptions,
      callback: (error: grpc.ServiceError | null, response: Res) => void,
    ) => grpc.ClientUnaryCall;
    const metadata = new grpc.Metadata();
    if (options.forwarded === true) metadata.set(HEADER_FORWARDED, '1');
    return new Promise((resolve, reject) => {
      const call = fn.call(
        client,
        request,
        metadata,
        { deadline: Date.now() + options.deadlineMs },
        (error, response) => {
          options.signal?.removeEventListener('abort', cancel);
          if (error === null) resolve(response);
          else reject(brokerErrorOf(error));
        },
      );
      const cancel = (): void => call.cancel();
      if (options.signal?.aborted === true) call.cancel();
      else options.signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  /** A follower's fetch, over the framed fetch connection to the leader at `address`. */
  fetch(
    address: string,
    request: Parameters<ReplicaFetchClient['fetch']>[1],
    signal: AbortSignal,
  ): ReturnType<ReplicaFetchClient['fetch']> {
    const timeoutMs = (request.maxWaitMs ?? 0) + limits.peerCallTimeoutMs;
    const grpcUntil = this.grpcFetchUntil.get(address);
    if (grpcUntil !== undefined && Date.now() < grpcUntil) {
      return this.grpcFetchLink(address).fetch(request, timeoutMs, signal);
    }
    let link = this.fetchLinks.get(address);
    if (link === undefined) {
      const parsed = parseAddress(address);
      if (parsed === null) return Promise.reject(new Error(`bad leader address "${address}"`));
      link = new FramedFetchLink(parsed.host.replace(/^\[(.*)\]$/, '$1'), parsed.port);
      this.fetchLinks.set(address, link);
    }
    return link.fetch(request, timeoutMs, signal).catch((error: unknown) => {
      // A leader of an older release answers the framed hello as gRPC: fetch over its
      // FetchStream for a while, so a rolling upgrade does not stall replication.
      if (error instanceof FramedFetchUnsupportedError) {
        this.grpcFetchUntil.set(address, Date.now() + GRPC_FETCH_FALLBACK_MS);
      }
      throw error;
    });
  }

  private grpcFetchLink(address: string): FetchStreamLink {
    let link = this.grpcFetchLinks.get(address);
    if (link === undefined) {
      const client = this.client('ReplicaFetch', address) as unknown as {
        FetchStream(): grpc.ClientDuplexStream<ReplicaFetchRequest, ReplicaFetchResponse__Output>;
      };
      link = new FetchStreamLink(() => client.FetchStream());
      this.grpcFetchLinks.set(address, link);
    }
    return link;
  }

  offsetsForLeaderEpoch(
    address: string,
    request: Parameters<ReplicaFetchClient['offsetsForLeaderEpoch']>[1],
    signal: AbortSignal,
  ): ReturnType<ReplicaFetchClient['offsetsForLeaderEpoch']> {
    return this.call('ReplicaFetch', address, 'OffsetsForLeaderEpoch', request, {
      deadlineMs: limits.peerCallTimeoutMs,
      signal,
    });
  }

  /** A produce share forwarded to its partition leader (see grpc/produce.ts). */
  forwardProduce(
    address: string,
    request: ProduceRequest,
    timeoutMs: number,
  ): Promise<ProduceResponse__Output> {
    return this.call('Broker', address, 'Produce', request, {
      deadlineMs: timeoutMs + limits.peerCallTimeoutMs,
    });
  }

  /** A fetch share forwarded to its partition leader (see grpc/fetch.ts). */
  forwardFetch(
    address: string,
    request: FetchRequest,
    signal: AbortSignal,
  ): Promise<FetchResponse__Output> {
    return this.call('Broker', address, 'Fetch', request, {
      deadlineMs: (request.maxWaitMs ?? 0) + limits.peerCallTimeoutMs,
      signal,
    });
  }

  /** A DeleteRecords share forwarded to its partition leader (see grpc/admin.ts). */
  forwardDeleteRecords(
    address: string,
    request: DeleteRecordsRequest,
  ): Promise<DeleteRecordsResponse__Output> {
    // The leader waits up to timeout_ms for its in-sync replicas before it answers.
    return this.call('Admin', address, 'DeleteRecords', request, {
      deadlineMs: (request.timeoutMs ?? 0) + limits.peerCallTimeoutMs,
      forwarded: true,
    });
  }

  close(): void {
    for (const link of [...this.fetchLinks.values(), ...this.grpcFetchLinks.values()]) link.close();
    this.fetchLinks.clear();
    this.grpcFetchLinks.clear();
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client(service: PeerService, address: string): AnyClient {
    const id = `${service}@${address}`;
    let client = this.clients.get(id);
    if (client === undefined) {
      const Ctor = (service === 'Admin' || service === 'Broker'
        ? brookV1()[service]
        : brookV1Peer()[service]) as unknown as grpc.ServiceClientConstructor;
      client = new Ctor(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as AnyClient;
      this.clients.set(id, client);
    }
    return client;
  }
}

/** The Kafka code and leader hint a Brook node put in the trailers, as a BrokerError. */
function brokerErrorOf(error: grpc.ServiceError): Error {
  const code = error.metadata?.get(TRAILER_ERROR_CODE)[0];
  if (typeof code !== 'string' || code === '') return error;
  const leaderId = Number(error.metadata.get(TRAILER_LEADER_ID)[0] ?? -1);
  const address = error.metadata.get(TRAILER_LEADER_ADDRESS)[0];
  const hint = typeof address === 'string' && leaderId >= 0 ? { nodeId: leaderId, address } : null;
  return new BrokerError(code as ErrorCode, error.details, hint);
}
