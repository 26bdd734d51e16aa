/**
 * Bytes that do not decode as the request message. grpc-js answers a failed deserialization
 * with INTERNAL before any handler runs; api.md promises INVALID_ARGUMENT for malformed
 * requests. So the service definitions decode tolerantly: a failure becomes a marker object the
 * handlers turn into INVALID_ARGUMENT like any other bad field.
 */
import type * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '../../errors/index.js';

const MALFORMED = Symbol('malformed request');

interface Malformed {
  readonly [MALFORMED]: string;
}

/** A copy of the definition whose request decoders never throw. */
export function tolerantDefinition(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize;
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return decode(bytes);
        } catch (error) {
          const marker: Malformed = { [MALFORMED]: (error as Error).message };
          return marker;
        }
      },
    };
  }
  return out;
}

/** Throws INVALID_ARGUMENT when the request did not decode. */
export function requireDecoded(request: unknown): void {
  if (typeof request === 'object' && request !== null && MALFORMED in request) {
    const reason = (request as Malformed)[MALFORMED];
    throw new InvalidArgumentError(
      'request',
      `is not a valid protobuf message of this method (${reason})`,
    );
  }
}
