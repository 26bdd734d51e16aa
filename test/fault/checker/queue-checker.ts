/**
 * The checker for the queue workload (workload/queue.ts), after Jepsen's Kafka checker
 * (jepsen.tests.kafka): producers send unique values with acks=all, readers poll partitions in
 * order, and after the faults heal one process reads every partition from offset 0.
 *
 * One pass over the history gathers what each send's outcome was, what every offset was seen
 * holding, where every value was read, each reader's position and the final read; the anomalies
 * that depend on a send's outcome are decided after the pass, since a value may be read before
 * its send completes. Work and memory are linear in the history.
 *
 * Anomalies (all errors except duplicates without idempotence):
 * - lost: an acked send missing from the final read of its partition;
 * - final-read-incomplete: a partition whose final read does not cover 0 to its high watermark;
 * - inconsistent-offsets: one offset seen holding two values (acks, polls, final-polls);
 * - duplicates: one value read at two places;
 * - unexpected: a value read that no send ever invoked;
 * - failed-read: a value read whose send certainly failed (Jepsen's G1a, aborted read);
 * - offset-mismatch: an acked value read at an offset other than its ack said;
 * - wrong-partition: a value read in a partition it was not sent to;
 * - nonmonotonic, skip: a reader going backwards or jumping ahead (reader-positions.ts).
 *
 * Stats: `sends-invoked` = ok + fail + info + unfinished (invoked, never answered; unknown like
 * info); `acked-found-in-final-read` and `info-found-in-final-read` (unknown outcomes that did
 * land, unfinished ones included); `polls-ok` and `poll-records` (readers' ok polls);
 * `final-read-records` and `final-read-records-p<N>`; `partitions` (any mentioned by a send,
 * poll or assign: each needs a complete final read).
 */
import { NEMESIS_PROCESS, type AssignOp, type Op, type PollOp, type SendOp } from '../history.js';
import { AnomalyLog } from './anomaly-log.js';
import type { Checker, CheckOptions, CheckResult } from './checker.js';
import { FinalRead } from './final-read.js';
import { InvokeTracker, MalformedHistoryError } from './invoke-tracker.js';
import { LogObservations, type ReadLocation } from './log-observations.js';
import { OrderAnomaly, ReaderPositions } from './reader-positions.js';

export const QueueAnomaly = {
  LOST: 'lost',
  FINAL_READ_INCOMPLETE: 'final-read-incomplete',
  INCONSISTENT_OFFSETS: 'inconsistent-offsets',
  DUPLICATES: 'duplicates',
  UNEXPECTED: 'unexpected',
  FAILED_READ: 'failed-read',
  OFFSET_MISMATCH: 'offset-mismatch',
  WRONG_PARTITION: 'wrong-partition',
  NONMONOTONIC: OrderAnomaly.NONMONOTONIC,
  SKIP: OrderAnomaly.SKIP,
} as const;
export type QueueAnomaly = (typeof QueueAnomaly)[keyof typeof QueueAnomaly];

/** 'invoked' until a completion arrives; one that never arrives is an unknown outcome, like info. */
type SendOutcome = 'invoked' | 'ok' | 'fail' | 'info';

interface SendRecord {
  readonly partition: number;
  outcome: SendOutcome;
  /** The offset an ok ack returned. */
  offset: number | undefined;
  /** The completion op, or the invoke while none has arrived. */
  opIndex: number;
}

export class QueueChecker implements Checker {
  readonly name = 'queue';

  check(history: readonly Op[], options: CheckOptions): CheckResult {
    const run = new QueueRun(this.name, options);
    for (const op of history) run.step(op);
    return run.finish();
  }
}

/** The state of one check of one history. */
class QueueRun {
  private readonly anomalies = new AnomalyLog();
  private readonly invokes = new InvokeTracker();
  /** By value; values are unique in a run. */
  private readonly sends = new Map<string, SendRecord>();
  private readonly partitions = new Set<number>();
  private readonly log = new LogObservations();
  private readonly positions = new ReaderPositions(this.anomalies);
  private readonly finalRead = new FinalRead();
  private readonly stats: Record<string, number> = {
    partitions: 0,
    'sends-invoked': 0,
    'sends-ok': 0,
    'sends-fail': 0,
    'sends-info': 0,
    'sends-unfinished': 0,
    'acked-found-in-final-read': 0,
    'info-found-in-final-read': 0,
    'polls-ok': 0,
    'poll-records': 0,
    'final-read-records': 0,
  };

  constructor(
    private readonly checker: string,
    private readonly options: CheckOptions,
  ) {}

  step(op: Op): void {
    if (op.process === NEMESIS_PROCESS) return;
    switch (op.f) {
      case 'assign':
        this.observeAssign(op as AssignOp);
        return;
      case 'send':
        if (op.type === 'invoke') this.invokeSend(op as SendOp);
        else this.completeSend(this.invokes.complete(op) as SendOp, op as SendOp);
        return;
      case 'poll':
      case 'final-poll':
        if (op.type === 'invoke') this.invokePoll(op as PollOp);
        else this.completePoll(this.invokes.complete(op) as PollOp, op as PollOp);
        return;
      default:
        // Another workload's op: not this checker's business.
        return;
    }
  }

  private observeAssign(op: AssignOp): void {
    this.partitions.add(op.value.partition);
    this.positions.assign(op.process, op.value.partition, op.value.offset, op.index);
  }

