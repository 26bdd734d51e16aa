/**
 * Child process of raw-grpc.ts: a gRPC server on a free loopback port that serves
 * brook.v1.RaftPeer/Propose from the same proto, with the same message limits as a broker, and
 * answers every call at once without storing or replicating anything. It tells the parent its
 * port over IPC and exits when the parent says so or goes away. Run only through raw-grpc.ts.
 */
import * as grpc from '@grpc/grpc-js';
import { limits } from '../src/config/limits.js';
import { brookV1Peer } from '../src/proto/index.js';
import type { ProposeRequest__Output, ProposeResponse } from '../src/proto/index.js';

let nextIndex = 1;

const server = new grpc.Server({
  'grpc.max_receive_message_length': limits.grpcMessageBytesMax,
  'grpc.max_send_message_length': limits.grpcMessageBytesMax,
});
server.addService(brookV1Peer().RaftPeer.service, {
  Propose: (
    call: grpc.ServerUnaryCall<ProposeRequest__Output, ProposeResponse>,
    callback: grpc.sendUnaryData<ProposeResponse>,
  ) => {
    // Indexes as a leader would hand them out, so the client counts entries the same way.
    const count = call.request.entries.length;
    const firstIndex = nextIndex;
    nextIndex += count;
    callback(null, { firstIndex, lastIndex: firstIndex + count - 1, term: 1 });
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error !== null || process.send === undefined) {
    process.stderr.write(`raw gRPC child: ${error?.message ?? 'no IPC channel'}\n`);
    process.exit(1);
  }
  process.send({ port });
});
process.on('message', () => server.tryShutdown(() => process.exit(0)));
process.on('disconnect', () => process.exit(0));
