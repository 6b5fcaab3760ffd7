// downloadFiles against the local artifact server with its faults: resume, hash and size checks, status handling,
// archives, concurrency and the resolver's own `open`.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { downloadFiles, type DownloadOptions } from '../../../src/adapters/model-sources/download.js';
import { downloadProgressLog } from '../../../src/engine/download-progress.js';
import type { RemoteFile } from '../../../src/core/model-source.js';
import {
  bufferContent,
  contentHashes,
  generatedContent,
  startArtifactServer,
  type ArtifactServer,
} from '../../support/artifact-server.js';
import { tempDir } from '../../support/local.js';
import { tarball } from '../../support/tarball.js';

const SIZE = 3 * (1 << 20) + 12345;
const content = generatedContent(SIZE, 'download-test');
let hashes: { sha256: string; md5: string };
let server: ArtifactServer;
let dir: ReturnType<typeof tempDir>;
const LABEL = 'model-source https://blob.test/models/weights.bin';
const options: DownloadOptions = { label: LABEL, retryDelayMs: 1, retries: 3, timeoutMs: 5000 };

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const weights = (extra: Partial<RemoteFile> = {}): RemoteFile => ({
  path: 'weights.bin',
  url: `${server.url}/models/weights.bin?sv=2024&sig=SECRET-SAS`,
  size: SIZE,
  hash: { algorithm: 'sha256', hex: hashes.sha256 },
  ...extra,
});
/** Every file left in the download directory, `.part` files included. */
const leftOver = (): string[] => readdirSync(dir.path, { recursive: true }).map(String).sort();
/** Where a ranged request resumed: at most where the server cut, less the bytes still in flight when it did. */
const resumedAt = (range: string | undefined): number => Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? NaN);
const gets = (): number => server.requests.filter((request) => request.method === 'GET').length;

beforeAll(async () => {
  hashes = await contentHashes(content);
  server = await startArtifactServer();
  server.add('/models/weights.bin', content, { etag: '"v1-etag"' });
});
afterAll(() => server.stop());
beforeEach(() => {
  server.reset();
  dir?.remove();
  dir = tempDir('download');
});
afterAll(() => dir.remove());