  private invokeSend(op: SendOp): void {
    this.invokes.invoke(op);
    const { partition, value } = op.value;
    const known = this.sends.get(value);
    if (known !== undefined) {
      // Every check here keys on the value: a reused one would blame the wrong send.
      throw new MalformedHistoryError(`op ${op.index}: value ${value} was already sent`);
    }
    this.partitions.add(partition);
    this.sends.set(value, { partition, outcome: 'invoked', offset: undefined, opIndex: op.index });
    this.stats['sends-invoked']! += 1;
  }

  private completeSend(invoke: SendOp, completion: SendOp): void {
    const send = this.sends.get(invoke.value.value)!;
    send.outcome = completion.type as SendOutcome;
    send.opIndex = completion.index;
    this.stats[`sends-${completion.type}`]! += 1;
    if (completion.type !== 'ok' || completion.value.offset === undefined) return;
    send.offset = completion.value.offset;
    this.log.observeOffset(send.partition, send.offset, invoke.value.value, completion.index);
  }

  private invokePoll(op: PollOp): void {
    this.invokes.invoke(op);
    this.partitions.add(op.value.partition);
  }

  private completePoll(invoke: PollOp, completion: PollOp): void {
    if (completion.type !== 'ok') return;
    const { partition } = invoke.value;
    const records = completion.value.records ?? [];
    for (const [offset, value] of records) {
      this.log.observeRead(partition, offset, value, completion.index);
    }
    this.positions.observePoll(completion.process, partition, records, completion.index);
    if (completion.f === 'final-poll') {
      this.finalRead.observe(partition, records, completion.value.highWatermark);
      this.stats['final-read-records']! += records.length;
    } else {
      this.stats['polls-ok']! += 1;
      this.stats['poll-records']! += records.length;
    }
  }

  finish(): CheckResult {
    this.log.reportInconsistentOffsets(this.anomalies, QueueAnomaly.INCONSISTENT_OFFSETS);
    for (const [value, locations] of this.log.readValues()) this.judgeRead(value, locations);
    this.judgeFinalRead();
    return {
      checker: this.checker,
      valid: !this.anomalies.hasErrors,
      anomalies: this.anomalies.toRecord(),
      stats: { ...this.stats },
    };
  }

  /** Judges a value read against the send that wrote it; `locations` are distinct places. */
  private judgeRead(value: string, locations: readonly ReadLocation[]): void {
    const first = locations[0]!;
    if (locations.length > 1) {
      this.anomalies.add(QueueAnomaly.DUPLICATES, this.options.idempotence, { value, locations });
    }
    const send = this.sends.get(value);
    if (send === undefined) {
      this.anomalies.add(QueueAnomaly.UNEXPECTED, true, { value, ...first });
      return;
    }
    if (send.outcome === 'fail') {
      this.anomalies.add(QueueAnomaly.FAILED_READ, true, {
        value,
        ...first,
        sendIndex: send.opIndex,
      });
    }
    const elsewhere = locations.find((location) => location.partition !== send.partition);
    if (elsewhere !== undefined) {
      this.anomalies.add(QueueAnomaly.WRONG_PARTITION, true, {
        value,
        sentPartition: send.partition,
        ...elsewhere,
      });
    }
    if (send.offset === undefined) return;
    const moved = locations.find(
      (location) => location.partition === send.partition && location.offset !== send.offset,
    );
    if (moved !== undefined) {
      this.anomalies.add(QueueAnomaly.OFFSET_MISMATCH, true, {
        value,
        partition: send.partition,
        ackOffset: send.offset,
        readOffset: moved.offset,
        sendIndex: send.opIndex,
        opIndex: moved.opIndex,
      });
    }
  }

  /**
   * Every acked send must be in the final read of its partition. Where that read is incomplete
   * the run is invalid anyway, and an acked send counts as lost only if the read returned the
   * offset its ack named (what lies beyond the read is unknown).
   */
  private judgeFinalRead(): void {
    const partitions = [...this.partitions].sort((a, b) => a - b);
    const complete = new Set<number>();
    for (const partition of partitions) {
      const incompleteness = this.finalRead.incompleteness(partition);
      if (incompleteness === null) complete.add(partition);
      else this.anomalies.add(QueueAnomaly.FINAL_READ_INCOMPLETE, true, incompleteness);
      this.stats[`final-read-records-p${partition}`] =
        this.finalRead.of(partition)?.offsets.size ?? 0;
    }
    this.stats['partitions'] = partitions.length;
    for (const [value, send] of this.sends) {
      const read = this.finalRead.of(send.partition);
      const isFound = read?.values.has(value) ?? false;
      if (send.outcome === 'info' || send.outcome === 'invoked') {
        if (send.outcome === 'invoked') this.stats['sends-unfinished']! += 1;
        if (isFound) this.stats['info-found-in-final-read']! += 1;
        continue;
      }
      if (send.outcome !== 'ok') continue;
      if (isFound) {
        this.stats['acked-found-in-final-read']! += 1;
        continue;
      }
      const isCovered =
        complete.has(send.partition) ||
        (send.offset !== undefined && read !== undefined && read.offsets.has(send.offset));
      if (isCovered) {
        this.anomalies.add(QueueAnomaly.LOST, true, {
          value,
          partition: send.partition,
          offset: send.offset,
          sendIndex: send.opIndex,
        });
      }
    }
  }
}
