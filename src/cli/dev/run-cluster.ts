/**
 * Runs a `brook dev` cluster from its plan, from the first spawn to the last exit: starts every
 * node as a child process, waits for the cluster to be ready and prints how to use it, then
 * waits for whichever comes first of a stop signal (SIGINT, SIGTERM, SIGHUP), a node ending, or
 * the readiness timeout, and stops every node that still runs.
 *
 * Exit codes: 0 after a stop signal once every node has stopped; 130 when a second signal
 * cut the stop short with SIGKILL; 1 when a node ended before the cluster was ready, every node
 * ended, or the cluster was not ready in time (after stopping the others). A node that ends
 * once the cluster is ready is reported, with the command to start it again, and the others
 * keep running.
 */
import type { ClusterDescription } from '../../client/index.js';
import { write, type CliIo } from '../output.js';
import { loadOrCreateClusterId } from './cluster-id.js';
import { DevNodeProcess } from './node-process.js';
import { DEV_HOST, serverArgs, type DevClusterPlan, type DevNode } from './plan.js';
import { checkPortsFree } from './ports.js';
import {
  brookCommand,
  describeExit,
  displayPath,
  exampleReplicationFactor,
  readyText,
  serverErrorOf,
  shellWord,
  type NodeExit,
} from './report.js';
import { waitUntilReady } from './wait-ready.js';

export interface DevRunOptions {
  readonly plan: DevClusterPlan;
  /** Absolute path of bin/brook; every node runs `node <brookBin> server ...`. */
  readonly brookBin: string;
  readonly io: CliIo;
  /** The directory paths are shown relative to. */
  readonly cwd: string;
  /** How long to wait for the cluster to be ready. */
  readonly readyTimeoutMs: number;
}

/** How long the nodes may take to stop after SIGTERM before they are SIGKILLed. A little over
 * a node's own shutdown.timeout.ms (30 s), so a node's own bound fires first. */
const STOP_TIMEOUT_MS = 35_000;
/** How long to wait for exits after SIGKILL. */
const KILL_WAIT_MS = 5_000;
const POLL_INTERVAL_MS = 250;
const CALL_TIMEOUT_MS = 1_000;
const PROGRESS_INTERVAL_MS = 5_000;
/** Lines of a failed node's log to show. */
const LOG_TAIL_LINES = 20;
/**
 * A repeated stop signal this soon after the first is the same Ctrl-C delivered twice: by the
 * terminal to the process group, and again by a parent that forwards it (`npm start`).
 */
const DUPLICATE_SIGNAL_WINDOW_MS = 500;
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Why the cluster is being stopped. */
type Ending =
  | { readonly kind: 'signal'; readonly signal: NodeJS.Signals }
  | { readonly kind: 'node-exit'; readonly node: DevNodeProcess; readonly exit: NodeExit }
  | { readonly kind: 'timeout'; readonly waitingFor: readonly string[] };

/**
 * Runs the cluster until it is stopped; resolves the exit code. Rejects, before starting
 * anything, when a port is taken or the cluster-id file is unusable. Installs handlers for the
 * stop signals on `process` while it runs, and SIGKILLs any node still running if the process
 * exits before the nodes have stopped.
 */
export async function runDevCluster(options: DevRunOptions): Promise<number> {
  const { plan, io, cwd } = options;
  const say = (line: string): Promise<void> => write(io.stderr, `${line}\n`);
  await checkPortsFree(
    DEV_HOST,
    plan.nodes.map((node) => node.port),
  );
  const { clusterId, created } = await loadOrCreateClusterId(plan.dataDir, plan.clusterIdFile);
  const run = new ClusterRun(plan, say);
  run.install();
  try {
    const idNote = created ? `new cluster id ${clusterId}` : `cluster id ${clusterId}`;
    await say(
      `starting ${plan.nodes.length} ${plan.nodes.length === 1 ? 'node' : 'nodes'} in ${displayPath(plan.dataDir, cwd)} (${idNote}, Raft voters ${plan.voterIds.join(',')})…`,
    );
    for (const node of plan.nodes) {
      if (run.ending !== null) break;
      const child = run.start(node, serverArgs(options.brookBin, plan, node, clusterId), io.env);
      await say(
        child.pid === undefined
          ? `node ${node.id} could not be started`
          : `node ${node.id} started: pid ${child.pid}, ${node.address}, log ${displayPath(node.logFile, cwd)}`,
      );
    }
    const waited = await waitUntilReady({
      plan,
      timeoutMs: options.readyTimeoutMs,
      pollIntervalMs: POLL_INTERVAL_MS,
      callTimeoutMs: CALL_TIMEOUT_MS,
      progressIntervalMs: PROGRESS_INTERVAL_MS,
      cancelled: run.ended,
      report: say,
    });
    // A node may have ended while the last round was being reported: then there is no banner.
    if (waited.kind === 'ready' && run.ending === null) {
      run.isReady = true;
      await write(io.stdout, readyTextOf(options, clusterId, waited.leaderId, waited.answers));
    } else if (waited.kind === 'timeout') {
      run.end({ kind: 'timeout', waitingFor: waited.waitingFor });
    }
    return await run.finish(await run.ended, options);
  } finally {
    // On the way out by an exception too: nothing this run started may outlive it.
    await run.stopAll();
    run.uninstall();
  }
}

