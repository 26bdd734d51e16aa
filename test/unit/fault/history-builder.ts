/**
 * Builds small histories by hand for checker tests, in the shape the recorder writes
 * (test/fault/history.ts): indexes count from 0 and the clock moves 1 ms per op unless a test
 * sets it, so each test reads as the story of its run.
 */
import {
  NEMESIS_PROCESS,
  type AssignValue,
  type NemesisValue,
  type Op,
  type OpType,
  type PollValue,
  type SendValue,
} from '../../fault/history.js';

export type PollRecords = ReadonlyArray<readonly [number, string]>;

/** Records for `values` at consecutive offsets from `offset`. */
export function recordsFrom(offset: number, values: readonly string[]): PollRecords {
  return values.map((value, i) => [offset + i, value] as const);
}

export const FINAL_PROCESS = 'final';

export class HistoryBuilder {
  private readonly ops: Op[] = [];
  private nowMs = 0;

  /** Sets the clock for the next op; later ops go on 1 ms apart from there. */
  at(timeMs: number): this {
    this.nowMs = timeMs;
    return this;
  }

  add<V>(process: string, type: OpType, f: string, value: V): this {
    this.ops.push({ index: this.ops.length, timeMs: this.nowMs, process, type, f, value });
    this.nowMs += 1;
    return this;
  }

  invokeSend(process: string, partition: number, value: string): this {
    return this.add<SendValue>(process, 'invoke', 'send', { partition, value });
  }

  /** Completes the outstanding send of `process`: ok with `offset`, or fail / info. */
  completeSend(
    process: string,
    partition: number,
    value: string,
    outcome: number | 'fail' | 'info',
  ): this {
    if (typeof outcome === 'number') {
      return this.add<SendValue>(process, 'ok', 'send', { partition, value, offset: outcome });
    }
    const error = outcome === 'fail' ? 'NOT_ENOUGH_REPLICAS' : 'REQUEST_TIMED_OUT';
    return this.add<SendValue>(process, outcome, 'send', { partition, value, error });
  }

  /** An invoke and its completion in a row. */
  send(process: string, partition: number, value: string, outcome: number | 'fail' | 'info'): this {
    return this.invokeSend(process, partition, value).completeSend(
      process,
      partition,
      value,
      outcome,
    );
  }

  assign(process: string, partition: number, offset: number): this {
    return this.add<AssignValue>(process, 'ok', 'assign', { partition, offset });
  }

  invokePoll(process: string, partition: number, offset: number, f = 'poll'): this {
    return this.add<PollValue>(process, 'invoke', f, { partition, offset });
  }

  completePoll(
    process: string,
    partition: number,
    offset: number,
    records: PollRecords,
    highWatermark: number,
    f = 'poll',
  ): this {
    return this.add<PollValue>(process, 'ok', f, { partition, offset, records, highWatermark });
  }

  /** An ok poll from `offset`, invoke and completion in a row. */
  poll(
    process: string,
    partition: number,
    offset: number,
    records: PollRecords,
    highWatermark: number,
  ): this {
    return this.invokePoll(process, partition, offset).completePoll(
      process,
      partition,
      offset,
      records,
      highWatermark,
    );
  }

  /** A poll that ended in `type` (fail or info) with an error. */
  pollError(process: string, partition: number, offset: number, type: 'fail' | 'info'): this {
    return this.invokePoll(process, partition, offset).add<PollValue>(process, type, 'poll', {
      partition,
      offset,
      error: 'NOT_LEADER_OR_FOLLOWER',
    });
  }

  finalPoll(partition: number, offset: number, records: PollRecords, highWatermark: number): this {
    return this.invokePoll(FINAL_PROCESS, partition, offset, 'final-poll').completePoll(
      FINAL_PROCESS,
      partition,
      offset,
      records,
      highWatermark,
      'final-poll',
    );
  }

  /** The whole of `partition` in one final-poll: `values` from offset 0, high watermark after. */
  finalRead(partition: number, values: readonly string[]): this {
    this.assign(FINAL_PROCESS, partition, 0);
    return this.finalPoll(partition, 0, recordsFrom(0, values), values.length);
  }

  nemesis(f: string, phase: NemesisValue['phase'], nodes: readonly number[] = [0]): this {
    const detail = `${phase} ${f} on ${nodes.join(',')}`;
    return this.add<NemesisValue>(NEMESIS_PROCESS, 'info', f, { phase, nodes, detail });
  }

  build(): Op[] {
    return [...this.ops];
  }
}
