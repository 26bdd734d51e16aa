/**
 * Connections to brokers: one gRPC channel per address, shared by the Broker and Admin service
 * clients, and the one place where a failed call becomes an error the SDK can reason about.
 *
 * Every call carries an explicit deadline (STYLE.md §8): a library default can change under us,
 * and a call without a deadline can hang a producer forever on a half-open connection.
 */
import * as grpc from '@grpc/grpc-js';
import {
  BrokerError,
  ERRORS,
  ERROR_CODES,
  GrpcStatus,
  isErrorCode,
  type ErrorCode,
  type LeaderHint,
} from '../errors/index.js';
import { brookV1, type AdminClient, type BrokerClient, type GroupsClient } from '../proto/index.js';

const MiB = 1024 * 1024;

/**
 * Largest gRPC message the SDK sends or accepts. A full fetch response is 50 MiB by default, far
 * above grpc-js's 4 MiB receive default, so the limit must be raised explicitly. It matches the
 * broker's own limit (64 MiB); the SDK does not import the broker's config module.
 */
export const GRPC_MESSAGE_BYTES_MAX = 64 * MiB;

/** Name of a gRPC status code, e.g. 'UNAVAILABLE'. */
export type GrpcStatusName = keyof typeof GrpcStatus;

const STATUS_NAMES = new Map<number, GrpcStatusName>(
  (Object.keys(GrpcStatus) as GrpcStatusName[]).map((name) => [GrpcStatus[name], name]),
);

/**
 * Statuses worth retrying when no Kafka code explains the failure: the broker could not be
 * reached, the call ran out of time, or the server asked us to try again. Everything else (a
 * malformed request, an internal error) would fail the same way a second time.
 */
const RETRIABLE_STATUSES: ReadonlySet<number> = new Set([
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.ABORTED,
]);

/**
 * The Kafka code a status stands for when no trailer names one: only statuses that the error
 * table maps from exactly one code (NOT_FOUND is UNKNOWN_TOPIC_OR_PARTITION, ALREADY_EXISTS is
 * TOPIC_ALREADY_EXISTS, ...). Derived from the table, so it cannot drift from it.
 */
const CODE_BY_STATUS: ReadonlyMap<number, ErrorCode> = deriveCodeByStatus();

function deriveCodeByStatus(): Map<number, ErrorCode> {
  const seen = new Map<number, ErrorCode[]>();
  for (const code of ERROR_CODES) {
    if (code === 'NONE') continue;
    const status = ERRORS[code].status;
    const codes = seen.get(status) ?? [];
    codes.push(code);
    seen.set(status, codes);
  }
  const unique = new Map<number, ErrorCode>();
  for (const [status, codes] of seen) {
    // UNAVAILABLE and INVALID_ARGUMENT stand for many codes, so a status alone says too little.
    if (codes.length === 1 && codes[0] !== undefined) unique.set(status, codes[0]);
  }
  return unique;
}

/**
 * A call that failed for a reason without a Kafka code: the broker is unreachable, the request
 * was malformed (INVALID_ARGUMENT, with `field` naming the offending field path), the call was
 * cancelled, or the server failed in a way it did not classify. `code` is the gRPC status name;
 * `retriable` says whether the same call may succeed if sent again.
 */
export class BrookClientError extends Error {
  override readonly name = 'BrookClientError';

