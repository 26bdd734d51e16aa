/**
 * The rehearsal's disruptions, each one thing an operator or Kubernetes does to a pod of the
 * StatefulSet, recorded in the history as a nemesis op pair (start, heal) so the fault-window
 * machinery of the checkers and the report sees them. A step returns one figure row per pod it
 * touched; stalls are computed afterwards from the history (figures.ts).
 *
 * Steps run in order from STEP_ORDER in rehearsal.ts.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin } from '../../../src/client/index.js';
import { brookBinPath } from '../../../src/util/brook-bin.js';
import { NEMESIS_PROCESS, type HistoryRecorder, type NemesisValue } from '../../fault/history.js';
import type { Pod } from './pods.js';

/** What a step may use. */
export interface StepEnv {
  readonly pods: readonly Pod[];
  readonly history: HistoryRecorder;
  /** Bootstrap addresses for the harness's admin calls (the pods' DNS names). */
  readonly bootstrap: readonly string[];
  readonly gracePeriodMs: number;
  /** Extra wait after readiness and full ISRs, like the StatefulSet's minReadySeconds. */
  readonly minReadyMs: number;
  /** Pause after each pod, so stalls of successive pods do not run together. */
  readonly settleMs: number;
  readonly pick: (count: number) => number;
  readonly log: (line: string) => void;
  /** The workload's topic, whose partitions the scaling step moves. */
  readonly topic: string;
  /** The run folder, for files a step leaves behind (the reassignment plan). */
  readonly runDir: string;
  /** Creates the pod of the next ordinal (a scale-up), not started; it joins `pods`. */
  readonly addPod: () => Pod;
}

/** One pod's figures in one step; times are history ms (HistoryRecorder.nowMs). */
export interface PodFigures {
  readonly step: string;
  readonly pod: string;
  readonly startMs: number;
  /** The pod's process gone (0 for a step that does not stop it). */
  readonly exitMs: number;
  /** SIGTERM or SIGKILL to SERVING again. */
  readonly readyMs: number;
  /** SIGTERM or SIGKILL to every partition's ISR full again. */
  readonly isrFullMs: number;
  /** Whether the grace period ran out and SIGKILL was needed. */
  readonly neededSigkill: boolean;
  /** Whether, during recovery, the pod was seen missing from some ISR. */
  readonly wasOutOfIsr: boolean;
  readonly endMs: number;
  readonly notes: readonly string[];
}

/** Pods a scale-up adds (the StatefulSet going from 3 to 5 replicas), and the scale-down removes. */
const SCALE_UP_PODS = 2;
/**
 * The copy's bandwidth bound per leader for the moves (leader.replication.throttled.rate):
 * far above the workload's write rate, so the moves finish, yet on the path.
 */
const MOVE_THROTTLE = '1MiB';

export interface Step {
  readonly name: string;
  run(env: StepEnv): Promise<PodFigures[]>;
}

const READY_TIMEOUT_MS = 180_000;
const ISR_TIMEOUT_MS = 180_000;
const ISR_POLL_MS = 200;

/** The StatefulSet's RollingUpdate: highest ordinal first, each ready before the next. */
export const rollingRestart: Step = {
  name: 'rolling-restart',
  async run(env) {
    const figures: PodFigures[] = [];
    for (let ordinal = env.pods.length - 1; ordinal >= 0; ordinal--) {
      const pod = env.pods[ordinal]!;
      figures.push(await replacePod(env, this.name, pod, 'sigterm', false));
    }
    return figures;
  },
};

/** A crashed container (kill -9); the kubelet restarts it on the same volume. */
export const killAndRecreate: Step = {
  name: 'kill-9',
  async run(env) {
    const pod = env.pods[env.pick(env.pods.length)]!;
    return [await replacePod(env, this.name, pod, 'sigkill', false)];
  },
};

/** The pod and its PVC deleted (a lost volume): it comes back with the same ordinal, no data. */
export const emptyVolume: Step = {
  name: 'empty-volume',
  async run(env) {
    const pod = env.pods[env.pick(env.pods.length)]!;
    return [await replacePod(env, this.name, pod, 'sigterm', true)];
  },
};

/**
 * `kubectl scale --replicas 5`: two more pods start (observer brokers: the voters stay 0-2),
 * then every partition of the workload's topic gets one replica moved onto a new broker with
 * `brook partitions reassign` (its preferred leader, so leadership moves too), followed to the
 * end. The figure: records copied per second, from the moved partitions' log ends.
 */
