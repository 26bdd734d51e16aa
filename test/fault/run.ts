/**
 * One fault run, start to verdict: hosts (network namespaces on a bridge), a Brook node on each,
 * the workload's topic, then clients and nemesis together for the run's time; then everything
 * healed, the clients kept on for a recovery period, the cluster left to settle, the final read,
 * the checkers, and the report folder. Whatever happens, nodes are stopped by PID and the
 * namespaces removed before this returns or throws.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin } from '../../src/client/index.js';
import { SeededRng } from '../../src/util/rng.js';
import { checkAll, summarize, type CombinedResult } from './checker/index.js';
import { FAULT_SERVER_ARGS, FaultCluster } from './cluster/fault-cluster.js';
import {
  HistoryRecorder,
  NEMESIS_PROCESS,
  progressLine,
  type NemesisValue,
  type Op,
} from './history.js';
import { FaultNetwork } from './net/index.js';
import type { FaultKind, NemesisEnv } from './nemesis/faults.js';
import { runNemesis, type SecondsRange } from './nemesis/schedule.js';
import { writeReport } from './report/index.js';
import { GroupsWorkload, type GroupsOptions } from './workload/groups.js';
import { QueueWorkload, type QueueOptions } from './workload/queue.js';
import type { Workload, WorkloadContext } from './workload/workload.js';

export const WORKLOADS = ['queue', 'groups'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** The groups workload's own settings; the topic and producers are RunOptions.queue's. */
export type GroupsRunOptions = Pick<
  GroupsOptions,
  'members' | 'sessionTimeoutMs' | 'memberChaos' | 'chaosQuietS' | 'memberCommit'
>;

export interface RunOptions {
  readonly nodes: number;
  readonly timeS: number;
  readonly nemesis: readonly FaultKind[];
  readonly seed: number;
  readonly quietS: SecondsRange;
  readonly faultS: SecondsRange;
  /** After healing, clients go on this long before they stop (recovery is measured too). */
  readonly recoveryS: number;
  /** queue: producers and readers; groups: producers and the members of a consumer group. */
  readonly workload: WorkloadName;
  /** The topic and the producers (both workloads), and the readers (queue). */
  readonly queue: Omit<QueueOptions, 'topic'>;
  /** The consumer group (groups only). */
  readonly groups: GroupsRunOptions;
  /** Parent of the run folder. */
  readonly outDir: string;
  /** Prints progress lines (the harness log gets them too). */
  readonly print: (line: string) => void;
}

export interface RunOutcome {
  readonly runDir: string;
  readonly check: CombinedResult;
  readonly faults: number;
  /** The anomalies a negative control of the run's workload must show (verdict.ts). */
  readonly lossAnomalies: readonly string[];
}

const QUEUE_TOPIC = 'fault-queue';
const GROUPS_TOPIC = 'fault-groups';
const GROUP_ID = 'fault-group';
const CLUSTER_READY_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 60_000;
const FINAL_READ_TIMEOUT_MS = 120_000;

