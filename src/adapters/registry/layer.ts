// The model directory as image layers that follow the files: every file of OWN_LAYER_MIN_BYTES or more gets a
// layer of its own, the smaller ones (with the directories and symlinks) share one, so a change to one big file
// uploads that file's layer only. At most MAX_MODEL_LAYERS layers: past that, the smallest big files join the
// shared layer. Every layer is a deterministic tar (sorted paths, fixed mtime, owner 0:0, normalised modes, the
// parent directories it needs) in a gzip, so the same files always give the same digests.
//
// Weights that barely compress go in "stored" gzip blocks: the layer's bytes are then laid out from the file sizes
// alone, hashed by a worker thread reading each file once, and streamed from the files when they are uploaded (no
// temporary copy; a broken upload resumes at any offset). A layer worth compressing is built into a temporary file.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, open, readdir, readlink, rm } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGzip, deflateRawSync } from 'node:zlib';
import { modelContentSha256 } from '../../core/model-source.js';
import { fileBlob, type BlobReader, type BlobSource } from './blob-source.js';
import { LayerHasher, type LayerHashes } from './layer-hasher.js';
import { StoredGzipLayout, storedGzipSize } from './stored-gzip.js';
import { tarLayout, TarReader, type TarEntry, type TarLayout } from './tar-layout.js';

export const DEFAULT_MODEL_TARGET = '/mnt/models';
/** Fixed timestamp for every entry (1980-01-01, as reproducible-build tools use; 0 upsets some unpackers). */
export const LAYER_MTIME = new Date('1980-01-01T00:00:00Z');
/**
 * Files this big get a layer of their own. Below it, a layer of its own costs about what re-sending the file does
 * (a HEAD, an upload session and a manifest entry per push, a snapshot per layer on every node that pulls), and
 * model directories are a few big weight files beside many small configs, tokenizers and metadata.
 */
export const OWN_LAYER_MIN_BYTES = 16 << 20;
/** The most layers a model gets: runtimes cap an image's layers (overlayfs at about 128, base layers included). */
export const MAX_MODEL_LAYERS = 32;

/** How often (in tar bytes) a layer's hashing or compressing reports how far it got. */
const PROGRESS_EVERY = 32 << 20;

export interface ModelFile {
  /** Path inside the model directory, `/`-separated. */
  path: string;
  size: number;
  sha256: string;
}

/** A model layer ready to push: its digests known, its bytes re-readable from any offset. */
export interface LayerBlob extends BlobSource {
  /** sha256 of the uncompressed tar: the config's rootfs diff_id. */
  diffId: string;
  /** The model files in the layer (paths inside the model directory). */
  files: string[];
  compressionLevel: number;
  /** `model files` for the shared layer, else the one file's path. */
  description: string;
}

export interface ModelLayers {
  layers: LayerBlob[];
  /** Every file of the model, sorted by path. */
  files: ModelFile[];
  /** The single file's sha256, or the sha256 of a `sha256sum`-style list of all files (modelContentSha256). */
  modelSha256: string;
}

/** A layer before its bytes are hashed. */
export interface PlannedLayer {
  description: string;
  files: string[];
  compressionLevel: number;
  /** Stored layers: the size, known from the file sizes alone. */
  size?: number;
  /**
   * Stored layers: the bytes, readable before they are hashed (an upload can start at once and be closed with the
   * digest when `seal()` has it). The last 13 bytes wait for the hash, which they contain.
   */
  open?(start: number, end?: number): Promise<Readable>;
  reader?(): BlobReader;
  /** Hashes (or, for a compressed layer, builds) the layer. Runs once; later calls share the result. */
  seal(): Promise<LayerBlob>;
}

export interface ModelLayerPlan {
  layers: PlannedLayer[];
  /** Every layer sealed, and the model's files and content hash. */
  seal(): Promise<ModelLayers>;
  /** Stops the hashing workers and deletes temporary layer files. */
  dispose(): Promise<void>;
}

export interface ModelLayerOptions {
  modelPath: string;
  /** Where the files land in the image. */
  target?: string;
  /** Where layers worth compressing are built. */
  workDir: string;
  /** 0-9, or `auto` (per layer): 1 when samples of its files compress by 15% or more, else 0. */
  compressionLevel?: number | 'auto';
  ownLayerMinBytes?: number;
  maxLayers?: number;
  /** Hashing workers (default: one per core, at most 4). */
  hasher?: LayerHasher;
  /** How far each layer's hashing (and compressing) got: its description, tar bytes done, tar bytes in all. */
  onPrepared?: (description: string, doneBytes: number, totalBytes: number) => void;
}

