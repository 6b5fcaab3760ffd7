// Attacks on the registry client's credentials and on the unpacker, each against real servers on 127.0.0.1: an
// upload Location on another origin, a plain-http token realm, a realm redirecting the refresh token elsewhere, a
// gzip bomb, an archive of too many entries, and archive members landing on another source's files.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import axios from 'axios';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { RegistryAuth, repositoryScope } from '../../src/adapters/registry/auth.js';
import { bufferBlob } from '../../src/adapters/registry/blob-source.js';
import { RegistryClient } from '../../src/adapters/registry/client.js';
import { downloadFiles, type DownloadOptions } from '../../src/adapters/model-sources/download.js';
import { bufferContent, startArtifactServer, type ArtifactServer } from '../support/artifact-server.js';
import { freePort, LOOPBACK, tempDir } from '../support/local.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { tarball, type TarEntry } from '../support/tarball.js';

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A local HTTP server that records every request (body included) and answers with `respond`. */
async function recordingServer(respond: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const requests: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      respond(req, res, body);
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, LOOPBACK, resolve));
  return {
    url: `http://${LOOPBACK}:${port}`,
    requests,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Recorder = Awaited<ReturnType<typeof recordingServer>>;

describe('registry credentials stay on the registry origin', () => {
  let registry: TestRegistry;
  let front: Recorder;
  let elsewhere: Recorder;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: { pusher: 'BASIC-SECRET' } });
    // "Another origin" (another port, plain http): answers uploads as a registry would, and records what came.
    elsewhere = await recordingServer((_req, res) => res.writeHead(201).end());
    // The registry as the client sees it, except that it hands out upload Locations on that other origin.
    const target = new URL(registry.url);
    front = await recordingServer((req, res, body) => {
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const headers = { ...answer.headers };
          if (headers.location && /\/blobs\/uploads\//.test(req.url ?? '')) {
            headers.location = new URL(new URL(headers.location, front.url).pathname, elsewhere.url).toString();
          }
          res.writeHead(answer.statusCode ?? 502, headers);
          answer.pipe(res);
        },
      );
      upstream.end(body);
    });
  });
  afterAll(async () => {
    await front?.stop();
    await elsewhere?.stop();
    await registry?.stop();
  });

  it('sends no Authorization to an upload Location on another origin', async () => {
    const client = new RegistryClient({
      registry: new URL(front.url).host,
      credentials: { kind: 'basic', username: 'pusher', password: 'BASIC-SECRET' },
      retry: { sleep: async () => undefined, baseDelayMs: 1, retries: 0 },
    });
    await client.uploadBlob('models/leak', bufferBlob(Buffer.from('layer bytes'))).catch(() => undefined);
    // The registry itself got the credentials (the attack needs the challenge round to have happened)...
    expect(front.requests.some((request) => request.headers.authorization?.startsWith('Basic '))).toBe(true);
    // ...and the upload went to the other origin, without them.
    expect(elsewhere.requests.map((request) => request.method)).toContain('PUT');
    expect(elsewhere.requests.filter((request) => request.headers.authorization !== undefined)).toEqual([]);
  });

  it('refuses a token realm on plain http off loopback, sending nothing there', async () => {
    const seen: string[] = [];
    const http = axios.create({
      // Stands in for the network: records where a request would have gone, and answers with a token.
      adapter: async (config) => {
        seen.push(String(config.url));
        return { data: { token: 'issued' }, status: 200, statusText: 'OK', headers: {}, config };
      },
    });
    const auth = (realm: string): RegistryAuth => {
      const made = new RegistryAuth({
        registry: 'registry.example.com',
        credentials: { kind: 'basic', username: 'pusher', password: 'BASIC-SECRET' },
        http,
      });
      made.onUnauthorized(`Bearer realm="${realm}",service="registry.example.com"`, [], false);
      return made;
    };
    const scopes = [repositoryScope('models/leak', 'pull')];
    await expect(auth('http://auth.example.com/token').header(scopes)).rejects.toThrow(
      /names the token service http:\/\/auth\.example\.com\/token, which is not https/,
    );
    expect(seen).toEqual([]);
    // The same realm over https is asked (the recorder sees requests: the refusal above is the realm check).
    await expect(auth('https://auth.example.com/token').header(scopes)).resolves.toBe('Bearer issued');
    expect(seen).toHaveLength(1);
  });

  it('does not follow a 307 from the token realm with the refresh token', async () => {
    const stolen = await recordingServer((_req, res) =>
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"access_token":"from-elsewhere"}'),
    );
    const realm = await recordingServer((_req, res) => res.writeHead(307, { Location: `${stolen.url}/steal` }).end());
    const fakeRegistry = await recordingServer((_req, res) =>
      res
        .writeHead(401, { 'WWW-Authenticate': `Bearer realm="${realm.url}/oauth2/token",service="fake"` })
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}'),
    );
    try {
      const client = new RegistryClient({
        registry: new URL(fakeRegistry.url).host,
        credentials: { kind: 'refresh-token', refreshToken: 'REFRESH-SECRET' },
        retry: { sleep: async () => undefined, baseDelayMs: 1, retries: 0 },
      });
      const error = await client.manifestDigest('models/leak', 'latest').catch((failure: Error) => failure);
      expect(realm.requests.map((request) => request.body)).toEqual([expect.stringContaining('REFRESH-SECRET')]);
      expect(stolen.requests).toEqual([]);
      expect(String(error)).toMatch(/token service .* answered HTTP 307 \(a redirect\)/);
    } finally {
      await Promise.all([stolen.stop(), realm.stop(), fakeRegistry.stop()]);
    }
  });
});

