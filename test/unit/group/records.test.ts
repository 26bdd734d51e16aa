/**
 * __consumer_offsets records (src/group/records.ts) and group placement (coordinator-key.ts):
 * keys are canonical, values round-trip, damaged ones are refused rather than misread, and a
 * group lands in the partition Kafka would put it in.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { javaStringHash, partitionForGroup } from '../../../src/group/coordinator-key.js';
import type { GroupState } from '../../../src/group/model.js';
import {
  OffsetsRecordError,
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  encodeGroupValue,
  encodeOffsetValue,
  groupKey,
  offsetKey,
} from '../../../src/group/records.js';
import { partitionSet } from '../../../src/group/topic-partitions.js';

describe('placement', () => {
  it("hashes as Java's String.hashCode", () => {
    expect(javaStringHash('')).toBe(0);
    expect(javaStringHash('hello')).toBe(99162322);
    // Wraps around 32 bits, and works on UTF-16 code units.
    expect(javaStringHash('polygenelubricants')).toBe(-2147483648);
    expect(javaStringHash('😀')).toBe(0xd83d * 31 + 0xde00);
  });

  it("maps Integer.MIN_VALUE to partition 0, as Kafka's Utils.abs does", () => {
    expect(partitionForGroup('polygenelubricants', 50)).toBe(0);
    expect(partitionForGroup('hello', 50)).toBe(99162322 % 50);
  });

  it('always lands inside [0, partitions)', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 1000 }), (id, n) => {
        const p = partitionForGroup(id, n);
        expect(Number.isInteger(p) && p >= 0 && p < n).toBe(true);
      }),
    );
  });
});

describe('keys', () => {
  it('round-trip and tell kinds apart', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat(100_000), (group, topic, partition) => {
        expect(decodeKey(offsetKey(group, topic, partition))).toEqual({
          kind: 'offset',
          groupId: group,
          topic,
          partition,
        });
        expect(decodeKey(groupKey(group))).toEqual({ kind: 'group', groupId: group });
        expect(offsetKey(group, topic, partition).equals(offsetKey(group, topic, partition))).toBe(
          true,
        );
      }),
    );
  });

  it('skip a kind this release does not know, and refuse a damaged key', () => {
    expect(decodeKey(Buffer.from([9, 0, 0]))).toBeNull();
    expect(() => decodeKey(Buffer.from([2, 0]))).toThrow(OffsetsRecordError);
    expect(() => decodeKey(Buffer.from([2, 0, 5, 65]))).toThrow(OffsetsRecordError);
    expect(() => decodeKey(Buffer.concat([groupKey('g'), Buffer.from([1])]))).toThrow(
      OffsetsRecordError,
    );
  });
});

describe('values', () => {
  const group: GroupState = {
    groupId: 'g',
    groupEpoch: 4,
    assignmentEpoch: 4,
    assignor: 'uniform',
    subscribedTopics: new Map([['t', 3]]),
    members: new Map([
      [
        'b',
        {
          memberId: 'b',
          clientId: 'cb',
          host: '10.0.0.2',
          memberEpoch: 4,
          previousMemberEpoch: 3,
          state: 'unrevoked_partitions',
          subscription: { topicNames: ['t'], topicRegex: '' },
          sessionTimeoutMs: 45_000,
          rebalanceTimeoutMs: 60_000,
          assigned: partitionSet([['t', [0]]]),
          pendingRevocation: partitionSet([['t', [2]]]),
        },
      ],
      [
        'a',
        {
          memberId: 'a',
          clientId: 'ca',
          host: '10.0.0.1',
          memberEpoch: 4,
          previousMemberEpoch: 2,
          state: 'stable',
          subscription: { topicNames: [], topicRegex: 't.*' },
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          assigned: partitionSet([['t', [1]]]),
          pendingRevocation: partitionSet([]),
        },
      ],
    ]),
    target: new Map([
      ['a', partitionSet([['t', [1, 2]]])],
      ['b', partitionSet([['t', [0]]])],
    ]),
  };

  it('a group state round-trips, and equal states encode to equal bytes', () => {
    const bytes = encodeGroupValue(group);
    const decoded = decodeGroupValue('g', bytes);
    expect(decoded).toEqual(group);
    const reordered: GroupState = { ...group, members: new Map([...group.members].reverse()) };
    expect(encodeGroupValue(reordered).equals(bytes)).toBe(true);
  });

  it('an offset round-trips', () => {
    const value = {
      offset: 42,
      leaderEpoch: 3,
      metadata: 'ü',
      commitTimestampMs: 1_700_000_000_000,
    };
    expect(decodeOffsetValue(encodeOffsetValue(value))).toEqual(value);
    const withTopic = { ...value, topicId: 'b3f1c2d0-0000-4000-8000-000000000001' };
    expect(decodeOffsetValue(encodeOffsetValue(withTopic))).toEqual(withTopic);
    // Written before topic ids were recorded: read without one, not refused.
    expect('topicId' in JSON.parse(encodeOffsetValue(value).toString())).toBe(false);
    expect(() =>
      decodeOffsetValue(
        Buffer.from(
          '{"v":1,"offset":1,"leaderEpoch":0,"metadata":"","commitTimestampMs":0,"topicId":7}',
        ),
      ),
    ).toThrow(OffsetsRecordError);
  });

  it('damaged or foreign values are refused, never misread', () => {
    expect(() => decodeOffsetValue(Buffer.from('{'))).toThrow(OffsetsRecordError);
    expect(() => decodeOffsetValue(Buffer.from('{"v":2,"offset":1}'))).toThrow(OffsetsRecordError);
    expect(() =>
      decodeOffsetValue(
        Buffer.from('{"v":1,"offset":"1","leaderEpoch":0,"metadata":"","commitTimestampMs":0}'),
      ),
    ).toThrow(OffsetsRecordError);
    const json = JSON.parse(encodeGroupValue(group).toString()) as { members: { state: string }[] };
    json.members[0]!.state = 'dancing';
    expect(() => decodeGroupValue('g', Buffer.from(JSON.stringify(json)))).toThrow(
      OffsetsRecordError,
    );
  });
});
