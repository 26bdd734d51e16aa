/**
 * The group benchmark's result: one plain object (printed as JSON with --json) and its
 * human-readable rendering. MB is 10^6 bytes; payload bytes are records × record bytes, the
 * unit of every MB/s, group, single consumer and raw LevelDB alike.
 */
import {
  summarizeTakeovers,
  effectiveHeartbeatIntervalMs,
  type TakeoverSummary,
} from './group-events.js';
import type { GroupMeasurements } from './group-bench.js';
import type { LoadResult, TrialResult } from './group-failover.js';
import type { GroupBenchOptions } from './group-options.js';
import { AUTO_COMMIT_INTERVAL_MS, type ConsumeRun, type MemberShare } from './group-phases.js';
import {
  MB,
  formatInt,
  machineFacts,
  round,
  type CpuByProcesses,
  type MachineFacts,
} from './measure.js';
import { LABEL_WIDTH, cpuText, pct, phaseText, type Row } from './report-format.js';
import { produceFigures, rawFigures, type LatencyPhaseFigures, type RawFigures } from './report.js';
import { OTHER_CORES_NOTICEABLE } from './run-bounds.js';

/** CPU over a consume phase: seconds, and cores busy on average over the meter's span. */
export interface GroupCpuFigures {
  /** The consumer child processes together (the members, or the single consumer). */
  readonly consumersSeconds: number | null;
  readonly consumersCores: number | null;
  readonly brokersSeconds: number | null;
  readonly brokersCores: number | null;
  /** The benchmark process (it listens to the children; in the failover phase it also produces the load). */
  readonly benchSeconds: number | null;
  readonly benchCores: number | null;
  readonly otherSeconds: number | null;
  readonly otherCores: number | null;
}

/**
 * A consume phase, timed from the first record any consumer got to the last record (the
 * headline figures), and from the moment the consumers were told to read (which also counts
 * the wait for each one's first fetch).
 */
export interface ConsumeFigures {
  /** Distinct records read (the preload's, when complete). */
  readonly records: number;
  /** Records handed to the loops, duplicates included. */
  readonly recordsHandedOut: number;
  readonly payloadBytes: number;
  /** First record to last. */
  readonly seconds: number;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  /** From the start of reading to the last record. */
  readonly secondsFromStart: number;
  readonly mbPerSecFromStart: number;
  /** From the start of reading to the first record any consumer got. */
  readonly firstRecordMs: number | null;
  readonly isComplete: boolean;
  /** Over the meter's span (the start of reading until the last record was seen). */
  readonly cpu: GroupCpuFigures | null;
}

export interface GroupConsumeFigures extends ConsumeFigures {
  /** From starting the member processes to a stable group, before any record is read. */
  readonly formationMs: number;
  readonly coordinatorId: number;
  readonly members: readonly MemberShare[];
  /** recordsHandedOut − records: records read twice (a rebalance during the phase). */
  readonly duplicates: number;
}

export interface FailoverFigures {
  readonly coordinatorId: number;
  readonly sessionTimeoutMs: number;
  /** The heartbeat interval the coordinator gives the members. */
  readonly heartbeatIntervalMs: number;
  readonly kills: readonly TrialResult[];
  readonly closes: readonly TrialResult[];
  /** Kill → first record at another member, over every partition of every kill; base: session. */
  readonly kill: TakeoverSummary;
  /** Kill → onPartitionsAssigned at another member; base: session. */
  readonly killAssigned: TakeoverSummary;
  /** close() → first record at another member; base: the heartbeat interval. */
  readonly close: TakeoverSummary;
  readonly closeAssigned: TakeoverSummary;
  readonly load: LoadResult;
  /** Over the whole failover phase; `consumers` are the members, started and stopped in it. */
  readonly cpu: GroupCpuFigures | null;
}

