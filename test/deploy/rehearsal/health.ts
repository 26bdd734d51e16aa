/**
 * The readiness probe, as the kubelet runs the manifest's `grpc:` probe: one
 * grpc.health.v1.Health/Check call for the probe's service ("" = the server's overall status),
 * ready when it answers SERVING. A raw @grpc/grpc-js unary call with the two tiny protobuf
 * messages encoded by hand, so no .proto needs loading.
 */
import * as grpc from '@grpc/grpc-js';

const CHECK_METHOD = '/grpc.health.v1.Health/Check';
/** grpc.health.v1.HealthCheckResponse.ServingStatus. */
export const SERVING_STATUS = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  SERVICE_UNKNOWN: 3,
} as const;

/** HealthCheckRequest { string service = 1; }: field 1, wire type 2; empty when "". */
export function encodeHealthRequest(service: string): Buffer {
  const bytes = Buffer.from(service, 'utf8');
  if (bytes.length === 0) return Buffer.alloc(0);
  if (bytes.length > 127) throw new RangeError('service names over 127 bytes are not supported');
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

/** HealthCheckResponse { ServingStatus status = 1; }: field 1 varint; absent means UNKNOWN. */
export function decodeHealthStatus(bytes: Buffer): number {
  let status: number = SERVING_STATUS.UNKNOWN;
  let i = 0;
  while (i < bytes.length) {
    const tag = bytes[i++]!;
    const wireType = tag & 7;
    let value = 0;
    let shift = 0;
    if (wireType === 0) {
      for (;;) {
        const byte = bytes[i++];
        if (byte === undefined) throw new Error('truncated varint');
        value += (byte & 0x7f) * 2 ** shift;
        shift += 7;
        if ((byte & 0x80) === 0) break;
      }
      if (tag >> 3 === 1) status = value;
    } else if (wireType === 2) {
      const length = bytes[i++];
      if (length === undefined || length > 127) throw new Error('unsupported length');
      i += length;
    } else {
      throw new Error(`unexpected wire type ${wireType}`);
    }
  }
  return status;
}

/** One probe: resolves the serving status, or null when the call failed (not listening yet). */
export async function checkHealth(
  address: string,
  service: string,
  timeoutMs: number,
): Promise<number | null> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': 100,
  });
  try {
    return await new Promise<number | null>((resolve) => {
      client.makeUnaryRequest<Buffer, Buffer>(
        CHECK_METHOD,
        (request) => request,
        (response) => response,
        encodeHealthRequest(service),
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          if (error !== null || response === undefined) resolve(null);
          else resolve(decodeHealthStatus(response));
        },
      );
    });
  } finally {
    client.close();
  }
}
