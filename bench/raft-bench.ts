/**
 * `npm run bench -- raft [options]`: a 3-node Raft quorum of real processes, beside its raw
 * limits.
 *
 * The run:
 *   0. raw LevelDB in a child process (raw-limits.ts), per entry size: synced writes of one
 *      pipeline's worth of entry-sized values (entriesPerProposal × inflight per write, the
 *      most one Raft Ready can carry here), plus a small state key per write, as Raft writes
 *      its hard state;
 *   1. raw loopback gRPC (raw-grpc.ts), per entry size: the same Propose loop against a server
 *      that answers at once;
 *   2. start 3 `brook server` processes with --voters and default Raft timeouts, wait for a
 *      leader;
 *   3. per entry size: pipelined Propose calls at the leader for --seconds (raft-workload.ts),
 *      with the CPU of the brokers, the client and everything else;
 *   4. --failovers times: SIGKILL the leader under light load, time kill → first commit
 *      through the new leader, restart the killed node, wait until it caught up;
 *   5. stop the cluster, remove its dirs; raw LevelDB again, as in step 0.
 * Raw runs happen while no broker runs, so nothing competes with them. Bounds: each step stops
 * at its share of --max-seconds and reports what it measured; a watchdog exits 30 s past it.
 */
import { brokerDefinition } from '../src/config/index.js';
import { machineFacts, startCpuMeterOf } from './measure.js';
import { OTHER_CORES_NOTICEABLE, RAW_TIME_MIN_MS, withWatchdog } from './run-bounds.js';
import { parseRaftOptions, type RaftBenchOptions } from './raft-options.js';
import { RaftCluster } from './raft-cluster.js';
import { measureRawGrpc } from './raw-grpc.js';
import { runRawLevelDb } from './raw-limits.js';
import {
  cpuCores,
  failoverFigures,
  ratio,
  rawEntriesPerSec,
  raftTargets,
  renderRaftText,
  type RaftBenchReport,
  type RaftSizeFigures,
} from './raft-report.js';
import { rawRun, type RawRun } from './report.js';
import {
  measureFailover,
  measureThroughput,
  type FailoverResult,
  type ProposeTarget,
  type ThroughputResult,
} from './raft-workload.js';
import { makeValuePool } from './workloads.js';
import { encodePaddedEmptyEntry } from '../src/metadata/index.js';

/** Where in --max-seconds each step must stop. */
const RAW_LEVELDB_BEFORE_SHARE = 0.1;
const RAW_GRPC_SHARE = 0.3;
const CLUSTER_SHARE = 0.9;
/** Bytes the Raft store adds to each entry's value (store-codec.ts: version, CRC, term, index, type). */
const RAFT_ENTRY_VALUE_OVERHEAD_BYTES = 22;
/** Bounds of one raw LevelDB run: entries, and bytes of values. */
const RAW_ENTRIES_MAX = 500_000;
const RAW_VALUE_BYTES_MAX = 100_000_000;
const FAILOVER_ENTRY_BYTES = 100;
/** The nodes run with the broker's defaults; say which, read from the one config table. */
const RAFT_DEFAULTS = (
  ['raft.tick.ms', 'raft.election.timeout.ms', 'raft.heartbeat.interval.ms'] as const
)
  .map((name) => `${name} ${brokerDefinition(name)?.defaultValue ?? '?'}`)
  .join(', ');

export async function runRaftBench(argv: readonly string[]): Promise<void> {
  const options = parseRaftOptions(argv);
  const startedAtMs = Date.now();
  const limitMs = options.maxSeconds * 1_000;
  const report = await withWatchdog(limitMs, () => run(options, startedAtMs, limitMs));
  const text = options.isJson ? JSON.stringify(report, null, 2) : renderRaftText(report);
  process.stdout.write(`${text}\n`);
}

interface SizeRuns {
  rawLevelDb: RawRun[];
  rawGrpc: ThroughputResult | null;
  raft: (ThroughputResult & { cpu: ReturnType<typeof cpuCores> | null }) | null;
}

