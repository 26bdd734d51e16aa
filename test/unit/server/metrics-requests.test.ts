/**
 * The request interceptor is driven by hand: a fake next call stands in for grpc-js's base call,
 * the test plays the handler's side (send a message, send a status) and the transport's side
 * (deliver a message, cancel), with a fake clock for durations. It checks the outcome labels,
 * that a call counts once whichever of status and cancellation comes first, the latency bucket,
 * and the per-message counters of streams.
 */
import {
  Metadata,
  status,
  type ServerInterceptingCallInterface,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { TRAILER_ERROR_CODE } from '../../../src/server/error-status.js';
import { outcomeOf, RequestMetrics } from '../../../src/server/metrics/request-metrics.js';
import { samplesOf, valueOf } from './metrics-fixtures.js';

type InterceptingServerListener = Parameters<ServerInterceptingCallInterface['start']>[0];

function descriptor(path: string, requestStream: boolean, responseStream: boolean) {
  return {
    path,
    requestStream,
    responseStream,
    responseSerialize: () => Buffer.alloc(0),
    requestDeserialize: () => ({}),
  } as ServerMethodDefinition<unknown, unknown>;
}

/** What grpc-js's base call would be: records what reaches the transport. */
class FakeNextCall {
  listener: InterceptingServerListener | null = null;
  readonly sent: unknown[] = [];
  readonly statuses: number[] = [];
  start(listener: InterceptingServerListener): void {
    this.listener = listener;
  }
  sendMetadata(): void {}
  sendMessage(message: unknown, callback: () => void): void {
    this.sent.push(message);
    callback();
  }
  sendStatus(s: { code: number }): void {
    this.statuses.push(s.code);
  }
  startRead(): void {}
}

const handlerListener: InterceptingServerListener = {
  onReceiveMetadata: () => undefined,
  onReceiveMessage: () => undefined,
  onReceiveHalfClose: () => undefined,
  onCancel: () => undefined,
};

function setUp() {
  const registry = new Registry();
  let nowMs = 1_000;
  const metrics = new RequestMetrics(registry, () => nowMs);
  const open = (d: ServerMethodDefinition<unknown, unknown>) => {
    const next = new FakeNextCall();
    const call = metrics.interceptor(d, next as unknown as ServerInterceptingCallInterface);
    call.start(handlerListener);
    return { call, next };
  };
  return { registry, open, advance: (ms: number) => (nowMs += ms) };
}

function trailer(code: string): Metadata {
  const metadata = new Metadata();
  metadata.set(TRAILER_ERROR_CODE, code);
  return metadata;
}

describe('call outcome labels', () => {
  it('names the gRPC status and the Kafka code of the trailer', () => {
    expect(outcomeOf(status.OK, null)).toEqual({ code: 'OK', error: 'NONE' });
    expect(outcomeOf(status.UNAVAILABLE, trailer('NOT_LEADER_OR_FOLLOWER'))).toEqual({
      code: 'UNAVAILABLE',
      error: 'NOT_LEADER_OR_FOLLOWER',
    });
    expect(outcomeOf(status.CANCELLED, new Metadata())).toEqual({
      code: 'CANCELLED',
      error: 'NONE',
    });
  });

  it('keeps label values inside the known sets', () => {
    expect(outcomeOf(99, trailer('SOMETHING_ELSE'))).toEqual({
      code: 'UNKNOWN',
      error: 'UNKNOWN_SERVER_ERROR',
    });
  });
});

describe('request interceptor', () => {
  it('counts a unary call once, by status and trailer, and observes its duration', async () => {
    const { registry, open, advance } = setUp();
    const { call, next } = open(descriptor('/brook.v1.Broker/Produce', false, false));
    expect(
      await valueOf(registry, 'brook_requests_in_flight', { method: 'brook.v1.Broker/Produce' }),
    ).toBe(1);
    next.listener!.onReceiveMessage({});
    advance(3);
    call.sendStatus({
      code: status.UNAVAILABLE,
      details: 'moved',
      metadata: trailer('NOT_LEADER_OR_FOLLOWER'),
    });
    // grpc-js reports a cancellation after every status; it must not count again.
    next.listener!.onCancel();
    expect(next.statuses).toEqual([status.UNAVAILABLE]);
    const labels = {
      method: 'brook.v1.Broker/Produce',
      code: 'UNAVAILABLE',
      error: 'NOT_LEADER_OR_FOLLOWER',
    };
    expect(await valueOf(registry, 'brook_requests_total', labels)).toBe(1);
    expect(await samplesOf(registry, 'brook_requests_total')).toHaveLength(1);
    expect(
      await valueOf(registry, 'brook_requests_in_flight', { method: 'brook.v1.Broker/Produce' }),
    ).toBe(0);
    const buckets = await samplesOf(registry, 'brook_request_duration_seconds');
    const bucket = (le: number) =>
      buckets.find((s) => s.labels['le'] === le && s.labels['method'] === 'brook.v1.Broker/Produce')
        ?.value;
    expect(bucket(0.0025)).toBe(0);
    expect(bucket(0.005)).toBe(1);
  });

  it('counts a call cancelled before any status as CANCELLED', async () => {
    const { registry, open } = setUp();
    const { call, next } = open(descriptor('/brook.v1.Broker/Fetch', false, false));
    next.listener!.onCancel();
    call.sendStatus({ code: status.OK, details: '', metadata: new Metadata() });
    expect(await valueOf(registry, 'brook_requests_total', { code: 'CANCELLED' })).toBe(1);
    expect(await samplesOf(registry, 'brook_requests_total')).toHaveLength(1);
  });

  it('counts stream messages both ways and answers that carry an error, not durations', async () => {
    const { registry, open } = setUp();
    const method = 'brook.v1.Broker/ProduceStream';
    const { call, next } = open(descriptor(`/${method}`, true, true));
    for (let i = 0; i < 3; i++) next.listener!.onReceiveMessage({ requestId: i });
    call.sendMessage({ requestId: 0, errorCode: 'NONE' }, () => undefined);
    call.sendMessage({ requestId: 1, errorCode: 'NOT_ENOUGH_REPLICAS' }, () => undefined);
    call.sendMessage({ requestId: 2, errorCode: 'NONE' }, () => undefined);
    call.sendStatus({ code: status.OK, details: '', metadata: new Metadata() });
    expect(next.sent).toHaveLength(3);
    expect(await valueOf(registry, 'brook_stream_messages_received_total', { method })).toBe(3);
    expect(await valueOf(registry, 'brook_stream_messages_sent_total', { method })).toBe(3);
    expect(
      await valueOf(registry, 'brook_stream_message_errors_total', {
        method,
        error: 'NOT_ENOUGH_REPLICAS',
      }),
    ).toBe(1);
    expect(await valueOf(registry, 'brook_requests_total', { method, code: 'OK' })).toBe(1);
    const observed = await samplesOf(registry, 'brook_request_duration_seconds');
    expect(observed.filter((s) => s.labels['method'] === method)).toEqual([]);
  });

  it('does not count messages of unary calls as stream messages', async () => {
    const { registry, open } = setUp();
    const { call, next } = open(descriptor('/brook.v1.Broker/Metadata', false, false));
    next.listener!.onReceiveMessage({});
    call.sendMessage({ errorCode: 'NOT_CONTROLLER' }, () => undefined);
    call.sendStatus({ code: status.OK, details: '', metadata: null });
    expect(await samplesOf(registry, 'brook_stream_messages_sent_total')).toEqual([]);
    expect(await samplesOf(registry, 'brook_stream_message_errors_total')).toEqual([]);
  });
});