export const scaleAndReassign: Step = {
  name: 'scale-and-reassign',
  async run(env) {
    const startMs = env.history.nowMs();
    const added = Array.from({ length: SCALE_UP_PODS }, () => env.addPod());
    const ordinals = added.map((p) => p.spec.ordinal);
    const names = added.map((p) => p.spec.name).join(', ');
    record(env.history, this.name, 'start', ordinals, `scale up: ${names}, then reassign`);
    env.log(`${this.name}: starting ${names}`);
    await Promise.all(added.map((pod) => pod.start()));
    await Promise.all(added.map((pod) => pod.waitReady(Date.now() + READY_TIMEOUT_MS)));
    const readyMs = env.history.nowMs() - startMs;
    env.log(`${this.name}: ${names} SERVING after ${(readyMs / 1000).toFixed(1)} s`);
    const admin = new Admin({ bootstrap: [...env.bootstrap], requestTimeoutMs: 5_000, retries: 5 });
    const notes: string[] = [];
    let isrFullMs: number;
    try {
      const [topic] = (await admin.metadata([env.topic])).topics;
      if (topic === undefined) throw new Error(`no topic ${env.topic}`);
      // Each partition's preferred leader goes to a new broker, round robin.
      const moves = topic.partitions.map((p, i) => ({
        topic: env.topic,
        partition: p.partition,
        replicas: [ordinals[i % ordinals.length]!, ...p.replicas.slice(1)],
      }));
      const ends = await admin.listOffsets(
        topic.partitions.map((p) => ({ topic: env.topic, partition: p.partition, spec: 'latest' })),
      );
      const records = ends.reduce((sum, e) => sum + Math.max(0, e.offset), 0);
      const plan = path.join(env.runDir, 'reassignment-plan.json');
      await writeFile(plan, JSON.stringify({ partitions: moves }, null, 2) + '\n');
      const reassignStartMs = env.history.nowMs();
      const cli = await runBrook([
        'partitions',
        'reassign',
        '--plan',
        plan,
        '--throttle',
        MOVE_THROTTLE,
        '--bootstrap',
        env.bootstrap.join(','),
      ]);
      if (cli.code !== 0)
        throw new Error(`brook partitions reassign exited ${cli.code}: ${cli.stderr}`);
      const movedMs = env.history.nowMs() - reassignStartMs;
      const perS = records / Math.max(0.001, movedMs / 1000);
      notes.push(
        `moved ${moves.length} partitions (${records} records) in ${(movedMs / 1000).toFixed(1)} s: ${perS.toFixed(0)} records/s`,
      );
      env.log(`${this.name}: ${notes[0]}`);
      const after = (await admin.metadata([env.topic])).topics[0];
      for (const move of moves) {
        const now = after?.partitions[move.partition]?.replicas ?? [];
        if (now.join() !== move.replicas.join()) {
          throw new Error(
            `${env.topic}-${move.partition} has replicas [${now.join()}], not [${move.replicas.join()}]`,
          );
        }
      }
      await waitForFullIsr(env.bootstrap, null, Date.now() + ISR_TIMEOUT_MS);
      isrFullMs = env.history.nowMs() - startMs;
    } finally {
      await admin.close();
    }
    record(env.history, this.name, 'heal', ordinals, 'moved, every ISR full');
    const endMs = env.history.nowMs();
    await sleep(env.settleMs);
    return [
      {
        step: this.name,
        pod: names,
        startMs,
        exitMs: 0,
        readyMs,
        isrFullMs,
        neededSigkill: false,
        wasOutOfIsr: false,
        endMs,
        notes,
      },
    ];
  },
};

/**
 * `kubectl scale --replicas 3`, done as docs/kubernetes.md says: `brook brokers drain` moves
 * every replica off the pods a scale-down deletes (the highest ordinals: the ones the scale-up
 * added), the StatefulSet deletes those pods (SIGTERM, highest first), and once the controller
 * has fenced them `brook brokers unregister` removes them from the metadata and the Raft
 * observers. Checks that the cluster is left with the first pods only, every ISR full.
 */
