/**
 * Request checks shared by the handlers. Each failure is an InvalidArgumentError naming the
 * field path as in the proto (`records[3].timestamp_ms`), raised before anything changes.
 */
import { InvalidArgumentError } from '../errors/index.js';

export function requireNonEmpty(value: string, field: string): string {
  if (value.length === 0) throw new InvalidArgumentError(field, 'is required');
  return value;
}

export function requireInt(value: number, field: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(field, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

export function requireCount(items: readonly unknown[], field: string, max: number, min = 0): void {
  if (items.length < min) {
    throw new InvalidArgumentError(
      field,
      min === 1 ? 'must not be empty' : `needs at least ${min} entries`,
    );
  }
  if (items.length > max) {
    throw new InvalidArgumentError(field, `has ${items.length} entries; the limit is ${max}`);
  }
}

/**
 * Enums arrive as names; a number means the client sent a value this server does not know.
 */
export function requireEnum<T extends string>(
  value: unknown,
  field: string,
  allowed: readonly T[],
): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value))
    return value as T;
  throw new InvalidArgumentError(
    field,
    `unknown value ${String(value)}; expected one of ${allowed.join(', ')}`,
  );
}
