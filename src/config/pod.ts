/**
 * Pod mode: a node in a Kubernetes StatefulSet derives its identity from where it runs, so one
 * pod template serves every replica. Pod `<statefulset>-<N>` becomes node N, advertises its
 * stable DNS name `<pod>.<headless service>.<namespace>.svc.<cluster domain>:<port>`, listens on
 * every interface, and names ordinals 0..voterCount-1 at their stable DNS names as raft.voters.
 * Pods beyond the voter count (after a scale-up) are observer brokers, so the quorum keeps its
 * size while the StatefulSet grows.
 *
 * Every pod must be given the same cluster.id; pod mode refuses to start without one.
 *
 * Pure: reads only the environment map it is given. Any of the derived keys given explicitly
 * (flag, env or config file) wins, so an operator can pin a single value without leaving pod
 * mode. The caller applies precedence by passing those explicit values in.
 */
import { parseAddress } from './parse.js';

/** The environment variables pod mode reads. deploy/k8s sets them; docs/kubernetes.md lists them. */
export const POD_ENV = {
  /** `true` turns pod mode on; unset or `false` leaves configuration exactly as without it. */
  mode: 'BROOK_POD_MODE',
  /** Pod name, from the downward API (metadata.name). */
  podName: 'BROOK_POD_NAME',
  /** Fallback for the pod name: a StatefulSet pod's hostname is its name. */
  hostname: 'HOSTNAME',
  /** Pod namespace, from the downward API (metadata.namespace). Required. */
  namespace: 'BROOK_POD_NAMESPACE',
  /** The StatefulSet's headless Service (spec.serviceName); default: the StatefulSet's name. */
  headlessService: 'BROOK_HEADLESS_SERVICE',
  /** How many ordinals, from 0, are Raft voters. Required unless raft.voters is explicit. */
  voterCount: 'BROOK_VOTER_COUNT',
  /** The cluster's DNS domain; default cluster.local. */
  clusterDomain: 'BROOK_CLUSTER_DOMAIN',
} as const;

/** The config keys pod mode derives; an explicit value of any of them wins over the derived one. */
export const POD_DERIVED_KEYS = ['node.id', 'listen', 'advertised.address', 'raft.voters'] as const;
export type PodDerivedKey = (typeof POD_DERIVED_KEYS)[number];

/** The gRPC port when listen is not given explicitly; deploy/k8s exposes it as `grpc`. */
export const POD_PORT_DEFAULT = 7070;
export const CLUSTER_DOMAIN_DEFAULT = 'cluster.local';

/** raft.voters parses at most this many (parse.ts); a larger count could never be valid. */
const VOTER_COUNT_MAX = 64;
/** node.id is an int32. */
const NODE_ID_MAX = 2_147_483_647;
/** RFC 1123: a DNS label, the form of pod, Service and namespace names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME_LENGTH_MAX = 253;

export type PodConfigResult =
  { ok: true; values: Partial<Record<PodDerivedKey, string>> } | { ok: false; error: string };

/**
 * Derives node.id, listen, advertised.address and raft.voters for a StatefulSet pod from `env`.
 * `explicit` holds the keys given explicitly (by flag, env or config file) with their values;
 * those are left out of the result, and an explicit listen supplies the port. Pod mode off: an
 * empty result. A bad input is `{ ok: false }` with a sentence naming the variable to fix.
 */
export function derivePodConfig(
  env: Readonly<Record<string, string | undefined>>,
  explicit: ReadonlyMap<string, string>,
): PodConfigResult {
  const mode = podModeOf(env[POD_ENV.mode]);
  if (mode === null) {
    return {
      ok: false,
      error: `${POD_ENV.mode} must be true or false, not "${env[POD_ENV.mode]}"`,
    };
  }
  if (!mode) return { ok: true, values: {} };

  // Pods are interchangeable copies of one template, so none may invent its own cluster id:
  // the voters would each format a different cluster, and observers could not join.
  if (!explicit.has('cluster.id')) {
    return {
      ok: false,
      error: `pod mode needs cluster.id: set BROOK_CLUSTER_ID, the same for every pod (e.g. from uuidgen), in the ConfigMap`,
    };
  }
  const identity = podIdentityOf(env);
  if (!identity.ok) return identity;
  const port = portOf(explicit.get('listen'));
  if (!port.ok) return port;
  const { pod, statefulSet, ordinal, domainSuffix } = identity;
  let voters: string | null = null;
  if (!explicit.has('raft.voters')) {
    const voterCount = voterCountOf(env[POD_ENV.voterCount]);
    if (!voterCount.ok) return voterCount;
    const items: string[] = [];
    for (let id = 0; id < voterCount.count; id++) {
      items.push(`${id}@${statefulSet}-${id}.${domainSuffix}:${port.port}`);
    }
    voters = items.join(',');
  }
  const derived: Record<PodDerivedKey, string | null> = {
    'node.id': String(ordinal),
    // Peers and clients in other pods dial this pod's IP, so bind every interface.
    listen: `0.0.0.0:${port.port}`,
    'advertised.address': `${pod}.${domainSuffix}:${port.port}`,
    'raft.voters': voters,
  };
  const values: Partial<Record<PodDerivedKey, string>> = {};
  for (const key of POD_DERIVED_KEYS) {
    const value = derived[key];
    if (value !== null && !explicit.has(key)) values[key] = value;
  }
  return { ok: true, values };
}

