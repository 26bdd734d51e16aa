/**
 * Helpers for metrics computed at scrape time: a counter that reports a running total kept
 * elsewhere, a gauge that reports one value, and a memo so that several metric families filled
 * from one snapshot compute it once per scrape.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface TotalCounterOptions {
  readonly name: string;
  readonly help: string;
  /** The running total now; read at every scrape. */
  readonly read: () => number;
}

/**
 * A counter whose value is `read()` at scrape time. The owner of the total only adds to a plain
 * number on its hot path; a total that went down (a restarted source) shows as a counter reset,
 * which rate() handles.
 */
export function totalCounter(registry: Registry, options: TotalCounterOptions): Counter {
  return new Counter({
    name: options.name,
    help: options.help,
    registers: [registry],
    collect(this: Counter) {
      this.reset();
      this.inc(Math.max(0, options.read()));
    },
  });
}

export interface ValueGaugeOptions {
  readonly name: string;
  readonly help: string;
  /** The value now; read at every scrape. */
  readonly read: () => number;
}

/** A gauge without labels whose value is `read()` at scrape time. */
export function valueGauge(registry: Registry, options: ValueGaugeOptions): Gauge {
  return new Gauge({
    name: options.name,
    help: options.help,
    registers: [registry],
    collect(this: Gauge) {
      this.set(options.read());
    },
  });
}

/**
 * `compute()` once per turn of the event loop: prom-client runs the synchronous collect() of
 * every metric of one scrape in a single loop, so the families filled from one snapshot (the
 * partition gauges, say) compute it once per scrape and agree with each other, and the next
 * scrape, a later turn, computes afresh.
 */
export function oncePerTurn<T>(compute: () => T): () => T {
  let value: { readonly current: T } | null = null;
  return () => {
    if (value === null) {
      value = { current: compute() };
      setImmediate(() => {
        value = null;
      });
    }
    return value.current;
  };
}