interface Entry extends TarEntry {
  /** Path inside the model directory, for files. */
  path: string;
}

/** Walks the model directory and lays out its layers; no file is read yet (but for compression samples). */
export async function planModelLayers(options: ModelLayerOptions): Promise<ModelLayerPlan> {
  const target = posix.normalize(`/${options.target ?? DEFAULT_MODEL_TARGET}/`).replace(/^\/+/, '');
  const parents = parentDirectories(target);
  const entries = await walk(options.modelPath, target);
  const files = entries.filter((entry) => entry.type === 'file');
  if (files.length === 0) throw new Error(`model-path ${options.modelPath} has no files to put in the image`);

  const own = ownLayerFiles(entries, options.ownLayerMinBytes ?? OWN_LAYER_MIN_BYTES, options.maxLayers);
  const groups: { description: string; entries: Entry[] }[] = [];
  const shared = entries.filter((entry) => !own.has(entry.name));
  const sharedNeeded = shared.some(
    (entry) => entry.type !== 'directory' || ![...own].some((name) => name.startsWith(entry.name)),
  );
  if (sharedNeeded) groups.push({ description: 'model files', entries: [...parents, ...shared] });
  for (const name of [...own].sort(compareNames)) {
    const file = files.find((entry) => entry.name === name)!;
    const ancestors = entries.filter((entry) => entry.type === 'directory' && name.startsWith(entry.name));
    groups.push({ description: file.path, entries: [...parents, ...ancestors, file] });
  }

  const hasher = options.hasher ?? new LayerHasher();
  const temporary: string[] = [];
  const layers: PlannedLayer[] = [];
  for (const [index, group] of groups.entries()) {
    const layout = tarLayout(group.entries, LAYER_MTIME);
    const level =
      options.compressionLevel === undefined || options.compressionLevel === 'auto'
        ? await chooseCompressionLevel(layout)
        : options.compressionLevel;
    const paths = layout.files.map((file) => file.name.slice(target.length));
    if (level === 0) {
      layers.push(storedLayer(layout, hasher, group.description, paths));
    } else {
      const file = join(options.workDir, `model-layer-${index}.tar.gz`);
      temporary.push(file);
      layers.push(compressedLayer(layout, level, file, group.description, paths));
    }
  }

  let sealed: Promise<ModelLayers> | undefined;
  return {
    layers,
    seal: () =>
      (sealed ??= Promise.all(layers.map((layer) => layer.seal())).then(async (blobs) => {
        const hashed = await Promise.all(layers.map((layer) => fileHashes.get(layer)!));
        const all = hashed.flat().sort((a, b) => compareNames(a.path, b.path));
        return { layers: blobs, files: all, modelSha256: modelContentSha256(all) };
      })),
    dispose: async () => {
      if (!options.hasher) await hasher.close();
      await Promise.all(temporary.map((file) => rm(file, { force: true })));
    },
  };

  function storedLayer(layout: TarLayout, pool: LayerHasher, description: string, paths: string[]): PlannedLayer {
    const size = storedGzipSize(layout.size);
    let hashing: Promise<LayerHashes> | undefined;
    const hashes = () =>
      (hashing ??= pool
        .hash(layout, (bytes) => options.onPrepared?.(description, bytes, layout.size))
        .then((hashed) => {
          options.onPrepared?.(description, layout.size, layout.size);
          return hashed;
        }));
    const crc = async () => (await hashes()).crc;
    const reader = (): BlobReader => {
      const tar = new TarReader(layout);
      const gzip = new StoredGzipLayout(tar.read.bind(tar), layout.size, crc);
      return { read: gzip.read.bind(gzip), close: () => tar.close() };
    };
    const open = async (start: number, end = size): Promise<Readable> => {
      const tar = new TarReader(layout);
      const gzip = new StoredGzipLayout(tar.read.bind(tar), layout.size, crc);
      return Readable.from(
        closing(gzip.range(start, end), () => tar.close()),
        {
          objectMode: false,
          highWaterMark: 2 << 20,
        },
      );
    };
    let sealed: Promise<LayerBlob> | undefined;
    const layer: PlannedLayer = {
      description,
      files: paths,
      compressionLevel: 0,
      size,
      open,
      reader,
      seal: () =>
        (sealed ??= hashes().then((hashed) => {
          fileHashes.set(layer, filesOf(layout, hashed.files));
          const { digest, diffId } = hashed;
          return { digest, diffId, size, open, reader, files: paths, compressionLevel: 0, description };
        })),
    };
    return layer;
  }

  function compressedLayer(
    layout: TarLayout,
    level: number,
    file: string,
    description: string,
    paths: string[],
  ): PlannedLayer {
    let building: Promise<LayerBlob> | undefined;
    const layer: PlannedLayer = {
      description,
      files: paths,
      compressionLevel: level,
      seal: () =>
        (building ??= buildCompressed(layout, level, file, (bytes) =>
          options.onPrepared?.(description, bytes, layout.size),
        ).then(({ digest, diffId, size, sha256s }) => {
          options.onPrepared?.(description, layout.size, layout.size);
          fileHashes.set(layer, filesOf(layout, sha256s));
          return { ...fileBlob(file, digest, size), diffId, files: paths, compressionLevel: level, description };
        })),
    };
    return layer;
  }

  function filesOf(layout: TarLayout, sha256s: string[]): ModelFile[] {
    return layout.files.map((file, index) => ({
      path: file.name.slice(target.length),
      size: file.size,
      sha256: sha256s[index]!,
    }));
  }
}

