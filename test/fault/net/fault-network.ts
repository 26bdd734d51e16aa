/**
 * The network of a fault run: each node a host of its own (a Linux network namespace with one
 * address), all on one bridge that the root namespace, where the clients run, also sits on. The
 * nemesis cuts and slows links between nodes with iptables and tc inside the namespaces; client
 * traffic is never faulted. Everything a network creates is named after its run id, and every
 * live network is torn down synchronously if the process exits without destroy().
 */
import { randomBytes } from 'node:crypto';
import { cutKey, isolateCuts, oneWayCuts, partitionCuts, ringCuts, type Cut } from './cuts.js';
import { appendRules, cutRules, flushChain, installChain, lossRules } from './firewall.js';
import {
  otherHolders,
  requireBridgeForwarding,
  requireRoot,
  subnetConflict,
} from './host-checks.js';
import {
  createBridge,
  createNodes,
  destroyTopology,
  destroyTopologySync,
  ownerAlias,
} from './namespaces.js';
import { NetNames, NODES_MAX } from './names.js';
import { runCommand, SILENT_LOGGER, type NetLogger } from './run-command.js';
import {
  checkSlowSettings,
  describeSlow,
  netemLeaf,
  probeNetem,
  shapePeerTraffic,
  tbfLeaf,
  unshape,
  type SlowSettings,
} from './shaping.js';
import { cleanupStaleRuns } from './stale.js';
import { Subnet, SUBNET_INDEX_MAX } from './subnet.js';

export interface FaultNetworkOptions {
  /** How many nodes (namespaces), 1-64. */
  readonly nodes: number;
  /** 1-8 lowercase hex digits naming everything created; default 4 random ones. */
  readonly runId?: string;
  /** Gets every command run (debug) and every leftover killed (warn). Default: silent. */
  readonly logger?: NetLogger;
  /**
   * Use exactly 10.213.<subnetIndex>.0/24. Default: the first of 10.213.0.0/24 ..
   * 10.213.15.0/24 that nothing on the machine uses (another run may hold 10.213.0.0/24).
   */
  readonly subnetIndex?: number;
}

const RUN_ID_BYTES = 2;

/** Networks of this process not yet destroyed, for the exit hook. */
const live = new Set<FaultNetwork>();
process.once('exit', () => {
  for (const network of live) network.destroySync();
});

/**
 * Run ids of this process from the start of create() to the end of destroy(): cleanupStale
 * must not take a network being built for a crashed run's leftovers.
 */
const liveRunIds = new Set<string>();

export class FaultNetwork {
  /** Directed cuts in force (cutKey), so that a repeated fault adds no duplicate rules. */
  private readonly cuts = new Set<string>();
  /** Nodes with shaping in force. */
  private readonly slowed = new Set<number>();
  private hasNetem: boolean | null = null;
  private destroying: Promise<void> | null = null;
  private isDestroyed = false;

  private constructor(
    private readonly names: NetNames,
    private readonly subnet: Subnet,
    /** How many nodes. */
    readonly size: number,
    private readonly logger: NetLogger,
  ) {}

