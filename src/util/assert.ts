/**
 * Assertions catch programmer errors (STYLE.md §1.3). Nothing catches AssertionError: the
 * process exits and its supervisor restarts it, because state after a broken invariant cannot
 * be trusted. Use BrokerError for anything a client or the environment can cause.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** For switch exhaustiveness: a value the type system says cannot exist. */
export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionError(`${message}: ${String(value)}`);
}
