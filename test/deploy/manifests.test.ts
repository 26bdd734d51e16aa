/**
 * The Kubernetes manifests under deploy/k8s: `kubectl kustomize` renders the base and the example
 * overlay, every object is validated against the Kubernetes API schemas (kubernetes-models) and
 * probed for fields its schema does not know, so a wrong type or a misspelt field fails here
 * rather than at `kubectl apply`. Then the properties Brook relies on are asserted, and the
 * rendered pod environment is run through the broker's own config loader (pod mode).
 * Needs kubectl with kustomize v4 or later on PATH (the machine image has kubectl 1.32).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  BROKER_CONFIGS,
  POD_ENV,
  brokerDefinition,
  envName,
  loadBrokerConfig,
} from '../../src/config/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BASE = 'deploy/k8s/base';
const OVERLAY = 'deploy/k8s/overlays/example';

/** A rendered object, as parsed from YAML: a plain JSON tree. */
type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
};
type ModelClass = new (data: object) => { validate(): void };

/** Shapes of the parts the assertions read; the schema validation has checked their types. */
interface Probe {
  grpc?: { port: number; service?: string };
  tcpSocket?: { port: number | string };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  ports: { name: string; containerPort: number }[];
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  envFrom: { configMapRef?: { name: string } }[];
  readinessProbe: Probe;
  startupProbe: Probe;
  livenessProbe: Probe;
  securityContext: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts: { name: string; mountPath: string }[];
}
interface StatefulSetSpec {
  serviceName: string;
  replicas: number;
  podManagementPolicy: string;
  updateStrategy: { type: string };
  selector: { matchLabels: Record<string, string> };
  template: {
    metadata: { labels: Record<string, string> };
    spec: {
      terminationGracePeriodSeconds: number;
      enableServiceLinks: boolean;
      securityContext: {
        runAsNonRoot: boolean;
        runAsUser: number;
        runAsGroup: number;
        fsGroup: number;
        seccompProfile: { type: string };
      };
      containers: Container[];
    };
  };
  volumeClaimTemplates: { metadata: { name: string } }[];
}

function kustomize(dir: string): Manifest[] {
  const text = execFileSync('kubectl', ['kustomize', dir], { cwd: ROOT, encoding: 'utf8' });
  return parseAllDocuments(text).map((document) => {
    expect(document.errors).toEqual([]);
    return document.toJS() as Manifest;
  });
}

/** The kubernetes-models class of an apiVersion and kind; an unknown pair is an error. */
async function modelOf(apiVersion: string, kind: string): Promise<ModelClass> {
  // A plain variable: Vite leaves the import to Node, which resolves the package's exports.
  const specifier = `kubernetes-models/${apiVersion}/${kind}`;
  let module: Record<string, unknown>;
  try {
    module = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`unknown kind ${kind} in apiVersion ${apiVersion}`, { cause: error });
  }
  const model = module[kind];
  if (typeof model !== 'function') throw new Error(`unknown kind ${kind} in ${apiVersion}`);
  return model as ModelClass;
}

/** ajv's ValidationError carries the failed checks in `errors`; anything else is a bug. */
function isValid(model: ModelClass, data: object): boolean {
  try {
    new model(data).validate();
    return true;
  } catch (error) {
    if (error instanceof Error && Array.isArray((error as { errors?: unknown }).errors)) {
      return false;
    }
    throw error;
  }
}

/**
 * Paths the schema does not constrain, i.e. fields it does not know: the schemas allow unknown
 * fields, but a known field refuses a Symbol, which is no JSON type, while an unknown one takes
 * anything. Map-valued fields (labels, ConfigMap data) constrain their values, so pass.
 */
function unknownFieldPaths(model: ModelClass, object: Manifest): string[] {
  const unknown: string[] = [];
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (path.length > 0) {
      const probe = structuredClone(object) as unknown as Record<string | number, unknown>;
      let parent = probe;
      for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
      parent[path[path.length - 1] as string | number] = Symbol('probe');
      if (isValid(model, probe)) unknown.push(path.join('.'));
    }
    if (Array.isArray(node)) node.forEach((item, i) => visit(item, [...path, i]));
    else if (typeof node === 'object' && node !== null) {
      for (const [key, value] of Object.entries(node)) visit(value, [...path, key]);
    }
  };
  visit(object, []);
  return unknown;
}

async function expectSchemaValid(objects: readonly Manifest[]): Promise<void> {
  for (const object of objects) {
    const model = await modelOf(object.apiVersion, object.kind);
    const where = `${object.kind}/${object.metadata.name}`;
    expect(() => new model(object).validate(), where).not.toThrow();
    expect(unknownFieldPaths(model, object), where).toEqual([]);
  }
}

function only(objects: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0] as Manifest;
}

function isSubset(labels: Record<string, string>, of: Record<string, string>): boolean {
  return Object.entries(labels).every(([key, value]) => of[key] === value);
}

