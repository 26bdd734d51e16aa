/**
 * The fault harness's network layer against the real kernel: every node a namespace, every
 * fault an iptables or tc change. Each test starts from a healed network, injects one fault, and
 * checks with real packets (a TCP echo, UDP datagrams) which links pass and which are cut,
 * including from the root namespace where clients run. Needs root; skipped otherwise. The ring's
 * shape is pure and checked without root.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, readlink, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FaultNetwork,
  missingPrivilege,
  ringViews,
  type NetLogger,
} from '../../fault/net/index.js';
import { runIdOfLink, runIdOfNamespace } from '../../fault/net/names.js';
import { ProbeServer, rootTcpProbe, tcpProbe, udpSend } from './net-probes.js';

const run = promisify(execFile);
/** Null when this process may create network namespaces; else why the suite is skipped. */
const whyNotRoot = missingPrivilege();

/** Warnings the network layer logged (a leftover process killed, a failed teardown step). */
const warnings: string[] = [];
const logger: NetLogger = { debug: () => undefined, warn: (line) => warnings.push(line) };

describe('majorities ring (pure)', () => {
  it('with 5 nodes each node sees itself and its two ring neighbours: 3, a majority', () => {
    expect(ringViews(5)).toEqual([
      [0, 1, 4],
      [0, 1, 2],
      [1, 2, 3],
      [2, 3, 4],
      [0, 3, 4],
    ]);
  });

  it('every node sees a majority and no two see the same one, for 4 to 9 nodes', () => {
    for (let n = 4; n <= 9; n++) {
      const views = ringViews(n);
      for (const view of views) expect(view.length).toBeGreaterThan(n / 2);
      expect(new Set(views.map((view) => view.join())).size).toBe(n);
    }
  });

  it('degenerates with 3 nodes or fewer: everyone sees everyone', () => {
    expect(ringViews(3)).toEqual([
      [0, 1, 2],
      [0, 1, 2],
      [0, 1, 2],
    ]);
  });
});

