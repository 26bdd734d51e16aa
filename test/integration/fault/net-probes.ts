/**
 * Tiny programs that show what a fault network lets through: an echo server per node (TCP echo,
 * and UDP datagrams reported on stdout), and one-shot clients that run in a node's namespace or
 * in the root one. A probe answers 'ok', 'timeout' or 'error <code>' and never throws, so tests
 * assert on the exact outcome. Every server is tracked and killed by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultNetwork } from '../../fault/net/index.js';

/** The port every probe server listens on: each node has its own address, so no clash. */
export const PROBE_PORT = 7000;

/** How long a probe waits for its connection and echo: a cut link shows as a timeout. */
export const PROBE_TIMEOUT_MS = 500;

const START_TIMEOUT_MS = 5_000;

/** argv: host port. Echoes TCP; prints "udp <from> <payload>" per datagram. */
const SERVER_SCRIPT = `
const net = require('node:net');
const dgram = require('node:dgram');
const [host, port] = process.argv.slice(1);
let bound = 0;
const up = () => { if (++bound === 2) process.stdout.write('listening\\n'); };
const tcp = net.createServer((socket) => { socket.on('error', () => {}); socket.pipe(socket); });
tcp.listen(Number(port), host, up);
const udp = dgram.createSocket('udp4');
udp.on('message', (msg, from) => process.stdout.write('udp ' + from.address + ' ' + msg + '\\n'));
udp.bind(Number(port), host, up);
`;

/** argv: host port timeoutMs. Exit 0 and "ok" when the echo comes back. */
const TCP_CLIENT_SCRIPT = `
const net = require('node:net');
const [host, port, timeoutMs] = process.argv.slice(1);
const done = (text) => { process.stdout.write(text); process.exit(0); };
setTimeout(() => done('timeout'), Number(timeoutMs));
const socket = net.connect({ host, port: Number(port) });
socket.on('connect', () => socket.write('ping'));
socket.on('data', (data) => { if (String(data).includes('ping')) done('ok'); });
socket.on('error', (error) => done('error ' + error.code));
`;

/** argv: host port payload. Prints "sent" or "error <code>". */
const UDP_SENDER_SCRIPT = `
const dgram = require('node:dgram');
const [host, port, payload] = process.argv.slice(1);
const socket = dgram.createSocket('udp4');
socket.send(payload, Number(port), host, (error) => {
  process.stdout.write(error ? 'error ' + error.code : 'sent');
  socket.close();
});
`;

export type ProbeResult = 'ok' | 'timeout' | `error ${string}`;

/** A probe server running in one node's namespace. */
export class ProbeServer {
  private output = '';

  private constructor(
    readonly node: number,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
  }

  /** Spawns the server through netnsExecArgv and resolves once both sockets are bound. */
  static async start(network: FaultNetwork, node: number): Promise<ProbeServer> {
    const argv = network.netnsExecArgv(node, [
      process.execPath,
      '-e',
      SERVER_SCRIPT,
      network.address(node),
      String(PROBE_PORT),
    ]);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new ProbeServer(node, child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!server.output.includes('listening\n')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        server.kill();
        throw new Error(`probe server on node ${node} did not start: ${stderr}`);
      }
      await sleep(10);
    }
    return server;
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error('probe server has no pid');
    return pid;
  }

  /** Whether a datagram with `payload` arrived within `waitMs`. */
  async receivedUdp(payload: string, waitMs: number): Promise<boolean> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.output.includes(` ${payload}\n`)) return true;
      if (Date.now() > deadline) return false;
      await sleep(10);
    }
  }

  /** SIGKILL by pid; a no-op once exited. */
  kill(): void {
    if (!this.hasExited()) this.child.kill('SIGKILL');
  }

  /** SIGKILL by pid, then waits until the process is gone from its namespace. */
  async stop(): Promise<void> {
    if (this.hasExited()) return;
    const exited = once(this.child, 'exit');
    this.kill();
    await exited;
  }

  private hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }
}

/** A TCP echo round trip from node `from`'s namespace to node `to`. */
export async function tcpProbe(
  network: FaultNetwork,
  from: number,
  to: number,
): Promise<ProbeResult> {
  const script = [
    TCP_CLIENT_SCRIPT,
    network.address(to),
    String(PROBE_PORT),
    `${PROBE_TIMEOUT_MS}`,
  ];
  return (await runInNode(network, from, script)) as ProbeResult;
}

/** A TCP echo round trip from the root namespace (where clients run) to node `to`. */
export function rootTcpProbe(network: FaultNetwork, to: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: network.address(to), port: PROBE_PORT });
    const done = (result: ProbeResult): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('timeout'), PROBE_TIMEOUT_MS);
    socket.on('connect', () => socket.write('ping'));
    socket.on('data', (data) => {
      if (data.toString('utf8').includes('ping')) done('ok');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => done(`error ${error.code ?? '?'}`));
  });
}

/** Sends one datagram from node `from` to node `to`; resolves "sent" or "error <code>". */
export function udpSend(
  network: FaultNetwork,
  from: number,
  to: number,
  payload: string,
): Promise<string> {
  const script = [UDP_SENDER_SCRIPT, network.address(to), String(PROBE_PORT), payload];
  return runInNode(network, from, script);
}

/** Runs `node -e <script> args...` in a node's namespace and resolves its stdout. */
function runInNode(
  network: FaultNetwork,
  node: number,
  script: readonly string[],
): Promise<string> {
  const [source = '', ...args] = script;
  const argv = network.netnsExecArgv(node, [process.execPath, '-e', source, ...args]);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(stdout.trim());
      else reject(new Error(`probe in node ${node} exited ${code}: ${stderr}`));
    });
  });
}
