/**
 * The child side of raw-limits.ts's runRawChild(): take one request over IPC, run it, answer
 * with its result or why it failed, and exit once the answer is sent.
 */
import type { RawChildAnswer } from './raw-limits.js';

export function serveOneRequest<Req, Res>(run: (request: Req) => Promise<Res>): void {
  process.once('message', (request: Req) => {
    run(request).then(
      (result) => answer<Res>({ ok: true, result }),
      (error: unknown) =>
        answer<Res>({
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : `${error}`,
        }),
    );
  });
}

function answer<Res>(message: RawChildAnswer<Res>): void {
  if (process.send === undefined) process.exit(1);
  process.send(message, undefined, {}, () => process.exit(message.ok ? 0 : 1));
}
