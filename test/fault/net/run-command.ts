/**
 * The one way the network layer runs a command: an argument array (never a shell string), a
 * debug log line per command, a timeout, and an Error naming the command and its stderr when it
 * fails. `ip`, `tc` and `iptables` hang rarely but fail often and tersely, so a failure has to
 * say which of the hundreds of commands of a run it was.
 */
import { execFile, execFileSync } from 'node:child_process';

/** Where the network layer reports: pino's logger fits, and so does a console shim. */
export interface NetLogger {
  debug(message: string): void;
  warn(message: string): void;
}

/** Drops every line: the default when the caller passes no logger. */
export const SILENT_LOGGER: NetLogger = { debug: () => undefined, warn: () => undefined };

const COMMAND_TIMEOUT_MS = 10_000;
const OUTPUT_BYTES_MAX = 4 * 1024 * 1024;

/** A command that exited non-zero, was killed by the timeout, or could not be started. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface CommandOutput {
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin (e.g. an `iptables-restore` or `tc -batch` script). */
  readonly input?: string;
}

/** Runs one command; resolves its output, rejects with a CommandError. */
export function runCommand(
  logger: NetLogger,
  argv: readonly string[],
  options: RunOptions = {},
): Promise<CommandOutput> {
  const [file, ...args] = argv;
  if (file === undefined) throw new RangeError('runCommand needs a command');
  const shown = showCommand(argv, options.input);
  logger.debug(`net: ${shown}`);
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        encoding: 'utf8',
        timeout: COMMAND_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: OUTPUT_BYTES_MAX,
      },
      (error, stdout, stderr) => {
        if (error === null) return resolve({ stdout, stderr });
        const why = error.killed ? `timed out after ${COMMAND_TIMEOUT_MS} ms` : error.message;
        const detail = stderr.trim() === '' ? why : `${stderr.trim()} (${why.split('\n')[0]})`;
        reject(new CommandError(argv, stderr, `${shown} failed: ${detail}`, { cause: error }));
      },
    );
    // A command that reads nothing may exit before we write: that EPIPE is not the failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

/**
 * The synchronous twin of runCommand, for process 'exit' handlers where no promise will ever
 * settle. Throws a CommandError the same way.
 */
export function runCommandSync(
  logger: NetLogger,
  argv: readonly string[],
  options: RunOptions = {},
): CommandOutput {
  const [file, ...args] = argv;
  if (file === undefined) throw new RangeError('runCommandSync needs a command');
  const shown = showCommand(argv, options.input);
  logger.debug(`net: ${shown}`);
  try {
    const stdout = execFileSync(file, args, {
      encoding: 'utf8',
      input: options.input ?? '',
      timeout: COMMAND_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      maxBuffer: OUTPUT_BYTES_MAX,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return { stdout, stderr: '' };
  } catch (error) {
    const stderr = stderrOf(error);
    throw new CommandError(argv, stderr, `${shown} failed: ${stderr.trim() || String(error)}`, {
      cause: error,
    });
  }
}

/**
 * Whether a failure only says the thing is already gone (or was never there): deleting twice
 * is not an error for destroy() and heal().
 */
export function isAlreadyGone(error: unknown): boolean {
  if (!(error instanceof CommandError)) return false;
  return /Cannot find device|No such file or directory|does not exist|Cannot open network namespace|handle of zero|No such device/i.test(
    error.stderr,
  );
}

function showCommand(argv: readonly string[], input: string | undefined): string {
  const command = argv.join(' ');
  if (input === undefined || input === '') return command;
  return `${command} <<< ${JSON.stringify(input)}`;
}

function stderrOf(error: unknown): string {
  if (typeof error !== 'object' || error === null || !('stderr' in error)) return '';
  const { stderr } = error as { stderr: unknown };
  if (typeof stderr === 'string') return stderr;
  return Buffer.isBuffer(stderr) ? stderr.toString('utf8') : '';
}
