/**
 * The raft.* broker keys: defaults, the voters list in Kafka's `id@host:port,...` form, and the
 * relations between keys (timeouts in whole ticks, this node among the voters). Every bad input
 * must fail with a ConfigError whose one line names the key, so an operator knows what to fix.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadBrokerConfig, parseVoters } from '../../../src/config/index.js';

const load = (flags: Record<string, string> = {}, env: Record<string, string> = {}) =>
  loadBrokerConfig({ flags, env, file: null });

/** The message a bad config fails with; fails the test when it does not throw a ConfigError. */
function errorOf(flags: Record<string, string>, env: Record<string, string> = {}): string {
  try {
    load(flags, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(flags)} to be refused`);
}

describe('raft config', () => {
  it('has the documented defaults, in ticks', () => {
    expect(load().raft).toEqual({
      voters: [{ id: 0, address: '127.0.0.1:7070' }],
      tickMs: 10,
      electionTicks: 100,
      heartbeatTicks: 10,
      snapshotEntries: 10_000,
      snapshotChunkBytes: 1024 * 1024,
      appendBytesMax: 1024 * 1024,
      inflightAppendsMax: 64,
      uncommittedBytesMax: 64 * 1024 * 1024,
    });
  });

  it('an empty voters list is this node alone, at its advertised address', () => {
    const config = load({ 'node.id': '4', 'advertised.address': 'broker-4.example:9000' });
    expect(config.raft.voters).toEqual([{ id: 4, address: 'broker-4.example:9000' }]);
  });

  it('parses voters in the order given, with spaces around items', () => {
    const config = load({
      'node.id': '2',
      'raft.voters': '1@10.0.0.1:7070, 2@[::1]:7071 ,3@node-3.brook.svc:7070',
    });
    expect(config.raft.voters).toEqual([
      { id: 1, address: '10.0.0.1:7070' },
      { id: 2, address: '[::1]:7071' },
      { id: 3, address: 'node-3.brook.svc:7070' },
    ]);
  });

  it('takes voters from the environment too', () => {
    const config = load({ 'node.id': '1' }, { BROOK_RAFT_VOTERS: '1@h1:1,2@h2:2' });
    expect(config.raft.voters.map((v) => v.id)).toEqual([1, 2]);
  });

  it('derives election and heartbeat ticks from milliseconds', () => {
    const config = load({
      'raft.tick.ms': '20',
      'raft.election.timeout.ms': '300',
      'raft.heartbeat.interval.ms': '60',
    });
    expect(config.raft).toMatchObject({ tickMs: 20, electionTicks: 15, heartbeatTicks: 3 });
  });

  it.each([
    [{ 'raft.voters': '1@h:1,x@h:2' }, /raft.voters: "x@h:2" is not id@host:port/],
    [{ 'raft.voters': '-1@h:1' }, /raft.voters: "-1@h:1" is not id@host:port/],
    [{ 'raft.voters': '0@h:1,0@h:2' }, /raft.voters: node id 0 appears twice/],
    [{ 'raft.voters': '0@h:1,1@h:1' }, /raft.voters: address h:1 appears twice/],
    [{ 'raft.voters': '0@h' }, /raft.voters: "0@h": "h" is not host:port/],
    [{ 'raft.voters': '0@h:99999' }, /raft.voters: "0@h:99999": "h:99999" is not host:port/],
    [{ 'raft.voters': '0@h:1,' }, /raft.voters: "" is not id@host:port/],
    [{ 'raft.voters': '0@h:0' }, /raft.voters: "0@h:0": port 0 cannot be dialled/],
    [{ 'raft.voters': '99999999999@h:1' }, /raft.voters: .*the node id must be 0 to 2147483647/],
    [{ 'raft.tick.ms': '0' }, /raft.tick.ms must be between 1 and/],
    [
      { 'raft.tick.ms': '100', 'raft.election.timeout.ms': '250' },
      /raft.election.timeout.ms \(250\) must be a multiple/,
    ],
    [
      { 'raft.tick.ms': '100', 'raft.election.timeout.ms': '200' },
      /raft.election.timeout.ms .* at least 3 ticks \(300\)/,
    ],
    [
      { 'raft.tick.ms': '100', 'raft.heartbeat.interval.ms': '150' },
      /raft.heartbeat.interval.ms \(150\) must be a mult/,
    ],
    [{ 'raft.heartbeat.interval.ms': '1000' }, /below raft.election.timeout.ms \(1000\)/],
    [{ 'raft.snapshot.entries': '0' }, /raft.snapshot.entries must be between 1 and/],
    [{ 'raft.snapshot.chunk.bytes': '10' }, /raft.snapshot.chunk.bytes must be between 1024/],
    [{ 'raft.append.bytes.max': 'lots' }, /raft.append.bytes.max must be a whole number/],
    [{ 'raft.inflight.appends.max': '0' }, /raft.inflight.appends.max must be between 1/],
    [
      { 'raft.uncommitted.bytes.max': '2048', 'raft.append.bytes.max': '4096' },
      /raft.uncommitted.bytes.max \(2048\) must be at least raft.append.bytes.max \(4096\)/,
    ],
  ])('refuses %j, naming the key', (flags, message) => {
    const text = errorOf(flags);
    expect(text).toMatch(message);
    expect(text).not.toContain('\n');
  });

  it('names the source of a bad voters list', () => {
    expect(errorOf({}, { BROOK_RAFT_VOTERS: 'nonsense' })).toMatch(
      /raft.voters: "nonsense" is not id@host:port .*\(from environment BROOK_RAFT_VOTERS\)/,
    );
  });

  it('accepts voters that leave this node out: it joins as an observer', () => {
    const config = loadBrokerConfig({
      flags: { 'node.id': '7', 'raft.voters': '1@h:1,2@h:2,3@h:3' },
      env: {},
      file: null,
    });
    expect(config.raft.voters.map((v) => v.id)).toEqual([1, 2, 3]);
  });
});

describe('parseVoters', () => {
  it('reads empty text as no voters', () => {
    expect(parseVoters('')).toEqual({ ok: true, voters: [] });
    expect(parseVoters('  ')).toEqual({ ok: true, voters: [] });
  });

  it('bounds the list', () => {
    const many = Array.from({ length: 65 }, (_, i) => `${i}@h:${i + 1}`).join(',');
    expect(parseVoters(many)).toEqual({ ok: false, error: 'names 65 voters; at most 64' });
  });
});
