/**
 * The inner half of a rehearsal, run by main.ts inside the client namespace (so the pods' DNS
 * names resolve through that namespace's hosts file, for the harness and every client it
 * starts): the pods started together as `podManagementPolicy: Parallel` does, the fault
 * harness's consumer-group workload (acks=all producers, group members, the committed-offset
 * observer) against them, the steps in STEP_ORDER under that load, then the workload's final
 * read, the fault harness's checkers, the report and summary.json with the figures.
 */
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SeededRng } from '../../../src/util/rng.js';
import { brookBinPath } from '../../../src/util/brook-bin.js';
import { checkAll, summarize, type CombinedResult } from '../../fault/checker/index.js';
import { HistoryRecorder, progressLine } from '../../fault/history.js';
import { writeReport } from '../../fault/report/index.js';
import { GroupsWorkload } from '../../fault/workload/groups.js';
import type { WorkloadContext } from '../../fault/workload/workload.js';
import { ackRatePerS, ackTimesMs, longestAckGapMs } from './figures.js';
import {
  entrypointOf,
  localArgv,
  podDnsName,
  podEnv,
  podTemplateOf,
  renderKustomize,
  type PodTemplate,
} from './manifest.js';
import { Pod } from './pods.js';
import {
  drainAndScaleDown,
  emptyVolume,
  killAndRecreate,
  rollingRestart,
  scaleAndReassign,
  waitForFullIsr,
  type PodFigures,
  type Step,
  type StepEnv,
} from './steps.js';

/** What main.ts hands the inner process (as JSON). */
export interface InnerConfig {
  readonly runDir: string;
  readonly seed: number;
  /** Parent of the pods' volumes (a temp dir main.ts owns). */
  readonly volumesDir: string;
  /** The namespace and address of every pod slot, by ordinal. */
  readonly hosts: readonly { readonly netns: string; readonly address: string }[];
  /** metadata.namespace of the pods. */
  readonly k8sNamespace: string;
  readonly repoRoot: string;
  readonly warmupS: number;
  /** Wait the manifest's minReadySeconds after each pod too (off: full ISRs are the wait). */
  readonly isMinReadyHonoured: boolean;
}

/** The steps, in order. */
export const STEP_ORDER: readonly Step[] = [
  rollingRestart,
  killAndRecreate,
  emptyVolume,
  scaleAndReassign,
  drainAndScaleDown,
];

const TOPIC = 'rehearsal';
const GROUP_ID = 'rehearsal-group';
const START_TIMEOUT_MS = 120_000;
const FINAL_READ_TIMEOUT_MS = 120_000;
/** Seconds between steps' pods, so that stalls are told apart. */
const SETTLE_MS = 3_000;
/** How long after a step's end a stall may still be attributed to it. */
const STALL_TAIL_MS = 2_000;

export interface StepFigures extends PodFigures {
  /** Longest time without an acknowledged send from the step's start to its end + tail. */
  readonly stallMs: number;
}

