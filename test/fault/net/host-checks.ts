/**
 * What the machine must offer before a fault network is built, checked up front so that a run
 * refuses with a reason instead of half-building a network or, worse, hijacking addresses the
 * machine already uses: root, a /24 nobody routes, and a bridge that its own firewall passes.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { runCommand, runCommandSync, SILENT_LOGGER, type NetLogger } from './run-command.js';
import { overlaps, parsePrefix, type Ipv4Prefix, type Subnet } from './subnet.js';

const BRIDGE_NF_CALL_IPTABLES = '/proc/sys/net/bridge/bridge-nf-call-iptables';

/** Capability bits (linux/capability.h) that creating namespaces and links needs. */
const CAPABILITIES_NEEDED = { CAP_NET_ADMIN: 12, CAP_SYS_ADMIN: 21 } as const;

/**
 * Why this process cannot create network namespaces (not Linux, not root, or root without the
 * capabilities, as in an unprivileged container), or null when it can. Reads no more than
 * /proc/self/status: tests use it to decide whether to skip.
 */
export function missingPrivilege(): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux, not ${process.platform}`;
  const uid = process.getuid?.();
  if (uid !== 0) return `running as uid ${uid ?? 'unknown'}`;
  const status = readFileSync('/proc/self/status', 'utf8');
  const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (effective === undefined) return 'no CapEff line in /proc/self/status';
  // Both bits sit in the low 32: parse only those, no BigInt needed.
  const low = Number.parseInt(effective.slice(-8), 16);
  const missing = Object.entries(CAPABILITIES_NEEDED)
    .filter(([, bit]) => (low & (1 << bit)) === 0)
    .map(([name]) => name);
  if (missing.length === 0) return null;
  return `root without ${missing.join(' and ')} (a container without --privileged?)`;
}

/**
 * Throws unless this process can create network namespaces: root with CAP_NET_ADMIN and
 * CAP_SYS_ADMIN, and a working `ip netns` (iproute2 installed, /run/netns usable).
 * Synchronous, so that a harness can check before it starts anything.
 */
export function requireRoot(logger: NetLogger = SILENT_LOGGER): void {
  const advice =
    'the fault harness creates network namespaces and needs root: run it as root (sudo), ' +
    'e.g. in a VM or a container with CAP_NET_ADMIN and CAP_SYS_ADMIN';
  const missing = missingPrivilege();
  if (missing !== null) throw new Error(`${advice} (${missing})`);
  try {
    runCommandSync(logger, ['ip', 'netns', 'list']);
  } catch (error) {
    throw new Error(`${advice}; \`ip netns list\` failed (is iproute2 installed?)`, {
      cause: error,
    });
  }
}

/** Why `subnet` cannot be used on this machine (an address or route overlapping it), or null. */
export async function subnetConflict(logger: NetLogger, subnet: Subnet): Promise<string | null> {
  const ours = subnet.prefix;
  const [routes, addresses] = await Promise.all([
    runCommand(logger, ['ip', '-j', '-4', 'route', 'show', 'table', 'all']),
    runCommand(logger, ['ip', '-j', '-4', 'address', 'show']),
  ]);
  for (const route of parseJsonArray(routes.stdout)) {
    const dst = stringField(route, 'dst');
    // The default route covers everything and is no claim on our /24; any other route is.
    if (dst === null || dst === 'default') continue;
    if (overlaps(ours, parsePrefix(dst))) {
      return `route ${dst} dev ${stringField(route, 'dev') ?? '?'} overlaps ${subnet.cidr}`;
    }
  }
  for (const link of parseJsonArray(addresses.stdout)) {
    for (const prefix of addressesOf(link)) {
      if (overlaps(ours, prefix.prefix)) {
        return `address ${prefix.text} on ${stringField(link, 'ifname') ?? '?'} overlaps ${subnet.cidr}`;
      }
    }
  }
  return null;
}

/** Interfaces other than `except` holding an address inside `subnet`. */
export async function otherHolders(
  logger: NetLogger,
  subnet: Subnet,
  except: string,
): Promise<string[]> {
  const { stdout } = await runCommand(logger, ['ip', '-j', '-4', 'address', 'show']);
  const holders: string[] = [];
  for (const link of parseJsonArray(stdout)) {
    const name = stringField(link, 'ifname') ?? '?';
    if (name === except) continue;
    if (addressesOf(link).some((address) => overlaps(subnet.prefix, address.prefix))) {
      holders.push(name);
    }
  }
  return holders;
}

/**
 * Throws when the root namespace's firewall would drop traffic between nodes. With the
 * br_netfilter module loaded and bridge-nf-call-iptables = 1, bridged packets traverse the root
 * namespace's iptables FORWARD chain, and a DROP policy there (Docker sets one) would cut every
 * node from every other before any fault is injected. We refuse rather than edit the host's
 * firewall.
 */
export async function requireBridgeForwarding(logger: NetLogger): Promise<void> {
  const callsIptables = await readFile(BRIDGE_NF_CALL_IPTABLES, 'utf8').then(
    (text) => text.trim() === '1',
    () => false,
  );
  if (!callsIptables) return;
  const { stdout } = await runCommand(logger, ['iptables', '-w', '-S', 'FORWARD']);
  if (stdout.includes('-P FORWARD ACCEPT')) return;
  throw new Error(
    'bridged traffic between fault nodes would be dropped: net.bridge.bridge-nf-call-iptables ' +
      'is 1 and the root namespace FORWARD policy is not ACCEPT (Docker sets DROP). Run ' +
      '`sysctl net.bridge.bridge-nf-call-iptables=0` or use a machine without this firewall',
  );
}

function addressesOf(link: unknown): { text: string; prefix: Ipv4Prefix }[] {
  if (typeof link !== 'object' || link === null || !('addr_info' in link)) return [];
  const info = (link as { addr_info: unknown }).addr_info;
  if (!Array.isArray(info)) return [];
  const found: { text: string; prefix: Ipv4Prefix }[] = [];
  for (const entry of info as unknown[]) {
    const local = stringField(entry, 'local');
    const length = numberField(entry, 'prefixlen');
    if (local === null || length === null || stringField(entry, 'family') !== 'inet') continue;
    const text = `${local}/${length}`;
    found.push({ text, prefix: parsePrefix(text) });
  }
  return found;
}

/** `ip -j` output: a JSON array (an empty answer counts as none). */
export function parseJsonArray(text: string): unknown[] {
  if (text.trim() === '') return [];
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error(`expected a JSON array from ip -j: ${text}`);
  return parsed as unknown[];
}

export function stringField(value: unknown, key: string): string | null {
  if (typeof value !== 'object' || value === null || !(key in value)) return null;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : null;
}

function numberField(value: unknown, key: string): number | null {
  if (typeof value !== 'object' || value === null || !(key in value)) return null;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'number' ? field : null;
}
