// The model directory as one deterministic tar.gz layer: sorted paths, fixed mtime, owner 0:0, normalised
// modes, so the same model always gives the same digest (and an unchanged model uploads nothing).
// Streamed from disk to a temp file while hashing: memory stays flat whatever the model weighs.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { once } from 'node:events';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGzip, deflateRawSync } from 'node:zlib';
import tar from 'tar-stream';
import { storedGzip } from './stored-gzip.js';
import { modelContentSha256 } from '../../core/model-source.js';

export const DEFAULT_MODEL_TARGET = '/mnt/models';
/** Fixed timestamp for every entry (1980-01-01, as reproducible-build tools use; 0 upsets some unpackers). */
export const LAYER_MTIME = new Date('1980-01-01T00:00:00Z');

export interface ModelFile {
  /** Path inside the model directory, `/`-separated. */
  path: string;
  size: number;
  sha256: string;
}

export interface ModelLayer {
  /** The compressed layer on disk. */
  file: string;
  /** sha256 of the compressed bytes: the blob digest. */
  digest: string;
  /** sha256 of the uncompressed tar: the config's rootfs diff_id. */
  diffId: string;
  size: number;
  files: ModelFile[];
  /** The single file's sha256, or the sha256 of a `sha256sum`-style list of all files. */
  modelSha256: string;
  compressionLevel: number;
}

export interface ModelLayerOptions {
  modelPath: string;
  /** Where the files land in the image. */
  target?: string;
  outputFile: string;
  /** 0-9, or `auto`: 1 when a sample of the files compresses well, else 0 (weights barely compress). */
  compressionLevel?: number | 'auto';
}

interface Entry {
  name: string;
  absolute: string;
  type: 'directory' | 'file' | 'symlink';
  mode: number;
  size: number;
}

export async function buildModelLayer(options: ModelLayerOptions): Promise<ModelLayer> {
  const target = posix.normalize(`/${options.target ?? DEFAULT_MODEL_TARGET}/`).replace(/^\/+/, '');
  const entries = [...parentDirectories(target), ...(await walk(options.modelPath, target))];
  if (!entries.some((entry) => entry.type === 'file')) {
    throw new Error(`model-path ${options.modelPath} has no files to put in the image`);
  }
  const level =
    options.compressionLevel === undefined || options.compressionLevel === 'auto'
      ? await chooseCompressionLevel(entries)
      : options.compressionLevel;

  const pack = tar.pack();
  const uncompressed = hashingStream();
  const compressed = hashingStream();
  const written = pipeline(
    pack,
    uncompressed.stream,
    level === 0 ? storedGzip() : createGzip({ level, chunkSize: 1 << 20 }),
    compressed.stream,
    createWriteStream(options.outputFile, { highWaterMark: 2 << 20 }),
  );
  const files: ModelFile[] = [];
  const feeding = (async () => {
    for (const entry of entries) {
      const file = await addEntry(pack, entry, target);
      if (file) files.push(file);
    }
    pack.finalize();
  })();
  await Promise.all([written, feeding]);

  return {
    file: options.outputFile,
    digest: compressed.digest(),
    diffId: uncompressed.digest(),
    size: compressed.bytes(),
    files,
    modelSha256: modelContentSha256(files),
    compressionLevel: level,
  };
}

function parentDirectories(target: string): Entry[] {
  const parts = target.split('/').filter(Boolean);
  return parts.map((_, index) => ({
    name: `${parts.slice(0, index + 1).join('/')}/`,
    absolute: '',
    type: 'directory' as const,
    mode: 0o755,
    size: 0,
  }));
}

/** Every file, directory and symlink under `root`, sorted by path so the tar is the same on every machine. */
async function walk(root: string, target: string): Promise<Entry[]> {
  let rootStat;
  try {
    rootStat = await lstat(root);
  } catch {
    throw new Error(`model-path ${root} does not exist`);
  }
  if (!rootStat.isDirectory()) throw new Error(`model-path ${root} is not a directory`);
  const found: Entry[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const absolute = join(dir, name);
      const stat = await lstat(absolute);
      const inside = relative(root, absolute).split(sep).join('/');
      if (stat.isDirectory()) {
        found.push({ name: `${target}${inside}/`, absolute, type: 'directory', mode: 0o755, size: 0 });
        await visit(absolute);
      } else if (stat.isFile()) {
        const mode = stat.mode & 0o111 ? 0o755 : 0o644;
        found.push({ name: `${target}${inside}`, absolute, type: 'file', mode, size: stat.size });
      } else if (stat.isSymbolicLink()) {
        found.push({ name: `${target}${inside}`, absolute, type: 'symlink', mode: 0o777, size: 0 });
      } else {
        throw new Error(`model-path ${root}: ${inside} is neither a file, a directory nor a symlink`);
      }
    }
  };
  await visit(root);
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function addEntry(pack: tar.Pack, entry: Entry, target: string): Promise<ModelFile | undefined> {
  const header = { name: entry.name, mode: entry.mode, mtime: LAYER_MTIME, uid: 0, gid: 0, uname: '', gname: '' };
  if (entry.type === 'directory') {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ ...header, type: 'directory' }, (error) => (error ? reject(error) : resolve())),
    );
    return undefined;
  }
  if (entry.type === 'symlink') {
    const linkname = await readlink(entry.absolute);
    await new Promise<void>((resolve, reject) =>
      pack.entry({ ...header, type: 'symlink', linkname }, (error) => (error ? reject(error) : resolve())),
    );
    return undefined;
  }
  const hash = createHash('sha256');
  let finish!: (error?: Error | null) => void;
  const done = new Promise<void>((resolve, reject) => (finish = (error) => (error ? reject(error) : resolve())));
  const sink = pack.entry({ ...header, type: 'file', size: entry.size }, (error) => finish(error));
  for await (const chunk of createReadStream(entry.absolute, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    if (!sink.write(chunk)) await once(sink, 'drain');
  }
  (sink as NodeJS.WritableStream).end();
  await done;
  return { path: entry.name.slice(target.length), size: entry.size, sha256: hash.digest('hex') };
}

function hashingStream(): { stream: Transform; digest(): string; bytes(): number } {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    // Deep buffers let disk reads and writes overlap with hashing instead of taking turns.
    highWaterMark: 2 << 20,
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  let digest: string | undefined;
  return { stream, digest: () => (digest ??= `sha256:${hash.digest('hex')}`), bytes: () => bytes };
}

/** Deflates the first MiB of up to eight files: worth compressing only when they shrink by 15% or more. */
async function chooseCompressionLevel(entries: Entry[]): Promise<number> {
  const files = entries.filter((entry) => entry.type === 'file' && entry.size > 0).slice(0, 8);
  let raw = 0;
  let packed = 0;
  for (const file of files) {
    const handle = await open(file.absolute, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(file.size, 1 << 20));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      raw += bytesRead;
      packed += deflateRawSync(buffer.subarray(0, bytesRead), { level: zlibConstants.Z_BEST_SPEED }).length;
    } finally {
      await handle.close();
    }
  }
  return raw > 0 && packed / raw < 0.85 ? 1 : 0;
}
