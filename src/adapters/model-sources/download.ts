// Downloads a resolved model's files into the model directory: streamed to `<path>.part` and renamed, resumed with
// Range after a broken connection, each file's sha256 computed on the way (provenance) and its expected hash and size
// checked at the end. Archives marked `unpack` are unpacked and give their files instead; no two sources (listed
// files, archives' members) may write one path.
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  displayUri,
  ModelSourceError,
  PathClaims,
  safeRelativePath,
  type DownloadedFile,
  type RemoteFile,
} from '../../core/model-source.js';
import { isNetworkError, retryDelayMs, type RetryPolicy } from '../registry/retry.js';
import { AttemptFailure, openBody } from './body.js';
import { IdleTimeoutError } from './http-get.js';
import { PartFile } from './part-file.js';
import { unpackArchive, type UnpackLimits } from './unpack.js';

export type { DownloadedFile } from '../../core/model-source.js';

export interface DownloadOptions {
  /** Retries in a row that bring no new bytes before the download fails (default 5); progress resets it. */
  retries?: number;
  /** How long a request may see no bytes (default 60 s). */
  timeoutMs?: number;
  /** Files downloaded at once (default 4). */
  concurrency?: number;
  onProgress?: (path: string, received: number, total: number | undefined) => void;
  /** Names the source in every error, e.g. `model-source models:/churn/3`. */
  label: string;
  /** First backoff between attempts (default 500 ms, doubling up to 10 s); tests set it near 0. */
  retryDelayMs?: number;
  /** What each archive may unpack to (default `DEFAULT_UNPACK_LIMITS`: 50 GiB, 100,000 entries). */
  unpackLimits?: Partial<UnpackLimits>;
}

