// buildAndPush: validation and progress on plain data; the whole build through the real adapters and registry.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBuildBackends } from '../../src/adapters/registry/index.js';
import type { Clock, Logger } from '../../src/core/ports.js';
import {
  buildAndPush,
  formatBytes,
  progressLogger,
  tagsToPush,
  validateBuildRequest,
  type BuildRequest,
} from '../../src/engine/build.js';
import { pushBaseImage, skopeoInspect } from '../support/images.js';
import { tempDir } from '../support/local.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warn: ${m}`), debug: () => undefined };
}

/** A clock the test moves by hand. */
function manualClock(start = 0): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => new Date(now),
    monotonicMs: () => now,
    sleep: async (ms) => void (now += ms),
    advance: (ms) => void (now += ms),
  };
}

const oci: BuildRequest = {
  builder: 'oci',
  registry: 'r.io',
  repository: 'models/churn',
  tags: ['abc123'],
  modelPath: 'model',
  baseImage: 'r.io/base:1',
};

describe('validateBuildRequest', () => {
  it.each([
    [oci, []],
    [{ ...oci, modelPath: undefined }, ['builder oci needs model-path (the directory of model files)']],
    [{ ...oci, baseImage: undefined }, ['builder oci needs base-image (the serving image the model goes on)']],
    [
      { ...oci, repository: 'Models/Churn' },
      ["repository 'Models/Churn' is not valid (lowercase letters, digits, . _ - and /)"],
    ],
    [{ ...oci, tags: ['ok', 'not ok'] }, ["tag 'not ok' is not valid (letters, digits, . _ -, up to 128)"]],
    [{ ...oci, registry: '' }, ['registry is required for build (e.g. myacr.azurecr.io)']],
    [{ ...oci, builder: 'kaniko' as never }, ["builder 'kaniko' is not one of docker, oci"]],
    [{ ...oci, builder: 'docker' as const, modelPath: undefined, baseImage: undefined }, []],
  ])('%j', (request, problems) => {
    expect(validateBuildRequest(request)).toEqual(problems);
  });
});

describe('tagsToPush: the commit SHA by default, tags add more, tags none opts out', () => {
  const SHA = '0123456789abcdef0123456789abcdef01234567';
  const noGit = async () => ({ why: '/w is not a git repository' });
  const head = async () => ({ sha: SHA });

  it('tags with GITHUB_SHA (the revision) first, then the tags asked for, and says so', async () => {
    expect(await tagsToPush({ tags: ['v7', SHA], revision: SHA }, { commitSha: noGit })).toEqual({
      tags: [SHA, 'v7'],
      note: `tagging the image with the commit ${SHA} (GITHUB_SHA) and v7; tags: none for no tag`,
    });
  });

  it('without GITHUB_SHA, tags with the git HEAD of the working directory', async () => {
    expect(await tagsToPush({ tags: [] }, { commitSha: head, cwd: '/w' })).toEqual({
      tags: [SHA],
      note: `tagging the image with the commit ${SHA} (git HEAD of /w); tags: none for no tag`,
    });
  });

  it('without any commit, pushes untagged (or with the tags asked for) and says why', async () => {
    expect(await tagsToPush({ tags: [] }, { commitSha: noGit })).toEqual({
      tags: [],
      note: 'no commit SHA to tag the image with (GITHUB_SHA is not set and /w is not a git repository): it is pushed by digest only, untagged',
    });
    expect((await tagsToPush({ tags: ['v1'] }, { commitSha: noGit })).tags).toEqual(['v1']);
  });

  it('tags none: no tag at all, not even the commit', async () => {
    expect(await tagsToPush({ tags: ['none'], revision: SHA }, { commitSha: head })).toEqual({
      tags: [],
      note: 'not tagging the image (tags: none): it is pushed by digest only',
    });
    expect(validateBuildRequest({ ...oci, tags: ['none', 'v1'] })).toEqual([
      "tags 'none' means no tag at all: drop it or the other tags (got none, v1)",
    ]);
  });

  it('reads HEAD from a real git repository, and says when the folder is not one', async () => {
    const repo = tempDir('git');
    try {
      const git = (...args: string[]) => execFileSync('git', args, { cwd: repo.path, encoding: 'utf8' }).trim();
      const plain = await tagsToPush({ tags: [] }, { cwd: repo.path });
      expect(plain.tags).toEqual([]);
      expect(plain.note).toContain(`${repo.path} is not a git repository`);
      git('init', '-q');
      git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'x');
      const sha = git('rev-parse', 'HEAD');
      expect((await tagsToPush({ tags: ['latest'] }, { cwd: repo.path })).tags).toEqual([sha, 'latest']);
    } finally {
      repo.remove();
    }
  });
});

