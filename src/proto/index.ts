/**
 * The gRPC contract, loaded from `proto/` at run time. Server and SDK both use these loaders, so
 * they agree on the decoding options: int64 as JS numbers (offsets stay below 2^53, asserted at
 * the edges), enums as their names, defaults filled in, and proto3 `optional` presence kept.
 *
 * Message types are generated from the same files into `src/gen/` by `npm run gen` (run by
 * `npm ci` through the build), and re-exported here so other modules import only this file.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { ProtoGrpcType as BrokerProto } from '../gen/broker.js';
import type { ProtoGrpcType as AdminProto } from '../gen/admin.js';
import type { ProtoGrpcType as GroupsProto } from '../gen/groups.js';
import type { ProtoGrpcType as PeerProto } from '../gen/peer.js';

/** Directory holding `brook/v1/*.proto`, found from this file in `src/` or `dist/src/`. */
export const PROTO_DIR = findProtoDir();

/** Files of the public API, relative to PROTO_DIR. */
export const PUBLIC_PROTO_FILES = [
  'brook/v1/broker.proto',
  'brook/v1/admin.proto',
  'brook/v1/groups.proto',
] as const;

/**
 * Files of the internal node-to-node API (Raft), relative to PROTO_DIR. They are loaded into a
 * package definition of their own, which the server does not hand to reflection: clients must
 * not discover or depend on calls whose messages may change between versions, and a grpcurl
 * user should not stumble on a call that writes raw entries into the metadata log.
 */
export const PEER_PROTO_FILES = ['brook/v1/peer.proto'] as const;

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let cached: protoLoader.PackageDefinition | null = null;
let cachedPeer: protoLoader.PackageDefinition | null = null;

/** The package definition of the public API (loaded once per process). */
export function publicPackageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync([...PUBLIC_PROTO_FILES], LOADER_OPTIONS);
  return cached;
}

/** The typed gRPC package `brook.v1`: service constructors and their definitions. */
export function brookV1(): BrokerProto['brook']['v1'] &
  AdminProto['brook']['v1'] &
  GroupsProto['brook']['v1'] {
  const loaded = grpc.loadPackageDefinition(publicPackageDefinition()) as unknown as BrokerProto &
    AdminProto &
    GroupsProto;
  return loaded.brook.v1;
}

/** The package definition of the internal peer API (loaded once per process). */
export function peerPackageDefinition(): protoLoader.PackageDefinition {
  cachedPeer ??= protoLoader.loadSync([...PEER_PROTO_FILES], LOADER_OPTIONS);
  return cachedPeer;
}

/** The typed internal gRPC package `brook.v1` of peer.proto: the RaftPeer service. */
export function brookV1Peer(): PeerProto['brook']['v1'] {
  const loaded = grpc.loadPackageDefinition(peerPackageDefinition()) as unknown as PeerProto;
  return loaded.brook.v1;
}

/** Encodes and decodes one message type outside gRPC, with the loaders' decoding options. */
export interface MessageCodec<In, Out> {
  encode(message: In): Uint8Array;
  /** Throws when `bytes` is not a valid encoding of the message. */
  decode(bytes: Uint8Array): Out;
}

let peerRoot: protobuf.Root | null = null;

/**
 * A codec for a message of peer.proto, for node-to-node traffic that is not gRPC (the framed
 * fetch transport). The same conversions as the gRPC loaders, so the objects are the generated
 * `__Output` types.
 */
export function peerMessageCodec<In, Out>(name: string): MessageCodec<In, Out> {
  if (peerRoot === null) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
    root.loadSync([...PEER_PROTO_FILES], { keepCase: false });
    root.resolveAll();
    peerRoot = root;
  }
  const type = peerRoot.lookupType(`brook.v1.${name}`);
  const options: protobuf.IConversionOptions = {
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  };
  return {
    encode: (message) => type.encode(type.fromObject(message as object)).finish(),
    decode: (bytes) => type.toObject(type.decode(bytes), options) as Out,
  };
}

function findProtoDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // src/proto -> ../../proto ; dist/src/proto -> ../../../proto
  for (const up of ['../..', '../../..']) {
    const candidate = path.resolve(here, up, 'proto');
    if (existsSync(path.join(candidate, 'brook', 'v1', 'broker.proto'))) {
      return candidate;
    }
  }
  throw new Error(`cannot find the proto/ directory from ${here}`);
}
export type * from './types.js';
