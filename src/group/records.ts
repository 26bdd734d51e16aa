/**
 * The records of __consumer_offsets: what a coordinator writes and replays. Two kinds, each
 * keyed so that compaction keeps exactly the latest record that matters:
 * - offset commit, key (group, topic, partition): the committed offset; a tombstone deletes it;
 * - group state, key (group): the whole group (members, epochs, target assignment), written
 *   whenever it changes; a tombstone deletes the group.
 * Keys are binary and canonical (the same logical key is always the same bytes); values are
 * versioned JSON, so a later release can add fields and still read these.
 *
 * Key: [kind u8][groupId: u16 length + UTF-8] then, for an offset, [topic: u16 + UTF-8]
 * [partition u32]. Value: UTF-8 JSON with "v": 1.
 */
import type { TopicAssignment } from './assignors/index.js';
import type { GroupMember, GroupState, MemberState, OffsetAndMetadata } from './model.js';
import { partitionSet } from './topic-partitions.js';

const KIND_OFFSET = 1;
const KIND_GROUP = 2;
const VALUE_VERSION = 1;

export type RecordKey =
  | {
      readonly kind: 'offset';
      readonly groupId: string;
      readonly topic: string;
      readonly partition: number;
    }
  | { readonly kind: 'group'; readonly groupId: string };

export class OffsetsRecordError extends Error {
  override readonly name = 'OffsetsRecordError';
}

export function offsetKey(groupId: string, topic: string, partition: number): Buffer {
  const group = Buffer.from(groupId, 'utf8');
  const name = Buffer.from(topic, 'utf8');
  const key = Buffer.alloc(1 + 2 + group.length + 2 + name.length + 4);
  let at = key.writeUInt8(KIND_OFFSET, 0);
  at = key.writeUInt16BE(group.length, at);
  at += group.copy(key, at);
  at = key.writeUInt16BE(name.length, at);
  at += name.copy(key, at);
  key.writeUInt32BE(partition, at);
  return key;
}

export function groupKey(groupId: string): Buffer {
  const group = Buffer.from(groupId, 'utf8');
  const key = Buffer.alloc(1 + 2 + group.length);
  key.writeUInt8(KIND_GROUP, 0);
  key.writeUInt16BE(group.length, 1);
  group.copy(key, 3);
  return key;
}

/** The key's meaning, or null for a kind this release does not know (skipped on replay). */
export function decodeKey(key: Buffer): RecordKey | null {
  if (key.length < 3) throw new OffsetsRecordError(`key of ${key.length} bytes is too short`);
  const kind = key.readUInt8(0);
  if (kind !== KIND_OFFSET && kind !== KIND_GROUP) return null;
  const [groupId, afterGroup] = readString(key, 1);
  if (kind === KIND_GROUP) {
    if (afterGroup !== key.length) throw new OffsetsRecordError('group key has trailing bytes');
    return { kind: 'group', groupId };
  }
  const [topic, afterTopic] = readString(key, afterGroup);
  if (afterTopic + 4 !== key.length) throw new OffsetsRecordError('offset key has a bad length');
  return { kind: 'offset', groupId, topic, partition: key.readUInt32BE(afterTopic) };
}

function readString(buf: Buffer, at: number): [string, number] {
  if (at + 2 > buf.length) throw new OffsetsRecordError('key ends inside a length');
  const length = buf.readUInt16BE(at);
  const end = at + 2 + length;
  if (end > buf.length) throw new OffsetsRecordError('key ends inside a string');
  return [buf.toString('utf8', at + 2, end), end];
}

export function encodeOffsetValue(value: OffsetAndMetadata): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: VALUE_VERSION,
      offset: value.offset,
      leaderEpoch: value.leaderEpoch,
      metadata: value.metadata,
      commitTimestampMs: value.commitTimestampMs,
      // Optional, so a release that does not know it reads the rest as before.
      ...(value.topicId === undefined ? {} : { topicId: value.topicId }),
    }),
    'utf8',
  );
}

export function decodeOffsetValue(value: Buffer): OffsetAndMetadata {
  const json = parseObject(value);
  return {
    offset: int(json, 'offset'),
    leaderEpoch: int(json, 'leaderEpoch'),
    metadata: str(json, 'metadata'),
    commitTimestampMs: int(json, 'commitTimestampMs'),
    ...(json['topicId'] === undefined ? {} : { topicId: str(json, 'topicId') }),
  };
}

type WireAssignment = [string, number[]][];

interface WireMember {
  id: string;
  clientId: string;
  host: string;
  epoch: number;
  previousEpoch: number;
  state: MemberState;
  topicNames: string[];
  topicRegex: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  assigned: WireAssignment;
  pendingRevocation: WireAssignment;
}