export interface GroupBenchReport {
  readonly benchmark: 'group';
  readonly startedAt: string;
  readonly isComplete: boolean;
  readonly settings: {
    readonly nodes: number;
    readonly replicationFactor: number;
    readonly minInsyncReplicas: number;
    readonly fsync: string;
    readonly partitions: number;
    readonly records: number;
    readonly recordBytes: number;
    readonly batchRecords: number;
    readonly members: number;
    /** The failover members' session timeout. */
    readonly sessionTimeoutMs: number;
    /** The consume phase's members' session timeout. */
    readonly consumeSessionTimeoutMs: number;
    /** The brokers' group.consumer.heartbeat.interval.ms. */
    readonly brokerHeartbeatIntervalMs: number;
    /** What the failover members get: min(the broker's, ⌊session / 3⌋). */
    readonly memberHeartbeatIntervalMs: number;
    readonly commit: string;
    readonly autoCommitIntervalMs: number;
    readonly loadIntervalMs: number;
    readonly loadRecordsPerSec: number;
    readonly kills: number;
    readonly closes: number;
    readonly brokerFlags: readonly string[];
    readonly maxSeconds: number;
  };
  readonly machine: MachineFacts;
  /** Leader node id of each partition once the topic was in sync. */
  readonly leaders: readonly number[];
  /** The preload (not measured: it fills the topic). */
  readonly preload: LatencyPhaseFigures | null;
  readonly single: {
    readonly before: ConsumeFigures | null;
    readonly after: ConsumeFigures | null;
    /** Mean MB/s of the complete runs, first record to last. */
    readonly meanMbPerSec: number | null;
    /** The same from the start of reading. */
    readonly meanMbPerSecFromStart: number | null;
  };
  readonly group: GroupConsumeFigures | null;
  readonly rawLevelDb: RawFigures | null;
  readonly ratios: {
    /** Group MB/s ÷ the single consumer's mean MB/s, first record to last (the headline). */
    readonly groupToSingle: number | null;
    /** The same from the start of reading (each consumer's first fetch included). */
    readonly groupToSingleFromStart: number | null;
    /** Group MB/s ÷ raw LevelDB's mean sequential-read MB/s. */
    readonly groupToRawRead: number | null;
    readonly singleToRawRead: number | null;
  };
  readonly failover: FailoverFigures | null;
  readonly brokerWarnings: number;
  readonly notes: readonly string[];
}

/** The report's settings fields that do not come from a measurement. */
export interface GroupRunFacts {
  readonly brokerFlags: readonly string[];
  /** Values per raw LevelDB write (db.batch()). */
  readonly rawGroupBatches: number;
  readonly nodes: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
}

export function assembleGroupReport(
  options: GroupBenchOptions,
  startedAtMs: number,
  facts: GroupRunFacts,
  m: GroupMeasurements,
): GroupBenchReport {
  const recordBytes = options.recordBytes;
  const before = m.singleBefore === null ? null : consumeFigures(m.singleBefore, recordBytes);
  const after = m.singleAfter === null ? null : consumeFigures(m.singleAfter, recordBytes);
  const group = m.group === null ? null : groupFigures(m.group, recordBytes);
  const single = singleFigures(before, after);
  const groupDone = group?.isComplete === true ? group : null;
  const raw =
    m.rawRuns.length === 0
      ? null
      : rawFigures(
          m.rawRuns.map((r) => r.run),
          facts.rawGroupBatches,
          m.rawRuns[0]!.valueBytesPerBatch,
          true,
        );
  const settings = settingsOf(options, facts);
  const failover =
    m.failover === null
      ? null
      : failoverFigures(m.failover, settings.sessionTimeoutMs, settings.memberHeartbeatIntervalMs);
  const notes = [
    ...m.notes,
    ...disturbance([
      ['single consumer (before)', before],
      ['group', group],
      ['single consumer (after)', after],
    ]),
  ];
  if (group !== null && group.duplicates > 0) {
    notes.push(
      `the group read ${formatInt(group.duplicates)} records twice: a rebalance during its phase`,
    );
  }
  return {
    benchmark: 'group',
    startedAt: new Date(startedAtMs).toISOString(),
    isComplete:
      m.preload?.produced.isComplete === true &&
      isRunComplete(options, [before, after, group], raw, failover),
    settings,
    machine: machineFacts(),
    leaders: m.leaders,
    preload: m.preload === null ? null : produceFigures(m.preload.produced, m.preload.cpu),
    single,
    group,
    rawLevelDb: raw,
    ratios: {
      groupToSingle: ratio(groupDone?.mbPerSec, single.meanMbPerSec),
      groupToSingleFromStart: ratio(groupDone?.mbPerSecFromStart, single.meanMbPerSecFromStart),
      groupToRawRead: ratio(groupDone?.mbPerSec, raw?.readMbPerSec),
      singleToRawRead: ratio(single.meanMbPerSec, raw?.readMbPerSec),
    },
    failover,
    brokerWarnings: m.brokerWarnings,
    notes,
  };
}

