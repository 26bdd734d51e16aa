/**
 * Names of everything a fault network creates, all derived from its run id, so that a crashed
 * run's leftovers can be recognised by name alone (cleanupStale) and two runs never collide.
 * Linux caps interface names at 15 bytes (IFNAMSIZ - 1), hence the terse `bf<runId>...` links;
 * namespaces have no such cap and get a readable `brookf-<runId>-<node>`.
 */

/** Every namespace of ours starts with this. */
export const NAMESPACE_PREFIX = 'brookf-';

/** Every interface of ours starts with this. */
export const LINK_PREFIX = 'bf';

/** Linux's limit on an interface name, in bytes. */
const LINK_NAME_BYTES_MAX = 15;

/** Run ids are short lowercase hex, which keeps interface names under the limit. */
const RUN_ID = /^[0-9a-f]{1,8}$/;

/** The most nodes one network holds: addresses run from .10 and names must stay short. */
export const NODES_MAX = 64;

const NAMESPACE_NAME = /^brookf-([0-9a-f]{1,8})-(\d+)$/;
/** `bf<runId>b` (the bridge), `bf<runId>p<i>` (a bridge port) or `bf<runId>v<i>` (a node's end). */
const LINK_NAME = /^bf([0-9a-f]{1,8})(?:b|[pv]\d+)$/;

export function isRunId(runId: string): boolean {
  return RUN_ID.test(runId);
}

/** The interface and namespace names of one run. */
export class NetNames {
  constructor(readonly runId: string) {
    if (!isRunId(runId)) throw new RangeError(`run id must be 1-8 lowercase hex digits: ${runId}`);
  }

  /** The bridge in the root namespace that every node's veth is plugged into. */
  get bridge(): string {
    return this.link(`${LINK_PREFIX}${this.runId}b`);
  }

  /** Node `node`'s namespace. */
  namespace(node: number): string {
    return `${NAMESPACE_PREFIX}${this.runId}-${node}`;
  }

  /** The veth end inside node `node`'s namespace: its only interface besides lo. */
  nodeLink(node: number): string {
    return this.link(`${LINK_PREFIX}${this.runId}v${node}`);
  }

  /** The veth end in the root namespace, a port of the bridge. */
  bridgePort(node: number): string {
    return this.link(`${LINK_PREFIX}${this.runId}p${node}`);
  }

  private link(name: string): string {
    if (Buffer.byteLength(name) > LINK_NAME_BYTES_MAX) {
      throw new RangeError(`interface name ${name} is longer than ${LINK_NAME_BYTES_MAX} bytes`);
    }
    return name;
  }
}

/** The run id in one of our namespace names, or null for anybody else's namespace. */
export function runIdOfNamespace(name: string): string | null {
  return NAMESPACE_NAME.exec(name)?.[1] ?? null;
}

/** The run id in one of our interface names, or null for anybody else's interface. */
export function runIdOfLink(name: string): string | null {
  return LINK_NAME.exec(name)?.[1] ?? null;
}
