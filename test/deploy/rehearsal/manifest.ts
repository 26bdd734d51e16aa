/**
 * What a rehearsal pod runs, read from the rendered manifests rather than copied: the
 * StatefulSet's pod template (container args, env, envFrom ConfigMap, readiness probe, grace
 * period) and the image's ENTRYPOINT from deploy/Dockerfile. `kubectl kustomize` renders the
 * base exactly as `kubectl apply -k` would; everything else here is pure.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A rendered object as parsed from YAML: a plain JSON tree. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } };
}

/** The parts of the StatefulSet a rehearsal pod needs, checked for shape when extracted. */
export interface PodTemplate {
  /** The StatefulSet's name: pods are `<name>-<ordinal>`. */
  readonly statefulSet: string;
  /** spec.serviceName, the headless Service: DNS names `<pod>.<service>.<namespace>.svc...`. */
  readonly headlessService: string;
  readonly replicas: number;
  /** The container's args, appended to the image's ENTRYPOINT. */
  readonly args: readonly string[];
  /** The ConfigMap's data, in the order envFrom gives (later ones win). */
  readonly configMapEnv: Readonly<Record<string, string>>;
  /** The container's own env: literal values, or downward API field paths. */
  readonly env: readonly EnvVar[];
  readonly readiness: { readonly port: number; readonly service: string };
  readonly terminationGracePeriodMs: number;
  /** spec.minReadySeconds, in ms (0 when absent). */
  readonly minReadyMs: number;
}

/** Renders a kustomize directory with kubectl and parses every document. */
export function renderKustomize(dir: string): Manifest[] {
  const text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  return parseManifests(text);
}

/** Parses a multi-document YAML stream; a YAML error is thrown, not skipped. */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text).map((document, i) => {
    if (document.errors.length > 0) {
      throw new Error(`document ${i}: ${document.errors.map((e) => e.message).join('; ')}`);
    }
    return document.toJS() as Manifest;
  });
}

function only(objects: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (found.length !== 1) {
    throw new Error(
      `expected one ${kind}${name === undefined ? '' : ` ${name}`}, got ${found.length}`,
    );
  }
  return found[0] as Manifest;
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${where} is not an object`);
  }
  return value as Record<string, unknown>;
}

function list(value: unknown, where: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${where} is not a list`);
  return value;
}

/** Extracts the one StatefulSet's single container and what it references. */
export function podTemplateOf(objects: readonly Manifest[]): PodTemplate {
  const statefulSet = only(objects, 'StatefulSet');
  const spec = record(statefulSet['spec'], 'StatefulSet.spec');
  const podSpec = record(record(spec['template'], 'spec.template')['spec'], 'template.spec');
  const containers = list(podSpec['containers'], 'containers');
  if (containers.length !== 1) throw new Error(`expected one container, got ${containers.length}`);
  const container = record(containers[0], 'container');
  const configMapEnv: Record<string, string> = {};
  for (const source of list(container['envFrom'], 'envFrom')) {
    const ref = record(source, 'envFrom[]')['configMapRef'];
    if (ref === undefined) throw new Error('envFrom: only configMapRef is supported');
    const name = String(record(ref, 'configMapRef')['name']);
    const data = record(only(objects, 'ConfigMap', name)['data'] ?? {}, `ConfigMap ${name}.data`);
    for (const [key, value] of Object.entries(data)) configMapEnv[key] = String(value);
  }
  const probe = record(record(container['readinessProbe'], 'readinessProbe')['grpc'], 'grpc');
  return {
    statefulSet: statefulSet.metadata.name,
    headlessService: String(spec['serviceName']),
    replicas: Number(spec['replicas'] ?? 1),
    args: list(container['args'], 'args').map(String),
    configMapEnv,
    env: list(container['env'], 'env') as EnvVar[],
    readiness: { port: Number(probe['port']), service: String(probe['service'] ?? '') },
    terminationGracePeriodMs: 1000 * Number(podSpec['terminationGracePeriodSeconds'] ?? 30),
    minReadyMs: 1000 * Number(spec['minReadySeconds'] ?? 0),
  };
}

/** Who a pod is: what the kubelet fills the downward API and HOSTNAME from. */
export interface PodIdentity {
  readonly pod: string;
  readonly namespace: string;
}

/**
 * The environment the kubelet gives the container: HOSTNAME (the pod name in a StatefulSet),
 * the ConfigMap's variables, then the container's env (later wins, as in Kubernetes), with the
 * downward API's metadata.name and metadata.namespace filled in; then `overrides` (what an
 * overlay or the volume would supply: cluster id, data dir). Any other fieldRef is an error.
 */
export function podEnv(
  template: PodTemplate,
  identity: PodIdentity,
  overrides: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = { HOSTNAME: identity.pod, ...template.configMapEnv };
  for (const variable of template.env) {
    const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (fieldPath === 'metadata.name') env[variable.name] = identity.pod;
    else if (fieldPath === 'metadata.namespace') env[variable.name] = identity.namespace;
    else throw new Error(`env ${variable.name}: unsupported source ${JSON.stringify(variable)}`);
  }
  return { ...env, ...overrides };
}

/** The exec-form ENTRYPOINT of a Dockerfile (`ENTRYPOINT ["node", "/app/bin/brook"]`). */
export function entrypointOf(dockerfile: string): string[] {
  const lines = dockerfile.split('\n').filter((line) => /^ENTRYPOINT\s/.test(line));
  const last = lines[lines.length - 1];
  if (last === undefined) throw new Error('the Dockerfile has no ENTRYPOINT');
  const parsed = JSON.parse(last.replace(/^ENTRYPOINT\s+/, '')) as unknown;
  if (
    !Array.isArray(parsed) ||
    parsed.length === 0 ||
    !parsed.every((a) => typeof a === 'string')
  ) {
    throw new Error(`ENTRYPOINT is not the exec form: ${last}`);
  }
  return parsed as string[];
}

/**
 * The image's argv mapped onto this checkout: `node` is this Node, and paths under the image's
 * WORKDIR (/app, where the runtime stage copies bin/ and dist/src) are under `repoRoot`.
 */
export function localArgv(
  entrypoint: readonly string[],
  args: readonly string[],
  local: { readonly nodePath: string; readonly imageRoot: string; readonly repoRoot: string },
): string[] {
  const prefix = local.imageRoot.endsWith('/') ? local.imageRoot : `${local.imageRoot}/`;
  return [...entrypoint, ...args].map((arg, i) => {
    if (i === 0 && arg === 'node') return local.nodePath;
    if (arg.startsWith(prefix)) return path.join(local.repoRoot, arg.slice(prefix.length));
    return arg;
  });
}

/** `<pod>.<service>.<namespace>.svc.<domain>`: a pod's stable name under the headless Service. */
export function podDnsName(
  template: PodTemplate,
  ordinal: number,
  namespace: string,
  clusterDomain = 'cluster.local',
): string {
  return `${template.statefulSet}-${ordinal}.${template.headlessService}.${namespace}.svc.${clusterDomain}`;
}