export interface RehearsalSummary {
  readonly valid: boolean;
  readonly seed: number;
  readonly clusterId: string;
  readonly pods: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly argv: readonly string[];
  /** Longest ack gap and ack rate during the warm-up, for comparison. */
  readonly baseline: { readonly longestGapMs: number; readonly acksPerS: number };
  readonly steps: readonly StepFigures[];
  readonly checks: readonly { readonly checker: string; readonly valid: boolean }[];
  readonly stats: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Runs one rehearsal; resolves whether the checkers found the history valid. */
export async function runRehearsal(config: InnerConfig): Promise<boolean> {
  const harnessLog: string[] = [];
  const log = (line: string): void => {
    harnessLog.push(`${new Date().toISOString()} ${line}`);
    process.stdout.write(`${line}\n`);
  };
  const template = podTemplateOf(renderKustomize(path.join(config.repoRoot, 'deploy/k8s/base')));
  const dockerfile = await readFile(path.join(config.repoRoot, 'deploy/Dockerfile'), 'utf8');
  const argv = localArgv(entrypointOf(dockerfile), template.args, {
    nodePath: process.execPath,
    imageRoot: '/app',
    repoRoot: path.dirname(path.dirname(brookBinPath())),
  });
  // The base leaves BROOK_CLUSTER_ID to the overlay; a rehearsal is one cluster, so one id.
  const clusterId = randomUUID();
  const makePod = (ordinal: number): Pod => podOf(config, template, argv, clusterId, ordinal);
  const pods = Array.from({ length: template.replicas }, (_, ordinal) => makePod(ordinal));
  const bootstrap = pods.map(
    (_, ordinal) =>
      `${podDnsName(template, ordinal, config.k8sNamespace)}:${template.readiness.port}`,
  );
  log(`pods ${pods.map((p) => p.spec.name).join(', ')}; cluster id ${clusterId}`);
  log(`argv: ${argv.join(' ')}`);
  const onExit = (): void => pods.forEach((pod) => pod.killSync());
  process.once('exit', onExit);
  const history = new HistoryRecorder(path.join(config.runDir, 'history.jsonl'));
  const workload = new GroupsWorkload({
    topic: TOPIC,
    groupId: GROUP_ID,
    partitions: 6,
    replicationFactor: 3,
    minInsyncReplicas: 2,
    uncleanLeaderElection: false,
    acks: 'all',
    producers: 2,
    sendIntervalMs: 20,
    members: 3,
    sessionTimeoutMs: 10_000,
    memberChaos: [],
    chaosQuietS: [5, 10],
    memberCommit: 'after',
  });
  const rng = new SeededRng(config.seed);
  const context: WorkloadContext = { bootstrap, history, rng, runDir: config.runDir, log };
  try {
    await Promise.all(pods.map((pod) => pod.start()));
    await Promise.all(pods.map((pod) => pod.waitReady(Date.now() + START_TIMEOUT_MS)));
    log(`all ${pods.length} pods SERVING`);
    await workload.setup(context);
    await waitForFullIsr(bootstrap, null, Date.now() + START_TIMEOUT_MS);
    const stopClients = new AbortController();
    const clients = workload.run(context, stopClients.signal);
    const progress = setInterval(() => log(progressLine(history)), 10_000);
    let figures: PodFigures[] = [];
    let warmup = { fromMs: 0, toMs: 0 };
    try {
      await sleep(config.warmupS * 1000);
      warmup = { fromMs: history.nowMs() - config.warmupS * 1000 * 0.8, toMs: history.nowMs() };
      const env: StepEnv = {
        pods,
        history,
        bootstrap,
        gracePeriodMs: template.terminationGracePeriodMs,
        minReadyMs: config.isMinReadyHonoured ? template.minReadyMs : 0,
        settleMs: SETTLE_MS,
        pick: (count) => rng.int(count),
        log,
        topic: TOPIC,
        runDir: config.runDir,
        addPod: () => {
          const pod = makePod(pods.length);
          pods.push(pod);
          return pod;
        },
      };
      figures = await runSteps(env, log);
      await sleep(SETTLE_MS);
    } finally {
      stopClients.abort();
      clearInterval(progress);
      await clients;
    }
    await waitForFullIsr(bootstrap, null, Date.now() + START_TIMEOUT_MS).catch((error: unknown) =>
      log(`cluster did not settle: ${String(error)}; reading anyway`),
    );
    await workload.finalRead(context, Date.now() + FINAL_READ_TIMEOUT_MS);
    await history.close();
    const check = checkAll(history.history, workload.checkers(), { idempotence: false });
    const summary = summaryOf(config, history, check, figures, warmup, {
      clusterId,
      pods,
      argv,
    });
    await writeOutputs(config, history, check, summary);
    for (const line of summarize(check).split('\n')) log(line);
    for (const line of figureLines(summary)) log(line);
    log(`${summary.valid ? 'VALID' : 'INVALID'}: ${config.runDir}`);
    return summary.valid;
  } finally {
    await workload.close();
    await Promise.all(pods.map((pod) => pod.terminate(template.terminationGracePeriodMs)));
    await Promise.all(pods.map((pod) => pod.closeLog()));
    process.off('exit', onExit);
    await writeFile(path.join(config.runDir, 'harness.log'), harnessLog.join('\n') + '\n');
  }
}

/** The pod of `ordinal`, as the StatefulSet would make it (its volume under volumesDir). */
function podOf(
  config: InnerConfig,
  template: PodTemplate,
  argv: readonly string[],
  clusterId: string,
  ordinal: number,
): Pod {
  const host = config.hosts[ordinal];
  if (host === undefined) throw new Error(`no host for ordinal ${ordinal}`);
  const name = `${template.statefulSet}-${ordinal}`;
  const dataDir = path.join(config.volumesDir, name);
  const env = podEnv(
    template,
    { pod: name, namespace: config.k8sNamespace },
    { BROOK_CLUSTER_ID: clusterId, BROOK_DATA_DIR: dataDir },
  );
  return new Pod(
    { ordinal, name, netns: host.netns, address: host.address, dataDir, env, argv },
    template.readiness,
    path.join(config.runDir, 'nodes'),
  );
}

async function runSteps(env: StepEnv, log: (line: string) => void): Promise<PodFigures[]> {
  const figures: PodFigures[] = [];
  for (const step of STEP_ORDER) {
    log(`step ${step.name}`);
    figures.push(...(await step.run(env)));
  }
  return figures;
}

function summaryOf(
  config: InnerConfig,
  history: HistoryRecorder,
  check: CombinedResult,
  figures: readonly PodFigures[],
  warmup: { fromMs: number; toMs: number },
  run: { clusterId: string; pods: readonly Pod[]; argv: readonly string[] },
): RehearsalSummary {
  const acks = ackTimesMs(history.history);
  const steps = figures.map((f) => ({
    ...f,
    stallMs: longestAckGapMs(acks, f.startMs, f.endMs + STALL_TAIL_MS),
  }));
  const stats: Record<string, Readonly<Record<string, number>>> = {};
  for (const result of check.results) stats[result.checker] = result.stats;
  return {
    valid: check.valid,
    seed: config.seed,
    clusterId: run.clusterId,
    pods: run.pods.map((p) => p.spec.name),
    env: run.pods[0]?.spec.env ?? {},
    argv: run.argv,
    baseline: {
      longestGapMs: longestAckGapMs(acks, warmup.fromMs, warmup.toMs),
      acksPerS: ackRatePerS(acks, warmup.fromMs, warmup.toMs),
    },
    steps,
    checks: check.results.map((r) => ({ checker: r.checker, valid: r.valid })),
    stats,
  };
}

async function writeOutputs(
  config: InnerConfig,
  history: HistoryRecorder,
  check: CombinedResult,
  summary: RehearsalSummary,
): Promise<void> {
  await writeFile(
    path.join(config.runDir, 'summary.json'),
    JSON.stringify(summary, null, 2) + '\n',
  );
  const endMs = history.history[history.history.length - 1]?.timeMs ?? 0;
  await writeReport(config.runDir, {
    history: history.history,
    check,
    run: {
      seed: config.seed,
      nodes: summary.pods.length,
      timeS: Math.round(endMs / 1000),
      nemesis: STEP_ORDER.map((s) => s.name),
      settings: { workload: 'groups', k8sNamespace: config.k8sNamespace, warmupS: config.warmupS },
      startedAt: new Date(Date.now() - endMs).toISOString(),
      runDir: config.runDir,
      command: `node dist/test/deploy/rehearsal/main.js --seed ${config.seed}`,
    },
  });
}

/** The figures, one line per pod and step, for the console and the harness log. */
export function figureLines(summary: RehearsalSummary): string[] {
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  return [
    `baseline: longest ack gap ${s(summary.baseline.longestGapMs)}, ${summary.baseline.acksPerS.toFixed(0)} acks/s`,
    ...summary.steps.map(
      (f) =>
        `${f.step} ${f.pod}: stall ${s(f.stallMs)}, exit ${s(f.exitMs)}, ready ${s(f.readyMs)}, ` +
        `all ISRs full ${s(f.isrFullMs)}${f.neededSigkill ? ', needed SIGKILL' : ''}` +
        `${f.wasOutOfIsr ? ', left ISRs' : ''}${f.notes.map((n) => `; ${n}`).join('')}`,
    ),
  ];
}
