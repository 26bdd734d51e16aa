/**
 * What `brook dev` prints, from pure functions: the exact block on stdout once the cluster is
 * ready, the example's replication factor, paths shown relative to the working directory, shell
 * quoting, and the pieces of its failure messages (log tails, exits, a server's one-line error).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ClusterDescription } from '../../../src/client/index.js';
import { planDevCluster } from '../../../src/cli/dev/plan.js';
import {
  brookCommand,
  describeExit,
  displayPath,
  exampleReplicationFactor,
  lastLines,
  readyText,
  serverErrorOf,
  shellWord,
} from '../../../src/cli/dev/report.js';

const CWD = '/home/dev/brook';

function brokersAnswer(brokerCount: number): ClusterDescription {
  return {
    clusterId: 'c',
    controllerId: 0,
    brokers: Array.from({ length: brokerCount }, (_, id) => ({
      nodeId: id,
      host: '127.0.0.1',
      port: 7070 + id,
      address: `127.0.0.1:${7070 + id}`,
      rack: '',
      fenced: false,
    })),
    quorum: null,
  };
}

describe('readyText', () => {
  it('prints the summary, the bootstrap line, the logs and commands to paste', () => {
    const plan = planDevCluster({ nodeCount: 3, basePort: 7070, dataDir: './data/dev', cwd: CWD });
    const text = readyText({
      plan,
      clusterId: '6f1c0e2a-1b2c-4d5e-8f90-123456789abc',
      leaderId: 1,
      replicationFactor: 3,
      brookCommand: './bin/brook',
      cwd: CWD,
    });
    expect(text)
      .toBe(`Brook dev cluster ready: 3 nodes, Raft voters 0,1,2, leader node 1, cluster id 6f1c0e2a-1b2c-4d5e-8f90-123456789abc

bootstrap: 127.0.0.1:7070,127.0.0.1:7071,127.0.0.1:7072
logs:      data/dev/node-0.log … node-2.log (JSON lines; follow them with: tail -f data/dev/node-*.log)
data:      data/dev

Try it in another terminal:
  export BROOK_BOOTSTRAP=127.0.0.1:7070,127.0.0.1:7071,127.0.0.1:7072
  ./bin/brook topics create demo --partitions 3 --replication-factor 3
  echo "hello, brook" | ./bin/brook produce demo
  ./bin/brook consume demo --from-beginning --max-messages 1
  ./bin/brook cluster describe

Ctrl-C stops every node.
`);
  });

  it('names the observers, and a single node and its one log file', () => {
    const four = planDevCluster({ nodeCount: 4, basePort: 7070, dataDir: 'd', cwd: CWD });
    const input = {
      clusterId: 'x',
      leaderId: 0,
      replicationFactor: 1,
      brookCommand: 'b',
      cwd: CWD,
    };
    expect(readyText({ ...input, plan: four })).toMatch(
      /^Brook dev cluster ready: 4 nodes, Raft voters 0,1,2, observers 3, leader node 0,/,
    );
    const one = planDevCluster({ nodeCount: 1, basePort: 7070, dataDir: 'd', cwd: CWD });
    const text = readyText({ ...input, plan: one });
    expect(text).toMatch(/^Brook dev cluster ready: 1 node, Raft voters 0, leader node 0,/);
    expect(text).toContain('\nbootstrap: 127.0.0.1:7070\n');
    expect(text).toContain('\nlogs:      d/node-0.log (JSON lines;');
  });
});

describe('exampleReplicationFactor', () => {
  it('is 3 at most, at most the node count, and at most the brokers every node lists', () => {
    const all = (nodeCount: number, brokers: number) =>
      Array.from({ length: nodeCount }, () => brokersAnswer(brokers));
    expect(exampleReplicationFactor(all(5, 5))).toBe(3);
    expect(exampleReplicationFactor(all(2, 2))).toBe(2);
    // Today: each node's local controller lists only that node.
    expect(exampleReplicationFactor(all(3, 1))).toBe(1);
    expect(exampleReplicationFactor([brokersAnswer(3), brokersAnswer(2), null])).toBe(1);
  });
});

describe('paths and shell words', () => {
  it('shows paths under cwd relative to it, others absolute', () => {
    expect(displayPath(path.join(CWD, 'data', 'dev'), CWD)).toBe('data/dev');
    expect(displayPath(CWD, CWD)).toBe('.');
    expect(displayPath('/tmp/x', CWD)).toBe('/tmp/x');
    expect(displayPath('/home/dev/brook-other/x', CWD)).toBe('/home/dev/brook-other/x');
  });

  it('runs bin/brook as ./bin/brook from the repository, else by its absolute path', () => {
    expect(brookCommand(path.join(CWD, 'bin', 'brook'), CWD)).toBe('./bin/brook');
    expect(brookCommand(path.join(CWD, 'bin', 'brook'), '/elsewhere')).toBe(
      '/home/dev/brook/bin/brook',
    );
    expect(brookCommand('/my repo/bin/brook', '/elsewhere')).toBe(`'/my repo/bin/brook'`);
  });

  it('quotes a shell word only when it needs it', () => {
    expect(shellWord('data/dev-1_x.log')).toBe('data/dev-1_x.log');
    expect(shellWord('my dir')).toBe(`'my dir'`);
    expect(shellWord(`it's`)).toBe(`'it'\\''s'`);
  });
});

describe('failure messages', () => {
  it('keeps the last non-empty lines', () => {
    expect(lastLines('a\nb\r\n\nc\n', 2)).toEqual(['b', 'c']);
    expect(lastLines('', 20)).toEqual([]);
    expect(lastLines('a\nb\n', 20)).toEqual(['a', 'b']);
  });

  it('describes an exit by code, signal, or spawn failure', () => {
    expect(describeExit({ code: 1, signal: null })).toBe('exited with code 1');
    expect(describeExit({ code: null, signal: 'SIGKILL' })).toBe('was killed by signal SIGKILL');
    expect(describeExit({ code: null, signal: null, spawnError: 'spawn EAGAIN' })).toBe(
      'could not be started: spawn EAGAIN',
    );
  });

  it("finds a server's last one-line `brook: ` error among its log lines", () => {
    const lines = [
      '{"level":30}',
      'brook: first',
      '{"level":50}',
      'brook: data dir x belongs to cluster y',
    ];
    expect(serverErrorOf(lines)).toBe('data dir x belongs to cluster y');
    expect(serverErrorOf(['{"level":30}'])).toBeNull();
  });
});
