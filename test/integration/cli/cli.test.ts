/**
 * The `brook` CLI as a user runs it: separate processes of bin/brook against a real broker
 * process, with stdin and stdout as the interface. Checks the produce/consume round trip (keys,
 * partitions, offsets, large input), that every --json output parses, and that a failure is one
 * `brook: ` line on stderr with a non-zero exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runCli,
  startBroker,
  type BrokerProcess,
  type CliResult,
} from '../../helpers/broker-process.js';

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker?.cleanup();
});

function brook(args: string[], input?: string): Promise<CliResult> {
  return runCli([...args, '--bootstrap', broker.address], input === undefined ? {} : { input });
}

function expectOneErrorLine(result: CliResult, pattern: RegExp): void {
  expect(result.code).not.toBe(0);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^brook: /);
  expect(lines[0]).toMatch(pattern);
}

describe('brook CLI', () => {
  it('creates, lists and describes topics, in text and as JSON', async () => {
    const created = await brook([
      'topics',
      'create',
      'cli-topics',
      '--partitions',
      '3',
      '--config',
      'retention.ms=3600000',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('cli-topics');

    const list = await brook(['topics', 'list', '--json']);
    expect(list.code).toBe(0);
    const topics = JSON.parse(list.stdout) as { name: string; partitions: number }[];
    expect(topics).toContainEqual(expect.objectContaining({ name: 'cli-topics', partitions: 3 }));

    const text = await brook(['topics', 'list']);
    expect(text.stdout).toMatch(/^TOPIC\s+PARTITIONS/);
    expect(text.stdout).toContain('cli-topics');

    const described = await brook(['topics', 'describe', 'cli-topics', '--json']);
    expect(described.code).toBe(0);
    const [topic] = JSON.parse(described.stdout) as {
      name: string;
      configs: Record<string, string>;
      partitions: { partition: number; leader: number; highWatermark: number }[];
    }[];
    expect(topic?.name).toBe('cli-topics');
    expect(topic?.configs['retention.ms']).toBe('3600000');
    expect(topic?.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(topic?.partitions.every((p) => p.leader === 0 && p.highWatermark === 0)).toBe(true);

    const cluster = await brook(['cluster', 'describe', '--json']);
    expect(cluster.code).toBe(0);
    const description = JSON.parse(cluster.stdout) as {
      clusterId: string;
      brokers: { address: string }[];
    };
    expect(description.brokers[0]?.address).toBe(broker.address);
  });

  it('round-trips stdin lines through produce and consume, with keys', async () => {
    await brook(['topics', 'create', 'cli-roundtrip', '--partitions', '2']);
    const lines = Array.from({ length: 50 }, (_, i) => `key-${i % 5}:value ${i}`);
    const produced = await brook(
      [
        'produce',
        'cli-roundtrip',
        '--key-separator',
        ':',
        '--acks',
        'all',
        '--compression',
        'gzip',
      ],
      lines.join('\n') + '\n',
    );
    expect(produced.code, produced.stderr).toBe(0);
    expect(produced.stdout).toBe('');
    expect(produced.stderr).toMatch(/50 records/);

    const consumed = await brook([
      'consume',
      'cli-roundtrip',
      '--from-beginning',
      '--max-messages',
      '50',
      '--print-key',
      '--print-partition',
      '--print-offset',
    ]);
    expect(consumed.code, consumed.stderr).toBe(0);
    const out = consumed.stdout.trimEnd().split('\n');
    expect(out).toHaveLength(50);
    const parsed = out.map((line) => {
      const [partition, offset, key, value] = line.split('\t');
      return { partition, offset, key, value };
    });
    expect(parsed.map((r) => `${r.key}:${r.value}`).sort()).toEqual([...lines].sort());
    // One key always lands in one partition.
    const partitionOfKey = new Map<string, string>();
    for (const r of parsed) {
      expect(partitionOfKey.get(r.key!) ?? r.partition).toBe(r.partition);
      partitionOfKey.set(r.key!, r.partition!);
      expect(r.partition).toMatch(/^Partition:[01]$/);
      expect(r.offset).toMatch(/^Offset:\d+$/);
    }
  });

  it('consumes one partition from an offset and stops after --timeout-ms without records', async () => {
    await brook(['topics', 'create', 'cli-offset', '--partitions', '1']);
    await brook(['produce', 'cli-offset'], 'a\nb\nc\nd\n');
    const started = Date.now();
    const consumed = await brook([
      'consume',
      'cli-offset',
      '--partition',
      '0',
      '--offset',
      '2',
      '--timeout-ms',
      '1000',
    ]);
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.stdout).toBe('c\nd\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);

    // Without --from-beginning a consumer starts at the end: nothing old is printed.
    const latest = await brook(['consume', 'cli-offset', '--timeout-ms', '500']);
    expect(latest.code).toBe(0);
    expect(latest.stdout).toBe('');
  });

  it('produces a large input with bounded memory and loses nothing', async () => {
    await brook(['topics', 'create', 'cli-large', '--partitions', '4']);
    const count = 50_000;
    const input = Array.from({ length: count }, (_, i) => `record-${i}-${'p'.repeat(64)}`).join(
      '\n',
    );
    const produced = await brook(['produce', 'cli-large', '--acks', 'leader'], input);
    expect(produced.code, produced.stderr).toBe(0);
    expect(produced.stderr).toContain(`${count} records`);
    const consumed = await brook([
      'consume',
      'cli-large',
      '--from-beginning',
      '--max-messages',
      String(count),
    ]);
    expect(consumed.code).toBe(0);
    const seen = new Set(consumed.stdout.trimEnd().split('\n'));
    expect(seen.size).toBe(count);
  });

  it('alters configs and partitions, then deletes the topic', async () => {
    await brook(['topics', 'create', 'cli-alter', '--partitions', '1']);
    const altered = await brook([
      'topics',
      'alter',
      'cli-alter',
      '--config',
      'retention.ms=1000',
      '--partitions',
      '3',
    ]);
    expect(altered.code, altered.stderr).toBe(0);
    const described = JSON.parse(
      (await brook(['topics', 'describe', 'cli-alter', '--json'])).stdout,
    ) as {
      configs: Record<string, string>;
      partitions: unknown[];
    }[];
    expect(described[0]?.configs['retention.ms']).toBe('1000');
    expect(described[0]?.partitions).toHaveLength(3);
    const deleted = await brook(['topics', 'delete', 'cli-alter']);
    expect(deleted.code).toBe(0);
    const gone = await brook(['topics', 'describe', 'cli-alter']);
    expectOneErrorLine(gone, /topic "cli-alter" does not exist \(UNKNOWN_TOPIC_OR_PARTITION\)/);
  });
});

describe('brook CLI errors', () => {
  it('reports a missing topic on consume and produce as one line, exit 1', async () => {
    const consumed = await brook(['consume', 'no-such-topic', '--timeout-ms', '500']);
    expectOneErrorLine(
      consumed,
      /^brook: topic "no-such-topic" does not exist \(UNKNOWN_TOPIC_OR_PARTITION\)$/,
    );
    expect(consumed.code).toBe(1);
    const produced = await brook(['produce', 'no-such-topic'], 'x\n');
    expectOneErrorLine(
      produced,
      /topic "no-such-topic" does not exist \(UNKNOWN_TOPIC_OR_PARTITION\)/,
    );
    expect(produced.code).toBe(1);
  });

  it('reports an existing topic on create, and --if-not-exists accepts it', async () => {
    await brook(['topics', 'create', 'cli-dup']);
    const again = await brook(['topics', 'create', 'cli-dup']);
    expectOneErrorLine(again, /TOPIC_ALREADY_EXISTS/);
    expect(again.code).toBe(1);
    const tolerant = await brook(['topics', 'create', 'cli-dup', '--if-not-exists']);
    expect(tolerant.code).toBe(0);
  });

  it('reports an invalid config as one line', async () => {
    const result = await brook(['topics', 'create', 'cli-badconfig', '--config', 'no.such=1']);
    expectOneErrorLine(result, /INVALID_CONFIG/);
  });

  it('says clearly when no broker is reachable, using BROOK_BOOTSTRAP', async () => {
    const result = await runCli(['topics', 'list'], { env: { BROOK_BOOTSTRAP: '127.0.0.1:1' } });
    expectOneErrorLine(
      result,
      /^brook: cannot reach a broker at 127\.0\.0\.1:1 — is `brook server` running\?$/,
    );
    expect(result.code).toBe(1);
  });

  it('exits 2 with one line for a usage error', async () => {
    const result = await brook(['produce', 'x', '--acks', 'sometimes']);
    expectOneErrorLine(result, /--acks/);
    expect(result.code).toBe(2);
  });

  it('reports a line without the key separator', async () => {
    await brook(['topics', 'create', 'cli-sep']);
    const result = await brook(['produce', 'cli-sep', '--key-separator', '='], 'a=1\nnokey\n');
    expectOneErrorLine(result, /line 2 has no key separator "="/);
  });
});
