/**
 * `brook dev`'s command line, run in-process through run() with captured streams: every case
 * here is refused or answered before any process starts, so a bad value must be one `brook: `
 * line on stderr with exit code 2, and --help must show the options and examples.
 */
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { run } from '../../../src/cli/program.js';
import type { CliIo } from '../../../src/cli/output.js';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const io: CliIo = { stdin: Readable.from([]), stdout, stderr, env: {} };
  const code = await run(['node', 'brook', ...args], io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('brook dev usage errors exit 2 with one stderr line', () => {
  it.each([
    [['--nodes', '0'], /^brook: .*--nodes.*'0'.*from 1 to 9/],
    [['--nodes', '10'], /^brook: .*--nodes.*'10'.*from 1 to 9/],
    [['--nodes', 'three'], /^brook: .*--nodes.*'three'/],
    [['--base-port', '65536'], /^brook: .*--base-port.*from 1 to 65535/],
    [
      ['--base-port', '65534', '--nodes', '3'],
      /^brook: --base-port 65534 with --nodes 3 needs ports up to 65536, past 65535/,
    ],
    [['--ready-timeout-ms', '10'], /^brook: .*--ready-timeout-ms/],
    [['--data-dir', ''], /^brook: --data-dir must not be empty\.$/],
  ])('refuses %j', async (args, pattern) => {
    const result = await cli(['dev', ...args]);
    expect(result.code).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(result.stdout).toBe('');
  });
});

describe('brook dev --help', () => {
  it('shows the options with their defaults, and examples', async () => {
    const result = await cli(['dev', '--help']);
    expect(result.code).toBe(0);
    // commander wraps option descriptions to the terminal width.
    const help = result.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('--nodes <n> number of nodes, 1 to 9 (default: 3)');
    expect(help).toContain('127.0.0.1:<port + i> (default: 7070)');
    expect(help).toContain('(default: "./data/dev")');
    expect(result.stdout).toContain('Examples:');
    expect(result.stdout).toContain('brook dev --nodes 5 --base-port 9090');
  });

  it('is listed in the top-level help', async () => {
    const result = await cli(['--help']);
    expect(result.stdout).toMatch(/^ {2}dev \[options\]/m);
  });
});
