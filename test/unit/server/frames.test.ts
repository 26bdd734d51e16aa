import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  FrameError,
  framePrefix,
  type Frame,
} from '../../../src/server/replica-transport/frames.js';

const LIMITS = { headerBytesMax: 1_000, dataBytesMax: 10_000 };

function encode(header: Uint8Array, data: Uint8Array): Buffer {
  return Buffer.concat([framePrefix(header.length, data.length), header, data]);
}

/** Splits `bytes` at the given cut points (sorted, deduplicated, within range). */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(at, point));
    at = point;
  }
  return chunks;
}

describe('FrameDecoder', () => {
  it('gives back every frame, whatever the chunking, and owns what it returns', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.uint8Array({ maxLength: LIMITS.headerBytesMax }),
            fc.uint8Array({ maxLength: 3_000 }),
          ),
          { maxLength: 6 },
        ),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, cuts) => {
          const stream = Buffer.concat(frames.map(([header, data]) => encode(header, data)));
          const decoder = new FrameDecoder(LIMITS);
          const out: Frame[] = [];
          for (const chunk of split(stream, cuts)) {
            // As with net's onread: the caller reuses its buffer after every push.
            const reused = Buffer.from(chunk);
            out.push(...decoder.push(reused));
            reused.fill(0xee);
          }
          expect(out.map((f) => [new Uint8Array(f.header), new Uint8Array(f.data)])).toEqual(
            frames.map(([header, data]) => [header, data]),
          );
          expect(decoder.isIdle).toBe(true);
        },
      ),
    );
  });

  it('refuses lengths over its limits before allocating them', () => {
    const decoder = new FrameDecoder(LIMITS);
    expect(() => decoder.push(framePrefix(1_001, 0))).toThrow(FrameError);
    expect(() => new FrameDecoder(LIMITS).push(framePrefix(0, 10_001))).toThrow(
      /frame data of 10001 bytes is over the limit of 10000/,
    );
    expect(() => new FrameDecoder(LIMITS).push(framePrefix(0xffffffff, 0xffffffff))).toThrow(
      FrameError,
    );
  });

  it('reports a frame in progress as not idle', () => {
    const decoder = new FrameDecoder(LIMITS);
    expect(decoder.push(encode(Buffer.from('abc'), Buffer.from('de')).subarray(0, 9))).toEqual([]);
    expect(decoder.isIdle).toBe(false);
    const [frame] = decoder.push(Buffer.from('bcde'));
    expect(frame?.header.toString()).toBe('abc');
    expect(frame?.data.toString()).toBe('de');
    expect(decoder.isIdle).toBe(true);
  });
});
