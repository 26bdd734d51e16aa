/**
 * The Raft benchmark's result: one plain object (printed as JSON with --json) and its
 * human-readable rendering. MB is 10^6 bytes; payload bytes are entries × entry bytes, the unit
 * of every MB/s, Raft and yardsticks alike.
 */
import { formatInt, type CpuUse, type MachineFacts } from './measure.js';
import type { RaftBenchOptions } from './raft-options.js';
import type { FailoverResult, ThroughputResult } from './raft-workload.js';
import type { RawRun, Target } from './report.js';

/** One entry size: Raft through the quorum, beside its two yardsticks. */
export interface RaftSizeFigures {
  readonly entryBytes: number;
  /** Null when the time limit left no time for the phase. */
  readonly raft: (ThroughputResult & { readonly cpu: CpuCores | null }) | null;
  readonly rawGrpc: ThroughputResult | null;
  /** Raw LevelDB runs: before the cluster started and after it stopped. */
  readonly rawLevelDb: readonly RawRun[];
  readonly rawLevelDbEntriesPerSec: number | null;
  readonly ratios: {
    /** Raft entries/s ÷ raw loopback gRPC entries/s (same calls, answered at once). */
    readonly toRawGrpc: number | null;
    /** Raft entries/s ÷ raw LevelDB synced-write entries/s (mean of the runs). */
    readonly toRawLevelDb: number | null;
  };
}

/** CPU over a phase as cores busy on average: the three brokers together, the client, others. */
export interface CpuCores {
  readonly brokers: number | null;
  readonly client: number | null;
  readonly other: number | null;
}

export interface FailoverFigures {
  readonly runs: readonly FailoverResult[];
  readonly committedMsMedian: number | null;
  readonly committedMsMax: number | null;
}

export interface RaftBenchReport {
  readonly benchmark: 'raft';
  readonly startedAt: string;
  readonly isComplete: boolean;
  readonly settings: {
    readonly nodes: number;
    readonly entryBytes: readonly number[];
    readonly entriesPerProposal: number;
    readonly inflight: number;
    readonly phaseSeconds: number;
    readonly failovers: number;
    readonly raftDefaults: string;
    /** Entries per raw LevelDB write: one pipeline's worth (entriesPerProposal × inflight). */
    readonly rawGroupEntries: number;
    readonly maxSeconds: number;
  };
  readonly machine: MachineFacts;
  readonly sizes: readonly RaftSizeFigures[];
  readonly failover: FailoverFigures;
  readonly targets: readonly Target[];
  readonly brokerWarnings: number;
  readonly notes: readonly string[];
}

export function cpuCores(cpu: CpuUse, seconds: number): CpuCores {
  const cores = (s: number | null): number | null =>
    s === null ? null : Math.round((s / Math.max(seconds, 1e-9)) * 100) / 100;
  return {
    brokers: cores(cpu.brokerSeconds),
    client: cores(cpu.clientSeconds),
    other: cores(cpu.otherSeconds),
  };
}

export function ratio(
  value: number | null | undefined,
  base: number | null | undefined,
): number | null {
  if (value == null || base == null || base <= 0) return null;
  return Math.round((value / base) * 1000) / 1000;
}

/** Mean entries/s of raw LevelDB runs (records in a raw run are entries here). */
export function rawEntriesPerSec(runs: readonly RawRun[]): number | null {
  if (runs.length === 0) return null;
  const rates = runs.map((r) => r.write.recordsPerSec);
  return Math.round(rates.reduce((a, b) => a + b, 0) / rates.length);
}

export function failoverFigures(runs: readonly FailoverResult[]): FailoverFigures {
  const sorted = runs.map((r) => r.committedMs).sort((a, b) => a - b);
  const middle = sorted.length === 0 ? null : sorted[Math.floor((sorted.length - 1) / 2)]!;
  return {
    runs,
    committedMsMedian: middle,
    committedMsMax: sorted.length === 0 ? null : sorted[sorted.length - 1]!,
  };
}

/** The two targets; each applies only to the settings it is defined for. */
export function raftTargets(
  options: RaftBenchOptions,
  sizes: readonly RaftSizeFigures[],
  failover: FailoverFigures,
): Target[] {
  const small = sizes.find((s) => s.entryBytes === 100)?.raft ?? null;
  const isBatched = options.entriesPerProposal > 1;
  return [
    {
      name: 'committed 100 B entries/s >= 20,000',
      isMet: small === null || !isBatched ? null : small.entriesPerSec >= 20_000,
      value: small?.entriesPerSec ?? null,
      threshold: 20_000,
      note: isBatched
        ? 'defined for 100 B entries with client batching on'
        : 'not applicable: defined for batched proposals (--entries-per-proposal > 1)',
    },
    {
      name: 'new leader committing within 3 s of the kill',
      isMet: failover.committedMsMax === null ? null : failover.committedMsMax <= 3_000,
      value: failover.committedMsMax,
      threshold: 3_000,
      note: 'every kill counts (the worst one is the value); default timeouts',
    },
  ];
}

