/**
 * The node's one port as a gRPC client sees it: HTTP/2 as before (the framed fetch transport
 * shares the port, see replication/framed-fetch.test.ts), with the 16 MiB receive window the
 * node sets on grpc-js's HTTP/2 server, per stream and for the connection.
 */
import { connect, type ClientHttp2Session, type Settings } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECEIVE_WINDOW_BYTES } from '../../../src/server/replica-transport/shared-port.js';
import { startBroker, type BrokerProcess } from '../../helpers/broker-process.js';

let node: BrokerProcess;

beforeAll(async () => {
  node = await startBroker();
}, 60_000);

afterAll(async () => {
  await node?.cleanup();
});

describe('the shared port', () => {
  it('speaks HTTP/2 with a 16 MiB receive window per stream and per connection', async () => {
    const session: ClientHttp2Session = connect(`http://${node.address}`);
    try {
      const settings = await new Promise<Settings>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      expect(settings.initialWindowSize).toBe(RECEIVE_WINDOW_BYTES);
      // The connection window arrives as a WINDOW_UPDATE right after the settings.
      await expect
        .poll(() => session.state.remoteWindowSize, { timeout: 5_000 })
        .toBeGreaterThanOrEqual(RECEIVE_WINDOW_BYTES);
    } finally {
      session.destroy();
    }
  });
});
