/**
 * The client-side chaos of the groups workload, as a seeded plan: after a quiet spell, one
 * action on one member, held for a while, then undone; one at a time, beside the nemesis (which
 * acts on the brokers). Pure: groups.ts carries the steps out.
 *
 * - crash: SIGKILL; a fresh process takes the member's place after the hold (a new member id:
 *   the coordinator gives the old one's partitions away once its session expires);
 * - pause: SIGSTOP for longer than the session timeout, so the coordinator removes the member
 *   and gives its partitions away while it is stopped; SIGCONT, and it must find them lost (the
 *   member stops itself when asked, between two turns of its event loop: group-member.ts);
 * - leave: the member closes its consumer (revoking, committing, leaving the group at once) and
 *   joins again with a new one after the hold.
 */
import type { Rng } from '../../../src/util/rng.js';
import type { SecondsRange } from '../nemesis/schedule.js';

export const CHAOS_KINDS = ['crash', 'pause', 'leave'] as const;
export type ChaosKind = (typeof CHAOS_KINDS)[number];

export interface ChaosSettings {
  /** What to draw from; empty: no chaos. */
  readonly kinds: readonly ChaosKind[];
  readonly members: number;
  /** Time with no action before each one. */
  readonly quietS: SecondsRange;
  /** The members' session timeout: a pause outlasts it by PAUSE_PAST_SESSION_MS. */
  readonly sessionTimeoutMs: number;
}

export interface ChaosStep {
  readonly kind: ChaosKind;
  /**
   * Which member to act on, from 0 to members - 1: the executor may read it as an index into
   * the members worth acting on at the time (groups.ts: those owning partitions).
   */
  readonly member: number;
  /** Wait before the action. */
  readonly quietMs: number;
  /** How long until it is undone: restart, SIGCONT, join. */
  readonly holdMs: number;
}

/** A crashed or departed member comes back after this long: [min, max] ms. */
const ABSENCE_MS: readonly [number, number] = [1_000, 5_000];
/** A pause lasts the session timeout plus this: [min, max] ms. */
const PAUSE_PAST_SESSION_MS: readonly [number, number] = [1_000, 4_000];

/** Draws the next step; consumes the same draws from `rng` whatever the settings' kinds. */
export function drawChaos(rng: Rng, settings: ChaosSettings): ChaosStep {
  if (settings.kinds.length === 0) throw new RangeError('drawChaos: no chaos kinds to draw from');
  if (settings.members < 1) throw new RangeError('drawChaos: no members to act on');
  const quietMs = between(rng, settings.quietS[0] * 1000, settings.quietS[1] * 1000);
  const kind = settings.kinds[rng.int(settings.kinds.length)]!;
  const member = rng.int(settings.members);
  const holdMs =
    kind === 'pause'
      ? settings.sessionTimeoutMs + between(rng, ...PAUSE_PAST_SESSION_MS)
      : between(rng, ...ABSENCE_MS);
  return { kind, member, quietMs, holdMs };
}

/** Parses `crash,pause,leave` (or `none`): the kinds, deduplicated; throws on anything else. */
export function parseChaosKinds(text: string): ChaosKind[] {
  if (text.trim() === 'none') return [];
  const names = text.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(CHAOS_KINDS as readonly string[]).includes(name)) {
      throw new RangeError(
        `unknown member chaos "${name}"; choose from ${CHAOS_KINDS.join(', ')} or none`,
      );
    }
  }
  return [...new Set(names)] as ChaosKind[];
}

function between(rng: Rng, min: number, max: number): number {
  return Math.round(min + rng.next() * (max - min));
}