describe('downloadFiles', () => {
  it('streams a file to disk with its sha256, reporting progress, and leaves no .part', async () => {
    const progress: number[] = [];
    const files = await downloadFiles([weights()], dir.path, {
      ...options,
      onProgress: (path, received, total) => {
        expect([path, total]).toEqual(['weights.bin', SIZE]);
        progress.push(received);
      },
    });
    expect(files).toEqual([{ path: 'weights.bin', size: SIZE, sha256: hashes.sha256 }]);
    expect(sha256(readFileSync(join(dir.path, 'weights.bin')))).toBe(hashes.sha256);
    expect(progress.at(-1)).toBe(SIZE);
    expect(leftOver()).toEqual(['weights.bin']);
    expect(server.rangeRequests()).toEqual([]);
  });

  it('resumes with Range and If-Range after a dropped connection', async () => {
    server.faults = { dropAfterBytes: 1_000_000 };
    const [file] = await downloadFiles([weights()], dir.path, options);
    expect(file!.sha256).toBe(hashes.sha256);
    const [resume, ...more] = server.rangeRequests();
    expect(more).toEqual([]);
    expect(resume).toEqual(expect.objectContaining({ ifRange: '"v1-etag"', status: 206 }));
    expect(resumedAt(resume!.range)).toBeGreaterThan(500_000);
    expect(resumedAt(resume!.range)).toBeLessThanOrEqual(1_000_000);
    expect(gets()).toBe(2);
  });

  it('gives up on a stalled body after the idle timeout and resumes', async () => {
    server.faults = { dropAfterBytes: 1_000_000, stall: true };
    const started = Date.now();
    const [file] = await downloadFiles([weights()], dir.path, { ...options, timeoutMs: 300 });
    expect(file!.sha256).toBe(hashes.sha256);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(server.rangeRequests()).toHaveLength(1);
  });

  it('keeps resuming while every attempt brings new bytes', async () => {
    server.faults = { dropAfterBytes: 700_000, dropEveryTime: true };
    const [file] = await downloadFiles([weights()], dir.path, options);
    expect(file!.sha256).toBe(hashes.sha256);
    expect(gets()).toBeGreaterThanOrEqual(Math.ceil(SIZE / 700_000));
    expect(server.rangeRequests().every((request) => request.status === 206)).toBe(true);
  });

  it('fails on a wrong byte with both hashes, deleting the partial file, without retrying', async () => {
    server.faults = { wrongByteAt: 2_000_000 };
    const error = await downloadFiles([weights()], dir.path, options).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain(LABEL);
    expect(message).toContain('weights.bin');
    expect(message).toContain(`expected ${hashes.sha256}`);
    expect(message).toMatch(/got [0-9a-f]{64}/);
    expect(message).not.toContain('SECRET-SAS');
    expect(leftOver()).toEqual([]);
    expect(gets()).toBe(1);
  });

  it('starts once more from zero when the hash fails after a resume (a stale .part)', async () => {
    // The first response drops at 1 MB; the resumed one carries a wrong byte; the fresh one is clean.
    server.faults = { dropAfterBytes: 1_000_000, wrongByteAt: 2_500_000, wrongByteTimes: 1 };
    const [file] = await downloadFiles([weights()], dir.path, options);
    expect(file!.sha256).toBe(hashes.sha256);
    expect(server.requests.map((request) => request.range?.replace(/\d+/, 'N') ?? 'whole')).toEqual([
      'whole',
      'bytes=N-',
      'whole',
    ]);
  });

  it('fails when the hash is wrong again after starting from zero', async () => {
    server.faults = { dropAfterBytes: 1_000_000, wrongByteAt: 2_500_000 };
    await expect(downloadFiles([weights()], dir.path, options)).rejects.toThrow(/sha256 mismatch/);
    expect(gets()).toBe(3);
    expect(leftOver()).toEqual([]);
  });

  it.each([
    ['more', SIZE + 10],
    ['fewer', SIZE - 10],
  ])('refuses a file with %s bytes than listed', async (_how, listed) => {
    const error = await downloadFiles([weights({ size: listed, hash: undefined })], dir.path, options).catch(
      (e: Error) => e,
    );
    expect((error as Error).message).toContain(`size mismatch: the source lists ${listed} bytes`);
    expect((error as Error).message).toContain(LABEL);
    expect(leftOver()).toEqual([]);
  });

  it.each([
    [404, /not found/],
    [403, /signed URL \(Azure SAS, S3 presigned\) may have expired/],
    [401, /credentials are missing or wrong/],
  ])('does not retry HTTP %i and says what it means', async (status, meaning) => {
    server.faults = { failFirst: 10, failStatus: status };
    const error = (await downloadFiles([weights()], dir.path, options).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(meaning);
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).toContain('/models/weights.bin?…');
    expect(error.message).not.toContain('SECRET-SAS');
    expect(server.requests).toHaveLength(1);
  });

  it('names a missing file as not found', async () => {
    const missing = weights({ path: 'missing.bin', url: `${server.url}/models/missing.bin` });
    await expect(downloadFiles([missing], dir.path, options)).rejects.toThrow(
      `${LABEL}: missing.bin from ${server.url}/models/missing.bin: the server answered HTTP 404: not found`,
    );
  });

  it('retries HTTP 500 and then succeeds', async () => {
    server.faults = { failFirst: 2, failStatus: 500 };
    const [file] = await downloadFiles([weights()], dir.path, options);
    expect(file!.sha256).toBe(hashes.sha256);
    expect(server.requests.map((request) => request.status)).toEqual([500, 500, 200]);
  });

  it('gives up after the retries when the server keeps failing', async () => {
    server.faults = { failFirst: 100, failStatus: 503 };
    await expect(downloadFiles([weights()], dir.path, options)).rejects.toThrow(
      /failed 4 times in a row: .*HTTP 503: a server error/,
    );
    expect(server.requests).toHaveLength(4);
  });

  it('starts over when the server ignores Range (200 to a ranged request)', async () => {
    server.faults = { dropAfterBytes: 1_000_000, ignoreRange: true };
    const [file] = await downloadFiles([weights()], dir.path, options);
    expect(file).toEqual({ path: 'weights.bin', size: SIZE, sha256: hashes.sha256 });
    expect(server.rangeRequests()).toEqual([
      expect.objectContaining({ range: expect.stringMatching(/^bytes=[1-9]/), status: 200 }),
    ]);
  });

  it('gives up on a server that ignores Range and drops every time (no attempt gets further)', async () => {
    server.faults = { dropAfterBytes: 1_000_000, dropEveryTime: true, ignoreRange: true };
    await expect(downloadFiles([weights()], dir.path, options)).rejects.toThrow(/failed 4 times in a row/);
    expect(gets()).toBe(5);
    expect(leftOver()).toEqual([]);
  });

  it('checks an md5 given by the source', async () => {
    const good = weights({ hash: { algorithm: 'md5', hex: hashes.md5 } });
    expect((await downloadFiles([good], dir.path, options))[0]!.sha256).toBe(hashes.sha256);
    const bad = weights({ hash: { algorithm: 'md5', hex: '0'.repeat(32) } });
    await expect(downloadFiles([bad], tempDir('md5').path, options)).rejects.toThrow(
      `md5 mismatch: expected ${'0'.repeat(32)}, got ${hashes.md5}`,
    );
  });

  it('sends the source headers and keeps them out of errors', async () => {
    server.add('/private/model.bin', bufferContent(Buffer.from('private bytes')), {
      requireHeaders: { Authorization: 'Bearer TOKEN-123' },
    });
    const file = { path: 'model.bin', url: `${server.url}/private/model.bin` };
    const files = await downloadFiles([{ ...file, headers: { Authorization: 'Bearer TOKEN-123' } }], dir.path, options);
    expect(files[0]!.sha256).toBe(sha256('private bytes'));
    const error = (await downloadFiles([{ ...file, headers: { Authorization: 'Bearer WRONG-456' } }], dir.path, {
      ...options,
    }).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(/HTTP 401/);
    expect(error.message).not.toMatch(/TOKEN-123|WRONG-456/);
  });

  it('follows a redirect to another origin without the source headers, resuming there', async () => {
    const storage = await startArtifactServer();
    try {
      storage.add('/blob/weights.bin', content, { etag: '"blob"' });
      server.redirect('/proxy/weights.bin', `${storage.url}/blob/weights.bin?se=2030&sig=SIGNED`);
      storage.faults = { dropAfterBytes: 1_000_000 };
      const file = weights({ url: `${server.url}/proxy/weights.bin`, headers: { Authorization: 'Bearer SECRET' } });
      const [result] = await downloadFiles([file], dir.path, options);
      expect(result!.sha256).toBe(hashes.sha256);
      expect(server.requests.map((request) => [request.status, request.headerNames.includes('authorization')])).toEqual(
        [
          [307, true],
          [307, true],
        ],
      );
      expect(
        storage.requests.map((request) => [request.status, request.headerNames.includes('authorization')]),
      ).toEqual([
        [200, false],
        [206, false],
      ]);
      expect(storage.requests[1]!.ifRange).toBe('"blob"');
    } finally {
      await storage.stop();
    }
  });

  it('downloads several files at once', async () => {
    const small = Array.from({ length: 6 }, (_, index) => Buffer.from(`file number ${index}\n`.repeat(1000)));
    small.forEach((data, index) => server.add(`/many/${index}.bin`, bufferContent(data)));
    server.faults = { delayMs: 100 };
    const files = await downloadFiles(
      small.map((data, index) => ({
        path: `shards/${index}.bin`,
        url: `${server.url}/many/${index}.bin`,
        size: data.length,
        hash: { algorithm: 'sha256', hex: sha256(data) },
      })),
      dir.path,
      { ...options, concurrency: 3 },
    );
    expect(files.map((file) => file.path)).toEqual(small.map((_, index) => `shards/${index}.bin`));
    expect(server.maxInFlight()).toBe(3);
  });

  it('stops the other files when one fails', async () => {
    server.faults = { delayMs: 50 };
    const files = [weights({ path: 'a.bin' }), weights({ path: 'gone.bin', url: `${server.url}/nothing` })];
    await expect(downloadFiles(files, dir.path, { ...options, concurrency: 2 })).rejects.toThrow(/gone.bin.*404/);
    expect(leftOver()).toEqual([]);
  });

  it('refuses two files at the same path, and a path leaving the directory', async () => {
    await expect(downloadFiles([weights(), weights()], dir.path, options)).rejects.toThrow(
      `${LABEL}: the source lists 'weights.bin' twice`,
    );
    await expect(downloadFiles([weights({ path: '../up.bin' })], dir.path, options)).rejects.toThrow(
      /'..\/up.bin' leaves the model directory/,
    );
  });

  it("uses the resolver's open(start), resuming from the offset it got to", async () => {
    const data = Buffer.alloc(300_000, 7);
    data.write('head', 0);
    const starts: number[] = [];
    const file: RemoteFile = {
      path: 'blob.bin',
      url: 'oci://registry.test/models/churn@sha256:abc',
      size: data.length,
      hash: { algorithm: 'sha256', hex: sha256(data) },
      open: async (start) => {
        starts.push(start);
        const body = data.subarray(start);
        if (starts.length > 1) return Readable.from([body]);
        // First attempt: 100 000 bytes, then the stream breaks.
        return Readable.from(
          (async function* () {
            yield body.subarray(0, 100_000);
            throw new Error('socket hang up');
          })(),
        );
      },
    };
    const [result] = await downloadFiles([file], dir.path, options);
    expect(result!.sha256).toBe(sha256(data));
    expect(starts).toEqual([0, 100_000]);
  });

  it('does not retry a 404 from open()', async () => {
    let calls = 0;
    const file: RemoteFile = {
      path: 'blob.bin',
      url: 'oci://registry.test/models/churn@sha256:abc',
      open: async () => {
        calls++;
        throw Object.assign(
          new Error('registry registry.test: GET /v2/models/churn/blobs/sha256:abc answered HTTP 404'),
          {
            status: 404,
          },
        );
      },
    };
    await expect(downloadFiles([file], dir.path, options)).rejects.toThrow(/blob.bin from oci:.*HTTP 404/);
    expect(calls).toBe(1);
  });
});

describe('downloadFiles with archives', () => {
  it.each([false, true])('unpacks a tarball (gzip %s) with a hash per file', async (gzip) => {
    const archive = await tarball(
      [
        { name: 'model/', type: 'directory' },
        { name: 'model/model-settings.json', content: '{"name":"churn"}' },
        { name: 'model/weights/model.joblib', content: Buffer.alloc(5000, 3) },
        { name: './model/inside-link', type: 'symlink', linkname: 'model-settings.json' },
      ],
      gzip,
    );
    server.add('/models/model.tar.gz', bufferContent(archive));
    const files = await downloadFiles(
      [{ path: 'bundle/model.tar.gz', url: `${server.url}/models/model.tar.gz`, unpack: true, size: archive.length }],
      dir.path,
      options,
    );
    expect(files).toEqual([
      { path: 'bundle/model/model-settings.json', size: 16, sha256: sha256('{"name":"churn"}') },
      { path: 'bundle/model/weights/model.joblib', size: 5000, sha256: sha256(Buffer.alloc(5000, 3)) },
    ]);
    expect(readFileSync(join(dir.path, 'bundle/model/model-settings.json'), 'utf8')).toBe('{"name":"churn"}');
    expect(leftOver()).toEqual([
      'bundle',
      'bundle/model',
      'bundle/model/model-settings.json',
      'bundle/model/weights',
      'bundle/model/weights/model.joblib',
    ]);
  });

  it.each([
    [
      'a ../ entry after a good one',
      [
        { name: 'good.txt', content: 'fine' },
        { name: '../evil', content: 'owned' },
      ],
      /entry '..\/evil' that leaves the model directory/,
    ],
    ['a nested ../ entry', [{ name: 'ok/../../evil', content: 'owned' }], /leaves the model directory/],
    ['an absolute entry', [{ name: '/tmp/evil', content: 'owned' }], /entry '\/tmp\/evil' that leaves/],
    [
      'a symlink pointing out',
      [{ name: 'link', type: 'symlink' as const, linkname: '../../etc/passwd' }],
      /link 'link' -> '..\/..\/etc\/passwd' that points outside/,
    ],
    ['an absolute symlink', [{ name: 'link', type: 'symlink' as const, linkname: '/etc' }], /points outside/],
  ])('rejects an archive with %s', async (_what, entries, message) => {
    const archive = await tarball(entries);
    server.add('/models/evil.tar', bufferContent(archive));
    const inner = join(dir.path, 'inner');
    const error = (await downloadFiles(
      [{ path: 'evil.tar', url: `${server.url}/models/evil.tar`, unpack: true }],
      inner,
      options,
    ).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(message);
    expect(error.message).toContain(`${LABEL}: archive evil.tar`);
    expect(existsSync(join(dir.path, 'evil'))).toBe(false);
    expect(leftOver()).toEqual(['inner']);
  });

  it('names a broken archive', async () => {
    server.add('/models/broken.tgz', bufferContent(Buffer.from([0x1f, 0x8b, 1, 2, 3, 4])));
    await expect(
      downloadFiles([{ path: 'broken.tgz', url: `${server.url}/models/broken.tgz`, unpack: true }], dir.path, options),
    ).rejects.toThrow(`${LABEL}: cannot unpack broken.tgz`);
  });
});

describe('downloadProgressLog', () => {
  it('logs all files together at most once per interval, and a last line', () => {
    let clock = 0;
    const lines: string[] = [];
    const progress = downloadProgressLog((line) => lines.push(line), { label: 'model-source x', now: () => clock });
    const MiB = 1 << 20;
    progress.onProgress('a.bin', 10 * MiB, 100 * MiB);
    clock = 2000;
    progress.onProgress('b.bin', 5 * MiB, 100 * MiB);
    clock = 5000;
    progress.onProgress('a.bin', 50 * MiB, 100 * MiB);
    clock = 6000;
    progress.onProgress('b.bin', 20 * MiB, undefined);
    progress.finish();
    expect(lines).toEqual([
      'model-source x: 55.0 MiB of 200.0 MiB (27%) in 2 file(s), 11.0 MiB/s',
      'model-source x: 70.0 MiB in 2 file(s), 11.7 MiB/s',
    ]);
  });
});
