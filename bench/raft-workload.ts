/**
 * The Raft benchmark's measured work.
 *
 * Throughput: `inflight` workers each keep one RaftPeer.Propose call of `entriesPerProposal`
 * entries in flight, back to back, for a fixed time. An entry counts once its call answered,
 * which the node does after the entries are committed and applied on it; latency is the call's
 * round trip, into an HDR histogram. The same loop measures the raw gRPC yardstick (a server
 * that answers Propose at once), so the two differ only in what the server does.
 *
 * Failover: a light load (one 100 B entry per call, about 100 calls/s, each call after the
 * last answered) runs against the leader; the leader is SIGKILLed; the clock runs from the
 * signal to the first call committed in a higher term, i.e. through the new leader. The load
 * follows NOT_CONTROLLER hints and moves on from dead nodes, as a client would.
 */
import type hdr from 'hdr-histogram-js';
import { formatInt, MB } from './measure.js';
import { errorCodeOf, leaderHintOf, type RaftClients } from './raft-client.js';
import { sleep, type RaftCluster } from './raft-cluster.js';
import {
  LATENCY_US_MAX,
  newLatencyHistogram,
  summarize,
  type LatencySummary,
} from './workloads.js';

/** A Propose call that takes longer than this counts as failed. */
const PROPOSE_DEADLINE_MS = 10_000;
/** After this many failed calls a throughput phase gives up. */
const FAILED_CALLS_MAX = 100;
/** The light load's pause after an answered call, and after a failed one. */
const LIGHT_LOAD_PAUSE_MS = 10;
const LIGHT_LOAD_RETRY_MS = 2;
/** A light-load call's deadline: short, so a call lost with the killed leader does not stall. */
const LIGHT_LOAD_DEADLINE_MS = 500;

export interface ThroughputSettings {
  readonly entryBytes: number;
  readonly entriesPerProposal: number;
  readonly inflight: number;
  readonly seconds: number;
  /** Wall-clock limit (Date.now()); the phase stops early there. */
  readonly deadlineMs: number;
  readonly label: string;
}

export interface ThroughputResult {
  readonly entryBytes: number;
  /** Entries whose Propose call answered OK. */
  readonly entries: number;
  readonly proposals: number;
  readonly seconds: number;
  readonly entriesPerSec: number;
  /** entries × entryBytes / seconds, in MB (10^6 B) per second. */
  readonly mbPerSec: number;
  readonly latency: LatencySummary;
  readonly failedProposals: number;
  readonly firstError: string | null;
  /** False when the time limit cut the phase short. */
  readonly isComplete: boolean;
}

/** Where proposals go: the current target, and where to go after a NOT_CONTROLLER answer. */
export interface ProposeTarget {
  address(): string | null;
  redirect(leaderHint: number): void;
}

/**
 * Runs the pipelined proposal loop for `settings.seconds` (after a warm-up of a fifth of that,
 * at most 2 s, that is not counted: the first calls pay for connection set-up and JIT).
 */
export async function measureThroughput(
  clients: RaftClients,
  target: ProposeTarget,
  pool: readonly Buffer[],
  settings: ThroughputSettings,
): Promise<ThroughputResult> {
  const warmupSeconds = Math.min(2, settings.seconds / 5);
  const warmup = await runLoop(clients, target, pool, {
    ...settings,
    seconds: warmupSeconds,
    label: `${settings.label} (warm-up)`,
  });
  warmup.histogram.destroy();
  const run = await runLoop(clients, target, pool, settings);
  const latency = summarize(run.histogram);
  run.histogram.destroy();
  const seconds = Math.max(run.seconds, 1e-9);
  return {
    entryBytes: settings.entryBytes,
    entries: run.entries,
    proposals: run.proposals,
    seconds: run.seconds,
    entriesPerSec: Math.round(run.entries / seconds),
    mbPerSec: Math.round(((run.entries * settings.entryBytes) / MB / seconds) * 100) / 100,
    latency,
    failedProposals: run.failed,
    firstError: run.firstError,
    isComplete: run.isComplete,
  };
}

