/**
 * Per-namespace hosts files: `ip netns exec NS` bind-mounts /etc/netns/NS/hosts over /etc/hosts
 * for the program it runs, so each rehearsal host (pod or client) resolves the headless
 * Service's pod names the way cluster DNS would (publishNotReadyAddresses: every pod's name
 * resolves, ready or not). The root namespace's /etc/hosts is never touched.
 *
 * A file is rewritten in place (same inode), so processes already running, whose /etc/hosts is
 * a bind mount of that inode, see a new pod's name too: a scale-up adds lines, it does not need
 * restarts.
 */
import { readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { podDnsName, type PodTemplate } from './manifest.js';

/** Where `ip netns exec` looks for per-namespace configuration files. */
export const NETNS_ETC = '/etc/netns';

export interface HostEntry {
  readonly address: string;
  readonly names: readonly string[];
}

/** The text of a hosts file: localhost, then one line per entry. */
export function renderHostsFile(entries: readonly HostEntry[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const entry of entries) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(entry.address)) {
      throw new Error(`not an IPv4 address: ${entry.address}`);
    }
    if (entry.names.length === 0) throw new Error(`no names for ${entry.address}`);
    for (const name of entry.names) {
      if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw new Error(`bad host name ${name}`);
    }
    lines.push(`${entry.address}\t${entry.names.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

/** Writes (in place) /etc/netns/<namespace>/hosts. */
export async function writeNamespaceHosts(namespace: string, text: string): Promise<void> {
  const dir = path.join(NETNS_ETC, namespace);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'hosts'), text, { mode: 0o644 });
}

/** Removes /etc/netns/<namespace> (and /etc/netns itself when it is left empty). */
export async function removeNamespaceHosts(namespaces: readonly string[]): Promise<void> {
  for (const namespace of namespaces) {
    await rm(path.join(NETNS_ETC, namespace), { recursive: true, force: true });
  }
  const left = await readdir(NETNS_ETC).catch(() => null);
  if (left !== null && left.length === 0) await rm(NETNS_ETC, { recursive: true, force: true });
}

/**
 * Hosts dirs of fault namespaces that no longer exist (a crashed rehearsal's), given the
 * namespaces that do; names follow the fault network's `brookf-<run>-<i>`.
 */
export async function staleHostsDirs(liveNamespaces: ReadonlySet<string>): Promise<string[]> {
  const entries = await readdir(NETNS_ETC).catch(() => [] as string[]);
  return entries.filter(
    (name) => /^brookf-[0-9a-f]{1,8}-\d+$/.test(name) && !liveNamespaces.has(name),
  );
}

/** Every pod slot's names: the headless Service's FQDN, and the pod name. */
export function hostEntries(
  template: PodTemplate,
  addresses: readonly string[],
  namespace: string,
): HostEntry[] {
  return addresses.map((address, ordinal) => ({
    address,
    names: [podDnsName(template, ordinal, namespace), `${template.statefulSet}-${ordinal}`],
  }));
}