const fileHashes = new WeakMap<PlannedLayer, ModelFile[]>();

/** Plans and seals every layer: for tests and tools that want the finished layers. */
export async function buildModelLayers(
  options: ModelLayerOptions,
): Promise<ModelLayers & { dispose(): Promise<void> }> {
  const plan = await planModelLayers(options);
  try {
    return { ...(await plan.seal()), dispose: () => plan.dispose() };
  } catch (error) {
    await plan.dispose();
    throw error;
  }
}

/**
 * Which files get a layer of their own: those of `minBytes` or more, the biggest first (ties by path) while there
 * is room; one layer is kept for the rest when anything else (small files, symlinks, empty directories) needs it.
 */
export function ownLayerFiles(
  entries: Pick<TarEntry, 'name' | 'type' | 'size'>[],
  minBytes: number,
  maxLayers = MAX_MODEL_LAYERS,
): Set<string> {
  const big = entries
    .filter((entry) => entry.type === 'file' && entry.size >= minBytes)
    .sort((a, b) => b.size - a.size || compareNames(a.name, b.name));
  const bigNames = big.map((entry) => entry.name);
  const othersNeedALayer = entries.some(
    (entry) =>
      (entry.type !== 'directory' && !(entry.type === 'file' && entry.size >= minBytes)) ||
      (entry.type === 'directory' && !bigNames.some((name) => name.startsWith(entry.name))),
  );
  const room = Math.max(0, maxLayers - (othersNeedALayer || big.length > maxLayers ? 1 : 0));
  return new Set(bigNames.slice(0, room));
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function parentDirectories(target: string): Entry[] {
  const parts = target.split('/').filter(Boolean);
  return parts.map((_, index) => ({
    name: `${parts.slice(0, index + 1).join('/')}/`,
    path: '',
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
        found.push({ name: `${target}${inside}/`, path: inside, type: 'directory', mode: 0o755, size: 0 });
        await visit(absolute);
      } else if (stat.isFile()) {
        const mode = stat.mode & 0o111 ? 0o755 : 0o644;
        found.push({ name: `${target}${inside}`, path: inside, type: 'file', mode, size: stat.size, source: absolute });
      } else if (stat.isSymbolicLink()) {
        const linkname = await readlink(absolute);
        found.push({ name: `${target}${inside}`, path: inside, type: 'symlink', mode: 0o777, size: 0, linkname });
      } else {
        throw new Error(`model-path ${root}: ${inside} is neither a file, a directory nor a symlink`);
      }
    }
  };
  await visit(root);
  return found.sort((a, b) => compareNames(a.name, b.name));
}

/** Runs `close` however the consumer stops reading (end, error or destroy). */
async function* closing<T>(source: AsyncGenerator<T>, close: () => Promise<void>): AsyncGenerator<T> {
  try {
    yield* source;
  } finally {
    await close();
  }
}

/** The tar through gzip at `level` into `file`, hashing the files, the tar and the gzip on the way. */
async function buildCompressed(
  layout: TarLayout,
  level: number,
  file: string,
  onBytes: (tarBytes: number) => void,
): Promise<{ digest: string; diffId: string; size: number; sha256s: string[] }> {
  let told = 0;
  const tell = (done: number) => {
    if (done - told < PROGRESS_EVERY) return;
    told = done;
    onBytes(done);
  };
  const sha256s = layout.files.map(() => createHash('sha256').digest('hex'));
  async function* tarBytes(): AsyncGenerator<Buffer> {
    for (const segment of layout.segments) {
      if ('bytes' in segment) {
        yield segment.bytes;
        continue;
      }
      const hash = createHash('sha256');
      const handle = await open(segment.path, 'r');
      try {
        let done = 0;
        while (done < segment.size) {
          const chunk = Buffer.allocUnsafe(Math.min(1 << 20, segment.size - done));
          const { bytesRead } = await handle.read(chunk, 0, chunk.length, done);
          if (bytesRead === 0) break;
          hash.update(chunk.subarray(0, bytesRead));
          yield chunk.subarray(0, bytesRead);
          done += bytesRead;
        }
        if (done !== segment.size || (await handle.stat()).size !== segment.size) {
          throw new Error(`model file ${segment.path} changed while the image was built (its size changed)`);
        }
      } finally {
        await handle.close();
      }
      sha256s[segment.file] = hash.digest('hex');
    }
  }
  const raw = hashingStream(tell);
  const compressed = hashingStream();
  await pipeline(
    Readable.from(tarBytes(), { objectMode: false }),
    raw.stream,
    createGzip({ level, chunkSize: 1 << 20 }),
    compressed.stream,
    createWriteStream(file, { highWaterMark: 2 << 20 }),
  );
  return { digest: compressed.digest(), diffId: raw.digest(), size: compressed.bytes(), sha256s };
}

function hashingStream(onBytes?: (bytes: number) => void): { stream: Transform; digest(): string; bytes(): number } {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    highWaterMark: 2 << 20,
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(bytes);
      callback(null, chunk);
    },
  });
  let digest: string | undefined;
  return { stream, digest: () => (digest ??= `sha256:${hash.digest('hex')}`), bytes: () => bytes };
}

