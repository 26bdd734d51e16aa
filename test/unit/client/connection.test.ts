/**
 * How a failed gRPC call becomes an SDK error: the `brook-error-code` trailer wins (with the
 * leader hint trailers), a status that stands for one Kafka code becomes that code, and anything
 * else becomes a BrookClientError carrying the status name, `retriable` and, for
 * INVALID_ARGUMENT, the field path. Statuses are built by hand; no channel is opened.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { BrokerError, GrpcStatus } from '../../../src/errors/index.js';
import {
  BrookClientError,
  brokerErrorOf,
  errorFromStatus,
  fieldOf,
  isRetriable,
  parseBootstrap,
} from '../../../src/client/connection.js';

function trailers(entries: Record<string, string>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}

describe('errorFromStatus', () => {
  it('uses the Kafka code from the trailer, with the leader hint', () => {
    const error = errorFromStatus({
      code: GrpcStatus.UNAVAILABLE,
      details: 'not the leader of t-0',
      metadata: trailers({
        'brook-error-code': 'NOT_LEADER_OR_FOLLOWER',
        'brook-leader-id': '2',
        'brook-leader-address': '10.0.0.2:7070',
      }),
    });
    expect(error).toBeInstanceOf(BrokerError);
    expect(error.code).toBe('NOT_LEADER_OR_FOLLOWER');
    expect(error.retriable).toBe(true);
    expect((error as BrokerError).leader).toEqual({ nodeId: 2, address: '10.0.0.2:7070' });
    expect(error.message).toBe('not the leader of t-0');
  });

  it('maps a trailer code that is not retriable', () => {
    const error = errorFromStatus({
      code: GrpcStatus.ALREADY_EXISTS,
      details: 'topic "t" already exists',
      metadata: trailers({ 'brook-error-code': 'TOPIC_ALREADY_EXISTS' }),
    });
    expect(error).toBeInstanceOf(BrokerError);
    expect(error.code).toBe('TOPIC_ALREADY_EXISTS');
    expect(error.retriable).toBe(false);
  });

  it('keeps a Kafka code carried with INVALID_ARGUMENT (RECORD_TOO_LARGE)', () => {
    const error = errorFromStatus({
      code: GrpcStatus.INVALID_ARGUMENT,
      details: 'batches[0].record_batch: 9000000 bytes is over max.message.bytes',
      metadata: trailers({ 'brook-error-code': 'RECORD_TOO_LARGE' }),
    });
    expect(error).toBeInstanceOf(BrokerError);
    expect(error.code).toBe('RECORD_TOO_LARGE');
  });

  it('reports a malformed request (INVALID_REQUEST) as INVALID_ARGUMENT with its field', () => {
    const error = errorFromStatus({
      code: GrpcStatus.INVALID_ARGUMENT,
      details: 'topics[0].partitions: must be between 1 and 10000, got 0',
      metadata: trailers({ 'brook-error-code': 'INVALID_REQUEST' }),
    });
    expect(error).toBeInstanceOf(BrookClientError);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect((error as BrookClientError).field).toBe('topics[0].partitions');
  });

  it('infers the Kafka code from a status that stands for exactly one', () => {
    expect(errorFromStatus({ code: GrpcStatus.NOT_FOUND, details: 'x' }).code).toBe(
      'UNKNOWN_TOPIC_OR_PARTITION',
    );
    expect(errorFromStatus({ code: GrpcStatus.OUT_OF_RANGE, details: 'x' }).code).toBe(
      'OFFSET_OUT_OF_RANGE',
    );
    expect(errorFromStatus({ code: GrpcStatus.ALREADY_EXISTS, details: 'x' }).code).toBe(
      'TOPIC_ALREADY_EXISTS',
    );
  });

  it('ignores a leader hint without an address, and an unknown trailer code', () => {
    const partial = errorFromStatus({
      code: GrpcStatus.UNAVAILABLE,
      details: 'moved',
      metadata: trailers({ 'brook-error-code': 'NOT_LEADER_OR_FOLLOWER', 'brook-leader-id': '1' }),
    });
    expect((partial as BrokerError).leader).toBeNull();
    const unknown = errorFromStatus({
      code: GrpcStatus.UNAVAILABLE,
      details: 'x',
      metadata: trailers({ 'brook-error-code': 'SOMETHING_NEW' }),
    });
    expect(unknown).toBeInstanceOf(BrookClientError);
    expect(unknown.code).toBe('UNAVAILABLE');
  });

  it('makes an unreachable broker a retriable UNAVAILABLE client error', () => {
    const error = errorFromStatus(
      { code: GrpcStatus.UNAVAILABLE, details: 'No connection established' },
      '127.0.0.1:7070',
    );
    expect(error).toBeInstanceOf(BrookClientError);
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.retriable).toBe(true);
    expect((error as BrookClientError).address).toBe('127.0.0.1:7070');
  });

  it('makes a client-side deadline a retriable DEADLINE_EXCEEDED client error', () => {
    const error = errorFromStatus({
      code: GrpcStatus.DEADLINE_EXCEEDED,
      details: 'Deadline exceeded',
    });
    expect(error).toBeInstanceOf(BrookClientError);
    expect(error.code).toBe('DEADLINE_EXCEEDED');
    expect(isRetriable(error)).toBe(true);
  });

  it('names the field of an INVALID_ARGUMENT and does not retry it', () => {
    const error = errorFromStatus({
      code: GrpcStatus.INVALID_ARGUMENT,
      details: 'records[3].key: must not be longer than 1 MiB',
    });
    expect(error).toBeInstanceOf(BrookClientError);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.retriable).toBe(false);
    expect((error as BrookClientError).field).toBe('records[3].key');
  });

  it('maps INTERNAL to UNKNOWN_SERVER_ERROR and unknown numbers to UNKNOWN', () => {
    const internal = errorFromStatus({ code: GrpcStatus.INTERNAL, details: 'boom' });
    expect(internal.code).toBe('UNKNOWN_SERVER_ERROR');
    expect(internal.retriable).toBe(false);
    const strange = errorFromStatus({ code: 99, details: '' });
    expect(strange.code).toBe('UNKNOWN');
    expect(strange.message).toBe('UNKNOWN');
    expect(strange.retriable).toBe(false);
  });

  it('never retries a cancelled call', () => {
    expect(errorFromStatus({ code: GrpcStatus.CANCELLED, details: 'Cancelled' }).retriable).toBe(
      false,
    );
  });
});

describe('fieldOf', () => {
  it('reads field paths at the start of a message', () => {
    expect(fieldOf('topic: must not be empty')).toBe('topic');
    expect(fieldOf('partitions[0].offset: negative')).toBe('partitions[0].offset');
    expect(fieldOf('batches[12].record_batch: CRC mismatch')).toBe('batches[12].record_batch');
  });

  it('returns null for prose', () => {
    expect(fieldOf('the request is malformed')).toBeNull();
    expect(fieldOf('bad thing happened: here')).toBeNull();
  });
});

describe('brokerErrorOf', () => {
  it('is null for NONE', () => {
    expect(brokerErrorOf('NONE', '')).toBeNull();
    expect(brokerErrorOf(0, '')).toBeNull();
  });

  it('fills in the table message when the broker sent none', () => {
    const error = brokerErrorOf('OFFSET_OUT_OF_RANGE', '');
    expect(error?.code).toBe('OFFSET_OUT_OF_RANGE');
    expect(error?.message).toMatch(/offset/);
  });

  it('keeps a leader hint only when it has an address', () => {
    expect(
      brokerErrorOf('NOT_LEADER_OR_FOLLOWER', 'x', { nodeId: 1, address: 'h:1' })?.leader,
    ).toEqual({
      nodeId: 1,
      address: 'h:1',
    });
    expect(
      brokerErrorOf('NOT_LEADER_OR_FOLLOWER', 'x', { nodeId: 0, address: '' })?.leader,
    ).toBeNull();
  });

  it('turns a code this SDK does not know into UNKNOWN_SERVER_ERROR', () => {
    const error = brokerErrorOf(99, 'from the future');
    expect(error?.code).toBe('UNKNOWN_SERVER_ERROR');
    expect(error?.message).toContain('99');
  });
});

describe('parseBootstrap', () => {
  it('accepts a list, a comma-separated string and IPv6, dropping duplicates', () => {
    expect(parseBootstrap('a:1, b:2,a:1')).toEqual(['a:1', 'b:2']);
    expect(parseBootstrap(['127.0.0.1:7070', '[::1]:7071'])).toEqual([
      '127.0.0.1:7070',
      '[::1]:7071',
    ]);
  });

  it('rejects missing ports, bad ports and empty lists with INVALID_ARGUMENT', () => {
    for (const bad of ['localhost', 'h:0', 'h:70000', '', ' , ', 'h:x']) {
      let caught: unknown = null;
      try {
        parseBootstrap(bad);
      } catch (error) {
        caught = error;
      }
      expect(caught, bad).toBeInstanceOf(BrookClientError);
      expect((caught as BrookClientError).code).toBe('INVALID_ARGUMENT');
      expect((caught as BrookClientError).field).toBe('bootstrap');
    }
  });
});
