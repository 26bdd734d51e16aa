/**
 * Record-section compression (docs/record-batch.md, "Compression"). The bytes after the 61-byte
 * header are compressed as a whole: gzip as RFC 1952 (what zlib.gzip writes), snappy as one raw
 * snappy block (not the xerial framing Kafka's Java client uses, nor the snappy frame format).
 * Both run off the event loop: zlib on the libuv pool, snappy as a napi async task.
 */
import { constants as zlibConstants, gunzip, gzip } from 'node:zlib';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';
import { limits } from '../config/limits.js';
import { Compression } from './layout.js';

/**
 * Largest uncompressed records section Brook builds or inflates. A batch decodes into per-record
 * messages that must fit one gRPC message, so a larger section could never be delivered; the
 * bound also stops a small compressed batch from inflating into gigabytes (a decompression bomb).
 */
export const RECORDS_UNCOMPRESSED_BYTES_MAX = limits.grpcMessageBytesMax;

/** True for the codec ids Brook implements (the low 3 attribute bits). */
export function isKnownCompression(codec: number): codec is Compression {
  return codec === Compression.NONE || codec === Compression.GZIP || codec === Compression.SNAPPY;
}

/** Compresses a records section. NONE returns the input itself (no copy). */
export async function compressRecords(codec: Compression, records: Buffer): Promise<Buffer> {
  switch (codec) {
    case Compression.NONE:
      return records;
    case Compression.GZIP:
      return gzipAsync(records);
    case Compression.SNAPPY:
      return snappyCompress(records, { copyOutputData: false });
  }
}

/**
 * Inflates a records section. Rejects (with an Error naming the codec) on corrupt input or when
 * the output would exceed bytesMax. NONE returns the input itself.
 */
export async function decompressRecords(
  codec: Compression,
  compressed: Buffer,
  bytesMax: number,
): Promise<Buffer> {
  switch (codec) {
    case Compression.NONE:
      return compressed;
    case Compression.GZIP:
      return gunzipAsync(compressed, bytesMax);
    case Compression.SNAPPY:
      return snappyUncompressBounded(compressed, bytesMax);
  }
}

function gzipAsync(input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gzip(input, { level: zlibConstants.Z_DEFAULT_COMPRESSION }, (error, output) => {
      if (error === null) resolve(output);
      else reject(error);
    });
  });
}

function gunzipAsync(input: Buffer, bytesMax: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxOutputLength makes zlib stop at the bound instead of inflating a bomb into memory.
    gunzip(
      input,
      { maxOutputLength: bytesMax, finishFlush: zlibConstants.Z_FINISH },
      (error, output) => {
        if (error === null) resolve(output);
        else reject(new Error(`gzip records do not inflate: ${error.message}`, { cause: error }));
      },
    );
  });
}

async function snappyUncompressBounded(input: Buffer, bytesMax: number): Promise<Buffer> {
  // A raw snappy block starts with its uncompressed length as an unsigned varint; checking it
  // first bounds the allocation the decoder is about to make.
  const declaredBytes = snappyDeclaredLength(input);
  if (declaredBytes < 0) throw new Error('snappy records have no valid length preamble');
  if (declaredBytes > bytesMax) {
    throw new Error(`snappy records declare ${declaredBytes} bytes, more than ${bytesMax}`);
  }
  let output: string | Buffer;
  try {
    output = await snappyUncompress(input, { asBuffer: true, copyOutputData: false });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`snappy records do not inflate: ${message}`, { cause: error });
  }
  if (typeof output === 'string') throw new Error('snappy returned a string despite asBuffer');
  return output;
}

/** The uncompressed length from a raw snappy preamble (varint, at most 5 bytes), or -1. */
function snappyDeclaredLength(input: Buffer): number {
  let value = 0;
  for (let i = 0; i < 5 && i < input.length; i++) {
    const byte = input[i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return value;
  }
  return -1;
}
