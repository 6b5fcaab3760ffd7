// Where the bytes of a blob come from. Re-openable at any offset, so an upload can resume after a broken
// connection without holding the blob in memory. Sources on disk also read into the uploader's own buffers, which
// it reuses: no new memory per chunk, and so about a quarter of the CPU a stream of fresh chunks costs.
import { createReadStream, statSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { createHash } from 'node:crypto';

export interface BlobSource {
  digest: string;
  size: number;
  /** The bytes from `start` (inclusive) to `end` (exclusive; default: the end). */
  open(start: number, end?: number): Promise<Readable>;
  /** Random access into the caller's buffers, where the source has it (files, layers laid out from files). */
  reader?(): BlobReader;
}

/** One reader for one upload: reads are sequential, `close()` frees what it holds. */
export interface BlobReader {
  /** Writes bytes `[position, position + length)` into `target` at `at`. */
  read(position: number, length: number, target: Buffer, at: number): Promise<void>;
  close(): Promise<void>;
}

export function fileBlob(path: string, digest: string, size = statSync(path).size): BlobSource {
  return {
    digest,
    size,
    open: async (start, end = size) =>
      end <= start ? emptyStream() : createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 }),
    reader: () => fileReader(path),
  };
}

/** Reads of one file, opened on the first read. */
export function fileReader(path: string): BlobReader {
  let handle: ReturnType<typeof openFile> | undefined;
  return {
    read: async (position, length, target, at) => {
      const file = await (handle ??= openFile(path, 'r'));
      for (let done = 0; done < length;) {
        const { bytesRead } = await file.read(target, at + done, length - done, position + done);
        if (bytesRead === 0) throw new Error(`${path} ended before byte ${position + length} (it changed)`);
        done += bytesRead;
      }
    },
    close: async () => {
      const opened = handle;
      handle = undefined;
      if (opened) await (await opened).close();
    },
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