async function run(
  options: RaftBenchOptions,
  startedAtMs: number,
  limitMs: number,
): Promise<RaftBenchReport> {
  const notes: string[] = [];
  // Propose takes only empty metadata entries; padding makes them the size under test.
  const pools = new Map(
    options.entryBytes.map((b) => [
      b,
      makeValuePool(b).map((_, i) => encodePaddedEmptyEntry(b, String(i % 10))),
    ]),
  );
  const runs = new Map<number, SizeRuns>(
    options.entryBytes.map((b) => [b, { rawLevelDb: [], rawGrpc: null, raft: null }]),
  );
  for (const bytes of options.entryBytes) {
    const raw = await rawLevelDb(
      options,
      bytes,
      'before',
      startedAtMs + limitMs * RAW_LEVELDB_BEFORE_SHARE,
    );
    if (raw !== null) runs.get(bytes)!.rawLevelDb.push(raw);
  }
  for (const bytes of options.entryBytes) {
    const deadlineMs = startedAtMs + limitMs * RAW_GRPC_SHARE;
    if (deadlineMs - Date.now() < RAW_TIME_MIN_MS) continue;
    runs.get(bytes)!.rawGrpc = await measureRawGrpc(pools.get(bytes)!, {
      ...settingsFor(options, bytes, deadlineMs),
      label: `raw gRPC ${bytes} B`,
    });
  }
  const cluster = await RaftCluster.start(options.brookBin);
  const failovers: FailoverResult[] = [];
  let brokerWarnings = 0;
  try {
    const clusterDeadlineMs = startedAtMs + limitMs * CLUSTER_SHARE;
    const { node } = await cluster.waitForLeader(clusterDeadlineMs);
    process.stderr.write(`bench: cluster up, leader node ${node.nodeId}\n`);
    for (const bytes of options.entryBytes) {
      runs.get(bytes)!.raft = await measureRaft(
        cluster,
        options,
        pools.get(bytes)!,
        bytes,
        clusterDeadlineMs,
      );
    }
    const entry =
      pools.get(FAILOVER_ENTRY_BYTES)?.[0] ?? encodePaddedEmptyEntry(FAILOVER_ENTRY_BYTES);
    for (let i = 0; i < options.failovers && Date.now() < clusterDeadlineMs; i++) {
      const result = await measureFailover(cluster, entry, clusterDeadlineMs);
      process.stderr.write(
        `bench: failover ${i + 1}: first commit after ${result.committedMs} ms\n`,
      );
      failovers.push(result);
    }
    if (failovers.length < options.failovers) {
      notes.push(
        `only ${failovers.length} of ${options.failovers} failovers fitted in --max-seconds`,
      );
    }
  } finally {
    brokerWarnings = cluster.warningCount();
    await cluster.dispose();
  }
  for (const bytes of options.entryBytes) {
    const raw = await rawLevelDb(options, bytes, 'after', startedAtMs + limitMs);
    if (raw !== null) runs.get(bytes)!.rawLevelDb.push(raw);
  }
  if (brokerWarnings > 0) {
    notes.push(
      'the brokers log warnings and errors when a peer dies (its streams fail and are retried): the failovers cause them',
    );
  }
  return assemble(options, startedAtMs, runs, failovers, brokerWarnings, notes);
}

function settingsFor(options: RaftBenchOptions, entryBytes: number, deadlineMs: number) {
  return {
    entryBytes,
    entriesPerProposal: options.entriesPerProposal,
    inflight: options.inflight,
    seconds: options.phaseSeconds,
    deadlineMs,
  };
}

