/**
 * The only place that turns an error into a gRPC status (STYLE.md §4). A BrokerError maps to
 * the status its code names in the error table, with the Kafka code (and a leader hint) in
 * trailing metadata; an InvalidArgumentError to INVALID_ARGUMENT; anything else is a bug or an
 * environment fault: INTERNAL, logged with its stack, and never leaked to the client.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { BrokerError, errorInfo, InvalidArgumentError } from '../errors/index.js';
import { requireDecoded } from './grpc/malformed.js';

export const TRAILER_ERROR_CODE = 'brook-error-code';
export const TRAILER_LEADER_ID = 'brook-leader-id';
export const TRAILER_LEADER_ADDRESS = 'brook-leader-address';

export function toServiceError(
  error: unknown,
  logger: Logger,
  call: string,
): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (error instanceof InvalidArgumentError) {
    metadata.set(TRAILER_ERROR_CODE, 'INVALID_REQUEST');
    return { code: grpc.status.INVALID_ARGUMENT, details: error.message, metadata };
  }
  if (error instanceof BrokerError) {
    metadata.set(TRAILER_ERROR_CODE, error.code);
    if (error.leader !== null) {
      metadata.set(TRAILER_LEADER_ID, String(error.leader.nodeId));
      metadata.set(TRAILER_LEADER_ADDRESS, error.leader.address);
    }
    return {
      code: errorInfo(error.code).status,
      details: `${error.message} (${error.code})`,
      metadata,
    };
  }
  logger.error({ err: error, call }, 'unexpected error while serving a call');
  metadata.set(TRAILER_ERROR_CODE, 'UNKNOWN_SERVER_ERROR');
  return {
    code: grpc.status.INTERNAL,
    details: 'internal error (UNKNOWN_SERVER_ERROR); the broker log has the details',
    metadata,
  };
}

/**
 * Wraps an async unary handler: its result or error reaches the callback exactly once, and a
 * handler's failure never escapes into grpc-js (which would turn it into UNKNOWN).
 */
export function unary<Req, Res>(
  name: string,
  logger: Logger,
  handler: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    // Through a promise, so that a handler throwing synchronously is answered like any other
    // failure instead of escaping into grpc-js (which would answer UNKNOWN).
    Promise.resolve(call.request)
      .then((request) => {
        requireDecoded(request);
        return handler(request, call);
      })
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback(toServiceError(error, logger, name)),
      );
  };
}
