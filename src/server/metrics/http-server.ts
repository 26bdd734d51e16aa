/**
 * The Prometheus endpoint: a plain node:http server on metrics.listen answering GET (and HEAD)
 * /metrics with the registry in the text exposition format. Every other path is 404, another
 * method on /metrics 405. It serves nothing else, so it can listen on a wildcard address
 * without exposing the broker's API.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export const METRICS_PATH = '/metrics';
/** How long close() lets a scrape in progress finish before dropping its connection. */
const CLOSE_GRACE_MS = 1_000;

export interface MetricsServer {
  /** host:port bound (the real port when metrics.listen asked for port 0). */
  readonly address: string;
  /** Stops listening and closes the connections; idempotent. */
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  /** Told about a scrape that failed (a collector threw); it was answered 500. */
  readonly onScrapeError: (error: unknown) => void;
}

/** Binds and serves; rejects when the address cannot be bound (e.g. EADDRINUSE). */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    void answer(request, response, options);
  });
  // Scrapes come every few seconds from one or two Prometheus servers; a connection left idle
  // for longer than that is dropped rather than kept.
  server.keepAliveTimeout = 30_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: unbracketed(options.host), port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  let closing: Promise<void> | null = null;
  return {
    address: `${host}:${bound.port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const grace = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(grace);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

async function answer(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  options: MetricsServerOptions,
): Promise<void> {
  const pathname = (request.url ?? '/').split('?', 1)[0];
  if (pathname !== METRICS_PATH) {
    reply(response, 404, 'not found: metrics are served at /metrics\n');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    reply(response, 405, 'method not allowed: use GET\n');
    return;
  }
  let body: string;
  try {
    body = await options.registry.metrics();
  } catch (error) {
    options.onScrapeError(error);
    reply(response, 500, 'collecting metrics failed; the broker log has the details\n');
    return;
  }
  response.statusCode = 200;
  response.setHeader('Content-Type', options.registry.contentType);
  response.setHeader('Content-Length', Buffer.byteLength(body));
  response.end(request.method === 'HEAD' ? undefined : body);
}

function reply(response: http.ServerResponse, status: number, text: string): void {
  response.statusCode = status;
  response.setHeader('Content-Type', 'text/plain; charset=utf-8');
  response.end(text);
}

/** node:http wants an IPv6 host without the brackets host:port needs. */
function unbracketed(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
