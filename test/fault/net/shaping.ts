/**
 * A slow network between nodes, with tc on each node's veth end (egress: the packets the node
 * sends). Only packets to other nodes are shaped, never those to the clients: an htb root whose
 * one class, 1:1, takes packets to peer addresses (u32 filters) and holds the shaping qdisc;
 * everything unclassified (clients, ARP) goes out htb's direct queue untouched.
 *
 * The shaping qdisc is netem (delay, jitter, loss) where the kernel has it. Kernels without
 * sch_netem cannot add a fixed delay at all (tbf and htb only pace), so there the caller gets
 * loss from iptables (firewall.ts lossRules) and a tbf bandwidth limit, whose queue delays
 * packets under load only. describeSlow says which one was applied, for the history.
 */
import { CommandError, isAlreadyGone, runCommand, type NetLogger } from './run-command.js';
import type { Subnet } from './subnet.js';

/** What slow() is asked for. */
export interface SlowSettings {
  /** Added to every packet a slowed node sends to another node (netem only). */
  readonly delayMs: number;
  /** Random variation of the delay, ± this much (netem only). */
  readonly jitterMs: number;
  /** Share of node-to-node packets dropped, 0-100. */
  readonly lossPercent: number;
  /**
   * A rate limit on what a slowed node sends to other nodes, in kbit/s. Default: none with
   * netem; 1000 (1 mbit) without, as the only stand-in for the delay.
   */
  readonly bandwidthKbit?: number;
}

/** Without netem, a slow node's peer traffic is paced to this many kbit/s unless told. */
export const FALLBACK_BANDWIDTH_KBIT = 1000;

/** tbf queues a packet at most this long before dropping it: bounds the queueing delay. */
const TBF_LATENCY_MS = 400;
/** tbf bucket size: a few full-size frames, so small exchanges are not delayed at all. */
const TBF_BURST = '32kb';
/** The shaped class's own rate: high enough never to be the limit. */
const CLASS_RATE = 'rate 10gbit quantum 60000';

export function checkSlowSettings(settings: SlowSettings): void {
  const { delayMs, jitterMs, lossPercent, bandwidthKbit } = settings;
  if (!(Number.isFinite(delayMs) && delayMs >= 0)) throw new RangeError(`bad delayMs ${delayMs}`);
  if (!(Number.isFinite(jitterMs) && jitterMs >= 0)) {
    throw new RangeError(`bad jitterMs ${jitterMs}`);
  }
  if (!(lossPercent >= 0 && lossPercent <= 100)) {
    throw new RangeError(`lossPercent must be in [0, 100], got ${lossPercent}`);
  }
  if (bandwidthKbit !== undefined && !(Number.isInteger(bandwidthKbit) && bandwidthKbit > 0)) {
    throw new RangeError(`bandwidthKbit must be a positive integer, got ${bandwidthKbit}`);
  }
}

/**
 * Whether this kernel has the netem qdisc, probed on `namespace`'s lo (added, then removed).
 * Throws on any failure other than an unknown qdisc kind.
 */
