/**
 * The availability checker and fault windows on a small history with timestamps set by hand, so
 * every figure can be worked out on paper: which completions fall inside the one fault window,
 * the ok fractions on each side, and the longest stretch with sends outstanding and none ok.
 */
import { describe, expect, it } from 'vitest';
import { AvailabilityChecker } from '../../fault/checker/availability.js';
import { faultWindows, isInFault } from '../../fault/checker/fault-windows.js';
import { HistoryBuilder } from './history-builder.js';

const OPTIONS = { idempotence: false };

describe('AvailabilityChecker', () => {
  // The partition lasts from 100 to 200 ms. b and c complete inside it (fail, info), a and d
  // outside (ok); one poll ok inside, one failed outside. Sends are outstanding from 90 ms (b)
  // with no ok until d at 250 ms: the longest stall, 160 ms.
  const history = new HistoryBuilder()
    .at(10)
    .invokeSend('producer-0', 0, 'a')
    .at(20)
    .completeSend('producer-0', 0, 'a', 0)
    .at(90)
    .invokeSend('producer-0', 0, 'b')
    .at(100)
    .nemesis('partition', 'start', [1])
    .at(110)
    .invokeSend('producer-1', 0, 'c')
    .at(120)
    .invokePoll('reader-0', 0, 0)
    .at(130)
    .completePoll('reader-0', 0, 0, [[0, 'a']], 1)
    .at(150)
    .completeSend('producer-0', 0, 'b', 'fail')
    .at(160)
    .invokeSend('producer-0', 0, 'd')
    .at(190)
    .completeSend('producer-1', 0, 'c', 'info')
    .at(200)
    .nemesis('partition', 'heal', [1])
    .at(250)
    .completeSend('producer-0', 0, 'd', 1)
    .at(300)
    .pollError('reader-0', 0, 1, 'fail')
    .build();

  it('counts completions inside and outside fault windows, and the ok fractions', () => {
    const result = new AvailabilityChecker().check(history, OPTIONS);
    expect(result).toMatchObject({ checker: 'availability', valid: true, anomalies: {} });
    expect(result.stats).toMatchObject({
      'send-ok-in-faults': 0,
      'send-fail-in-faults': 1,
      'send-info-in-faults': 1,
      'send-completions-in-faults': 2,
      'send-ok-fraction-in-faults': 0,
      'send-ok-outside-faults': 2,
      'send-completions-outside-faults': 2,
      'send-ok-fraction-outside-faults': 1,
      'poll-ok-in-faults': 1,
      'poll-completions-in-faults': 1,
      'poll-ok-fraction-in-faults': 1,
      'poll-fail-outside-faults': 1,
      'poll-completions-outside-faults': 1,
      'poll-ok-fraction-outside-faults': 0,
      'fault-windows': 1,
      'fault-time-ms': 100,
    });
  });

  it('measures the longest time with a send outstanding and none ok', () => {
    const { stats } = new AvailabilityChecker().check(history, OPTIONS);
    expect(stats['longest-send-stall-ms']).toBe(160);
    expect(stats['longest-send-stall-start-ms']).toBe(90);
  });

  it('ends a stall when the last outstanding send fails, not only at the next ok', () => {
    // 0..50 ms: one send outstanding, then refused. 1000..1010 ms: one send, ok. A stall that
    // ran on through the idle time would measure 1010 ms.
    const history = new HistoryBuilder()
      .at(0)
      .invokeSend('producer-0', 0, 'a')
      .at(50)
      .completeSend('producer-0', 0, 'a', 'fail')
      .at(1000)
      .invokeSend('producer-0', 0, 'b')
      .at(1010)
      .completeSend('producer-0', 0, 'b', 0)
      .build();
    const { stats } = new AvailabilityChecker().check(history, OPTIONS);
    expect(stats['longest-send-stall-ms']).toBe(50);
    expect(stats['longest-send-stall-start-ms']).toBe(0);
  });

  it('runs a stall with sends still outstanding to the end of the history', () => {
    const stalled = new HistoryBuilder()
      .at(0)
      .send('producer-0', 0, 'a', 0)
      .at(10)
      .invokeSend('producer-0', 0, 'b')
      .at(500)
      .nemesis('kill', 'start')
      .build();
    const { stats, valid } = new AvailabilityChecker().check(stalled, OPTIONS);
    expect(valid).toBe(true);
    expect(stats['longest-send-stall-ms']).toBe(490);
    expect(stats['fault-time-ms']).toBe(0);
  });

  it('leaves out a fraction with nothing to divide, and is valid even when nothing succeeds', () => {
    const failing = new HistoryBuilder().send('producer-0', 0, 'a', 'fail').build();
    const { stats, valid } = new AvailabilityChecker().check(failing, OPTIONS);
    expect(valid).toBe(true);
    expect(stats['send-ok-fraction-outside-faults']).toBe(0);
    expect(stats).not.toHaveProperty('send-ok-fraction-in-faults');
    expect(stats).not.toHaveProperty('poll-ok-fraction-outside-faults');
  });

  it("measures the groups workload's commits and committed reads, and leaves out polls it has none of", () => {
    const groups = new HistoryBuilder()
      .send('producer-0', 0, 'a', 0)
      .add('member-0', 'ok', 'commit', { offsets: [[0, 1]] })
      .nemesis('kill', 'start')
      .add('member-0', 'info', 'commit', { offsets: [[0, 1]], error: 'DEADLINE_EXCEEDED' })
      .add('observer', 'info', 'committed', { offsets: [], error: 'UNAVAILABLE' })
      .nemesis('kill', 'heal')
      .add('observer', 'ok', 'committed', { offsets: [[0, 1]] })
      .build();
    const { stats } = new AvailabilityChecker().check(groups, OPTIONS);
    expect(stats).toMatchObject({
      'commit-ok-fraction-in-faults': 0,
      'commit-ok-fraction-outside-faults': 1,
      'committed-ok-fraction-in-faults': 0,
      'committed-ok-fraction-outside-faults': 1,
    });
    expect(Object.keys(stats).some((key) => key.startsWith('poll-'))).toBe(false);
  });
});

describe('faultWindows', () => {
  it('merges overlapping faults of different kinds and runs an unhealed one to the end', () => {
    const history = new HistoryBuilder()
      .at(10)
      .nemesis('kill', 'start')
      .at(20)
      .nemesis('partition', 'start')
      .at(30)
      .nemesis('kill', 'start')
      .at(40)
      .nemesis('kill', 'heal')
      .at(50)
      .nemesis('partition', 'heal')
      .at(60)
      .nemesis('pause', 'heal')
      .at(70)
      .nemesis('pause', 'start')
      .build();
    const windows = faultWindows(history);
    expect(windows).toEqual([
      { startMs: 10, endMs: 50 },
      { startMs: 70, endMs: Infinity },
    ]);
    expect([9, 10, 50, 51, 69, 70, 1e9].map((t) => isInFault(windows, t))).toEqual([
      false,
      true,
      true,
      false,
      false,
      true,
      true,
    ]);
    expect(isInFault([], 5)).toBe(false);
  });
});
