import { errorInfo, type ErrorCode } from './codes.js';

/** Where a partition's leader (or, with NOT_CONTROLLER, the active controller) lives. */
export interface LeaderHint {
  readonly nodeId: number;
  readonly address: string;
}

/**
 * An expected operating error: a bad request, a missing topic, a timeout. Carries the Kafka
 * code; `retriable` (from the one table) drives the SDK's retry loop. Bugs are asserts, not this.
 */
export class BrokerError extends Error {
  override readonly name = 'BrokerError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly leader: LeaderHint | null = null,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  get retriable(): boolean {
    return errorInfo(this.code).retriable;
  }
}

/**
 * A malformed request: answered with gRPC INVALID_ARGUMENT and a message naming the field,
 * before anything is changed.
 */
export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';

  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}