export async function runFaultTest(options: RunOptions): Promise<RunOutcome> {
  FaultNetwork.requireRoot();
  await FaultNetwork.cleanupStale();
  const startedAt = new Date();
  const runDir = path.join(
    options.outDir,
    `${startedAt.toISOString().replace(/[:.]/g, '-')}-seed-${options.seed}`,
  );
  await mkdir(runDir, { recursive: true });
  const harnessLog: string[] = [];
  const log = (line: string): void => {
    const stamped = `${new Date().toISOString()} ${line}`;
    harnessLog.push(stamped);
    options.print(line);
  };
  log(`run folder ${runDir}`);

  const rng = new SeededRng(options.seed);
  const workload = workloadOf(options);
  let cluster: FaultCluster | null = null;
  let history: HistoryRecorder | null = null;
  const network = await FaultNetwork.create({ nodes: options.nodes });
  // Ctrl-C or a crash of the harness must not leave nodes behind (the network module removes
  // its namespaces on exit itself).
  const onExit = (): void => cluster?.killAllSync();
  process.once('exit', onExit);
  try {
    cluster = await FaultCluster.start({
      network,
      nodes: options.nodes,
      runDir,
      serverArgs: [...FAULT_SERVER_ARGS, ...workload.serverArgs],
      clockSkew: options.nemesis.includes('clock'),
      log,
    });
    await waitForBrokers(cluster, options.nodes, Date.now() + CLUSTER_READY_TIMEOUT_MS);
    log(`cluster of ${options.nodes} ready`);

    history = new HistoryRecorder(path.join(runDir, 'history.jsonl'));
    const context: WorkloadContext = { bootstrap: cluster.bootstrap, history, rng, runDir, log };
    await workload.setup(context);
    await waitForFullIsr(cluster, workload.topic, Date.now() + SETTLE_TIMEOUT_MS);

    const stopClients = new AbortController();
    const stopNemesis = new AbortController();
    const clients = workload.run(context, stopClients.signal);
    const env: NemesisEnv = { cluster, network, history, rng, topic: workload.topic, log };
    const nemesis = runNemesis(
      env,
      { kinds: options.nemesis, quietS: options.quietS, faultS: options.faultS },
      stopNemesis.signal,
    );
    const progress = setInterval(() => log(progressLine(history!)), 10_000);
    let faults = 0;
    try {
      await sleep(options.timeS * 1000);
      stopNemesis.abort();
      faults = await nemesis;
      await healEverything(cluster, network, options.nemesis);
      log(`all faults healed; clients go on for ${options.recoveryS} s`);
      await sleep(options.recoveryS * 1000);
    } finally {
      stopNemesis.abort();
      stopClients.abort();
      clearInterval(progress);
      await nemesis.catch(() => 0);
      await clients;
    }

    log('waiting for every partition to have a leader and its full ISR');
    const settled = await waitForFullIsr(
      cluster,
      workload.topic,
      Date.now() + SETTLE_TIMEOUT_MS,
    ).then(
      () => true,
      (error: unknown) => {
        log(`cluster did not settle: ${String(error)}; reading anyway`);
        return false;
      },
    );
    log(`final read${settled ? '' : ' (cluster not settled)'}`);
    await workload
      .finalRead(context, Date.now() + FINAL_READ_TIMEOUT_MS)
      .catch((error: unknown) => log(`final read failed: ${String(error)}`));
    await history.close();
    await writeFile(path.join(runDir, 'nemesis.log'), nemesisLog(history.history));

    const check = checkAll(history.history, workload.checkers(), {
      idempotence: false,
    });
    await writeReport(runDir, {
      history: history.history,
      check,
      run: {
        seed: options.seed,
        nodes: options.nodes,
        timeS: options.timeS,
        nemesis: [...options.nemesis],
        settings: settingsOf(options),
        startedAt: startedAt.toISOString(),
        runDir,
        command: replayCommand(options),
      },
    });
    for (const line of summarize(check).split('\n')) log(line);
    return { runDir, check, faults, lossAnomalies: workload.lossAnomalies };
  } finally {
    await workload.close();
    await cluster?.stop();
    await network.destroy();
    process.off('exit', onExit);
    await writeFile(path.join(runDir, 'harness.log'), harnessLog.join('\n') + '\n');
  }
}

function workloadOf(options: RunOptions): Workload {
  switch (options.workload) {
    case 'queue':
      return new QueueWorkload({ ...options.queue, topic: QUEUE_TOPIC });
    case 'groups':
      return new GroupsWorkload({
        ...options.queue,
        ...options.groups,
        topic: GROUPS_TOPIC,
        groupId: GROUP_ID,
      });
  }
}

/** Heals what a fault may have left: network rules, stopped or paused nodes, skewed clocks. */
async function healEverything(
  cluster: FaultCluster,
  network: FaultNetwork,
  kinds: readonly FaultKind[],
): Promise<void> {
  await network.heal();
  for (let id = 0; id < cluster.size; id++) {
    cluster.resume(id);
    await cluster.restart(id);
    if (kinds.includes('clock')) await cluster.setClockOffset(id, 0);
  }
}

/** Resolves once DescribeCluster lists `count` unfenced brokers. */
async function waitForBrokers(
  cluster: FaultCluster,
  count: number,
  deadlineMs: number,
): Promise<void> {
  const admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 2_000, retries: 0 });
  try {
    for (;;) {
      const unfenced = await admin
        .describeCluster()
        .then((c) => c.brokers.filter((b) => !b.fenced).length)
        .catch(() => 0);
      if (unfenced >= count) return;
      if (Date.now() > deadlineMs) throw new Error(`only ${unfenced} of ${count} brokers unfenced`);
      await sleep(250);
    }
  } finally {
    await admin.close();
  }
}

