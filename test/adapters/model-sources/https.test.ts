// resolveHttps against the local artifact server (answering as Azure Blob does), then the download it describes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { downloadFiles } from '../../../src/adapters/model-sources/download.js';
import { resolveHttps } from '../../../src/adapters/model-sources/https.js';
import { parseModelSource, type ModelSourceRef } from '../../../src/core/model-source.js';
import { bufferContent, startArtifactServer, type ArtifactServer } from '../../support/artifact-server.js';
import { tempDir } from '../../support/local.js';
import { tarball } from '../../support/tarball.js';

const WEIGHTS = Buffer.from('weights of the churn model\n'.repeat(4000));
const SHA256 = createHash('sha256').update(WEIGHTS).digest('hex');
const MD5 = createHash('md5').update(WEIGHTS).digest('hex');
const SAS = '?sv=2024-05-04&sp=r&sig=SECRET-SIGNATURE';
const http = { retryDelayMs: 1 };
let server: ArtifactServer;

const httpsRef = (path: string): Extract<ModelSourceRef, { kind: 'https' }> =>
  parseModelSource(`${server.url}${path}`) as Extract<ModelSourceRef, { kind: 'https' }>;

beforeAll(async () => {
  server = await startArtifactServer();
  server.add('/plain/model.joblib', bufferContent(WEIGHTS));
  server.add('/kfp/churn/model.joblib', bufferContent(WEIGHTS), {
    md5Headers: ['content-md5', 'x-ms-blob-content-md5'],
    md5Hex: MD5,
    headers: { 'x-ms-meta-version': '2026.12.1' },
  });
  server.add('/liar/model.joblib', bufferContent(WEIGHTS), { md5Headers: ['content-md5'], md5Hex: '1'.repeat(32) });
});
afterAll(() => server.stop());
beforeEach(() => server.reset());

describe('resolveHttps', () => {
  it('takes the expected sha256 and version from a pip-style fragment, the size from Content-Length', async () => {
    const model = await resolveHttps(httpsRef(`/plain/model.joblib${SAS}#sha256=${SHA256.toUpperCase()}&version=7`), {
      http,
    });
    expect(model).toEqual({
      source: expect.objectContaining({ kind: 'https' }),
      name: 'model.joblib',
      version: '7',
      files: [
        {
          path: 'model.joblib',
          url: `${server.url}/plain/model.joblib${SAS}`,
          headers: undefined,
          size: WEIGHTS.length,
          hash: { algorithm: 'sha256', hex: SHA256 },
          unpack: false,
        },
      ],
    });
    expect(server.requests.map((request) => `${request.method} ${request.query}`)).toEqual([`HEAD ${SAS}`]);
  });

  it("takes Azure Blob's Content-MD5 and x-ms-meta-version, and the download checks that md5", async () => {
    const model = await resolveHttps(httpsRef(`/kfp/churn/model.joblib${SAS}`), { http });
    expect(model.version).toBe('2026.12.1');
    expect(model.files[0]!.hash).toEqual({ algorithm: 'md5', hex: MD5 });
    const dir = tempDir('https');
    try {
      const files = await downloadFiles(model.files, dir.path, { label: 'model-source test' });
      expect(files).toEqual([{ path: 'model.joblib', size: WEIGHTS.length, sha256: SHA256 }]);
    } finally {
      dir.remove();
    }
  });

  it('gives no version when neither the fragment nor the blob has one', async () => {
    const model = await resolveHttps(httpsRef('/plain/model.joblib'), { http });
    expect(model.version).toBe('');
    expect(model.files[0]!.hash).toBeUndefined();
  });

  it('fails the download when the Content-MD5 the server stated does not match its bytes', async () => {
    const model = await resolveHttps(httpsRef('/liar/model.joblib'), { http });
    const dir = tempDir('https');
    try {
      await expect(downloadFiles(model.files, dir.path, { label: 'model-source liar' })).rejects.toThrow(
        `md5 mismatch: expected ${'1'.repeat(32)}, got ${MD5}`,
      );
    } finally {
      dir.remove();
    }
  });

  it('unpacks a .tar.gz, named without the extension', async () => {
    const archive = await tarball([{ name: 'model-settings.json', content: '{"name":"churn"}' }], true);
    server.add('/kfp/churn-model.tar.gz', bufferContent(archive));
    const model = await resolveHttps(httpsRef('/kfp/churn-model.tar.gz'), { http });
    expect(model.name).toBe('churn-model');
    expect(model.files[0]).toEqual(expect.objectContaining({ path: 'churn-model.tar.gz', unpack: true }));
    const dir = tempDir('https');
    try {
      const files = await downloadFiles(model.files, dir.path, { label: 'model-source test' });
      expect(files.map((file) => file.path)).toEqual(['model-settings.json']);
      expect(readFileSync(join(dir.path, 'model-settings.json'), 'utf8')).toBe('{"name":"churn"}');
    } finally {
      dir.remove();
    }
  });

  it('says not found for a 404, without the SAS', async () => {
    const error = (await resolveHttps(httpsRef(`/kfp/gone.joblib${SAS}`), { http }).catch((e: Error) => e)) as Error;
    expect(error.message).toBe(
      `model-source ${server.url}/kfp/gone.joblib?…: not found (HTTP 404 from ${server.url}/kfp/gone.joblib?…): ` +
        'check the URL and that the file exists',
    );
    expect(server.requests).toHaveLength(1);
  });

  it('asks for the first byte when HEAD is refused (a URL signed for GET only)', async () => {
    server.faults = { failFirst: 1, failStatus: 403 };
    const model = await resolveHttps(httpsRef('/kfp/churn/model.joblib'), { http });
    expect(model.files[0]!.size).toBe(WEIGHTS.length);
    expect(model.files[0]!.hash).toEqual({ algorithm: 'md5', hex: MD5 });
    expect(server.requests.map((request) => `${request.method} ${request.range ?? ''} ${request.status}`)).toEqual([
      'HEAD  403',
      'GET bytes=0-0 206',
    ]);
  });

  it('says what a 403 on both means', async () => {
    server.faults = { failFirst: 2, failStatus: 403 };
    await expect(resolveHttps(httpsRef(`/kfp/churn/model.joblib${SAS}`), { http })).rejects.toThrow(
      /answered HTTP 403: access denied: a signed URL \(Azure SAS, S3 presigned\) may have expired/,
    );
  });

  it('retries a HEAD that met a 503', async () => {
    server.faults = { failFirst: 2, failStatus: 503 };
    const model = await resolveHttps(httpsRef('/plain/model.joblib'), { http });
    expect(model.files[0]!.size).toBe(WEIGHTS.length);
    expect(server.requests.map((request) => request.status)).toEqual([503, 503, 200]);
  });

  it('passes the headers on and refuses a bad fragment or a URL without a file', async () => {
    server.add('/private/model.bin', bufferContent(WEIGHTS), { requireHeaders: { authorization: 'Bearer T' } });
    const model = await resolveHttps(httpsRef('/private/model.bin'), { http, headers: { authorization: 'Bearer T' } });
    expect(model.files[0]).toEqual(
      expect.objectContaining({ size: WEIGHTS.length, headers: { authorization: 'Bearer T' } }),
    );
    await expect(resolveHttps(httpsRef('/plain/model.joblib#sha256=abc'), { http })).rejects.toThrow(
      '#sha256=abc is not 64 hex digits',
    );
    await expect(resolveHttps(httpsRef('/plain/'), { http })).rejects.toThrow(
      "the URL names no file (its path ends in '/')",
    );
  });
});
