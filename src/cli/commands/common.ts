/**
 * Pieces every client command shares: the --bootstrap option and its fallbacks, and the parsers
 * that turn option text into checked values. A parser failure is a commander
 * InvalidArgumentError, which main() reports as a usage error (exit code 2).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { Admin } from '../../client/index.js';
import type { CliIo } from '../output.js';

/** Where the CLI looks for a broker when neither --bootstrap nor BROOK_BOOTSTRAP is given. */
export const DEFAULT_BOOTSTRAP = '127.0.0.1:7070';

/** Adds --bootstrap to a client command. */
export function addBootstrapOption(command: Command): Command {
  return command.option(
    '--bootstrap <host:port>',
    `broker(s) to connect to, comma-separated (default: $BROOK_BOOTSTRAP, else ${DEFAULT_BOOTSTRAP})`,
  );
}

/** The bootstrap list: the flag, else the environment, else the default. */
export function bootstrapOf(options: { bootstrap?: string }, io: CliIo): string {
  const fromEnv = io.env['BROOK_BOOTSTRAP'];
  if (options.bootstrap !== undefined) return options.bootstrap;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv.trim();
  return DEFAULT_BOOTSTRAP;
}

/** Parses a whole number in [min, max]; commander shows the message as a usage error. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value: string): number => {
    const parsed = /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`must be a whole number ${range}.`);
    }
    return parsed;
  };
}

const RATE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
};

/** Parses a byte rate: bytes per second, or with a unit (10MB, 512KiB, 1.5GiB; "/s" optional). */
export function byteRate(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)(?:\/s)?$/i.exec(value.trim());
  const unit = RATE_UNITS[match?.[2]?.toLowerCase() ?? 'none'];
  const rate = match === null || unit === undefined ? Number.NaN : Number(match[1]) * unit;
  if (!Number.isFinite(rate) || rate < 1 || rate > Number.MAX_SAFE_INTEGER) {
    throw new InvalidArgumentError(
      `must be bytes per second, e.g. 10485760, 10MiB or 500KB, not "${value}".`,
    );
  }
  return Math.floor(rate);
}

/** Collects repeated `--config key=value` options into an object. */
export function collectConfig(
  value: string,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}".`);
  return { ...previous, [value.slice(0, at).trim()]: value.slice(at + 1) };
}

/** Collects a repeatable option into a list. */
export function collectList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The --bootstrap option as commander parses it. */
export interface BootstrapOptions {
  bootstrap?: string;
}

/** Runs `body` with an Admin client and closes it afterwards. */
export async function withAdmin<T>(
  options: BootstrapOptions,
  io: CliIo,
  body: (admin: Admin, bootstrap: string) => Promise<T>,
): Promise<T> {
  const bootstrap = bootstrapOf(options, io);
  const admin = new Admin({ bootstrap, retries: 2 });
  try {
    return await body(admin, bootstrap);
  } finally {
    await admin.close();
  }
}
