/**
 * The pure parts of the deployment rehearsal (main.ts runs the rest, as root, on demand): the
 * pod environment and argv are read from the rendered base and the Dockerfile, the hosts files
 * name every pod slot under the headless Service, the hand-encoded health messages match the
 * protobuf wire format, and stalls are measured as the longest gap between acknowledgements.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBrokerConfig } from '../../../src/config/index.js';
import { longestAckGapMs, ackRatePerS } from './figures.js';
import { decodeHealthStatus, encodeHealthRequest, SERVING_STATUS } from './health.js';
import { hostEntries, renderHostsFile } from './hosts.js';
import {
  entrypointOf,
  localArgv,
  parseManifests,
  podDnsName,
  podEnv,
  podTemplateOf,
  renderKustomize,
  type PodTemplate,
} from './manifest.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let template: PodTemplate;

beforeAll(() => {
  template = podTemplateOf(renderKustomize(`${ROOT}deploy/k8s/base`));
});

describe('pod template from the rendered base', () => {
  it('reads the StatefulSet, its ConfigMap, args, probe and grace period', () => {
    expect(template.statefulSet).toBe('brook');
    expect(template.headlessService).toBe('brook');
    expect(template.replicas).toBe(3);
    expect(template.args).toEqual(['server']);
    expect(template.configMapEnv['BROOK_POD_MODE']).toBe('true');
    expect(template.readiness).toEqual({ port: 7070, service: '' });
    expect(template.terminationGracePeriodMs).toBe(90_000);
    expect(template.minReadyMs).toBe(30_000);
  });

  it('gives each pod the env pod mode turns into its identity', () => {
    const env = podEnv(
      template,
      { pod: 'brook-2', namespace: 'brook-rehearsal' },
      {
        BROOK_CLUSTER_ID: '922a4e42-4f2d-4469-9a78-6b1f87d83c13',
        BROOK_DATA_DIR: '/tmp/v/brook-2',
      },
    );
    expect(env['HOSTNAME']).toBe('brook-2');
    expect(env['BROOK_POD_NAME']).toBe('brook-2');
    expect(env['BROOK_POD_NAMESPACE']).toBe('brook-rehearsal');
    expect(env['BROOK_DATA_DIR']).toBe('/tmp/v/brook-2');
    const config = loadBrokerConfig({ flags: {}, env, file: null });
    expect(config.nodeId).toBe(2);
    expect(config.advertisedAddress).toBe(`${podDnsName(template, 2, 'brook-rehearsal')}:7070`);
    expect(config.raft.voters.map((v) => v.id)).toEqual([0, 1, 2]);
  });

  it('refuses a fieldRef the kubelet stand-in does not fill', () => {
    const odd = {
      ...template,
      env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
    };
    expect(() => podEnv(odd, { pod: 'brook-0', namespace: 'n' }, {})).toThrow(/unsupported/);
  });

  it('refuses a manifest without exactly one StatefulSet', () => {
    const objects = parseManifests('apiVersion: v1\nkind: Service\nmetadata:\n  name: brook\n');
    expect(() => podTemplateOf(objects)).toThrow(/one StatefulSet/);
  });
});

describe('entry point', () => {
  it("maps the image's ENTRYPOINT and args onto this checkout", () => {
    const dockerfile = readFileSync(`${ROOT}deploy/Dockerfile`, 'utf8');
    const argv = localArgv(entrypointOf(dockerfile), template.args, {
      nodePath: '/usr/bin/node',
      imageRoot: '/app',
      repoRoot: '/work/main',
    });
    expect(argv).toEqual(['/usr/bin/node', '/work/main/bin/brook', 'server']);
  });

  it('refuses a shell-form ENTRYPOINT', () => {
    expect(() => entrypointOf('FROM x\nENTRYPOINT node /app/bin/brook\n')).toThrow();
  });
});

describe('hosts files', () => {
  it('names every pod slot by its headless-Service FQDN and its pod name', () => {
    const text = renderHostsFile(
      hostEntries(template, ['10.213.0.10', '10.213.0.11'], 'brook-rehearsal'),
    );
    expect(text.split('\n')).toEqual([
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      '10.213.0.10\tbrook-0.brook.brook-rehearsal.svc.cluster.local brook-0',
      '10.213.0.11\tbrook-1.brook.brook-rehearsal.svc.cluster.local brook-1',
      '',
    ]);
  });

  it('refuses what is not an address or a host name', () => {
    expect(() => renderHostsFile([{ address: 'brook-0', names: ['x'] }])).toThrow(/IPv4/);
    expect(() => renderHostsFile([{ address: '10.0.0.1', names: ['a b'] }])).toThrow(/host name/);
  });
});

describe('health check messages (grpc.health.v1)', () => {
  it('encodes the overall service as an empty request and a named one as field 1', () => {
    expect(encodeHealthRequest('')).toEqual(Buffer.alloc(0));
    expect(encodeHealthRequest('brook')).toEqual(Buffer.from([0x0a, 5, ...Buffer.from('brook')]));
  });

  it('decodes the serving status, absent meaning UNKNOWN', () => {
    expect(decodeHealthStatus(Buffer.from([0x08, 0x01]))).toBe(SERVING_STATUS.SERVING);
    expect(decodeHealthStatus(Buffer.from([0x08, 0x02]))).toBe(SERVING_STATUS.NOT_SERVING);
    expect(decodeHealthStatus(Buffer.alloc(0))).toBe(SERVING_STATUS.UNKNOWN);
  });
});

describe('stall figures', () => {
  const acks = [0, 100, 200, 1_500, 1_600, 1_700];

  it('is the longest gap between acknowledgements overlapping the window', () => {
    expect(longestAckGapMs(acks, 150, 1_550)).toBe(1_300);
    expect(longestAckGapMs(acks, 1_550, 1_700)).toBe(100);
  });

  it('runs to the window end when nothing is acknowledged after it', () => {
    expect(longestAckGapMs(acks, 1_650, 3_000)).toBe(1_300);
    expect(longestAckGapMs([], 0, 500)).toBe(500);
  });

  it('counts acknowledgements per second', () => {
    expect(ackRatePerS(acks, 0, 1_000)).toBe(3);
  });
});
