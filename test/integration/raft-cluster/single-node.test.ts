/**
 * A node started without raft.voters is a Raft quorum of one: it elects itself, and
 * DescribeCluster's quorum section (raw gRPC, the SDK and `brook cluster describe`, text and
 * JSON) shows it as leader with its own indexes and digest. One real `brook server` process;
 * then `brook server` with bad quorum settings, which must stop at once with one clear line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../../src/client/index.js';
import { runCli, startBroker, type BrokerProcess } from '../../helpers/broker-process.js';
import { closeRaftClients, describeCluster, propose, waitForLeader } from '../../helpers/raft.js';

let node: BrokerProcess;

beforeAll(async () => {
  // Short timeouts only to keep the test quick; the defaults are exercised by the benchmark.
  node = await startBroker({
    extraArgs: ['--raft-tick-ms', '20', '--raft-election-timeout-ms', '200'],
  });
  await waitForLeader([node], 10_000);
});

afterAll(async () => {
  closeRaftClients();
  await node?.cleanup();
});

describe('a node alone', () => {
  it('is the leader of its quorum of one, at its own address', async () => {
    await propose([node], [Buffer.from('one'), Buffer.from('two')], 10_000);
    const { quorum, controllerId } = await describeCluster(node);
    expect(controllerId).toBe(0);
    expect(quorum?.leaderId).toBe(0);
    expect(quorum?.term).toBeGreaterThan(0);
    expect(quorum?.members).toEqual([
      {
        nodeId: 0,
        address: node.address,
        kind: 'QUORUM_MEMBER_VOTER',
        replication: {
          matchIndex: quorum?.node?.lastIndex,
          nextIndex: (quorum?.node?.lastIndex ?? 0) + 1,
          lag: 0,
          state: 'REPLICATION_REPLICATE',
          recentlyActive: true,
        },
      },
    ]);
    const self = quorum?.node;
    expect(self).toMatchObject({ nodeId: 0, role: 'QUORUM_ROLE_LEADER', snapshotIndex: 0 });
    // The leader's no-op, then the two entries: all committed and applied.
    expect(self?.commitIndex).toBeGreaterThanOrEqual(3);
    expect(self?.appliedIndex).toBe(self?.commitIndex);
    expect(self?.appliedDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the SDK describes the quorum', async () => {
    const admin = new Admin({ bootstrap: node.address });
    try {
      const { quorum } = await admin.describeCluster();
      expect(quorum).toMatchObject({
        leaderId: 0,
        members: [{ nodeId: 0, address: node.address, kind: 'voter' }],
        node: { nodeId: 0, role: 'leader' },
      });
      expect(quorum?.members[0]?.replication).toMatchObject({ lag: 0, state: 'replicate' });
    } finally {
      await admin.close();
    }
  });

  it('brook cluster describe prints the quorum, as a table and as JSON', async () => {
    const text = await runCli(['cluster', 'describe', '--bootstrap', node.address]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Raft quorum, as node 0 sees it: leader 0, term \d+$/m);
    expect(text.stdout).toMatch(
      /^Node 0: leader, commit \d+, applied \d+, last \d+, snapshot 0, digest [0-9a-f]{16}$/m,
    );
    expect(text.stdout).toMatch(/^NODE\s+ADDRESS\s+KIND\s+MATCH\s+LAG\s+STATE\s+ACTIVE$/m);
    expect(text.stdout).toMatch(
      new RegExp(`^0\\s+${node.address}\\s+voter\\s+\\d+\\s+0\\s+replicate\\s+yes$`, 'm'),
    );

    const json = await runCli(['cluster', 'describe', '--json', '--bootstrap', node.address]);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { quorum: { leaderId: number; node: object } };
    expect(parsed.quorum.leaderId).toBe(0);
    expect(parsed.quorum.node).toMatchObject({ nodeId: 0, role: 'leader' });
  });
});

describe('brook server with bad quorum settings', () => {
  it('refuses to restart a voter with other voter ids, which would start a second quorum', async () => {
    const alone = await startBroker();
    try {
      await alone.stop();
      const result = await runCli([
        'server',
        '--listen',
        alone.address,
        '--data-dir',
        alone.dataDir,
        '--voters',
        `0@${alone.address},1@127.0.0.1:1`,
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(
        /^brook: raft.voters names nodes 0,1, but the data dir .* was started as a voter of nodes 0;/,
      );
      // The voters it started with still work.
      await alone.restart();
    } finally {
      await alone.cleanup();
    }
  });

  it.each([
    [['--voters', '1@127.0.0.1:1,x'], /raft.voters: "x" is not id@host:port .*\(from flag/],
    [['--node-id', '4', '--voters', '1@127.0.0.1:1'], /raft.voters does not name this node/],
    [
      ['--node-id', '1', '--voters', '1@127.0.0.1:1,2@127.0.0.1:2'],
      /raft.voters names 2 nodes but cluster.id is not set/,
    ],
    [['--raft-election-timeout-ms', '150'], /raft.election.timeout.ms \(150\) must be a multiple/],
  ])('%j stops with one line naming the setting', async (args, message) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'brook-raft-bad-'));
    try {
      const result = await runCli([
        'server',
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        dataDir,
        ...args,
      ]);
      expect(result.code).toBe(1);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines, result.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^brook: /);
      expect(lines[0]).toMatch(message);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
