/**
 * Waits for a `brook dev` cluster to be ready: polls DescribeCluster on every node over
 * loopback, reports progress as nodes come up, and judges each round with isClusterReady.
 */
import { Admin, type ClusterDescription } from '../../client/index.js';
import type { DevClusterPlan } from './plan.js';
import { isClusterReady } from './readiness.js';

export interface WaitReadyOptions {
  readonly plan: DevClusterPlan;
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** Pause between two rounds of calls. */
  readonly pollIntervalMs: number;
  /** Deadline of one DescribeCluster call. */
  readonly callTimeoutMs: number;
  /** How often to say what is still missing. */
  readonly progressIntervalMs: number;
  /** Settles when waiting should stop early (a node ended, a signal came). */
  readonly cancelled: Promise<unknown>;
  /** Writes one progress line. */
  readonly report: (line: string) => Promise<void>;
}

export type WaitReadyOutcome =
  | {
      readonly kind: 'ready';
      readonly leaderId: number;
      /** Every node's answer, by node id. */
      readonly answers: readonly ClusterDescription[];
    }
  | { readonly kind: 'timeout'; readonly waitingFor: readonly string[] }
  | { readonly kind: 'cancelled' };

/**
 * Polls until the cluster is ready, the timeout passes, or `cancelled` settles. Each node gets
 * its own admin client bootstrapped with its address alone, so an answer is that node's view.
 */
export async function waitUntilReady(options: WaitReadyOptions): Promise<WaitReadyOutcome> {
  const { plan, report } = options;
  let isCancelled = false;
  void options.cancelled.then(() => (isCancelled = true));
  const admins = plan.nodes.map(
    (node) =>
      new Admin({ bootstrap: node.address, retries: 0, requestTimeoutMs: options.callTimeoutMs }),
  );
  const startedAtMs = Date.now();
  const deadlineMs = startedAtMs + options.timeoutMs;
  // Each round takes at least pollIntervalMs, so the deadline ends the loop before this does.
  const roundsMax = Math.ceil(options.timeoutMs / Math.max(1, options.pollIntervalMs)) + 1;
  let nextProgressAtMs = startedAtMs + options.progressIntervalMs;
  const up = new Set<number>();
  let leaderReported = -1;
  let waitingFor: readonly string[] = ['every node to answer'];
  try {
    for (let round = 0; round < roundsMax; round++) {
      const answers = await Promise.all(
        admins.map((admin) => admin.describeCluster().catch(() => null)),
      );
      if (isCancelled) return { kind: 'cancelled' };
      for (const [id, answer] of answers.entries()) {
        if (answer === null || up.has(id)) continue;
        up.add(id);
        await report(`node ${id} is up`);
      }
      const leader = answers.find((answer) => (answer?.quorum?.leaderId ?? -1) >= 0)?.quorum;
      if (leader !== undefined && leader !== null && leader.leaderId !== leaderReported) {
        leaderReported = leader.leaderId;
        await report(`node ${leader.leaderId} is the Raft leader (term ${leader.term})`);
      }
      const verdict = isClusterReady(answers);
      if (verdict.ready) {
        return { kind: 'ready', leaderId: verdict.leaderId, answers: answers.filter(isAnswer) };
      }
      waitingFor = verdict.waitingFor;
      const nowMs = Date.now();
      if (nowMs >= deadlineMs) break;
      if (nowMs >= nextProgressAtMs) {
        nextProgressAtMs += options.progressIntervalMs;
        const seconds = Math.round((nowMs - startedAtMs) / 1000);
        await report(`still waiting after ${seconds} s for ${waitingFor.join('; ')}`);
      }
      await sleepUnless(Math.min(options.pollIntervalMs, deadlineMs - nowMs), options.cancelled);
      if (isCancelled) return { kind: 'cancelled' };
    }
    return { kind: 'timeout', waitingFor };
  } finally {
    await Promise.all(admins.map((admin) => admin.close()));
  }
}

function isAnswer(answer: ClusterDescription | null): answer is ClusterDescription {
  return answer !== null;
}

/** Waits `ms`, or less when `cancelled` settles first. */
function sleepUnless(ms: number, cancelled: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    void cancelled.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
