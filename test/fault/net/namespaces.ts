/**
 * The wiring of a fault network: a bridge in the root namespace holding the clients' address,
 * and per node a namespace whose only link is one end of a veth pair, the other end plugged into
 * the bridge. Nothing is routed: the namespaces have no default route and the root namespace
 * gets only a connected /24 on the bridge, so no packet of a node can leave the bridge. IPv6 is
 * never configured on our links (addrgenmode none), so IPv4 iptables rules see every packet.
 */
import { assert } from '../../../src/util/assert.js';
import type { NetNames } from './names.js';
import {
  isAlreadyGone,
  runCommand,
  runCommandSync,
  type CommandOutput,
  type NetLogger,
} from './run-command.js';
import type { Subnet } from './subnet.js';

/** The alias written on our links: the run and the pid of the process that owns it. */
export function ownerAlias(runId: string, pid: number): string {
  return `brookf-run-${runId}-pid-${pid}`;
}

/** The owner pid in an alias ownerAlias wrote for `runId`, or null for any other alias. */
export function ownerPidOfAlias(alias: string, runId: string): number | null {
  const match = /^brookf-run-([0-9a-f]+)-pid-(\d+)$/.exec(alias);
  if (match === null || match[1] !== runId || match[2] === undefined) return null;
  return Number(match[2]);
}

/**
 * The bridge, up, with the clients' address: the root namespace reaches every node through it.
 * Bringing it up adds the connected route to the /24, the only route this layer creates. The
 * bridge's name doubles as the run id's lock: when it exists already (another run has this id)
 * this throws and deletes nothing; a failure after that deletes the new bridge.
 */
export async function createBridge(
  logger: NetLogger,
  names: NetNames,
  subnet: Subnet,
  alias: string,
): Promise<void> {
  const bridge = names.bridge;
  await runCommand(logger, ['ip', 'link', 'add', bridge, 'type', 'bridge']);
  const script = [
    `link set dev ${bridge} addrgenmode none alias ${alias}`,
    `address add ${subnet.clientAddress}/24 dev ${bridge}`,
    `link set dev ${bridge} up`,
  ];
  try {
    await runCommand(logger, ['ip', '-batch', '-'], { input: lines(script) });
  } catch (error) {
    await ignoreGone(runCommand(logger, ['ip', 'link', 'delete', bridge]));
    throw error;
  }
}

/**
 * The nodes' namespaces and veth pairs: each node gets lo up and its address on its veth end,
 * and nothing else (no default route). Namespaces are added one at a time: concurrent first
 * `ip netns add` calls race to make /run/netns a shared mount.
 */
export async function createNodes(
  logger: NetLogger,
  names: NetNames,
  subnet: Subnet,
  nodeCount: number,
  alias: string,
): Promise<void> {
  for (let node = 0; node < nodeCount; node++) {
    await runCommand(logger, ['ip', 'netns', 'add', names.namespace(node)]);
  }
  const links: string[] = [];
  for (let node = 0; node < nodeCount; node++) {
    const port = names.bridgePort(node);
    const peer = `peer name ${names.nodeLink(node)} netns ${names.namespace(node)}`;
    links.push(`link add ${port} type veth ${peer}`);
    links.push(`link set dev ${port} master ${names.bridge} addrgenmode none alias ${alias} up`);
  }
  await runCommand(logger, ['ip', '-batch', '-'], { input: lines(links) });
  await Promise.all(
    Array.from({ length: nodeCount }, (_, node) => {
      const link = names.nodeLink(node);
      const script = [
        'link set dev lo up',
        `link set dev ${link} addrgenmode none`,
        `address add ${subnet.nodeAddress(node)}/24 dev ${link}`,
        `link set dev ${link} up`,
      ];
      return runCommand(logger, ['ip', '-n', names.namespace(node), '-batch', '-'], {
        input: lines(script),
      });
    }),
  );
}

/** The pids of processes still inside a namespace (none when the namespace is gone). */
export async function namespacePids(logger: NetLogger, namespace: string): Promise<number[]> {
  try {
    return parsePids(await runCommand(logger, ['ip', 'netns', 'pids', namespace]));
  } catch (error) {
    if (isAlreadyGone(error)) return [];
    throw error;
  }
}

/**
 * Removes a run's namespaces, veth pairs and bridge; whatever is already gone is skipped.
 * Processes still in a namespace are SIGKILLed by pid first: the caller should have stopped
 * them, and a namespace outlives its deletion for as long as a process holds it.
 */
export async function destroyTopology(
  logger: NetLogger,
  names: NetNames,
  nodeCount: number,
): Promise<void> {
  const namespaces = Array.from({ length: nodeCount }, (_, node) => names.namespace(node));
  const pids = (await Promise.all(namespaces.map((ns) => namespacePids(logger, ns)))).flat();
  killLeftovers(logger, pids);
  const links = [names.bridge, ...namespaces.map((_, node) => names.bridgePort(node))];
  await Promise.all(
    links.map((link) => ignoreGone(runCommand(logger, ['ip', 'link', 'delete', link]))),
  );
  await Promise.all(
    namespaces.map((ns) => ignoreGone(runCommand(logger, ['ip', 'netns', 'delete', ns]))),
  );
}

/**
 * destroyTopology for process 'exit' handlers: synchronous, and it never throws (a failure is
 * logged as a warning; cleanupStale at the next start removes what is left).
 */
export function destroyTopologySync(logger: NetLogger, names: NetNames, nodeCount: number): void {
  const namespaces = Array.from({ length: nodeCount }, (_, node) => names.namespace(node));
  const pids: number[] = [];
  for (const ns of namespaces) {
    const output = trySync(logger, ['ip', 'netns', 'pids', ns]);
    if (output !== null) pids.push(...parsePids(output));
  }
  killLeftovers(logger, pids);
  trySync(logger, ['ip', 'link', 'delete', names.bridge]);
  for (let node = 0; node < nodeCount; node++) {
    trySync(logger, ['ip', 'link', 'delete', names.bridgePort(node)]);
  }
  for (const ns of namespaces) trySync(logger, ['ip', 'netns', 'delete', ns]);
}

/** SIGKILL by pid: the last resort for processes the caller left in a namespace. */
export function killLeftovers(logger: NetLogger, pids: readonly number[]): void {
  for (const pid of pids) {
    // Only processes inside a fault namespace are listed, and this one runs in the root one.
    assert(pid !== process.pid, `pid ${pid} listed in a fault namespace is this process`);
    logger.warn(`net: pid ${pid} still runs in a fault namespace being deleted: SIGKILL`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // It exited between the listing and the kill.
    }
  }
}

/** Resolves once the command succeeded or failed only because its object is already gone. */
export async function ignoreGone(command: Promise<unknown>): Promise<void> {
  try {
    await command;
  } catch (error) {
    if (!isAlreadyGone(error)) throw error;
  }
}

function trySync(logger: NetLogger, argv: readonly string[]): CommandOutput | null {
  try {
    return runCommandSync(logger, argv);
  } catch (error) {
    if (!isAlreadyGone(error)) logger.warn(`net: ${String(error)}`);
    return null;
  }
}

function parsePids(output: CommandOutput): number[] {
  return output.stdout
    .split('\n')
    .filter((line) => /^\d+$/.test(line.trim()))
    .map((line) => Number(line.trim()));
}

function lines(script: readonly string[]): string {
  return script.join('\n') + '\n';
}
