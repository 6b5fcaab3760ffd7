// The registry client against a real docker-registry on 127.0.0.1, with a fault proxy in front where needed.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseChallenge, type RegistryCredentials } from '../../src/adapters/registry/auth.js';
import { bufferBlob, sha256Digest } from '../../src/adapters/registry/blob-source.js';
import { MEDIA_TYPES, RegistryClient, type RegistryClientOptions } from '../../src/adapters/registry/client.js';
import { registryCredentials } from '../../src/adapters/registry/credentials.js';
import { tempDir } from '../support/local.js';
import { startFaultProxy, startRegistry, type FaultProxy, type TestRegistry } from '../support/registry.js';

const noWait = { sleep: async () => undefined, baseDelayMs: 1 };
const CHUNK = 256 * 1024;

function client(registry: TestRegistry, options: Partial<RegistryClientOptions> = {}): RegistryClient {
  return new RegistryClient({
    registry: registry.host,
    retry: noWait,
    chunkSize: CHUNK,
    monolithicLimit: CHUNK,
    ...options,
  });
}

/** A minimal image whose one layer is `blob`: enough for the registry to accept the manifest. */
async function pushImage(target: RegistryClient, repository: string, tag: string, layer: Buffer): Promise<string> {
  const layerBlob = bufferBlob(layer);
  const config = bufferBlob(
    Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layerBlob.digest] } }),
    ),
  );
  await target.uploadBlob(repository, config);
  await target.uploadBlob(repository, layerBlob);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerBlob.digest, size: layerBlob.size }],
    }),
  );
  return target.putManifest(repository, tag, manifest, MEDIA_TYPES.ociManifest);
}

describe('parseChallenge', () => {
  it.each([
    ['Basic realm="test-realm"', { scheme: 'basic', params: { realm: 'test-realm' } }],
    [
      'Bearer realm="https://r.io/oauth2/token",service="r.io",scope="repository:a/b:pull,push"',
      {
        scheme: 'bearer',
        params: { realm: 'https://r.io/oauth2/token', service: 'r.io', scope: 'repository:a/b:pull,push' },
      },
    ],
    ['bearer realm=http://x/token, service=x', { scheme: 'bearer', params: { realm: 'http://x/token', service: 'x' } }],
  ])('%s', (header, expected) => {
    expect(parseChallenge(header)).toEqual(expected);
  });

  it.each([[undefined], [''], ['Negotiate abc']])('%j is no challenge we answer', (header) => {
    expect(parseChallenge(header)).toBeUndefined();
  });
});

