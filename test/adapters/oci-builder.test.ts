// The daemonless builder against a real docker-registry; skopeo and umoci read back what it pushed.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../src/adapters/registry/client.js';
import { OciBuilder, type OciBuildRequest } from '../../src/adapters/registry/oci-builder.js';
import { MODEL_LABELS } from '../../src/core/image-labels.js';
import { pullAndUnpack, pushBaseImage, skopeoInspect, skopeoRaw } from '../support/images.js';
import { tempDir } from '../support/local.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

let registry: TestRegistry;
let dir: { path: string; remove(): void };
let modelPath: string;
const created = new Date('2026-11-30T12:00:00Z');

beforeAll(async () => {
  registry = await startRegistry();
  dir = tempDir('oci-builder');
  pushBaseImage(join(dir.path, 'base'), `${registry.host}/runtimes/server:1`, { env: ['SERVER=base', 'PORT=8080'] });
  pushBaseImage(join(dir.path, 'multi'), `${registry.host}/runtimes/multi:1`, {
    platforms: ['linux/amd64', 'linux/arm64'],
  });
  modelPath = join(dir.path, 'model');
  mkdirSync(join(modelPath, 'weights'), { recursive: true });
  writeFileSync(join(modelPath, 'model-settings.json'), '{"name":"churn"}\n');
  writeFileSync(join(modelPath, 'weights', 'w.bin'), randomBytes(300_000));
});

afterAll(async () => {
  await registry?.stop();
  dir?.remove();
});

function builder(): OciBuilder {
  const clients = new Map<string, RegistryClient>();
  return new OciBuilder({
    clientFor: (host) => clients.get(host) ?? clients.set(host, new RegistryClient({ registry: host })).get(host)!,
  });
}

/** The model layers' size: what a push that uploads them all sends. */
function modelBytes(result: { layer: { layers: { size: number }[] } }): number {
  return result.layer.layers.reduce((sum, layer) => sum + layer.size, 0);
}

function request(overrides: Partial<OciBuildRequest> = {}): OciBuildRequest {
  return {
    registry: registry.host,
    repository: 'models/churn',
    baseImage: `${registry.host}/runtimes/server:1`,
    modelPath,
    modelName: 'churn',
    modelVersion: '7',
    source: 'https://github.com/acme/churn',
    revision: 'abc123',
    created,
    env: { MODEL_NAME: 'churn', PORT: '9000' },
    workDir: dir.path,
    ...overrides,
  };
}