export const drainAndScaleDown: Step = {
  name: 'drain-and-scale-down',
  async run(env) {
    const startMs = env.history.nowMs();
    const removed = env.pods.filter((p) => p.isRunning).slice(-SCALE_UP_PODS);
    const ordinals = removed.map((p) => p.spec.ordinal);
    const names = removed.map((p) => p.spec.name).join(', ');
    const bootstrap = ['--bootstrap', env.bootstrap.join(',')];
    record(env.history, this.name, 'start', ordinals, `drain ${names}, then scale down`);
    env.log(`${this.name}: draining ${names}`);
    const drain = await runBrook([
      'brokers',
      'drain',
      ...ordinals.map(String),
      '--throttle',
      MOVE_THROTTLE,
      ...bootstrap,
    ]);
    if (drain.code !== 0)
      throw new Error(`brook brokers drain exited ${drain.code}: ${drain.stderr}`);
    const moved = drain.stdout.split('\n').filter((line) => line.startsWith('Moving ')).length;
    const drainedMs = env.history.nowMs() - startMs;
    const notes = [
      `drained ${moved} partitions off ${names} in ${(drainedMs / 1000).toFixed(1)} s`,
    ];
    env.log(`${this.name}: ${notes[0]}`);

    const deleteStartMs = env.history.nowMs();
    let neededSigkill = false;
    for (const pod of [...removed].reverse()) {
      neededSigkill ||= (await pod.terminate(env.gracePeriodMs)).killed;
    }
    const exitMs = env.history.nowMs() - deleteStartMs;
    const admin = new Admin({ bootstrap: [...env.bootstrap], requestTimeoutMs: 5_000, retries: 5 });
    try {
      await waitUntil(`${names} fenced`, Date.now() + READY_TIMEOUT_MS, async () => {
        const { brokers } = await admin.describeCluster();
        return brokers.every((b) => !ordinals.includes(b.nodeId) || b.fenced);
      });
      const unregister = await runBrook([
        'brokers',
        'unregister',
        ...ordinals.map(String),
        ...bootstrap,
      ]);
      if (unregister.code !== 0) {
        throw new Error(`brook brokers unregister exited ${unregister.code}: ${unregister.stderr}`);
      }
      const { brokers, quorum } = await admin.describeCluster();
      const left = brokers.map((b) => b.nodeId).sort((a, b) => a - b);
      const members = (quorum?.members ?? []).map((m) => m.nodeId);
      if (left.some((id) => ordinals.includes(id)) || members.some((id) => ordinals.includes(id))) {
        throw new Error(
          `still registered or in the quorum: brokers [${left.join()}], quorum [${members.join()}]`,
        );
      }
      notes.push(`unregistered; brokers now ${left.join(', ')}`);
    } finally {
      await admin.close();
    }
    await waitForFullIsr(env.bootstrap, null, Date.now() + ISR_TIMEOUT_MS);
    const isrFullMs = env.history.nowMs() - startMs;
    record(
      env.history,
      this.name,
      'heal',
      ordinals,
      'drained, deleted, unregistered; every ISR full',
    );
    const endMs = env.history.nowMs();
    await sleep(env.settleMs);
    return [
      {
        step: this.name,
        pod: names,
        startMs,
        exitMs,
        readyMs: 0,
        isrFullMs,
        neededSigkill,
        wasOutOfIsr: false,
        endMs,
        notes,
      },
    ];
  },
};

/** Polls `check` every ISR_POLL_MS until it holds; throws naming `what` after the deadline. */
async function waitUntil(
  what: string,
  deadlineMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  let last = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = `: ${String(error)}`;
    }
    if (Date.now() > deadlineMs) throw new Error(`${what}: not in time${last}`);
    await sleep(ISR_POLL_MS);
  }
}

/**
 * Stops `pod` (SIGTERM with the grace period, or SIGKILL), optionally empties its volume,
 * starts it again, waits for SERVING, then for every partition's ISR to be full, then
 * minReadyMs and settleMs. Records the step in the history around all of it.
 */
