/**
 * Finds a group's coordinator (FindCoordinator, asked of any known broker) and runs Groups calls
 * against it. A call answered NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or
 * COORDINATOR_LOAD_IN_PROGRESS (in the response or as its status), or that cannot reach the
 * coordinator, forgets the cached coordinator and is retried within the retry policy: the
 * coordinator moves when its __consumer_offsets partition changes leader.
 */
import type * as grpc from '@grpc/grpc-js';
import type { BrokerError } from '../errors/index.js';
import type { FindCoordinatorResponse__Output, GroupsClient } from '../proto/index.js';
import {
  BrookClientError,
  brokerErrorOf,
  callUnary,
  isRetriable,
  type ConnectionPool,
  type UnaryCallback,
} from './connection.js';
import type { MetadataCache } from './metadata-cache.js';
import { withRetry, type RetryPolicy } from './retry.js';

/** Codes after which the coordinator must be looked up again. */
const REDISCOVER = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE']);

/** A response's group-level outcome, as every Groups response carries it. */
export interface CoordinatorAnswer {
  readonly errorCode: string | number;
  readonly errorMessage: string;
  readonly coordinator?: { readonly nodeId: number; readonly address: string } | null;
}

export interface CoordinatorRouterOptions {
  readonly pool: ConnectionPool;
  readonly metadata: MetadataCache;
  readonly requestTimeoutMs: number;
  readonly retry: RetryPolicy;
}

export class CoordinatorRouter {
  private readonly known = new Map<string, string>();

  constructor(private readonly options: CoordinatorRouterOptions) {}

  /** The coordinator address of `groupId`, from the cache or FindCoordinator. */
  async coordinatorOf(groupId: string, signal?: AbortSignal): Promise<string> {
    const cached = this.known.get(groupId);
    if (cached !== undefined) return cached;
    const found = await withRetry(() => this.find(groupId, signal), this.options.retry, {
      ...(signal === undefined ? {} : { signal }),
    });
    this.known.set(groupId, found);
    return found;
  }

  /** Drops the cached coordinator of `groupId` (after it stopped answering for the group). */
  forget(groupId: string): void {
    this.known.delete(groupId);
  }

  /**
   * One Groups call on the coordinator of `groupId`, retried through coordinator moves. The
   * response's own error (other than a coordinator move) is returned, not thrown: callers
   * branch on the protocol's codes (e.g. FENCED_MEMBER_EPOCH).
   */
  call<Response extends CoordinatorAnswer>(
    groupId: string,
    invoke: (
      client: GroupsClient,
      options: grpc.CallOptions,
      callback: UnaryCallback<Response>,
    ) => grpc.ClientUnaryCall,
    options: { readonly signal?: AbortSignal; readonly retry?: RetryPolicy } = {},
  ): Promise<Response> {
    const { signal } = options;
    return withRetry(
      async () => {
        const address = await this.coordinatorOf(groupId, signal);
        let response: Response;
        try {
          response = await callUnary<Response>(
            address,
            this.options.requestTimeoutMs,
            (callOptions, callback) =>
              invoke(this.options.pool.groups(address), callOptions, callback),
            signal,
          );
        } catch (error) {
          if (isRetriable(error)) this.forget(groupId);
          throw error;
        }
        const code = String(response.errorCode);
        if (REDISCOVER.has(code) || code === 'COORDINATOR_LOAD_IN_PROGRESS') {
          const hint = response.coordinator?.address ?? '';
          if (code === 'NOT_COORDINATOR' && hint !== '') this.known.set(groupId, hint);
          else if (REDISCOVER.has(code)) this.forget(groupId);
          throw brokerErrorOf(response.errorCode, response.errorMessage) as BrokerError;
        }
        return response;
      },
      options.retry ?? this.options.retry,
      signal === undefined ? {} : { signal },
    );
  }

  private async find(groupId: string, signal?: AbortSignal): Promise<string> {
    let lastError: unknown = null;
    for (const address of this.options.metadata.addresses()) {
      try {
        const response = await callUnary<FindCoordinatorResponse__Output>(
          address,
          this.options.requestTimeoutMs,
          (callOptions, callback) =>
            this.options.pool
              .groups(address)
              .findCoordinator({ groupIds: [groupId] }, callOptions, callback),
          signal,
        );
        const answer = response.coordinators[0];
        if (answer === undefined) {
          throw new BrookClientError(
            'INTERNAL',
            'FindCoordinator answered no coordinator',
            false,
            null,
            address,
          );
        }
        const error = brokerErrorOf(answer.errorCode, answer.errorMessage);
        if (error !== null) throw error;
        return answer.address;
      } catch (error) {
        lastError = error;
        if (!isRetriable(error)) throw error;
      }
    }
    throw lastError;
  }
}
