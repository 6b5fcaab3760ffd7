// Hashes stored-gzip layers off the main thread, so uploads keep streaming while the next layer is read. A layer
// needs three sha256 over (nearly) the same bytes: every file's (for the model's content hash), the tar's (the
// diff_id) and the stored gzip's (the blob digest), with the CRC-32 the gzip trailer holds. One sha256 runs at
// about 1.5 GB/s on a core, so the three are three tasks, each reading the files (from the page cache after the
// first), spread over the cores: a lone 1 GiB layer hashes in about the time of one sha256 on a 2-core runner.
// The worker is plain JavaScript run with `eval`, so it works the same from the bundle, tsx and jest, with no file
// to find next to the code.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { TarLayout } from './tar-layout.js';

export interface LayerHashes {
  /** sha256 (hex) of each regular file, by its number in the layout. */
  files: string[];
  /** sha256 of the tar: the config's diff_id. */
  diffId: string;
  /** sha256 of the stored gzip: the blob digest. */
  digest: string;
  crc: number;
}

const WORKER_SOURCE = String.raw`
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { closeSync, fstatSync, openSync, readSync } = require('node:fs');
const { crc32 } = require('node:zlib');

const BLOCK = 65535;
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);
const EMPTY = createHash('sha256').digest('hex');
const buffer = Buffer.allocUnsafe(1 << 20);

function blockHeader(length, final) {
  const header = Buffer.alloc(5);
  header[0] = final ? 1 : 0;
  header.writeUInt16LE(length, 1);
  header.writeUInt16LE(~length & 0xffff, 3);
  return header;
}

// part: 'files' (each file's sha256), 'tar' (the tar's sha256) or 'gzip' (CRC-32 and the stored gzip's sha256).
// The 'gzip' part reads every byte of the layer: it says how far it got every PROGRESS_EVERY bytes.
const PROGRESS_EVERY = 32 << 20;

function hashLayer(part, segments, fileCount, rawSize, onBytes) {
  const hash = createHash('sha256');
  const files = part === 'files' ? new Array(fileCount).fill(EMPTY) : [];
  let crc = 0;
  let raw = 0;
  let told = 0;
  if (part === 'gzip') hash.update(GZIP_HEADER);
  const feed = (chunk) => {
    if (part === 'tar') return hash.update(chunk);
    if (raw + chunk.length - told >= PROGRESS_EVERY) {
      told = raw + chunk.length;
      onBytes(told);
    }
    crc = crc32(chunk, crc);
    let offset = 0;
    while (offset < chunk.length) {
      if (raw % BLOCK === 0) hash.update(blockHeader(Math.min(BLOCK, rawSize - raw), false));
      const count = Math.min(chunk.length - offset, BLOCK - (raw % BLOCK));
      hash.update(chunk.subarray(offset, offset + count));
      offset += count;
      raw += count;
    }
  };
  for (const segment of segments) {
    if (segment.bytes) {
      if (part !== 'files') feed(Buffer.from(segment.bytes.buffer, segment.bytes.byteOffset, segment.bytes.byteLength));
      continue;
    }
    const file = part === 'files' ? createHash('sha256') : undefined;
    const fd = openSync(segment.path, 'r');
    try {
      let done = 0;
      while (done < segment.size) {
        const count = readSync(fd, buffer, 0, Math.min(buffer.length, segment.size - done), done);
        if (count === 0) break;
        const chunk = buffer.subarray(0, count);
        if (file) file.update(chunk);
        else feed(chunk);
        done += count;
      }
      if (done !== segment.size || fstatSync(fd).size !== segment.size) {
        throw new Error('model file ' + segment.path + ' changed while the image was built (its size changed)');
      }
    } finally {
      closeSync(fd);
    }
    if (file) files[segment.file] = file.digest('hex');
  }
  if (part === 'files') return { files };
  if (part === 'tar') return { diffId: 'sha256:' + hash.digest('hex') };
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(rawSize % 2 ** 32, 4);
  hash.update(Buffer.concat([blockHeader(0, true), trailer]));
  return { digest: 'sha256:' + hash.digest('hex'), crc: crc >>> 0 };
}

parentPort.on('message', ({ id, part, segments, fileCount, rawSize }) => {
  try {
    const onBytes = (hashed) => parentPort.postMessage({ id, hashed });
    parentPort.postMessage({ id, result: hashLayer(part, segments, fileCount, rawSize, onBytes) });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

type Part = 'files' | 'tar' | 'gzip';

interface Pending {
  worker: Worker;
  onHashed?: (bytes: number) => void;
  resolve(hashes: Partial<LayerHashes>): void;
  reject(error: Error): void;
}

/** A small pool of hashing workers, started on first use; `close()` ends them. */
export class LayerHasher {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly waiting: (() => void)[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  /** One worker more than the cores: three tasks per layer keep two cores busy to the end of a lone layer. */
  constructor(private readonly size = Math.min(4, availableParallelism() + 1)) {}

  /** `onHashed`: how many of the layer's tar bytes are hashed so far, every 32 MiB or so. */
  async hash(layout: TarLayout, onHashed?: (bytes: number) => void): Promise<LayerHashes> {
    const [files, tar, gzip] = await Promise.all(
      (['files', 'tar', 'gzip'] as const).map((part) =>
        this.hashPart(part, layout, part === 'gzip' ? onHashed : undefined),
      ),
    );
    return { files: files!.files!, diffId: tar!.diffId!, digest: gzip!.digest!, crc: gzip!.crc! };
  }

  private async hashPart(
    part: Part,
    layout: TarLayout,
    onHashed?: (bytes: number) => void,
  ): Promise<Partial<LayerHashes>> {
    const worker = await this.acquire();
    // A busy worker keeps the process alive (nothing else may be waiting on the event loop); an idle one does not.
    worker.ref();
    try {
      return await new Promise<Partial<LayerHashes>>((resolve, reject) => {
        const id = this.nextId++;
        this.pending.set(id, { worker, onHashed, resolve, reject });
        const { segments, files, size } = layout;
        worker.postMessage({ id, part, segments, fileCount: files.length, rawSize: size });
      });
    } finally {
      worker.unref();
      this.release(worker);
    }
  }

  async close(): Promise<void> {
    const workers = this.all.splice(0);
    this.idle.length = 0;
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  private async acquire(): Promise<Worker> {
    for (;;) {
      const idle = this.idle.pop();
      if (idle) return idle;
      if (this.all.length < this.size) return this.start();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(worker: Worker): void {
    if (!this.all.includes(worker)) return;
    this.idle.push(worker);
    this.waiting.shift()?.();
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // A worker holds a 1 MiB buffer and a few hashes: small heaps keep its resident memory small too.
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
    });
    worker.on('message', (message: { id: number; hashed?: number; result?: Partial<LayerHashes>; error?: string }) => {
      const pending = this.pending.get(message.id);
      if (message.hashed !== undefined) return pending?.onHashed?.(message.hashed);
      this.pending.delete(message.id);
      if (message.error !== undefined) pending?.reject(new Error(message.error));
      else pending?.resolve(message.result!);
    });
    const fail = (error: Error): void => {
      const index = this.all.indexOf(worker);
      if (index >= 0) this.all.splice(index, 1);
      for (const [id, pending] of this.pending) {
        if (pending.worker !== worker) continue;
        this.pending.delete(id);
        pending.reject(error);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the layer hashing worker stopped (exit code ${code})`)));
    this.all.push(worker);
    return worker;
  }
}
