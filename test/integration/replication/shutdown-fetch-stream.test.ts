/**
 * A leader's controlled shutdown ends its followers' fetch streams cleanly: the long poll in
 * progress is answered, then the stream ends with status OK. Otherwise a follower would send
 * its next fetch into a stream nobody answers, wait out its own timeout before looking for the
 * new leader, and the server's drain would wait for it (seen as a 4-7 s SIGTERM in the
 * deployment rehearsal).
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brookV1Peer, type ReplicaFetchResponse__Output } from '../../../src/proto/index.js';
import { startBroker, type BrokerProcess } from '../../helpers/broker-process.js';
import { createTopic, partitionState } from '../../helpers/cluster.js';

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker();
  await createTopic(broker, 'streamed', 1, 1);
}, 60_000);

afterAll(async () => {
  await broker?.cleanup();
});

describe("a leader's shutdown", () => {
  it(
    'answers the fetch in progress, then ends the stream with OK',
    { timeout: 60_000 },
    async () => {
      const state = await partitionState([broker], 'streamed', 0);
      const client = new (brookV1Peer().ReplicaFetch)(
        broker.address,
        grpc.credentials.createInsecure(),
      );
      try {
        const stream = client.FetchStream();
        const answers: ReplicaFetchResponse__Output[] = [];
        stream.on('data', (answer: ReplicaFetchResponse__Output) => answers.push(answer));
        const ended = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
        stream.on('error', () => undefined);
        // At the log end, so the leader long-polls until shutdown cuts the wait short.
        stream.write({
          replicaId: 7,
          partitions: [
            {
              topicId: state.topicId,
              partition: 0,
              fetchOffset: 0,
              currentLeaderEpoch: state.leaderEpoch,
            },
          ],
          maxWaitMs: 30_000,
          partitionMaxBytes: 1 << 20,
          maxBytes: 1 << 20,
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        await broker.stop();
        const status = await ended;
        expect(status.code).toBe(grpc.status.OK);
        expect(answers).toHaveLength(1);
        // Read before or after the node gave up its leadership: either tells the follower what to do.
        expect(['NONE', 'NOT_LEADER_OR_FOLLOWER']).toContain(answers[0]?.partitions[0]?.errorCode);
      } finally {
        client.close();
      }
    },
  );
});
