/**
 * The leader's replication quota (Kafka's leader.replication.throttled.rate): a token bucket of
 * bytes shared by every follower fetch this node answers for a replica that a reassignment is
 * adding and that is not in sync yet. In-sync followers never touch it, so a throttled move
 * never slows acks=all produces; it only bounds the bandwidth the copy takes.
 *
 * A read may overdraw the bucket (a batch is never split), and the debt delays the next one.
 * The bucket holds at most one second of rate, so an idle spell does not bank a burst, and reads
 * wait for a tenth of a second's worth, so a slow rate means fewer reads, not tiny ones.
 */
export class ReplicationThrottle {
  private rate: number | null = null;
  private tokens = 0;
  private refilledAtMs: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.refilledAtMs = now();
  }

  /** Bytes per second, or null for no limit. */
  get bytesPerSecond(): number | null {
    return this.rate;
  }

  setRate(bytesPerSecond: number | null): void {
    if (bytesPerSecond === this.rate) return;
    this.refill();
    this.rate = bytesPerSecond;
    if (bytesPerSecond !== null) this.tokens = Math.min(this.tokens, bytesPerSecond);
  }

  /** Bytes a throttled read may take now: 0 while over quota, Infinity without a limit. */
  allowance(): number {
    if (this.rate === null) return Infinity;
    this.refill();
    return this.tokens >= this.minimumRead(this.rate) ? Math.floor(this.tokens) : 0;
  }

  /** Charges `bytes` sent to throttled replicas. */
  consume(bytes: number): void {
    if (this.rate === null) return;
    this.refill();
    this.tokens -= bytes;
  }

  /** Milliseconds until the allowance is positive again (0 if it is). */
  delayMs(): number {
    if (this.rate === null) return 0;
    this.refill();
    const short = this.minimumRead(this.rate) - this.tokens;
    return short <= 0 ? 0 : Math.ceil((short / this.rate) * 1000);
  }

  private minimumRead(rate: number): number {
    return Math.max(1, Math.floor(rate / 10));
  }

  private refill(): void {
    const now = this.now();
    const elapsedMs = Math.max(0, now - this.refilledAtMs);
    this.refilledAtMs = now;
    if (this.rate !== null) {
      this.tokens = Math.min(this.rate, this.tokens + (elapsedMs / 1000) * this.rate);
    }
  }
}