  /**
   * Builds the bridge, then every node's namespace, veth pair, address and firewall chain.
   * Refuses (throws, having created nothing) without root, when the /24 overlaps a route or an
   * address of this machine, or when the machine's firewall would drop bridged traffic. On a
   * failure midway it destroys what it built and rethrows.
   */
  static async create(options: FaultNetworkOptions): Promise<FaultNetwork> {
    const logger = options.logger ?? SILENT_LOGGER;
    const { nodes } = options;
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > NODES_MAX) {
      throw new RangeError(`nodes must be an integer in [1, ${NODES_MAX}], got ${nodes}`);
    }
    requireRoot(logger);
    await requireBridgeForwarding(logger);
    const names = new NetNames(options.runId ?? randomBytes(RUN_ID_BYTES).toString('hex'));
    if (liveRunIds.has(names.runId)) throw new Error(`run id ${names.runId} is in use`);
    const alias = ownerAlias(names.runId, process.pid);
    liveRunIds.add(names.runId);
    let subnet: Subnet;
    try {
      subnet = await claimSubnet(logger, names, alias, options.subnetIndex);
    } catch (error) {
      liveRunIds.delete(names.runId);
      throw error;
    }
    const network = new FaultNetwork(names, subnet, nodes, logger);
    live.add(network);
    try {
      await createNodes(logger, names, subnet, nodes, alias);
      await Promise.all(network.nodes().map((node) => installChain(logger, names.namespace(node))));
    } catch (error) {
      await network.destroy().catch((cleanup: unknown) => logger.warn(`net: ${String(cleanup)}`));
      throw error;
    }
    return network;
  }

  /**
   * Throws, with a message saying what to do, unless this process can create network
   * namespaces (root, and a working `ip netns`). create() checks it too.
   */
  static requireRoot(logger: NetLogger = SILENT_LOGGER): void {
    requireRoot(logger);
  }

  /**
   * Removes the namespaces and links of crashed runs (see stale.ts: runs whose owner process is
   * gone), SIGKILLing by pid any process left inside. Resolves the names removed.
   */
  static async cleanupStale(logger: NetLogger = SILENT_LOGGER): Promise<string[]> {
    requireRoot(logger);
    return cleanupStaleRuns(logger, liveRunIds);
  }

  get runId(): string {
    return this.names.runId;
  }

  /** The root namespace's address on the bridge: the source of every client connection. */
  get clientAddress(): string {
    return this.subnet.clientAddress;
  }

  /** The /24 of this network, e.g. `10.213.0.0/24`. */
  get cidr(): string {
    return this.subnet.cidr;
  }

  /** Node `node`'s IPv4 address (10.213.x.(10 + node)). */
  address(node: number): string {
    this.checkNode(node);
    return this.subnet.nodeAddress(node);
  }

  /** The name of node `node`'s namespace, `brookf-<runId>-<node>`. */
  namespace(node: number): string {
    this.checkNode(node);
    return this.names.namespace(node);
  }

  /**
   * The argv that runs `argv` inside node `node`'s namespace: spawn argv[0] with the rest.
   * `ip netns exec` enters the namespace and then execs the program in place, so the spawned
   * child's pid is the program's own pid: signals sent to it reach the node, not a wrapper.
   */
  netnsExecArgv(node: number, argv: readonly string[]): string[] {
    if (argv.length === 0) throw new RangeError('netnsExecArgv needs a program to run');
    return ['ip', 'netns', 'exec', this.namespace(node), ...argv];
  }

  /**
   * Nodes in different groups can no longer exchange packets; nodes in no group keep every
   * link. Adds to the cuts in force until heal().
   */
  async partition(groups: readonly (readonly number[])[]): Promise<void> {
    await this.applyCuts(partitionCuts(this.size, groups));
  }

  /** Cuts `node` from every other node, both ways (clients still reach it). */
  async isolate(node: number): Promise<void> {
    await this.applyCuts(isolateCuts(this.size, node));
  }

  /**
   * Drops packets from `from` to `to`; `to` can still send to `from`. A TCP connection between
   * them fails either way (one side's segments are lost), a UDP datagram passes in one direction.
   */
  async dropOneWay(from: number, to: number): Promise<void> {
    await this.applyCuts(oneWayCuts(this.size, from, to));
  }

  /**
   * The majorities ring: each node keeps links only to its nearest neighbours on a ring, so
   * each sees a majority and no two see the same one. See ringViews() in cuts.ts for exactly
   * which; with 3 nodes or fewer it cuts nothing.
   */
  async ring(): Promise<void> {
    await this.applyCuts(ringCuts(this.size));
  }

  /**
   * Slows the packets `nodes` (default all) exchange with other nodes, never clients' packets.
   * netem delay, jitter and loss where the kernel has netem; otherwise iptables random drop and
   * a tbf rate limit (see shaping.ts). Resolves a description of what was applied, for the
   * history. A node already slowed must be healed first.
   */
  async slow(settings: SlowSettings, nodes: readonly number[] = this.nodes()): Promise<string> {
    this.checkUsable();
    checkSlowSettings(settings);
    const targets = [...new Set(nodes)].sort((a, b) => a - b);
    for (const node of targets) {
      this.checkNode(node);
      if (this.slowed.has(node)) throw new Error(`node ${node} is already slowed: heal() first`);
    }
    this.hasNetem ??= await probeNetem(this.logger, this.names.namespace(0));
    if (this.hasNetem) {
      const netem = netemLeaf(settings);
      if (netem !== null) await Promise.all(targets.map((node) => this.shape(node, netem)));
      for (const node of targets) this.slowed.add(node);
      return describeSlow(settings, targets, 'netem');
    }
    const tbf = tbfLeaf(settings);
    const { lossPercent } = settings;
    await Promise.all(
      targets.map(async (node) => {
        if (tbf !== null) await this.shape(node, tbf);
        if (lossPercent > 0) {
          const rules = lossRules(this.subnet, node, this.size, lossPercent);
          await appendRules(this.logger, this.names.namespace(node), rules);
        }
      }),
    );
    for (const node of targets) this.slowed.add(node);
    return describeSlow(settings, targets, 'fallback');
  }

  /** Removes every cut, every loss rule and every shaping, in every namespace. */
  async heal(): Promise<void> {
    this.checkUsable();
    await Promise.all(
      this.nodes().map((node) => {
        const ns = this.names.namespace(node);
        return Promise.all([
          flushChain(this.logger, ns),
          unshape(this.logger, ns, this.names.nodeLink(node)),
        ]);
      }),
    );
    this.cuts.clear();
    this.slowed.clear();
  }

  /**
   * Deletes every namespace, the veth pairs and the bridge. Idempotent; what is already gone is
   * skipped. Stop the nodes (by pid) first: a process still in a namespace gets SIGKILL.
   */
  async destroy(): Promise<void> {
    if (this.isDestroyed) return;
    this.destroying ??= destroyTopology(this.logger, this.names, this.size).then(
      () => {
        this.isDestroyed = true;
        live.delete(this);
        liveRunIds.delete(this.runId);
      },
      (error: unknown) => {
        this.destroying = null;
        throw error;
      },
    );
    await this.destroying;
  }

  /** destroy() for process 'exit' handlers: synchronous; never throws (it logs warnings). */
  destroySync(): void {
    if (this.isDestroyed) return;
    destroyTopologySync(this.logger, this.names, this.size);
    this.isDestroyed = true;
    live.delete(this);
    liveRunIds.delete(this.runId);
  }

  private nodes(): number[] {
    return Array.from({ length: this.size }, (_, node) => node);
  }

  private async applyCuts(cuts: readonly Cut[]): Promise<void> {
    this.checkUsable();
    const fresh = cuts.filter((cut) => !this.cuts.has(cutKey(cut)));
    const rulesByNode = cutRules(this.subnet, fresh);
    await Promise.all(
      [...rulesByNode].map(([node, rules]) =>
        appendRules(this.logger, this.names.namespace(node), rules),
      ),
    );
    for (const cut of fresh) this.cuts.add(cutKey(cut));
  }

  private async shape(node: number, leaf: string): Promise<void> {
    const shaped = {
      namespace: this.names.namespace(node),
      link: this.names.nodeLink(node),
      node,
      nodeCount: this.size,
    };
    await shapePeerTraffic(this.logger, shaped, this.subnet, leaf);
  }

  private checkNode(node: number): void {
    if (!Number.isInteger(node) || node < 0 || node >= this.size) {
      throw new RangeError(`no node ${node} in a network of ${this.size}`);
    }
  }

  private checkUsable(): void {
    if (this.isDestroyed || this.destroying !== null) {
      throw new Error(`fault network ${this.runId} is destroyed`);
    }
  }
}

