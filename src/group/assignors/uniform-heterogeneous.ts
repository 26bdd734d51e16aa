/**
 * The uniform assignor when members subscribe to different topics (the case of Kafka's
 * UniformHeterogeneousAssignmentBuilder). A global floor/ceil balance is often impossible
 * here (a topic only one member subscribes to is that member's, however large), so the goal
 * is local balance: no partition could move from its owner to a subscriber of its topic that
 * has at least 2 partitions fewer.
 *
 * Three phases:
 * 1. Keep: every partition stays with its previous owner while still valid.
 * 2. Fill: unowned partitions go, one at a time, to the least loaded subscriber of their topic
 *    (ties by memberId). Topics with the fewest subscribers go first, because their partitions
 *    have the fewest places to go and the flexible topics can fill in around them.
 * 3. Balance: while some topic has an owner with at least 2 partitions more than one of the
 *    topic's subscribers, move one partition from the most loaded such owner to the least
 *    loaded subscriber, preferring a partition that phase 1 did not keep (moving it changes
 *    no previous owner). Each move lowers the sum of squared member loads by at least 2, so
 *    this ends, after at most half the starting sum of squares moves.
 *
 * Guaranteed: validity; the local balance condition above; a partition leaves its valid
 * previous owner only in phase 3, when that owner held at least 2 partitions more than a
 * subscriber of the topic at that moment; an input whose previous target is complete, valid
 * and locally balanced comes back unchanged. Not guaranteed: max - min <= 1 over members, nor
 * the least possible number of moves (phase 3 is a greedy heuristic; an exact minimum is a
 * much costlier search).
 */
import { assert } from '../../util/assert.js';
import { NO_OWNER, type GroupLayout } from './layout.js';

/** Flat partition -> member index. `previousOwners` is only read. */
export function heterogeneousOwnersOf(layout: GroupLayout, previousOwners: Int32Array): Int32Array {
  const owners = Int32Array.from(previousOwners);
  const isKept = new Uint8Array(owners.length);
  const loads = new Int32Array(layout.members.length);
  owners.forEach((m, g) => {
    if (m === NO_OWNER) return;
    isKept[g] = 1;
    loads[m] = (loads[m] ?? 0) + 1;
  });
  fillUnowned(layout, owners, loads);
  balance(layout, owners, loads, isKept);
  return owners;
}

function fillUnowned(layout: GroupLayout, owners: Int32Array, loads: Int32Array): void {
  const topicOrder = layout.topicNames.map((_, t) => t);
  topicOrder.sort((a, b) => subscriberCount(layout, a) - subscriberCount(layout, b) || a - b);
  const isLighter = (a: number, b: number): boolean =>
    (loads[a] ?? 0) < (loads[b] ?? 0) || ((loads[a] ?? 0) === (loads[b] ?? 0) && a < b);
  for (const t of topicOrder) {
    const offset = layout.partitionOffsets[t] ?? 0;
    const end = layout.partitionOffsets[t + 1] ?? 0;
    if (!owners.subarray(offset, end).includes(NO_OWNER)) continue;
    // Only the member just given a partition changes load, so one heap serves the topic.
    const heap = [...(layout.subscribers[t] ?? [])];
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i, isLighter);
    for (let g = offset; g < end; g++) {
      if (owners[g] !== NO_OWNER) continue;
      const m = heap[0];
      assert(m !== undefined, 'a laid-out topic has a subscriber');
      owners[g] = m;
      loads[m] = (loads[m] ?? 0) + 1;
      siftDown(heap, 0, isLighter);
    }
  }
}

function balance(
  layout: GroupLayout,
  owners: Int32Array,
  loads: Int32Array,
  isKept: Uint8Array,
): void {
  let movesMax = 0;
  for (const load of loads) movesMax += (load * load) / 2;
  let moveCount = 0;
  for (let hasMoved = true; hasMoved;) {
    hasMoved = false;
    for (let t = 0; t < layout.topicNames.length; t++) {
      if (subscriberCount(layout, t) < 2) continue;
      while (maybeMoveOne(layout, t, owners, loads, isKept)) {
        hasMoved = true;
        moveCount++;
        assert(moveCount <= movesMax, 'balancing does not converge');
      }
    }
  }
}

/** Moves one partition of topic t if that topic breaks the local balance; says whether it did. */
function maybeMoveOne(
  layout: GroupLayout,
  t: number,
  owners: Int32Array,
  loads: Int32Array,
  isKept: Uint8Array,
): boolean {
  const offset = layout.partitionOffsets[t] ?? 0;
  const end = layout.partitionOffsets[t + 1] ?? 0;
  let source = NO_OWNER;
  let sourceLoad = -1;
  let movable = -1;
  for (let g = offset; g < end; g++) {
    const m = owners[g] ?? NO_OWNER;
    const load = loads[m] ?? 0;
    if (load > sourceLoad || (load === sourceLoad && m < source)) {
      source = m;
      sourceLoad = load;
      movable = g;
    } else if (m === source && (isKept[movable] ?? 0) >= (isKept[g] ?? 0)) {
      movable = g; // The highest partition not kept from the previous target, else the highest.
    }
  }
  let target = NO_OWNER;
  let targetLoad = Infinity;
  for (const m of layout.subscribers[t] ?? []) {
    const load = loads[m] ?? 0;
    if (load < targetLoad) {
      target = m;
      targetLoad = load;
    }
  }
  if (source === NO_OWNER || sourceLoad - targetLoad < 2) return false;
  owners[movable] = target;
  isKept[movable] = 0;
  loads[source] = sourceLoad - 1;
  loads[target] = targetLoad + 1;
  return true;
}

function subscriberCount(layout: GroupLayout, t: number): number {
  return layout.subscribers[t]?.length ?? 0;
}

/** Restores min-heap order at `i`, whose subtrees are heaps (after its key grew, or to heapify). */
function siftDown(heap: number[], i: number, isLess: (a: number, b: number) => boolean): void {
  for (let parent = i; ;) {
    const left = 2 * parent + 1;
    const right = left + 1;
    let least = parent;
    if (left < heap.length && isLess(heap[left] ?? 0, heap[least] ?? 0)) least = left;
    if (right < heap.length && isLess(heap[right] ?? 0, heap[least] ?? 0)) least = right;
    if (least === parent) return;
    const swapped = heap[least] ?? 0;
    heap[least] = heap[parent] ?? 0;
    heap[parent] = swapped;
    parent = least;
  }
}
