/**
 * gRPC service implementations of brook.v1.Broker and brook.v1.Admin. Handlers stay thin:
 * each unwraps the call, hands it to its handler class and lets error-status.ts build the
 * status, so no handler can answer twice or leak an internal error.
 */
import * as grpc from '@grpc/grpc-js';
import { BrokerError, InvalidArgumentError } from '../../errors/index.js';
import type { Logger } from 'pino';
import { limits } from '../../config/index.js';
import type { MetadataService } from '../../metadata/index.js';

import type {
  AdminHandlers,
  BrokerHandlers,
  ProduceStreamRequest__Output,
  ProduceStreamResponse,
} from '../../proto/index.js';
import { toServiceError, unary } from '../error-status.js';
import { HEADER_FORWARDED } from '../peer-clients.js';
import { requireDecoded } from './malformed.js';
import type { AdminHandler } from './admin.js';
import type { FetchHandler } from './fetch.js';
import { describeCluster, metadata } from './metadata.js';
import { listOffsets } from './offsets.js';
import type { ProduceHandler } from './produce.js';
import type { SubscribeHandler } from './subscribe.js';
import type { PartitionResolver } from '../partition-resolver.js';
import type { QuorumSource } from './quorum.js';
import { alterPartitionReassignments, listPartitionReassignments } from './reassignments.js';
import { unregisterBroker } from './unregister-broker.js';

export interface ServiceDeps {
  readonly logger: Logger;
  readonly clusterId: string;
  readonly metadata: MetadataService;
  /** Whether this node is the active controller, for forwarded admin calls. */
  readonly gateway: { isActiveController(): boolean };
  readonly resolver: PartitionResolver;
  readonly produce: ProduceHandler;
  readonly fetch: FetchHandler;
  readonly subscribe: SubscribeHandler;
  readonly admin: AdminHandler;
  /** The node's Raft module, for DescribeCluster's quorum section. */
  readonly quorum: QuorumSource;
  /** Aborted when the node starts a controlled shutdown: streams and long polls end. */
  readonly shutdown: AbortSignal;
}

export function brokerService(deps: ServiceDeps): BrokerHandlers {
  const { logger } = deps;
  return {
    Produce: unary('Produce', logger, (request, call) =>
      deps.produce.produce(request, deadlineOf(call)),
    ),
    ProduceStream: (call) => produceStream(call, deps),
    Fetch: unary('Fetch', logger, (request, call) =>
      withCancelSignal(call, deps.shutdown, (signal) => deps.fetch.fetch(request, signal)),
    ),
    Subscribe: (call) => {
      Promise.resolve()
        .then(() => {
          requireDecoded(call.request);
          return withCancelSignal(call, deps.shutdown, (signal) =>
            deps.subscribe.subscribe(call, signal),
          );
        })
        .then(
          () => call.end(),
          // grpc-js turns an 'error' event on a server stream into the call's final status.
          (error: unknown) => call.emit('error', toServiceError(error, logger, 'Subscribe')),
        );
    },
    ListOffsets: unary('ListOffsets', logger, (request) => listOffsets(deps.resolver, request)),
    Metadata: unary('Metadata', logger, (request) =>
      Promise.resolve(metadata(deps.metadata, deps.clusterId, request)),
    ),
  };
}

export function adminService(deps: ServiceDeps): AdminHandlers {
  const { logger, admin } = deps;
  return {
    CreateTopics: unary('CreateTopics', logger, (r, call) => {
      refuseSecondHop(call, deps);
      return admin.createTopics(r);
    }),
    DeleteTopics: unary('DeleteTopics', logger, (r, call) => {
      refuseSecondHop(call, deps);
      return admin.deleteTopics(r);
    }),
    CreatePartitions: unary('CreatePartitions', logger, (r, call) => {
      refuseSecondHop(call, deps);
      return admin.createPartitions(r);
    }),
    DescribeConfigs: unary('DescribeConfigs', logger, (r) =>
      Promise.resolve(admin.describeConfigs(r)),
    ),
    AlterConfigs: unary('AlterConfigs', logger, (r, call) => {
      refuseSecondHop(call, deps);
      return admin.alterConfigs(r);
    }),
    DeleteRecords: unary('DeleteRecords', logger, (r, call) =>
      admin.deleteRecords(r, call.metadata.get(HEADER_FORWARDED).length > 0),
    ),
    DescribeCluster: unary('DescribeCluster', logger, () =>
      Promise.resolve(describeCluster(deps.metadata, deps.clusterId, deps.quorum)),
    ),
    AlterPartitionReassignments: unary('AlterPartitionReassignments', logger, (r, call) => {
      refuseSecondHop(call, deps);
      return alterPartitionReassignments(deps.metadata, r);
    }),
    ListPartitionReassignments: unary('ListPartitionReassignments', logger, (r) =>
      Promise.resolve(listPartitionReassignments(deps.metadata, r)),
    ),
    UnregisterBroker: unary('UnregisterBroker', logger, (r, call) => {
      refuseSecondHop(call, deps);
      return unregisterBroker(deps.metadata, deps.quorum, r);
    }),
  };
}