describe('progressLogger', () => {
  it('logs a layer when it starts, every interval, and once when done', () => {
    const logger = recordingLogger();
    const clock = manualClock();
    const progress = progressLogger({ logger, clock, progressIntervalMs: 5000 });
    const steps: [number, number][] = [[0, 1 << 20], [1000, 2 << 20], [5000, 3 << 20], [5500, 4 << 20], [6000, 4 << 20], [7000, 4 << 20]]; // prettier-ignore
    for (const [at, sent] of steps) {
      clock.advance(at - clock.now().getTime());
      progress('model layer', sent, 4 << 20);
    }
    expect(logger.lines).toEqual([
      'model layer: 1.0 MiB / 4.0 MiB (25%)',
      'model layer: 3.0 MiB / 4.0 MiB (75%)',
      'model layer: 4.0 MiB / 4.0 MiB (100%) pushed',
    ]);
  });

  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [1 << 30, '1.0 GiB'],
  ])('formatBytes(%d) = %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('buildAndPush against a real registry', () => {
  let registry: TestRegistry;
  let dir: { path: string; remove(): void };
  let modelPath: string;

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: { ci: 'ci-password' } });
    dir = tempDir('build');
    pushBaseImage(join(dir.path, 'base'), `${registry.host}/runtimes/server:1`, { creds: 'ci:ci-password' });
    modelPath = join(dir.path, 'model');
    mkdirSync(modelPath);
    writeFileSync(join(modelPath, 'model.onnx'), 'onnx bytes');
  });

  afterAll(async () => {
    await registry?.stop();
    dir?.remove();
  });

  const request = (): BuildRequest => ({
    ...oci,
    registry: registry.host,
    tags: ['abc123', '7', 'latest'],
    modelPath,
    baseImage: `${registry.host}/runtimes/server:1`,
    modelName: 'churn',
    modelVersion: '7',
    revision: 'abc123',
    created: new Date('2026-12-01T00:00:00Z'),
    auth: { mode: 'basic', username: 'ci', password: 'ci-password' },
  });

  it('builds, pushes by digest, then tags that digest; every token is masked', async () => {
    const masked: string[] = [];
    const logger = recordingLogger();
    const backends = await createBuildBackends({
      registry: registry.host,
      auth: request().auth,
      workDir: dir.path,
      mask: (secret) => masked.push(secret),
    });
    const built = await buildAndPush(request(), { backends, logger, clock: manualClock() });
    expect(built.image).toBe(`${registry.host}/models/churn@${built.digest}`);
    expect(built.tags).toEqual(['abc123', '7', 'latest']);
    expect(masked).toContain('ci-password');
    expect(logger.lines.join('\n')).not.toContain('ci-password');
    expect(logger.lines.some((line) => line.startsWith('model layer 1/1 (') && line.endsWith('pushed'))).toBe(true);
    expect(logger.lines).toContain(
      `tagged ${registry.host}/models/churn@${built.digest.slice(0, 19)} as abc123, 7, latest`,
    );

    const client = backends.clientFor(registry.host);
    expect((await client.listTags('models/churn')).sort()).toEqual(['7', 'abc123', 'latest']);
    for (const tag of built.tags)
      expect(await backends.resolver.resolveDigest(`${registry.host}/models/churn:${tag}`)).toBe(built.digest);
    expect(skopeoInspect(`${registry.host}/models/churn:7`, ['--creds', 'ci:ci-password']).Digest).toBe(built.digest);

    const again = await buildAndPush(request(), { backends, logger, clock: manualClock() });
    expect(again.digest).toBe(built.digest);
    expect(again.bytesUploaded).toBe(0);
  });

  it('dry run pushes nothing and says what it would do', async () => {
    const logger = recordingLogger();
    const backends = await createBuildBackends({ registry: registry.host, auth: request().auth, workDir: dir.path });
    const built = await buildAndPush(
      { ...request(), repository: 'models/dry', dryRun: true },
      { backends, logger, clock: manualClock() },
    );
    expect(built).toEqual({
      image: `${registry.host}/models/dry:abc123`,
      digest: '',
      tags: ['abc123', '7', 'latest'],
      bytesUploaded: 0,
    });
    expect(logger.lines[0]).toBe(
      `dry run: would build model ${modelPath} on ${registry.host}/runtimes/server:1 with builder oci and push to ${registry.host}/models/dry`,
    );
    expect(await backends.clientFor(registry.host).listTags('models/dry')).toEqual([]);
  });

  it('refuses a bad request before touching anything', async () => {
    const backends = await createBuildBackends({ registry: registry.host, workDir: dir.path });
    await expect(
      buildAndPush(
        { ...request(), modelPath: undefined },
        { backends, logger: recordingLogger(), clock: manualClock() },
      ),
    ).rejects.toThrow('build: builder oci needs model-path');
  });
});
