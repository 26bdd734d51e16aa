/**
 * Property tests of the queue checker against a model (queue-model.ts): random runs of a correct
 * broker (interleaved sends with every outcome, polls of random sizes, assigns, faults, a final
 * read in chunks) must always check valid with no anomaly; and the same run with one planted
 * fault (history-mutations.ts) must always check invalid, with the anomaly that fault causes.
 * Each mutated run is first checked unmutated, so a failure cannot come from the model.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QueueAnomaly, QueueChecker } from '../../fault/checker/queue-checker.js';
import type { Op } from '../../fault/history.js';
import {
  changePolledValue,
  dropAckedFromFinalRead,
  failLandedSend,
  swapPollRecords,
} from './history-mutations.js';
import { scriptArbitrary, simulate } from './queue-model.js';

const RUNS = 200;
const OPTIONS = { idempotence: true };

function check(history: readonly Op[]) {
  return new QueueChecker().check(history, OPTIONS);
}

/** Plants `mutate` in a correct run and expects `anomaly` (other anomalies may follow from it). */
function expectMutationCaught(
  anomaly: QueueAnomaly,
  mutate: (history: readonly Op[], pick: number, extra: number) => Op[] | null,
): void {
  fc.assert(
    fc.property(scriptArbitrary, fc.nat(), fc.nat(), (script, pick, extra) => {
      const history = simulate(script);
      const mutated = mutate(history, pick, extra);
      fc.pre(mutated !== null);
      expect(check(history).valid).toBe(true);
      const result = check(mutated!);
      expect(result.valid).toBe(false);
      expect(Object.keys(result.anomalies)).toContain(anomaly);
    }),
    { numRuns: RUNS },
  );
}

describe('QueueChecker properties', () => {
  it('finds a correct broker run valid, with every acked send in the final read', () => {
    fc.assert(
      fc.property(scriptArbitrary, (script) => {
        const result = check(simulate(script));
        expect(result.anomalies).toEqual({});
        expect(result.valid).toBe(true);
        expect(result.stats['acked-found-in-final-read']).toBe(result.stats['sends-ok']);
      }),
      { numRuns: RUNS },
    );
  });

  it('finds an acked record dropped from the final read (lost)', () => {
    expectMutationCaught(QueueAnomaly.LOST, (history, pick) =>
      dropAckedFromFinalRead(history, pick),
    );
  });

  it('finds a polled value changed (inconsistent-offsets)', () => {
    expectMutationCaught(QueueAnomaly.INCONSISTENT_OFFSETS, (history, pick, extra) =>
      changePolledValue(history, pick, extra % 2 === 0),
    );
  });

  it('finds two records of a poll swapped (nonmonotonic)', () => {
    expectMutationCaught(QueueAnomaly.NONMONOTONIC, (history, pick, extra) =>
      swapPollRecords(history, pick, extra),
    );
  });

  it('finds a send that landed answered fail (failed-read)', () => {
    expectMutationCaught(QueueAnomaly.FAILED_READ, (history, pick) =>
      failLandedSend(history, pick),
    );
  });
});