/** true, false, or null when the text is neither. Unset and empty mean off. */
function podModeOf(text: string | undefined): boolean | null {
  const lower = (text ?? '').trim().toLowerCase();
  if (lower === 'true' || lower === '1' || lower === 'yes') return true;
  if (lower === '' || lower === 'false' || lower === '0' || lower === 'no') return false;
  return null;
}

type PodIdentity =
  | {
      ok: true;
      pod: string;
      statefulSet: string;
      ordinal: number;
      /** `<headless service>.<namespace>.svc.<cluster domain>`: what follows a pod's name. */
      domainSuffix: string;
    }
  | { ok: false; error: string };

function podIdentityOf(env: Readonly<Record<string, string | undefined>>): PodIdentity {
  const named = nonEmpty(env[POD_ENV.podName]);
  const pod = named ?? nonEmpty(env[POD_ENV.hostname]);
  const podSource = named !== null ? POD_ENV.podName : POD_ENV.hostname;
  if (pod === null) {
    return {
      ok: false,
      error: `pod mode needs the pod name: set ${POD_ENV.podName} from the downward API (fieldRef metadata.name)`,
    };
  }
  // StatefulSet ordinals are written without leading zeros; "brook-01" is not pod 1.
  const match = /^(.+)-(0|[1-9]\d*)$/.exec(pod);
  if (match === null || !DNS_LABEL.test(pod)) {
    return {
      ok: false,
      error: `${podSource}="${pod}" is not a StatefulSet pod name <statefulset>-<ordinal> (e.g. brook-0)`,
    };
  }
  const statefulSet = match[1] ?? '';
  const ordinal = Number(match[2]);
  if (ordinal > NODE_ID_MAX) {
    return {
      ok: false,
      error: `${podSource}="${pod}": ordinal ${ordinal} exceeds node.id's range`,
    };
  }
  const namespace = nonEmpty(env[POD_ENV.namespace]);
  if (namespace === null) {
    return {
      ok: false,
      error: `pod mode needs the namespace: set ${POD_ENV.namespace} from the downward API (fieldRef metadata.namespace)`,
    };
  }
  const service = nonEmpty(env[POD_ENV.headlessService]) ?? statefulSet;
  const domain = nonEmpty(env[POD_ENV.clusterDomain]) ?? CLUSTER_DOMAIN_DEFAULT;
  const labels: [string, string][] = [
    [POD_ENV.namespace, namespace],
    [POD_ENV.headlessService, service],
  ];
  for (const [name, label] of labels) {
    if (!DNS_LABEL.test(label)) {
      return { ok: false, error: `${name}="${label}" is not a DNS label (RFC 1123)` };
    }
  }
  if (!domain.split('.').every((label) => DNS_LABEL.test(label))) {
    return {
      ok: false,
      error: `${POD_ENV.clusterDomain}="${domain}" is not a DNS name (e.g. cluster.local, no trailing dot)`,
    };
  }
  const domainSuffix = `${service}.${namespace}.svc.${domain}`;
  if (`${pod}.${domainSuffix}`.length > DNS_NAME_LENGTH_MAX) {
    return {
      ok: false,
      error: `the pod's DNS name ${pod}.${domainSuffix} is longer than ${DNS_NAME_LENGTH_MAX} characters`,
    };
  }
  return { ok: true, pod, statefulSet, ordinal, domainSuffix };
}

/** Every pod listens on the same port: an explicit listen's, else the default. */
function portOf(
  listen: string | undefined,
): { ok: true; port: number } | { ok: false; error: string } {
  if (listen === undefined) return { ok: true, port: POD_PORT_DEFAULT };
  const parsed = parseAddress(listen);
  if (parsed === null) return { ok: false, error: `listen must be host:port, not "${listen}"` };
  if (parsed.port === 0) {
    return {
      ok: false,
      error: `listen="${listen}": pod mode advertises the listen port to peers, so it cannot be 0`,
    };
  }
  return { ok: true, port: parsed.port };
}

function voterCountOf(
  text: string | undefined,
): { ok: true; count: number } | { ok: false; error: string } {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') {
    return {
      ok: false,
      error: `pod mode needs ${POD_ENV.voterCount} (how many pods, from ordinal 0, vote in the Raft quorum; 3 or 5) or an explicit raft.voters`,
    };
  }
  const count = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(count) || count < 1 || count > VOTER_COUNT_MAX) {
    return {
      ok: false,
      error: `${POD_ENV.voterCount} must be a whole number from 1 to ${VOTER_COUNT_MAX}, not "${text}"`,
    };
  }
  return { ok: true, count };
}

function nonEmpty(text: string | undefined): string | null {
  const trimmed = (text ?? '').trim();
  return trimmed === '' ? null : trimmed;
}
