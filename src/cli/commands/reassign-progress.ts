/**
 * Starting reassignments and following them until they finish (a progress line a second),
 * shared by `brook partitions reassign` and `brook brokers drain`. Ctrl-C stops the watching,
 * not the moves.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, PartitionReassignment } from '../../client/index.js';
import { describeError, write, type CliIo } from '../output.js';

const PROGRESS_INTERVAL_MS = 1_000;

/**
 * Submits `moves`: a line per move started (`describe` words it), an error line per refusal.
 * Resolves the moves that started.
 */
export async function startMoves<M extends PartitionReassignment>(
  admin: Admin,
  io: CliIo,
  bootstrap: string,
  moves: readonly M[],
  describe: (move: M) => string,
): Promise<M[]> {
  if (moves.length === 0) return [];
  const outcomes = await admin.alterPartitionReassignments(moves);
  const started: M[] = [];
  for (const [i, outcome] of outcomes.entries()) {
    const move = moves[i];
    if (outcome.error !== undefined || move === undefined) {
      // The broker's message names the partition already.
      io.stderr.write(`brook: ${describeError(outcome.error, bootstrap)}\n`);
      continue;
    }
    started.push(move);
    await write(io.stdout, `${describe(move)}\n`);
  }
  return started;
}

/** Prints progress until none of `partitions` is being reassigned any more. */
export async function followReassignments(
  admin: Admin,
  io: CliIo,
  partitions: readonly { topic: string; partition: number }[],
): Promise<void> {
  const startedAt = Date.now();
  const wanted = new Set(partitions.map((p) => `${p.topic}\u0000${p.partition}`));
  const topics = [...new Set(partitions.map((p) => p.topic))];
  for (;;) {
    const ongoing = (await admin.listPartitionReassignments(topics)).filter((r) =>
      wanted.has(`${r.topic}\u0000${r.partition}`),
    );
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(0);
    const done = partitions.length - ongoing.length;
    if (ongoing.length === 0) {
      await write(
        io.stdout,
        `Done: ${done} of ${partitions.length} partition(s) moved in ${seconds} s.\n`,
      );
      return;
    }
    const detail = ongoing
      .map((r) => {
        const target = r.replicas.filter((b) => !r.removingReplicas.includes(b));
        const inSync = target.filter((b) => r.isr.includes(b)).length;
        return `${r.topic}-${r.partition} ${inSync}/${target.length} in sync`;
      })
      .slice(0, 5)
      .join(', ');
    const more = ongoing.length > 5 ? `, and ${ongoing.length - 5} more` : '';
    await write(
      io.stdout,
      `${seconds} s: ${done} of ${partitions.length} done; ${detail}${more} (Ctrl-C stops watching; the moves go on)\n`,
    );
    await sleep(PROGRESS_INTERVAL_MS);
  }
}
