/**
 * gRPC service implementations of brook.v1.Broker and brook.v1.Admin. Handlers stay thin:
 * each unwraps the call, hands it to its handler class and lets error-status.ts build the
 * status, so no handler can answer twice or leak an internal error.
 */
import type * as grpc from '@grpc/grpc-js';
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
import type { AdminHandler } from './admin.js';
import type { FetchHandler } from './fetch.js';
import { describeCluster, metadata } from './metadata.js';
import { listOffsets } from './offsets.js';
import type { ProduceHandler } from './produce.js';
import type { SubscribeHandler } from './subscribe.js';
import type { PartitionResolver } from '../partition-resolver.js';

export interface ServiceDeps {
  readonly logger: Logger;
  readonly clusterId: string;
  readonly metadata: MetadataService;
  readonly resolver: PartitionResolver;
  readonly produce: ProduceHandler;
  readonly fetch: FetchHandler;
  readonly subscribe: SubscribeHandler;
  readonly admin: AdminHandler;
}

export function brokerService(deps: ServiceDeps): BrokerHandlers {
  const { logger } = deps;
  return {
    Produce: unary('Produce', logger, (request, call) =>
      deps.produce.produce(request, deadlineOf(call)),
    ),
    ProduceStream: (call) => produceStream(call, deps),
    Fetch: unary('Fetch', logger, (request, call) => deps.fetch.fetch(request, cancelSignal(call))),
    Subscribe: (call) => {
      deps.subscribe.subscribe(call, cancelSignal(call)).then(
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
    CreateTopics: unary('CreateTopics', logger, (r) => admin.createTopics(r)),
    DeleteTopics: unary('DeleteTopics', logger, (r) => admin.deleteTopics(r)),
    CreatePartitions: unary('CreatePartitions', logger, (r) => admin.createPartitions(r)),
    DescribeConfigs: unary('DescribeConfigs', logger, (r) =>
      Promise.resolve(admin.describeConfigs(r)),
    ),
    AlterConfigs: unary('AlterConfigs', logger, (r) => admin.alterConfigs(r)),
    DeleteRecords: unary('DeleteRecords', logger, (r) => admin.deleteRecords(r)),
    DescribeCluster: unary('DescribeCluster', logger, () =>
      Promise.resolve(describeCluster(deps.metadata, deps.clusterId)),
    ),
  };
}

/**
 * Pipelined produce. Requests run concurrently (so they share group commits); at most
 * produceStreamInflightMax per stream, beyond which reading pauses until answers go out.
 * A bad request is answered with its status in the message and the stream stays open.
 */
function produceStream(
  call: grpc.ServerDuplexStream<ProduceStreamRequest__Output, ProduceStreamResponse>,
  deps: ServiceDeps,
): void {
  let inflight = 0;
  let ended = false;
  const maybeEnd = (): void => {
    if (ended && inflight === 0) call.end();
  };
  call.on('data', (message: ProduceStreamRequest__Output) => {
    inflight++;
    if (inflight >= limits.produceStreamInflightMax) call.pause();
    const requestId = message.requestId;
    const answer =
      message.request === null
        ? Promise.reject(Object.assign(new Error('request: is required')))
        : deps.produce.produce(message.request, deadlineOf(call));
    answer
      .then(
        (response) => call.write({ requestId, response, statusCode: 0, statusMessage: '' }),
        (error: unknown) => {
          const status =
            message.request === null
              ? { code: 3, details: 'request: is required' }
              : toServiceError(error, deps.logger, 'ProduceStream');
          call.write({
            requestId,
            statusCode: status.code ?? 2,
            statusMessage: status.details ?? '',
          });
        },
      )
      .finally(() => {
        inflight--;
        if (inflight < limits.produceStreamInflightMax) call.resume();
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

function deadlineOf(call: { getDeadline(): grpc.Deadline }): number | null {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? ms : null;
}

function cancelSignal(call: {
  on(event: 'cancelled', listener: () => void): unknown;
}): AbortSignal {
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort());
  return controller.signal;
}
