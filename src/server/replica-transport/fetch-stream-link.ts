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
import type { ReplicaFetchRequest, ReplicaFetchResponse__Output } from '../../proto/index.js';
import { InOrderCalls } from './in-order-calls.js';

type FetchStream = grpc.ClientDuplexStream<ReplicaFetchRequest, ReplicaFetchResponse__Output>;

export class FetchStreamLink {
  private stream: FetchStream | null = null;
  private readonly calls = new InOrderCalls<ReplicaFetchResponse__Output>();

  constructor(private readonly open: () => FetchStream) {}

  /** Sends `request`; resolves with its answer, rejects on timeout, abort or a stream failure. */
  fetch(
    request: ReplicaFetchRequest,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ReplicaFetchResponse__Output> {
    if (signal.aborted) return Promise.reject(new Error('fetch cancelled'));
    const stream = this.stream ?? this.start();
    const answer = this.calls.add(timeoutMs, signal, (error) => this.fail(stream, error));
    stream.write(request);
    return answer;
  }

  close(): void {
    if (this.stream !== null) this.fail(this.stream, new Error('fetch stream closed'));
  }

  private start(): FetchStream {
    const stream = this.open();
    this.stream = stream;
    stream.on('data', (response: ReplicaFetchResponse__Output) => {
      this.calls.settleNext({ response });
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
    this.calls.failAll(error);
  }
}
