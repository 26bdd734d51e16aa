/**
 * The follower's end of a ReplicaFetch.FetchStream (peer.proto), used only against a leader that
 * does not speak the framed fetch transport (an older release, see peer-clients.ts): one
 * long-lived stream to a leader's address, over which fetch requests go one at a time and
 * answers come back in order.
 * A request that times out or is cancelled ends the stream (an answer cannot be taken back),
 * as does any stream error; the next request opens a new one. Pending requests then fail, and
 * the follower's fetcher retries them as it retries a failed call.
 */
import type * as grpc from '@grpc/grpc-js';
import type { ReplicaFetchRequest, ReplicaFetchResponse__Output } from '../proto/index.js';

interface Pending {
  readonly resolve: (response: ReplicaFetchResponse__Output) => void;
  readonly reject: (error: Error) => void;
}

type FetchStream = grpc.ClientDuplexStream<ReplicaFetchRequest, ReplicaFetchResponse__Output>;

export class FetchStreamLink {
  private stream: FetchStream | null = null;
  private readonly pending: Pending[] = [];

  constructor(private readonly open: () => FetchStream) {}

  /** Sends `request`; resolves with its answer, rejects on timeout, abort or a stream failure. */
  fetch(
    request: ReplicaFetchRequest,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ReplicaFetchResponse__Output> {
    if (signal.aborted) return Promise.reject(new Error('fetch cancelled'));
    const stream = this.stream ?? this.start();
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      const entry: Pending = {
        resolve: (response) => {
          cleanup();
          resolve(response);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
      const onAbort = (): void => this.fail(stream, new Error('fetch cancelled'));
      const timer = setTimeout(
        () => this.fail(stream, new Error(`no fetch answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.push(entry);
      stream.write(request);
    });
  }

  close(): void {
    if (this.stream !== null) this.fail(this.stream, new Error('fetch stream closed'));
  }

  private start(): FetchStream {
    const stream = this.open();
    this.stream = stream;
    stream.on('data', (response: ReplicaFetchResponse__Output) => {
      this.pending.shift()?.resolve(response);
    });
    stream.on('error', (error: Error) => this.fail(stream, error));
    stream.on('end', () => this.fail(stream, new Error('the leader ended the fetch stream')));
    return stream;
  }

  /** Ends `stream` (if still current) and fails every request waiting on it. */
  private fail(stream: FetchStream, error: Error): void {
    if (this.stream !== stream) return;
    this.stream = null;
    stream.cancel();
    for (const entry of this.pending.splice(0)) entry.reject(error);
  }
}
