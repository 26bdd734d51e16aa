/**
 * The assignors a group may name (KIP-848's group.consumer.assignors), looked up by the name a
 * member sends. Unknown names are the caller's to reject with a BrokerError.
 */
import { rangeAssignor } from './range.js';
import type { Assignor } from './types.js';
import { uniformAssignor } from './uniform.js';

/** The assignor of a group whose members name none, as in Kafka. */
export const DEFAULT_ASSIGNOR = 'uniform';

const assignorsByName: ReadonlyMap<string, Assignor> = new Map(
  [uniformAssignor, rangeAssignor].map((assignor) => [assignor.name, assignor]),
);

/** Every supported assignor name, the default first. */
export const ASSIGNOR_NAMES: readonly string[] = Object.freeze([...assignorsByName.keys()]);

/** The assignor of this name, or undefined. */
export function assignorNamed(name: string): Assignor | undefined {
  return assignorsByName.get(name);
}
