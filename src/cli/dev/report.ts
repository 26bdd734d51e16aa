/**
 * What `brook dev` tells the user, as pure functions of the plan and of what happened: the block
 * printed on stdout once the cluster is ready, and the pieces of its failure messages.
 */
import path from 'node:path';
import type { ClusterDescription } from '../../client/index.js';
import type { DevClusterPlan } from './plan.js';

/** Replicas the example topic asks for at most. */
const EXAMPLE_REPLICATION_FACTOR_MAX = 3;

/** How a node process ended. */
export interface NodeExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  readonly spawnError?: string;
}

export interface ReadyTextInput {
  readonly plan: DevClusterPlan;
  readonly clusterId: string;
  readonly leaderId: number;
  /** --replication-factor of the example topic; see exampleReplicationFactor. */
  readonly replicationFactor: number;
  /** How to run bin/brook from `cwd`, e.g. `./bin/brook`. */
  readonly brookCommand: string;
  readonly cwd: string;
}

/**
 * The stdout block once the cluster is ready: a summary line, the bootstrap list on a line of
 * its own starting `bootstrap: `, where the logs are, and commands to paste into a shell.
 */
export function readyText(input: ReadyTextInput): string {
  const { plan, brookCommand: brook } = input;
  const first = plan.nodes[0];
  const last = plan.nodes[plan.nodes.length - 1];
  const observers = plan.nodes.filter((node) => !node.isVoter).map((node) => node.id);
  const membership =
    observers.length === 0
      ? `Raft voters ${plan.voterIds.join(',')}`
      : `Raft voters ${plan.voterIds.join(',')}, observers ${observers.join(',')}`;
  const nodeCount = plan.nodes.length;
  const dir = displayPath(plan.dataDir, input.cwd);
  const logs =
    first === undefined || last === undefined || first === last
      ? displayPath(first?.logFile ?? plan.dataDir, input.cwd)
      : `${displayPath(first.logFile, input.cwd)} … ${path.basename(last.logFile)}`;
  return `Brook dev cluster ready: ${nodeCount} ${nodeCount === 1 ? 'node' : 'nodes'}, ${membership}, leader node ${input.leaderId}, cluster id ${input.clusterId}

bootstrap: ${plan.bootstrap}
logs:      ${logs} (JSON lines; follow them with: tail -f ${shellWord(dir)}/node-*.log)
data:      ${dir}

Try it in another terminal:
  export BROOK_BOOTSTRAP=${plan.bootstrap}
  ${brook} topics create demo --partitions 3 --replication-factor ${input.replicationFactor}
  echo "hello, brook" | ${brook} produce demo
  ${brook} consume demo --from-beginning --max-messages 1
  ${brook} cluster describe

Ctrl-C stops every node.
`;
}

/**
 * The example topic's replication factor: 3, or fewer when the cluster has fewer brokers. A topic
 * cannot have more replicas than the brokers the creating node knows, so this is also capped by
 * the shortest broker list among the answers (a node that has not yet applied every broker's
 * registration lists fewer).
 */
export function exampleReplicationFactor(answers: readonly (ClusterDescription | null)[]): number {
  const brokersKnown = answers.map((answer) => answer?.brokers.length ?? 0);
  return Math.max(1, Math.min(EXAMPLE_REPLICATION_FACTOR_MAX, answers.length, ...brokersKnown));
}

/** `file` relative to `cwd` when it lies inside it (`.` for cwd itself), else absolute. */
export function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  if (relative === '') return '.';
  if (relative.startsWith('..') || path.isAbsolute(relative)) return file;
  return relative;
}

/** How to run `brookBin` from `cwd` in a shell: `./bin/brook`, or its absolute path. */
export function brookCommand(brookBin: string, cwd: string): string {
  const shown = displayPath(brookBin, cwd);
  return shellWord(path.isAbsolute(shown) ? shown : `.${path.sep}${shown}`);
}

/** `text` as one POSIX shell word: as is when it is safe, else single-quoted. */
export function shellWord(text: string): string {
  if (/^[\w@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The last `count` non-empty lines of `text`, without their line endings. */
export function lastLines(text: string, count: number): string[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  return lines.slice(Math.max(0, lines.length - count));
}

/** `exited with code 1`, `was killed by signal SIGKILL`, or why it could not start. */
export function describeExit(exit: NodeExit): string {
  if (exit.spawnError !== undefined) return `could not be started: ${exit.spawnError}`;
  if (exit.signal !== null) return `was killed by signal ${exit.signal}`;
  return `exited with code ${exit.code ?? 'unknown'}`;
}

/**
 * The one-line error a `brook server` printed before exiting (`brook: data dir ... belongs to
 * cluster ...`), without its `brook: ` prefix; null when the lines hold none.
 */
export function serverErrorOf(lines: readonly string[]): string | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (line?.startsWith('brook: ') === true) return line.slice('brook: '.length).trim();
  }
  return null;
}
