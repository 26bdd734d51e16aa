/**
 * The framed fetch transport on a node's one port (peer.proto, ReplicaFetchFrame): a follower's
 * fetch gets the same batches as over gRPC, bad frames get an error frame (INVALID_REQUEST
 * naming what is wrong) and a closed connection, generated garbage never stops the node, and a
 * follower falls back to gRPC against a leader that does not speak the transport. One real node
 * leading a partition, raw sockets on loopback.
 */
import { connect, createServer, type AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer } from '../../../src/client/index.js';
import {
  brookV1Peer,
  type ReplicaFetchFrame__Output,
  type ReplicaFetchRequest,
  type ReplicaFetchResponse,
  type ReplicaFetchResponse__Output,
} from '../../../src/proto/index.js';
import { PeerClients } from '../../../src/server/peer-clients.js';
import {
  FramedFetchLink,
  FramedFetchUnsupportedError,
} from '../../../src/server/replica-transport/fetch-link.js';
import {
  FrameDecoder,
  FrameError,
  frameCodec,
  framePrefix,
  MAGIC,
  requestCodec,
  type Frame,
} from '../../../src/server/replica-transport/frames.js';
import { startBroker, type BrokerProcess } from '../../helpers/broker-process.js';
import { bootstrapOf, createTopic, partitionState, readCommitted } from '../../helpers/cluster.js';
import { call } from '../../helpers/grpc.js';

let node: BrokerProcess;
let fetcher: grpc.Client;
let topicId = '';
const RECORDS = 300;

beforeAll(async () => {
  node = await startBroker();
  await createTopic(node, 'framed', 1, 1);
  topicId = (await partitionState([node], 'framed', 0)).topicId;
  const producer = new Producer({ bootstrap: bootstrapOf([node]), acks: 'all', lingerMs: 1 });
  try {
    await Promise.all(
      Array.from({ length: RECORDS }, (_, i) =>
        producer.send({ topic: 'framed', partition: 0, value: Buffer.from(`record-${i}`) }),
      ),
    );
  } finally {
    await producer.close();
  }
  fetcher = new (brookV1Peer().ReplicaFetch)(node.address, grpc.credentials.createInsecure());
}, 60_000);

afterAll(async () => {
  fetcher?.close();
  await node?.cleanup();
});

function fetchRequest(overrides: Partial<ReplicaFetchRequest> = {}): ReplicaFetchRequest {
  return {
    replicaId: 1,
    maxWaitMs: 0,
    partitionMaxBytes: 1024 * 1024,
    maxBytes: 8 * 1024 * 1024,
    partitions: [{ topicId, partition: 0, fetchOffset: 0, currentLeaderEpoch: 0 }],
    ...overrides,
  };
}

/** Writes `chunks` after connecting, half-closes, and collects every byte until the node closes. */
function exchange(chunks: readonly Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const received: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port: node.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `the node did not close the connection; got ${Buffer.concat(received).length} bytes`,
        ),
      );
    }, 10_000);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(received));
    });
    for (const chunk of chunks) socket.write(chunk);
    socket.end();
  });
}

function frame(header: Uint8Array, dataBytes = 0): Buffer {
  return Buffer.concat([framePrefix(header.length, dataBytes), header, Buffer.alloc(dataBytes)]);
}

/** The frames after the node's MAGIC. */
function framesOf(bytes: Buffer): ReplicaFetchFrame__Output[] {
  expect(bytes.subarray(0, MAGIC.length)).toEqual(MAGIC);
  const frames: Frame[] = new FrameDecoder({
    headerBytesMax: 1 << 24,
    dataBytesMax: 1 << 26,
  }).push(bytes.subarray(MAGIC.length));
  return frames.map((f) => frameCodec.decode(f.header));
}

