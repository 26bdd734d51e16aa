/**
 * The Raft transport over real loopback gRPC (src/raft/io/grpc-transport.ts sending,
 * peer-receiver.ts receiving): messages arrive in order and in batches, a dead peer costs only
 * its own bounded queue, a restarted peer is reached again, a foreign-cluster or misaddressed
 * stream is refused before any message is read, a malformed message is dropped with a warning
 * while its neighbours get through, and close() leaves nothing running. Method: each test
 * starts RaftPeer servers on 127.0.0.1:0 and a GrpcTransport sending heartbeats whose `commit`
 * field carries a sequence number.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { limits } from '../../../src/config/index.js';
import { brookV1Peer } from '../../../src/proto/index.js';
import {
  GrpcTransport,
  METADATA_CLUSTER_ID,
  METADATA_FROM,
  METADATA_TO,
} from '../../../src/raft/io/grpc-transport.js';
import { PeerReceiver } from '../../../src/raft/io/peer-receiver.js';
import { messageToProto } from '../../../src/raft/io/wire.js';
import { MessageType, type Message, type NodeId } from '../../../src/raft/types.js';
import { SeededRng } from '../../../src/util/rng.js';
import {
  ERROR,
  WARN,
  eventually,
  freePort,
  peerServiceOf,
  recordingLogger,
  startServer,
  stopServer,
} from './helpers.js';

const CLUSTER = 'cluster-a';

interface Peer {
  readonly id: NodeId;
  readonly address: string;
  readonly port: number;
  readonly receiver: PeerReceiver;
  readonly received: Message[];
  server: grpc.Server;
}

const servers: grpc.Server[] = [];
const transports: GrpcTransport[] = [];

afterEach(async () => {
  for (const transport of transports.splice(0)) await transport.close();
  for (const server of servers.splice(0)) stopServer(server);
});

/** The RaftPeer service of a bare receiver: Send only; these tests never propose. */
function receiverService(receiver: PeerReceiver, logger: Logger) {
  return peerServiceOf(
    {
      handleSend: receiver.handleSend,
      propose: () => Promise.reject(new Error('not used')),
      statusResponse: () => ({}),
    },
    logger,
  );
}

/** A receiving node: a RaftPeer server whose receiver records what arrives. */
async function startPeer(id: NodeId, port = 0, clusterId = CLUSTER): Promise<Peer> {
  const { logger } = recordingLogger();
  const received: Message[] = [];
  const receiver = new PeerReceiver({
    id,
    clusterId,
    logger,
    onMessages: (m) => received.push(...m),
  });
  const service = receiverService(receiver, logger);
  const started = await startServer([service], port);
  servers.push(started.server);
  return {
    id,
    address: started.address,
    port: started.port,
    receiver,
    received,
    server: started.server,
  };
}

function transport(
  id: NodeId,
  overrides: Partial<ConstructorParameters<typeof GrpcTransport>[0]> = {},
) {
  const { logger, lines } = recordingLogger();
  const t = new GrpcTransport({
    id,
    clusterId: CLUSTER,
    logger,
    rng: new SeededRng(7),
    reconnectBackoffMsMin: 10,
    reconnectBackoffMsMax: 100,
    ...overrides,
  });
  transports.push(t);
  return { transport: t, lines };
}

function heartbeats(from: NodeId, to: NodeId, first: number, count: number): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ type: MessageType.HEARTBEAT, from, to, term: 1, commit: first + i });
  }
  return out;
}

const sequence = (messages: readonly Message[]): number[] =>
  messages.map((m) => (m.type === MessageType.HEARTBEAT ? m.commit : -1));

