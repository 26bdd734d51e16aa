/**
 * The fault harness's network layer: each Brook node a host of its own, and the nemesis's
 * network faults between them.
 *
 * Layout (FaultNetwork.create, root only):
 *
 *     root namespace (clients)        10.213.x.1/24 on bridge bf<run>b
 *       bf<run>p0 ... bf<run>p<n-1>    bridge ports, veth ends
 *     namespace brookf-<run>-<i>      lo + bf<run>v<i> at 10.213.x.(10+i)/24, no default route
 *
 * x is 0 unless another run holds 10.213.0.0/24. Nothing is routed or NATed: a node reaches
 * the other nodes and the root namespace, nothing else.
 *
 * Faults, all undone by heal() and all between nodes only (clients are never cut or slowed):
 * - partition(groups), isolate(node), dropOneWay(from, to), ring(): DROP rules by peer address
 *   in the chain BROOK-FAULT of the nodes' namespaces (firewall.ts), cumulative until heal().
 * - slow(settings, nodes): netem under an htb class for peer-bound packets, or, on kernels
 *   without netem, iptables random drop plus a tbf rate limit (shaping.ts).
 *
 * Lifecycle: FaultNetwork.cleanupStale() at harness start, create(), start nodes with
 * netnsExecArgv(), stop them by pid, destroy(). An exit hook destroySync()s networks a crashed
 * harness left live; cleanupStale() removes what even that missed.
 */
export { FaultNetwork, type FaultNetworkOptions } from './fault-network.js';
export { missingPrivilege, requireRoot } from './host-checks.js';
export { ringViews, type Cut } from './cuts.js';
export { FAULT_CHAIN } from './firewall.js';
export { CommandError, SILENT_LOGGER, type NetLogger } from './run-command.js';
export { FALLBACK_BANDWIDTH_KBIT, type SlowSettings } from './shaping.js';