type Row = (label: string, text: string) => void;

export function renderRaftText(report: RaftBenchReport): string {
  const lines: string[] = [];
  const row: Row = (label, text) => lines.push(`${label.padEnd(18)}${text}`);
  lines.push(`Brook bench: raft${report.isComplete ? '' : ' (INCOMPLETE: time limit)'}`);
  const s = report.settings;
  row(
    'settings',
    `${s.nodes} nodes on loopback, ${s.raftDefaults}; proposals of ${s.entriesPerProposal} ` +
      `entries, ${s.inflight} in flight, ${s.phaseSeconds} s per size; ${s.failovers} leader kills`,
  );
  const m = report.machine;
  row(
    'machine',
    `${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `node ${m.node}, ${m.platform}, kernel ${m.kernel}`,
  );
  for (const size of report.sizes) renderSize(size, s.rawGroupEntries, row);
  renderFailover(report.failover, row);
  for (const target of report.targets) {
    const verdict = target.isMet === null ? 'n/a' : target.isMet ? 'MET' : 'NOT MET';
    row('target', `${target.name}: ${verdict} (${target.value ?? 'n/a'}; ${target.note})`);
  }
  if (report.brokerWarnings > 0) row('brokers', `${report.brokerWarnings} warning/error log lines`);
  for (const note of report.notes) row('note', note);
  return lines.join('\n');
}

function renderSize(size: RaftSizeFigures, rawGroupEntries: number, row: Row): void {
  const label = `${formatInt(size.entryBytes)} B entries`;
  if (size.raft === null) {
    row(label, 'not measured (no time left)');
    return;
  }
  row(label, throughputText(size.raft));
  row('  latency (ms)', latencyText(size.raft));
  if (size.raft.cpu !== null) {
    const c = size.raft.cpu;
    row(
      '  CPU (cores)',
      `3 brokers ${c.brokers ?? 'n/a'}, client ${c.client ?? 'n/a'}, other processes ${c.other ?? 'n/a'}`,
    );
  }
  if (size.rawGrpc !== null) {
    row('  raw gRPC', `${throughputText(size.rawGrpc)}; p50 ${size.rawGrpc.latency.p50Ms} ms`);
  }
  for (const run of size.rawLevelDb) {
    row(
      `  LevelDB ${run.when}`,
      `${formatInt(run.write.recordsPerSec)} entries/s, ${run.write.mbPerSec.toFixed(1)} MB/s ` +
        `(${rawGroupEntries} entries per synced write)`,
    );
  }
  const r = size.ratios;
  row(
    '  ratio',
    `Raft = ${pct(r.toRawGrpc)} of raw gRPC, ${pct(r.toRawLevelDb)} of raw LevelDB (entries/s)`,
  );
}

function renderFailover(failover: FailoverFigures, row: Row): void {
  if (failover.runs.length === 0) {
    row('failover', 'not measured');
    return;
  }
  for (const [i, run] of failover.runs.entries()) {
    row(
      i === 0 ? 'failover' : '',
      `kill node ${run.killedNodeId} (term ${run.oldTerm}): node ${run.newLeaderId} elected after ` +
        `${run.electedMs ?? 'n/a'} ms, first commit through it after ${run.committedMs} ms ` +
        `(term ${run.newTerm}; ${run.failedCalls} calls failed meanwhile)`,
    );
  }
  row(
    '',
    `kill to first commit: median ${failover.committedMsMedian} ms, max ${failover.committedMsMax} ms`,
  );
}

function throughputText(t: ThroughputResult): string {
  return (
    `${formatInt(t.entries)} entries in ${t.seconds.toFixed(2)} s: ` +
    `${formatInt(t.entriesPerSec)} entries/s, ${t.mbPerSec.toFixed(1)} MB/s, ` +
    `${formatInt(t.proposals / Math.max(t.seconds, 1e-9))} calls/s` +
    (t.failedProposals > 0 ? `, ${t.failedProposals} calls failed (${t.firstError})` : '') +
    (t.isComplete ? '' : ' (stopped by the time limit)')
  );
}

function latencyText(t: ThroughputResult): string {
  const l = t.latency;
  return `p50 ${l.p50Ms}  p99 ${l.p99Ms}  p99.9 ${l.p999Ms}  max ${l.maxMs}  (Propose round trip)`;
}

function pct(value: number | null): string {
  return value === null ? 'n/a' : `${(value * 100).toFixed(1)}%`;
}