/** The group state as canonical JSON: equal states give equal bytes (members sorted by id). */
export function encodeGroupValue(group: GroupState): Buffer {
  const members: WireMember[] = [...group.members.values()]
    .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
    .map((m) => ({
      id: m.memberId,
      clientId: m.clientId,
      host: m.host,
      epoch: m.memberEpoch,
      previousEpoch: m.previousMemberEpoch,
      state: m.state,
      topicNames: [...m.subscription.topicNames],
      topicRegex: m.subscription.topicRegex,
      sessionTimeoutMs: m.sessionTimeoutMs,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      assigned: toWire(m.assigned),
      pendingRevocation: toWire(m.pendingRevocation),
    }));
  const target = [...group.target]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([memberId, assignment]) => [memberId, toWire(assignment)]);
  return Buffer.from(
    JSON.stringify({
      v: VALUE_VERSION,
      groupEpoch: group.groupEpoch,
      assignmentEpoch: group.assignmentEpoch,
      assignor: group.assignor,
      subscribedTopics: [...group.subscribedTopics].sort(([a], [b]) => (a < b ? -1 : 1)),
      members,
      target,
    }),
    'utf8',
  );
}

export function decodeGroupValue(groupId: string, value: Buffer): GroupState {
  const json = parseObject(value);
  const members = new Map<string, GroupMember>();
  for (const raw of array(json, 'members')) {
    const m = asObject(raw, 'members[]');
    const state = str(m, 'state');
    if (
      state !== 'stable' &&
      state !== 'unrevoked_partitions' &&
      state !== 'unreleased_partitions'
    ) {
      throw new OffsetsRecordError(`member state "${state}" is unknown`);
    }
    const member: GroupMember = {
      memberId: str(m, 'id'),
      clientId: str(m, 'clientId'),
      host: str(m, 'host'),
      memberEpoch: int(m, 'epoch'),
      previousMemberEpoch: int(m, 'previousEpoch'),
      state,
      subscription: {
        topicNames: array(m, 'topicNames').map((t) => String(t)),
        topicRegex: str(m, 'topicRegex'),
      },
      sessionTimeoutMs: int(m, 'sessionTimeoutMs'),
      rebalanceTimeoutMs: int(m, 'rebalanceTimeoutMs'),
      assigned: fromWire(m['assigned']),
      pendingRevocation: fromWire(m['pendingRevocation']),
    };
    members.set(member.memberId, member);
  }
  const target = new Map<string, TopicAssignment>();
  for (const raw of array(json, 'target')) {
    if (!Array.isArray(raw) || typeof raw[0] !== 'string') {
      throw new OffsetsRecordError('target entry is not [memberId, assignment]');
    }
    target.set(raw[0], fromWire(raw[1]));
  }
  const subscribedTopics = new Map<string, number>();
  for (const raw of array(json, 'subscribedTopics')) {
    if (!Array.isArray(raw) || typeof raw[0] !== 'string' || !Number.isSafeInteger(raw[1])) {
      throw new OffsetsRecordError('subscribedTopics entry is not [topic, partitions]');
    }
    subscribedTopics.set(raw[0], raw[1] as number);
  }
  return {
    groupId,
    groupEpoch: int(json, 'groupEpoch'),
    assignmentEpoch: int(json, 'assignmentEpoch'),
    assignor: str(json, 'assignor'),
    subscribedTopics,
    members,
    target,
  };
}

function toWire(a: TopicAssignment): WireAssignment {
  return [...a].map(([topic, partitions]) => [topic, [...partitions]]);
}

function fromWire(raw: unknown): TopicAssignment {
  if (!Array.isArray(raw)) throw new OffsetsRecordError('an assignment is not a list');
  return partitionSet(
    raw.map((entry: unknown) => {
      if (
        !Array.isArray(entry) ||
        typeof entry[0] !== 'string' ||
        !Array.isArray(entry[1]) ||
        !(entry[1] as unknown[]).every((p) => Number.isSafeInteger(p))
      ) {
        throw new OffsetsRecordError('an assignment entry is not [topic, partitions]');
      }
      return [entry[0], entry[1] as number[]] as const;
    }),
  );
}

function parseObject(value: Buffer): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (error) {
    throw new OffsetsRecordError(`value is not JSON: ${(error as Error).message}`);
  }
  const object = asObject(json, 'value');
  if (object['v'] !== VALUE_VERSION) {
    throw new OffsetsRecordError(`value version ${String(object['v'])} is not ${VALUE_VERSION}`);
  }
  return object;
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OffsetsRecordError(`${what} is not an object`);
  }
  return value as Record<string, unknown>;
}

function int(json: Record<string, unknown>, field: string): number {
  const value = json[field];
  if (!Number.isSafeInteger(value)) throw new OffsetsRecordError(`${field} is not an integer`);
  return value as number;
}

function str(json: Record<string, unknown>, field: string): string {
  const value = json[field];
  if (typeof value !== 'string') throw new OffsetsRecordError(`${field} is not a string`);
  return value;
}

function array(json: Record<string, unknown>, field: string): unknown[] {
  const value = json[field];
  if (!Array.isArray(value)) throw new OffsetsRecordError(`${field} is not a list`);
  return value;
}
