// A consumer group member in its own process, for tests that kill it (SIGKILL) mid-work. It runs
// the compiled SDK's GroupConsumer and prints one JSON line per event on stdout:
//   {"event":"assigned"|"revoked"|"lost","partitions":[{"topic","partition"}...],"atMs"}
//                                          (atMs: the callback's RebalanceInfo.atMs)
//   {"event":"record","topic","partition","offset","value"}    (then it commits, if asked)
//   {"event":"committed","topic","partition","offset"}          (after a commit resolved)
//   {"event":"commit-failed","message"}                          (and it reads on)
//   {"event":"error","message"}
// Pipes to the parent are synchronous on Linux, so a printed record is in the pipe before its
// commit is sent: the parent sees every record the child processed before it could commit it.
//
// Usage: node group-member-child.mjs '<json options>'
//   { bootstrap: string[], groupId, topics: string[], sessionTimeoutMs?, autoOffsetReset?,
//     commitAfterEach?: boolean (default true), delayMs?: number (per record, after printing and
//     before committing: a window in which a kill leaves a printed record uncommitted) }
import { GroupConsumer } from '../../dist/src/client/index.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const print = (line) => process.stdout.write(JSON.stringify(line) + '\n');

const consumer = new GroupConsumer({
  bootstrap: options.bootstrap,
  groupId: options.groupId,
  clientId: 'group-member-child',
  sessionTimeoutMs: options.sessionTimeoutMs ?? 3000,
  autoOffsetReset: options.autoOffsetReset ?? 'earliest',
  enableAutoCommit: false,
  onPartitionsAssigned: (partitions, { atMs }) => print({ event: 'assigned', partitions, atMs }),
  onPartitionsRevoked: async (partitions, { atMs }) => {
    await consumer.commit();
    print({ event: 'revoked', partitions, atMs });
  },
  onPartitionsLost: (partitions, { atMs }) => print({ event: 'lost', partitions, atMs }),
});

process.once('SIGTERM', () => void consumer.close().then(() => process.exit(0)));

consumer.subscribe(options.topics);
try {
  for await (const record of consumer) {
    print({
      event: 'record',
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      value: record.value?.toString('utf8') ?? null,
    });
    if (options.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    if (options.commitAfterEach !== false) {
      try {
        await consumer.commit();
        print({
          event: 'committed',
          topic: record.topic,
          partition: record.partition,
          offset: record.offset + 1,
        });
      } catch (error) {
        // E.g. the member lost the partition meanwhile: the record will come again elsewhere.
        print({ event: 'commit-failed', message: String(error?.message ?? error) });
      }
    }
  }
} catch (error) {
  print({ event: 'error', message: String(error?.message ?? error) });
  process.exitCode = 1;
}