export async function downloadFiles(
  files: RemoteFile[],
  destDir: string,
  options: DownloadOptions,
): Promise<DownloadedFile[]> {
  const paths = files.map((file) => safeRelativePath(file.path, options.label));
  const twice = paths.find((path, index) => paths.indexOf(path) !== index);
  if (twice) throw new ModelSourceError(`${options.label}: the source lists '${twice}' twice`);
  // The listed files claim their paths before anything downloads, so an archive member landing on one fails
  // whichever finishes first.
  const claims = new PathClaims(options.label);
  files.forEach((file, index) => {
    if (!file.unpack) claims.claim(paths[index]!, `the downloaded file '${paths[index]}'`);
  });
  const controller = new AbortController();
  const results: DownloadedFile[][] = [];
  let firstError: unknown;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length && !controller.signal.aborted) {
      const index = next++;
      try {
        results[index] = await downloadOne(files[index]!, paths[index]!, destDir, options, claims, controller.signal);
      } catch (error) {
        if (firstError === undefined) firstError = error;
        // The run stops before anything is pushed: the other files stop too.
        controller.abort();
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 4, files.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (firstError !== undefined) throw firstError;
  return results.flat();
}

async function downloadOne(
  file: RemoteFile,
  path: string,
  destDir: string,
  options: DownloadOptions,
  claims: PathClaims,
  signal: AbortSignal,
): Promise<DownloadedFile[]> {
  const finalPath = join(destDir, ...path.split('/'));
  const partPath = `${finalPath}.part`;
  await mkdir(dirname(finalPath), { recursive: true });
  const part = await PartFile.create(partPath, file.hash?.algorithm === 'md5');
  let fetched: { size: number; sha256: string };
  try {
    fetched = await fill(part, file, path, options, signal);
  } catch (error) {
    await part.close();
    await rm(partPath, { force: true });
    throw error;
  }
  await part.close();
  if (!file.unpack) {
    await rename(partPath, finalPath);
    return [{ path, ...fetched }];
  }
  try {
    const base = dirname(path) === '.' ? '' : dirname(path);
    return await unpackArchive(partPath, dirname(finalPath), {
      label: options.label,
      archive: path,
      base,
      limits: options.unpackLimits,
      claim: (unpacked) => claims.claim(unpacked, `archive '${path}'`),
    });
  } finally {
    await rm(partPath, { force: true });
  }
}

/** Attempts until the part file holds the whole file with the right hash, or the retries are spent. */
async function fill(
  part: PartFile,
  file: RemoteFile,
  path: string,
  options: DownloadOptions,
  signal: AbortSignal,
): Promise<{ size: number; sha256: string }> {
  const source = `${options.label}: ${path} from ${displayUri(file.url)}`;
  const retries = options.retries ?? 5;
  const idleMs = options.timeoutMs ?? 60000;
  const policy: RetryPolicy = {
    retries,
    baseDelayMs: options.retryDelayMs ?? 500,
    maxDelayMs: 10000,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
  let validator: string | undefined;
  let total = file.size;
  let resumed = false;
  let retriedFromZero = false;
  let best = 0;
  let failures = 0;
  for (;;) {
    const start = part.size;
    // Bytes that had to be fetched again after a start-over are no progress (else a server that ignores Range
    // and drops every time would be retried for ever).
    let restarted = false;
    try {
      const body = await openBody(file, start, validator, { timeoutMs: idleMs, signal });
      if (body.fromZero) {
        restarted = start > 0;
        if (restarted) await part.reset();
        validator = body.validator;
      } else {
        resumed = true;
      }
      if (file.size !== undefined && body.total !== undefined && body.total !== file.size) {
        (body.stream as { destroy?: () => void }).destroy?.();
        throw new AttemptFailure(sizeMismatch(file.size, body.total, 'the server says'), true);
      }
      // A fresh body may describe a file that changed since the last attempt.
      total = file.size ?? body.total ?? (body.fromZero ? undefined : total);
      await pump(body.stream, part, sizeGuard(file, path, options), { idleMs, signal });
      if (total !== undefined && part.size < total) {
        throw new AttemptFailure(`the body ended after ${part.size} of ${total} bytes`, false);
      }
      const digests = part.digests();
      const mismatch = checkFile(file, part.size, digests);
      if (!mismatch) return { size: part.size, sha256: digests.sha256 };
      // Resumed bytes that do not fit the first ones (a stale or changed file): once more from zero.
      if (!resumed || retriedFromZero) throw new AttemptFailure(mismatch, true);
      retriedFromZero = true;
      resumed = false;
      validator = undefined;
      best = 0;
      await part.reset();
      continue;
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      const failure = classify(error);
      if (failure.permanent) throw new ModelSourceError(`${source}: ${failure.message}`, { cause: error });
      if (failure.options.restart) await part.reset();
      if (!restarted && part.size > best) {
        best = part.size;
        failures = 0;
      } else if (++failures > retries) {
        throw new ModelSourceError(
          `${source} failed ${failures} times in a row: ${failure.message}; check the network or the server, then re-run`,
          { cause: error },
        );
      }
      await policy.sleep(retryDelayMs(policy, Math.max(0, failures - 1), failure.options.retryAfter));
    }
  }
}

/**
 * Writes the body chunk by chunk, each on disk before the next is read: when the connection breaks, every byte
 * that arrived is kept for the resume (a pipeline would drop what sat in the writable's buffer). A body that sends
 * nothing for `idleMs` fails (the clock stops while a chunk is written: a slow disk is not a dead server).
 */
async function pump(
  stream: NodeJS.ReadableStream,
  part: PartFile,
  onSize: (size: number) => void,
  options: { idleMs: number; signal: AbortSignal },
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(
      () => (stream as Readable).destroy(new IdleTimeoutError(`no data for ${options.idleMs} ms`)),
      options.idleMs,
    );
  };
  try {
    arm();
    for await (const chunk of stream) {
      clearTimeout(timer);
      options.signal.throwIfAborted();
      await part.append(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      onSize(part.size);
      arm();
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Fails as soon as more bytes arrive than the source listed; reports progress. */
function sizeGuard(file: RemoteFile, path: string, options: DownloadOptions): (size: number) => void {
  return (size) => {
    if (file.size !== undefined && size > file.size) {
      throw new AttemptFailure(sizeMismatch(file.size, size, 'more arrived:'), true);
    }
    options.onProgress?.(path, size, file.size);
  };
}

function sizeMismatch(expected: number, actual: number, how: string): string {
  return (
    `size mismatch: the source lists ${expected} bytes, ${how} ${actual} ` +
    '(the file changed at the source or the listing is stale); the partial file was deleted'
  );
}

/** The error message when the file on disk is not the file the source listed, else undefined. */
function checkFile(file: RemoteFile, size: number, digests: { sha256: string; md5?: string }): string | undefined {
  if (file.size !== undefined && size !== file.size) return sizeMismatch(file.size, size, 'got');
  if (!file.hash) return undefined;
  const actual = file.hash.algorithm === 'md5' ? digests.md5! : digests.sha256;
  if (actual === file.hash.hex.toLowerCase()) return undefined;
  return (
    `${file.hash.algorithm} mismatch: expected ${file.hash.hex}, got ${actual} ` +
    '(the file was changed or corrupted; the partial file was deleted)'
  );
}

function classify(error: unknown): AttemptFailure {
  if (error instanceof AttemptFailure) return error;
  const syscall = (error as { syscall?: string }).syscall;
  const message = (error as Error).message ?? String(error);
  // The disk, not the network: no retry will help.
  if (syscall && ['open', 'write', 'ftruncate', 'rename', 'mkdir'].includes(syscall)) {
    return new AttemptFailure(`cannot write the file: ${message}`, true);
  }
  if (error instanceof ModelSourceError) return new AttemptFailure(message, true);
  return new AttemptFailure(isNetworkError(error) ? `connection failed: ${message}` : message, false);
}