describe('anonymous registry', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
  });
  afterAll(async () => {
    await proxy.stop();
    await registry.stop();
  });
  const viaProxy = () => client(registry, { baseUrl: proxy.url });

  it('pushes a chunked blob, then skips it by HEAD; tags and digests round-trip', async () => {
    const target = client(registry);
    const layer = randomBytes(CHUNK * 3 + 1000);
    const first = await target.uploadBlob('models/a', bufferBlob(layer));
    expect(first).toEqual({ uploaded: true, mounted: false, bytesSent: layer.length });
    const again = await target.uploadBlob('models/a', bufferBlob(layer));
    expect(again).toEqual({ uploaded: false, mounted: false, bytesSent: 0 });

    const digest = await pushImage(target, 'models/a', 'v1', layer);
    expect(await target.manifestDigest('models/a', 'v1')).toBe(digest);
    expect((await target.getManifest('models/a', digest)).digest).toBe(digest);
    expect(await target.listTags('models/a')).toEqual(['v1']);
    expect(await target.manifestDigest('models/a', 'nope')).toBeUndefined();
    expect(await target.listTags('models/none')).toEqual([]);
  });

  it('mounts a blob from another repository instead of uploading it', async () => {
    const target = client(registry);
    const blob = bufferBlob(randomBytes(5000));
    await target.uploadBlob('models/source', blob);
    expect(await target.uploadBlob('models/other', blob, { mountFrom: 'models/source' })).toEqual({
      uploaded: false,
      mounted: true,
      bytesSent: 0,
    });
    expect(await target.blobExists('models/other', blob.digest)).toBe(true);
  });

  it('resumes a chunked upload where the registry got to when the connection drops between chunks', async () => {
    const layer = randomBytes(CHUNK * 4);
    proxy.stats.uploadBytes = 0;
    proxy.faults.dropAfterUploadBytes = CHUNK * 2;
    const result = await viaProxy().uploadBlob('models/resume', bufferBlob(layer));
    expect(proxy.stats.dropped).toBe(1);
    expect(result.uploaded).toBe(true);
    // Chunks 1 and 2 were not sent again: the upload went on from the registry's offset.
    expect(proxy.stats.uploadBytes).toBe(layer.length);
    expect(await client(registry).blobExists('models/resume', sha256Digest(layer))).toBe(true);
  });

  it('recovers when the connection drops mid-chunk (the registry may drop the upload: it starts again)', async () => {
    const layer = randomBytes(CHUNK * 3);
    proxy.stats.uploadBytes = 0;
    proxy.faults.dropAfterUploadBytes = CHUNK + 12345;
    const result = await viaProxy().uploadBlob('models/midchunk', bufferBlob(layer));
    expect(result.uploaded).toBe(true);
    expect(proxy.faults.dropAfterUploadBytes).toBeUndefined();
    expect(result.bytesSent).toBeGreaterThan(layer.length);
    expect(await client(registry).blobExists('models/midchunk', sha256Digest(layer))).toBe(true);
  });

  it('a connection cut in the first chunk resumes from byte 0 (the registry says `Range: 0-0` for nothing yet)', async () => {
    const layer = randomBytes(CHUNK * 2);
    proxy.stats.uploadBytes = 0;
    proxy.faults.dropAfterUploadBytes = 1000;
    const result = await viaProxy().uploadBlob('models/first-chunk', bufferBlob(layer));
    expect(result.uploaded).toBe(true);
    expect(proxy.faults.dropAfterUploadBytes).toBeUndefined();
    expect(await client(registry).blobExists('models/first-chunk', sha256Digest(layer))).toBe(true);
  });

  it('sends a big blob in one PATCH by default, in chunks of `chunkSize` when one is set', async () => {
    const layer = randomBytes(CHUNK * 5 + 7);
    const patches = (from: number) =>
      proxy.stats.requests.slice(from).filter((line) => line.startsWith('PATCH ')).length;
    let mark = proxy.stats.requests.length;
    await new RegistryClient({ registry: registry.host, baseUrl: proxy.url, monolithicLimit: CHUNK }).uploadBlob(
      'models/one-patch',
      bufferBlob(layer),
    );
    expect(patches(mark)).toBe(1);
    mark = proxy.stats.requests.length;
    await viaProxy().uploadBlob('models/chunks', bufferBlob(layer));
    expect(patches(mark)).toBe(6);
  });

  it('sends blob bodies through axios when a proxy variable is set (axios honours it and NO_PROXY)', async () => {
    const saved = { http_proxy: process.env.http_proxy, NO_PROXY: process.env.NO_PROXY };
    process.env.http_proxy = 'http://127.0.0.1:9';
    process.env.NO_PROXY = '127.0.0.1';
    try {
      const layer = randomBytes(CHUNK * 2 + 5);
      const result = await client(registry).uploadBlob('models/proxied', bufferBlob(layer));
      expect(result).toEqual({ uploaded: true, mounted: false, bytesSent: layer.length });
      expect(await client(registry).blobExists('models/proxied', sha256Digest(layer))).toBe(true);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('retries a registry answering 503', async () => {
    proxy.faults.unavailable = 3;
    const before = proxy.stats.unavailable;
    const digest = await pushImage(viaProxy(), 'models/flaky', 'v1', randomBytes(3000));
    expect(proxy.stats.unavailable - before).toBe(3);
    expect(await client(registry).manifestDigest('models/flaky', 'v1')).toBe(digest);
  });

  it('gives up on a registry that stays down, naming it and the status', async () => {
    proxy.faults.unavailable = 100;
    try {
      await expect(viaProxy().blobExists('models/x', sha256Digest('x'))).rejects.toThrow(
        `registry ${registry.host}: HEAD /v2/models/x/blobs/${sha256Digest('x')} answered HTTP 503`,
      );
      await expect(viaProxy().listTags('models/x')).rejects.toThrow('answered HTTP 503: UNAVAILABLE injected');
    } finally {
      proxy.faults.unavailable = 0;
    }
  });

  it('refuses a manifest the registry stored under another digest', async () => {
    proxy.faults.forgeManifestDigest = true;
    try {
      await expect(pushImage(viaProxy(), 'models/forged', 'v1', randomBytes(100))).rejects.toThrow(
        /stored manifest models\/forged:v1 as sha256:0{64}, not sha256:[a-f0-9]{64}: refusing/,
      );
    } finally {
      proxy.faults.forgeManifestDigest = false;
    }
  });
});

describe('htpasswd basic auth', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: { pusher: 'right-password' } });
  });
  afterAll(() => registry.stop());

  it('pushes with the right password and masks it', async () => {
    const masked: string[] = [];
    const credentials = await registryCredentials({
      registry: registry.host,
      mode: 'basic',
      username: 'pusher',
      password: 'right-password',
      mask: (secret) => masked.push(secret),
    });
    const digest = await pushImage(client(registry, { credentials }), 'models/basic', 'v1', randomBytes(1000));
    expect(digest).toMatch(/^sha256:/);
    expect(masked).toContain('right-password');
  });

  it('says clearly that a wrong password was refused, without the password', async () => {
    const credentials: RegistryCredentials = { kind: 'basic', username: 'pusher', password: 'wrong-password' };
    const error = await pushImage(client(registry, { credentials }), 'models/basic', 'v2', randomBytes(10)).catch(
      (failure: Error) => failure,
    );
    expect(String(error)).toContain(`registry ${registry.host} refused access to models/basic (HTTP 401`);
    expect(String(error)).toContain('check the registry username and password');
    expect(String(error)).not.toContain('wrong-password');
  });

  it('takes the credentials of a docker config.json (docker login)', async () => {
    const dir = tempDir('docker-config');
    try {
      const auth = Buffer.from('pusher:right-password').toString('base64');
      writeFileSync(
        join(dir.path, 'config.json'),
        JSON.stringify({ auths: { [`http://${registry.host}`]: { auth } } }),
      );
      const credentials = await registryCredentials({
        registry: registry.host,
        mode: 'docker-config',
        dockerConfigDir: dir.path,
      });
      expect(credentials).toEqual({ kind: 'basic', username: 'pusher', password: 'right-password' });
      expect(await pushImage(client(registry, { credentials }), 'models/basic', 'v3', randomBytes(10))).toMatch(
        /^sha256:/,
      );
      await expect(
        registryCredentials({ registry: 'other.example.com', mode: 'docker-config', dockerConfigDir: dir.path }),
      ).rejects.toThrow(`${join(dir.path, 'config.json')} has no credentials for other.example.com`);
    } finally {
      dir.remove();
    }
  });

  it('asks for credentials when none were given', async () => {
    await expect(client(registry).blobExists('models/basic', sha256Digest('x'))).rejects.toThrow(
      'give credentials (registry-auth)',
    );
  });
});