describe('archives unpack within bounds and onto no other file', () => {
  const MiB = 1 << 20;
  const LABEL = 'model-source https://blob.test/models';
  const options: DownloadOptions = { label: LABEL, retryDelayMs: 1, retries: 1, timeoutMs: 5000 };
  let server: ArtifactServer;
  let dir: ReturnType<typeof tempDir>;
  const into = (): string => join(dir.path, 'model');
  /** Everything left under the model directory, `.part` files included. */
  const leftOver = (): string[] => readdirSync(into(), { recursive: true }).map(String).sort();
  const serve = (name: string, data: Buffer) => {
    server.add(`/models/${name}`, bufferContent(data));
    return { path: name, url: `${server.url}/models/${name}`, size: data.length };
  };
  const serveArchive = async (name: string, entries: TarEntry[], gzip = false) => ({
    ...serve(name, await tarball(entries, gzip)),
    unpack: true,
  });

  beforeAll(async () => {
    server = await startArtifactServer();
  });
  afterAll(async () => {
    await server.stop();
    dir?.remove();
  });
  beforeEach(() => {
    dir?.remove();
    dir = tempDir('security-unpack');
  });

  it('stops a gzip bomb at the size limit, naming the archive, and leaves nothing behind', async () => {
    // 60 MiB of zeros deflate about a thousandfold: the shape of a bomb, at a size a test can afford.
    const bomb = await tarball([{ name: 'model/weights.bin', content: Buffer.alloc(60 * MiB) }], true);
    expect(bomb.length).toBeLessThan(MiB);
    const file = { ...serve('bomb.tar.gz', bomb), unpack: true };
    const error = (await downloadFiles([file], into(), { ...options, unpackLimits: { maxBytes: 4 * MiB } }).catch(
      (failure: Error) => failure,
    )) as Error;
    expect(error.message).toBe(
      `${LABEL}: archive bomb.tar.gz unpacks to more than 4.0 MiB; refusing to unpack it (an archive bomb, or a ` +
        'model bigger than model-canary unpacks)',
    );
    expect(leftOver()).toEqual([]);
  });

  it('refuses an archive with more entries than the limit, and leaves nothing behind', async () => {
    const entries = Array.from({ length: 30 }, (_, index) => ({ name: `many/file-${index}.txt`, content: 'x' }));
    const file = await serveArchive('many.tar', entries);
    await expect(downloadFiles([file], into(), { ...options, unpackLimits: { maxEntries: 20 } })).rejects.toThrow(
      `${LABEL}: archive many.tar has more than 20 entries; refusing to unpack it`,
    );
    expect(leftOver()).toEqual([]);
  });

  it('refuses an archive member landing on a downloaded file, naming both', async () => {
    const weights = serve('weights.bin', Buffer.from('the listed weights'));
    const bundle = await serveArchive(
      'bundle.tar.gz',
      [{ name: 'weights.bin', content: 'the archive overwrites' }],
      true,
    );
    // Either order of listing: the collision must not depend on which download finishes first.
    for (const files of [
      [weights, bundle],
      [bundle, weights],
    ]) {
      await expect(downloadFiles(files, into(), options)).rejects.toThrow(
        `${LABEL}: 'weights.bin' would be written by both the downloaded file 'weights.bin' and archive ` +
          "'bundle.tar.gz'; refusing to let one overwrite the other",
      );
      const onDisk = join(into(), 'weights.bin');
      if (existsSync(onDisk)) expect(readFileSync(onDisk, 'utf8')).toBe('the listed weights');
    }
  });

  it('refuses two archives unpacking the same path, naming both', async () => {
    const first = await serveArchive('a.tar', [{ name: 'config.json', content: '{"from":"a"}' }]);
    const second = await serveArchive('b.tar', [{ name: 'config.json', content: '{"from":"b"}' }]);
    const error = (await downloadFiles([first, second], into(), { ...options, concurrency: 1 }).catch(
      (failure: Error) => failure,
    )) as Error;
    expect(error.message).toBe(
      `${LABEL}: 'config.json' would be written by both archive 'a.tar' and archive 'b.tar'; refusing to let one ` +
        'overwrite the other (rename or remove one of them at the source)',
    );
    expect(readFileSync(join(into(), 'config.json'), 'utf8')).toBe('{"from":"a"}');
  });
});
