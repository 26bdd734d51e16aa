/**
 * The CLI's argument handling, run in-process through run() with captured streams and a
 * bootstrap address nothing listens on: every case here is decided before any connection, so a
 * usage error must show as one `brook: ` line on stderr with exit code 2. Also covers the pure
 * helpers behind produce and consume (line splitting, record formatting, tables, error text).
 */
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../src/errors/index.js';
import { BrookClientError } from '../../../src/client/index.js';
import { run } from '../../../src/cli/program.js';
import { describeError, formatTable, type CliIo } from '../../../src/cli/output.js';
import { readLines } from '../../../src/cli/commands/produce.js';
import { formatRecord, parseOffset } from '../../../src/cli/commands/consume.js';
import { bootstrapOf, collectConfig, integerIn } from '../../../src/cli/commands/common.js';

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<Captured> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const io: CliIo = { stdin: Readable.from([]), stdout, stderr, env };
  const code = await run(['node', 'brook', ...args], io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

function expectUsageError(result: Captured, pattern: RegExp): void {
  expect(result.code).toBe(2);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^brook: /);
  expect(lines[0]).toMatch(pattern);
}

describe('usage errors exit 2 with one stderr line', () => {
  it('rejects an unknown --acks value', async () => {
    expectUsageError(
      await cli(['produce', 't', '--acks', 'some']),
      /--acks.*some.*all, leader, none/,
    );
  });

  it('rejects an unknown --compression value', async () => {
    expectUsageError(await cli(['produce', 't', '--compression', 'zstd']), /--compression/);
  });

  it('rejects a non-numeric --partitions', async () => {
    expectUsageError(
      await cli(['topics', 'create', 't', '--partitions', 'abc']),
      /--partitions.*abc/,
    );
  });

  it('rejects zero and fractional partition counts', async () => {
    expectUsageError(await cli(['topics', 'create', 't', '--partitions', '0']), /--partitions/);
    expectUsageError(await cli(['topics', 'create', 't', '--partitions', '1.5']), /--partitions/);
  });

  it('rejects a negative --partition for produce and consume', async () => {
    expectUsageError(await cli(['produce', 't', '--partition', '-1']), /--partition/);
    expectUsageError(await cli(['consume', 't', '--partition', 'x']), /--partition/);
  });

  it('rejects a --config without "="', async () => {
    expectUsageError(await cli(['topics', 'create', 't', '--config', 'retention.ms']), /key=value/);
  });

  it('rejects --offset without --partition, and with --from-beginning', async () => {
    expectUsageError(await cli(['consume', 't', '--offset', '5']), /--offset needs --partition/);
    expectUsageError(
      await cli(['consume', 't', '--partition', '0', '--offset', '5', '--from-beginning']),
      /not both/,
    );
    expectUsageError(
      await cli(['consume', 't', '--partition', '0', '--offset', 'soon']),
      /--offset/,
    );
  });

  it('rejects topics alter without any change', async () => {
    expectUsageError(
      await cli(['topics', 'alter', 't']),
      /--config, --delete-config or --partitions/,
    );
  });

  it('rejects unknown commands and options, and missing arguments', async () => {
    expectUsageError(await cli(['produc']), /unknown command 'produc'/);
    expectUsageError(await cli(['topics', 'list', '--jsn']), /unknown option/);
    expectUsageError(await cli(['produce']), /missing required argument 'topic'/);
  });

  it('rejects a malformed --timeout-ms and --max-messages', async () => {
    expectUsageError(await cli(['consume', 't', '--timeout-ms', '10s']), /--timeout-ms/);
    expectUsageError(await cli(['consume', 't', '--max-messages', '0']), /--max-messages/);
  });
});

