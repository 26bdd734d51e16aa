/**
 * A seeded pseudo-random source (sfc32: small, fast, and good enough for timeouts, jitter and
 * simulation choices). Pure code takes an `Rng` instead of calling Math.random, so one seed
 * replays one history exactly (STYLE.md §1.1).
 */
import { assert } from './assert.js';

export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, bound). */
  int(bound: number): number;
}

export class SeededRng implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    assert(Number.isInteger(seed), `seed must be an integer, got ${seed}`);
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    // Mix the seed in so that nearby seeds give unrelated streams.
    for (let i = 0; i < 15; i++) this.next();
  }

  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  int(bound: number): number {
    assert(Number.isInteger(bound) && bound > 0, `bound must be a positive integer, got ${bound}`);
    return Math.floor(this.next() * bound);
  }

  private nextUint32(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    const t = (this.a + this.b + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
}