  constructor(
    readonly code: GrpcStatusName,
    message: string,
    readonly retriable: boolean,
    /** For INVALID_ARGUMENT: the field path the server named (`records[3].key`), else null. */
    readonly field: string | null = null,
    /** The broker address the call went to, when there was one. */
    readonly address: string | null = null,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Every error the SDK raises for an operating condition. Bugs are plain Errors or asserts. */
export type ClientError = BrokerError | BrookClientError;

/** True when `error` may go away if the same request is sent again (after a backoff). */
export function isRetriable(error: unknown): boolean {
  if (error instanceof BrokerError || error instanceof BrookClientError) return error.retriable;
  return false;
}

/** The subset of a grpc-js ServiceError (or a stream status) that the mapping reads. */
export interface StatusLike {
  readonly code: number;
  readonly details: string;
  readonly metadata?: grpc.Metadata | undefined;
}

/**
 * Turns a failed call's status into a ClientError. A Kafka code in the `brook-error-code`
 * trailer wins (with the leader hint from `brook-leader-id`/`brook-leader-address`), except
 * INVALID_REQUEST, which like every other INVALID_ARGUMENT becomes a BrookClientError with the
 * `field` the message names; otherwise a status that stands for exactly one Kafka code becomes
 * that code; anything else becomes a BrookClientError named after the status.
 */
export function errorFromStatus(status: StatusLike, address: string | null = null): ClientError {
  const details = status.details || statusName(status.code);
  const trailer = firstString(status.metadata, 'brook-error-code');
  // A malformed request (INVALID_REQUEST) is reported like any INVALID_ARGUMENT: what the caller
  // needs is the field path, not a Kafka code. Specific codes (RECORD_TOO_LARGE, ...) stay.
  const malformed = status.code === GrpcStatus.INVALID_ARGUMENT && trailer === 'INVALID_REQUEST';
  if (trailer !== null && isErrorCode(trailer) && trailer !== 'NONE' && !malformed) {
    return new BrokerError(trailer, details, leaderFromMetadata(status.metadata));
  }
  const code = CODE_BY_STATUS.get(status.code);
  if (code !== undefined && status.code !== GrpcStatus.DEADLINE_EXCEEDED) {
    return new BrokerError(code, details);
  }
  const name = statusName(status.code);
  if (status.code === GrpcStatus.INVALID_ARGUMENT) {
    return new BrookClientError(name, details, false, fieldOf(details), address);
  }
  return new BrookClientError(name, details, RETRIABLE_STATUSES.has(status.code), null, address);
}

/** Status name for a numeric gRPC code; unknown numbers are reported as UNKNOWN. */
export function statusName(code: number): GrpcStatusName {
  return STATUS_NAMES.get(code) ?? 'UNKNOWN';
}

/** The field path an INVALID_ARGUMENT message starts with (`records[3].key: ...`), or null. */
export function fieldOf(message: string): string | null {
  const match = /^([A-Za-z_]\w*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*): /.exec(message);
  return match?.[1] ?? null;
}

function leaderFromMetadata(metadata: grpc.Metadata | undefined): LeaderHint | null {
  const id = firstString(metadata, 'brook-leader-id');
  const address = firstString(metadata, 'brook-leader-address');
  if (id === null || address === null) return null;
  const nodeId = Number(id);
  if (!Number.isInteger(nodeId) || address === '') return null;
  return { nodeId, address };
}

function firstString(metadata: grpc.Metadata | undefined, key: string): string | null {
  const values = metadata?.get(key) ?? [];
  const value = values[0];
  if (value === undefined) return null;
  return typeof value === 'string' ? value : value.toString('utf8');
}

/**
 * Splits a bootstrap list into addresses: an array, or one string with commas. Each must be
 * `host:port` (`[v6]:port` for IPv6) with a port in 1..65535.
 */
export function parseBootstrap(bootstrap: string | readonly string[]): string[] {
  const parts = typeof bootstrap === 'string' ? bootstrap.split(',') : [...bootstrap];
  const addresses: string[] = [];
  for (const part of parts) {
    const address = part.trim();
    if (address === '') continue;
    checkAddress(address);
    if (!addresses.includes(address)) addresses.push(address);
  }
  if (addresses.length === 0) {
    throw new BrookClientError(
      'INVALID_ARGUMENT',
      'bootstrap: no broker address given',
      false,
      'bootstrap',
    );
  }
  return addresses;
}

function checkAddress(address: string): void {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(address);
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new BrookClientError(
      'INVALID_ARGUMENT',
      `bootstrap: "${address}" is not host:port`,
      false,
      'bootstrap',
    );
  }
}

/** Options every channel is created with, passed explicitly rather than trusting defaults. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': GRPC_MESSAGE_BYTES_MAX,
  'grpc.max_send_message_length': GRPC_MESSAGE_BYTES_MAX,
  // grpc-js backs off up to 120 s between reconnects by default; a restarted broker would then
  // stay unreachable long after it is back. Our own retry loop paces the attempts instead.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  // HTTP/2 receive window. grpc-js's 64 KiB default lets a broker send only 64 KiB of a
  // prefetched fetch answer before this client reads it; 16 MiB lets a whole 8 MiB partition
  // fetch arrive while the previous one is being decoded (measured: ~100 → ~140 MB/s).
  'grpc-node.flow_control_window': 16 * 1024 * 1024,
};

interface Connection {
  readonly broker: BrokerClient;
  readonly admin: AdminClient;
  readonly groups: GroupsClient;
}

/**
 * One channel per broker address, created on first use and kept until close(). The Broker and
 * Admin clients of an address share its channel. Not safe to use after close().
 */
export class ConnectionPool {
  private readonly connections = new Map<string, Connection>();
  private closed = false;