describe('help and version', () => {
  it('prints help with examples and exits 0', async () => {
    const result = await cli(['produce', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--key-separator');
    expect(result.stdout).toContain('Examples:');
    expect(result.stderr).toBe('');
  });

  it('documents the bootstrap fallbacks in every client command', async () => {
    for (const command of [['produce'], ['consume'], ['topics', 'list'], ['cluster', 'describe']]) {
      const result = await cli([...command, '--help']);
      expect(result.stdout).toContain('BROOK_BOOTSTRAP');
    }
  });

  it('prints the version', async () => {
    const result = await cli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('option helpers', () => {
  it('takes --bootstrap over BROOK_BOOTSTRAP over the default', () => {
    const io = (env: Record<string, string>): CliIo => ({
      stdin: Readable.from([]),
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      env,
    });
    expect(bootstrapOf({ bootstrap: 'a:1' }, io({ BROOK_BOOTSTRAP: 'b:2' }))).toBe('a:1');
    expect(bootstrapOf({}, io({ BROOK_BOOTSTRAP: 'b:2' }))).toBe('b:2');
    expect(bootstrapOf({}, io({}))).toBe('127.0.0.1:7070');
  });

  it('parses whole numbers within bounds only', () => {
    const parse = integerIn(1, 10);
    expect(parse('7')).toBe(7);
    expect(parse(' 10 ')).toBe(10);
    for (const bad of ['0', '11', '1e1', '', '0x5', '3.0']) expect(() => parse(bad), bad).toThrow();
  });

  it('collects repeated --config values, splitting at the first "="', () => {
    const first = collectConfig('retention.ms=1000', undefined);
    expect(collectConfig('a=b=c', first)).toEqual({ 'retention.ms': '1000', a: 'b=c' });
    expect(() => collectConfig('=x', undefined)).toThrow();
  });

  it('parses --offset as a number, earliest or latest', () => {
    expect(parseOffset('42')).toBe(42);
    expect(parseOffset('earliest')).toBe('earliest');
    expect(parseOffset('latest')).toBe('latest');
    expect(() => parseOffset('-1')).toThrow();
  });
});

describe('readLines', () => {
  it('splits on LF and CRLF across chunk boundaries, keeping a last line without newline', async () => {
    const stream = Readable.from([Buffer.from('a\r\nb'), Buffer.from('c\n\nd')]);
    const lines: string[] = [];
    for await (const line of readLines(stream)) lines.push(line);
    expect(lines).toEqual(['a', 'bc', '', 'd']);
  });

  it('decodes a UTF-8 character split between chunks', async () => {
    const bytes = Buffer.from('é\n', 'utf8');
    const stream = Readable.from([bytes.subarray(0, 1), bytes.subarray(1)]);
    const lines: string[] = [];
    for await (const line of readLines(stream)) lines.push(line);
    expect(lines).toEqual(['é']);
  });

  it('yields nothing for empty input and no phantom line after a final newline', async () => {
    const lines: string[] = [];
    for await (const line of readLines(Readable.from([Buffer.from('x\n')]))) lines.push(line);
    expect(lines).toEqual(['x']);
    for await (const line of readLines(Readable.from([]))) lines.push(line);
    expect(lines).toEqual(['x']);
  });
});

describe('output', () => {
  const record = {
    topic: 't',
    partition: 2,
    offset: 17,
    key: Buffer.from('k'),
    value: Buffer.from('v'),
    headers: [],
    timestampMs: 0,
    leaderEpoch: 0,
  };

  it('formats records like kafka-console-consumer', () => {
    expect(formatRecord(record, {})).toBe('v\n');
    expect(formatRecord(record, { printPartition: true, printOffset: true, printKey: true })).toBe(
      'Partition:2\tOffset:17\tk\tv\n',
    );
    expect(formatRecord({ ...record, key: null, value: null }, { printKey: true })).toBe(
      'null\tnull\n',
    );
  });

  it('aligns table columns', () => {
    expect(
      formatTable(
        ['A', 'BBB'],
        [
          ['xx', 'y'],
          ['z', 'w'],
        ],
      ),
    ).toBe('A   BBB\nxx  y\nz   w\n');
  });

  it('describes errors in one line with their code', () => {
    expect(
      describeError(
        new BrokerError('UNKNOWN_TOPIC_OR_PARTITION', 'topic "x" does not exist'),
        'h:1',
      ),
    ).toBe('topic "x" does not exist (UNKNOWN_TOPIC_OR_PARTITION)');
    expect(describeError(new BrookClientError('UNAVAILABLE', 'no connection', true), 'h:1')).toBe(
      'cannot reach a broker at h:1 — is `brook server` running?',
    );
    expect(describeError(new Error('two\nlines'), 'h:1')).toBe('two lines');
  });
});