describe('oci builder', () => {
  let firstDigest: string;

  it('adds the model as one layer with labels and env; skopeo and umoci read it back', async () => {
    const result = await builder().build(request());
    firstDigest = result.digest;
    expect(result.image).toBe(`${registry.host}/models/churn@${result.digest}`);
    // Base layers were mounted from runtimes/server, not sent: only the model layer and the config went up.
    expect(result.bytesUploaded).toBeGreaterThanOrEqual(modelBytes(result));
    expect(result.bytesUploaded).toBeLessThan(modelBytes(result) + 4000);

    const seen = skopeoInspect(`${registry.host}/models/churn@${result.digest}`);
    expect(seen.Digest).toBe(result.digest);
    expect(seen.Layers).toHaveLength(2);
    expect(seen.Layers[1]).toBe(result.layer.layers[0]!.digest);
    expect(seen.Labels).toMatchObject({
      'base.label': 'yes',
      'org.opencontainers.image.source': 'https://github.com/acme/churn',
      'org.opencontainers.image.revision': 'abc123',
      'org.opencontainers.image.created': '2026-11-30T12:00:00.000Z',
      [MODEL_LABELS.name]: 'churn',
      [MODEL_LABELS.version]: '7',
      [MODEL_LABELS.sha256]: result.layer.modelSha256,
    });
    expect(seen.Env).toEqual(expect.arrayContaining(['SERVER=base', 'PORT=9000', 'MODEL_NAME=churn']));

    const rootfs = pullAndUnpack(`${registry.host}/models/churn@${result.digest}`, join(dir.path, 'pull1'));
    expect(readFileSync(join(rootfs, 'mnt/models/model-settings.json'), 'utf8')).toBe('{"name":"churn"}\n');
    expect(readFileSync(join(rootfs, 'mnt/models/weights/w.bin'))).toEqual(
      readFileSync(join(modelPath, 'weights/w.bin')),
    );
    expect(readFileSync(join(rootfs, 'srv/server.py'), 'utf8')).toContain('serving on linux/amd64');
  });

  it('an unchanged model gives the same digest and uploads nothing', async () => {
    const result = await builder().build(request());
    expect(result.digest).toBe(firstDigest);
    expect(result.bytesUploaded).toBe(0);
  });

  it('a one-byte change uploads only the new layer and config', async () => {
    appendFileSync(join(modelPath, 'model-settings.json'), ' ');
    const result = await builder().build(request());
    expect(result.digest).not.toBe(firstDigest);
    expect(result.bytesUploaded).toBeGreaterThanOrEqual(modelBytes(result));
    expect(result.bytesUploaded).toBeLessThan(modelBytes(result) + 4000);
  });

  it('puts the layer on every platform of a multi-platform base index', async () => {
    const result = await builder().build(
      request({ repository: 'models/multi', baseImage: `${registry.host}/runtimes/multi:1` }),
    );
    expect(result.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    const index = skopeoRaw(`${registry.host}/models/multi@${result.digest}`) as {
      mediaType: string;
      manifests: { digest: string; platform: { architecture: string } }[];
    };
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((entry) => entry.platform.architecture)).toEqual(['amd64', 'arm64']);
    for (const arch of ['amd64', 'arm64']) {
      const seen = skopeoInspect(`${registry.host}/models/multi@${result.digest}`, ['--override-arch', arch]);
      expect(seen.Architecture).toBe(arch);
      expect(seen.Layers.at(-1)).toBe(result.layer.layers[0]!.digest);
      expect(seen.Labels?.[MODEL_LABELS.name]).toBe('churn');
    }
    // The layer went up once for both platforms.
    expect(result.bytesUploaded).toBeLessThan(modelBytes(result) + 8000);
  });

  it('only the platforms asked for', async () => {
    const result = await builder().build(
      request({ repository: 'models/arm', baseImage: `${registry.host}/runtimes/multi:1`, platforms: ['linux/arm64'] }),
    );
    expect(result.platforms).toEqual(['linux/arm64']);
    await expect(
      builder().build(request({ baseImage: `${registry.host}/runtimes/multi:1`, platforms: ['linux/s390x'] })),
    ).rejects.toThrow(`base-image ${registry.host}/runtimes/multi:1 has no manifest for platforms linux/s390x`);
  });

  it('streams the base layers across when the base image lives in another registry', async () => {
    const other = await startRegistry();
    try {
      const result = await builder().build(request({ registry: other.host }));
      const baseLayers = skopeoInspect(`${registry.host}/runtimes/server:1`).Layers;
      expect(result.bytesUploaded).toBeGreaterThan(modelBytes(result));
      const rootfs = pullAndUnpack(`${other.host}/models/churn@${result.digest}`, join(dir.path, 'pull-other'));
      expect(readFileSync(join(rootfs, 'srv/server.py'), 'utf8')).toContain('serving on linux/amd64');
      expect(skopeoInspect(`${other.host}/models/churn@${result.digest}`).Layers).toEqual([
        ...baseLayers,
        result.layer.layers[0]!.digest,
      ]);
    } finally {
      await other.stop();
    }
  });

  it('names a missing base image and a missing model path', async () => {
    await expect(builder().build(request({ baseImage: `${registry.host}/runtimes/none:1` }))).rejects.toThrow(
      `registry ${registry.host}: GET /v2/runtimes/none/manifests/1 answered HTTP 404`,
    );
    await expect(builder().build(request({ modelPath: join(dir.path, 'missing') }))).rejects.toThrow(
      `model-path ${join(dir.path, 'missing')} does not exist`,
    );
  });
});
