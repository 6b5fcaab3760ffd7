// resolveOci against a real docker-registry: ORAS-style artifacts pushed in the setup with the project's own
// RegistryClient (empty config, one titled layer per file), then downloaded with downloadFiles.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bufferBlob } from '../../../src/adapters/registry/blob-source.js';
import { MEDIA_TYPES, RegistryClient } from '../../../src/adapters/registry/client.js';
import { downloadFiles } from '../../../src/adapters/model-sources/download.js';
import { OCI_ANNOTATIONS, resolveOci } from '../../../src/adapters/model-sources/oci.js';
import { parseModelSource, type ModelSourceRef } from '../../../src/core/model-source.js';
import { tempDir } from '../../support/local.js';
import { startRegistry, type TestRegistry } from '../../support/registry.js';
import { tarball } from '../../support/tarball.js';

const TAR = 'application/vnd.oci.image.layer.v1.tar';
const TAR_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const WEIGHTS = Buffer.alloc(200_000, 9);
const SETTINGS = Buffer.from('{"name":"churn","implementation":"mlserver_sklearn.SKLearnModel"}');
const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

let registry: TestRegistry;
let client: RegistryClient;
const clientFor = (host: string): RegistryClient => {
  expect(host).toBe(registry.host);
  return client;
};
const ociRef = (reference: string) =>
  parseModelSource(`oci://${registry.host}/${reference}`) as Extract<ModelSourceRef, { kind: 'oci' }>;

interface Layer {
  data: Buffer;
  mediaType?: string;
  annotations?: Record<string, string>;
}

/** What `oras push` writes: the empty config, one layer per file, annotations on the manifest. */
async function pushArtifact(
  repository: string,
  tag: string,
  layers: Layer[],
  annotations?: Record<string, string>,
): Promise<string> {
  const config = bufferBlob(Buffer.from('{}'));
  await client.uploadBlob(repository, config);
  const descriptors = [];
  for (const layer of layers) {
    const blob = bufferBlob(layer.data);
    await client.uploadBlob(repository, blob);
    descriptors.push({
      mediaType: layer.mediaType ?? TAR,
      digest: blob.digest,
      size: blob.size,
      ...(layer.annotations ? { annotations: layer.annotations } : {}),
    });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: 'application/vnd.model-canary.model.v1',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: config.digest, size: config.size },
    layers: descriptors,
    ...(annotations ? { annotations } : {}),
  };
  return client.putManifest(repository, tag, Buffer.from(JSON.stringify(manifest)), MEDIA_TYPES.ociManifest);
}

const titled = (title: string, data: Buffer, extra: Partial<Layer> = {}): Layer => ({
  data,
  ...extra,
  annotations: { [OCI_ANNOTATIONS.title]: title, ...extra.annotations },
});

let directory: Buffer;
let churnDigest: string;

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient({ registry: registry.host, retry: { sleep: async () => undefined, baseDelayMs: 1 } });
  directory = await tarball(
    [
      { name: 'extras/', type: 'directory' },
      { name: 'extras/vocab.txt', content: 'a\nb\n' },
    ],
    true,
  );
  churnDigest = await pushArtifact(
    'models/churn',
    '3',
    [
      titled('model.joblib', WEIGHTS),
      titled('model-settings.json', SETTINGS, { mediaType: 'application/json' }),
      titled('extras', directory, { mediaType: TAR_GZIP, annotations: { [OCI_ANNOTATIONS.orasUnpack]: 'true' } }),
    ],
    { [OCI_ANNOTATIONS.version]: '3.0.1', [OCI_ANNOTATIONS.title]: 'churn-scorer' },
  );
}, 30000);
afterAll(() => registry.stop());

