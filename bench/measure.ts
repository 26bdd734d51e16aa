/**
 * Measuring helpers shared by the benchmark's phases: process I/O counters, directory sizes,
 * rates, a once-a-second progress line, and the machine facts printed beside every result.
 */
import { lstat, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Bytes in one MB, as every MB/s figure of the benchmark counts them. */
export const MB = 1_000_000;

/** The counters of /proc/<pid>/io that the write-amplification figures use. */
export interface ProcIo {
  /** Bytes the process passed to write(2) and friends, sockets and pipes included. */
  readonly wcharBytes: number;
  /** Bytes the process caused to be sent to the storage layer (page-cache dirtying). */
  readonly writeBytes: number;
  /** Bytes the process caused to be fetched from the storage layer. */
  readonly readBytes: number;
}

/**
 * Reads /proc/<pid>/io. Returns null where it does not exist (not Linux, the process is gone,
 * or another user's process).
 */
export async function readProcIo(pid: number | 'self'): Promise<ProcIo | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/io`, 'utf8');
  } catch {
    return null;
  }
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), Number(line.slice(colon + 1).trim()));
  }
  const wchar = fields.get('wchar');
  const writeBytes = fields.get('write_bytes');
  const readBytes = fields.get('read_bytes');
  if (wchar === undefined || writeBytes === undefined || readBytes === undefined) return null;
  return { wcharBytes: wchar, writeBytes, readBytes };
}

/** `after - before`, field by field; null when either is unknown. */
export function ioDelta(before: ProcIo | null, after: ProcIo | null): ProcIo | null {
  if (before === null || after === null) return null;
  return {
    wcharBytes: after.wcharBytes - before.wcharBytes,
    writeBytes: after.writeBytes - before.writeBytes,
    readBytes: after.readBytes - before.readBytes,
  };
}

/** Sizes of a directory tree: the sum of file lengths, and of blocks allocated (like du). */
export interface DirSize {
  readonly bytes: number;
  readonly allocatedBytes: number;
  readonly files: number;
}

/** Walks `dir` without following symlinks. A file removed during the walk is skipped. */
export async function dirSize(dir: string): Promise<DirSize> {
  let bytes = 0;
  let allocatedBytes = 0;
  let files = 0;
  const pending = [dir];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    let entries;
    try {
      entries = await readdir(next, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const full = path.join(next, entry.name);
      if (entry.isDirectory()) {
        pending.push(full);
        continue;
      }
      try {
        const stat = await lstat(full);
        bytes += stat.size;
        allocatedBytes += stat.blocks * 512;
        files++;
      } catch {
        // Gone meanwhile (a LevelDB compaction deletes files): it no longer takes space.
      }
    }
  }
  return { bytes, allocatedBytes, files };
}

/** Facts about the machine a result was measured on. */
export interface MachineFacts {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly node: string;
  readonly platform: string;
  readonly kernel: string;
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  return {
    cores: os.availableParallelism(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel: os.release(),
  };
}

/** A count that grows while a phase runs; the progress line reads it every second. */
export interface Counter {
  count: number;
}

/**
 * Writes `label: done/total unit, rate/s` to stderr once a second until stopped: a rewritten
 * line on a terminal, one line per second otherwise (so a log file shows the trajectory).
 */
export class ProgressLine {
  private readonly timer: NodeJS.Timeout;
  private lastCount = 0;
  private lastAtMs: number;
  private readonly isTty = process.stderr.isTTY;
  private hasWritten = false;

  constructor(
    private readonly label: string,
    private readonly counter: Counter,
    private readonly total: number,
    private readonly unitBytes: number,
  ) {
    this.lastAtMs = performance.now();
    this.timer = setInterval(() => this.print(), 1_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.hasWritten && this.isTty) process.stderr.write('\n');
  }

  private print(): void {
    const nowMs = performance.now();
    const done = this.counter.count;
    const perSecond = ((done - this.lastCount) * 1_000) / Math.max(1, nowMs - this.lastAtMs);
    this.lastCount = done;
    this.lastAtMs = nowMs;
    const mbPerSecond = (perSecond * this.unitBytes) / MB;
    const line =
      `${this.label}: ${formatInt(done)}/${formatInt(this.total)} records, ` +
      `${formatInt(perSecond)} records/s, ${mbPerSecond.toFixed(1)} MB/s`;
    process.stderr.write(this.isTty ? `\r${line.padEnd(78)}` : `${line}\n`);
    this.hasWritten = true;
  }
}

/** Rounds to an integer and groups thousands with commas. */
export function formatInt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Rounds to `digits` decimals, for JSON output that a note can quote. */
export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux we target). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, all threads) a process has used, in seconds, from /proc/<pid>/stat.
 * Null where it cannot be read.
 */
export async function readCpuSeconds(pid: number | 'self'): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces; the fields after its closing ')' do not.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  if (!Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) return null;
  return (userTicks + systemTicks) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU time (user + system) of the process's children that have exited and been waited for, in
 * seconds (cutime + cstime of /proc/<pid>/stat). Null where it cannot be read.
 */
export async function readChildrenCpuSeconds(pid: number | 'self'): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(fields[13]);
  const systemTicks = Number(fields[14]);
  if (!Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) return null;
  return (userTicks + systemTicks) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU time all cores spent busy (everything but idle and iowait) since boot, in seconds, from
 * the first line of /proc/stat. Null where it cannot be read.
 */
export async function readMachineBusySeconds(): Promise<number | null> {
  let text: string;
  try {
    text = await readFile('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  const first = text.slice(0, text.indexOf('\n')).trim().split(/\s+/);
  if (first[0] !== 'cpu') return null;
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const ticks = first.slice(1, 9).map(Number);
  if (ticks.length < 8 || ticks.some((t) => !Number.isFinite(t))) return null;
  const busy = ticks[0]! + ticks[1]! + ticks[2]! + ticks[5]! + ticks[6]! + ticks[7]!;
  return busy / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU seconds used over a phase: by the broker, by the benchmark (the client), and by everything
 * else on the machine. The last one says whether the run had the cores to itself.
 */
export interface CpuUse {
  readonly brokerSeconds: number | null;
  readonly clientSeconds: number | null;
  readonly otherSeconds: number | null;
}

/** Starts measuring CPU; the returned function gives the use since then. */
export function startCpuMeter(brokerPid: number): Promise<() => Promise<CpuUse>> {
  return startCpuMeterOf([brokerPid]);
}

/**
 * Starts measuring CPU with several broker processes (a cluster): their use is summed into
 * brokerSeconds. A process that exits meanwhile makes the broker figure unknown (null).
 */
export async function startCpuMeterOf(
  brokerPids: readonly number[],
): Promise<() => Promise<CpuUse>> {
  const brokersCpu = async (): Promise<number | null> => {
    let sum = 0;
    for (const pid of brokerPids) {
      const seconds = await readCpuSeconds(pid);
      if (seconds === null) return null;
      sum += seconds;
    }
    return sum;
  };
  const brokerBefore = await brokersCpu();
  const clientBefore = await readCpuSeconds('self');
  const machineBefore = await readMachineBusySeconds();
  return async () => {
    const brokerAfter = await brokersCpu();
    const clientAfter = await readCpuSeconds('self');
    const machineAfter = await readMachineBusySeconds();
    const broker =
      brokerBefore === null || brokerAfter === null ? null : brokerAfter - brokerBefore;
    const client =
      clientBefore === null || clientAfter === null ? null : clientAfter - clientBefore;
    const machine =
      machineBefore === null || machineAfter === null ? null : machineAfter - machineBefore;
    return {
      brokerSeconds: broker,
      clientSeconds: client,
      otherSeconds:
        machine === null || broker === null || client === null
          ? null
          : Math.max(0, machine - broker - client),
    };
  };
}

/** How long write_bytes must stay unchanged to call LevelDB's background compactions done. */
const WRITES_QUIET_MS = 2_000;
/** Longest wait for compactions to finish after a phase. */
const WRITES_SETTLE_MS_MAX = 30_000;
const WRITES_POLL_MS = 250;

/**
 * Waits until `pid` has written nothing to disk for 2 s (LevelDB's compactions after the last
 * write are done), at most 30 s or until `deadlineMs`; returns its counters then, and how long
 * it took. Null counters where /proc cannot be read.
 */
export async function waitForWritesToSettle(
  pid: number | 'self',
  deadlineMs: number,
): Promise<{ io: ProcIo | null; seconds: number }> {
  const startMs = performance.now();
  const giveUpMs = Math.min(Date.now() + WRITES_SETTLE_MS_MAX, deadlineMs);
  let last = await readProcIo(pid);
  let quietSinceMs = performance.now();
  while (last !== null && Date.now() < giveUpMs) {
    await new Promise((resolve) => setTimeout(resolve, WRITES_POLL_MS));
    const next = await readProcIo(pid);
    if (next === null) break;
    if (next.writeBytes !== last.writeBytes) quietSinceMs = performance.now();
    last = next;
    if (performance.now() - quietSinceMs >= WRITES_QUIET_MS) break;
  }
  return { io: last, seconds: (performance.now() - startMs) / 1_000 };
}

/** CPU seconds over a phase per named set of processes, of the bench itself, and of the rest. */
export interface CpuByProcesses {
  /** Per name, the sum over its processes; null when one of them could not be read. */
  readonly seconds: Readonly<Record<string, number | null>>;
  /** The benchmark process. */
  readonly selfSeconds: number | null;
  /**
   * Children of the benchmark that exited and were waited for during the meter (e.g. consumer
   * processes started and stopped within it); counted in none of the sets.
   */
  readonly exitedChildrenSeconds: number | null;
  /** Everything else on the machine. */
  readonly otherSeconds: number | null;
  /** Wall time the meter ran. */
  readonly wallSeconds: number;
}

/**
 * Starts measuring CPU of named sets of processes (e.g. brokers and consumers); the returned
 * function gives the use since then. A process that exits meanwhile makes its set unknown.
 */
export async function startCpuMeterOfSets(
  sets: Readonly<Record<string, readonly number[]>>,
): Promise<() => Promise<CpuByProcesses>> {
  const read = async (): Promise<Record<string, number | null>> => {
    const out: Record<string, number | null> = {};
    for (const [name, pids] of Object.entries(sets)) {
      let sum: number | null = 0;
      for (const pid of pids) {
        const seconds = await readCpuSeconds(pid);
        sum = seconds === null || sum === null ? null : sum + seconds;
      }
      out[name] = sum;
    }
    return out;
  };
  const before = await read();
  const selfBefore = await readCpuSeconds('self');
  const childrenBefore = await readChildrenCpuSeconds('self');
  const machineBefore = await readMachineBusySeconds();
  const startMs = performance.now();
  return async () => {
    const after = await read();
    const selfAfter = await readCpuSeconds('self');
    const childrenAfter = await readChildrenCpuSeconds('self');
    const machineAfter = await readMachineBusySeconds();
    const wallSeconds = (performance.now() - startMs) / 1_000;
    const seconds: Record<string, number | null> = {};
    let known: number | null = 0;
    for (const name of Object.keys(sets)) {
      const b = before[name] ?? null;
      const a = after[name] ?? null;
      const used = a === null || b === null ? null : a - b;
      seconds[name] = used;
      known = used === null || known === null ? null : known + used;
    }
    const selfSeconds = selfBefore === null || selfAfter === null ? null : selfAfter - selfBefore;
    const exitedChildrenSeconds =
      childrenBefore === null || childrenAfter === null ? null : childrenAfter - childrenBefore;
    const machine =
      machineBefore === null || machineAfter === null ? null : machineAfter - machineBefore;
    const ours =
      known === null || selfSeconds === null || exitedChildrenSeconds === null
        ? null
        : known + selfSeconds + exitedChildrenSeconds;
    return {
      seconds,
      selfSeconds,
      exitedChildrenSeconds,
      otherSeconds: machine === null || ours === null ? null : Math.max(0, machine - ours),
      wallSeconds,
    };
  };
}