const SAMPLES = 8;
const SAMPLE_BYTES = 64 << 10;

/**
 * Deflates eight 64 KiB samples spread evenly over the layer's file bytes (all of them when they are fewer than
 * 512 KiB): worth compressing only when they shrink by 15% or more. Weights barely compress; configs do.
 */
async function chooseCompressionLevel(layout: TarLayout): Promise<number> {
  const files = layout.files.filter((file) => file.size > 0);
  const total = files.reduce((sum, file) => sum + file.size, 0);
  if (total === 0) return 0;
  const windows: [number, number][] =
    total <= SAMPLES * SAMPLE_BYTES
      ? [[0, total]]
      : Array.from({ length: SAMPLES }, (_, k) => {
          const start = Math.floor((k * (total - SAMPLE_BYTES)) / (SAMPLES - 1));
          return [start, start + SAMPLE_BYTES];
        });
  let raw = 0;
  let packed = 0;
  for (const [start, end] of windows) {
    const sample = await readContent(files, start, end);
    raw += sample.length;
    packed += deflateRawSync(sample, { level: zlibConstants.Z_BEST_SPEED }).length;
  }
  return packed / raw < 0.85 ? 1 : 0;
}

/** Bytes `[start, end)` of the files' contents one after the other. */
async function readContent(files: { path: string; size: number }[], start: number, end: number): Promise<Buffer> {
  const out = Buffer.alloc(end - start);
  let offset = 0;
  for (const file of files) {
    const from = Math.max(start, offset);
    const to = Math.min(end, offset + file.size);
    if (from < to) {
      const handle = await open(file.path, 'r');
      try {
        await handle.read(out, from - start, to - from, from - offset);
      } finally {
        await handle.close();
      }
    }
    offset += file.size;
    if (offset >= end) break;
  }
  return out;
}
