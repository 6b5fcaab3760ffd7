// The image a rollout deploys, always by digest: built and pushed, or the `image` input with its tag resolved.
import { tmpdir } from 'node:os';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { modelSourceBackend } from '../adapters/model-sources/index.js';
import { createBuildBackends, registryAccess, type RegistryAccess } from '../adapters/registry/index.js';
import { modelSourceLabels, provenanceFromLabels } from '../core/image-labels.js';
import type { ModelProvenance } from '../core/model-source.js';
import { resolveBaseImage, servingCommand, servingLayoutWarnings } from '../core/serving-presets.js';
import { fetchModel, resolveModel, type FetchedModel } from '../engine/model-fetch.js';
import { readOnlyBuildBackends } from '../adapters/read-only.js';
import type { RolloutConfig } from '../core/config.js';
import { isDigest, parseImageRef, imageByDigest } from '../core/image-ref.js';
import type { BuiltImage } from '../core/ports.js';
import {
  buildAndPush,
  buildAuth,
  DEFAULT_DOCKER_MODEL_DIR,
  type BuildRequest,
  type ModelContent,
} from '../engine/build.js';
import type { CommandContext } from './context.js';
import { ConfigError } from '../core/config.js';
import { sourceDateEpoch } from '../core/source-date.js';

/** `base-image` as a preset or an image: the image to build on, and what the preset sets on it (oci only). */
function baseImageOf(config: RolloutConfig, modelName: string | undefined): Partial<BuildRequest> {
  const { build } = config;
  if (!build.baseImage) return {};
  const { image, preset } = resolveBaseImage(build.baseImage);
  if (!preset || build.builder !== 'oci') return { baseImage: image };
  const cmd = servingCommand(preset, config.model ?? modelName ?? 'model');
  return { baseImage: image, modelTarget: preset.modelTarget, env: preset.env, ...(cmd ? { cmd } : {}) };
}

/** SOURCE_DATE_EPOCH from the environment; a malformed one is bad input (exit 2), not silently the clock. */
function sourceDate(): Date | undefined {
  const parsed = sourceDateEpoch(process.env.SOURCE_DATE_EPOCH);
  if (parsed instanceof Error) throw new ConfigError([parsed.message]);
  return parsed;
}

export function buildRequest(config: RolloutConfig, modelName?: string): BuildRequest {
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
    ...baseImageOf(config, modelName),
    modelName: config.model,
    source:
      process.env.GITHUB_SERVER_URL && process.env.GITHUB_REPOSITORY
        ? `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}`
        : undefined,
    revision: process.env.GITHUB_SHA,
    // Unset: the build takes the commit's time (engine/build.ts creationTime), never the clock.
    created: sourceDate(),
    auth: buildAuth(config),
    dryRun: config.dryRun,
  };
}

export interface ModelImage extends BuiltImage {
  modelSource?: ModelProvenance;
}

/**
 * `model-source` is downloaded into the build's scratch dir, so a failed download leaves nothing behind. The oci
 * builder layers it from there; for docker it is then copied into the context (`model-path`, default `model/`) for
 * the Dockerfile to COPY.
 */
async function fetchModelSource(context: CommandContext, workDir: string): Promise<FetchedModel | undefined> {
  const { config, logger, clock, services } = context;
  const { modelSource, builder, baseImage } = config.build;
  if (!modelSource) return undefined;
  const backend = services.modelSources?.() ?? modelSourceBackend(config, services.mask);
  if (config.dryRun) {
    // Resolving is a read-only check worth making; the download and the copy into the working tree are not made.
    const { label, resolved } = await resolveModel(modelSource, { backend, logger });
    logger.info(`dry run: would download ${label} (${resolved.files.length} file(s)) into the build`);
    return undefined;
  }
  const fetched = await fetchModel(modelSource, join(workDir, 'model'), { backend, logger, clock });
  for (const warning of servingLayoutWarnings(baseImage, fetched.files)) logger.warn(warning);
  if (builder === 'oci') return fetched;
  const inContext = resolve(context.cwd, config.build.context, config.build.modelPath ?? DEFAULT_DOCKER_MODEL_DIR);
  await cp(fetched.dir, inContext, { recursive: true, force: true });
  logger.info(`model files copied into the docker context at ${inContext}`);
  return { ...fetched, dir: inContext };
}

export async function buildImage(context: CommandContext): Promise<ModelImage> {
  const { config, logger, clock, services } = context;
  const workDir = await mkdtemp(join(tmpdir(), 'model-canary-build-'));
  try {
    const fetched = await fetchModelSource(context, workDir);
    const backends = config.dryRun
      ? readOnlyBuildBackends()
      : await createBuildBackends({
          registry: config.build.registry ?? '',
          auth: buildAuth(config),
          workDir,
          mask: services.mask,
        });
    const model = fetched?.provenance;
    const request = buildRequest(config, model?.name);
    const built = await buildAndPush(
      model
        ? {
            ...request,
            modelPath: fetched.dir,
            modelOrigin: model.uri,
            modelName: model.name,
            modelVersion: model.version,
            labels: { ...request.labels, ...modelSourceLabels(model) },
          }
        : request,
      { backends, logger, clock, cwd: context.cwd },
    );
    return { ...built, ...(model ? { modelSource: model } : pathProvenance(config, built)) };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** A model-path build: its content hash comes from the layer; the version is the commit, else the hash. */
function pathProvenance(config: RolloutConfig, built: BuiltImage & { model?: ModelContent }): Partial<ModelImage> {
  const content = built.model;
  if (!content || !config.build.modelPath) return {};
  const version = process.env.GITHUB_SHA?.slice(0, 12) ?? `sha256-${content.sha256.slice(0, 12)}`;
  return {
    modelSource: {
      kind: 'path',
      uri: config.build.modelPath,
      name: config.model ?? basename(resolve(config.build.modelPath)),
      version,
      ...content,
    },
  };
}

/** `image` by digest as given, a tag resolved to its digest, or a fresh build; with the model it holds if known. */
export async function imageToDeploy(
  context: CommandContext,
): Promise<{ image: string; modelSource?: ModelProvenance }> {
  const { config, logger, services } = context;
  if (!config.image) {
    const built = await buildImage(context);
    return { image: built.image, modelSource: built.modelSource };
  }
  const ref = parseImageRef(config.image);
  if (ref.digest && isDigest(ref.digest))
    return { image: config.image, modelSource: await labelledModel(context, config.image) };
  const access = await registryAccess({
    registry: ref.registry,
    auth: buildAuth(config, ref.registry),
    mask: services.mask,
  });
  const digest = await access.resolver.resolveDigest(config.image);
  logger.info(`${config.image} resolved to ${digest}`);
  const image = imageByDigest(ref.registry, ref.repository, digest);
  return { image, modelSource: await labelledModel(context, image, access) };
}

/**
 * An image model-canary built says which model it holds in its labels. Best effort, one try: an image from
 * elsewhere, or a registry this job cannot read, just has no model shown. `access`: the one a tag was resolved with.
 */
async function labelledModel(
  context: CommandContext,
  image: string,
  access?: RegistryAccess,
): Promise<ModelProvenance | undefined> {
  const { config, logger, services } = context;
  try {
    const { registry } = parseImageRef(image);
    access ??= await registryAccess({
      registry,
      auth: buildAuth(config, registry),
      mask: services.mask,
      client: { retry: { retries: 0 }, timeoutMs: 10_000 },
    });
    return provenanceFromLabels(await access.resolver.imageLabels(image));
  } catch (error) {
    logger.debug(`no model labels read from ${image}: ${(error as Error).message}`);
    return undefined;
  }
}
