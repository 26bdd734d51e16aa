/**
 * Child process of the group benchmark (group-members.ts): one consumer in its own process, so
 * it can be killed with SIGKILL and its CPU counted apart. It runs either a GroupConsumer (a
 * member of the benchmark's group: auto-commit, from earliest) or, as the yardstick, one
 * assign-based Consumer reading every partition from earliest, and reports over IPC:
 *
 *   - `ready` once subscribed (or assigned and seeked), with the member id;
 *   - `assigned` / `revoked` / `lost` from the rebalance callbacks, with their partitions;
 *   - `first-record` for the first record of a partition its loop got since it was assigned it;
 *   - `progress` (records and highest offset per partition, first and last record time) every
 *     250 ms while records come, and at once when a partition reaches the end offset it was
 *     given;
 *   - `closing` just before close() is called, `closed` once it resolved; `error`.
 *
 * Every time is this process's wall clock (Date.now()), taken when the record reached the loop.
 * Run only through group-members.ts; it exits when the benchmark goes away (IPC disconnect).
 */
import { Consumer, GroupConsumer, type ConsumerRecord } from '../src/client/index.js';
import type { ChildMessage, MemberChildConfig, ParentMessage } from './group-members.js';

/** How often progress goes to the benchmark while records come. */
const PROGRESS_INTERVAL_MS = 250;
/** Errors the loop reads past before it gives up (each is reported). */
const LOOP_ERRORS_MAX = 16;

interface Reader {
  readonly records: AsyncIterable<ConsumerRecord>;
  close(): Promise<void>;
}

let config: MemberChildConfig | null = null;
let reader: Reader | null = null;
let reading: Promise<void> | null = null;
let isClosing = false;
let counts: number[] = [];
let nextOffsets: number[] = [];
/** Whether the partition's first record since its assignment was reported. */
let hasFirst: boolean[] = [];
let firstAtMs: number | null = null;
let lastAtMs: number | null = null;
let isDirty = false;

process.on('disconnect', () => process.exit(0));
process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'start':
      void start(message.config);
      break;
    case 'go':
      startReading();
      break;
    case 'close':
      void closeAndExit();
      break;
  }
});

function send(message: ChildMessage, then?: () => void): void {
  if (process.send === undefined || !process.connected) {
    then?.();
    return;
  }
  process.send(message, undefined, {}, () => then?.());
}

async function start(received: MemberChildConfig): Promise<void> {
  config = received;
  const partitions = config.partitionCount;
  counts = new Array<number>(partitions).fill(0);
  nextOffsets = new Array<number>(partitions).fill(0);
  hasFirst = new Array<boolean>(partitions).fill(false);
  try {
    reader = config.mode === 'group' ? startMember(config) : await startSingle(config);
  } catch (error: unknown) {
    send({ type: 'error', message: messageOf(error), atMs: Date.now() }, () => process.exit(1));
    return;
  }
  const memberId = reader instanceof MemberReader ? reader.consumer.memberId : null;
  send({ type: 'ready', memberId, atMs: Date.now() });
  setInterval(() => {
    if (isDirty) sendProgress();
  }, PROGRESS_INTERVAL_MS);
  if (!config.waitForGo) startReading();
}

class MemberReader implements Reader {
  constructor(readonly consumer: GroupConsumer) {}
  get records(): AsyncIterable<ConsumerRecord> {
    return this.consumer;
  }
  close(): Promise<void> {
    return this.consumer.close();
  }
}

/** A group member: auto-commit (every autoCommitIntervalMs, on revocation, on close). */
function startMember(c: MemberChildConfig): Reader {
  const consumer = new GroupConsumer({
    bootstrap: c.bootstrap,
    groupId: c.groupId,
    clientId: c.name,
    sessionTimeoutMs: c.sessionTimeoutMs,
    autoOffsetReset: 'earliest',
    enableAutoCommit: true,
    autoCommitIntervalMs: c.autoCommitIntervalMs,
    onPartitionsAssigned: (tps) => {
      const partitions = tps.map((tp) => tp.partition);
      for (const p of partitions) hasFirst[p] = false;
      send({ type: 'assigned', partitions, atMs: Date.now() });
    },
    onPartitionsRevoked: (tps) => {
      send({ type: 'revoked', partitions: tps.map((tp) => tp.partition), atMs: Date.now() });
    },
    onPartitionsLost: (tps) => {
      send({ type: 'lost', partitions: tps.map((tp) => tp.partition), atMs: Date.now() });
    },
    onAutoCommitError: (error) => {
      send({ type: 'error', message: `auto-commit: ${messageOf(error)}`, atMs: Date.now() });
    },
  });
  consumer.subscribe([c.topic]);
  return new MemberReader(consumer);
}

/** The yardstick: one Consumer, every partition assigned, each from the log start. */
async function startSingle(c: MemberChildConfig): Promise<Reader> {
  const consumer = new Consumer({ bootstrap: c.bootstrap });
  const partitions = Array.from({ length: c.partitionCount }, (_, partition) => ({
    topic: c.topic,
    partition,
  }));
  consumer.assign(partitions);
  for (const tp of partitions) await consumer.seek(tp, 'earliest');
  return { records: consumer, close: () => consumer.close() };
}

function startReading(): void {
  if (reader === null || reading !== null) return;
  const source = reader.records;
  reading = readLoop(source);
}

/** Reads until close(); an error is reported and reading goes on, at most LOOP_ERRORS_MAX times. */
async function readLoop(source: AsyncIterable<ConsumerRecord>): Promise<void> {
  const ends = config?.endOffsets ?? null;
  for (let errors = 0; errors <= LOOP_ERRORS_MAX && !isClosing;) {
    try {
      for await (const record of source) {
        const atMs = Date.now();
        const p = record.partition;
        if (p >= counts.length) throw new Error(`record of partition ${p}: out of range`);
        counts[p]!++;
        if (record.offset >= nextOffsets[p]!) nextOffsets[p] = record.offset + 1;
        firstAtMs ??= atMs;
        lastAtMs = atMs;
        isDirty = true;
        if (!hasFirst[p]) {
          hasFirst[p] = true;
          send({ type: 'first-record', partition: p, offset: record.offset, atMs });
        }
        // The benchmark learns at once that a partition is done: its clock has the exact end.
        if (ends !== null && nextOffsets[p] === ends[p]) sendProgress();
      }
      return;
    } catch (error: unknown) {
      if (isClosing) return;
      errors++;
      send({ type: 'error', message: messageOf(error), atMs: Date.now() });
    }
  }
}

function sendProgress(): void {
  isDirty = false;
  send({
    type: 'progress',
    progress: { counts: [...counts], nextOffsets: [...nextOffsets], firstAtMs, lastAtMs },
    atMs: Date.now(),
  });
}

/** Graceful close (a member leaves the group at once), then exit. */
async function closeAndExit(): Promise<void> {
  if (isClosing) return;
  isClosing = true;
  send({ type: 'closing', atMs: Date.now() });
  try {
    await reader?.close();
    await reading;
  } catch (error: unknown) {
    send({ type: 'error', message: messageOf(error), atMs: Date.now() });
  }
  sendProgress();
  send({ type: 'closed', atMs: Date.now() }, () => process.exit(0));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
