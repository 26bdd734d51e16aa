/**
 * One `brook server` child of `brook dev`: spawned without a shell, its stdout and stderr
 * appended to its log file, its PID in its pid file while it runs, signalled by PID only.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { DevNode } from './plan.js';
import { lastLines, type NodeExit } from './report.js';

/** How much of the end of a log file logTail reads at most. */
const LOG_TAIL_BYTES_MAX = 64 * 1024;

export class DevNodeProcess {
  /** Resolves once, when the process has ended (or could not be started). */
  readonly exited: Promise<NodeExit>;
  private exitValue: NodeExit | null = null;

  private constructor(
    readonly node: DevNode,
    /** The PID; undefined when the process could not be started. */
    readonly pid: number | undefined,
    exited: Promise<NodeExit>,
    /** The log file's size when this process started: logTail reads only what it wrote. */
    private readonly logStartBytes: number,
  ) {
    this.exited = exited.then((exit) => {
      this.exitValue = exit;
      return exit;
    });
  }

  /**
   * Spawns `node <args>` (args start with bin/brook) in its own process group, so a Ctrl-C in
   * the terminal reaches only `brook dev`, which then stops the nodes itself: a node that got
   * the terminal's SIGINT and then dev's SIGTERM would take the second signal as "exit now".
   */
  static start(
    node: DevNode,
    args: readonly string[],
    env: Readonly<Record<string, string | undefined>>,
  ): DevNodeProcess {
    const logFd = openSync(node.logFile, 'a');
    let logStartBytes: number;
    let child;
    try {
      logStartBytes = fstatSync(logFd).size;
      child = spawn(process.execPath, [...args], {
        stdio: ['ignore', logFd, logFd],
        env: { ...env },
        detached: true,
        shell: false,
      });
    } finally {
      // The child has its own copy of the descriptor once spawn returns.
      closeSync(logFd);
    }
    const pid = child.pid;
    const exited = new Promise<NodeExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => {
        // 'error' without a PID means the spawn failed; with one, 'exit' follows.
        if (pid === undefined) resolve({ code: null, signal: null, spawnError: error.message });
      });
    });
    if (pid !== undefined) writeFileSync(node.pidFile, `${pid}\n`);
    const handle = new DevNodeProcess(node, pid, exited, logStartBytes);
    void handle.exited.then(() => rmSync(node.pidFile, { force: true }));
    return handle;
  }

  /** How the process ended; null while it runs. */
  get exit(): NodeExit | null {
    return this.exitValue;
  }

  isRunning(): boolean {
    return this.pid !== undefined && this.exitValue === null;
  }

  /** Sends `signal` to the process by its PID; a no-op once it has ended. */
  signal(signal: NodeJS.Signals): void {
    if (!this.isRunning() || this.pid === undefined) return;
    try {
      process.kill(this.pid, signal);
    } catch (error: unknown) {
      // ESRCH: it ended between the check and the kill; its 'exit' is on the way.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /** The last `count` lines this process wrote to its log file (at most the last 64 KiB). */
  async logTail(count: number): Promise<string[]> {
    const file = await open(this.node.logFile, 'r');
    try {
      const size = (await file.stat()).size;
      const start = Math.max(this.logStartBytes, size - LOG_TAIL_BYTES_MAX);
      const length = Math.max(0, size - start);
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, start);
      let text = buffer.subarray(0, bytesRead).toString('utf8');
      // A read that starts after this process's first byte may begin inside a line: drop it.
      if (start > this.logStartBytes) text = text.slice(text.indexOf('\n') + 1);
      return lastLines(text, count);
    } finally {
      await file.close();
    }
  }
}
