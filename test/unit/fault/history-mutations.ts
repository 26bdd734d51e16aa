/**
 * Single faults planted in a correct queue history, each the trace of one kind of broker bug.
 * Each mutation picks its target with `pick` (modulo the candidates) and returns a new history,
 * or null when the history offers no target. The input is never changed.
 */
import type { Op, PollOp, SendOp } from '../../fault/history.js';

type Records = ReadonlyArray<readonly [number, string]>;

function isOkPoll(op: Op, f: 'poll' | 'final-poll'): op is PollOp {
  return op.f === f && op.type === 'ok';
}

function withRecords(op: PollOp, records: Records, highWatermark?: number): PollOp {
  return {
    ...op,
    value: { ...op.value, records, highWatermark: highWatermark ?? op.value.highWatermark ?? 0 },
  };
}

/** Values whose send completed ok. */
function ackedValues(history: readonly Op[]): Set<string> {
  const acked = new Set<string>();
  for (const op of history) {
    if (op.f === 'send' && op.type === 'ok') acked.add((op as SendOp).value.value);
  }
  return acked;
}

/**
 * The log forgets an acked record: the final read returns the partition without it, later
 * records one offset lower, so the read is still contiguous and complete (the lost record cannot
 * hide behind final-read-incomplete).
 */
export function dropAckedFromFinalRead(history: readonly Op[], pick: number): Op[] | null {
  const acked = ackedValues(history);
  const targets: Array<{ partition: number; offset: number }> = [];
  for (const op of history) {
    if (!isOkPoll(op, 'final-poll')) continue;
    for (const [offset, value] of op.value.records ?? []) {
      if (acked.has(value)) targets.push({ partition: op.value.partition, offset });
    }
  }
  const target = targets[pick % Math.max(1, targets.length)];
  if (target === undefined) return null;
  return history.map((op) => {
    if (!isOkPoll(op, 'final-poll') || op.value.partition !== target.partition) return op;
    const records: Array<readonly [number, string]> = [];
    for (const [offset, value] of op.value.records ?? []) {
      if (offset < target.offset) records.push([offset, value]);
      if (offset > target.offset) records.push([offset - 1, value]);
    }
    return withRecords(op, records, (op.value.highWatermark ?? 1) - 1);
  });
}

/** A reader's poll returns a value other than the one at that offset: `fresh` or another read. */
export function changePolledValue(
  history: readonly Op[],
  pick: number,
  isFresh: boolean,
): Op[] | null {
  const targets: Array<{ opIndex: number; recordIndex: number }> = [];
  const allValues: string[] = [];
  for (const op of history) {
    if (!isOkPoll(op, 'poll')) continue;
    const records = op.value.records ?? [];
    for (let i = 0; i < records.length; i++) {
      targets.push({ opIndex: op.index, recordIndex: i });
      allValues.push(records[i]![1]);
    }
  }
  const target = targets[pick % Math.max(1, targets.length)];
  if (target === undefined) return null;
  const mutated = [...history];
  const op = mutated[target.opIndex] as PollOp;
  const records = [...(op.value.records ?? [])];
  const [offset, value] = records[target.recordIndex]!;
  const other = allValues.find((candidate) => candidate !== value);
  const replacement = isFresh || other === undefined ? `${value}-changed` : other;
  records[target.recordIndex] = [offset, replacement];
  mutated[target.opIndex] = withRecords(op, records);
  return mutated;
}

/** A poll (reader or final) returns two of its records in the wrong order. */
export function swapPollRecords(history: readonly Op[], pick: number, gap: number): Op[] | null {
  const targets = history.filter(
    (op): op is PollOp =>
      (isOkPoll(op, 'poll') || isOkPoll(op, 'final-poll')) && (op.value.records?.length ?? 0) >= 2,
  );
  const op = targets[pick % Math.max(1, targets.length)];
  if (op === undefined) return null;
  const records = [...(op.value.records ?? [])];
  const first = pick % (records.length - 1);
  const second = first + 1 + (gap % (records.length - 1 - first));
  [records[first], records[second]] = [records[second]!, records[first]!];
  const mutated = [...history];
  mutated[op.index] = withRecords(op, records);
  return mutated;
}

/** A send that reached the log is answered fail ("certainly not appended"). */
export function failLandedSend(history: readonly Op[], pick: number): Op[] | null {
  const finalValues = new Set<string>();
  for (const op of history) {
    if (!isOkPoll(op, 'final-poll')) continue;
    for (const [, value] of op.value.records ?? []) finalValues.add(value);
  }
  const targets = history.filter(
    (op): op is SendOp =>
      op.f === 'send' &&
      (op.type === 'ok' || op.type === 'info') &&
      finalValues.has((op as SendOp).value.value),
  );
  const op = targets[pick % Math.max(1, targets.length)];
  if (op === undefined) return null;
  const mutated = [...history];
  const { partition, value } = op.value;
  mutated[op.index] = {
    ...op,
    type: 'fail',
    value: { partition, value, error: 'NOT_ENOUGH_REPLICAS' },
  };
  return mutated;
}
