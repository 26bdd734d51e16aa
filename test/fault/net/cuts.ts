/**
 * Partition shapes as sets of directed cuts, node to node: pure, so a shape can be checked
 * without a namespace in sight. firewall.ts turns a cut into iptables rules. A cut never
 * involves the clients' address: faults act between nodes, and the history's clients see them
 * only through the nodes.
 */

/** Packets from node `from` to node `to` are dropped. */
export interface Cut {
  readonly from: number;
  readonly to: number;
}

/**
 * Nodes in different groups cannot exchange packets, in either direction. Nodes in no group
 * keep every link. Groups must be disjoint.
 */
export function partitionCuts(nodeCount: number, groups: readonly (readonly number[])[]): Cut[] {
  const groupOf = new Map<number, number>();
  groups.forEach((group, index) => {
    for (const node of group) {
      checkNode(nodeCount, node);
      if (groupOf.has(node)) throw new RangeError(`node ${node} is in two partition groups`);
      groupOf.set(node, index);
    }
  });
  const cuts: Cut[] = [];
  for (const [from, fromGroup] of groupOf) {
    for (const [to, toGroup] of groupOf) {
      if (fromGroup !== toGroup) cuts.push({ from, to });
    }
  }
  return cuts;
}

/** `node` can neither send to nor hear from any other node. */
export function isolateCuts(nodeCount: number, node: number): Cut[] {
  checkNode(nodeCount, node);
  const others = range(nodeCount).filter((other) => other !== node);
  return partitionCuts(nodeCount, [[node], others]);
}

/** Packets from `from` to `to` are dropped; those from `to` to `from` pass. */
export function oneWayCuts(nodeCount: number, from: number, to: number): Cut[] {
  checkNode(nodeCount, from);
  checkNode(nodeCount, to);
  if (from === to) throw new RangeError(`a node cannot be cut from itself (node ${from})`);
  return [{ from, to }];
}

/**
 * The nodes each node can talk to in the majorities ring (Jepsen's `majorities-ring`): the nodes
 * sit on a ring, and node i keeps its links to the nodes within ring distance r of it, r =
 * ceil(floor(n/2) / 2). So node i sees 2r + 1 nodes, itself included: a majority, since
 * 2r >= floor(n/2); and since 2r + 1 < n for n >= 4, no two nodes see the same majority. A leader
 * can then win votes that its own voters' neighbours never hear of.
 * - n = 4, r = 1: i sees i-1, i, i+1 (3 of 4); i+2 is cut.
 * - n = 5, r = 1: i sees i-1, i, i+1 (3 of 5, the smallest majority); i±2 are cut.
 * - n = 6 or 7, r = 2: i sees i-2 .. i+2 (5 nodes; the smallest majority is 4).
 * - n = 8 or 9, r = 2: i sees i-2 .. i+2 (5 nodes, the smallest majority).
 * Links stay symmetric: Jepsen's exact smallest majority for n = 6, 7 or 3 needs one-way links,
 * which would mix two faults in one.
 * With n <= 3 the ring degenerates: every node is within distance 1 of every other, so every
 * node sees all and nothing is cut.
 * Returns, for each node, the sorted nodes it can talk to.
 */
export function ringViews(nodeCount: number): number[][] {
  if (!Number.isInteger(nodeCount) || nodeCount < 1) {
    throw new RangeError(`node count must be a positive integer, got ${nodeCount}`);
  }
  const reach = Math.ceil(Math.floor(nodeCount / 2) / 2);
  return range(nodeCount).map((node) =>
    range(nodeCount).filter((other) => ringDistance(nodeCount, node, other) <= reach),
  );
}

/** Both directions of every link that ringViews() does not keep. */
export function ringCuts(nodeCount: number): Cut[] {
  const views = ringViews(nodeCount);
  const cuts: Cut[] = [];
  views.forEach((view, from) => {
    for (const to of range(nodeCount)) {
      if (!view.includes(to)) cuts.push({ from, to });
    }
  });
  return cuts;
}

/** A stable key for a cut, to keep a set of those already applied. */
export function cutKey(cut: Cut): string {
  return `${cut.from}>${cut.to}`;
}

function ringDistance(nodeCount: number, a: number, b: number): number {
  const apart = Math.abs(a - b);
  return Math.min(apart, nodeCount - apart);
}

function checkNode(nodeCount: number, node: number): void {
  if (!Number.isInteger(node) || node < 0 || node >= nodeCount) {
    throw new RangeError(`no node ${node} in a network of ${nodeCount}`);
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