async function replacePod(
  env: StepEnv,
  step: string,
  pod: Pod,
  how: 'sigterm' | 'sigkill',
  wipe: boolean,
): Promise<PodFigures> {
  const { history } = env;
  const name = pod.spec.name;
  const ordinal = pod.spec.ordinal;
  const detail = `${how === 'sigterm' ? 'SIGTERM' : 'SIGKILL'} ${name} (pid ${pod.pid ?? '?'})${wipe ? ', volume emptied' : ''}`;
  env.log(`${step}: ${detail}`);
  const startMs = history.nowMs();
  record(history, step, 'start', ordinal, detail);
  let neededSigkill = false;
  if (how === 'sigterm') {
    neededSigkill = (await pod.terminate(env.gracePeriodMs)).killed;
  } else {
    await pod.kill();
  }
  const exitMs = history.nowMs() - startMs;
  if (wipe) await pod.wipeVolume();
  await pod.start();
  await pod.waitReady(Date.now() + READY_TIMEOUT_MS);
  const readyMs = history.nowMs() - startMs;
  const notes = wipe ? [await identityNote(pod)] : [];
  env.log(`${step}: ${name} SERVING after ${(readyMs / 1000).toFixed(1)} s`);
  const isr = await waitForFullIsr(env.bootstrap, ordinal, Date.now() + ISR_TIMEOUT_MS);
  const isrFullMs = history.nowMs() - startMs;
  env.log(`${step}: every ISR full after ${(isrFullMs / 1000).toFixed(1)} s`);
  await sleep(env.minReadyMs);
  record(history, step, 'heal', ordinal, `${name} ready and every ISR full`);
  const endMs = history.nowMs();
  await sleep(env.settleMs);
  return {
    step,
    pod: name,
    startMs,
    exitMs,
    readyMs,
    isrFullMs,
    neededSigkill,
    wasOutOfIsr: isr.wasOutOfIsr,
    endMs,
    notes,
  };
}

function record(
  history: HistoryRecorder,
  step: string,
  phase: 'start' | 'heal',
  ordinals: number | readonly number[],
  detail: string,
): void {
  history.record<string, NemesisValue>(NEMESIS_PROCESS, 'info', step, {
    phase,
    nodes: typeof ordinals === 'number' ? [ordinals] : [...ordinals],
    detail,
  });
}

/** Runs the brook CLI (this checkout's) and collects its output. */
function runBrook(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [brookBinPath(), ...args],
      { timeout: 300_000 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') {
          reject(error);
          return;
        }
        resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
  });
}

/**
 * Resolves once every partition of every topic (__consumer_offsets included) has a leader and
 * its full replica set in the ISR; says whether node `watched` was seen missing from an ISR on
 * the way.
 */
export async function waitForFullIsr(
  bootstrap: readonly string[],
  watched: number | null,
  deadlineMs: number,
): Promise<{ wasOutOfIsr: boolean }> {
  const admin = new Admin({ bootstrap: [...bootstrap], requestTimeoutMs: 2_000, retries: 0 });
  let wasOutOfIsr = false;
  let last = 'no answer';
  try {
    for (;;) {
      try {
        const metadata = await admin.metadata([]);
        const partitions = metadata.topics.flatMap((t) =>
          t.partitions.map((p) => ({ topic: t.name, ...p })),
        );
        const lagging = partitions.filter(
          (p) => p.leaderId < 0 || p.isr.length < p.replicas.length,
        );
        if (watched !== null) {
          wasOutOfIsr ||= partitions.some(
            (p) => p.replicas.includes(watched) && !p.isr.includes(watched),
          );
        }
        if (partitions.length > 0 && lagging.length === 0) return { wasOutOfIsr };
        last = `${lagging.length} partitions lagging, e.g. ${lagging
          .slice(0, 3)
          .map(
            (p) =>
              `${p.topic}/${p.partition} isr [${p.isr.join(',')}] of [${p.replicas.join(',')}]`,
          )
          .join('; ')}`;
      } catch (error) {
        last = String(error);
      }
      if (Date.now() > deadlineMs) throw new Error(`ISRs not full in time: ${last}`);
      await sleep(ISR_POLL_MS);
    }
  } finally {
    await admin.close();
  }
}

/**
 * What the re-formatted volume says about the node: pod mode gives the recreated pod the same
 * node id (its ordinal), so the volume is formatted again under that id.
 */
async function identityNote(pod: Pod): Promise<string> {
  const text = await readFile(path.join(pod.spec.dataDir, 'meta.properties'), 'utf8').catch(
    (error: unknown) => `unreadable: ${String(error)}`,
  );
  const nodeId = /^node\.id=(\d+)$/m.exec(text)?.[1] ?? '?';
  const same = nodeId === String(pod.spec.ordinal) ? 'the same node id' : 'ANOTHER node id';
  return `volume re-formatted: meta.properties node.id=${nodeId} (${same} as ordinal ${pod.spec.ordinal})`;
}
