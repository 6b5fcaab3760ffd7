// The whole model-source path, per kind: resolve at the (fake) registry of record, download through the real
// downloader, build with the oci builder on a serving preset's image, push to a real docker-registry, and read the
// image back with skopeo. Each failure stops the run before anything reaches the registry.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import axios from 'axios';
import { modelSourceBackend } from '../src/adapters/model-sources/index.js';
import { bufferBlob } from '../src/adapters/registry/blob-source.js';
import { MEDIA_TYPES, RegistryClient } from '../src/adapters/registry/client.js';
import { systemClock, type CommandContext, type CommandResult } from '../src/commands/context.js';
import { runCommand } from '../src/commands/run.js';
import { buildConfig } from '../src/core/config.js';
import { modelContentSha256, type ModelProvenance } from '../src/core/model-source.js';
import type { Logger } from '../src/core/ports.js';
import { startArtifactServer, bufferContent, type ArtifactServer } from './support/artifact-server.js';
import { startFakeAzureMl, type FakeAzureMl } from './support/fake-azureml.js';
import { startFakeMlflow, type FakeMlflow } from './support/fake-mlflow.js';
import { pullAndUnpack, pushBaseImage, skopeoInspect } from './support/images.js';
import { tempDir } from './support/local.js';
import { startRegistry, type TestRegistry } from './support/registry.js';
import { tarball } from './support/tarball.js';

jest.setTimeout(60_000);

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const MODEL: Record<string, Buffer> = {
  'model-settings.json': Buffer.from('{"name":"churn","implementation":"mlserver_sklearn.SKLearnModel"}'),
  'model.joblib': Buffer.alloc(300_000, 7),
  'extra/vocab.txt': Buffer.from('a\nb\nc\n'),
};
const CONTENT_SHA = modelContentSha256(Object.entries(MODEL).map(([path, data]) => ({ path, sha256: sha256(data) })));
const AZURE = { subscription: '00000000-1111-2222-3333-444444444444', resourceGroup: 'rg-ml', workspace: 'ml-prod' };

let registry: TestRegistry;
let mlflow: FakeMlflow;
let azure: FakeAzureMl;
let artifacts: ArtifactServer;
let dir: { path: string; remove(): void };
let baseImage: string;

beforeAll(async () => {
  dir = tempDir('model-sources');
  [registry, mlflow, azure, artifacts] = await Promise.all([
    startRegistry(),
    startFakeMlflow({ auth: { kind: 'bearer', token: 'mlflow-token-abc' } }),
    startFakeAzureMl(),
    startArtifactServer(),
  ]);
  // A mirror of the MLServer preset's image: same repository name, so the preset's layout and env apply.
  baseImage = `${registry.host}/seldonio/mlserver:1.7.1`;
  pushBaseImage(join(dir.path, 'base'), baseImage);

  mlflow.addModelVersion({
    name: 'churn',
    version: 3,
    aliases: ['champion'],
    files: MODEL,
    source: 'mlflow-artifacts',
  });
  azure.addWorkspaceModel({ ...AZURE, name: 'churn', version: '7', files: MODEL });
  azure.addWorkspaceModel({ ...AZURE, name: 'churn', version: '8', files: MODEL });
  azure.addRegistryModel({ registry: 'shared-models', name: 'churn', version: '2', files: MODEL });
  const archive = await tarball(Object.entries(MODEL).map(([name, content]) => ({ name, content })));
  artifacts.add('/models/churn/model.tar', bufferContent(archive), { md5Headers: ['x-ms-blob-content-md5'] });
  await pushOciArtifact('artifacts/churn', '5');
});

afterAll(async () => {
  await Promise.all([registry?.stop(), mlflow?.stop(), azure?.close(), artifacts?.stop()]);
  dir?.remove();
});

/** What `oras push` writes: the empty config, one titled layer per file, the version annotation. */
async function pushOciArtifact(repository: string, tag: string): Promise<void> {
  const client = new RegistryClient({ registry: registry.host });
  const config = bufferBlob(Buffer.from('{}'));
  await client.uploadBlob(repository, config);
  const layers = [];
  for (const [title, data] of Object.entries(MODEL)) {
    const blob = bufferBlob(data);
    await client.uploadBlob(repository, blob);
    layers.push({
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      digest: blob.digest,
      size: blob.size,
      annotations: { 'org.opencontainers.image.title': title },
    });
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      artifactType: 'application/vnd.model-canary.model.v1',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: config.digest, size: config.size },
      layers,
      annotations: { 'org.opencontainers.image.version': '5.0.1' },
    }),
  );
  await client.putManifest(repository, tag, manifest, MEDIA_TYPES.ociManifest);
}

interface Built {
  result?: CommandResult;
  error?: Error;
  log: string[];
  masked: string[];
}

