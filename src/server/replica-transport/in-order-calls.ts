/**
 * Requests on one connection whose answers come back in the order they were sent (both fetch
 * transports). A request that times out or is cancelled cannot be taken back from the stream,
 * so it stalls the whole connection: `onStall` ends it, and failAll fails every request still
 * waiting.
 */
interface Pending<Res> {
  readonly resolve: (response: Res) => void;
  readonly reject: (error: Error) => void;
}

export class InOrderCalls<Res> {
  private readonly pending: Pending<Res>[] = [];

  /** The answer of a request just sent; `onStall` runs on its timeout or abort. */
  add(timeoutMs: number, signal: AbortSignal, onStall: (error: Error) => void): Promise<Res> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => onStall(new Error('fetch cancelled'));
      const timer = setTimeout(
        () => onStall(new Error(`no fetch answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.push({
        resolve: (response) => {
          cleanup();
          resolve(response);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      });
    });
  }

  /** Settles the oldest request; false when none is waiting. */
  settleNext(outcome: { response: Res } | { error: Error }): boolean {
    const entry = this.pending.shift();
    if (entry === undefined) return false;
    if ('error' in outcome) entry.reject(outcome.error);
    else entry.resolve(outcome.response);
    return true;
  }

  failAll(error: Error): void {
    for (const entry of this.pending.splice(0)) entry.reject(error);
  }
}