interface LoopResult {
  entries: number;
  proposals: number;
  failed: number;
  firstError: string | null;
  seconds: number;
  isComplete: boolean;
  histogram: hdr.Histogram;
}

async function runLoop(
  clients: RaftClients,
  target: ProposeTarget,
  pool: readonly Buffer[],
  settings: ThroughputSettings,
): Promise<LoopResult> {
  const result: LoopResult = {
    entries: 0,
    proposals: 0,
    failed: 0,
    firstError: null,
    seconds: 0,
    isComplete: true,
    histogram: newLatencyHistogram(),
  };
  const startMs = performance.now();
  const endMs = startMs + settings.seconds * 1_000;
  let next = 0;
  const batch = (): Buffer[] => {
    const entries: Buffer[] = [];
    for (let i = 0; i < settings.entriesPerProposal; i++) {
      entries.push(pool[next++ % pool.length]!);
    }
    return entries;
  };
  const isOver = (): boolean => {
    if (Date.now() >= settings.deadlineMs) result.isComplete = false;
    return performance.now() >= endMs || !result.isComplete || result.failed >= FAILED_CALLS_MAX;
  };
  const worker = async (): Promise<void> => {
    while (!isOver()) {
      const address = target.address();
      if (address === null) throw new Error('no node to propose to');
      const entries = batch();
      const callMs = performance.now();
      try {
        const answer = await clients.propose(address, entries, PROPOSE_DEADLINE_MS);
        const latencyUs = Math.round((performance.now() - callMs) * 1_000);
        result.histogram.recordValue(Math.min(LATENCY_US_MAX, Math.max(1, latencyUs)));
        result.entries += answer.lastIndex - answer.firstIndex + 1;
        result.proposals++;
      } catch (error) {
        result.failed++;
        result.firstError ??= `${errorCodeOf(error)}: ${(error as Error).message}`;
        target.redirect(leaderHintOf(error));
      }
    }
  };
  const progress = setInterval(() => {
    const seconds = (performance.now() - startMs) / 1_000;
    process.stderr.write(
      `${settings.label}: ${formatInt(result.entries)} entries, ` +
        `${formatInt(result.entries / Math.max(seconds, 1e-9))} entries/s\n`,
    );
  }, 1_000);
  try {
    await Promise.all(Array.from({ length: settings.inflight }, worker));
  } finally {
    clearInterval(progress);
  }
  result.seconds = (performance.now() - startMs) / 1_000;
  if (result.failed >= FAILED_CALLS_MAX) {
    throw new Error(
      `${settings.label}: ${result.failed} Propose calls failed: ${result.firstError}`,
    );
  }
  return result;
}

export interface FailoverResult {
  readonly killedNodeId: number;
  readonly newLeaderId: number;
  readonly oldTerm: number;
  readonly newTerm: number;
  /** From SIGKILL to a survivor reporting itself leader of a higher term (polled every 10 ms). */
  readonly electedMs: number | null;
  /** From SIGKILL to the first Propose committed in a higher term: the measured figure. */
  readonly committedMs: number;
  /** Light-load calls that failed meanwhile (to the dead leader, or refused by followers). */
  readonly failedCalls: number;
}

/**
 * Kills the leader under light load and times the failover; then restarts the killed node and
 * waits until it has caught up, so the next kill starts from a whole quorum.
 */
export async function measureFailover(
  cluster: RaftCluster,
  entry: Buffer,
  deadlineMs: number,
): Promise<FailoverResult> {
  // Light load means no backlog either: after a throughput phase the followers may still be
  // persisting and applying, and a node busy with a backlog reacts late to the kill.
  await cluster.waitCaughtUp(deadlineMs);
  const { node: leader, term: oldTerm } = await cluster.waitForLeader(deadlineMs);
  const load = new LightLoad(cluster, leader.nodeId, entry, deadlineMs);
  const loadDone = load.run();
  // A second of steady load first, so the kill interrupts a working pipeline.
  await sleep(1_000);
  const killMs = performance.now();
  load.watchFor(oldTerm, killMs);
  const killed = cluster.kill(leader);
  const elected = watchElection(cluster, oldTerm, killMs, deadlineMs);
  const committed = await load.committedInHigherTerm();
  load.stop();
  await Promise.all([killed, loadDone]);
  const election = await elected;
  await cluster.restart(leader);
  await cluster.waitCaughtUp(deadlineMs);
  return {
    killedNodeId: leader.nodeId,
    newLeaderId: election?.leaderId ?? -1,
    oldTerm,
    newTerm: committed.term,
    electedMs: election === null ? null : round1(election.atMs - killMs),
    committedMs: round1(committed.atMs - killMs),
    failedCalls: load.failedCalls,
  };
}

