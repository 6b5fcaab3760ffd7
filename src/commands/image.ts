// The image a rollout deploys, always by digest: built and pushed, or the `image` input with its tag resolved.
import { tmpdir } from 'node:os';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { createBuildBackends, registryAccess } from '../adapters/registry/index.js';
import type { RolloutConfig } from '../core/config.js';
import { isDigest, parseImageRef, imageByDigest } from '../core/image-ref.js';
import type { BuiltImage } from '../core/ports.js';
import { buildAndPush, type BuildAuth, type BuildRequest } from '../engine/build.js';
import type { CommandContext } from './context.js';

function buildAuth(config: RolloutConfig): BuildAuth | undefined {
  const { method, username, password } = config.registryAuth;
  if (method === 'none') return undefined;
  return { mode: method, username, password };
}

export function buildRequest(config: RolloutConfig): BuildRequest {
  const { build } = config;
  return {
    builder: build.builder,
    registry: build.registry ?? '',
    repository: build.repository ?? '',
    tags: build.tags,
    context: build.context,
    dockerfile: build.dockerfile,
    buildArgs: build.buildArgs,
    platforms: build.platforms,
    modelPath: build.modelPath,
    baseImage: build.baseImage,
    modelName: config.model,
    source:
      process.env.GITHUB_SERVER_URL && process.env.GITHUB_REPOSITORY
        ? `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}`
        : undefined,
    revision: process.env.GITHUB_SHA,
    // The commit time keeps re-runs of the same model on the same digest.
    created: process.env.MODEL_CANARY_CREATED ? new Date(process.env.MODEL_CANARY_CREATED) : undefined,
    auth: buildAuth(config),
    dryRun: config.dryRun,
  };
}

export async function buildImage(context: CommandContext): Promise<BuiltImage> {
  const { config, logger, clock, services } = context;
  const workDir = await mkdtemp(join(tmpdir(), 'model-canary-build-'));
  const backends = await createBuildBackends({
    registry: config.build.registry ?? '',
    auth: buildAuth(config),
    workDir,
    mask: services.mask,
  });
  return buildAndPush(buildRequest(config), { backends, logger, clock });
}

/** `image` by digest as given, a tag resolved to its digest, or a fresh build. */
export async function imageToDeploy(context: CommandContext): Promise<string> {
  const { config, logger, services } = context;
  if (!config.image) return (await buildImage(context)).image;
  const ref = parseImageRef(config.image);
  if (ref.digest && isDigest(ref.digest)) return config.image;
  const access = await registryAccess({
    registry: ref.registry,
    auth: ref.registry === config.build.registry ? buildAuth(config) : undefined,
    mask: services.mask,
  });
  const digest = await access.resolver.resolveDigest(config.image);
  logger.info(`${config.image} resolved to ${digest}`);
  return imageByDigest(ref.registry, ref.repository, digest);
}
