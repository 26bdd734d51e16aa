/**
 * The run's trace: the last lines kept in a ring for the violation report, and, with --trace,
 * every line written to stderr as it happens. Lines are built lazily from events, because a run
 * has tens of thousands of events and only a failing one is ever read.
 */
import { describeEvent, type SimEvent } from './sim-event.js';

/** Lines of context a violation report shows. */
export const TRACE_TAIL_LINES = 50;

type TraceItem = {
  readonly timeMs: number;
  readonly event: SimEvent | null;
  readonly text: string;
};

export class Trace {
  private readonly ring: TraceItem[] = [];
  private next = 0;

  constructor(
    private readonly verbose: boolean,
    private readonly write: (line: string) => void,
  ) {}

  /** True when every note is printed: callers build costly notes only then. */
  get isVerbose(): boolean {
    return this.verbose;
  }

  event(timeMs: number, event: SimEvent): void {
    this.push({ timeMs, event, text: '' });
  }

  note(timeMs: number, text: string): void {
    this.push({ timeMs, event: null, text: `  ${text}` });
  }

  /** The kept lines, oldest first. */
  tail(): string[] {
    const lines: string[] = [];
    for (let i = 0; i < this.ring.length; i++) {
      const item = this.ring[(this.next + i) % this.ring.length];
      if (item !== undefined) lines.push(format(item));
    }
    return lines;
  }

  private push(item: TraceItem): void {
    if (this.verbose) this.write(format(item));
    if (this.ring.length < TRACE_TAIL_LINES) {
      this.ring.push(item);
    } else {
      this.ring[this.next] = item;
    }
    this.next = (this.next + 1) % TRACE_TAIL_LINES;
  }
}

function format(item: TraceItem): string {
  const text = item.event === null ? item.text : describeEvent(item.event);
  return `${item.timeMs.toFixed(3).padStart(11)} ${text}`;
}
