/**
 * A generated test: fast-check draws random sequences of append, truncateTo, deleteBefore,
 * reopen and timestamp lookups on two partitions of a real LevelDB, and after every step the
 * log must agree with a plain in-memory model (batches, offsets, size, epoch cache, reads and
 * offsetForTimestamp). A failure prints the shrunk command list and the seed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RecordBatch, encodeBatch } from '../../../src/codec/index.js';
import type { PartitionLog } from '../../../src/log/index.js';
import { newTopicId, openStore, type TestStore } from './helpers.js';

interface ModelBatch {
  readonly base: number;
  readonly timestamps: number[];
  readonly bytes: number;
}

interface ModelPartition {
  batches: ModelBatch[];
  start: number;
  end: number;
  epoch: number;
  epochs: Array<[number, number]>;
}

type Command =
  | { kind: 'append'; partition: number; timestamps: number[]; bumpEpoch: boolean }
  | { kind: 'truncate'; partition: number; fraction: number }
  | { kind: 'deleteBefore'; partition: number; fraction: number }
  | { kind: 'reopen' }
  | { kind: 'lookup'; partition: number; timestampMs: number };

const partitionArb = fc.integer({ min: 0, max: 1 });
const fractionArb = fc.double({ min: 0, max: 1.2, noNaN: true });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      partition: partitionArb,
      timestamps: fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 4 }),
      bumpEpoch: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('truncate' as const),
      partition: partitionArb,
      fraction: fractionArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('deleteBefore' as const),
      partition: partitionArb,
      fraction: fractionArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('lookup' as const),
      partition: partitionArb,
      timestampMs: fc.integer({ min: -1, max: 51 }),
    }),
  },
);

let store: TestStore;

beforeAll(async () => {
  store = await openStore();
});

afterAll(async () => {
  await store.close();
});

function newModel(): ModelPartition {
  return { batches: [], start: 0, end: 0, epoch: 0, epochs: [] };
}

async function applyAppend(
  log: PartitionLog,
  model: ModelPartition,
  command: Extract<Command, { kind: 'append' }>,
): Promise<void> {
  if (command.bumpEpoch) model.epoch++;
  const records = command.timestamps.map((timestampMs, i) => ({
    key: null,
    value: Buffer.from(`r${i}`),
    timestampMs,
    headers: [],
  }));
  const batch = await encodeBatch(records);
  const result = await log.append(batch, model.epoch, null);
  expect(result.baseOffset).toBe(model.end);
  const latest = model.epochs.at(-1);
  if (latest === undefined || latest[0] < model.epoch) {
    // An entry left at the log end by deleteBefore held no record; the new epoch replaces it.
    model.epochs = model.epochs.filter(([, start]) => start < model.end);
    model.epochs.push([model.epoch, model.end]);
  }
  model.batches.push({ base: model.end, timestamps: command.timestamps, bytes: batch.length });
  model.end += command.timestamps.length;
}

function applyTruncate(model: ModelPartition, offset: number): number {
  if (offset >= model.end) return model.end;
  const holder = model.batches.find(
    (b) => b.base <= offset && offset < b.base + b.timestamps.length,
  );
  const newEnd = holder === undefined ? offset : holder.base;
  model.batches = model.batches.filter((b) => b.base < newEnd);
  model.end = newEnd;
  model.start = Math.min(model.start, newEnd);
  model.epochs = model.epochs.filter(([, start]) => start < newEnd);
  return newEnd;
}

function applyDeleteBefore(model: ModelPartition, offset: number): void {
  if (offset <= model.start) return;
  model.start = offset;
  model.batches = model.batches.filter((b) => b.base + b.timestamps.length > offset);
  const covered = model.epochs.filter(([, start]) => start <= offset);
  if (covered.length > 0) {
    const kept = covered.at(-1)!;
    model.epochs = [[kept[0], offset], ...model.epochs.filter(([, start]) => start > offset)];
  }
}

function modelLookup(
  model: ModelPartition,
  timestampMs: number,
): { offset: number; timestampMs: number } | null {
  for (const batch of model.batches) {
    for (let i = 0; i < batch.timestamps.length; i++) {
      const offset = batch.base + i;
      if (offset >= model.start && batch.timestamps[i]! >= timestampMs)
        return { offset, timestampMs: batch.timestamps[i]! };
    }
  }
  return null;
}

async function check(log: PartitionLog, model: ModelPartition): Promise<void> {
  expect(log.logStartOffset).toBe(model.start);
  expect(log.logEndOffset).toBe(model.end);
  expect(log.highWatermark).toBe(model.end);
  expect(log.sizeBytes).toBe(model.batches.reduce((s, b) => s + b.bytes, 0));
  expect(log.epochEntries()).toEqual(model.epochs);
  const read = await log.read(model.start, 1 << 20);
  const got = read.batches.map((b) => RecordBatch.of(b).baseOffset);
  expect(got).toEqual(model.batches.map((b) => b.base));
  for (const timestampMs of [0, 17, 34]) {
    const found = await log.offsetForTimestamp(timestampMs);
    const expected = modelLookup(model, timestampMs);
    expect(
      found === null ? null : { offset: found.offset, timestampMs: found.timestampMs },
    ).toEqual(expected);
  }
}

it('agrees with an in-memory model under random append/truncate/deleteBefore/reopen', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 20 }), async (commands) => {
      const topicId = newTopicId();
      const models = [newModel(), newModel()];
      for (let p = 0; p < 2; p++) await store.manager.createPartition(topicId, p);
      const log = (p: number): PartitionLog => store.manager.partition(topicId, p)!;
      for (const command of commands) {
        switch (command.kind) {
          case 'append':
            await applyAppend(log(command.partition), models[command.partition]!, command);
            break;
          case 'truncate': {
            const model = models[command.partition]!;
            const offset = Math.floor(command.fraction * model.end);
            const expected = applyTruncate(model, offset);
            expect(await log(command.partition).truncateTo(offset)).toBe(expected);
            break;
          }
          case 'deleteBefore': {
            const model = models[command.partition]!;
            const offset = Math.min(model.end, Math.floor(command.fraction * model.end));
            await log(command.partition).deleteBefore(offset);
            applyDeleteBefore(model, offset);
            break;
          }
          case 'reopen':
            await store.reopen();
            break;
          case 'lookup': {
            const found = await log(command.partition).offsetForTimestamp(command.timestampMs);
            const expected = modelLookup(models[command.partition]!, command.timestampMs);
            expect(
              found === null ? null : { offset: found.offset, timestampMs: found.timestampMs },
            ).toEqual(expected);
            break;
          }
        }
        for (let p = 0; p < 2; p++) await check(log(p), models[p]!);
      }
      expect(store.faults).toEqual([]);
    }),
    { numRuns: 100 },
  );
});