/**
 * Finds a /24 nothing on the machine uses and claims it by putting the clients' address on a
 * new bridge. Two runs starting together can both find the same /24 free; each then checks that
 * no other interface took it meanwhile, and backs off to the next /24 if one did.
 */
async function claimSubnet(
  logger: NetLogger,
  names: NetNames,
  alias: string,
  subnetIndex: number | undefined,
): Promise<Subnet> {
  const indexes =
    subnetIndex === undefined
      ? Array.from({ length: SUBNET_INDEX_MAX + 1 }, (_, index) => index)
      : [subnetIndex];
  const refusals: string[] = [];
  for (const index of indexes) {
    const subnet = new Subnet(index);
    const conflict = await subnetConflict(logger, subnet);
    if (conflict !== null) {
      refusals.push(conflict);
      continue;
    }
    await createBridge(logger, names, subnet, alias);
    const holders = await otherHolders(logger, subnet, names.bridge);
    if (holders.length === 0) return subnet;
    refusals.push(`${subnet.cidr} taken meanwhile by ${holders.join(', ')}`);
    await runCommand(logger, ['ip', 'link', 'delete', names.bridge]);
  }
  throw new Error(
    `no free /24 for the fault network: ${refusals.join('; ')}. ` +
      'Leftovers of a crashed run are removed by FaultNetwork.cleanupStale()',
  );
}
