/**
 * Raw loopback gRPC and TCP, the network half of the cluster's floors: servers in a child
 * process (raw-loopback-child.ts, so they share no event loop with the bench) and this process
 * as the client, on 127.0.0.1, raw Buffer messages (raw-loopback-service.ts).
 *   roundTrips(): sequential unary calls, each awaited, as one-at-a-time sends do: latency;
 *   stream():     one server-streaming call of 1 MiB messages, as a client's produce stream
 *                 carries its batches: MB/s and CPU per MB of both processes;
 *   tcpStream():  the same bytes as 1 MiB writes on a plain TCP connection, read into one
 *                 reused buffer, as the framed fetch transport carries a leader's batches to a
 *                 follower: MB/s and CPU per MB of both processes.
 * Run while no broker runs, so nothing competes for the cores.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { ProgressLine, type Counter } from './measure.js';
import {
  MESSAGE_BYTES_MAX,
  RAW_LOOPBACK_SERVICE,
  TCP_REQUEST_END,
  encodeStreamRequest,
  type PortMessage,
  type StreamCpuMessage,
} from './raw-loopback-service.js';

/** How long the child may take to start, to answer over IPC, and to stop. */
const CHILD_ANSWER_MS = 10_000;
/** A call may run this long past its phase's deadline before it is given up as hung. */
const CALL_GRACE_MS = 10_000;
/** Distinct request values cycled through. */
const REQUEST_POOL_SIZE = 16;
/** The TCP stream's read buffer, reused for every read: the follower's (fetch-link.ts). */
const TCP_READ_BUFFER_BYTES = 256 * 1024;

const asIs = (value: Buffer): Buffer => value;

const liveChildren = new Set<ChildProcess>();

/** Kills raw loopback children still running (for exit paths). */
export function killRawLoopbackChildren(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  liveChildren.clear();
}

export interface RoundTripRequest {
  readonly count: number;
  /** Calls made first and not counted: channel set-up and the JIT. */
  readonly warmupCount: number;
  readonly requestBytes: number;
  /** Stops here (checked before each call) and reports what it measured. */
  readonly deadlineMs: number;
  /** Record size for the progress line (one call, one record). */
  readonly recordBytes: number;
}

export interface RoundTripResult {
  readonly seconds: number;
  readonly isComplete: boolean;
  /** Each counted call's round trip, µs. */
  readonly samplesUs: number[];
}

export interface StreamResult {
  /** Bytes asked for, and bytes received (fewer when the deadline stopped the sender). */
  readonly requestedBytes: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly isComplete: boolean;
  /** CPU of the sending child and of this process over the stream; null if the child's is lost. */
  readonly serverCpuSeconds: number | null;
  readonly clientCpuSeconds: number;
}

export class RawLoopback {
  private constructor(
    private readonly child: ChildProcess,
    private readonly client: grpc.Client,
    private readonly tcpPort: number,
  ) {}