describe('token auth', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', users: { robot: 'token-password' } });
  });
  afterAll(() => registry.stop());

  it('gets a Bearer token per repository scope with Basic credentials', async () => {
    const credentials: RegistryCredentials = { kind: 'basic', username: 'robot', password: 'token-password' };
    const digest = await pushImage(client(registry, { credentials }), 'models/token', 'v1', randomBytes(2000));
    expect(digest).toMatch(/^sha256:/);
    expect(registry.tokenServer!.requests).toContain('repository:models/token:pull,push');
  });

  it('mounts a blob from another repository with one token for both (push here, pull there)', async () => {
    const credentials: RegistryCredentials = { kind: 'basic', username: 'robot', password: 'token-password' };
    const target = client(registry, { credentials });
    const blob = bufferBlob(randomBytes(3000));
    await target.uploadBlob('serving/base', blob);
    expect(await target.uploadBlob('models/mounted', blob, { mountFrom: 'serving/base' })).toEqual({
      uploaded: false,
      mounted: true,
      bytesSent: 0,
    });
    expect(registry.tokenServer!.requests).toContain(
      'repository:models/mounted:pull,push repository:serving/base:pull',
    );
  });

  it('refuses wrong credentials at the token service, naming the registry', async () => {
    const credentials: RegistryCredentials = { kind: 'basic', username: 'robot', password: 'nope-nope' };
    const error = await client(registry, { credentials })
      .blobExists('models/token', sha256Digest('x'))
      .catch((failure: Error) => failure);
    expect(String(error)).toContain(`registry ${registry.host} refused the credentials (HTTP 401`);
    expect(String(error)).not.toContain('nope-nope');
  });

  it('ACR: exchanges an Azure AD token for a refresh token, then for scoped access tokens', async () => {
    const tokens = registry.tokenServer!;
    const masked: string[] = [];
    const credentials = await registryCredentials({
      registry: registry.host,
      mode: 'azure',
      oauthBaseUrl: tokens.url,
      run: async (command, args) => {
        expect([command, ...args.slice(0, 2)]).toEqual(['az', 'account', 'get-access-token']);
        return JSON.stringify({ accessToken: tokens.aadToken });
      },
      mask: (secret) => masked.push(secret),
    });
    expect(credentials.kind).toBe('refresh-token');
    const digest = await pushImage(
      client(registry, { credentials, mask: (s) => masked.push(s) }),
      'models/acr',
      'v1',
      randomBytes(500),
    );
    expect(await client(registry, { credentials }).manifestDigest('models/acr', 'v1')).toBe(digest);
    expect(masked).toContain(tokens.aadToken);
    expect(masked.some((secret) => secret.split('.').length === 3)).toBe(true); // the JWT access token
  });

  it('ACR: a refused Azure AD token is a clear error', async () => {
    await expect(
      registryCredentials({
        registry: registry.host,
        mode: 'azure',
        token: 'not-an-aad-token',
        oauthBaseUrl: registry.tokenServer!.url,
      }),
    ).rejects.toThrow(`registry ${registry.host} refused the Azure AD token at /oauth2/exchange (HTTP 401)`);
  });
});