const defaultMs = (name: string): number => Number(brokerDefinition(name)?.defaultValue);

let base: Manifest[];
let overlay: Manifest[];

beforeAll(() => {
  const version = JSON.parse(
    execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' }),
  ) as { kustomizeVersion?: string };
  // kubectl before 1.24 reports no kustomize version; its kustomize v2 cannot read `resources:`
  // directories, `patches:` or `replicas:`.
  const major = /^v(\d+)\./.exec(version.kustomizeVersion ?? '')?.[1];
  if (major === undefined || Number(major) < 4) {
    throw new Error(
      `kubectl's kustomize ${version.kustomizeVersion ?? '(unknown, kubectl < 1.24)'} is too old; need v4+`,
    );
  }
  base = kustomize(BASE);
  overlay = kustomize(OVERLAY);
});

describe('deploy/k8s schemas', () => {
  it('renders the base and the overlay into schema-valid objects with known fields only', async () => {
    expect(base.map((o) => o.kind).sort()).toEqual([
      'ConfigMap',
      'PodDisruptionBudget',
      'Service',
      'Service',
      'StatefulSet',
    ]);
    await expectSchemaValid(base);
    await expectSchemaValid(overlay);
  });

  it('fails validation on a wrong type, a misspelt field and an unknown kind', async () => {
    const statefulSet = structuredClone(only(base, 'StatefulSet'));
    const model = await modelOf('apps/v1', 'StatefulSet');
    (statefulSet['spec'] as Record<string, unknown>)['replicas'] = 'three';
    expect(() => new model(statefulSet).validate()).toThrow(/replicas must be integer/);

    const headless = structuredClone(only(base, 'Service', 'brook'));
    const spec = headless['spec'] as Record<string, unknown>;
    spec['publishNotReadyAddress'] = spec['publishNotReadyAddresses'];
    delete spec['publishNotReadyAddresses'];
    expect(unknownFieldPaths(await modelOf('v1', 'Service'), headless)).toEqual([
      'spec.publishNotReadyAddress',
    ]);

    await expect(modelOf('apps/v1', 'StatefulSett')).rejects.toThrow(/unknown kind StatefulSett/);
  });
});

