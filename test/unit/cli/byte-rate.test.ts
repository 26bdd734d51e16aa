import { describe, expect, it } from 'vitest';
import { byteRate } from '../../../src/cli/commands/common.js';

describe('byteRate', () => {
  it.each([
    ['1048576', 1_048_576],
    ['10MiB', 10 * 2 ** 20],
    ['10 MiB/s', 10 * 2 ** 20],
    ['500KB', 500_000],
    ['1.5gib', Math.floor(1.5 * 2 ** 30)],
    ['64b', 64],
  ])('%s is %d bytes/s', (text, expected) => {
    expect(byteRate(text)).toBe(expected);
  });

  it.each(['', '0', '-5', 'fast', '10 parsecs', '0.5', '1e3', '10MiB/h'])(
    'refuses %j with an example of what works',
    (text) => {
      expect(() => byteRate(text)).toThrow(/bytes per second, e\.g\. 10485760, 10MiB or 500KB/);
    },
  );
});
