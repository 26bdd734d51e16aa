/**
 * The /metrics endpoint on a loopback port the OS picks: the registry's text with Prometheus's
 * content type on GET, 404 elsewhere, 405 for other methods, 500 when a collector throws, and
 * close() ending the listener.
 */
import http from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../../../src/server/metrics/index.js';

let served: MetricsServer | null = null;
afterEach(async () => {
  await served?.close();
  served = null;
});

function request(
  address: string,
  pathname: string,
  method = 'GET',
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`http://${address}${pathname}`, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(registry: Registry, errors: unknown[] = []): Promise<MetricsServer> {
  served = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    onScrapeError: (error) => errors.push(error),
  });
  return served;
}

describe('metrics http server', () => {
  it('serves the registry at /metrics in the Prometheus text format', async () => {
    const registry = new Registry();
    new Gauge({ name: 'brook_test_value', help: 'a value', registers: [registry] }).set(42);
    const server = await serve(registry);
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const got = await request(server.address, '/metrics');
    expect(got.status).toBe(200);
    expect(got.type).toBe(registry.contentType);
    expect(got.body).toContain('# TYPE brook_test_value gauge');
    expect(got.body).toContain('brook_test_value 42');
    expect((await request(server.address, '/metrics?x=1')).status).toBe(200);
  });

  it('answers 404 on other paths and 405 on other methods', async () => {
    const server = await serve(new Registry());
    expect((await request(server.address, '/')).status).toBe(404);
    expect((await request(server.address, '/metrics/x')).status).toBe(404);
    expect((await request(server.address, '/metrics', 'POST')).status).toBe(405);
  });

  it('answers 500 and reports the error when a collector throws', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'brook_test_broken',
      help: 'throws',
      registers: [registry],
      collect() {
        throw new Error('collector failed');
      },
    });
    const errors: unknown[] = [];
    const server = await serve(registry, errors);
    expect((await request(server.address, '/metrics')).status).toBe(500);
    expect(errors).toHaveLength(1);
  });

  it('stops listening on close', async () => {
    const server = await serve(new Registry());
    await server.close();
    await expect(request(server.address, '/metrics')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses an address already in use', async () => {
    const first = await serve(new Registry());
    const [, port] = first.address.split(':');
    await expect(
      startMetricsServer({
        host: '127.0.0.1',
        port: Number(port),
        registry: new Registry(),
        onScrapeError: () => undefined,
      }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
