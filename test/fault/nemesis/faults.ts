/**
 * The faults the nemesis injects, each a start that returns its heal. Every start and heal is
 * recorded in the history (process "nemesis", type info) with the nodes it touched and what
 * exactly was done, so the checker can tell operations during faults from the rest.
 *
 * Targets follow Jepsen's: a random node, the active controller, a partition leader, a
 * majority. Finding the controller or a leader asks the cluster; when it cannot answer (it is
 * mid-fault), a random node stands in and the detail says so.
 */
import { Admin } from '../../../src/client/index.js';
import type { Rng } from '../../../src/util/rng.js';
import { shuffled } from '../../sim/nemesis.js';
import type { FaultCluster } from '../cluster/fault-cluster.js';
import { NEMESIS_PROCESS, type HistoryRecorder, type NemesisValue } from '../history.js';

export const FAULT_KINDS = ['kill', 'pause', 'partition', 'slow', 'clock'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The network operations the nemesis uses (net/fault-network.ts). */
export interface NetworkFaults {
  partition(groups: number[][]): Promise<void>;
  isolate(node: number): Promise<void>;
  dropOneWay(from: number, to: number): Promise<void>;
  ring(): Promise<void>;
  slow(
    settings: { delayMs: number; jitterMs: number; lossPercent: number },
    nodes?: number[],
  ): Promise<string>;
  heal(): Promise<void>;
}

export interface NemesisEnv {
  readonly cluster: FaultCluster;
  readonly network: NetworkFaults;
  readonly history: HistoryRecorder;
  readonly rng: Rng;
  readonly topic: string;
  readonly log: (line: string) => void;
}

/** Undoes one fault; records the heal. */
export type Heal = () => Promise<void>;

type Target = 'one' | 'controller' | 'leader' | 'majority';

/** How long a lookup of the controller or a leader may take during a fault. */
const LOOKUP_TIMEOUT_MS = 2_000;

export async function startFault(env: NemesisEnv, kind: FaultKind): Promise<Heal> {
  switch (kind) {
    case 'kill':
      return kill(env);
    case 'pause':
      return pause(env);
    case 'partition':
      return partition(env);
    case 'slow':
      return slow(env);
    case 'clock':
      return clock(env);
  }
}

async function kill(env: NemesisEnv): Promise<Heal> {
  const { nodes, how } = await pickTargets(env, pick(env.rng, TARGETS));
  await Promise.all(nodes.map((id) => env.cluster.kill(id)));
  record(env, 'kill', 'start', nodes, `SIGKILL ${how}`);
  return async () => {
    await Promise.all(nodes.map((id) => env.cluster.restart(id)));
    record(env, 'kill', 'heal', nodes, `restarted ${list(nodes)}`);
  };
}

async function pause(env: NemesisEnv): Promise<Heal> {
  const { nodes, how } = await pickTargets(env, pick(env.rng, TARGETS));
  for (const id of nodes) env.cluster.pause(id);
  record(env, 'pause', 'start', nodes, `SIGSTOP ${how}`);
  return () => {
    for (const id of nodes) env.cluster.resume(id);
    record(env, 'pause', 'heal', nodes, `SIGCONT ${list(nodes)}`);
    return Promise.resolve();
  };
}

const PARTITION_SHAPES = ['one', 'controller', 'halves', 'ring', 'one-way'] as const;

async function partition(env: NemesisEnv): Promise<Heal> {
  const size = env.cluster.size;
  const all = range(size);
  // With 3 nodes or fewer every majority is everyone: a ring would cut nothing.
  const shapes = size > 3 ? PARTITION_SHAPES : PARTITION_SHAPES.filter((s) => s !== 'ring');
  const shape = pick(env.rng, shapes);
  let nodes: number[];
  let detail: string;
  switch (shape) {
    case 'one':
    case 'controller': {
      const target = await pickTargets(env, shape);
      const node = target.nodes[0]!;
      await env.network.isolate(node);
      nodes = [node];
      detail = `isolate ${target.how} from the other nodes`;
      break;
    }
    case 'halves': {
      const order = shuffled(env.rng, all);
      const cut = Math.floor(size / 2);
      const groups = [
        order.slice(0, cut).sort((a, b) => a - b),
        order.slice(cut).sort((a, b) => a - b),
      ];
      await env.network.partition(groups);
      nodes = all;
      detail = `split into ${groups.map(list).join(' | ')}`;
      break;
    }
    case 'ring':
      await env.network.ring();
      nodes = all;
      detail = 'majorities ring: each node sees a different majority';
      break;
    case 'one-way': {
      const [from, to] = shuffled(env.rng, all);
      await env.network.dropOneWay(from!, to!);
      nodes = [from!, to!];
      detail = `drop packets from node ${from} to node ${to} (the other way passes)`;
      break;
    }
  }
  record(env, 'partition', 'start', nodes, detail);
  return async () => {
    await env.network.heal();
    record(env, 'partition', 'heal', nodes, 'network healed');
  };
}

async function slow(env: NemesisEnv): Promise<Heal> {
  const all = range(env.cluster.size);
  const detail = await env.network.slow({ delayMs: 50, jitterMs: 25, lossPercent: 5 });
  record(env, 'slow', 'start', all, detail);
  return async () => {
    await env.network.heal();
    record(env, 'slow', 'heal', all, 'network healed');
  };
}

/** Steps one node's wall clock by up to ±5 minutes, or several nodes' apart from each other. */
async function clock(env: NemesisEnv): Promise<Heal> {
  const size = env.cluster.size;
  const nodes = env.rng.next() < 0.5 ? [env.rng.int(size)] : shuffled(env.rng, range(size));
  const offsets = nodes.map(() => env.rng.int(600) - 300 || 1);
  await Promise.all(nodes.map((id, i) => env.cluster.setClockOffset(id, offsets[i]!)));
  const detail = nodes.map((id, i) => `node ${id} ${offsets[i]! > 0 ? '+' : ''}${offsets[i]} s`);
  record(env, 'clock', 'start', nodes, `wall clock stepped: ${detail.join(', ')}`);
  return async () => {
    await Promise.all(nodes.map((id) => env.cluster.setClockOffset(id, 0)));
    record(env, 'clock', 'heal', nodes, 'wall clocks reset');
  };
}

const TARGETS: readonly Target[] = ['one', 'controller', 'leader', 'majority'];

async function pickTargets(
  env: NemesisEnv,
  target: Target,
): Promise<{ nodes: number[]; how: string }> {
  const size = env.cluster.size;
  const random = env.rng.int(size);
  switch (target) {
    case 'one':
      return { nodes: [random], how: `node ${random} (random)` };
    case 'majority': {
      const nodes = shuffled(env.rng, range(size))
        .slice(0, Math.floor(size / 2) + 1)
        .sort((a, b) => a - b);
      return { nodes, how: `a majority: nodes ${list(nodes)}` };
    }
    case 'controller':
    case 'leader': {
      const found = await lookUp(env, target);
      if (found === null) {
        return { nodes: [random], how: `node ${random} (random: no ${target} answered)` };
      }
      return {
        nodes: [found],
        how: `node ${found} (the ${target === 'leader' ? 'leader of a partition' : 'active controller'})`,
      };
    }
  }
}

/** The active controller, or the leader of a random partition; null when nobody answers. */
async function lookUp(env: NemesisEnv, what: 'controller' | 'leader'): Promise<number | null> {
  const admin = new Admin({
    bootstrap: env.cluster.bootstrap,
    requestTimeoutMs: LOOKUP_TIMEOUT_MS,
    retries: 0,
  });
  try {
    if (what === 'controller') {
      const cluster = await admin.describeCluster();
      return cluster.controllerId >= 0 ? cluster.controllerId : null;
    }
    const metadata = await admin.metadata([env.topic]);
    const leaders = (metadata.topics[0]?.partitions ?? [])
      .map((p) => p.leaderId)
      .filter((leader) => leader >= 0);
    return leaders.length === 0 ? null : pick(env.rng, leaders);
  } catch {
    return null;
  } finally {
    await admin.close().catch(() => undefined);
  }
}

function record(
  env: NemesisEnv,
  kind: FaultKind,
  phase: NemesisValue['phase'],
  nodes: readonly number[],
  detail: string,
): void {
  env.history.record<FaultKind, NemesisValue>(NEMESIS_PROCESS, 'info', kind, {
    phase,
    nodes,
    detail,
  });
  env.log(`nemesis: ${phase} ${kind}: ${detail}`);
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function list(nodes: readonly number[]): string {
  return nodes.join(',');
}
