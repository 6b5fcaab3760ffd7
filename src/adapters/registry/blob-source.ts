// Where the bytes of a blob come from. Re-openable at any offset, so an upload can resume after a broken
// connection without holding the blob in memory.
import { createReadStream, statSync } from 'node:fs';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { createHash } from 'node:crypto';

export interface BlobSource {
  digest: string;
  size: number;
  /** The bytes from `start` (inclusive) to `end` (exclusive; default: the end). */
  open(start: number, end?: number): Promise<Readable>;
}

export function fileBlob(path: string, digest: string, size = statSync(path).size): BlobSource {
  return {
    digest,
    size,
    open: async (start, end = size) =>
      end <= start ? emptyStream() : createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 }),
  };
}

export function bufferBlob(data: Buffer): BlobSource {
  return {
    digest: sha256Digest(data),
    size: data.length,
    open: async (start, end = data.length) => {
      const stream = new PassThrough();
      stream.end(data.subarray(start, end));
      return stream;
    },
  };
}

function emptyStream(): Readable {
  const stream = new PassThrough();
  stream.end();
  return stream;
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Passes bytes through unchanged and reports how many went by. */
export function countingStream(onBytes: (count: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
}
