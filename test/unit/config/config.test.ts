/**
 * Broker configuration: precedence (flag > env > file > default), parsing of every type, and
 * clear errors naming the key and its source. Pure apart from temp config files.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BROKER_CONFIGS,
  ConfigError,
  envName,
  flagName,
  loadBrokerConfig,
  parseAddress,
} from '../../../src/config/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'brook-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (
  flags: Record<string, string> = {},
  env: Record<string, string> = {},
  file: string | null = null,
) => loadBrokerConfig({ flags, env, file });

describe('broker config', () => {
  it('has the documented defaults', () => {
    const config = load();
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 7070 });
    expect(config.dataDir).toBe(path.resolve('./data'));
    expect(config.nodeId).toBe(0);
    expect(config.fsync).toBe('always');
    expect(config.autoCreateTopics).toBe(false);
    expect(config.advertisedAddress).toBe('127.0.0.1:7070');
  });

  it('flags win over env, env over file, file over defaults', () => {
    const file = path.join(dir, 'a.properties');
    writeFileSync(file, '# comment\nnode.id=3\nlog.retention.ms=1000\nnum.partitions=4\n');
    const config = load(
      { 'node.id': '5' },
      { BROOK_NODE_ID: '4', BROOK_LOG_RETENTION_MS: '2000' },
      file,
    );
    expect(config.nodeId).toBe(5);
    expect(config.retentionMs).toBe(2000);
    expect(config.numPartitions).toBe(4);
    expect(config.entries.get('num.partitions')?.source).toBe('file');
    expect(config.entries.get('node.id')?.source).toBe('flag');
  });

  it('reads JSON config files', () => {
    const file = path.join(dir, 'a.json');
    writeFileSync(file, JSON.stringify({ 'auto.create.topics.enable': true, 'node.id': 9 }));
    const config = load({}, {}, file);
    expect(config.autoCreateTopics).toBe(true);
    expect(config.nodeId).toBe(9);
  });

  it.each([
    [{ 'node.id': '-1' }, /node.id must be between 0/],
    [{ 'node.id': 'x' }, /node.id must be a whole number/],
    [{ listen: 'nope' }, /listen must be host:port/],
    [{ listen: '127.0.0.1:70000' }, /listen must be host:port/],
    [{ 'log.fsync': 'sometimes' }, /log.fsync must be one of always, interval, never/],
    [{ 'auto.create.topics.enable': 'maybe' }, /must be true or false/],
    [{ 'no.such.key': '1' }, /unknown config "no.such.key"/],
  ])('rejects %j with a clear message', (flags, message) => {
    expect(() => load(flags)).toThrow(ConfigError);
    expect(() => load(flags)).toThrow(message);
  });

  it('names the source of a bad value', () => {
    expect(() => load({}, { BROOK_NUM_PARTITIONS: '0' })).toThrow(
      /environment BROOK_NUM_PARTITIONS/,
    );
    const file = path.join(dir, 'bad.properties');
    writeFileSync(file, 'this line has no equals sign\n');
    expect(() => load({}, {}, file)).toThrow(/line 1: expected key=value/);
  });

  it('advertises loopback for a wildcard listen address', () => {
    expect(load({ listen: '0.0.0.0:9000' }).advertisedAddress).toBe('127.0.0.1:9000');
  });

  it('derives flag and env names from every key', () => {
    for (const d of BROKER_CONFIGS) {
      expect(flagName(d.name)).toMatch(/^[a-z-]+$/);
      expect(envName(d.name)).toMatch(/^BROOK_[A-Z_]+$/);
    }
  });

  it('parses IPv6 addresses', () => {
    expect(parseAddress('[::1]:7070')).toEqual({ host: '[::1]', port: 7070 });
    expect(parseAddress(':7070')).toBeNull();
  });
});
