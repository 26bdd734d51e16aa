/**
 * The `brook` command tree and its runner, without the process wiring (that is main.ts), so tests
 * can run commands in-process with their own streams.
 *
 * Exit codes: 0 on success, 1 when the command failed (a broker refused, nothing reachable), 2
 * for usage errors (unknown command or option, a malformed value). Every failure is one line on
 * stderr starting with `brook: `.
 */
import { Command, CommanderError } from 'commander';
import { registerBrokersCommand } from './commands/brokers.js';
import { registerClusterCommand } from './commands/cluster.js';
import { registerConsumeCommand } from './commands/consume.js';
import { registerDevCommand } from './commands/dev.js';
import { registerGroupsCommand } from './commands/groups.js';
import { registerPartitionsCommand } from './commands/partitions.js';
import { registerProduceCommand } from './commands/produce.js';
import { registerTopicsCommand } from './commands/topics.js';
import { DEFAULT_BOOTSTRAP, bootstrapOf } from './commands/common.js';
import { ExitError, UsageError, describeError, type CliIo } from './output.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * Builds the program with the client commands. Usage errors throw (exitOverride) instead of
 * exiting, and commander's messages are rewritten to the one-line `brook: ...` form. Settings are
 * made before any command is added, because subcommands copy them when created.
 */
export function buildProgram(io: CliIo): Command {
  const program = new Command('brook');
  program
    .description('Brook: a streaming broker with Kafka’s data model, and its command-line client')
    .version('0.1.0', '-V, --version')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      outputError: (text, writeErr) =>
        writeErr(`brook: ${oneLine(text.replace(/^error: /, ''))}\n`),
    })
    .addHelpText(
      'after',
      `
Client commands connect to --bootstrap host:port, else $BROOK_BOOTSTRAP, else ${DEFAULT_BOOTSTRAP}.

Examples:
  brook server --quickstart
  brook dev --nodes 3                     # a local 3-node cluster, until Ctrl-C
  brook topics create orders --partitions 3
  echo 'hello' | brook produce orders
  brook consume orders --from-beginning --max-messages 1
  brook topics describe orders --json
  brook groups describe billing`,
    );
  registerTopicsCommand(program, io);
  registerPartitionsCommand(program, io);
  registerBrokersCommand(program, io);
  registerProduceCommand(program, io);
  registerConsumeCommand(program, io);
  registerGroupsCommand(program, io);
  registerClusterCommand(program, io);
  registerDevCommand(program, io);
  return program;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Builds the program, lets `extend` add commands (main.ts adds `server`), parses `argv` (as
 * process.argv: node, script, args...) and runs the chosen command. Resolves the exit code;
 * never rejects and never calls process.exit.
 */
export async function run(
  argv: readonly string[],
  io: CliIo,
  extend: (program: Command) => void = () => undefined,
): Promise<number> {
  const program = buildProgram(io);
  extend(program);
  // The address the running command used, for "cannot reach a broker at ..." messages.
  let bootstrap = DEFAULT_BOOTSTRAP;
  program.hook('preAction', (_program, action) => {
    bootstrap = bootstrapOf(action.opts<{ bootstrap?: string }>(), io);
  });
  try {
    await program.parseAsync([...argv]);
    return EXIT_OK;
  } catch (error: unknown) {
    return exitCodeOf(error, bootstrap, io);
  }
}

function exitCodeOf(error: unknown, bootstrap: string, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Help and version output are successes; everything else commander throws is a usage
    // error it has already printed (commander.help is `brook` run without a command).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') {
      return EXIT_OK;
    }
    return EXIT_USAGE;
  }
  if (error instanceof ExitError) return error.exitCode;
  if (error instanceof UsageError) {
    io.stderr.write(`brook: ${oneLine(error.message)}\n`);
    return EXIT_USAGE;
  }
  io.stderr.write(`brook: ${describeError(error, bootstrap)}\n`);
  return EXIT_FAILURE;
}
