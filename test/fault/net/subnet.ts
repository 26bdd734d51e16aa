/**
 * The IPv4 addresses of a fault network: one /24 out of 10.213.0.0/16, the root namespace (the
 * clients) at .1 on the bridge, node i at .(10 + i). Pure arithmetic; host-checks.ts decides
 * which /24 is free on this machine.
 */
import { NODES_MAX } from './names.js';

/** Networks tried, in order: 10.213.<index>.0/24 for these indexes. */
export const SUBNET_INDEX_MAX = 15;

const CLIENT_HOST = 1;
const FIRST_NODE_HOST = 10;

/** An IPv4 prefix as a 32-bit number and a length. */
export interface Ipv4Prefix {
  readonly base: number;
  readonly length: number;
}

/** One fault network's /24. */
export class Subnet {
  constructor(readonly index: number) {
    if (!Number.isInteger(index) || index < 0 || index > 255) {
      throw new RangeError(`subnet index must be an integer in [0, 255], got ${index}`);
    }
  }

  /** `10.213.<index>.0/24`. */
  get cidr(): string {
    return `${this.network}/24`;
  }

  get prefix(): Ipv4Prefix {
    return { base: parseIpv4(this.network), length: 24 };
  }

  /** The root namespace's address on the bridge: where clients' packets come from. */
  get clientAddress(): string {
    return this.host(CLIENT_HOST);
  }

  /** Node `node`'s address, in its own namespace. */
  nodeAddress(node: number): string {
    if (!Number.isInteger(node) || node < 0 || node >= NODES_MAX) {
      throw new RangeError(`node must be an integer in [0, ${NODES_MAX}), got ${node}`);
    }
    return this.host(FIRST_NODE_HOST + node);
  }

  private get network(): string {
    return this.host(0);
  }

  private host(last: number): string {
    return `10.213.${this.index}.${last}`;
  }
}

/** `a.b.c.d` as an unsigned 32-bit number; throws on anything else. */
export function parseIpv4(address: string): number {
  const parts = address.split('.');
  if (parts.length !== 4) throw new RangeError(`not an IPv4 address: ${address}`);
  let value = 0;
  for (const part of parts) {
    const octet = Number(part);
    if (!/^\d{1,3}$/.test(part) || octet > 255) {
      throw new RangeError(`not an IPv4 address: ${address}`);
    }
    value = value * 256 + octet;
  }
  return value;
}

/** `a.b.c.d/len` or a bare `a.b.c.d` (a /32), as `ip -j route` prints destinations. */
export function parsePrefix(text: string): Ipv4Prefix {
  const [address = '', lengthText] = text.split('/');
  const length = lengthText === undefined ? 32 : Number(lengthText);
  if (!Number.isInteger(length) || length < 0 || length > 32) {
    throw new RangeError(`not an IPv4 prefix: ${text}`);
  }
  return { base: parseIpv4(address), length };
}

/** Whether two prefixes share an address: they agree on the shorter one's bits. */
export function overlaps(a: Ipv4Prefix, b: Ipv4Prefix): boolean {
  const length = Math.min(a.length, b.length);
  if (length === 0) return true;
  const mask = (0xffffffff << (32 - length)) >>> 0;
  return (a.base & mask) >>> 0 === (b.base & mask) >>> 0;
}
