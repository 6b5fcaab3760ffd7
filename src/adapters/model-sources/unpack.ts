// Safe, streamed extraction of a .tar / .tar.gz / .tgz into the model directory. Entries that would land outside it
// (`..`, absolute paths, links pointing out) stop the extraction; regular files and directories are kept, each file
// hashed while it is written; links inside the archive and device files are left out (a model needs neither).
// Bytes and entries are counted as they stream: an archive bomb stops at the limit, before the disk fills.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rm, rmdir } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { ModelSourceError } from '../../core/model-source.js';
import { formatBytes } from '../../engine/build.js';
import type { DownloadedFile } from './download.js';

/** What one archive may unpack to. */
export interface UnpackLimits {
  /** Bytes of all its files together. */
  maxBytes: number;
  /** Entries of any kind (files, directories, links). */
  maxEntries: number;
}

/** Sized for real models (the biggest are tens of GiB in thousands of files), far below a bomb's appetite. */
export const DEFAULT_UNPACK_LIMITS: UnpackLimits = { maxBytes: 50 * 2 ** 30, maxEntries: 100_000 };

export interface UnpackOptions {
  /** Prefixed to errors. */
  label: string;
  /** The archive's path in the model directory, for messages. */
  archive: string;
  /** Where `into` sits in the model directory (`''` for its root): prefixed to the returned paths. */
  base: string;
  /** Default `DEFAULT_UNPACK_LIMITS`. */
  limits?: Partial<UnpackLimits>;
  /** Called with each file's path in the model directory before it is written; throws to refuse it. */
  claim?: (path: string) => void;
}

/** Unpacks `archivePath` (gzip or not, told by its first bytes) into `into`; returns the files written. */
export async function unpackArchive(
  archivePath: string,
  into: string,
  options: UnpackOptions,
): Promise<DownloadedFile[]> {
  const gzipped = await startsWithGzipMagic(archivePath);
  const extract = tar.extract();
  const feeding = pipeline([
    createReadStream(archivePath, { highWaterMark: 1 << 20 }),
    ...(gzipped ? [createGunzip()] : []),
    extract,
  ]);
  // An error in the loop below destroys `extract`; the feeding pipeline then fails too, and is not the news.
  feeding.catch(() => undefined);
  const limits = { ...DEFAULT_UNPACK_LIMITS, ...options.limits };
  const files = new Map<string, DownloadedFile>();
  const written = new Set<string>();
  const createdDirs = new Set<string>();
  const makeDir = async (dir: string): Promise<void> => {
    // mkdir names the first directory it created; every one from there down to `dir` is new too.
    const first = await mkdir(dir, { recursive: true });
    if (first !== undefined) for (let at = dir; at.length >= first.length; at = dirname(at)) createdDirs.add(at);
  };
  let entries = 0;
  let unpacked = 0;
  try {
    for await (const entry of extract) {
      if (++entries > limits.maxEntries) {
        throw new ModelSourceError(
          `${options.label}: archive ${options.archive} has more than ${limits.maxEntries} entries; refusing to ` +
            'unpack it (an archive bomb, or a model with more files than model-canary unpacks)',
        );
      }
      const header = entry.header;
      const name = entryPath(header.name, options);
      const type = header.type ?? 'file';
      if (type === 'symlink' || type === 'link') {
        checkLink(header.name, header.linkname ?? '', type, options);
        entry.resume();
      } else if (type === 'directory') {
        if (name) await makeDir(join(into, ...name.split('/')));
        entry.resume();
      } else if ((type === 'file' || type === 'contiguous-file') && name) {
        const path = options.base ? `${options.base}/${name}` : name;
        options.claim?.(path);
        const target = join(into, ...name.split('/'));
        await makeDir(dirname(target));
        written.add(target);
        const hash = createHash('sha256');
        let size = 0;
        const executable = ((header.mode ?? 0o644) & 0o111) !== 0;
        await pipeline(
          entry,
          new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              // Counted before the write, so a bomb never puts more than one chunk past the limit on disk.
              unpacked += chunk.length;
              if (unpacked > limits.maxBytes) {
                callback(
                  new ModelSourceError(
                    `${options.label}: archive ${options.archive} unpacks to more than ` +
                      `${formatBytes(limits.maxBytes)}; refusing to unpack it (an archive bomb, or a model bigger ` +
                      'than model-canary unpacks)',
                  ),
                );
                return;
              }
              hash.update(chunk);
              size += chunk.length;
              callback(null, chunk);
            },
          }),
          createWriteStream(target, { mode: executable ? 0o755 : 0o644 }),
        );
        files.set(path, { path, size, sha256: hash.digest('hex') });
      } else {
        entry.resume();
      }
    }
  } catch (error) {
    extract.destroy();
    // Nothing half-unpacked stays behind: the files this archive wrote go too, and the directories it made once
    // empty (deepest first; one that holds another source's files stays).
    await Promise.all([...written].map((target) => rm(target, { force: true })));
    for (const dir of [...createdDirs].sort((a, b) => b.length - a.length)) await rmdir(dir).catch(() => undefined);
    if (error instanceof ModelSourceError) throw error;
    throw new ModelSourceError(`${options.label}: cannot unpack ${options.archive}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    await feeding;
  } catch (error) {
    throw new ModelSourceError(`${options.label}: cannot unpack ${options.archive}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return [...files.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The entry's path, normalised and checked to stay inside; '' for the archive root (`./`). */
function entryPath(raw: string, options: UnpackOptions): string {
  const name = raw.replace(/\\/g, '/');
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || parts.includes('..')) {
    throw new ModelSourceError(
      `${options.label}: archive ${options.archive} has an entry '${raw}' that leaves the model directory; ` +
        'refusing to unpack it (rebuild the archive with relative paths)',
    );
  }
  return parts.join('/');
}

function checkLink(name: string, linkname: string, type: 'symlink' | 'link', options: UnpackOptions): void {
  // A symlink's target is relative to its own directory, a hard link's to the archive root.
  const from = type === 'symlink' ? posix.dirname(name.replace(/\\/g, '/')) : '.';
  const resolved = posix.normalize(posix.join(from, linkname));
  if (linkname.startsWith('/') || resolved === '..' || resolved.startsWith('../')) {
    throw new ModelSourceError(
      `${options.label}: archive ${options.archive} has a link '${name}' -> '${linkname}' that points outside ` +
        'the model directory; refusing to unpack it',
    );
  }
}

async function startsWithGzipMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}
