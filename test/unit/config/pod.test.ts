/**
 * Pod mode: a StatefulSet pod's node id, addresses and Raft voters derived from its name and
 * DNS. Tests call derivePodConfig on hand-written env maps, then loadBrokerConfig to check that
 * explicit flags, env and file values win and that bad input fails as one ConfigError sentence.
 * A fast-check property runs the derivation over generated pod names and voter counts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  POD_ENV,
  derivePodConfig,
  loadBrokerConfig,
  parseVoters,
} from '../../../src/config/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'brook-pod-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The env the deploy/k8s StatefulSet gives pod brook-<ordinal> in namespace streams. */
function podEnv(ordinal: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [POD_ENV.mode]: 'true',
    [POD_ENV.podName]: `brook-${ordinal}`,
    [POD_ENV.namespace]: 'streams',
    [POD_ENV.voterCount]: '3',
    BROOK_CLUSTER_ID: CLUSTER_ID,
    ...extra,
  };
}

/** What every pod gets from the ConfigMap besides the pod-mode variables. */
const CLUSTER_ID = '6f1c1e9e-3b7a-4c52-9d0e-2a8f4b7c5d13';
const NONE = new Map([['cluster.id', CLUSTER_ID]]);
const DNS = 'brook.streams.svc.cluster.local';

function derivedOf(env: Record<string, string>, explicit = NONE): Record<string, string> {
  const result = derivePodConfig(env, explicit);
  if (!result.ok) throw new Error(`expected a derivation, got: ${result.error}`);
  return result.values;
}

function errorOf(env: Record<string, string>, explicit = NONE): string {
  const result = derivePodConfig(env, explicit);
  if (result.ok) throw new Error(`expected ${JSON.stringify(env)} to be refused`);
  return result.error;
}

