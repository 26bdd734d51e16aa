/**
 * A node started without raft.voters is a Raft quorum of one: it elects itself, and
 * DescribeCluster's quorum section (raw gRPC, the SDK and `brook cluster describe`, text and
 * JSON) shows it as leader with its own indexes and digest. One real `brook server` process;
 * then `brook server` with bad quorum settings, which must stop at once with one clear line:
 * among them a restart with other voter ids than the Raft store was bootstrapped with, which must
 * leave the data dir as it was, while a restart at a new address with the same id must work.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../../src/client/index.js';
import { ClassicLevel } from 'classic-level';
import { freePort, runCli, startBroker, type BrokerProcess } from '../../helpers/broker-process.js';
import { closeRaftClients, describeCluster, propose, waitForLeader } from '../../helpers/raft.js';

// Short timeouts only to keep the test quick; the defaults are exercised by the benchmark.
const FAST_RAFT = ['--raft-tick-ms', '20', '--raft-election-timeout-ms', '200'];

let node: BrokerProcess;

/**
 * What a stopped node's data dir holds: its top-level entries, meta.properties, and every key and
 * value of its LevelDB (LevelDB's own files change on every open, so they are not compared).
 */
async function snapshotDataDir(dataDir: string): Promise<{
  entries: string[];
  meta: string;
  keys: string[];
  raftKeys: number;
}> {
  const db = new ClassicLevel<Buffer, Buffer>(path.join(dataDir, 'store'), {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  await db.open({ createIfMissing: false, errorIfExists: false });
  const keys: string[] = [];
  let raftKeys = 0;
  try {
    for await (const [key, value] of db.iterator()) {
      keys.push(`${key.toString('hex')}=${value.toString('hex')}`);
      if (key[0] === 0x03 || key[0] === 0x04) raftKeys++;
    }
  } finally {
    await db.close();
  }
  return {
    entries: (await readdir(dataDir)).sort(),
    meta: await readFile(path.join(dataDir, 'meta.properties'), 'utf8'),
    keys,
    raftKeys,
  };
}

beforeAll(async () => {
  node = await startBroker({ extraArgs: FAST_RAFT });
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
  it('refuses to restart a voter of three without its voters, leaving the data dir untouched', async () => {
    // A voter of three restarted without --voters would be a quorum of one: it would elect
    // itself and commit alone on the log the other two share (a split brain).
    const port = await freePort();
    const voters = `0@127.0.0.1:${port},1@127.0.0.1:1,2@127.0.0.1:2`;
    const voter = await startBroker({
      port,
      extraArgs: ['--voters', voters, '--cluster-id', randomUUID()],
      waitFor: 'listening',
    });
    try {
      await voter.stop();
      const before = await snapshotDataDir(voter.dataDir);
      expect(before.raftKeys).toBeGreaterThan(0);
      const result = await runCli([
        'server',
        '--listen',
        voter.address,
        '--data-dir',
        voter.dataDir,
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(
        /^brook: data dir .*: raft\.voters gives voter ids 0, but this node's Raft store was bootstrapped with voter ids 0,1,2: .*Restart it with raft\.voters naming ids 0,1,2 \(their addresses may change\), or start it on an empty data dir\.$/m,
      );
      expect(await snapshotDataDir(voter.dataDir)).toEqual(before);
      // The voters it started with still work.
      await voter.restart();
    } finally {
      await voter.cleanup();
    }
  });

  it('starts a voter moved to a new address with the same id, and its log moves with it', async () => {
    const first = await startBroker({ extraArgs: FAST_RAFT });
    let moved: BrokerProcess | null = null;
    try {
      await waitForLeader([first], 10_000);
      const proposed = await propose([first], [Buffer.from('before the move')], 10_000);
      await first.stop();
      // Same data dir, another port: raft.voters (empty) now names node 0 at the new address.
      let port = await freePort();
      while (port === first.port) port = await freePort();
      moved = await startBroker({ dataDir: first.dataDir, port, extraArgs: FAST_RAFT });
      expect(moved.address).not.toBe(first.address);
      await waitForLeader([moved], 10_000);
      const { quorum } = await describeCluster(moved);
      expect(quorum?.members.map((m) => [m.nodeId, m.address])).toEqual([[0, moved.address]]);
      expect(quorum?.node?.appliedIndex).toBeGreaterThanOrEqual(proposed.lastIndex);
      expect(moved.output()).toMatch(
        /"level":30,.*"msg":"raft voter addresses changed since the last start; the new ones are recorded"/,
      );
      expect(moved.output()).toContain(`"stored":"${first.address}","given":"${moved.address}"`);
      expect(moved.errorLines()).toEqual([]);
    } finally {
      await moved?.stop();
      await first.cleanup();
    }
  });

  it.each([
    [['--voters', '1@127.0.0.1:1,x'], /raft.voters: "x" is not id@host:port .*\(from flag/],
    [['--node-id', '4', '--voters', '1@127.0.0.1:1'], /node 4 is not in raft.voters.*--cluster-id/],
    [
      ['--node-id', '1', '--voters', '1@127.0.0.1:1,2@127.0.0.1:2'],
      /raft.voters names 2 nodes but cluster.id is not set/,
    ],
    // The tick is given: the default one may divide 150.
    [
      ['--raft-tick-ms', '100', '--raft-election-timeout-ms', '150'],
      /raft.election.timeout.ms \(150\) must be a multiple/,
    ],
  ])('%j stops with one line naming the setting', async (args, message) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'brook-raft-bad-'));
    try {
      const result = await runCli(
        ['server', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...args],
        // A node that starts after all would run until killed; fail on its exit code instead.
        { timeoutMs: 20_000 },
      );
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
