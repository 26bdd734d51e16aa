/**
 * The cluster-wide replication throttle (`leader.replication.throttled.rate`, a dynamic broker
 * config for every broker) as the moving commands use it: set for a move, removed when the
 * moves are done, as Kafka's kafka-reassign-partitions --throttle / --verify do.
 */
import type { Command } from 'commander';
import type { Admin } from '../../client/index.js';
import { write, type CliIo } from '../output.js';
import { byteRate } from './common.js';

const THROTTLE_CONFIG = 'leader.replication.throttled.rate';

/** Adds --throttle to a command that starts moves. */
export function addThrottleOption(command: Command): Command {
  return command.option(
    '--throttle <rate>',
    'bound the copy to this many bytes/s per leader (e.g. 50MiB); removed once the moves finish',
    byteRate,
  );
}

/** Sets the throttle for moves about to start (if --throttle was given) and says until when. */
export async function throttleMoves(
  admin: Admin,
  io: CliIo,
  bytesPerSecond: number | undefined,
  waits: boolean,
): Promise<void> {
  if (bytesPerSecond === undefined) return;
  await setThrottle(admin, bytesPerSecond);
  await write(io.stdout, throttleNotice(bytesPerSecond, waits));
}

function throttleNotice(bytesPerSecond: number, waits: boolean): string {
  const until = waits
    ? 'until the moves finish (Ctrl-C leaves it set: `brook partitions throttle off`)'
    : 'until you remove it: brook partitions throttle off';
  return `Replication to new replicas throttled to ${formatRate(bytesPerSecond)} per leader, ${until}.\n`;
}

/** Sets (or, with null, removes) the cluster-wide leader replication throttle. */
export async function setThrottle(admin: Admin, bytesPerSecond: number | null): Promise<void> {
  const op =
    bytesPerSecond === null
      ? { name: THROTTLE_CONFIG, op: 'delete' as const }
      : { name: THROTTLE_CONFIG, op: 'set' as const, value: String(bytesPerSecond) };
  const [result] = await admin.alterConfigs([{ type: 'broker', name: '', ops: [op] }]);
  if (result?.error !== undefined) throw result.error;
}

/** Removes the throttle, unless other moves still run under it (as Kafka's --verify does). */
export async function removeThrottleWhenIdle(admin: Admin, io: CliIo): Promise<void> {
  const ongoing = await admin.listPartitionReassignments();
  if (ongoing.length > 0) {
    await write(
      io.stdout,
      `The throttle stays: ${ongoing.length} other partition move(s) are in progress. Remove it later with: brook partitions throttle off\n`,
    );
    return;
  }
  await setThrottle(admin, null);
  await write(io.stdout, 'Replication throttle removed.\n');
}

export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 2 ** 20) return `${(bytesPerSecond / 2 ** 20).toFixed(1)} MiB/s`;
  if (bytesPerSecond >= 2 ** 10) return `${(bytesPerSecond / 2 ** 10).toFixed(1)} KiB/s`;
  return `${bytesPerSecond} B/s`;
}
