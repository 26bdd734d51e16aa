/**
 * A correct queue run, for property tests of the queue checker: an in-memory model of a few
 * partition logs (contiguous offsets from 0, append only) driven by a random script of producer,
 * reader and nemesis steps, recorded as the workload would record it. A send lands in its log at
 * most once, at any moment between its invoke and its completion, and its completion tells the
 * truth: ok with the offset it landed at, fail only if it did not land, info either way. Readers
 * poll from their position and may reposition (assign) when idle. The run ends with a complete
 * final read of every partition.
 */
import fc from 'fast-check';
import type { Op } from '../../fault/history.js';
import { FINAL_PROCESS, HistoryBuilder, recordsFrom } from './history-builder.js';

export const StepKind = {
  INVOKE_SEND: 'invoke-send',
  LAND: 'land',
  COMPLETE_SEND: 'complete-send',
  ASSIGN: 'assign',
  INVOKE_POLL: 'invoke-poll',
  COMPLETE_POLL: 'complete-poll',
  NEMESIS: 'nemesis',
} as const;
export type StepKind = (typeof StepKind)[keyof typeof StepKind];

export interface Step {
  readonly kind: StepKind;
  /** Picks the producer or reader (modulo how many there are). */
  readonly actor: number;
  /** Picks the partition to send to or assign (modulo the partition count). */
  readonly partition: number;
  /** Picks an outcome or an assign offset. */
  readonly choice: number;
  /** Records a poll returns at most. */
  readonly pollRecordsMax: number;
}

export interface Script {
  readonly partitionCount: number;
  readonly producerCount: number;
  readonly readerCount: number;
  readonly steps: readonly Step[];
  /** Records per final-poll: a partition's final read takes several when it is longer. */
  readonly finalPollRecordsMax: number;
  /** Sends still outstanding at the end stay unanswered (the producer died), landed or not. */
  readonly isLeavingSendsOpen: boolean;
}

/** Weighted so that most steps do something: sends and polls need invoke and completion. */
const kindArbitrary: fc.Arbitrary<StepKind> = fc.oneof(
  { arbitrary: fc.constant(StepKind.INVOKE_SEND), weight: 4 },
  { arbitrary: fc.constant(StepKind.LAND), weight: 2 },
  { arbitrary: fc.constant(StepKind.COMPLETE_SEND), weight: 4 },
  { arbitrary: fc.constant(StepKind.ASSIGN), weight: 1 },
  { arbitrary: fc.constant(StepKind.INVOKE_POLL), weight: 4 },
  { arbitrary: fc.constant(StepKind.COMPLETE_POLL), weight: 4 },
  { arbitrary: fc.constant(StepKind.NEMESIS), weight: 1 },
);

const stepArbitrary: fc.Arbitrary<Step> = fc.record({
  kind: kindArbitrary,
  actor: fc.nat(7),
  partition: fc.nat(7),
  choice: fc.nat(11),
  pollRecordsMax: fc.integer({ min: 1, max: 5 }),
});

export const scriptArbitrary: fc.Arbitrary<Script> = fc.record({
  partitionCount: fc.integer({ min: 1, max: 3 }),
  producerCount: fc.integer({ min: 1, max: 3 }),
  readerCount: fc.integer({ min: 1, max: 2 }),
  steps: fc.array(stepArbitrary, { minLength: 20, maxLength: 300, size: 'large' }),
  finalPollRecordsMax: fc.integer({ min: 1, max: 6 }),
  isLeavingSendsOpen: fc.boolean(),
});

interface PendingSend {
  readonly partition: number;
  readonly value: string;
  /** The offset it landed at, once it has. */
  offset: number | undefined;
}

interface Producer {
  readonly process: string;
  sequence: number;
  pending: PendingSend | null;
}

interface Reader {
  readonly process: string;
  /** The partition it reads and the offset of the next record, once assigned. */
  position: { partition: number; offset: number } | null;
  isPolling: boolean;
}

/** Runs `script` against the model and returns the history a correct broker would produce. */
export function simulate(script: Script): Op[] {
  const run = new ModelRun(script);
  for (const step of script.steps) run.step(step);
  return run.finish();
}

class ModelRun {
  private readonly history = new HistoryBuilder();
  private readonly logs: string[][];
  private readonly producers: Producer[];
  private readonly readers: Reader[];
  private isFaulted = false;

  constructor(private readonly script: Script) {
    this.logs = Array.from({ length: script.partitionCount }, () => []);
    this.producers = Array.from({ length: script.producerCount }, (_, i) => ({
      process: `producer-${i}`,
      sequence: 0,
      pending: null,
    }));
    this.readers = Array.from({ length: script.readerCount }, (_, i) => ({
      process: `reader-${i}`,
      position: null,
      isPolling: false,
    }));
  }