async function build(repository: string, settings: Record<string, string>): Promise<Built> {
  const log: string[] = [];
  const masked: string[] = [];
  const logger: Logger = {
    info: (m) => log.push(m),
    warn: (m) => log.push(`warning: ${m}`),
    debug: () => undefined,
  };
  const mask = (secret: string) => void masked.push(secret);
  const config = buildConfig(
    {},
    { command: 'build', registry: registry.host, repository, 'base-image': baseImage, tags: 'v1', ...settings },
  );
  const context: CommandContext = {
    config,
    logger,
    clock: systemClock,
    cwd: dir.path,
    services: {
      cluster: () => {
        throw new Error('build touches no cluster');
      },
      metrics: () => {
        throw new Error('build reads no metrics');
      },
      reporter: { publish: async () => undefined },
      run: { holder: 'test' },
      mask,
      modelSources: () =>
        modelSourceBackend(config, mask, { azureml: azure.resolverOptions(), download: { retryDelayMs: 20 } }),
    },
  };
  try {
    return { result: await runCommand(context), log, masked };
  } catch (error) {
    return { error: error as Error, log, masked };
  }
}

async function repositories(): Promise<string[]> {
  const response = await axios.get<{ repositories: string[] }>(`${registry.url}/v2/_catalog`);
  return response.data.repositories;
}

function expectPushed(built: Built, repository: string, model: Partial<ModelProvenance>): void {
  expect(built.error).toBeUndefined();
  const report = built.result!.report;
  expect(report.modelSource).toEqual({ ...model, sha256: CONTENT_SHA, files: 3, bytes: expect.any(Number) });
  const image = skopeoInspect(`${registry.host}/${repository}:v1`);
  expect(image.Digest).toBe(report.digest);
  expect(image.Labels).toMatchObject({
    'io.model-canary.model.name': model.name,
    'io.model-canary.model.version': model.version,
    'io.model-canary.model.source': model.uri,
    'io.model-canary.model.source-kind': model.kind,
    'io.model-canary.model.sha256': CONTENT_SHA,
    'org.opencontainers.image.version': model.version,
  });
  expect(image.Env).toContain('MLSERVER_MODELS_DIR=/mnt/models');
  expect(built.log.join('\n')).not.toContain('warning: ');
}

describe('model-source -> oci build -> registry', () => {
  it('MLflow: an alias resolves to its version; the files land in /mnt/models of the pushed image', async () => {
    const built = await build('models/churn-mlflow', {
      'model-source': 'models:/churn@champion',
      'mlflow-tracking-uri': mlflow.url,
      'mlflow-token': 'mlflow-token-abc',
    });
    expectPushed(built, 'models/churn-mlflow', {
      kind: 'mlflow',
      uri: 'models:/churn@champion',
      name: 'churn',
      version: '3',
    });
    expect(built.masked).toContain('mlflow-token-abc');
    const rootfs = pullAndUnpack(`${registry.host}/models/churn-mlflow:v1`, join(dir.path, 'pulled-mlflow'));
    for (const [path, data] of Object.entries(MODEL))
      expect(readFileSync(join(rootfs, 'mnt/models', path))).toEqual(data);
    expect(existsSync(join(rootfs, 'srv/server.py'))).toBe(true);
  });

  it('Azure ML workspace model: resolved through ARM and the datastore, each blob md5-checked', async () => {
    const built = await build('models/churn-aml', {
      'model-source': 'azureml:churn:7',
      'azureml-workspace': AZURE.workspace,
      'azureml-resource-group': AZURE.resourceGroup,
      'azureml-subscription': AZURE.subscription,
    });
    expectPushed(built, 'models/churn-aml', {
      kind: 'azureml-workspace',
      uri: 'azureml:churn:7',
      name: 'churn',
      version: '7',
    });
  });

  it('Azure ML registry model', async () => {
    const uri = 'azureml://registries/shared-models/models/churn/versions/2';
    const built = await build('models/churn-amlreg', { 'model-source': uri });
    expectPushed(built, 'models/churn-amlreg', { kind: 'azureml-registry', uri, name: 'churn', version: '2' });
  });

  it('https tarball: a connection cut mid-file is resumed with Range, the archive unpacked', async () => {
    artifacts.reset();
    artifacts.faults.dropAfterBytes = 100_000;
    const url = `http://127.0.0.1:${new URL(artifacts.url).port}/models/churn/model.tar?sv=2024&sig=SECRET#version=11`;
    const built = await build('models/churn-https', { 'model-source': url });
    artifacts.faults.dropAfterBytes = undefined;
    const uri = `http://127.0.0.1:${new URL(artifacts.url).port}/models/churn/model.tar?…`;
    expectPushed(built, 'models/churn-https', { kind: 'https', uri, name: 'model', version: '11' });
    expect(artifacts.rangeRequests().length).toBeGreaterThan(0);
    expect(JSON.stringify(built.result!.report)).not.toContain('SECRET');
    expect(built.log.join('\n')).not.toContain('SECRET');
  });

  it('oci artifact: each titled layer a file, the version from the manifest annotation', async () => {
    const uri = `oci://${registry.host}/artifacts/churn:5`;
    const built = await build('models/churn-oci', { 'model-source': uri });
    expectPushed(built, 'models/churn-oci', { kind: 'oci', uri, name: 'churn', version: '5.0.1' });
  });

  it('the same model from another registry gives the same content hash and the same layer', async () => {
    const a = skopeoInspect(`${registry.host}/models/churn-aml:v1`);
    const b = skopeoInspect(`${registry.host}/models/churn-oci:v1`);
    expect(a.Layers.at(-1)).toBe(b.Layers.at(-1));
  });
});