const suite = `FaultNetwork (creates network namespaces: needs root${whyNotRoot === null ? '' : `; skipped, ${whyNotRoot}`})`;
describe.skipIf(whyNotRoot !== null)(suite, () => {
  let network: FaultNetwork;
  const servers: ProbeServer[] = [];
  const server = (node: number): ProbeServer => servers[node]!;

  beforeAll(async () => {
    network = await FaultNetwork.create({ nodes: 3, logger });
    for (let node = 0; node < 3; node++) servers.push(await ProbeServer.start(network, node));
  });

  afterAll(async () => {
    await Promise.all(servers.map((probe) => probe.stop()));
    await network?.destroy();
  });

  it('runs each node as its own process in its own namespace, with its own address', async () => {
    expect(network.clientAddress).toMatch(/^10\.213\.\d+\.1$/);
    for (let node = 0; node < 3; node++) {
      const { pid } = server(node);
      // `ip netns exec` execs in place: the pid we spawned is node's own, not a wrapper's.
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      expect(cmdline[0]).toBe(process.execPath);
      const inode = (await stat(`/run/netns/${network.namespace(node)}`)).ino;
      expect(await readlink(`/proc/${pid}/ns/net`)).toBe(`net:[${inode}]`);
      expect(network.address(node)).toBe(network.clientAddress.replace(/1$/, String(10 + node)));
    }
  });

  it('routes nothing beyond the bridge: a node has only its connected /24, no default', async () => {
    const { stdout } = await run('ip', ['-n', network.namespace(0), '-4', 'route', 'show']);
    expect(stdout.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${network.cidr.replace(/\./g, '\\.')} dev `)),
    ]);
  });

  it('lets the root namespace reach every node, and nodes reach each other', async () => {
    expect(await Promise.all([0, 1, 2].map((node) => rootTcpProbe(network, node)))).toEqual([
      'ok',
      'ok',
      'ok',
    ]);
    expect(await tcpProbe(network, 0, 1)).toBe('ok');
  });

  it('isolate(0) cuts node 0 from 1 and 2 both ways; 1-2 and clients are unaffected', async () => {
    await network.isolate(0);
    try {
      const [to1, to2, from1, oneToTwo, root] = await Promise.all([
        tcpProbe(network, 0, 1),
        tcpProbe(network, 0, 2),
        tcpProbe(network, 1, 0),
        tcpProbe(network, 1, 2),
        rootTcpProbe(network, 0),
      ]);
      expect({ to1, to2, from1, oneToTwo, root }).toEqual({
        to1: 'timeout',
        to2: 'timeout',
        from1: 'timeout',
        oneToTwo: 'ok',
        root: 'ok',
      });
    } finally {
      await network.heal();
    }
    expect(await tcpProbe(network, 0, 1)).toBe('ok');
  });

  it('dropOneWay(0, 1) drops datagrams from 0 to 1 but not from 1 to 0', async () => {
    await network.dropOneWay(0, 1);
    try {
      // The cut holds at both ends: 0 does not send, and 1 would drop on arrival.
      expect(await chainRules(0)).toContain(`-A BROOK-FAULT -d ${network.address(1)}/32 -j DROP`);
      expect(await chainRules(1)).toContain(`-A BROOK-FAULT -s ${network.address(0)}/32 -j DROP`);
      await udpSend(network, 0, 1, 'zero-to-one');
      await udpSend(network, 1, 0, 'one-to-zero');
      expect(await server(0).receivedUdp('one-to-zero', 1_000)).toBe(true);
      expect(await server(1).receivedUdp('zero-to-one', 200)).toBe(false);
      // TCP needs both directions, so a connection fails whichever side opens it.
      expect(await tcpProbe(network, 1, 0)).toBe('timeout');
    } finally {
      await network.heal();
    }
    await udpSend(network, 0, 1, 'healed-zero-to-one');
    expect(await server(1).receivedUdp('healed-zero-to-one', 1_000)).toBe(true);
  });

  it('partition([[0], [1, 2]]) splits 0 from 1 and 2, keeps 1-2 and clients, heals', async () => {
    await network.partition([[0], [1, 2]]);
    try {
      const [zeroOne, twoZero, oneTwo, root] = await Promise.all([
        tcpProbe(network, 0, 1),
        tcpProbe(network, 2, 0),
        tcpProbe(network, 1, 2),
        rootTcpProbe(network, 0),
      ]);
      expect({ zeroOne, twoZero, oneTwo, root }).toEqual({
        zeroOne: 'timeout',
        twoZero: 'timeout',
        oneTwo: 'ok',
        root: 'ok',
      });
    } finally {
      await network.heal();
    }
    expect(await chainRules(0)).toEqual([]);
    expect(await tcpProbe(network, 2, 0)).toBe('ok');
  });

  it('slow() says what it applied and heal() removes all of it', async () => {
    const description = await network.slow({ delayMs: 50, jitterMs: 10, lossPercent: 5 });
    try {
      expect(description).toMatch(/nodes 0,1,2/);
      if (/^no netem/.test(description)) {
        expect(description).toMatch(/^no netem on this kernel: 5% random drop/);
        expect(await qdiscsOf(2)).toMatch(/qdisc tbf 10: parent 1:1/);
        expect((await chainRules(2)).join('\n')).toMatch(/statistic --mode random/);
      } else {
        expect(description).toMatch(/^netem delay 50ms ±10ms loss 5%/);
        expect(await qdiscsOf(2)).toMatch(/qdisc netem 10: parent 1:1/);
      }
      await expect(network.slow({ delayMs: 1, jitterMs: 0, lossPercent: 0 }, [2])).rejects.toThrow(
        /already slowed/,
      );
    } finally {
      await network.heal();
    }
    expect(await qdiscsOf(2)).not.toMatch(/htb|netem|tbf/);
    expect(await chainRules(2)).toEqual([]);
  });

  it('slow() shapes packets to other nodes only, never those to clients', async () => {
    // No loss here, so every probe's packets really go out.
    const description = await network.slow({ delayMs: 20, jitterMs: 0, lossPercent: 0 }, [0]);
    try {
      const leaf = /^no netem/.test(description) ? 'tbf' : 'netem';
      const before = sentBytes(await qdiscsOf(0), leaf);
      expect(await rootTcpProbe(network, 0)).toBe('ok');
      expect(sentBytes(await qdiscsOf(0), leaf)).toBe(before);
      expect(await tcpProbe(network, 0, 1)).toBe('ok');
      expect(sentBytes(await qdiscsOf(0), leaf)).toBeGreaterThan(before);
    } finally {
      await network.heal();
    }
  });

  it('ring() on 5 nodes cuts node 0 from 2 but not from its neighbour 1', async () => {
    // A second network while the first lives: it must claim another /24.
    const ring = await FaultNetwork.create({ nodes: 5, logger });
    const ringServers: ProbeServer[] = [];
    try {
      expect(ring.cidr).not.toBe(network.cidr);
      // Both networks are live: cleanupStale must leave them alone. (It may remove a crashed
      // run's leftovers: the machine is shared with whatever ran before this suite.)
      const removed = await FaultNetwork.cleanupStale(logger);
      expect(
        removed.filter((name) => isOfRun(name, network.runId) || isOfRun(name, ring.runId)),
      ).toEqual([]);
      ringServers.push(await ProbeServer.start(ring, 1), await ProbeServer.start(ring, 2));
      await ring.ring();
      const [neighbour, across, root] = await Promise.all([
        tcpProbe(ring, 0, 1),
        tcpProbe(ring, 0, 2),
        rootTcpProbe(ring, 2),
      ]);
      expect({ neighbour, across, root }).toEqual({
        neighbour: 'ok',
        across: 'timeout',
        root: 'ok',
      });
    } finally {
      await Promise.all(ringServers.map((probe) => probe.stop()));
      await ring.destroy();
    }
  });

  it('destroy() removes every namespace and link, is idempotent; cleanupStale() removes leaks', async () => {
    await Promise.all(servers.map((probe) => probe.stop()));
    const { runId } = network;
    await network.destroy();
    await network.destroy();
    expect(await leftoversOf(runId)).toEqual([]);
    expect(warnings.filter((line) => !line.startsWith(LEFTOVERS_REMOVED))).toEqual([]);

    // A crashed run's remains: a namespace and a bridge nobody owns.
    const leaked = randomBytes(3).toString('hex');
    await run('ip', ['netns', 'add', `brookf-${leaked}-0`]);
    await run('ip', ['link', 'add', `bf${leaked}b`, 'type', 'bridge']);
    const removed = await FaultNetwork.cleanupStale(logger);
    expect(removed.filter((name) => isOfRun(name, leaked)).sort()).toEqual([
      `bf${leaked}b`,
      `brookf-${leaked}-0`,
    ]);
    expect(await leftoversOf(leaked)).toEqual([]);
  });

  /** The rules in a node's fault chain, as `iptables -S` prints them. */
  async function chainRules(node: number): Promise<string[]> {
    const argv = ['netns', 'exec', network.namespace(node), 'iptables', '-S', 'BROOK-FAULT'];
    const { stdout } = await run('ip', argv);
    return stdout
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('-A '));
  }

  async function qdiscsOf(node: number): Promise<string> {
    const link = `bf${network.runId}v${node}`;
    const argv = ['-n', network.namespace(node), '-s', 'qdisc', 'show', 'dev', link];
    return (await run('tc', argv)).stdout;
  }
});

/** Bytes the shaping qdisc (handle 10:) has sent, from `tc -s qdisc show`. */
function sentBytes(qdiscs: string, leaf: string): number {
  const match = new RegExp(`qdisc ${leaf} 10:[^\\n]*\\n\\s*Sent (\\d+) bytes`).exec(qdiscs);
  if (match === null) throw new Error(`no ${leaf} qdisc in:\n${qdiscs}`);
  return Number(match[1]);
}

/** How cleanupStale's warning starts: another run's leftovers are not this suite's fault. */
const LEFTOVERS_REMOVED = 'net: removed leftovers of crashed runs:';

function isOfRun(name: string, runId: string): boolean {
  return (runIdOfNamespace(name) ?? runIdOfLink(name)) === runId;
}

/** Namespaces and root-namespace links named after `runId`. */
async function leftoversOf(runId: string): Promise<string[]> {
  const namespaces = (await run('ip', ['netns', 'list'])).stdout;
  const links = (await run('ip', ['-br', 'link'])).stdout;
  return (
    [...namespaces.split('\n'), ...links.split('\n')]
      // `ip -br link` names a veth end `name@peer`.
      .map((line) => (line.split(/\s+/)[0] ?? '').split('@')[0] ?? '')
      .filter((name) => isOfRun(name, runId))
  );
}
