/**
 * Consecutive free loopback ports, for commands that take a base port and use the ports after
 * it (`brook dev --base-port P` listens on P..P+N-1). freePort() in broker-process.ts lets the OS
 * pick one port; a range has to be found by trying: each port of a random range is bound, and
 * all are released once every one of them could be.
 */
import net from 'node:net';

/** Bases are drawn below Linux's default ephemeral range (32768-60999), which outgoing
 * connections take their local ports from. */
const BASE_PORT_MIN = 20_000;
const PORT_END = 32_000;
const ATTEMPTS_MAX = 20;

/**
 * A base port P such that P..P+count-1 were all free on 127.0.0.1 a moment ago. Rejects after
 * 20 random bases that each had a port taken.
 */
export async function freePortRange(count: number): Promise<number> {
  if (!Number.isInteger(count) || count < 1 || count > 100) {
    throw new RangeError(`count must be an integer in [1, 100], got ${count}`);
  }
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    const base = BASE_PORT_MIN + Math.floor(Math.random() * (PORT_END - BASE_PORT_MIN - count));
    const held: net.Server[] = [];
    try {
      for (let port = base; port < base + count; port++) {
        const server = await listen(port);
        if (server === null) break;
        held.push(server);
      }
    } finally {
      await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
    }
    if (held.length === count) return base;
  }
  throw new Error(`no ${count} consecutive free ports found in ${ATTEMPTS_MAX} attempts`);
}

/** A server listening on 127.0.0.1:port, or null when the port cannot be had. */
function listen(port: number): Promise<net.Server | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(null));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(server));
  });
}