/** The single consumer's two runs and the means of the complete ones. */
function singleFigures(
  before: ConsumeFigures | null,
  after: ConsumeFigures | null,
): GroupBenchReport['single'] {
  const complete = [before, after].filter((f): f is ConsumeFigures => f?.isComplete === true);
  const mean = (rate: (f: ConsumeFigures) => number): number | null =>
    complete.length === 0
      ? null
      : round(complete.reduce((sum, f) => sum + rate(f), 0) / complete.length, 2);
  return {
    before,
    after,
    meanMbPerSec: mean((f) => f.mbPerSec),
    meanMbPerSecFromStart: mean((f) => f.mbPerSecFromStart),
  };
}

/** Every phase ran to its end, both raw runs happened, every trial asked for was timed. */
function isRunComplete(
  options: GroupBenchOptions,
  consumes: readonly (ConsumeFigures | null)[],
  raw: RawFigures | null,
  failover: FailoverFigures | null,
): boolean {
  const isFailoverComplete =
    failover === null
      ? options.kills + options.closes === 0
      : failover.kills.length === options.kills &&
        failover.closes.length === options.closes &&
        failover.kill.missing === 0 &&
        failover.close.missing === 0;
  return (
    consumes.every((f) => f?.isComplete === true) &&
    raw?.runs.length === 2 &&
    raw.runs.every((r) => r.write.isComplete && r.read?.isComplete === true) &&
    isFailoverComplete
  );
}

function settingsOf(
  options: GroupBenchOptions,
  facts: GroupRunFacts,
): GroupBenchReport['settings'] {
  return {
    nodes: facts.nodes,
    replicationFactor: facts.replicationFactor,
    minInsyncReplicas: facts.minInsyncReplicas,
    fsync: 'always',
    partitions: options.partitionCount,
    records: options.recordCount,
    recordBytes: options.recordBytes,
    batchRecords: options.batchRecords,
    members: options.memberCount,
    sessionTimeoutMs: options.sessionTimeoutMs,
    consumeSessionTimeoutMs: options.consumeSessionTimeoutMs,
    brokerHeartbeatIntervalMs: options.heartbeatIntervalMs,
    memberHeartbeatIntervalMs: effectiveHeartbeatIntervalMs(
      options.heartbeatIntervalMs,
      options.sessionTimeoutMs,
    ),
    commit: 'auto-commit (enableAutoCommit: every autoCommitIntervalMs, on revocation, on close)',
    autoCommitIntervalMs: AUTO_COMMIT_INTERVAL_MS,
    loadIntervalMs: options.loadIntervalMs,
    loadRecordsPerSec: round((options.partitionCount * 1_000) / options.loadIntervalMs, 1),
    kills: options.kills,
    closes: options.closes,
    brokerFlags: facts.brokerFlags,
    maxSeconds: options.maxSeconds,
  };
}

export function consumeFigures(run: ConsumeRun, recordBytes: number): ConsumeFigures {
  const c = run.combined;
  const spanMs = c.firstAtMs === null || c.lastAtMs === null ? 0 : c.lastAtMs - c.firstAtMs;
  const fromStartMs = c.lastAtMs === null ? 0 : c.lastAtMs - run.goAtMs;
  const seconds = Math.max(spanMs / 1_000, 1e-3);
  const secondsFromStart = Math.max(fromStartMs / 1_000, 1e-3);
  const payloadBytes = c.distinctRecords * recordBytes;
  return {
    records: c.distinctRecords,
    recordsHandedOut: c.records,
    payloadBytes,
    seconds: round(spanMs / 1_000, 3),
    recordsPerSec: round(c.distinctRecords / seconds, 0),
    mbPerSec: round(payloadBytes / MB / seconds, 2),
    secondsFromStart: round(fromStartMs / 1_000, 3),
    mbPerSecFromStart: round(payloadBytes / MB / secondsFromStart, 2),
    firstRecordMs: c.firstAtMs === null ? null : c.firstAtMs - run.goAtMs,
    isComplete: c.isDone,
    cpu: run.cpu === null ? null : cpuFigures(run.cpu),
  };
}

function groupFigures(
  run: GroupMeasurements['group'] & object,
  recordBytes: number,
): GroupConsumeFigures {
  const figures = consumeFigures(run, recordBytes);
  return {
    ...figures,
    formationMs: run.formationMs,
    coordinatorId: run.coordinatorId,
    members: run.members,
    duplicates: figures.recordsHandedOut - figures.records,
  };
}

