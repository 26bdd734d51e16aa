/**
 * metrics.listen: off unless set, host:port when set by flag, environment or file, and a bad
 * value stops the start with a message naming the key.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadBrokerConfig } from '../../../src/config/index.js';

const load = (flags: Record<string, string>, env: Record<string, string> = {}) =>
  loadBrokerConfig({ flags, env, file: null });

describe('metrics.listen', () => {
  it('is off by default', () => {
    expect(load({}).metricsListen).toBeNull();
  });

  it('parses host:port from a flag or the environment', () => {
    expect(load({ 'metrics.listen': '0.0.0.0:9464' }).metricsListen).toEqual({
      host: '0.0.0.0',
      port: 9464,
    });
    expect(load({}, { BROOK_METRICS_LISTEN: '[::1]:9000' }).metricsListen).toEqual({
      host: '[::1]',
      port: 9000,
    });
  });

  it('can be switched off again with an empty value', () => {
    expect(
      load({ 'metrics.listen': '' }, { BROOK_METRICS_LISTEN: '127.0.0.1:9464' }).metricsListen,
    ).toBeNull();
  });

  it('refuses a value that is not host:port', () => {
    expect(() => load({ 'metrics.listen': '9464' })).toThrow(ConfigError);
    expect(() => load({ 'metrics.listen': '9464' })).toThrow(
      /metrics\.listen must be host:port or empty/,
    );
  });
});