describe('serving presets', () => {
  it('a KServe sklearnserver mirror gets the Cmd that points it at /mnt/models; a Triton mirror warns on the layout', async () => {
    const sklearn = `${registry.host}/kserve/sklearnserver:v0.18.0`;
    const triton = `${registry.host}/nvidia/tritonserver:25.12-py3`;
    pushBaseImage(join(dir.path, 'sklearn'), sklearn);
    pushBaseImage(join(dir.path, 'triton'), triton);
    const uri = `oci://${registry.host}/artifacts/churn:5`;
    const built = await build('models/churn-sklearn', { 'model-source': uri, 'base-image': sklearn, model: 'churn' });
    expect(built.error).toBeUndefined();
    const config = JSON.parse(
      execFileSync(
        'skopeo',
        ['inspect', '--config', '--tls-verify=false', `docker://${registry.host}/models/churn-sklearn:v1`],
        {
          encoding: 'utf8',
        },
      ),
    ) as { config: { Cmd?: string[] } };
    expect(config.config.Cmd).toEqual(expect.arrayContaining(['--model_dir=/mnt/models', '--model_name=churn']));

    const onTriton = await build('models/churn-triton', { 'model-source': uri, 'base-image': triton });
    expect(onTriton.error).toBeUndefined();
    expect(onTriton.log.filter((line) => line.startsWith('warning: ')).join('\n')).toMatch(/Triton.*config\.pbtxt/s);
  });
});

describe('model-source failures push nothing', () => {
  it.each([
    [
      'an MLflow version that does not exist',
      { 'model-source': 'models:/churn/9', 'mlflow-tracking-uri': 'MLFLOW', 'mlflow-token': 'mlflow-token-abc' },
      /^model-source models:\/churn\/9: .*no version 9 of model churn/,
    ],
    [
      'an Azure ML version that does not exist',
      { 'model-source': 'azureml:churn:12', ...workspaceInputs() },
      /^model-source azureml:churn:12: .*has no model churn version 12/,
    ],
  ])('%s', async (_name, settings, message) => {
    const built = await build('models/never-not-found', resolveUrls(settings));
    expect(built.error?.message).toMatch(message);
    expect(await repositories()).not.toContain('models/never-not-found');
  });

  it('a download that keeps breaking', async () => {
    artifacts.reset();
    artifacts.faults.dropAfterBytes = 0;
    artifacts.faults.dropEveryTime = true;
    const url = `http://127.0.0.1:${new URL(artifacts.url).port}/models/churn/model.tar`;
    const built = await build('models/never-broken', { 'model-source': url });
    artifacts.faults.dropAfterBytes = undefined;
    artifacts.faults.dropEveryTime = false;
    expect(built.error?.message).toMatch(/^model-source http:\/\/127\.0\.0\.1:\d+\/models\/churn\/model\.tar: /);
    expect(await repositories()).not.toContain('models/never-broken');
  });

  it('a blob whose bytes differ from its md5', async () => {
    azure.blob.corruptNextAt = 2;
    const built = await build('models/never-corrupt', { 'model-source': 'azureml:churn:8', ...workspaceInputs() });
    expect(built.error?.message).toMatch(/^model-source azureml:churn:8: .*md5/);
    expect(await repositories()).not.toContain('models/never-corrupt');
  });

  it('a file whose sha256 differs from the one the URL pins', async () => {
    const url = `http://127.0.0.1:${new URL(artifacts.url).port}/models/churn/model.tar#sha256=${'0'.repeat(64)}`;
    const built = await build('models/never-pinned', { 'model-source': url });
    expect(built.error?.message).toMatch(/sha256/);
    expect(built.error?.message).toContain('0'.repeat(64));
    expect(await repositories()).not.toContain('models/never-pinned');
  });
});

function workspaceInputs(): Record<string, string> {
  return {
    'azureml-workspace': AZURE.workspace,
    'azureml-resource-group': AZURE.resourceGroup,
    'azureml-subscription': AZURE.subscription,
  };
}

/** The fakes' URLs are known only once they run. */
function resolveUrls(settings: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(settings).map(([key, value]) => [key, value === 'MLFLOW' ? mlflow.url : value]),
  );
}
