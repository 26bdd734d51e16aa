/**
 * Checks that the dev cluster's ports are free before any node starts, so a port held by another
 * process (often a `brook dev` or `brook server` still running) is one clear message rather than
 * one node failing while the others start.
 */
import net from 'node:net';

/**
 * Resolves when every port can be listened on at `host` right now (each is bound and released
 * at once, one after another); rejects with an Error naming the first one that cannot.
 */
export async function checkPortsFree(host: string, ports: readonly number[]): Promise<void> {
  for (const port of ports) {
    const failure = await tryListen(host, port);
    if (failure === null) continue;
    if (failure.code === 'EADDRINUSE') {
      throw new Error(
        `port ${port} on ${host} is in use (another brook dev or brook server?); stop that process or choose other ports with --base-port`,
      );
    }
    throw new Error(`cannot listen on ${host}:${port} (${failure.code ?? failure.message})`);
  }
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}
