/**
 * `brook consume TOPIC --group G` as a user runs it: bin/brook processes against a real broker.
 * Runs one after another in one group must print each record once (each run starts at what the
 * previous one committed after printing), a run must leave the group when it exits (on
 * --max-messages, on --timeout-ms and on Ctrl-C), so the coordinator lists no member afterwards,
 * and --group refuses options that pick partitions.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  DescribeGroupsResponse__Output,
  FindCoordinatorResponse__Output,
} from '../../../src/proto/index.js';
import {
  BROOK_BIN,
  runCli,
  startBroker,
  type BrokerProcess,
  type CliResult,
} from '../../helpers/broker-process.js';
import { waitFor } from '../../helpers/cluster.js';
import { call, rawClients } from '../../helpers/grpc.js';

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker({
    extraArgs: [
      '--offsets-topic-num-partitions',
      '3',
      '--group-consumer-heartbeat-interval-ms',
      '200',
    ],
  });
});

afterAll(async () => {
  await broker?.cleanup();
});

function brook(args: string[], input?: string): Promise<CliResult> {
  return runCli([...args, '--bootstrap', broker.address], input === undefined ? {} : { input });
}

function lines(n: number, prefix: string, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${from + i}`);
}

/** The group's members as its coordinator lists them. */
async function membersOf(groupId: string): Promise<string[]> {
  const raw = rawClients(broker.address);
  try {
    const found = await call<FindCoordinatorResponse__Output>(raw.groups, 'FindCoordinator', {
      groupIds: [groupId],
    });
    expect(found.coordinators[0]?.errorCode).toBe('NONE');
    const described = await call<DescribeGroupsResponse__Output>(raw.groups, 'DescribeGroups', {
      groupIds: [groupId],
    });
    const group = described.groups[0];
    expect(group?.errorCode).toBe('NONE');
    return group?.members.map((m) => m.clientId) ?? [];
  } finally {
    raw.close();
  }
}

describe('brook consume --group', () => {
  it('prints each record once across runs of one group and leaves the group on exit', async () => {
    const created = await brook(['topics', 'create', 'cli-group', '--partitions', '3']);
    expect(created.code, created.stderr).toBe(0);
    const first = lines(30, 'g');
    const produced = await brook(['produce', 'cli-group'], first.join('\n') + '\n');
    expect(produced.code, produced.stderr).toBe(0);

    const run1 = await brook([
      'consume',
      'cli-group',
      '--group',
      'cli-g1',
      '--from-beginning',
      '--max-messages',
      '30',
    ]);
    expect(run1.code, run1.stderr).toBe(0);
    expect(run1.stdout.trimEnd().split('\n').sort()).toEqual([...first].sort());
    expect(run1.stderr).toContain('Processed a total of 30 messages.');
    expect(await membersOf('cli-g1')).toEqual([]);

    // Everything is committed: --from-beginning only applies where the group has no offset.
    const run2 = await brook([
      'consume',
      'cli-group',
      '--group',
      'cli-g1',
      '--from-beginning',
      '--timeout-ms',
      '3000',
    ]);
    expect(run2.code, run2.stderr).toBe(0);
    expect(run2.stdout).toBe('');
    expect(await membersOf('cli-g1')).toEqual([]);

    const second = lines(10, 'g', 30);
    await brook(['produce', 'cli-group'], second.join('\n') + '\n');
    const run3 = await brook([
      'consume',
      'cli-group',
      '--group',
      'cli-g1',
      '--max-messages',
      '10',
      '--print-partition',
    ]);
    expect(run3.code, run3.stderr).toBe(0);
    const printed = run3.stdout.trimEnd().split('\n');
    expect(printed.map((line) => line.split('\t')[1]).sort()).toEqual([...second].sort());
    expect(printed.every((line) => /^Partition:[0-2]\t/.test(line))).toBe(true);
  });

  it('Ctrl-C leaves the group after committing what was printed', async () => {
    await brook(['topics', 'create', 'cli-sigint', '--partitions', '2']);
    const values = lines(40, 'i');
    await brook(['produce', 'cli-sigint'], values.join('\n') + '\n');
    const child = spawn(
      process.execPath,
      [
        BROOK_BIN,
        'consume',
        'cli-sigint',
        '--group',
        'cli-g2',
        '--from-beginning',
        '--bootstrap',
        broker.address,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitFor('all 40 printed', () =>
        stdout.trimEnd().split('\n').length === 40 ? true : undefined,
      );
      expect(await membersOf('cli-g2')).toEqual(['brook-cli']);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    expect(stderr).toContain('Processed a total of 40 messages.');
    expect(await membersOf('cli-g2')).toEqual([]);
    const again = await brook([
      'consume',
      'cli-sigint',
      '--group',
      'cli-g2',
      '--from-beginning',
      '--timeout-ms',
      '3000',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('');
  });

  it('refuses --partition and --offset with --group', async () => {
    const result = await brook(['consume', 'cli-group', '--group', 'g', '--partition', '1']);
    expect(result.code).toBe(2);
    const errorLines = result.stderr.trimEnd().split('\n');
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/^brook: .*--group/);
  });
});