describe.each([
  ['base', () => base],
  ['example overlay', () => overlay],
])('deploy/k8s %s', (_name, objects) => {
  const statefulSet = (): StatefulSetSpec =>
    only(objects(), 'StatefulSet')['spec'] as StatefulSetSpec;
  const container = (): Container => {
    const containers = statefulSet().template.spec.containers;
    expect(containers).toHaveLength(1);
    return containers[0] as Container;
  };
  const configMap = (): Record<string, string> =>
    only(objects(), 'ConfigMap')['data'] as Record<string, string>;
  const grpcPort = (): number => {
    const port = container().ports.find((p) => p.name === 'grpc');
    expect(port).toBeDefined();
    return port?.containerPort ?? -1;
  };

  it('starts pods in parallel and updates them one at a time', () => {
    expect(statefulSet().podManagementPolicy).toBe('Parallel');
    expect(statefulSet().updateStrategy.type).toBe('RollingUpdate');
    expect(
      isSubset(statefulSet().selector.matchLabels, statefulSet().template.metadata.labels),
    ).toBe(true);
  });

  it('publishes not-ready pods in a headless Service that the StatefulSet names', () => {
    const headless = only(objects(), 'Service', statefulSet().serviceName)['spec'] as {
      clusterIP: string;
      publishNotReadyAddresses: boolean;
      selector: Record<string, string>;
    };
    expect(headless.clusterIP).toBe('None');
    expect(headless.publishNotReadyAddresses).toBe(true);
    expect(isSubset(headless.selector, statefulSet().template.metadata.labels)).toBe(true);
    const clients = objects().filter(
      (o) => o.kind === 'Service' && o.metadata.name !== statefulSet().serviceName,
    );
    expect(clients).toHaveLength(1);
    const client = clients[0]?.['spec'] as { clusterIP?: string; selector: Record<string, string> };
    expect(client.clusterIP).not.toBe('None');
    expect(isSubset(client.selector, statefulSet().template.metadata.labels)).toBe(true);
  });

  it('lets voluntary disruptions take one broker at a time', () => {
    const pdb = only(objects(), 'PodDisruptionBudget')['spec'] as {
      maxUnavailable: number;
      selector: { matchLabels: Record<string, string> };
    };
    expect(pdb.maxUnavailable).toBe(1);
    expect(isSubset(pdb.selector.matchLabels, statefulSet().template.metadata.labels)).toBe(true);
  });

  it('is ready on gRPC health SERVING and gives a slow start 30 minutes, liveness no say in it', () => {
    const { readinessProbe, startupProbe, livenessProbe } = container();
    // The overall status (service ""), which the broker sets SERVING once unfenced.
    expect(readinessProbe.grpc).toEqual({ port: grpcPort(), service: '' });
    expect(
      (startupProbe.periodSeconds ?? 10) * (startupProbe.failureThreshold ?? 3),
    ).toBeGreaterThanOrEqual(30 * 60);
    // Liveness must not depend on the health status, which is NOT_SERVING while catching up.
    expect(livenessProbe.grpc).toBeUndefined();
    expect(livenessProbe.tcpSocket?.port).toBe('grpc');
    expect(startupProbe.tcpSocket?.port).toBe('grpc');
  });

  it('gives the controlled shutdown both its phases before SIGKILL', () => {
    // Leadership hand-off and the drain of in-flight calls are each bounded by
    // shutdown.timeout.ms; the Raft leadership transfer by two election timeouts.
    const shutdownMs = Number(
      configMap()[envName('shutdown.timeout.ms')] ?? defaultMs('shutdown.timeout.ms'),
    );
    const transferMs = 2 * defaultMs('raft.election.timeout.ms');
    expect(statefulSet().template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
      2 * shutdownMs + transferMs,
    );
  });

  it('sets only environment variables that the broker reads', () => {
    const known = new Set<string>([
      ...BROKER_CONFIGS.map((d) => envName(d.name)),
      ...Object.values(POD_ENV),
    ]);
    const names = [...Object.keys(configMap()), ...container().env.map((e) => e.name)];
    expect(names.filter((name) => !known.has(name))).toEqual([]);
    const fieldPaths = Object.fromEntries(
      container().env.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
    );
    expect(fieldPaths[POD_ENV.podName]).toBe('metadata.name');
    expect(fieldPaths[POD_ENV.namespace]).toBe('metadata.namespace');
    expect(container().envFrom).toEqual([
      { configMapRef: { name: only(objects(), 'ConfigMap').metadata.name } },
    ]);
    // Service links would add BROOK_CLIENT_PORT and the like, all read as configuration.
    expect(statefulSet().template.spec.enableServiceLinks).toBe(false);
  });

  it('mounts the volume claim at the data dir', () => {
    const dataDir = configMap()[envName('data.dir')];
    const mount = container().volumeMounts.find((m) => m.mountPath === dataDir);
    expect(mount).toBeDefined();
    expect(statefulSet().volumeClaimTemplates.map((t) => t.metadata.name)).toContain(mount?.name);
  });

  it("runs as the image's non-root user with a read-only root and no capabilities", () => {
    const pod = statefulSet().template.spec.securityContext;
    const dockerfile = readFileSync(new URL('../../deploy/Dockerfile', import.meta.url), 'utf8');
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
    expect(user).not.toBeNull();
    expect(pod.runAsNonRoot).toBe(true);
    expect([pod.runAsUser, pod.runAsGroup, pod.fsGroup]).toEqual([
      Number(user?.[1]),
      Number(user?.[2]),
      Number(user?.[2]),
    ]);
    expect(pod.runAsUser).toBeGreaterThan(0);
    expect(pod.seccompProfile.type).toBe('RuntimeDefault');
    expect(container().securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });
});

describe('deploy/k8s example overlay as the broker sees it', () => {
  it('configures every pod through pod mode: ordinal ids, stable DNS names, three voters', () => {
    const statefulSet = only(overlay, 'StatefulSet');
    const spec = statefulSet['spec'] as StatefulSetSpec;
    const data = only(overlay, 'ConfigMap')['data'] as Record<string, string>;
    const namespace = statefulSet.metadata.namespace ?? '';
    expect(namespace).not.toBe('');
    expect(spec.replicas).toBeGreaterThan(Number(data[POD_ENV.voterCount]));
    const suffix = `${spec.serviceName}.${namespace}.svc.cluster.local`;
    for (let ordinal = 0; ordinal < spec.replicas; ordinal++) {
      const pod = `${statefulSet.metadata.name}-${ordinal}`;
      const env = { ...data, [POD_ENV.podName]: pod, [POD_ENV.namespace]: namespace };
      const config = loadBrokerConfig({ flags: {}, env, file: null });
      expect(config.nodeId).toBe(ordinal);
      expect(config.listen).toEqual({ host: '0.0.0.0', port: 7070 });
      expect(config.advertisedAddress).toBe(`${pod}.${suffix}:7070`);
      expect(config.raft.voters.map((v) => v.address)).toEqual(
        [0, 1, 2].map((id) => `${statefulSet.metadata.name}-${id}.${suffix}:7070`),
      );
      expect(config.dataDir).toBe(data[envName('data.dir')]);
      expect(config.clusterId).toMatch(/^[0-9a-f-]{36}$/);
    }
    const ports = (spec.template.spec.containers[0] as Container).ports;
    expect(ports.find((p) => p.name === 'grpc')?.containerPort).toBe(7070);
  });

  it('puts every object in the overlay namespace', () => {
    for (const object of overlay) {
      if (object.kind === 'Namespace') continue;
      expect(object.metadata.namespace, object.kind).toBe(only(overlay, 'Namespace').metadata.name);
    }
  });
});
