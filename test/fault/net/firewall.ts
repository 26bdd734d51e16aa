/**
 * iptables inside the nodes' namespaces. Every fault rule lives in one chain, BROOK-FAULT,
 * which INPUT and OUTPUT jump to, so healing a namespace is one flush and nothing else in its
 * firewall is ever touched. Rules are added with `iptables-restore --noflush`: one process per
 * namespace per change, whatever the number of rules.
 *
 * A cut from a to b is two rules: `-d b -j DROP` in a's namespace (the packet never leaves a)
 * and `-s a -j DROP` in b's (a packet already on the bridge is dropped on arrival). One chain
 * can hold both directions' rules because a `-d <peer>` rule can only match in OUTPUT and a
 * `-s <peer>` rule only in INPUT. A drop in OUTPUT makes a local UDP send fail with EPERM; TCP
 * just retransmits, as over a dead link.
 */
import type { Cut } from './cuts.js';
import { runCommand, type NetLogger } from './run-command.js';
import type { Subnet } from './subnet.js';

/** The chain holding every fault rule of a namespace. */
export const FAULT_CHAIN = 'BROOK-FAULT';

/** Creates the fault chain and the jumps to it, in a namespace that has neither yet. */
export async function installChain(logger: NetLogger, namespace: string): Promise<void> {
  await restore(logger, namespace, [
    `:${FAULT_CHAIN} - [0:0]`,
    `-A INPUT -j ${FAULT_CHAIN}`,
    `-A OUTPUT -j ${FAULT_CHAIN}`,
  ]);
}

/** Appends rules (iptables-restore lines such as `-A BROOK-FAULT ...`) in one namespace. */
export async function appendRules(
  logger: NetLogger,
  namespace: string,
  rules: readonly string[],
): Promise<void> {
  if (rules.length === 0) return;
  await restore(logger, namespace, rules);
}

/** Removes every fault rule of a namespace. */
export async function flushChain(logger: NetLogger, namespace: string): Promise<void> {
  await runCommand(logger, ['ip', 'netns', 'exec', namespace, 'iptables', '-w', '-F', FAULT_CHAIN]);
}

/** The rules that enforce `cuts`, grouped by the node whose namespace holds them. */
export function cutRules(subnet: Subnet, cuts: readonly Cut[]): Map<number, string[]> {
  const rules = new Map<number, string[]>();
  const add = (node: number, rule: string): void => {
    const list = rules.get(node) ?? [];
    list.push(rule);
    rules.set(node, list);
  };
  for (const { from, to } of cuts) {
    add(from, `-A ${FAULT_CHAIN} -d ${subnet.nodeAddress(to)}/32 -j DROP`);
    add(to, `-A ${FAULT_CHAIN} -s ${subnet.nodeAddress(from)}/32 -j DROP`);
  }
  return rules;
}

/**
 * Random loss of the packets `node` receives from the other nodes (iptables' statistic match),
 * for kernels without netem. Receiving side only, so a packet between two lossy nodes is dropped
 * with the probability asked, not twice; clients' packets are never matched.
 */
export function lossRules(
  subnet: Subnet,
  node: number,
  nodeCount: number,
  lossPercent: number,
): string[] {
  if (!(lossPercent > 0 && lossPercent <= 100)) {
    throw new RangeError(`loss must be in (0, 100] percent, got ${lossPercent}`);
  }
  const probability = (lossPercent / 100).toFixed(6);
  const rules: string[] = [];
  for (let peer = 0; peer < nodeCount; peer++) {
    if (peer === node) continue;
    const source = `-s ${subnet.nodeAddress(peer)}/32`;
    rules.push(
      `-A ${FAULT_CHAIN} ${source} -m statistic --mode random --probability ${probability} -j DROP`,
    );
  }
  return rules;
}

async function restore(
  logger: NetLogger,
  namespace: string,
  lines: readonly string[],
): Promise<void> {
  const script = ['*filter', ...lines, 'COMMIT', ''].join('\n');
  await runCommand(
    logger,
    ['ip', 'netns', 'exec', namespace, 'iptables-restore', '-w', '--noflush'],
    {
      input: script,
    },
  );
}