  step(step: Step): void {
    const producer = this.producers[step.actor % this.producers.length]!;
    const reader = this.readers[step.actor % this.readers.length]!;
    switch (step.kind) {
      case StepKind.INVOKE_SEND:
        return this.invokeSend(producer, step.partition % this.logs.length);
      case StepKind.LAND:
        if (producer.pending !== null) this.land(producer.pending);
        return;
      case StepKind.COMPLETE_SEND:
        return this.completeSend(producer, step.choice);
      case StepKind.ASSIGN:
        return this.assign(reader, step.partition % this.logs.length, step.choice);
      case StepKind.INVOKE_POLL:
        return this.invokePoll(reader);
      case StepKind.COMPLETE_POLL:
        return this.completePoll(reader, step.choice, step.pollRecordsMax);
      case StepKind.NEMESIS:
        this.history.nemesis('partition', this.isFaulted ? 'heal' : 'start', [step.choice % 5]);
        this.isFaulted = !this.isFaulted;
        return;
    }
  }

  private invokeSend(producer: Producer, partition: number): void {
    if (producer.pending !== null) return;
    const value = `${producer.process}-${producer.sequence}`;
    producer.sequence += 1;
    producer.pending = { partition, value, offset: undefined };
    this.history.invokeSend(producer.process, partition, value);
  }

  /** The send reaches the log: readers may see it before its producer hears back. */
  private land(send: PendingSend): void {
    if (send.offset !== undefined) return;
    const log = this.logs[send.partition]!;
    send.offset = log.length;
    log.push(send.value);
  }

  private completeSend(producer: Producer, choice: number): void {
    const send = producer.pending;
    if (send === null) return;
    producer.pending = null;
    // Outcomes: landed then ok or info; not landed then fail or info (a timeout either way);
    // or landing just before the answer.
    if (send.offset === undefined && choice % 4 === 0) {
      this.history.completeSend(producer.process, send.partition, send.value, 'fail');
      return;
    }
    if (send.offset === undefined && choice % 4 === 1) {
      this.history.completeSend(producer.process, send.partition, send.value, 'info');
      return;
    }
    this.land(send);
    const outcome = choice % 3 === 0 ? 'info' : send.offset!;
    this.history.completeSend(producer.process, send.partition, send.value, outcome);
  }

  private assign(reader: Reader, partition: number, choice: number): void {
    if (reader.isPolling) return;
    const offset = choice % (this.logs[partition]!.length + 1);
    reader.position = { partition, offset };
    this.history.assign(reader.process, partition, offset);
  }

  private invokePoll(reader: Reader): void {
    if (reader.isPolling || reader.position === null) return;
    reader.isPolling = true;
    this.history.invokePoll(reader.process, reader.position.partition, reader.position.offset);
  }

  private completePoll(reader: Reader, choice: number, pollRecordsMax: number): void {
    if (!reader.isPolling || reader.position === null) return;
    reader.isPolling = false;
    const { partition, offset } = reader.position;
    if (choice % 5 === 0) {
      this.history.add(reader.process, choice % 2 === 0 ? 'fail' : 'info', 'poll', {
        partition,
        offset,
        error: 'NOT_LEADER_OR_FOLLOWER',
      });
      return;
    }
    const log = this.logs[partition]!;
    const values = log.slice(offset, offset + pollRecordsMax);
    this.history.completePoll(
      reader.process,
      partition,
      offset,
      recordsFrom(offset, values),
      log.length,
    );
    reader.position = { partition, offset: offset + values.length };
  }

  /** Answers what is outstanding, heals, then reads every partition from 0 in chunks. */
  finish(): Op[] {
    if (!this.script.isLeavingSendsOpen) {
      for (const producer of this.producers) this.completeSend(producer, 2);
    }
    for (const reader of this.readers) {
      if (reader.isPolling) this.completePoll(reader, 0, 1);
    }
    if (this.isFaulted) this.history.nemesis('partition', 'heal');
    for (const [partition, log] of this.logs.entries()) {
      this.history.assign(FINAL_PROCESS, partition, 0);
      let offset = 0;
      do {
        const values = log.slice(offset, offset + this.script.finalPollRecordsMax);
        this.history.finalPoll(partition, offset, recordsFrom(offset, values), log.length);
        offset += values.length;
      } while (offset < log.length);
    }
    return this.history.build();
  }
}
