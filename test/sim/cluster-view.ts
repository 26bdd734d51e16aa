/**
 * What the workload and the nemesis may see of the cluster: the ids, the live cores, and who
 * leads. A narrow view keeps them from reaching into node internals the real world would hide.
 */
import type { RaftCore } from '../../src/raft/core.js';
import type { NodeId } from '../../src/raft/types.js';

export interface ClusterView {
  readonly nodeIds: readonly NodeId[];
  /** The node's core, or null while it is crashed. */
  coreOf(id: NodeId): RaftCore | null;
  /** The live node leading the highest term, or NO_NODE. */
  leader(): NodeId;
}

/** Peers reach a simulated node at this address; only its uniqueness matters. */
export function addressOf(id: NodeId): string {
  return `node-${id}.sim:7070`;
}