/** Resolves once every partition of `topic` has a leader and all its replicas in the ISR. */
async function waitForFullIsr(
  cluster: FaultCluster,
  topic: string,
  deadlineMs: number,
): Promise<void> {
  const admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 2_000, retries: 0 });
  try {
    let last = 'no answer';
    for (;;) {
      try {
        const metadata = await admin.metadata([topic]);
        const partitions = metadata.topics[0]?.partitions ?? [];
        const lagging = partitions.filter(
          (p) => p.leaderId < 0 || p.isr.length < p.replicas.length,
        );
        if (partitions.length > 0 && lagging.length === 0) return;
        last = lagging
          .map(
            (p) =>
              `${p.partition}: leader ${p.leaderId} isr [${p.isr.join(',')}] of [${p.replicas.join(',')}]`,
          )
          .join('; ');
      } catch (error) {
        last = String(error);
      }
      if (Date.now() > deadlineMs) throw new Error(`partitions not in sync: ${last}`);
      await sleep(250);
    }
  } finally {
    await admin.close();
  }
}

/** One line per fault start and heal: seconds into the run, phase, kind, nodes, what was done. */
function nemesisLog(history: readonly Op[]): string {
  return history
    .filter((op) => op.process === NEMESIS_PROCESS)
    .map((op) => {
      const value = op.value as NemesisValue;
      const at = (op.timeMs / 1000).toFixed(3).padStart(9);
      return `${at} s  ${value.phase.padEnd(5)}  ${op.f.padEnd(9)}  nodes ${value.nodes.join(',')}  ${value.detail}\n`;
    })
    .join('');
}

/** The command that repeats a run's settings and seed (timing makes no run exactly repeatable). */
export function replayCommand(options: Omit<RunOptions, 'print' | 'outDir'>): string {
  const q = options.queue;
  const flags = [
    ...(options.workload === 'queue' ? [] : [`--workload ${options.workload}`]),
    `--nodes ${options.nodes}`,
    `--time ${options.timeS}`,
    `--nemesis ${options.nemesis.join(',')}`,
    `--seed ${options.seed}`,
    `--quiet ${options.quietS.join('-')}`,
    `--fault ${options.faultS.join('-')}`,
    `--recovery ${options.recoveryS}`,
    `--partitions ${q.partitions}`,
    `--producers ${q.producers}`,
    ...(options.workload === 'queue' ? [`--readers ${q.readers}`] : []),
    `--acks ${q.acks}`,
    `--replication-factor ${q.replicationFactor}`,
    `--min-insync-replicas ${q.minInsyncReplicas}`,
    ...(q.uncleanLeaderElection ? ['--unclean-leader-election'] : []),
    `--send-interval-ms ${q.sendIntervalMs}`,
    ...(options.workload === 'groups' ? groupsFlags(options.groups) : []),
  ];
  return `npm run fault -- ${flags.join(' ')}`;
}

function groupsFlags(g: GroupsRunOptions): string[] {
  return [
    `--members ${g.members}`,
    `--session-timeout-ms ${g.sessionTimeoutMs}`,
    `--member-chaos ${g.memberChaos.length === 0 ? 'none' : g.memberChaos.join(',')}`,
    `--member-chaos-quiet ${g.chaosQuietS.join('-')}`,
    `--member-commit ${g.memberCommit}`,
  ];
}

function settingsOf(options: RunOptions): Record<string, string | number | boolean> {
  const common = {
    workload: options.workload,
    quietS: options.quietS.join('-'),
    faultS: options.faultS.join('-'),
    recoveryS: options.recoveryS,
  };
  if (options.workload === 'queue') return { ...options.queue, ...common };
  const { readers: _readers, ...producers } = options.queue;
  return {
    ...producers,
    ...common,
    members: options.groups.members,
    sessionTimeoutMs: options.groups.sessionTimeoutMs,
    memberChaos: options.groups.memberChaos.join(',') || 'none',
    memberChaosQuietS: options.groups.chaosQuietS.join('-'),
    memberCommit: options.groups.memberCommit,
  };
}
