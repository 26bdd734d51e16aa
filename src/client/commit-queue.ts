/**
 * Offset commits of one group member, one request at a time and in call order, so a commit can
 * never overtake an earlier one and move a committed offset back. A commit asked for while
 * another is in flight waits; commits asked for while one waits join it (per partition the later
 * offset wins, as if they had run one after the other) and share its outcome. So at most one
 * request is in flight and one waits, however fast commits are asked for.
 */

/** One partition's offset to commit: the next offset to consume. */
export interface CommitOffset {
  readonly topic: string;
  readonly partition: number;
  /** The offset after the last processed record. */
  readonly offset: number;
  /** Leader epoch of the last processed record; -1 (the default) when unknown. */
  readonly leaderEpoch?: number;
  /** Stored with the offset; '' by default. */
  readonly metadata?: string;
}

interface Waiting {
  readonly offsets: Map<string, CommitOffset>;
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class CommitQueue {
  private inflight: Promise<void> | null = null;
  private waiting: Waiting | null = null;

  /** `send` commits one merged set of offsets; it is never called twice at once. */
  constructor(private readonly send: (offsets: readonly CommitOffset[]) => Promise<void>) {}

  /**
   * Queues `offsets`; resolves once a request carrying them (or later offsets of the same
   * partitions) succeeded, rejects with that request's error.
   */
  enqueue(offsets: readonly CommitOffset[]): Promise<void> {
    if (this.waiting === null) {
      let resolve: () => void = () => undefined;
      let reject: (error: unknown) => void = () => undefined;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.waiting = { offsets: new Map(), promise, resolve, reject };
    }
    for (const offset of offsets) {
      this.waiting.offsets.set(`${offset.partition}:${offset.topic}`, offset);
    }
    const { promise } = this.waiting;
    this.drain();
    return promise;
  }

  /** Resolves once every commit queued so far has settled (never rejects). */
  async idle(): Promise<void> {
    // Bounded: each round settles the request in flight, and at most one more waits behind it.
    for (let round = 0; round < 2 && (this.inflight !== null || this.waiting !== null); round++) {
      const pending = this.waiting?.promise ?? this.inflight;
      await pending?.catch(() => undefined);
    }
  }

  private drain(): void {
    const batch = this.waiting;
    if (this.inflight !== null || batch === null) return;
    this.waiting = null;
    const sent = this.send([...batch.offsets.values()]).then(batch.resolve, batch.reject);
    this.inflight = sent;
    void sent.finally(() => {
      this.inflight = null;
      this.drain();
    });
  }
}
