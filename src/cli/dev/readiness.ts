/**
 * When a `brook dev` cluster counts as ready, as a pure function of the nodes' DescribeCluster
 * answers, so the rule can be tightened in one place as the cluster grows up.
 */
import type { ClusterDescription } from '../../client/index.js';
import { assert } from '../../util/assert.js';

/** The verdict on one round of answers. */
export type Readiness =
  | { readonly ready: true; readonly leaderId: number }
  | {
      readonly ready: false;
      /** What is missing, one short phrase each, e.g. `node 2 to answer`; never empty. */
      readonly waitingFor: readonly string[];
    };

/**
 * Whether the cluster is ready. `answers[i]` is node i's latest DescribeCluster answer, null
 * while it does not answer; `answers.length` is the node count. Ready when:
 *
 * - every node answers;
 * - every node knows a Raft leader, and they all name the same one;
 * - every node is registered as a broker: listed in the `brokers` of at least one answer. Today
 *   each node runs its own local metadata controller, which lists only the node itself; once
 *   the metadata is on Raft, every answer lists every registered broker, and this rule can
 *   become "every answer lists all N brokers";
 * - no answer lists a fenced broker.
 */
export function isClusterReady(answers: readonly (ClusterDescription | null)[]): Readiness {
  assert(answers.length > 0, 'a dev cluster has at least one node');
  const waitingFor: string[] = [];
  const silent = idsWhere(answers, (answer) => answer === null);
  if (silent.length > 0) waitingFor.push(`${nodes(silent)} to answer`);

  const answered = answers.flatMap((answer, id) => (answer === null ? [] : [{ id, answer }]));
  const leaderless = answered
    .filter(({ answer }) => answer.quorum === null || answer.quorum.leaderId < 0)
    .map(({ id }) => id);
  if (leaderless.length > 0) waitingFor.push(`${nodes(leaderless)} to know a Raft leader`);
  const leaders = new Set(
    answered.flatMap(({ answer }) =>
      answer.quorum === null || answer.quorum.leaderId < 0 ? [] : [answer.quorum.leaderId],
    ),
  );
  if (leaders.size > 1) {
    waitingFor.push(`the nodes to agree on one Raft leader (they name ${[...leaders].join(', ')})`);
  }

  const registered = new Set(answered.flatMap(({ answer }) => answer.brokers.map((b) => b.nodeId)));
  const unregistered = answered.filter(({ id }) => !registered.has(id)).map(({ id }) => id);
  if (unregistered.length > 0) waitingFor.push(`${nodes(unregistered)} to register as a broker`);
  const fenced = new Set(
    answered.flatMap(({ answer }) => answer.brokers.filter((b) => b.fenced).map((b) => b.nodeId)),
  );
  if (fenced.size > 0) {
    waitingFor.push(
      `${fenced.size === 1 ? 'broker' : 'brokers'} ${[...fenced].join(', ')} to be unfenced`,
    );
  }

  if (waitingFor.length > 0) return { ready: false, waitingFor };
  const [leaderId] = leaders;
  assert(leaderId !== undefined, 'every node answered and knows the one Raft leader');
  return { ready: true, leaderId };
}

function idsWhere<T>(items: readonly T[], predicate: (item: T) => boolean): number[] {
  return items.flatMap((item, id) => (predicate(item) ? [id] : []));
}

/** `node 2` or `nodes 1, 2`. */
function nodes(ids: readonly number[]): string {
  return `${ids.length === 1 ? 'node' : 'nodes'} ${ids.join(', ')}`;
}