function readyTextOf(
  options: DevRunOptions,
  clusterId: string,
  leaderId: number,
  answers: readonly ClusterDescription[],
): string {
  return readyText({
    plan: options.plan,
    clusterId,
    leaderId,
    replicationFactor: exampleReplicationFactor(answers),
    brookCommand: brookCommand(options.brookBin, options.cwd),
    cwd: options.cwd,
  });
}

/** The state of one run: its node processes, why it is ending, and the signal handling. */
class ClusterRun {
  readonly nodes: DevNodeProcess[] = [];
  ending: Ending | null = null;
  isReady = false;
  /** Settles with the first ending. */
  readonly ended: Promise<Ending>;
  private resolveEnded: (ending: Ending) => void = () => undefined;
  private firstSignalAtMs: number | null = null;
  /** Set by a second stop signal: kill every node now instead of waiting. */
  private isForced = false;
  private resolveForced: () => void = () => undefined;
  private readonly forced: Promise<void>;
  private readonly onSignal = (signal: NodeJS.Signals): void => this.handleSignal(signal);
  private readonly onProcessExit = (): void => {
    for (const node of this.nodes) node.signal('SIGKILL');
  };

  constructor(
    private readonly plan: DevClusterPlan,
    private readonly say: (line: string) => Promise<void>,
  ) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.forced = new Promise((resolve) => (this.resolveForced = resolve));
  }

  install(): void {
    for (const signal of STOP_SIGNALS) process.on(signal, this.onSignal);
    process.once('exit', this.onProcessExit);
  }

  uninstall(): void {
    for (const signal of STOP_SIGNALS) process.off(signal, this.onSignal);
    process.off('exit', this.onProcessExit);
  }

  /** Records the first reason to stop; later ones are ignored. */
  end(ending: Ending): void {
    if (this.ending !== null) return;
    this.ending = ending;
    this.resolveEnded(ending);
  }

  start(node: DevNode, args: readonly string[], env: CliIo['env']): DevNodeProcess {
    const child = DevNodeProcess.start(node, args, env);
    this.nodes.push(child);
    // Before the cluster is ready, a node that ends ends the run (it could not start). Once it
    // is ready, a node that ends is a failure the cluster is built to survive (a `kill -9` to
    // watch failover): it is reported and the rest carry on, until none is left. Exits after
    // the run began ending are the stop at work.
    void child.exited.then((exit) => {
      if (this.ending !== null) return;
      if (!this.isReady || this.nodes.every((other) => !other.isRunning())) {
        this.end({ kind: 'node-exit', node: child, exit });
        return;
      }
      void this.reportLoss(child, exit, args);
    });
    return child;
  }

  private async reportLoss(
    lost: DevNodeProcess,
    exit: NodeExit,
    args: readonly string[],
  ): Promise<void> {
    const running = this.nodes.filter((node) => node.isRunning()).length;
    const restart = [process.execPath, ...args].map(shellWord).join(' ');
    const log = shellWord(lost.node.logFile);
    await this.say(
      `node ${lost.node.id} ${describeExit(exit)}; the other ${running} carry on (Ctrl-C still stops them).
` +
        `  to start it again (this command does not stop it with Ctrl-C; stop it by its pid):
` +
        `  ${restart} >> ${log} 2>&1 &`,
    );
  }

  private handleSignal(signal: NodeJS.Signals): void {
    const nowMs = Date.now();
    if (this.ending === null) {
      this.firstSignalAtMs = nowMs;
      this.end({ kind: 'signal', signal });
      return;
    }
    if (
      this.firstSignalAtMs !== null &&
      nowMs - this.firstSignalAtMs < DUPLICATE_SIGNAL_WINDOW_MS
    ) {
      return;
    }
    if (this.isForced) return;
    this.isForced = true;
    for (const node of this.nodes) node.signal('SIGKILL');
    this.resolveForced();
  }

  /** Reports why the run ends, stops every node, and resolves the exit code. */
  async finish(ending: Ending, options: DevRunOptions): Promise<number> {
    const logs = `${shellWord(displayPath(this.plan.dataDir, options.cwd))}/node-*.log`;
    switch (ending.kind) {
      case 'signal': {
        const stopping = this.nodes.filter((node) => node.isRunning());
        const running = stopping.length;
        await this.say(
          `\n${ending.signal}: stopping ${running} ${running === 1 ? 'node' : 'nodes'} (Ctrl-C again to kill them at once)…`,
        );
        const unstopped = await this.stopAll();
        if (unstopped.length > 0) {
          await this.say(`node ${unstopped.join(', ')} did not exit even after SIGKILL`);
          return 1;
        }
        // Nodes that had ended before the stop were reported then.
        for (const node of stopping) {
          const exit = node.exit;
          if (this.isForced || exit === null || (exit.code === 0 && exit.signal === null)) continue;
          await this.say(`node ${node.node.id} ${describeExit(exit)} while stopping; see its log`);
        }
        await this.say(
          this.isForced ? 'killed every node' : `all ${this.nodes.length} nodes stopped`,
        );
        return this.isForced ? 130 : 0;
      }
      case 'node-exit':
        return this.finishAfterNodeExit(ending.node, ending.exit, options.cwd);
      case 'timeout': {
        const seconds = Math.round(options.readyTimeoutMs / 1000);
        await this.say(`the cluster was not ready within ${seconds} s; stopping the nodes…`);
        await this.stopAll();
        await this.say(
          `brook: the cluster was not ready within ${seconds} s (still waiting for ${ending.waitingFor.join('; ')}); see the node logs: ${logs}`,
        );
        return 1;
      }
    }
  }

  private async finishAfterNodeExit(
    failed: DevNodeProcess,
    exit: NodeExit,
    cwd: string,
  ): Promise<number> {
    const id = failed.node.id;
    const log = displayPath(failed.node.logFile, cwd);
    const when = this.isReady ? '' : ' before the cluster was ready';
    const pid = failed.pid === undefined ? '' : ` (pid ${failed.pid})`;
    await this.say(`node ${id}${pid} ${describeExit(exit)}${when}`);
    const tail = await failed.logTail(LOG_TAIL_LINES).catch(() => []);
    if (tail.length === 0) {
      await this.say(`(node ${id} wrote nothing to ${log})`);
    } else {
      await this.say(`last ${tail.length === 1 ? 'line' : `${tail.length} lines`} of ${log}:`);
      for (const line of tail) await this.say(`  ${line}`);
    }
    // Nodes that ended on their own too (a whole cluster refusing a data dir) say why in a line.
    for (const other of this.nodes) {
      if (other === failed || other.exit === null) continue;
      const otherError = serverErrorOf(await other.logTail(LOG_TAIL_LINES).catch(() => []));
      await this.say(
        `node ${other.node.id} also ${describeExit(other.exit)}${otherError === null ? '' : `: ${otherError}`}`,
      );
    }
    const running = this.nodes.filter((node) => node.isRunning()).length;
    if (running > 0) {
      await this.say(`stopping the other ${running} ${running === 1 ? 'node' : 'nodes'}…`);
      await this.stopAll();
    }
    const serverError = serverErrorOf(tail);
    await this.say(
      `brook: node ${id} ${describeExit(exit)}${serverError === null ? `; see ${log}` : `: ${serverError}`}`,
    );
    return 1;
  }

  /**
   * SIGTERM to every running node, then waits for all to exit: SIGKILL for the ones still
   * running after STOP_TIMEOUT_MS, or at once after a second signal. Resolves the ids of nodes
   * that had not exited even KILL_WAIT_MS after SIGKILL (none, normally). Idempotent.
   */
  async stopAll(): Promise<number[]> {
    for (const node of this.nodes) node.signal('SIGTERM');
    const allExited = Promise.all(this.nodes.map((node) => node.exited));
    const hasExited = await within(allExited, STOP_TIMEOUT_MS, this.forced);
    if (!hasExited) {
      const stragglers = this.nodes.filter((node) => node.isRunning());
      for (const node of stragglers) node.signal('SIGKILL');
      if (!this.isForced && stragglers.length > 0) {
        const ids = stragglers.map((node) => node.node.id).join(', ');
        await this.say(`node ${ids} did not stop within ${STOP_TIMEOUT_MS / 1000} s: sent SIGKILL`);
      }
      await within(allExited, KILL_WAIT_MS, new Promise<never>(() => undefined));
    }
    return this.nodes.filter((node) => node.isRunning()).map((node) => node.node.id);
  }
}

/** Resolves true when `promise` settles within `ms`, false on the timeout or when `cut` settles. */
function within(promise: Promise<unknown>, ms: number, cut: Promise<unknown>): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const settle = (value: boolean): void => {
      clearTimeout(timer);
      resolve(value);
    };
    void promise.then(() => settle(true));
    void cut.then(() => settle(false));
  });
}
