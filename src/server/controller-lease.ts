/**
 * Whether this broker may still act, without asking anyone, on what its metadata says it leads.
 *
 * The controller moves a partition's leadership away from a broker either by fencing it (no
 * heartbeat for broker.session.timeout.ms) or by a change the broker will learn from the metadata
 * log (preferred-leader rebalancing, a controlled shutdown). A broker cut off from the controller
 * learns of neither, so it could go on serving from memory what is no longer its own, as a group
 * coordinator answering keepalive heartbeats does (docs/fault-tests.md, finding 3).
 *
 * The lease: a heartbeat sent at time T and answered unfenced by the active controller, which had
 * applied metadata offset X when it answered, shows that every leadership change made before T is
 * at or below X. Once this broker has applied X, any leadership of its that was moved away since
 * moved after T, so the new leader started after T. The lease lasts `durationMs` from T, and a
 * new leader waits `successorWaitMs(durationMs)` after it starts before acting on anything the
 * old one may still be answering (the group coordinator's session timers). Times are monotonic
 * (performance.now()), so a wall clock step changes nothing.
 */

/** What a new leader waits for its predecessor's lease to run out: 10% over it, for clocks that
 * run at slightly different rates on different machines. */
export function successorWaitMs(leaseMs: number): number {
  return Math.ceil((leaseMs * 11) / 10);
}

interface Answer {
  readonly sentAtMs: number;
  readonly controllerOffset: number;
}

export class ControllerLease {
  private heldUntilMs = -Infinity;
  /** Unfenced answers waiting for this broker to apply their offset, oldest first. */
  private pending: Answer[] = [];

  constructor(readonly durationMs: number) {}

  /** An unfenced answer to a heartbeat sent at `sentAtMs`. */
  renew(sentAtMs: number, controllerOffset: number, appliedOffset: number): void {
    this.pending.push({ sentAtMs, controllerOffset });
    this.grant(appliedOffset);
  }

  /** The controller fenced this broker, or superseded its registration. */
  revoke(): void {
    this.heldUntilMs = -Infinity;
    this.pending = [];
  }

  isHeld(nowMs: number, appliedOffset: number): boolean {
    this.grant(appliedOffset);
    return nowMs < this.heldUntilMs;
  }

  private grant(appliedOffset: number): void {
    for (const answer of this.pending) {
      if (answer.controllerOffset <= appliedOffset) {
        this.heldUntilMs = Math.max(this.heldUntilMs, answer.sentAtMs + this.durationMs);
      }
    }
    this.pending = this.pending
      .filter((answer) => answer.controllerOffset > appliedOffset)
      .slice(-PENDING_MAX);
  }
}

/** Answers kept while this broker catches up: heartbeats of the last few seconds (older ones
 * would grant a lease that has run out already). */
const PENDING_MAX = 16;
