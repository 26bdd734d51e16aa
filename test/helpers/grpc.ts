/**
 * Raw gRPC clients for tests that check the wire contract itself (not through the SDK):
 * typed Broker and Admin stubs and a promise wrapper that keeps the status on failure.
 */
import * as grpc from '@grpc/grpc-js';
import { brookV1 } from '../../src/proto/index.js';

export interface RawClients {
  broker: InstanceType<ReturnType<typeof brookV1>['Broker']>;
  admin: InstanceType<ReturnType<typeof brookV1>['Admin']>;
  groups: InstanceType<ReturnType<typeof brookV1>['Groups']>;
  close(): void;
}

export function rawClients(address: string): RawClients {
  const v1 = brookV1();
  const options = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
  const broker = new v1.Broker(address, grpc.credentials.createInsecure(), options);
  const admin = new v1.Admin(address, grpc.credentials.createInsecure(), options);
  const groups = new v1.Groups(address, grpc.credentials.createInsecure(), options);
  return {
    broker,
    admin,
    groups,
    close: () => {
      broker.close();
      admin.close();
      groups.close();
    },
  };
}

type Callback = (error: grpc.ServiceError | null, response?: unknown) => void;
type AnyUnary = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: Callback,
) => unknown;

/**
 * Calls a unary method by name with a deadline; resolves the response or rejects with the
 * ServiceError. Responses are typed by the caller (`call<ProduceResponse__Output>(...)`).
 */
export function call<Res>(
  client: grpc.Client,
  method: string,
  request: object,
  deadlineMs = 10_000,
): Promise<Res> {
  const fn = (client as unknown as Record<string, AnyUnary>)[method];
  if (fn === undefined) throw new Error(`no method ${method}`);
  return new Promise((resolve, reject) => {
    fn.call(
      client,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (error, response) => {
        if (error !== null) reject(error);
        else resolve(response as Res);
      },
    );
  });
}

/** Calls and expects a failure; returns the ServiceError for assertions. */
export async function callError(
  client: grpc.Client,
  method: string,
  request: object,
): Promise<grpc.ServiceError> {
  try {
    await call(client, method, request);
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error(`expected ${method} to fail, but it succeeded`);
}