function cpuFigures(cpu: CpuByProcesses): GroupCpuFigures {
  const seconds = Math.max(cpu.wallSeconds, 1e-9);
  const s = (value: number | null | undefined): number | null =>
    value == null ? null : round(value, 2);
  const cores = (value: number | null | undefined): number | null =>
    value == null ? null : round(value / seconds, 2);
  return {
    consumersSeconds: s(cpu.seconds['consumers']),
    consumersCores: cores(cpu.seconds['consumers']),
    brokersSeconds: s(cpu.seconds['brokers']),
    brokersCores: cores(cpu.seconds['brokers']),
    benchSeconds: s(cpu.selfSeconds),
    benchCores: cores(cpu.selfSeconds),
    otherSeconds: s(cpu.otherSeconds),
    otherCores: cores(cpu.otherSeconds),
  };
}

function failoverFigures(
  run: NonNullable<GroupMeasurements['failover']>,
  sessionTimeoutMs: number,
  heartbeatIntervalMs: number,
): FailoverFigures {
  const takeovers = (trials: readonly TrialResult[]) => trials.map((t) => t.takeovers);
  const assigned = (trials: readonly TrialResult[]) =>
    trials.map((t) => t.takeovers.map((o) => ({ ...o, consumedAfterMs: o.assignedAfterMs })));
  return {
    coordinatorId: run.coordinatorId,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    kills: run.kills,
    closes: run.closes,
    kill: summarizeTakeovers(takeovers(run.kills), sessionTimeoutMs),
    killAssigned: summarizeTakeovers(assigned(run.kills), sessionTimeoutMs),
    close: summarizeTakeovers(takeovers(run.closes), heartbeatIntervalMs),
    closeAssigned: summarizeTakeovers(assigned(run.closes), heartbeatIntervalMs),
    load: run.load,
    cpu:
      run.cpu === null
        ? null
        : cpuFigures({
            ...run.cpu,
            seconds: { ...run.cpu.seconds, consumers: run.cpu.exitedChildrenSeconds },
          }),
  };
}

function ratio(value: number | null | undefined, base: number | null | undefined): number | null {
  if (value == null || base == null || base <= 0) return null;
  return round(value / base, 3);
}

function disturbance(phases: readonly [string, ConsumeFigures | null][]): string[] {
  const busy: string[] = [];
  for (const [name, figures] of phases) {
    const other = figures?.cpu?.otherCores ?? null;
    if (other !== null && other > OTHER_CORES_NOTICEABLE)
      busy.push(`${other} during the ${name} phase`);
  }
  if (busy.length === 0) return [];
  return [
    `other processes kept cores busy (of ${machineFacts().cores}): ${busy.join(', ')}; ` +
      'the machine was shared, so those figures are low and noisy',
  ];
}

// ---- text ---------------------------------------------------------------------------------------

export function renderGroupText(report: GroupBenchReport): string {
  const lines: string[] = [];
  const row: Row = (label, text) => lines.push(`${label.padEnd(LABEL_WIDTH)}${text}`);
  lines.push(
    'Brook bench: group' +
      (report.isComplete
        ? ''
        : ' (INCOMPLETE: a phase was cut short, skipped or failed, see below)'),
  );
  renderSettings(report, row);
  if (report.preload !== null) {
    row('preload', `${phaseText(report.preload)} (not measured: it fills the topic)`);
  }
  renderConsume(report, row);
  renderRaw(report, row);
  renderRatios(report, row);
  if (report.failover !== null) renderFailover(report.failover, row);
  if (report.brokerWarnings > 0) {
    row('brokers', `${report.brokerWarnings} warning/error log lines (until the cluster stopped)`);
  }
  for (const note of report.notes) row('note', note);
  return lines.join('\n');
}

