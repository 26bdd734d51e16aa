import type { ConfigDefinition } from './definitions.js';

/** Parses and checks one config value; returns an error sentence instead of throwing. */
export function parseConfigValue(
  definition: ConfigDefinition,
  text: string,
): { ok: true; value: string | number | boolean } | { ok: false; error: string } {
  const type = definition.type;
  switch (type.kind) {
    case 'string':
      return { ok: true, value: text };
    case 'bool': {
      const lower = text.trim().toLowerCase();
      if (lower === 'true' || lower === '1' || lower === 'yes') return { ok: true, value: true };
      if (lower === 'false' || lower === '0' || lower === 'no') return { ok: true, value: false };
      return { ok: false, error: `${definition.name} must be true or false, not "${text}"` };
    }
    case 'int': {
      const trimmed = text.trim();
      if (!/^-?\d+$/.test(trimmed)) {
        return { ok: false, error: `${definition.name} must be a whole number, not "${text}"` };
      }
      const value = Number(trimmed);
      if (!Number.isSafeInteger(value) || value < type.min || value > type.max) {
        return {
          ok: false,
          error: `${definition.name} must be between ${type.min} and ${type.max}, not ${trimmed}`,
        };
      }
      return { ok: true, value };
    }
    case 'number': {
      const trimmed = text.trim();
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) {
        return { ok: false, error: `${definition.name} must be a number, not "${text}"` };
      }
      const value = Number(trimmed);
      if (!Number.isFinite(value) || value < type.min || value > type.max) {
        return {
          ok: false,
          error: `${definition.name} must be between ${type.min} and ${type.max}, not ${trimmed}`,
        };
      }
      return { ok: true, value };
    }
    case 'enum':
      if (!type.values.includes(text)) {
        return {
          ok: false,
          error: `${definition.name} must be one of ${type.values.join(', ')}, not "${text}"`,
        };
      }
      return { ok: true, value: text };
    case 'address': {
      const parsed = parseAddress(text);
      if (parsed === null) {
        return { ok: false, error: `${definition.name} must be host:port, not "${text}"` };
      }
      return { ok: true, value: text };
    }
    case 'address-or-empty': {
      if (text.trim() === '') return { ok: true, value: '' };
      if (parseAddress(text) === null) {
        return { ok: false, error: `${definition.name} must be host:port or empty, not "${text}"` };
      }
      return { ok: true, value: text.trim() };
    }
    case 'voters': {
      const parsed = parseVoters(text);
      if (!parsed.ok) return { ok: false, error: `${definition.name}: ${parsed.error}` };
      return { ok: true, value: text };
    }
  }
}

/** One Raft voter as configured: node id and the host:port its peers dial. */
export interface VoterAddress {
  readonly id: number;
  readonly address: string;
}

/** Largest node id (node.id is an int32). */
const NODE_ID_MAX = 2_147_483_647;
/** Voters one list may name; Raft quorums are 3 or 5, this only bounds the parse. */
const VOTERS_MAX = 64;

/**
 * Parses Kafka's `controller.quorum.voters` form, `id@host:port,id@host:port,...`, into voters
 * in the order given. Empty text is an empty list. Ids must be distinct whole numbers >= 0 and
 * addresses distinct and well-formed; the error sentence names the offending item.
 */
export function parseVoters(
  text: string,
): { ok: true; voters: VoterAddress[] } | { ok: false; error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, voters: [] };
  const items = trimmed.split(',');
  if (items.length > VOTERS_MAX) {
    return { ok: false, error: `names ${items.length} voters; at most ${VOTERS_MAX}` };
  }
  const voters: VoterAddress[] = [];
  for (const raw of items) {
    const item = raw.trim();
    const match = /^(\d+)@(.+)$/.exec(item);
    if (match === null) {
      return { ok: false, error: `"${item}" is not id@host:port (e.g. 1@10.0.0.1:7070)` };
    }
    const id = Number(match[1]);
    const address = match[2] ?? '';
    if (!Number.isSafeInteger(id) || id > NODE_ID_MAX) {
      return { ok: false, error: `"${item}": the node id must be 0 to ${NODE_ID_MAX}` };
    }
    const parsed = parseAddress(address);
    if (parsed === null) {
      return { ok: false, error: `"${item}": "${address}" is not host:port` };
    }
    if (parsed.port === 0) {
      return { ok: false, error: `"${item}": port 0 cannot be dialled; give the real port` };
    }
    if (voters.some((v) => v.id === id)) {
      return { ok: false, error: `node id ${id} appears twice; each voter needs its own id` };
    }
    if (voters.some((v) => v.address === address)) {
      return { ok: false, error: `address ${address} appears twice; each voter needs its own` };
    }
    voters.push({ id, address });
  }
  return { ok: true, voters };
}

/** Splits `host:port` (IPv6 as `[::1]:7070`); null when malformed or the port is out of range. */
export function parseAddress(text: string): { host: string; port: number } | null {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(text.trim());
  if (match === null) return null;
  const port = Number(match[2]);
  if (port > 65_535) return null;
  return { host: match[1] ?? '', port };
}
