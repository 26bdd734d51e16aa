/**
 * The pure planning behind `brook dev`: which nodes vote (Kafka's combined-mode sizing), which
 * ports, data dirs, log and pid files each node gets, the `brook server` arguments, and the
 * refusal of bad option values as usage errors. No processes, no I/O.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/output.js';
import { planDevCluster, serverArgs, voterCount } from '../../../src/cli/dev/plan.js';

const CWD = '/home/dev/brook';

function plan(nodeCount: number, basePort = 7070, dataDir = './data/dev') {
  return planDevCluster({ nodeCount, basePort, dataDir, cwd: CWD });
}

describe('voters', () => {
  it('every node votes up to 3 nodes, 3 vote with 4 nodes, and 5 vote from 5 nodes on', () => {
    const counts = [1, 2, 3, 4, 5, 6, 7, 8, 9].map(voterCount);
    expect(counts).toEqual([1, 2, 3, 3, 5, 5, 5, 5, 5]);
  });

  it.each([
    [1, '0@127.0.0.1:7070'],
    [3, '0@127.0.0.1:7070,1@127.0.0.1:7071,2@127.0.0.1:7072'],
    [4, '0@127.0.0.1:7070,1@127.0.0.1:7071,2@127.0.0.1:7072'],
    [5, '0@127.0.0.1:7070,1@127.0.0.1:7071,2@127.0.0.1:7072,3@127.0.0.1:7073,4@127.0.0.1:7074'],
    [7, '0@127.0.0.1:7070,1@127.0.0.1:7071,2@127.0.0.1:7072,3@127.0.0.1:7073,4@127.0.0.1:7074'],
  ])('with %i nodes the voters are %s, the lowest ids', (nodeCount, voters) => {
    const planned = plan(nodeCount);
    expect(planned.voters).toBe(voters);
    const voterIds = planned.nodes.filter((node) => node.isVoter).map((node) => node.id);
    expect(planned.voterIds).toEqual(voterIds);
    expect(voterIds).toEqual([...Array(voterCount(nodeCount)).keys()]);
    // The rest are observers: in the plan, never in --voters.
    for (const node of planned.nodes.filter((n) => !n.isVoter)) {
      expect(planned.voters).not.toContain(`${node.id}@`);
    }
  });
});

describe('nodes', () => {
  it('gives node i port base+i, <dir>/node-i, and its log and pid files, resolved against cwd', () => {
    const planned = plan(3, 9090, 'tmp/cluster');
    const dir = path.resolve(CWD, 'tmp/cluster');
    expect(planned.dataDir).toBe(dir);
    expect(planned.clusterIdFile).toBe(path.join(dir, 'cluster-id'));
    expect(planned.bootstrap).toBe('127.0.0.1:9090,127.0.0.1:9091,127.0.0.1:9092');
    expect(planned.nodes[2]).toEqual({
      id: 2,
      port: 9092,
      address: '127.0.0.1:9092',
      dataDir: path.join(dir, 'node-2'),
      logFile: path.join(dir, 'node-2.log'),
      pidFile: path.join(dir, 'node-2.pid'),
      isVoter: true,
    });
    expect(planned.nodes.map((node) => node.id)).toEqual([0, 1, 2]);
  });

  it('keeps an absolute data dir as it is, and defaults to ./data/dev under cwd', () => {
    expect(plan(1, 7070, '/var/tmp/brook').dataDir).toBe('/var/tmp/brook');
    expect(plan(1).dataDir).toBe(path.join(CWD, 'data', 'dev'));
  });

  it('uses the last port when the range ends at 65535', () => {
    const planned = plan(9, 65_527);
    expect(planned.nodes.at(-1)?.port).toBe(65_535);
  });

  it('runs bin/brook server with node id, listen address, data dir, voters and cluster id', () => {
    const planned = plan(3);
    const node = planned.nodes[1]!;
    expect(serverArgs('/repo/bin/brook', planned, node, 'abc')).toEqual([
      '/repo/bin/brook',
      'server',
      '--node-id',
      '1',
      '--listen',
      '127.0.0.1:7071',
      '--data-dir',
      path.join(CWD, 'data', 'dev', 'node-1'),
      '--voters',
      '0@127.0.0.1:7070,1@127.0.0.1:7071,2@127.0.0.1:7072',
      '--cluster-id',
      'abc',
    ]);
  });
});

describe('bad inputs are usage errors', () => {
  it.each([0, 10, -1, 2.5, Number.NaN])('refuses --nodes %s', (nodeCount) => {
    expect(() => plan(nodeCount)).toThrow(UsageError);
    expect(() => plan(nodeCount)).toThrow(/--nodes must be a whole number from 1 to 9/);
    expect(() => voterCount(nodeCount)).toThrow(UsageError);
  });

  it.each([0, 65_536, 70_000, 1.5])('refuses --base-port %s', (basePort) => {
    expect(() => plan(1, basePort)).toThrow(/--base-port must be a whole number from 1 to 65535/);
  });

  it('refuses a port range that runs past 65535, naming the highest base that fits', () => {
    expect(() => plan(3, 65_534)).toThrow(UsageError);
    expect(() => plan(3, 65_534)).toThrow(
      '--base-port 65534 with --nodes 3 needs ports up to 65536, past 65535; use a base port of at most 65533.',
    );
    expect(plan(3, 65_533).nodes.at(-1)?.port).toBe(65_535);
  });

  it('refuses an empty data dir', () => {
    expect(() => plan(1, 7070, ' ')).toThrow('--data-dir must not be empty.');
  });
});
