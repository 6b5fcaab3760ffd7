// The docker builder against a real dockerd and a real docker-registry, both on this machine.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../src/adapters/registry/client.js';
import {
  DockerBuilder,
  digestFromPushOutput,
  dockerBuildArgs,
  type DockerBuildRequest,
} from '../../src/adapters/registry/docker-builder.js';
import { actionsExec } from '../../src/adapters/registry/exec.js';
import { RegistryImageResolver } from '../../src/adapters/registry/resolver.js';
import { MODEL_LABELS } from '../../src/core/image-labels.js';
import { systemClock } from '../../src/commands/context.js';
import { runCommand } from '../../src/commands/run.js';
import { buildConfig } from '../../src/core/config.js';
import { bufferContent, startArtifactServer } from '../support/artifact-server.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { skopeoInspect } from '../support/images.js';
import { tempDir } from '../support/local.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const base: DockerBuildRequest = {
  registry: 'r.io',
  repository: 'models/churn',
  pushTag: 'abc123',
  context: 'ctx',
  workDir: '/w',
};

describe('dockerBuildArgs', () => {
  it.each([
    [false, base, ['build', '--tag', 'r.io/models/churn:abc123', '--iidfile', '/w/iid', 'ctx']],
    [
      true,
      base,
      ['buildx', 'build', '--tag', 'r.io/models/churn:abc123', '--metadata-file', '/w/metadata.json', '--push', 'ctx'],
    ],
    [
      false,
      {
        ...base,
        dockerfile: 'serve/Dockerfile',
        buildArgs: { A: '1', B: 'x=y' },
        target: 'serve',
        platforms: ['linux/amd64'],
      },
      ['build', '--file', 'serve/Dockerfile', '--build-arg', 'A=1', '--build-arg', 'B=x=y', '--target', 'serve',
        '--platform', 'linux/amd64', '--tag', 'r.io/models/churn:abc123', '--iidfile', '/w/iid', 'ctx'], // prettier-ignore
    ],
    [
      false,
      { ...base, revision: 'abc123', modelName: 'churn', labels: { team: 'ml' } },
      ['build', '--label', 'org.opencontainers.image.revision=abc123', '--label', 'org.opencontainers.image.title=churn',
        '--label', `${MODEL_LABELS.name}=churn`, '--label', 'team=ml',
        '--tag', 'r.io/models/churn:abc123', '--iidfile', '/w/iid', 'ctx'], // prettier-ignore
    ],
  ])('buildx %s: %j', (buildx, request, args) => {
    expect(dockerBuildArgs(request, buildx)).toEqual(args);
  });

  it('reads the digest docker push prints', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    expect(digestFromPushOutput(`The push refers to repository [r.io/x]\nabc123: digest: ${digest} size: 527\n`)).toBe(
      digest,
    );
    expect(digestFromPushOutput('no digest here')).toBeUndefined();
  });
});

describe('docker builder with a real dockerd', () => {
  let dockerd: TestDockerd;
  let registry: TestRegistry;
  let dir: { path: string; remove(): void };
  let builder: DockerBuilder;

  beforeAll(async () => {
    [dockerd, registry] = await Promise.all([startDockerd(), startRegistry()]);
    dir = tempDir('docker-builder');
    const client = new RegistryClient({ registry: registry.host });
    const resolver = new RegistryImageResolver(() => client);
    builder = new DockerBuilder({
      exec: actionsExec(dockerd.env),
      resolveDigest: (reference) => resolver.resolveDigest(`${registry.host}/${reference}`),
    });
  }, 60000);

  afterAll(async () => {
    await Promise.all([dockerd?.stop(), registry?.stop()]);
    dir?.remove();
  });

  it('builds from a Dockerfile with build args and labels, pushes, and returns the digest skopeo sees', async () => {
    const context = join(dir.path, 'context');
    mkdirSync(join(context, 'model'), { recursive: true });
    writeFileSync(join(context, 'model', 'weights.bin'), 'weights v1');
    writeFileSync(
      join(context, 'Dockerfile'),
      'FROM scratch AS base\nARG MODEL_VERSION=0\nCOPY model/ /mnt/models/\nLABEL built.version=$MODEL_VERSION\n' +
        'FROM base AS serve\nENV SERVE=1\n',
    );
    const result = await builder.build({
      registry: registry.host,
      repository: 'models/docker',
      pushTag: 'abc123',
      context,
      buildArgs: { MODEL_VERSION: '7' },
      target: 'serve',
      revision: 'abc123',
      modelName: 'churn',
      workDir: dir.path,
    });
    expect(result.builder).toBe('docker');
    expect(result.image).toBe(`${registry.host}/models/docker@${result.digest}`);
    const seen = skopeoInspect(`${registry.host}/models/docker:abc123`);
    expect(seen.Digest).toBe(result.digest);
    expect(seen.Labels).toMatchObject({
      'built.version': '7',
      'org.opencontainers.image.revision': 'abc123',
      [MODEL_LABELS.name]: 'churn',
    });
    expect(seen.Env).toContain('SERVE=1');
  });

  it('fails with docker’s own words when the build breaks', async () => {
    const context = join(dir.path, 'broken');
    mkdirSync(context, { recursive: true });
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY missing.txt /\n');
    await expect(
      builder.build({ registry: registry.host, repository: 'models/broken', pushTag: 'x', context, workDir: dir.path }),
    ).rejects.toThrow(/docker build of .*broken failed \(exit code 1\):[\s\S]*missing\.txt/);
  });

  it('asks for buildx for more than one platform', async () => {
    await expect(
      builder.build({ ...base, registry: registry.host, platforms: ['linux/amd64', 'linux/arm64'], workDir: dir.path }),
    ).rejects.toThrow('platforms linux/amd64,linux/arm64 need docker buildx');
  });

  it('a model-source for a Dockerfile build: downloaded, copied into the context, labelled with its version', async () => {
    const artifacts = await startArtifactServer();
    artifacts.add('/models/churn/model.onnx', bufferContent(Buffer.from('onnx weights v9')));
    const context = join(dir.path, 'from-source');
    mkdirSync(context, { recursive: true });
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY model/ /mnt/models/\n');
    const config = buildConfig(
      {},
      {
        command: 'build',
        builder: 'docker',
        context,
        registry: registry.host,
        repository: 'models/docker-source',
        tags: 'v9',
        'model-source': `${artifacts.url}/models/churn/model.onnx#version=9`,
      },
    );
    const saved = { ...process.env };
    Object.assign(process.env, dockerd.env);
    try {
      const logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };
      const services = {
        cluster: () => { throw new Error('no cluster'); }, // prettier-ignore
        metrics: () => { throw new Error('no metrics'); }, // prettier-ignore
        reporter: { publish: async () => undefined },
        run: { holder: 'test' },
        mask: () => undefined,
      };
      const result = await runCommand({ config, logger, clock: systemClock, cwd: dir.path, services });
      expect(result.report.modelSource).toMatchObject({ kind: 'https', name: 'model.onnx', version: '9', files: 1 });
      expect(readFileSync(join(context, 'model', 'model.onnx'), 'utf8')).toBe('onnx weights v9');
      expect(skopeoInspect(`${registry.host}/models/docker-source:v9`).Labels).toMatchObject({
        [MODEL_LABELS.version]: '9',
        [MODEL_LABELS.kind]: 'https',
        [MODEL_LABELS.sha256]: createHash('sha256').update('onnx weights v9').digest('hex'),
      });
    } finally {
      process.env = saved;
      await artifacts.stop();
    }
  });
});
