// A child process for clean-crash.test.ts's SIGKILL test: it appends updates to a few keys of one
// partition through the compiled LogManager and compacts it with CleanerTask, in rounds, until
// killed. After each append is durable it prints `acked <offset> <key>` (the value is always
// `v<offset>`); around each cleaning pass it prints `clean-start` and `clean-end`. Pipes to the
// parent are synchronous on Linux, so a printed line is in the pipe before the next step starts.
//
// Usage: node clean-child.mjs <dataDir> <topicId>
import { ClassicLevel } from 'classic-level';
import { encodeBatch } from '../../../dist/src/codec/index.js';
import { CleanerTask, LogManager } from '../../../dist/src/log/index.js';

const [dir, topicId] = process.argv.slice(2);
if (dir === undefined || topicId === undefined) {
  throw new Error('usage: clean-child.mjs <dataDir> <topicId>');
}

const KEYS = 7;
const open = async (path) => {
  const db = new ClassicLevel(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open({ createIfMissing: true, errorIfExists: false });
  return db;
};
// The two stores, as a broker opens them in its data dir.
const index = await open(`${dir}/store`);
const batches = await open(`${dir}/log`);
const manager = await LogManager.open(
  { batches, index },
  {
    fsync: 'always',
    fsyncIntervalMs: 1000,
    onFatal: (error) => {
      process.stderr.write(`fatal: ${error.stack}\n`);
      process.exit(3);
    },
  },
);
const log = await manager.createPartition(topicId, 0);
const cleaner = new CleanerTask(
  manager,
  () => ({ deleteRetentionMs: 60_000, minCompactionLagMs: 0, minCleanableDirtyRatio: 0 }),
  { backoffMs: 1_000, now: Date.now, stepBatchesMax: 2 },
);
process.stdout.write(`loaded ${log.logStartOffset} ${log.logEndOffset}\n`);

const random = (bound) => Math.floor(Math.random() * bound);

for (;;) {
  const batches = 20 + random(40);
  for (let b = 0; b < batches; b++) {
    const count = 1 + random(4);
    const records = [];
    const keys = [];
    for (let i = 0; i < count; i++) {
      const key = `k${random(KEYS)}`;
      keys.push(key);
      records.push({
        key: Buffer.from(key),
        value: Buffer.from(`v${log.logEndOffset + i}`),
        timestampMs: Date.now(),
        headers: [],
      });
    }
    const { baseOffset } = await log.append(await encodeBatch(records), 0, null);
    keys.forEach((key, i) => process.stdout.write(`acked ${baseOffset + i} ${key}\n`));
  }
  process.stdout.write('clean-start\n');
  await cleaner.runOnce();
  process.stdout.write('clean-end\n');
}
