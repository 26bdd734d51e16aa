/**
 * Frames of the framed fetch transport (peer.proto, ReplicaFetchFrame): a 4-byte big-endian
 * header length, a 4-byte big-endian data length, the header (a protobuf message) and the data
 * (raw record batches). A connection starts with MAGIC from each side. The header codecs live
 * here too, so both ends and the tests encode them alike.
 *
 * The decoder copies what it is given, so the caller may reuse its read buffer (net's `onread`):
 * one allocation per frame's data, which the frame's batches then share.
 */
import {
  peerMessageCodec,
  type ReplicaFetchFrame,
  type ReplicaFetchFrame__Output,
  type ReplicaFetchRequest,
  type ReplicaFetchRequest__Output,
} from '../../proto/index.js';

/** The header of a follower's frame. */
export const requestCodec = peerMessageCodec<ReplicaFetchRequest, ReplicaFetchRequest__Output>(
  'ReplicaFetchRequest',
);
/** The header of a leader's frame. */
export const frameCodec = peerMessageCodec<ReplicaFetchFrame, ReplicaFetchFrame__Output>(
  'ReplicaFetchFrame',
);

/** First bytes of a framed connection, both ways. Its first byte is not the 'P' of HTTP/2's preface. */
export const MAGIC = Buffer.from('BRKFETCH', 'latin1');

export const FRAME_PREFIX_BYTES = 8;

export interface Frame {
  readonly header: Buffer;
  readonly data: Buffer;
}

export interface FrameLimits {
  readonly headerBytesMax: number;
  readonly dataBytesMax: number;
}

/** A frame the peer sent is not one this side accepts; the connection cannot go on. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/** The 8 bytes before a frame's header. */
export function framePrefix(headerBytes: number, dataBytes: number): Buffer {
  const prefix = Buffer.allocUnsafe(FRAME_PREFIX_BYTES);
  prefix.writeUInt32BE(headerBytes, 0);
  prefix.writeUInt32BE(dataBytes, 4);
  return prefix;
}

/** Splits a byte stream into frames, checking each length against the limits before it allocates. */
export class FrameDecoder {
  private readonly prefix = Buffer.alloc(FRAME_PREFIX_BYTES);
  private prefixFilled = 0;
  private header: Buffer | null = null;
  private data: Buffer | null = null;
  /** Bytes of header + data filled so far. */
  private bodyFilled = 0;

  constructor(private readonly limits: FrameLimits) {}

  /** Takes the next bytes of the stream; returns the frames they complete, in order. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.header === null || this.data === null) {
        const n = chunk.copy(this.prefix, this.prefixFilled, at, at + FRAME_PREFIX_BYTES);
        this.prefixFilled += n;
        at += n;
        if (this.prefixFilled < FRAME_PREFIX_BYTES) break;
        this.startBody();
      }
      const header = this.header!;
      const data = this.data!;
      if (this.bodyFilled < header.length) {
        const n = chunk.copy(header, this.bodyFilled, at, at + header.length - this.bodyFilled);
        this.bodyFilled += n;
        at += n;
      }
      if (this.bodyFilled >= header.length) {
        const filled = this.bodyFilled - header.length;
        const n = chunk.copy(data, filled, at, at + data.length - filled);
        this.bodyFilled += n;
        at += n;
      }
      if (this.bodyFilled === header.length + data.length) {
        frames.push({ header, data });
        this.header = null;
        this.data = null;
        this.prefixFilled = 0;
        this.bodyFilled = 0;
      }
    }
    return frames;
  }

  /** True when no frame is partly received. */
  get isIdle(): boolean {
    return this.prefixFilled === 0;
  }

  private startBody(): void {
    const headerBytes = this.prefix.readUInt32BE(0);
    const dataBytes = this.prefix.readUInt32BE(4);
    if (headerBytes > this.limits.headerBytesMax) {
      throw new FrameError(
        `frame header of ${headerBytes} bytes is over the limit of ${this.limits.headerBytesMax}`,
      );
    }
    if (dataBytes > this.limits.dataBytesMax) {
      throw new FrameError(
        `frame data of ${dataBytes} bytes is over the limit of ${this.limits.dataBytesMax}`,
      );
    }
    this.header = Buffer.allocUnsafe(headerBytes);
    // Outside Node's shared pool: the batches keep this memory alive in the tail cache.
    this.data = dataBytes === 0 ? EMPTY : Buffer.allocUnsafeSlow(dataBytes);
    this.bodyFilled = 0;
  }
}

const EMPTY = Buffer.alloc(0);