describe('GrpcTransport', () => {
  it('delivers messages to their peers in order', async () => {
    const b = await startPeer(2);
    const c = await startPeer(3);
    const { transport: a } = transport(1);
    a.setPeers([
      { id: 1, address: 'self:0' },
      { id: 2, address: b.address },
      { id: 3, address: c.address },
    ]);
    for (let round = 0; round < 10; round++) {
      a.send([...heartbeats(1, 2, round * 10, 10), ...heartbeats(1, 3, round * 10, 10)]);
    }
    await eventually(
      'both peers receive 100',
      () => b.received.length === 100 && c.received.length === 100,
    );
    expect(sequence(b.received)).toEqual([...Array(100).keys()]);
    expect(sequence(c.received)).toEqual([...Array(100).keys()]);
    expect(a.stats.messagesDropped).toBe(0);
    expect(
      a
        .peers()
        .map((p) => p.id)
        .sort(),
    ).toEqual([2, 3]);
  });

  it('batches many messages into few stream writes', async () => {
    const b = await startPeer(2);
    const { transport: a } = transport(1);
    a.setPeers([{ id: 2, address: b.address }]);
    const count = limits.raftPeerQueueMessagesMax;
    a.send(heartbeats(1, 2, 0, count));
    await eventually('all arrive', () => b.received.length === count);
    expect(sequence(b.received)).toEqual([...Array(count).keys()]);
    expect(a.stats.batchesSent).toBeLessThanOrEqual(
      Math.ceil(count / limits.raftPeerBatchMessagesMax),
    );
    expect(a.stats.messagesSent).toBe(count);
  });

  it('a dead peer fills only its own bounded queue and never blocks another', async () => {
    const b = await startPeer(2);
    const deadPort = await freePort();
    const { transport: a } = transport(1, { queueMessagesMax: 16 });
    a.setPeers([
      { id: 2, address: b.address },
      { id: 3, address: `127.0.0.1:${deadPort}` },
    ]);
    for (let round = 0; round < 50; round++) {
      a.send([...heartbeats(1, 3, round * 10, 10), ...heartbeats(1, 2, round * 10, 10)]);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await eventually('the live peer gets everything', () => b.received.length === 500);
    expect(sequence(b.received)).toEqual([...Array(500).keys()]);
    expect(a.queuedMessages(3)).toBeLessThanOrEqual(16);
    expect(a.stats.streamsFailed).toBeGreaterThan(0);
  });

  it('waits for drain on a slow peer, without holding up another peer', async () => {
    // The slow peer's receiver stops reading its stream, so HTTP/2 flow control pushes back.
    const slowReceived: Message[] = [];
    let slowCall: grpc.ServerReadableStream<unknown, unknown> | null = null;
    const { logger } = recordingLogger();
    const slowReceiver = new PeerReceiver({
      id: 3,
      clusterId: CLUSTER,
      logger,
      onMessages: (m) => slowReceived.push(...m),
    });
    const slow = receiverService(slowReceiver, logger);
    const implementation = {
      ...slow.implementation,
      Send: (
        call: grpc.ServerReadableStream<unknown, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        slowCall = call;
        call.pause();
        (slowReceiver.handleSend as (c: unknown, cb: unknown) => void)(call, callback);
        call.pause();
      },
    };
    const slowServer = await startServer([{ definition: slow.definition, implementation }]);
    servers.push(slowServer.server);
    const b = await startPeer(2);
    const { transport: a } = transport(1, { queueMessagesMax: 64 });
    a.setPeers([
      { id: 2, address: b.address },
      { id: 3, address: slowServer.address },
    ]);
    const big = (to: NodeId, index: number): Message => ({
      type: MessageType.APPEND,
      from: 1,
      to,
      term: 1,
      prevLogIndex: index - 1,
      prevLogTerm: index === 1 ? 0 : 1,
      entries: [{ index, term: 1, type: 0, data: Buffer.alloc(256 * 1024, index) }],
      commit: 0,
    });
    for (let i = 1; i <= 64; i++) a.send([big(3, i), ...heartbeats(1, 2, i - 1, 1)]);
    await eventually('the fast peer gets all 64', () => b.received.length === 64);
    await eventually('the slow stream pushed back', () => a.stats.drainWaits > 0);
    expect(slowReceived.length).toBeLessThan(64);
    // Once the slow peer reads again, what was queued flows.
    (slowCall as unknown as grpc.ServerReadableStream<unknown, unknown>).resume();
    await eventually(
      'the slow peer catches up',
      () => slowReceived.length === 64 - a.stats.messagesDropped,
    );
    expect(a.stats.streamsFailed).toBe(0);
  });

  it('drops the oldest messages when a peer queue is full', async () => {
    const deadPort = await freePort();
    const { transport: a } = transport(1, {
      queueMessagesMax: 8,
      reconnectBackoffMsMin: 5_000,
      reconnectBackoffMsMax: 5_000,
    });
    a.setPeers([{ id: 3, address: `127.0.0.1:${deadPort}` }]);
    a.send(heartbeats(1, 3, 0, 1));
    // The first stream fails; while the link backs off for 5 s, sends only queue.
    await eventually('the first stream fails', () => a.stats.streamsFailed === 1);
    a.send(heartbeats(1, 3, 1, 20));
    expect(a.queuedMessages(3)).toBe(8);
    expect(a.stats.messagesDropped).toBe(12);
  });

  it('reconnects with backoff after the peer restarts, and says so in the log', async () => {
    const b = await startPeer(2);
    const { transport: a, lines } = transport(1);
    a.setPeers([{ id: 2, address: b.address }]);
    a.send(heartbeats(1, 2, 0, 5));
    await eventually('first delivery', () => b.received.length === 5);
    stopServer(b.server);
    // The restarted node reuses the port, as a restarted broker with a fixed listen address does.
    const restarted = await startPeer(2, b.port);
    let next = 5;
    await eventually('delivery after the restart', () => {
      a.send(heartbeats(1, 2, next++, 1));
      return restarted.received.length > 0;
    });
    expect(a.stats.streamsFailed).toBeGreaterThan(0);
    expect(lines.some((l) => l.level === WARN && /stream failed/.test(l.msg))).toBe(true);
    await eventually('reconnect logged', () => lines.some((l) => /reconnected/.test(l.msg)));
  });

  it('refuses a foreign-cluster or misaddressed stream with FAILED_PRECONDITION', async () => {
    const foreign = await startPeer(2, 0, 'cluster-b');
    const { transport: a, lines } = transport(1);
    a.setPeers([{ id: 2, address: foreign.address }]);
    a.send(heartbeats(1, 2, 0, 3));
    await eventually('refusal logged', () =>
      lines.some((l) => l.level === ERROR && /refused/.test(l.msg)),
    );
    const refusal = lines.find((l) => l.level === ERROR)!;
    expect(refusal['code']).toBe(grpc.status.FAILED_PRECONDITION);
    expect(String(refusal['details'])).toMatch(
      /cluster cluster-a reached node 2 of cluster cluster-b/,
    );
    expect(foreign.received).toEqual([]);
    expect(foreign.receiver.stats.streamsRefused).toBeGreaterThan(0);

    // Node 3's address given for node 2: the receiver is not who the sender expects.
    const misaddressed = await startPeer(3);
    const { transport: a2, lines: lines2 } = transport(1);
    a2.setPeers([{ id: 2, address: misaddressed.address }]);
    a2.send(heartbeats(1, 2, 0, 3));
    await eventually('misaddressed refusal', () => lines2.some((l) => l.level === ERROR));
    expect(String(lines2.find((l) => l.level === ERROR)!['details'])).toMatch(
      /for node 2 reached node 3/,
    );
    expect(misaddressed.received).toEqual([]);
  });

  it('drops a malformed message with a warning and delivers its neighbours', async () => {
    const b = await startPeer(2);
    const client = new (brookV1Peer().RaftPeer)(b.address, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set(METADATA_CLUSTER_ID, CLUSTER);
    metadata.set(METADATA_FROM, '1');
    metadata.set(METADATA_TO, '2');
    const ack = new Promise<number>((resolve, reject) => {
      const stream = client.Send(metadata, { deadline: Date.now() + 5_000 }, (error, response) =>
        error === null ? resolve(response!.messagesReceived) : reject(error),
      );
      const [good1, good2] = heartbeats(1, 2, 0, 2).map(messageToProto);
      stream.write({ messages: [good1!, { from: 1, to: 2, term: 1 }, { ...good2!, from: 9 }] });
      stream.end();
    });
    expect(await ack).toBe(1);
    client.close();
    expect(sequence(b.received)).toEqual([0]);
    expect(b.receiver.stats.messagesMalformed).toBe(2);
  });

  it('close() ends streams so the peer server can shut down gracefully', async () => {
    const b = await startPeer(2);
    const { transport: a } = transport(1);
    a.setPeers([{ id: 2, address: b.address }]);
    a.send(heartbeats(1, 2, 0, 3));
    await eventually('delivery', () => b.received.length === 3);
    await a.close();
    await a.close();
    a.send(heartbeats(1, 2, 3, 1));
    const started = Date.now();
    await new Promise<void>((resolve) => b.server.tryShutdown(() => resolve()));
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('re-points a link when a member address changes and forgets removed members', async () => {
    const old = await startPeer(2);
    const moved = await startPeer(2);
    const { transport: a } = transport(1);
    a.setPeers([{ id: 2, address: old.address }]);
    a.send(heartbeats(1, 2, 0, 1));
    await eventually('old address', () => old.received.length === 1);
    a.setPeers([{ id: 2, address: moved.address }]);
    a.send(heartbeats(1, 2, 1, 1));
    await eventually('new address', () => moved.received.length === 1);
    a.setPeers([]);
    a.send(heartbeats(1, 2, 2, 1));
    expect(a.stats.messagesUnroutable).toBe(1);
  });
});
