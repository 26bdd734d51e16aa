/**
 * Per-call metrics of the gRPC server, taken by a grpc-js server interceptor: every call of
 * every service passes through it (unary and streaming, client, peer and health calls alike),
 * including calls that fail before any handler runs, and it sees the final status with the
 * `brook-error-code` trailer that error-status.ts sets. The handlers stay unaware of metrics.
 *
 * Labels come from bounded sets only: `method` is a registered method path (grpc-js answers
 * unknown methods UNIMPLEMENTED before interceptors run), `code` a gRPC status name and `error`
 * a Kafka error code name from the error table. Never a topic or a group.
 *
 * Cost per call: a closure set-up, one map lookup and a histogram observation; per streamed
 * message: one addition. Counters are plain numbers reported at scrape time.
 */
import {
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status as GrpcStatusCode,
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { isErrorCode } from '../../errors/index.js';
import { TRAILER_ERROR_CODE } from '../error-status.js';

/**
 * Upper bounds in seconds: sub-millisecond metadata calls up to long polls (Fetch waits up to
 * its max_wait_ms for records, a follower's fetch up to replica.fetch.wait.max.ms).
 */
export const REQUEST_DURATION_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
] as const;

/** The labels of one finished call. */
export interface CallOutcome {
  /** gRPC status name: OK, UNAVAILABLE, CANCELLED, ... */
  readonly code: string;
  /** Kafka error code of the brook-error-code trailer; NONE when the call carried none. */
  readonly error: string;
}

/**
 * The labels a final status counts under. A trailer value that is not a known Kafka code counts
 * as UNKNOWN_SERVER_ERROR, so no label value comes from outside the error table.
 */
export function outcomeOf(code: number, trailers: Metadata | null | undefined): CallOutcome {
  const name = GrpcStatusCode[code] as string | undefined;
  const trailer = trailers?.get(TRAILER_ERROR_CODE)[0];
  let error = 'NONE';
  if (typeof trailer === 'string') error = isErrorCode(trailer) ? trailer : 'UNKNOWN_SERVER_ERROR';
  return { code: name ?? 'UNKNOWN', error };
}

/** Counters of one method, kept as plain numbers and reported at scrape time. */
class MethodStats {
  inFlight = 0;
  messagesReceived = 0;
  messagesSent = 0;
  /** Finished calls by `${code} ${error}`. */
  readonly outcomes = new Map<string, number>();
  /** Stream answers carrying an error code other than NONE, by code (ProduceStream). */
  readonly messageErrors = new Map<string, number>();

  constructor(
    readonly method: string,
    readonly isStreaming: boolean,
  ) {}
}

export class RequestMetrics {
  private readonly methods = new Map<string, MethodStats>();
  private readonly duration: Histogram<'method'>;
  /** The interceptor to give the grpc.Server (ServerOptions.interceptors). */
  readonly interceptor: ServerInterceptor;

  /** `nowMs`: a monotonic clock in milliseconds (performance.now). */
  constructor(
    registry: Registry,
    private readonly nowMs: () => number,
  ) {
    this.duration = new Histogram({
      name: 'brook_request_duration_seconds',
      help: 'Time from the arrival of a unary call to its answer, per method; long polls (Fetch, ReplicaFetch) include their wait.',
      labelNames: ['method'],
      buckets: [...REQUEST_DURATION_BUCKETS_SECONDS],
      registers: [registry],
    });
    this.registerCollectors(registry);
    this.interceptor = (descriptor, call) => this.intercept(descriptor, call);
  }