  /** Starts the child and connects to it. */
  static async start(): Promise<RawLoopback> {
    const script = fileURLToPath(new URL('./raw-loopback-child.js', import.meta.url));
    // stdout is ignored so nothing can mix into the benchmark's --json output.
    const child = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    liveChildren.add(child);
    let port: number;
    let tcpPort: number;
    try {
      ({ port, tcpPort } = await nextMessage<PortMessage>(child, 'start'));
    } catch (error) {
      await stopChild(child);
      throw error;
    }
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MESSAGE_BYTES_MAX,
      'grpc.max_send_message_length': MESSAGE_BYTES_MAX,
      // The SDK's receive window (client/connection.ts): the yardstick errs toward the fastest.
      'grpc-node.flow_control_window': 16 * 1024 * 1024,
    });
    return new RawLoopback(child, client, tcpPort);
  }

  /** Sequential RoundTrip calls, each awaited before the next: latency of one hop and back. */
  async roundTrips(request: RoundTripRequest): Promise<RoundTripResult> {
    const pool: Buffer[] = [];
    for (let i = 0; i < REQUEST_POOL_SIZE; i++) {
      pool.push(randomFillSync(Buffer.allocUnsafe(request.requestBytes)));
    }
    const options: grpc.CallOptions = { deadline: request.deadlineMs + CALL_GRACE_MS };
    const call = (value: Buffer): Promise<void> =>
      new Promise((resolve, reject) => {
        const path = RAW_LOOPBACK_SERVICE.RoundTrip.path;
        this.client.makeUnaryRequest(path, asIs, asIs, value, options, (error) =>
          error === null ? resolve() : reject(error),
        );
      });
    for (let i = 0; i < request.warmupCount && Date.now() < request.deadlineMs; i++) {
      await call(pool[i % pool.length]!);
    }
    const samplesUs: number[] = [];
    const counter: Counter = { count: 0 };
    const label = 'raw gRPC round trips';
    const progress = new ProgressLine(label, counter, request.count, request.recordBytes);
    const startMs = performance.now();
    try {
      while (samplesUs.length < request.count && Date.now() < request.deadlineMs) {
        const value = pool[samplesUs.length % pool.length]!;
        const callMs = performance.now();
        await call(value);
        samplesUs.push(Math.max(1, Math.round((performance.now() - callMs) * 1_000)));
        counter.count = samplesUs.length;
      }
    } finally {
      progress.stop();
    }
    return {
      seconds: (performance.now() - startMs) / 1_000,
      isComplete: samplesUs.length === request.count,
      samplesUs,
    };
  }

  /**
   * One Stream call of `bytes` (the child stops at `deadlineMs`), read as fast as it comes;
   * then the child's CPU over it, asked for over IPC. `recordBytes` scales the progress line.
   */
  async stream(bytes: number, deadlineMs: number, recordBytes: number): Promise<StreamResult> {
    const counter: Counter = { count: 0 };
    const total = Math.ceil(bytes / recordBytes);
    const progress = new ProgressLine('raw gRPC stream', counter, total, recordBytes);
    let received = 0;
    const cpuBefore = process.cpuUsage();
    const startMs = performance.now();
    try {
      await new Promise<void>((resolve, reject) => {
        const call = this.client.makeServerStreamRequest(
          RAW_LOOPBACK_SERVICE.Stream.path,
          asIs,
          asIs,
          encodeStreamRequest({ bytes, deadlineMs }),
          { deadline: deadlineMs + CALL_GRACE_MS },
        );
        call.on('data', (message: Buffer) => {
          received += message.length;
          counter.count = Math.floor(received / recordBytes);
        });
        call.on('error', reject);
        call.on('end', resolve);
      });
    } finally {
      progress.stop();
    }
    return this.streamResult(bytes, received, startMs, cpuBefore);
  }

  /**
   * The same as stream() on a plain TCP connection: the request as one line, then `bytes` (the
   * child stops at `deadlineMs`) read into one reused buffer until the child ends the stream.
   */
  async tcpStream(bytes: number, deadlineMs: number, recordBytes: number): Promise<StreamResult> {
    const counter: Counter = { count: 0 };
    const total = Math.ceil(bytes / recordBytes);
    let received = 0;
    const cpuBefore = process.cpuUsage();
    const startMs = performance.now();
    const socket = net.connect({
      host: '127.0.0.1',
      port: this.tcpPort,
      // Counted, not copied (the follower copies each answer once): the yardstick errs toward
      // the fastest, as the gRPC one does with the SDK's widest window.
      onread: {
        buffer: Buffer.allocUnsafe(TCP_READ_BUFFER_BYTES),
        callback: (n) => {
          received += n;
          counter.count = Math.floor(received / recordBytes);
          return true;
        },
      },
    });
    const progress = new ProgressLine('raw TCP stream', counter, total, recordBytes);
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`raw TCP stream still open ${CALL_GRACE_MS} ms past its deadline`)),
          Math.max(0, deadlineMs + CALL_GRACE_MS - Date.now()),
        );
        socket.on('error', reject);
        socket.on('end', resolve);
        // Closed without an end (or after 'error', already rejected): it counts what arrived.
        socket.on('close', resolve);
        socket.setNoDelay(true);
        socket.write(`${encodeStreamRequest({ bytes, deadlineMs }).toString()}${TCP_REQUEST_END}`);
      });
    } finally {
      clearTimeout(timer);
      socket.destroy();
      progress.stop();
    }
    return this.streamResult(bytes, received, startMs, cpuBefore);
  }

  /** A finished stream's figures, with the child's CPU over it asked for over IPC. */
  private async streamResult(
    requestedBytes: number,
    received: number,
    startMs: number,
    cpuBefore: NodeJS.CpuUsage,
  ): Promise<StreamResult> {
    const seconds = (performance.now() - startMs) / 1_000;
    const cpu = process.cpuUsage(cpuBefore);
    let serverCpuSeconds: number | null = null;
    try {
      this.child.send('cpu');
      serverCpuSeconds = (await nextMessage<StreamCpuMessage>(this.child, 'cpu')).cpuSeconds;
    } catch {
      // Reported as unknown: the transfer's rate still stands.
    }
    return {
      requestedBytes,
      bytes: received,
      seconds,
      isComplete: received === requestedBytes,
      serverCpuSeconds,
      clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  }

  /** Closes the channel and stops the child (SIGKILL if it does not exit in time). */
  async stop(): Promise<void> {
    this.client.close();
    await stopChild(this.child);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_ANSWER_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.send('stop');
    else child.kill('SIGTERM');
  });
  liveChildren.delete(child);
}

/** The child's next IPC message; rejects if it exits or takes longer than CHILD_ANSWER_MS. */
function nextMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: T): void => {
      cleanUp();
      resolve(message);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanUp();
      reject(new Error(`raw loopback child exited (code ${code}, signal ${signal})`));
    };
    const timer = setTimeout(() => {
      cleanUp();
      reject(new Error(`raw loopback child did not answer '${what}' in ${CHILD_ANSWER_MS} ms`));
    }, CHILD_ANSWER_MS);
    const cleanUp = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}