export async function probeNetem(logger: NetLogger, namespace: string): Promise<boolean> {
  const lo = ['tc', '-n', namespace, 'qdisc'];
  try {
    await runCommand(logger, [...lo, 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
  } catch (error) {
    if (error instanceof CommandError && /qdisc kind is unknown/i.test(error.stderr)) return false;
    throw error;
  }
  await runCommand(logger, [...lo, 'delete', 'dev', 'lo', 'root']);
  return true;
}

/** The netem qdisc arguments for `settings`, or null when they ask for nothing. */
export function netemLeaf(settings: SlowSettings): string | null {
  const parts: string[] = [];
  if (settings.delayMs > 0 || settings.jitterMs > 0) {
    const jitter = settings.jitterMs > 0 ? ` ${settings.jitterMs}ms` : '';
    parts.push(`delay ${settings.delayMs}ms${jitter}`);
  }
  if (settings.lossPercent > 0) parts.push(`loss ${settings.lossPercent}%`);
  if (settings.bandwidthKbit !== undefined) parts.push(`rate ${settings.bandwidthKbit}kbit`);
  return parts.length === 0 ? null : `netem ${parts.join(' ')}`;
}

/** The tbf qdisc arguments standing in for a delay on kernels without netem, or null. */
export function tbfLeaf(settings: SlowSettings): string | null {
  const wantsPacing =
    settings.delayMs > 0 || settings.jitterMs > 0 || settings.bandwidthKbit !== undefined;
  if (!wantsPacing) return null;
  const rate = settings.bandwidthKbit ?? FALLBACK_BANDWIDTH_KBIT;
  return `tbf rate ${rate}kbit burst ${TBF_BURST} latency ${TBF_LATENCY_MS}ms`;
}

/**
 * Puts `leaf` (netem or tbf arguments) on the packets `node` sends to the other nodes, in one
 * `tc -batch` inside its namespace. The link must carry no qdisc of ours yet.
 */
export async function shapePeerTraffic(
  logger: NetLogger,
  shaped: { namespace: string; link: string; node: number; nodeCount: number },
  subnet: Subnet,
  leaf: string,
): Promise<void> {
  const { namespace, link, node, nodeCount } = shaped;
  const script = [
    `qdisc add dev ${link} root handle 1: htb default 0`,
    `class add dev ${link} parent 1: classid 1:1 htb ${CLASS_RATE}`,
    `qdisc add dev ${link} parent 1:1 handle 10: ${leaf}`,
  ];
  for (let peer = 0; peer < nodeCount; peer++) {
    if (peer === node) continue;
    const match = `u32 match ip dst ${subnet.nodeAddress(peer)}/32`;
    script.push(`filter add dev ${link} parent 1: protocol ip prio 1 ${match} flowid 1:1`);
  }
  await runCommand(logger, ['tc', '-n', namespace, '-batch', '-'], {
    input: script.join('\n') + '\n',
  });
}

/** Removes whatever root qdisc a node's link has (a no-op when it has none). */
export async function unshape(logger: NetLogger, namespace: string, link: string): Promise<void> {
  try {
    await runCommand(logger, ['tc', '-n', namespace, 'qdisc', 'delete', 'dev', link, 'root']);
  } catch (error) {
    if (!isAlreadyGone(error)) throw error;
  }
}

/** What slow() applied, in words for the history. */
export function describeSlow(
  settings: SlowSettings,
  nodes: readonly number[],
  applied: 'netem' | 'fallback',
): string {
  const { delayMs, jitterMs, lossPercent, bandwidthKbit } = settings;
  const who = `nodes ${nodes.join(',')}`;
  const delay = delayMs > 0 || jitterMs > 0 ? `delay ${delayMs}ms ±${jitterMs}ms` : null;
  if (applied === 'netem') {
    const parts = [delay, lossPercent > 0 ? `loss ${lossPercent}%` : null];
    if (bandwidthKbit !== undefined) parts.push(`rate ${bandwidthKbit}kbit`);
    const what = parts.filter((part) => part !== null);
    if (what.length === 0) return `nothing to slow on ${who}`;
    return `netem ${what.join(' ')} on packets ${who} send to other nodes`;
  }
  const parts: string[] = [];
  if (lossPercent > 0) {
    parts.push(
      `${lossPercent}% random drop of packets ${who} receive from other nodes (iptables statistic)`,
    );
  }
  if (tbfLeaf(settings) !== null) {
    const rate = bandwidthKbit ?? FALLBACK_BANDWIDTH_KBIT;
    const senders = lossPercent > 0 ? 'they' : who;
    parts.push(
      `tbf ${rate}kbit on packets ${senders} send to other nodes (queueing delay under load)`,
    );
  }
  const what = parts.length === 0 ? `nothing applied on ${who}` : parts.join(' + ');
  const missing = delay === null ? '' : `; the ${delay} asked for is not applied`;
  return `no netem on this kernel: ${what}${missing}`;
}
