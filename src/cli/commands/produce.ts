/**
 * `brook produce TOPIC`: one record per stdin line, like kafka-console-producer. Reading pauses
 * while the producer's buffer is full, so any amount of input runs in bounded memory. Prints
 * nothing on stdout; a count goes to stderr at the end, or the first error as one line.
 */
import { StringDecoder } from 'node:string_decoder';
import { Option, type Command } from 'commander';
import { Producer, type Acks, type CompressionName } from '../../client/index.js';
import { ExitError, describeError, write, type CliIo } from '../output.js';
import { addBootstrapOption, bootstrapOf, integerIn } from './common.js';

/** Longest stdin line accepted: the broker's largest batch. */
export const LINE_BYTES_MAX = 8 * 1024 * 1024;

/**
 * Splits a byte stream into lines (LF or CRLF; a last line without a newline counts), decoding
 * UTF-8 across chunk boundaries. Pulls a chunk only when the consumer asks for more lines, so a
 * slow consumer slows the reading. Throws RangeError for a line over LINE_BYTES_MAX.
 */
export async function* readLines(stream: NodeJS.ReadableStream): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      yield stripCarriageReturn(text.slice(start, end));
      start = end + 1;
    }
    rest = text.slice(start);
    if (rest.length > LINE_BYTES_MAX) {
      throw new RangeError(`a line is longer than ${LINE_BYTES_MAX} bytes`);
    }
  }
  rest += decoder.end();
  if (rest !== '') yield stripCarriageReturn(rest);
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

interface ProduceOptions {
  bootstrap?: string;
  keySeparator?: string;
  partition?: number;
  acks: Acks;
  compression: CompressionName;
  lingerMs?: number;
}

export function registerProduceCommand(program: Command, io: CliIo): void {
  const command = program
    .command('produce')
    .description('send one record per line of standard input to a topic')
    .argument('<topic>', 'topic to write to')
    .option('--key-separator <sep>', 'split each line at the first <sep> into key and value')
    .option('--partition <n>', 'write every record to this partition', integerIn(0, 2 ** 31 - 1))
    .addOption(
      new Option('--acks <acks>', 'durability to wait for')
        .choices(['all', 'leader', 'none'])
        .default('all'),
    )
    .addOption(
      new Option('--compression <codec>', 'batch compression')
        .choices(['none', 'gzip', 'snappy'])
        .default('none'),
    )
    .option('--linger-ms <ms>', 'how long a batch waits for more records', integerIn(0, 60_000))
    .addHelpText(
      'after',
      `
Prints nothing on success except a count on stderr; exits 1 on the first failed record.

Examples:
  echo 'hello' | brook produce greetings
  printf 'user-1:login\\nuser-2:logout\\n' | brook produce events --key-separator :
  brook produce logs --compression gzip < app.log`,
    );
  addBootstrapOption(command).action((topic: string, options: ProduceOptions) =>
    runProduce(topic, options, io),
  );
}

async function runProduce(topic: string, options: ProduceOptions, io: CliIo): Promise<void> {
  const bootstrap = bootstrapOf(options, io);
  const producer = new Producer({
    bootstrap,
    acks: options.acks,
    compression: options.compression,
    ...(options.lingerMs !== undefined && { lingerMs: options.lingerMs }),
  });
  let producedCount = 0;
  let firstError: unknown = null;
  const separator = options.keySeparator;
  try {
    let lineNumber = 0;
    for await (const line of readLines(io.stdin)) {
      if (firstError !== null) break;
      lineNumber++;
      let key: string | null = null;
      let value = line;
      if (separator !== undefined && separator !== '') {
        const at = line.indexOf(separator);
        if (at < 0) {
          firstError = new Error(`line ${lineNumber} has no key separator "${separator}"`);
          break;
        }
        key = line.slice(0, at);
        value = line.slice(at + separator.length);
      }
      await producer.whenReady();
      producer
        .send({
          topic,
          key,
          value,
          ...(options.partition !== undefined && { partition: options.partition }),
        })
        .then(
          () => void producedCount++,
          (error: unknown) => void (firstError ??= error),
        );
    }
  } catch (error: unknown) {
    firstError ??= error;
  } finally {
    await producer.close();
  }
  if (firstError !== null) {
    await write(io.stderr, `brook: ${describeError(firstError, bootstrap)}\n`);
    throw new ExitError(1);
  }
  const noun = producedCount === 1 ? 'record' : 'records';
  await write(io.stderr, `Produced ${producedCount} ${noun} to topic "${topic}".\n`);
}
