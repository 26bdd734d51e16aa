/**
 * One long-lived ProduceStream per broker: requests are pipelined on it, each with a request id
 * the broker echoes, so answers may arrive in any order. A stream that fails, ends, or leaves a
 * request unanswered past its timeout is dropped with every request still on it; the next send
 * opens a new one.
 *
 * The stream itself has no deadline (it is meant to live as long as the producer); each request
 * gets its own timer instead, which is what a deadline would have given us per call.
 */
import type * as grpc from '@grpc/grpc-js';
import type {
  ProduceRequest,
  ProduceResponse__Output,
  ProduceStreamRequest,
  ProduceStreamResponse__Output,
} from '../proto/index.js';
import { BrookClientError, errorFromStatus, type ConnectionPool } from './connection.js';

interface Pending {
  readonly resolve: (response: ProduceResponse__Output) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

type Call = grpc.ClientDuplexStream<ProduceStreamRequest, ProduceStreamResponse__Output>;

/** Request ids wrap here, far below 2^53, so they stay exact JS numbers. */
const REQUEST_ID_MAX = 2 ** 48;

/**
 * A stream with nothing in flight for this long is ended. An open stream is a call in progress,
 * and a broker in controlled shutdown waits for calls in progress to finish; an idle producer
 * must not hold that up. Reopening costs one HTTP/2 HEADERS frame on the existing connection.
 */
export const PRODUCE_STREAM_IDLE_MS = 1_000;

/** The ProduceStream to one broker address. */
export class ProduceStream {
  private call: Call | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextRequestId = 1;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly address: string,
    private readonly pool: ConnectionPool,
  ) {}

  /** Requests sent and not yet answered. */
  get inflightCount(): number {
    return this.pending.size;
  }

  /**
   * Sends one request and resolves with its answer. Rejects with a ClientError when the broker
   * refuses the whole request, when the stream breaks (UNAVAILABLE, retriable), or when no answer
   * comes within `timeoutMs` (DEADLINE_EXCEEDED, retriable; the stream is then reset because a
   * silent connection is likely dead).
   */
  send(request: ProduceRequest, timeoutMs: number): Promise<ProduceResponse__Output> {
    const call = this.open();
    this.cancelIdleTimer();
    const requestId = this.nextRequestId;
    this.nextRequestId = requestId >= REQUEST_ID_MAX ? 1 : requestId + 1;
    return new Promise<ProduceResponse__Output>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new BrookClientError(
          'DEADLINE_EXCEEDED',
          `no answer from ${this.address} within ${timeoutMs} ms`,
          true,
          null,
          this.address,
        );
        this.reset(call, error);
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      call.write({ requestId, request });
    });
  }

  /** Ends the stream; requests still on it fail with CANCELLED. */
  close(): void {
    const call = this.call;
    if (call === null) return;
    if (this.pending.size > 0) {
      this.reset(call, new BrookClientError('CANCELLED', 'the producer is closed', false));
      return;
    }
    this.call = null;
    this.cancelIdleTimer();
    call.end();
  }

  private cancelIdleTimer(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private maybeStartIdleTimer(): void {
    if (this.pending.size > 0 || this.call === null || this.idleTimer !== null) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.pending.size === 0) this.close();
    }, PRODUCE_STREAM_IDLE_MS);
    // An idle stream alone must not keep the process alive.
    this.idleTimer.unref();
  }

  private open(): Call {
    if (this.call !== null) return this.call;
    const call: Call = this.pool.broker(this.address).produceStream({});
    call.on('data', (message: ProduceStreamResponse__Output) => this.onAnswer(message));
    call.on('error', (error: grpc.ServiceError) =>
      this.reset(call, errorFromStatus(error, this.address)),
    );
    call.on('end', () =>
      this.reset(
        call,
        new BrookClientError('UNAVAILABLE', 'the produce stream ended', true, null, this.address),
      ),
    );
    this.call = call;
    return call;
  }

  private onAnswer(message: ProduceStreamResponse__Output): void {
    const pending = this.pending.get(message.requestId);
    // An answer after its timeout belongs to a request already failed and retried: drop it.
    if (pending === undefined) return;
    this.pending.delete(message.requestId);
    clearTimeout(pending.timer);
    if (message.statusCode !== 0) {
      pending.reject(
        errorFromStatus({ code: message.statusCode, details: message.statusMessage }, this.address),
      );
    } else if (message.response === null) {
      pending.reject(
        new BrookClientError('INTERNAL', 'answer without a response', false, null, this.address),
      );
    } else {
      pending.resolve(message.response);
    }
    this.maybeStartIdleTimer();
  }

  /** Fails every request on `call` with `error` and forgets the call if it is the current one. */
  private reset(call: Call, error: unknown): void {
    if (this.call !== call) return;
    this.call = null;
    this.cancelIdleTimer();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const entry of pending) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    call.cancel();
  }
}
