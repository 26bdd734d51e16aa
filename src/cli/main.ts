/**
 * Entry point of `bin/brook`: builds the command tree (client commands plus `server`), runs it
 * against the process's streams, and sets the exit code. It sets process.exitCode rather than
 * calling process.exit, so a running server keeps the process alive and a client command ends
 * once its channels close.
 */
import { registerServerCommand } from './commands/server.js';
import { run } from './program.js';
import type { CliIo } from './output.js';

const io: CliIo = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
};

// A closed pipe on stdout (`brook consume ... | head`) is a normal way for a reader to stop.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

process.exitCode = await run(process.argv, io, (program) => registerServerCommand(program));