function renderSettings(report: GroupBenchReport, row: Row): void {
  const s = report.settings;
  row(
    'settings',
    `${s.nodes} nodes on loopback, topic of ${s.partitions} partitions, RF ${s.replicationFactor}, ` +
      `min.insync.replicas ${s.minInsyncReplicas}, fsync=${s.fsync}; ${formatInt(s.records)} records × ` +
      `${formatInt(s.recordBytes)} B preloaded (batches of ${s.batchRecords}, acks=all); leaders ` +
      `[${report.leaders.join(', ')}]`,
  );
  row(
    '',
    `group: ${s.members} members, each a GroupConsumer in its own process, from earliest, ` +
      `auto-commit every ${formatInt(s.autoCommitIntervalMs)} ms (and on revocation and close); ` +
      `session timeout ${formatInt(s.consumeSessionTimeoutMs)} ms in the consume phase, ` +
      `${formatInt(s.sessionTimeoutMs)} ms in the failover phase; heartbeat interval ` +
      `${heartbeatText(s)}`,
  );
  row(
    '',
    `failover: ${s.kills} SIGKILLs and ${s.closes} close()s of a member under a steady load of one ` +
      `record to every partition every ${s.loadIntervalMs} ms (${formatInt(s.loadRecordsPerSec)} records/s, acks=all)`,
  );
  row('', `broker flags: ${s.brokerFlags.join(' ')}`);
  const m = report.machine;
  row(
    'machine',
    `${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `node ${m.node}, ${m.platform}, kernel ${m.kernel}`,
  );
}

/** The heartbeat interval the members get in each phase (the broker's, at most a third of the session). */
function heartbeatText(s: GroupBenchReport['settings']): string {
  const consume = effectiveHeartbeatIntervalMs(
    s.brokerHeartbeatIntervalMs,
    s.consumeSessionTimeoutMs,
  );
  const failover = s.memberHeartbeatIntervalMs;
  return consume === failover
    ? `${formatInt(failover)} ms`
    : `${formatInt(consume)} ms (consume), ${formatInt(failover)} ms (failover)`;
}

function consumeText(f: ConsumeFigures): string {
  return (
    phaseText({ ...f, cpu: null }) +
    (f.recordsHandedOut !== f.records ? ` (${formatInt(f.recordsHandedOut)} handed out)` : '')
  );
}

function fromStartText(f: ConsumeFigures): string {
  return (
    `first record ${ms(f.firstRecordMs)} after the start of reading; from the start: ` +
    `${f.secondsFromStart.toFixed(2)} s, ${f.mbPerSecFromStart.toFixed(1)} MB/s`
  );
}

function groupCpuText(cpu: GroupCpuFigures, consumers: string): string {
  const one = (name: string, seconds: number | null, cores: number | null): string =>
    seconds === null ? `${name} n/a` : `${name} ${seconds.toFixed(2)} s (${cores} cores)`;
  return [
    one(consumers, cpu.consumersSeconds, cpu.consumersCores),
    one('3 brokers', cpu.brokersSeconds, cpu.brokersCores),
    one('bench', cpu.benchSeconds, cpu.benchCores),
    one('other processes', cpu.otherSeconds, cpu.otherCores),
  ].join(', ');
}

function renderConsume(report: GroupBenchReport, row: Row): void {
  const single = (label: string, f: ConsumeFigures | null): void => {
    if (f === null) {
      row(label, 'not measured (failed or no time left)');
      return;
    }
    row(label, consumeText(f));
    row('', fromStartText(f));
    if (f.cpu !== null) row('    CPU', groupCpuText(f.cpu, 'consumer'));
  };
  row(
    'single consumer',
    'one Consumer in one process, every partition assigned, from earliest; first record to last',
  );
  single('  before', report.single.before);
  single('  after', report.single.after);
  const g = report.group;
  if (g === null) {
    row('group', 'not measured (failed or no time left)');
    return;
  }
  row(
    'group',
    `${report.settings.members} members stable after ${formatInt(g.formationMs)} ms ` +
      `(coordinator node ${g.coordinatorId}); first record any member got to the last record`,
  );
  row('  consume', consumeText(g));
  row('', fromStartText(g));
  for (const member of g.members) {
    row(
      `  ${member.name}`,
      `${formatInt(member.records)} records of partitions [${member.partitions.join(', ')}], ` +
        `first ${ms(member.firstRecordMs)}, last ${ms(member.lastRecordMs)} after the start (pid ${member.pid})`,
    );
    if (member.changes.length > 0) {
      const changes = member.changes.map(
        (c) => `${c.type} [${c.partitions.join(', ')}] at ${ms(c.afterMs)}`,
      );
      row('', `rebalanced during the phase: ${changes.join('; ')}`);
    }
  }
  if (g.cpu !== null) row('    CPU', groupCpuText(g.cpu, `${g.members.length} members`));
}

function renderRaw(report: GroupBenchReport, row: Row): void {
  const raw = report.rawLevelDb;
  if (raw === null) {
    row('raw LevelDB', 'not measured (no time left)');
    return;
  }
  row(
    'raw LevelDB',
    `${raw.groupBatches} values of ${formatInt(raw.valueBytesPerBatch)} B (one per producer batch) per synced db.batch(), ` +
      `then read in key order with one iterator; mean read ${raw.readMbPerSec ?? 'n/a'} MB/s`,
  );
  for (const run of raw.runs) {
    if (run.read === null) continue;
    row(`  read (${run.when})`, phaseText(run.read));
    if (run.read.cpu !== null) row('    CPU', cpuText(run.read.cpu));
  }
}

function renderRatios(report: GroupBenchReport, row: Row): void {
  const r = report.ratios;
  const text = (value: number | null): string => (value === null ? 'n/a' : pct(value));
  const single = report.single;
  row(
    'ratio',
    `group = ${text(r.groupToSingle)} of the single consumer, first record to last (mean of ` +
      `before and after, ${single.meanMbPerSec ?? 'n/a'} MB/s); ${text(r.groupToSingleFromStart)} ` +
      `from the start of reading (${single.meanMbPerSecFromStart ?? 'n/a'} MB/s)`,
  );
  row(
    'ratio',
    `group = ${text(r.groupToRawRead)} of raw LevelDB read; single consumer = ` +
      `${text(r.singleToRawRead)} of raw LevelDB read (first record to last)`,
  );
}

function renderFailover(f: FailoverFigures, row: Row): void {
  row(
    'failover',
    `coordinator node ${f.coordinatorId}; times from the departure to each of its partitions at ` +
      'another member: "assigned" (onPartitionsAssigned ran) and "first record" (the takeover)',
  );
  const trials = (kind: string, list: readonly TrialResult[]): void => {
    for (const [i, t] of list.entries()) {
      const parts = t.takeovers.map((o) =>
        o.consumedAfterMs === null
          ? `p${o.partition} not taken over`
          : `p${o.partition} → ${o.member} assigned ${ms(o.assignedAfterMs)}, first record ${ms(o.consumedAfterMs)}`,
      );
      const close = t.closeMs === null ? '' : `close() took ${ms(t.closeMs)}; `;
      row(
        i === 0 ? `  ${kind}` : '',
        `${t.member} (pid ${t.pid}): ${close}${parts.join('; ')}; stable again after ${ms(t.restableMs)}`,
      );
    }
  };
  trials('kill', f.kills);
  summaryRow(row, 'kill', f.kills.length, f.kill, f.killAssigned, 'session timeout');
  trials('close', f.closes);
  summaryRow(row, 'close', f.closes.length, f.close, f.closeAssigned, 'heartbeat interval');
  const l = f.load;
  row(
    '  load',
    `${formatInt(l.sent)} records sent in ${l.seconds.toFixed(1)} s, ${formatInt(l.acked)} acked, ` +
      `${formatInt(l.failed)} failed${l.firstError === null ? '' : ` (${l.firstError})`}` +
      (l.skippedTicks > 0 ? `, ${l.skippedTicks} ticks skipped (too many unsettled)` : ''),
  );
  if (f.cpu !== null) row('  CPU', groupCpuText(f.cpu, 'members'));
}

function summaryRow(
  row: Row,
  kind: 'kill' | 'close',
  trials: number,
  consumed: TakeoverSummary,
  assigned: TakeoverSummary,
  baseName: string,
): void {
  const label = `  ${kind} summary`;
  if (consumed.count === 0) {
    row(label, 'not measured');
    return;
  }
  const missing = consumed.missing > 0 ? ` (${consumed.missing} never taken over)` : '';
  row(
    label,
    `${kind} → first record at another member: p50 ${ms(consumed.p50Ms)}, max ` +
      `${ms(consumed.maxMs)} over ${consumed.count} partitions of ${trials} ${trials === 1 ? kind : `${kind}s`}${missing}; ` +
      `= p50 ${times(consumed.p50ToBase)}, max ${times(consumed.maxToBase)} the ${baseName} ` +
      `(${formatInt(consumed.baseMs)} ms)`,
  );
  row(
    '',
    `${kind} → onPartitionsAssigned at another member: p50 ${ms(assigned.p50Ms)}, max ${ms(assigned.maxMs)}`,
  );
}

function ms(value: number | null): string {
  return value === null ? 'n/a' : `${formatInt(value)} ms`;
}

function times(value: number | null): string {
  return value === null ? 'n/a' : `${value.toFixed(2)} ×`;
}
