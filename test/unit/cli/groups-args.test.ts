/**
 * The option parsers of `brook groups reset-offsets`: --topic specs (merged across repeats) and
 * --to-datetime (ISO 8601, local time without a zone). Pure functions, checked against values
 * computed independently with the Date constructor.
 */
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { collectTopicSpec, parseDatetime } from '../../../src/cli/commands/groups.js';

describe('collectTopicSpec', () => {
  it('reads a topic alone as all of its partitions and a list as those partitions', () => {
    expect(collectTopicSpec('orders', undefined)).toEqual([{ topic: 'orders', partitions: [] }]);
    expect(collectTopicSpec('orders:2,0', undefined)).toEqual([
      { topic: 'orders', partitions: [2, 0] },
    ]);
  });

  it('merges repeats of one topic: the union, or all partitions when any repeat says all', () => {
    const some = collectTopicSpec('orders:3', collectTopicSpec('orders:1,3', undefined));
    expect(some).toEqual([{ topic: 'orders', partitions: [1, 3] }]);
    expect(collectTopicSpec('orders', some)).toEqual([{ topic: 'orders', partitions: [] }]);
    expect(collectTopicSpec('audit:0', some)).toEqual([
      { topic: 'orders', partitions: [1, 3] },
      { topic: 'audit', partitions: [0] },
    ]);
  });

  it.each(['', ':1', 'orders:', 'orders:a', 'orders:1,,2', 'orders:-1', 'orders:99999999999'])(
    'rejects %j as a usage error',
    (value) => {
      expect(() => collectTopicSpec(value, undefined)).toThrow(InvalidArgumentError);
    },
  );
});

describe('parseDatetime', () => {
  it('reads a zone when given and local time otherwise', () => {
    expect(parseDatetime('2024-05-01T12:30:00Z')).toBe(Date.UTC(2024, 4, 1, 12, 30));
    expect(parseDatetime('2024-05-01T12:30:00.250Z')).toBe(Date.UTC(2024, 4, 1, 12, 30, 0, 250));
    expect(parseDatetime('2024-05-01T12:30+02:00')).toBe(Date.UTC(2024, 4, 1, 10, 30));
    expect(parseDatetime('2024-05-01T12:30:00-0130')).toBe(Date.UTC(2024, 4, 1, 14, 0));
    expect(parseDatetime('2024-05-01T12:30:00')).toBe(new Date(2024, 4, 1, 12, 30).getTime());
    expect(parseDatetime('2024-05-01')).toBe(new Date(2024, 4, 1).getTime());
  });

  it.each([
    'yesterday',
    '2024-5-1',
    '2024-02-30',
    '2024-13-01',
    '2024-05-01T25:00Z',
    '1969-12-31T00:00Z',
    '2024-05-01Z',
  ])('rejects %j as a usage error', (value) => {
    expect(() => parseDatetime(value)).toThrow(InvalidArgumentError);
  });
});