/** One throughput phase through the quorum, at whichever node leads (following hints). */
async function measureRaft(
  cluster: RaftCluster,
  options: RaftBenchOptions,
  pool: readonly Buffer[],
  entryBytes: number,
  deadlineMs: number,
): Promise<SizeRuns['raft']> {
  let leaderId = (await cluster.waitForLeader(deadlineMs)).node.nodeId;
  const target: ProposeTarget = {
    address: () => cluster.addressOf(leaderId),
    redirect: (hint) => {
      if (hint >= 0 && cluster.addressOf(hint) !== null) leaderId = hint;
    },
  };
  const meter = await startCpuMeterOf(cluster.pids());
  const phaseStartMs = performance.now();
  const result = await measureThroughput(cluster.clients, target, pool, {
    ...settingsFor(options, entryBytes, deadlineMs),
    label: `raft ${entryBytes} B`,
  });
  // The meter spans the warm-up too; its share of CPU is the same load, so cores stay comparable.
  const cpu = await meter();
  return { ...result, cpu: cpuCores(cpu, (performance.now() - phaseStartMs) / 1_000) };
}

async function rawLevelDb(
  options: RaftBenchOptions,
  entryBytes: number,
  when: 'before' | 'after',
  deadlineMs: number,
): Promise<RawRun | null> {
  if (deadlineMs - Date.now() < RAW_TIME_MIN_MS) return null;
  const valueBytes = entryBytes + RAFT_ENTRY_VALUE_OVERHEAD_BYTES;
  const entries = Math.max(
    1,
    Math.min(RAW_ENTRIES_MAX, Math.floor(RAW_VALUE_BYTES_MAX / valueBytes)),
  );
  const result = await runRawLevelDb({
    batchCount: entries,
    recordsPerBatch: 1,
    recordBytes: entryBytes,
    valueBytes,
    isChained: true,
    groupBatches: rawGroupEntries(options),
    sync: true,
    hasStateKey: true,
    read: false,
    deadlineMs,
  });
  return rawRun(result, when, entryBytes);
}

function rawGroupEntries(options: RaftBenchOptions): number {
  return options.entriesPerProposal * options.inflight;
}

function assemble(
  options: RaftBenchOptions,
  startedAtMs: number,
  runs: Map<number, SizeRuns>,
  failoverRuns: readonly FailoverResult[],
  brokerWarnings: number,
  notes: string[],
): RaftBenchReport {
  const sizes: RaftSizeFigures[] = options.entryBytes.map((entryBytes) => {
    const r = runs.get(entryBytes)!;
    const rawLevelDbEntriesPerSec = rawEntriesPerSec(r.rawLevelDb);
    return {
      entryBytes,
      raft: r.raft,
      rawGrpc: r.rawGrpc,
      rawLevelDb: r.rawLevelDb,
      rawLevelDbEntriesPerSec,
      ratios: {
        toRawGrpc: ratio(r.raft?.entriesPerSec, r.rawGrpc?.entriesPerSec),
        toRawLevelDb: ratio(r.raft?.entriesPerSec, rawLevelDbEntriesPerSec),
      },
    };
  });
  for (const size of sizes) {
    const other = size.raft?.cpu?.other ?? null;
    if (other !== null && other > OTHER_CORES_NOTICEABLE) {
      notes.push(
        `other processes kept ${other} of ${machineFacts().cores} cores busy during the ` +
          `${size.entryBytes} B phase: the machine was shared, so its figures are low and noisy`,
      );
    }
  }
  const failover = failoverFigures(failoverRuns);
  const isComplete =
    failoverRuns.length === options.failovers &&
    sizes.every(
      (s) =>
        s.raft?.isComplete === true &&
        s.rawGrpc?.isComplete === true &&
        s.rawLevelDb.length === 2 &&
        s.rawLevelDb.every((run) => run.write.isComplete),
    );
  return {
    benchmark: 'raft',
    startedAt: new Date(startedAtMs).toISOString(),
    isComplete,
    settings: {
      nodes: 3,
      entryBytes: options.entryBytes,
      entriesPerProposal: options.entriesPerProposal,
      inflight: options.inflight,
      phaseSeconds: options.phaseSeconds,
      failovers: options.failovers,
      raftDefaults: RAFT_DEFAULTS,
      rawGroupEntries: rawGroupEntries(options),
      maxSeconds: options.maxSeconds,
    },
    machine: machineFacts(),
    sizes,
    failover,
    targets: raftTargets(options, sizes, failover),
    brokerWarnings,
    notes,
  };
}
