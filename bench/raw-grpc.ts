/**
 * The gRPC yardstick of the Raft benchmark: the same pipelined Propose loop as the Raft phase
 * (raft-workload.ts), against a server in a child process (raw-grpc-child.ts) that answers at
 * once. It measures what one loopback gRPC hop with these messages costs on this machine, with
 * nothing in between; Raft's rate is reported as a ratio of it. Run while no broker runs, so
 * the two never compete for the 2 cores.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RaftClients } from './raft-client.js';
import {
  measureThroughput,
  type ThroughputResult,
  type ThroughputSettings,
} from './raft-workload.js';

/** How long the child may take to bind and report its port. */
const CHILD_READY_MS = 10_000;

const liveChildren = new Set<ChildProcess>();

/** Kills raw gRPC children still running (for exit paths). */
export function killRawGrpcChildren(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  liveChildren.clear();
}

export async function measureRawGrpc(
  pool: readonly Buffer[],
  settings: ThroughputSettings,
): Promise<ThroughputResult> {
  const script = fileURLToPath(new URL('./raw-grpc-child.js', import.meta.url));
  const child = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  liveChildren.add(child);
  const clients = new RaftClients();
  try {
    const port = await childPort(child);
    const address = `127.0.0.1:${port}`;
    return await measureThroughput(
      clients,
      { address: () => address, redirect: () => undefined },
      pool,
      settings,
    );
  } finally {
    clients.close();
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_READY_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.send('stop');
    });
    liveChildren.delete(child);
  }
}

function childPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`raw gRPC child did not start within ${CHILD_READY_MS} ms`));
    }, CHILD_READY_MS);
    child.once('message', (message: { port: number }) => {
      clearTimeout(timer);
      resolve(message.port);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`raw gRPC child exited (code ${code}, signal ${signal})`));
    });
  });
}
