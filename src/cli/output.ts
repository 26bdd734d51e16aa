/**
 * How the CLI writes: aligned tables or JSON on stdout, one-line errors on stderr. Every error
 * the user sees goes through describeError, so each kind is phrased once.
 */
import { BrokerError } from '../errors/index.js';
import { BrookClientError } from '../client/index.js';

/** The process streams a command uses; tests pass their own. */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Thrown by a command that has already reported its failure (or wants a bare exit code): main()
 * exits with `exitCode` and prints nothing more.
 */
export class ExitError extends Error {
  override readonly name = 'ExitError';

  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/**
 * A failure the user can fix by changing the command line: printed as one line, exit code 2
 * like commander's own usage errors.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Renders rows under headers, columns padded to their widest cell, two spaces apart. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? cell.length),
      )
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** JSON for --json output: two-space indent, one trailing newline. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, jsonReplacer, 2) + '\n';
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof BrokerError || value instanceof BrookClientError) {
    return { code: value.code, message: value.message };
  }
  return value;
}

/**
 * One line (no newline inside) describing `error` for a person, naming the Kafka or gRPC code
 * in parentheses: `topic "x" does not exist (UNKNOWN_TOPIC_OR_PARTITION)`. `bootstrap` is the
 * address list the command used, for "cannot reach" messages.
 */
export function describeError(error: unknown, bootstrap: string): string {
  let text: string;
  if (error instanceof BrokerError) {
    text = `${error.message} (${error.code})`;
  } else if (error instanceof BrookClientError) {
    text = describeClientError(error, bootstrap);
  } else if (error instanceof Error) {
    text = error.message;
  } else {
    text = String(error);
  }
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function describeClientError(error: BrookClientError, bootstrap: string): string {
  if (error.code === 'UNAVAILABLE') {
    return `cannot reach a broker at ${bootstrap} — is \`brook server\` running?`;
  }
  if (error.code === 'DEADLINE_EXCEEDED') {
    return `no answer from ${error.address ?? bootstrap} in time (DEADLINE_EXCEEDED)`;
  }
  if (error.code === 'INVALID_ARGUMENT') {
    return `invalid request: ${error.message} (INVALID_ARGUMENT)`;
  }
  return `${error.message} (${error.code})`;
}

/** Writes `text` and waits for the stream to drain when its buffer is full. */
export async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (stream.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