describe('pod mode derivation', () => {
  it('derives node id, wildcard listen, stable DNS address and the voters from ordinal 0', () => {
    expect(derivedOf(podEnv(1))).toEqual({
      'node.id': '1',
      listen: '0.0.0.0:7070',
      'advertised.address': `brook-1.${DNS}:7070`,
      'raft.voters': `0@brook-0.${DNS}:7070,1@brook-1.${DNS}:7070,2@brook-2.${DNS}:7070`,
    });
  });

  it('keeps the voters at the voter count when ordinals beyond it join as observers', () => {
    const values = derivedOf(podEnv(4));
    expect(values['node.id']).toBe('4');
    expect(values['raft.voters']).toBe(derivedOf(podEnv(0))['raft.voters']);
    expect(values['raft.voters']).not.toContain('4@');
  });

  it('is off unless BROOK_POD_MODE is true, whatever else is set', () => {
    for (const mode of [undefined, '', 'false', '0', 'no']) {
      const env: Record<string, string> = { ...podEnv(2) };
      if (mode === undefined) delete env[POD_ENV.mode];
      else env[POD_ENV.mode] = mode;
      expect(derivedOf(env)).toEqual({});
    }
  });

  it('falls back to HOSTNAME when the downward API gives no pod name', () => {
    const env = podEnv(2, { [POD_ENV.hostname]: 'brook-2' });
    delete env[POD_ENV.podName];
    expect(derivedOf(env)['node.id']).toBe('2');
    const both = podEnv(2, { [POD_ENV.hostname]: 'brook-7' });
    expect(derivedOf(both)['node.id']).toBe('2');
  });

  it('uses the headless service, cluster domain and explicit listen port it is given', () => {
    const env = podEnv(0, {
      [POD_ENV.podName]: 'events-0',
      [POD_ENV.headlessService]: 'events-peers',
      [POD_ENV.clusterDomain]: 'corp.example',
      [POD_ENV.voterCount]: '1',
    });
    const values = derivedOf(env, new Map([...NONE, ['listen', '0.0.0.0:9000']]));
    expect(values).toEqual({
      'node.id': '0',
      'advertised.address': 'events-0.events-peers.streams.svc.corp.example:9000',
      'raft.voters': '0@events-0.events-peers.streams.svc.corp.example:9000',
    });
  });

  it('leaves out every key given explicitly and then needs no voter count', () => {
    const explicit = new Map([
      ...NONE,
      ['node.id', '12'],
      ['raft.voters', '0@a:7070'],
      ['advertised.address', 'b:7070'],
    ]);
    const env = podEnv(3);
    delete env[POD_ENV.voterCount];
    expect(derivedOf(env, explicit)).toEqual({ listen: '0.0.0.0:7070' });
  });

  it.each([
    [{ [POD_ENV.mode]: 'maybe' }, /BROOK_POD_MODE must be true or false, not "maybe"/],
    [{ [POD_ENV.podName]: 'brook' }, /BROOK_POD_NAME="brook" is not a StatefulSet pod name/],
    [{ [POD_ENV.podName]: 'brook-01' }, /"brook-01" is not a StatefulSet pod name/],
    [{ [POD_ENV.podName]: 'Brook-1' }, /"Brook-1" is not a StatefulSet pod name/],
    [{ [POD_ENV.podName]: 'brook-9999999999' }, /ordinal 9999999999 exceeds node.id's range/],
    [{ [POD_ENV.namespace]: '' }, /needs the namespace: set BROOK_POD_NAMESPACE/],
    [{ [POD_ENV.namespace]: 'Streams' }, /BROOK_POD_NAMESPACE="Streams" is not a DNS label/],
    [{ [POD_ENV.headlessService]: 'a.b' }, /BROOK_HEADLESS_SERVICE="a.b" is not a DNS label/],
    [{ [POD_ENV.clusterDomain]: 'cluster.local.' }, /BROOK_CLUSTER_DOMAIN="cluster.local." is/],
    [{ [POD_ENV.voterCount]: '' }, /pod mode needs BROOK_VOTER_COUNT/],
    [{ [POD_ENV.voterCount]: '0' }, /BROOK_VOTER_COUNT must be a whole number from 1 to 64/],
    [{ [POD_ENV.voterCount]: 'three' }, /BROOK_VOTER_COUNT must be a whole number/],
    [{ [POD_ENV.voterCount]: '65' }, /BROOK_VOTER_COUNT must be a whole number from 1 to 64/],
  ])('refuses %j with a sentence naming the variable', (extra, message) => {
    expect(errorOf(podEnv(0, extra))).toMatch(message);
  });

  it('refuses a pod without a name and an explicit listen on port 0', () => {
    const env = podEnv(0);
    delete env[POD_ENV.podName];
    expect(errorOf(env)).toMatch(/needs the pod name: set BROOK_POD_NAME/);
    expect(errorOf(podEnv(0), new Map([...NONE, ['listen', '0.0.0.0:0']]))).toMatch(/cannot be 0/);
  });

  it('refuses to start a pod without a cluster id, which every pod must share', () => {
    expect(errorOf(podEnv(0), new Map())).toMatch(
      /pod mode needs cluster.id: set BROOK_CLUSTER_ID/,
    );
  });

  it('names valid voters that always include ordinal 0 and never the pods past the count', () => {
    const label = fc.stringMatching(/^[a-z]([-a-z0-9]{0,18}[a-z0-9])?$/);
    fc.assert(
      fc.property(
        label,
        label,
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 64 }),
        (statefulSet, namespace, ordinal, voterCount) => {
          const env = podEnv(ordinal, {
            [POD_ENV.podName]: `${statefulSet}-${ordinal}`,
            [POD_ENV.namespace]: namespace,
            [POD_ENV.voterCount]: String(voterCount),
          });
          const values = derivedOf(env);
          const suffix = `${statefulSet}.${namespace}.svc.cluster.local:7070`;
          expect(values['node.id']).toBe(String(ordinal));
          expect(values['advertised.address']).toBe(`${statefulSet}-${ordinal}.${suffix}`);
          const voters = parseVoters(values['raft.voters'] ?? '');
          if (!voters.ok) throw new Error(voters.error);
          expect(voters.voters.map((v) => v.id)).toEqual([...Array(voterCount).keys()]);
          expect(voters.voters[0]?.address).toBe(`${statefulSet}-0.${suffix}`);
          // A voter's entry is the very address it advertises, so peers dial what it binds.
          const self = voters.voters.find((v) => v.id === ordinal);
          if (ordinal < voterCount) expect(self?.address).toBe(values['advertised.address']);
          else expect(self).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('pod mode in loadBrokerConfig', () => {
  const load = (
    env: Record<string, string>,
    flags: Record<string, string> = {},
    file: string | null = null,
  ) => loadBrokerConfig({ flags, env, file });

  it('configures a StatefulSet pod from its environment alone', () => {
    const config = load(podEnv(2));
    expect(config.nodeId).toBe(2);
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 7070 });
    expect(config.advertisedAddress).toBe(`brook-2.${DNS}:7070`);
    expect(config.raft.voters.map((v) => v.address)).toEqual([
      `brook-0.${DNS}:7070`,
      `brook-1.${DNS}:7070`,
      `brook-2.${DNS}:7070`,
    ]);
    expect(config.entries.get('node.id')).toEqual({ value: '2', source: 'env' });
  });

  it('lets a flag, an env variable and a config file each win over a derived value', () => {
    const file = path.join(dir, 'pinned.properties');
    writeFileSync(file, 'advertised.address=brook-2.example.com:443\n');
    const config = load(
      podEnv(2, { BROOK_RAFT_VOTERS: '0@v0:7070,1@v1:7070,2@v2:7070' }),
      { 'node.id': '7' },
      file,
    );
    expect(config.nodeId).toBe(7);
    expect(config.entries.get('node.id')?.source).toBe('flag');
    expect(config.advertisedAddress).toBe('brook-2.example.com:443');
    expect(config.raft.voters.map((v) => v.address)).toEqual(['v0:7070', 'v1:7070', 'v2:7070']);
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 7070 });
  });

  it('takes the port for every derived address from an explicit listen', () => {
    const config = load(podEnv(0, { BROOK_LISTEN: '0.0.0.0:9000' }));
    expect(config.advertisedAddress).toBe(`brook-0.${DNS}:9000`);
    expect(config.raft.voters[1]?.address).toBe(`brook-1.${DNS}:9000`);
  });

  it('changes nothing with pod mode off', () => {
    const env = podEnv(2);
    delete env[POD_ENV.mode];
    expect(load(env)).toEqual(load({ BROOK_CLUSTER_ID: CLUSTER_ID }));
  });

  it('fails as a ConfigError on a bad pod environment', () => {
    expect(() => load(podEnv(0, { [POD_ENV.podName]: 'brook' }))).toThrow(ConfigError);
    expect(() => load(podEnv(0, { [POD_ENV.voterCount]: '0' }))).toThrow(/BROOK_VOTER_COUNT/);
    expect(() => load(podEnv(0, { BROOK_CLUSTER_ID: '' }))).toThrow(/BROOK_CLUSTER_ID/);
  });
});