/**
 * Pipelined produce. Requests are prepared concurrently but appended in arrival order, so a
 * producer may keep several requests for one partition in flight without reordering them. At
 * most produceStreamInflightMax run per stream, beyond which reading pauses until answers go
 * out. A bad request is answered with its status in the message and the stream stays open. On
 * shutdown the stream stops reading, answers what is in flight, and ends.
 */
function produceStream(
  call: grpc.ServerDuplexStream<ProduceStreamRequest__Output, ProduceStreamResponse>,
  deps: ServiceDeps,
): void {
  let inflight = 0;
  let ended = false;
  let appendTurn: Promise<unknown> = Promise.resolve();
  const maybeEnd = (): void => {
    if (ended && inflight === 0) call.end();
  };
  const onShutdown = (): void => {
    call.pause();
    ended = true;
    maybeEnd();
  };
  deps.shutdown.addEventListener('abort', onShutdown, { once: true });
  call.on('close', () => deps.shutdown.removeEventListener('abort', onShutdown));
  call.on('data', (message: ProduceStreamRequest__Output) => {
    if (ended) return;
    inflight++;
    if (inflight >= limits.produceStreamInflightMax) call.pause();
    const requestId = message.requestId;
    const prepared = Promise.resolve().then(() => {
      requireDecoded(message);
      if (message.request === null) throw new InvalidArgumentError('request', 'is required');
      return deps.produce.prepare(message.request, deadlineOf(call));
    });
    const committed = appendTurn.then(() => prepared).then((p) => ({ answer: p.commit() }));
    appendTurn = committed.catch(() => undefined);
    committed
      .then((c) => c.answer)
      .then(
        (response) =>
          call.write({ requestId, response, statusCode: 0, statusMessage: '', errorCode: 'NONE' }),
        (error: unknown) => {
          const status = toServiceError(error, deps.logger, 'ProduceStream');
          const errorCode =
            error instanceof BrokerError
              ? error.code
              : error instanceof InvalidArgumentError
                ? 'INVALID_REQUEST'
                : 'UNKNOWN_SERVER_ERROR';
          call.write({
            requestId,
            statusCode: status.code ?? grpc.status.UNKNOWN,
            statusMessage: status.details ?? '',
            errorCode,
          });
        },
      )
      .finally(() => {
        inflight--;
        if (inflight < limits.produceStreamInflightMax && !ended) call.resume();
        maybeEnd();
      })
      .catch(() => undefined);
  });
  call.on('end', () => {
    ended = true;
    maybeEnd();
  });
  call.on('error', (error) =>
    deps.logger.debug({ err: error }, 'ProduceStream closed by the client'),
  );
}

/**
 * A call another node forwarded here because it took this node for the controller: if that is
 * no longer so, answer NOT_CONTROLLER (the forwarding node retries) rather than forward again,
 * so a call never bounces between nodes that disagree about the controller.
 */
function refuseSecondHop(call: { metadata: grpc.Metadata }, deps: ServiceDeps): void {
  if (call.metadata.get(HEADER_FORWARDED).length === 0) return;
  if (deps.gateway.isActiveController()) return;
  throw new BrokerError(
    'NOT_CONTROLLER',
    'this node is no longer the active controller; the forwarding node retries',
  );
}

function deadlineOf(call: { getDeadline(): grpc.Deadline }): number | null {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? ms : null;
}

/**
 * Runs `work` with a signal that aborts when the client cancels the call or the node shuts
 * down. The link to the node's shutdown signal is a listener removed when the work ends: not
 * AbortSignal.any, which in Node 20 keeps every call's signal alive on the long-lived one.
 */
async function withCancelSignal<T>(
  call: { on(event: 'cancelled', listener: () => void): unknown },
  shutdown: AbortSignal,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  call.on('cancelled', abort);
  if (shutdown.aborted) controller.abort();
  else shutdown.addEventListener('abort', abort, { once: true });
  try {
    return await work(controller.signal);
  } finally {
    shutdown.removeEventListener('abort', abort);
  }
}