/** Sequential one-entry proposals at the leader, following it across a failover. */
class LightLoad {
  failedCalls = 0;
  private isStopped = false;
  private targetId: number;
  private oldTerm = Number.POSITIVE_INFINITY;
  private killMs = 0;
  private resolveCommitted: ((value: { atMs: number; term: number }) => void) | null = null;
  private readonly committed: Promise<{ atMs: number; term: number }>;

  constructor(
    private readonly cluster: RaftCluster,
    leaderId: number,
    private readonly entry: Buffer,
    private readonly deadlineMs: number,
  ) {
    this.targetId = leaderId;
    this.committed = new Promise((resolve) => (this.resolveCommitted = resolve));
  }

  /** From now on, resolve committedInHigherTerm() at the first commit in a term > oldTerm. */
  watchFor(oldTerm: number, killMs: number): void {
    this.oldTerm = oldTerm;
    this.killMs = killMs;
  }

  committedInHigherTerm(): Promise<{ atMs: number; term: number }> {
    return Promise.race([
      this.committed,
      sleep(Math.max(0, this.deadlineMs - Date.now())).then(() => {
        throw new Error('no proposal committed through a new leader before the deadline');
      }),
    ]);
  }

  stop(): void {
    this.isStopped = true;
  }

  async run(): Promise<void> {
    while (!this.isStopped && Date.now() < this.deadlineMs) {
      const address = this.cluster.addressOf(this.targetId);
      if (address === null) {
        this.moveOn();
        await sleep(LIGHT_LOAD_RETRY_MS);
        continue;
      }
      try {
        const answer = await this.cluster.clients.propose(
          address,
          [this.entry],
          LIGHT_LOAD_DEADLINE_MS,
        );
        const atMs = performance.now();
        if (answer.term > this.oldTerm && atMs > this.killMs) {
          this.resolveCommitted?.({ atMs, term: answer.term });
          this.resolveCommitted = null;
        }
        await sleep(LIGHT_LOAD_PAUSE_MS);
      } catch (error) {
        this.failedCalls++;
        const hint = leaderHintOf(error);
        if (hint >= 0 && hint !== this.targetId && this.cluster.addressOf(hint) !== null) {
          this.targetId = hint;
        } else {
          this.moveOn();
        }
        await sleep(LIGHT_LOAD_RETRY_MS);
      }
    }
  }

  /** The next running node after the current target, in node id order. */
  private moveOn(): void {
    const running = this.cluster.running().map((n) => n.nodeId);
    const after = running.filter((id) => id > this.targetId);
    this.targetId = after[0] ?? running[0] ?? this.targetId;
  }
}

/** Polls the running nodes until one says it leads a term above `oldTerm`; null at deadline. */
async function watchElection(
  cluster: RaftCluster,
  oldTerm: number,
  killMs: number,
  deadlineMs: number,
): Promise<{ atMs: number; leaderId: number } | null> {
  while (Date.now() < deadlineMs) {
    const statuses = await Promise.all(
      cluster
        .running()
        .map((n) => cluster.clients.status(n.process.address, 500).catch(() => null)),
    );
    const leader = statuses.find((s) => s?.role === 'RAFT_ROLE_LEADER' && s.term > oldTerm);
    if (leader != null) return { atMs: performance.now(), leaderId: leader.nodeId };
    if (performance.now() - killMs > 60_000) return null;
    await sleep(10);
  }
  return null;
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}