describe('resolveOci', () => {
  it('lists one file per titled layer, with its digest as the hash, and downloads them', async () => {
    const model = await resolveOci(ociRef('models/churn:3'), clientFor);
    expect(model.name).toBe('churn-scorer');
    expect(model.version).toBe('3.0.1');
    expect(model.files.map(({ open: _open, ...file }) => file)).toEqual([
      {
        path: 'model.joblib',
        url: `oci://${registry.host}/models/churn@sha256:${sha256(WEIGHTS)}`,
        size: WEIGHTS.length,
        hash: { algorithm: 'sha256', hex: sha256(WEIGHTS) },
        unpack: false,
      },
      expect.objectContaining({ path: 'model-settings.json', unpack: false }),
      expect.objectContaining({ path: 'extras', unpack: true, hash: { algorithm: 'sha256', hex: sha256(directory) } }),
    ]);
    const dir = tempDir('oci');
    try {
      const files = await downloadFiles(model.files, dir.path, { label: 'model-source oci', concurrency: 2 });
      expect(files).toEqual([
        { path: 'model.joblib', size: WEIGHTS.length, sha256: sha256(WEIGHTS) },
        { path: 'model-settings.json', size: SETTINGS.length, sha256: sha256(SETTINGS) },
        { path: 'extras/vocab.txt', size: 4, sha256: sha256('a\nb\n') },
      ]);
      expect(readFileSync(join(dir.path, 'model.joblib')).equals(WEIGHTS)).toBe(true);
      expect(readFileSync(join(dir.path, 'extras/vocab.txt'), 'utf8')).toBe('a\nb\n');
    } finally {
      dir.remove();
    }
  });

  it('resumes a layer from the offset it got to, through the registry client', async () => {
    const model = await resolveOci(ociRef(`models/churn@${churnDigest}`), clientFor);
    const file = model.files[0]!;
    const head = await file.open!(150_000);
    const chunks: Buffer[] = [];
    for await (const chunk of head) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(WEIGHTS.subarray(150_000))).toBe(true);
  });

  it('takes the tag as the version without an annotation, and the repository as the name', async () => {
    await pushArtifact('team/fraud-model', 'v7', [titled('weights.onnx', Buffer.from('onnx'))]);
    const model = await resolveOci(ociRef('team/fraud-model:v7'), clientFor);
    expect([model.name, model.version]).toEqual(['fraud-model', 'v7']);
  });

  it("takes the digest's first 12 hex digits as the version when pinned by digest", async () => {
    const digest = await pushArtifact('team/pinned', 'x', [titled('a.bin', Buffer.from('a'))]);
    const model = await resolveOci(ociRef(`team/pinned@${digest}`), clientFor);
    expect(model.version).toBe(digest.slice('sha256:'.length, 'sha256:'.length + 12));
  });

  it('unpacks a layer whose title ends in .tar.gz, but not a plain file with the default ORAS media type', async () => {
    await pushArtifact('team/archives', '1', [
      titled('bundle.tar.gz', directory, { mediaType: 'application/octet-stream' }),
      titled('model.pkl', Buffer.from('pickle'), { mediaType: TAR }),
    ]);
    const model = await resolveOci(ociRef('team/archives:1'), clientFor);
    expect(model.files.map((file) => [file.path, file.unpack])).toEqual([
      ['bundle.tar.gz', true],
      ['model.pkl', false],
    ]);
  });

  it('refuses a layer without a title, naming its digest', async () => {
    await pushArtifact('team/image-like', '1', [{ data: Buffer.from('layer bytes') }]);
    await expect(resolveOci(ociRef('team/image-like:1'), clientFor)).rejects.toThrow(
      `layer sha256:${sha256('layer bytes')} has no org.opencontainers.image.title annotation`,
    );
  });

  it('refuses an image index, asking for one artifact', async () => {
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [
        {
          mediaType: MEDIA_TYPES.ociManifest,
          digest: churnDigest,
          size: 1,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    };
    const body = (await client.getManifest('models/churn', churnDigest)).body;
    index.manifests[0]!.size = body.length;
    await client.putManifest('models/churn', 'multi', Buffer.from(JSON.stringify(index)), MEDIA_TYPES.ociIndex);
    await expect(resolveOci(ociRef('models/churn:multi'), clientFor)).rejects.toThrow(
      /models\/churn:multi is an image index \(sha256:[0-9a-f]{64}\), not one artifact: point model-source at a single-artifact manifest/,
    );
  });

  it('says not found for a missing tag', async () => {
    await expect(resolveOci(ociRef('models/churn:404'), clientFor)).rejects.toThrow(
      `model-source oci://${registry.host}/models/churn:404: not found: ${registry.host} has no manifest models/churn:404`,
    );
  });
});
