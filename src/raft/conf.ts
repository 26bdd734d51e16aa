/**
 * Membership: the encoding of conf-change entries and the pure rules for applying one
 * single-server change (Ongaro's thesis §4.1). A change takes effect on every node as soon as
 * its entry is in that node's log, committed or not; truncating the entry reverts it.
 */
import { assert } from '../util/assert.js';
import { ConfChangeType, type ConfChange, type ConfState, type NodeId } from './types.js';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });
const CHANGE_TYPES = new Set<string>(Object.values(ConfChangeType));

export function encodeConfChange(change: ConfChange): Uint8Array {
  return textEncoder.encode(
    JSON.stringify({ type: change.type, nodeId: change.nodeId, address: change.address }),
  );
}

/** Decodes a conf-change entry. Entries come from our own log, so malformed data is a bug. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const value: unknown = JSON.parse(textDecoder.decode(data));
  assert(typeof value === 'object' && value !== null, 'conf change is not an object');
  const { type, nodeId, address } = value as Record<string, unknown>;
  assert(
    typeof type === 'string' && CHANGE_TYPES.has(type),
    `bad conf change type ${String(type)}`,
  );
  assert(typeof nodeId === 'number' && Number.isInteger(nodeId) && nodeId >= 0, 'bad node id');
  assert(typeof address === 'string', 'bad conf change address');
  return { type: type as ConfChangeType, nodeId, address };
}

export function isVoter(conf: ConfState, id: NodeId): boolean {
  return conf.voters.some((member) => member.id === id);
}

export function isObserver(conf: ConfState, id: NodeId): boolean {
  return conf.observers.some((member) => member.id === id);
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return isVoter(conf, id) || isObserver(conf, id);
}

/** Every member but `self`, voters first: the peers a leader replicates to. */
export function peersOf(conf: ConfState, self: NodeId): NodeId[] {
  return [...conf.voters, ...conf.observers].map((m) => m.id).filter((id) => id !== self);
}

/** Why `change` cannot apply to `conf`, or null when it can. */
export function confChangeProblem(conf: ConfState, change: ConfChange): string | null {
  const { nodeId } = change;
  switch (change.type) {
    case ConfChangeType.ADD_VOTER:
      if (isMember(conf, nodeId)) return `node ${nodeId} is already a member; promote an observer`;
      return change.address === '' ? 'adding a member needs its address' : null;
    case ConfChangeType.ADD_OBSERVER:
      if (isMember(conf, nodeId)) return `node ${nodeId} is already a member`;
      return change.address === '' ? 'adding a member needs its address' : null;
    case ConfChangeType.PROMOTE_OBSERVER:
      return isObserver(conf, nodeId) ? null : `node ${nodeId} is not an observer`;
    case ConfChangeType.REMOVE_VOTER:
      if (!isVoter(conf, nodeId)) return `node ${nodeId} is not a voter`;
      return conf.voters.length === 1 ? 'cannot remove the last voter' : null;
    case ConfChangeType.REMOVE_OBSERVER:
      return isObserver(conf, nodeId) ? null : `node ${nodeId} is not an observer`;
  }
}

/** The membership after `change`. Asserts the change is valid (validated when proposed). */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  const problem = confChangeProblem(conf, change);
  assert(problem === null, `invalid conf change in the log: ${problem}`);
  const { nodeId } = change;
  const without = (members: ConfState['voters']) => members.filter((m) => m.id !== nodeId);
  switch (change.type) {
    case ConfChangeType.ADD_VOTER:
      return {
        voters: [...conf.voters, { id: nodeId, address: change.address }],
        observers: conf.observers,
      };
    case ConfChangeType.ADD_OBSERVER:
      return {
        voters: conf.voters,
        observers: [...conf.observers, { id: nodeId, address: change.address }],
      };
    case ConfChangeType.PROMOTE_OBSERVER: {
      const member = conf.observers.find((m) => m.id === nodeId);
      assert(member !== undefined, 'promoted observer exists');
      return { voters: [...conf.voters, member], observers: without(conf.observers) };
    }
    case ConfChangeType.REMOVE_VOTER:
      return { voters: without(conf.voters), observers: conf.observers };
    case ConfChangeType.REMOVE_OBSERVER:
      return { voters: conf.voters, observers: without(conf.observers) };
  }
}

export function sameConf(a: ConfState, b: ConfState): boolean {
  const key = (conf: ConfState) =>
    JSON.stringify([
      conf.voters.map((m) => [m.id, m.address]),
      conf.observers.map((m) => [m.id, m.address]),
    ]);
  return a === b || key(a) === key(b);
}