  private intercept(
    descriptor: ServerMethodDefinition<unknown, unknown>,
    next: ServerInterceptingCallInterface,
  ): ServerInterceptingCall {
    const stats = this.statsOf(descriptor);
    const startMs = this.nowMs();
    let isFinished = false;
    stats.inFlight++;
    // The first of the status and the cancellation decides; grpc-js reports a cancellation
    // after every status too, and a deadline that passes as a cancellation without a status.
    const finish = (code: number, trailers: Metadata | null | undefined): void => {
      if (isFinished) return;
      isFinished = true;
      stats.inFlight--;
      const outcome = outcomeOf(code, trailers);
      const key = `${outcome.code} ${outcome.error}`;
      stats.outcomes.set(key, (stats.outcomes.get(key) ?? 0) + 1);
      if (!stats.isStreaming) {
        this.duration.observe({ method: stats.method }, (this.nowMs() - startMs) / 1000);
      }
    };
    const listener = new ServerListenerBuilder()
      .withOnReceiveMessage((message: unknown, forward: (message: unknown) => void) => {
        if (descriptor.requestStream) stats.messagesReceived++;
        forward(message);
      })
      .withOnCancel(() => finish(GrpcStatusCode.CANCELLED, null))
      .build();
    const responder = new ResponderBuilder()
      .withStart((forward) => forward(listener))
      .withSendMessage((message: unknown, forward: (message: unknown) => void) => {
        if (descriptor.responseStream) {
          stats.messagesSent++;
          countMessageError(stats, message);
        }
        forward(message);
      })
      .withSendStatus((status, forward) => {
        finish(status.code, status.metadata);
        forward(status);
      })
      .build();
    return new ServerInterceptingCall(next, responder);
  }

  private statsOf(descriptor: ServerMethodDefinition<unknown, unknown>): MethodStats {
    let stats = this.methods.get(descriptor.path);
    if (stats === undefined) {
      const method = descriptor.path.startsWith('/') ? descriptor.path.slice(1) : descriptor.path;
      stats = new MethodStats(method, descriptor.requestStream || descriptor.responseStream);
      this.methods.set(descriptor.path, stats);
    }
    return stats;
  }

  private registerCollectors(registry: Registry): void {
    const methods = this.methods;
    new Counter({
      name: 'brook_requests_total',
      help: 'Finished gRPC calls by method, gRPC status (code) and the Kafka error code of the brook-error-code trailer (error; NONE when the call carried none, e.g. OK, or CANCELLED by the client or its deadline). Streams count once, when they end.',
      labelNames: ['method', 'code', 'error'],
      registers: [registry],
      collect(this: Counter<'method' | 'code' | 'error'>) {
        this.reset();
        for (const stats of methods.values()) {
          for (const [key, count] of stats.outcomes) {
            const [code = '', error = ''] = key.split(' ');
            this.inc({ method: stats.method, code, error }, count);
          }
        }
      },
    });
    new Gauge({
      name: 'brook_requests_in_flight',
      help: 'gRPC calls being served now, by method; for streaming methods, the open streams.',
      labelNames: ['method'],
      registers: [registry],
      collect(this: Gauge<'method'>) {
        this.reset();
        for (const stats of methods.values()) this.set({ method: stats.method }, stats.inFlight);
      },
    });
    const streamCounter = (name: string, help: string, read: (s: MethodStats) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['method'],
        registers: [registry],
        collect(this: Counter<'method'>) {
          this.reset();
          for (const stats of methods.values()) {
            if (stats.isStreaming) this.inc({ method: stats.method }, read(stats));
          }
        },
      });
    };
    streamCounter(
      'brook_stream_messages_received_total',
      'Messages received on client-streaming and bidirectional calls (ProduceStream requests, ReplicaFetch.FetchStream requests, Raft Send batches), by method.',
      (s) => s.messagesReceived,
    );
    streamCounter(
      'brook_stream_messages_sent_total',
      'Messages sent on server-streaming and bidirectional calls (ProduceStream answers, Subscribe batches, ReplicaFetch.FetchStream answers), by method.',
      (s) => s.messagesSent,
    );
    new Counter({
      name: 'brook_stream_message_errors_total',
      help: 'Stream answers that carry a Kafka error code other than NONE (a ProduceStream request that failed while the stream stays open), by method and code.',
      labelNames: ['method', 'error'],
      registers: [registry],
      collect(this: Counter<'method' | 'error'>) {
        this.reset();
        for (const stats of methods.values()) {
          for (const [error, count] of stats.messageErrors) {
            this.inc({ method: stats.method, error }, count);
          }
        }
      },
    });
  }
}

/** A stream answer with an `errorCode` field (ProduceStreamResponse) that reports a failure. */
function countMessageError(stats: MethodStats, message: unknown): void {
  if (typeof message !== 'object' || message === null) return;
  const code = (message as { errorCode?: unknown }).errorCode;
  if (typeof code !== 'string' || code === 'NONE') return;
  const error = isErrorCode(code) ? code : 'UNKNOWN_SERVER_ERROR';
  stats.messageErrors.set(error, (stats.messageErrors.get(error) ?? 0) + 1);
}