  /** The data-plane client of `address`. */
  broker(address: string): BrokerClient {
    return this.connection(address).broker;
  }

  /** The admin client of `address`. */
  admin(address: string): AdminClient {
    return this.connection(address).admin;
  }

  /** The consumer-group client of `address`. */
  groups(address: string): GroupsClient {
    return this.connection(address).groups;
  }

  /** Closes every channel; calls still in flight fail with CANCELLED or UNAVAILABLE. */
  close(): void {
    this.closed = true;
    for (const connection of this.connections.values()) {
      connection.groups.close();
      connection.admin.close();
      connection.broker.close();
    }
    this.connections.clear();
  }

  private connection(address: string): Connection {
    if (this.closed) {
      throw new BrookClientError('CANCELLED', 'the client is closed', false, null, address);
    }
    let connection = this.connections.get(address);
    if (connection === undefined) {
      const services = brookV1();
      const credentials = grpc.credentials.createInsecure();
      const broker = new services.Broker(address, credentials, CHANNEL_OPTIONS);
      const admin = new services.Admin(address, credentials, {
        ...CHANNEL_OPTIONS,
        channelOverride: broker.getChannel(),
      });
      const groups = new services.Groups(address, credentials, {
        ...CHANNEL_OPTIONS,
        channelOverride: broker.getChannel(),
      });
      connection = { broker, admin, groups };
      this.connections.set(address, connection);
    }
    return connection;
  }
}

/** Callback shape of a grpc-js unary method. */
export type UnaryCallback<Response> = (
  error: grpc.ServiceError | null,
  response?: Response,
) => void;

/**
 * Runs one unary call with a deadline `timeoutMs` from now and maps its failure with
 * errorFromStatus. `invoke` starts the call with the given options and callback. An aborted
 * `signal` cancels the call (it then fails with CANCELLED, not retriable).
 */
export function callUnary<Response>(
  address: string,
  timeoutMs: number,
  invoke: (options: grpc.CallOptions, callback: UnaryCallback<Response>) => grpc.ClientUnaryCall,
  signal?: AbortSignal,
): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new BrookClientError('CANCELLED', 'the call was cancelled', false, null, address));
      return;
    }
    const onAbort = (): void => call.cancel();
    const call = invoke({ deadline: Date.now() + timeoutMs }, (error, response) => {
      signal?.removeEventListener('abort', onAbort);
      if (error !== null) {
        reject(errorFromStatus(error, address));
      } else if (response === undefined) {
        reject(new BrookClientError('INTERNAL', 'empty response', false, null, address));
      } else {
        resolve(response);
      }
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The BrokerError for a per-item outcome in a response body, or null for NONE. A code this SDK
 * does not know (a newer broker) becomes UNKNOWN_SERVER_ERROR with the number in the message.
 */
export function brokerErrorOf(
  code: string | number,
  message: string,
  leader: { readonly nodeId: number; readonly address: string } | null = null,
): BrokerError | null {
  if (code === 'NONE' || code === 0) return null;
  if (typeof code === 'string' && isErrorCode(code)) {
    const hint = leader !== null && leader.address !== '' ? leader : null;
    return new BrokerError(code, message || ERRORS[code].message, hint);
  }
  return new BrokerError('UNKNOWN_SERVER_ERROR', `error code ${code}: ${message}`);
}