describe('the framed fetch transport', () => {
  it('answers with the same batches as the gRPC FetchStream, on the same port', async () => {
    const link = new FramedFetchLink('127.0.0.1', node.port);
    try {
      const framed = await link.fetch(fetchRequest(), 5_000, new AbortController().signal);
      const viaGrpc = await call<ReplicaFetchResponse__Output>(fetcher, 'Fetch', fetchRequest());
      const [a] = framed.partitions;
      const [b] = viaGrpc.partitions;
      expect(a?.errorCode).toBe('NONE');
      expect(a?.recordBatches.length).toBeGreaterThan(0);
      expect(a?.recordBatches.map((x) => Buffer.from(x))).toEqual(
        b?.recordBatches.map((x) => Buffer.from(x)),
      );
      expect(a?.highWatermark).toBe(RECORDS);
      // The connection stays for the next request, which long-polls and then answers empty.
      const next = await link.fetch(
        fetchRequest({
          maxWaitMs: 50,
          partitions: [{ topicId, partition: 0, fetchOffset: RECORDS, currentLeaderEpoch: 0 }],
        }),
        5_000,
        new AbortController().signal,
      );
      expect(next.partitions[0]?.recordBatches).toEqual([]);
    } finally {
      link.close();
    }
  });

  it.each([
    ['an undecodable header', frame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])), 'request'],
    ['no partitions', frame(requestCodec.encode(fetchRequest({ partitions: [] }))), 'partitions'],
    [
      'a negative replica id',
      frame(requestCodec.encode(fetchRequest({ replicaId: -3 }))),
      'replica_id',
    ],
    [
      'data after a request',
      frame(requestCodec.encode(fetchRequest()), 10),
      'frame data of 10 bytes',
    ],
    ['a header over the limit', framePrefix(5 * 1024 * 1024, 0), 'frame header of 5242880 bytes'],
  ])(
    'refuses %s with an INVALID_REQUEST frame naming it, then closes',
    async (_name, bytes, text) => {
      const frames = framesOf(await exchange([MAGIC, bytes]));
      expect(frames).toHaveLength(1);
      expect(frames[0]?.errorCode).toBe('INVALID_REQUEST');
      expect(frames[0]?.errorMessage).toContain(text);
    },
  );

  it('answers each of many requests sent back to back, and the magic may arrive a byte at a time', async () => {
    // More than the 8 it reads ahead of its answers: it stops reading, then goes on.
    const requests = Array.from({ length: 40 }, (_, i) =>
      frame(
        requestCodec.encode(
          fetchRequest({
            partitions: [{ topicId, partition: 0, fetchOffset: i, currentLeaderEpoch: 0 }],
          }),
        ),
      ),
    );
    const chunks = [...[...MAGIC].map((b) => Buffer.from([b])), Buffer.concat(requests)];
    const frames = framesOf(await exchange(chunks));
    expect(frames.map((f) => f.response?.partitions[0]?.errorCode)).toEqual(
      requests.map(() => 'NONE'),
    );
  });

  it('survives generated garbage, and keeps its data and its service', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 4 }),
        fc.boolean(),
        async (chunks, withMagic) => {
          const bytes = chunks.map((c) => Buffer.from(c));
          const received = await exchange(withMagic ? [MAGIC, ...bytes] : bytes);
          if (withMagic) {
            for (const f of framesOf(received))
              expect(f.errorCode).not.toBe('UNKNOWN_SERVER_ERROR');
          }
        },
      ),
      { numRuns: 40 },
    );
    const committed = await readCommitted([node], 'framed', 0);
    expect(committed.size).toBe(RECORDS);
    const link = new FramedFetchLink('127.0.0.1', node.port);
    try {
      const answer = await link.fetch(fetchRequest(), 5_000, new AbortController().signal);
      expect(answer.partitions[0]?.errorCode).toBe('NONE');
    } finally {
      link.close();
    }
  }, 60_000);
});

describe('a leader that breaks the protocol', () => {
  it('fails the fetch at once instead of leaving it waiting', async () => {
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => {
        // One partition whose batch sizes say 10 bytes, with 3 bytes of data.
        const header = frameCodec.encode({
          response: { partitions: [{ topicId: 'x', partition: 0, recordBatchSizes: [10] }] },
        });
        socket.write(
          Buffer.concat([MAGIC, framePrefix(header.length, 3), header, Buffer.alloc(3)]),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const link = new FramedFetchLink('127.0.0.1', (server.address() as AddressInfo).port);
    try {
      const started = Date.now();
      await expect(
        link.fetch(fetchRequest(), 30_000, new AbortController().signal),
      ).rejects.toThrow(FrameError);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      link.close();
      server.close();
    }
  });
});

describe('a leader without the framed transport (an older release)', () => {
  it('is fetched from over gRPC FetchStream after the framed hello fails', async () => {
    const answer: ReplicaFetchResponse = {
      partitions: [{ topicId: 'old', partition: 0, errorCode: 'NONE', highWatermark: 7 }],
    };
    const server = new grpc.Server();
    server.addService(brookV1Peer().ReplicaFetch.service, {
      FetchStream: (stream: grpc.ServerDuplexStream<unknown, ReplicaFetchResponse>) => {
        stream.on('data', () => stream.write(answer));
        stream.on('end', () => stream.end());
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
        error === null ? resolve(p) : reject(error),
      ),
    );
    const peers = new PeerClients();
    try {
      const signal = new AbortController().signal;
      await expect(peers.fetch(`127.0.0.1:${port}`, fetchRequest(), signal)).rejects.toThrow(
        FramedFetchUnsupportedError,
      );
      const second = await peers.fetch(`127.0.0.1:${port}`, fetchRequest(), signal);
      expect(second.partitions[0]?.highWatermark).toBe(7);
    } finally {
      peers.close();
      server.forceShutdown();
    }
  });
});
