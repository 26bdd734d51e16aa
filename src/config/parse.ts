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
  }
}

/** Splits `host:port` (IPv6 as `[::1]:7070`); null when malformed or the port is out of range. */
export function parseAddress(text: string): { host: string; port: number } | null {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(text.trim());
  if (match === null) return null;
  const port = Number(match[2]);
  if (port > 65_535) return null;
  return { host: match[1] ?? '', port };
}
