// `build`: build the model image with the chosen builder, push it, then add the tags to that digest.
// The rest of the pipeline deploys the digest, never a tag. Dry run builds nothing remote and says what it would do.
import { imageByDigest, isValidRepository, isValidTag } from '../core/image-ref.js';
import type { RolloutConfig } from '../core/config.js';
import type { BuiltImage, Clock, Logger } from '../core/ports.js';
import { gitCommitTime, gitHead } from '../adapters/git-revision.js';

export type BuilderKind = 'docker' | 'oci';

export interface BuildAuth {
  mode: 'azure' | 'basic' | 'docker-config';
  username?: string;
  password?: string;
  /** An Azure AD access token (mode azure) or a registry token used as password (mode basic). */
  token?: string;
  tenant?: string;
}

/**
 * The registry credentials of the config, as the builders take them (none: anonymous). Given another `registry`
 * than the build's, none: the build's credentials go only to the build's registry.
 */
export function buildAuth(
  config: Pick<RolloutConfig, 'registryAuth'> & { build: { registry?: string } },
  registry?: string,
): BuildAuth | undefined {
  const { method, username, password } = config.registryAuth;
  if (method === 'none' || (registry !== undefined && registry !== config.build.registry)) return undefined;
  return { mode: method, username, password };
}

export interface BuildRequest {
  builder: BuilderKind;
  registry: string;
  repository: string;
  /**
   * Added after the push, e.g. the model version, `latest` if asked. The commit (`revision`, else the HEAD of `cwd`)
   * is always added first, unless the tags are just `none` (no tag at all).
   */
  tags: string[];
  // docker
  context?: string;
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  // both
  platforms?: string[];
  labels?: Record<string, string>;
  // oci
  modelPath?: string;
  /** What the image history names as the model's origin (a model-source), instead of the local modelPath. */
  modelOrigin?: string;
  baseImage?: string;
  /** Where the model lands in the image (oci; default /mnt/models). */
  modelTarget?: string;
  env?: Record<string, string>;
  /** The image's Cmd (a serving preset tells the server where the model is). */
  cmd?: string[];
  compressionLevel?: number | 'auto';
  // provenance, as labels
  modelName?: string;
  modelVersion?: string;
  source?: string;
  revision?: string;
  /** Image creation time, from SOURCE_DATE_EPOCH; default the commit's time, else the Unix epoch (never now). */
  created?: Date;
  auth?: BuildAuth;
  dryRun?: boolean;
}

/** The model directory's content, as the oci builder hashed it into the layer. */
export interface ModelContent {
  sha256: string;
  files: number;
  bytes: number;
}

export interface PushProgress {
  /** `finished`: the word for the last line (default `pushed`). */
  (what: string, doneBytes: number, totalBytes: number, finished?: string): void;
}

/** What the engine needs from the world; `createBuildBackends` in adapters/registry wires the real ones. */
export interface BuildBackends {
  buildOci(
    request: BuildRequest & { created: Date },
    onProgress: PushProgress,
  ): Promise<{ digest: string; bytesUploaded: number; model?: ModelContent }>;
  buildDocker(request: BuildRequest & { created: Date }, pushTag: string): Promise<{ digest: string }>;
  /** Points each tag at the manifest `digest` (no blobs move). */
  tag(repository: string, digest: string, tags: string[]): Promise<void>;
}

export interface BuildDeps {
  backends: BuildBackends;
  logger: Logger;
  clock: Clock;
  /** Milliseconds between progress lines of one layer (default 5000). */
  progressIntervalMs?: number;
  /** The commit to tag with when the request has no `revision` (default: `git rev-parse HEAD` in `cwd`). */
  commitSha?: (cwd: string) => Promise<{ sha: string } | { why: string }>;
  /** The commit's time, for the image's `created` (default: `git log -1 --format=%ct` in `cwd`). */
  commitTime?: (cwd: string) => Promise<Date | undefined>;
  /** Where the commit is looked up (default: the process's working directory). */
  cwd?: string;
}

/**
 * The image's creation time: SOURCE_DATE_EPOCH when set (the reproducible-builds convention BuildKit and Debian
 * follow), else the commit's time, else the Unix epoch. Never the clock: the same model on the same base must give
 * the same digest on any machine, any day, or a re-run deploys a "new" image.
 */
export async function creationTime(
  request: Pick<BuildRequest, 'created'>,
  deps: Pick<BuildDeps, 'commitTime' | 'cwd'>,
): Promise<{ created: Date; from: string }> {
  if (request.created) return { created: request.created, from: 'SOURCE_DATE_EPOCH' };
  const cwd = deps.cwd ?? process.cwd();
  const commit = await (deps.commitTime ?? gitCommitTime)(cwd);
  if (commit) return { created: commit, from: `the commit time of git HEAD in ${cwd}` };
  return { created: new Date(0), from: `the Unix epoch (no SOURCE_DATE_EPOCH, and no commit in ${cwd})` };
}

/** `tags: none`: push by digest only, with no tag. */
export const NO_TAGS = 'none';

/**
 * The tags a build adds to what it pushes: the commit SHA first (GITHUB_SHA as `revision`, else the HEAD of the
 * working directory), then `tags`; `tags: none` for none. With the line that says which and why.
 */
export async function tagsToPush(
  request: Pick<BuildRequest, 'tags' | 'revision'>,
  deps: Pick<BuildDeps, 'commitSha' | 'cwd'> = {},
): Promise<{ tags: string[]; note: string }> {
  const asked = [...new Set(request.tags)];
  if (asked.length === 1 && asked[0] === NO_TAGS) {
    return { tags: [], note: 'not tagging the image (tags: none): it is pushed by digest only' };
  }
  let sha: string | undefined;
  let from: string;
  if (request.revision && isValidTag(request.revision)) {
    sha = request.revision;
    from = 'GITHUB_SHA';
  } else {
    const cwd = deps.cwd ?? process.cwd();
    const head = await (deps.commitSha ?? gitHead)(cwd);
    if ('sha' in head) {
      sha = head.sha;
      from = `git HEAD of ${cwd}`;
    } else {
      from = head.why;
    }
  }
  const tags = [...new Set([...(sha ? [sha] : []), ...asked])];
  const others = asked.filter((tag) => tag !== sha);
  const extra = others.length ? ` and ${others.join(', ')}` : '';
  const note = sha
    ? `tagging the image with the commit ${sha} (${from})${extra}; tags: none for no tag`
    : `no commit SHA to tag the image with (GITHUB_SHA is not set and ${from})` +
      (others.length ? `: tagging it ${others.join(', ')}` : ': it is pushed by digest only, untagged');
  return { tags, note };
}

export const DEFAULT_DOCKER_PUSH_TAG = 'model-canary-build';
/** Where a model-source is downloaded inside the docker build context, for the Dockerfile to COPY. */
export const DEFAULT_DOCKER_MODEL_DIR = 'model';

/** Every problem with the request at once, each naming the input and the bad value. */
export function validateBuildRequest(request: BuildRequest): string[] {
  const problems: string[] = [];
  if (!request.registry) problems.push('registry is required for build (e.g. myacr.azurecr.io)');
  if (!isValidRepository(request.repository ?? '')) {
    problems.push(`repository '${request.repository ?? ''}' is not valid (lowercase letters, digits, . _ - and /)`);
  }
  for (const tag of request.tags)
    if (!isValidTag(tag)) problems.push(`tag '${tag}' is not valid (letters, digits, . _ -, up to 128)`);
  if (request.tags.includes(NO_TAGS) && new Set(request.tags).size > 1) {
    problems.push(`tags 'none' means no tag at all: drop it or the other tags (got ${request.tags.join(', ')})`);
  }
  if (request.builder === 'oci') {
    if (!request.modelPath) problems.push('builder oci needs model-path (the directory of model files)');
    if (!request.baseImage) problems.push('builder oci needs base-image (the serving image the model goes on)');
  } else if (request.builder !== 'docker') {
    problems.push(`builder '${String(request.builder)}' is not one of docker, oci`);
  }
  return problems;
}

export async function buildAndPush(
  request: BuildRequest,
  deps: BuildDeps,
): Promise<BuiltImage & { model?: ModelContent }> {
  const problems = validateBuildRequest(request);
  if (problems.length > 0) throw new Error(`build: ${problems.join('; ')}`);
  const { logger } = deps;
  const target = `${request.registry}/${request.repository}`;
  const { tags, note } = await tagsToPush(request, deps);

  if (request.dryRun) {
    const from =
      request.builder === 'oci'
        ? `model ${request.modelPath} on ${request.baseImage}`
        : `${request.dockerfile ?? 'Dockerfile'} in ${request.context ?? '.'}`;
    logger.info(`dry run: would build ${from} with builder ${request.builder} and push to ${target}`);
    logger.info(`dry run: ${note}`);
    if (tags.length) logger.info(`dry run: would tag ${target} with ${tags.join(', ')}`);
    return { image: `${target}:${tags[0] ?? 'latest'}`, digest: '', tags, bytesUploaded: 0 };
  }

  const { created, from } = await creationTime(request, deps);
  logger.info(`image created time ${created.toISOString()}, from ${from}: the same model gives the same digest`);
  const started = deps.clock.now().getTime();
  let digest: string;
  let bytesUploaded = 0;
  let model: ModelContent | undefined;
  if (request.builder === 'oci') {
    logger.info(`building ${target} from model ${request.modelPath} on ${request.baseImage}`);
    const result = await deps.backends.buildOci({ ...request, created }, progressLogger(deps));
    digest = result.digest;
    bytesUploaded = result.bytesUploaded;
    model = result.model;
  } else {
    const pushTag = tags[0] ?? DEFAULT_DOCKER_PUSH_TAG;
    logger.info(`building ${target}:${pushTag} with docker from ${request.context ?? '.'}`);
    digest = (await deps.backends.buildDocker({ ...request, created }, pushTag)).digest;
  }
  const image = imageByDigest(request.registry, request.repository, digest);
  const seconds = ((deps.clock.now().getTime() - started) / 1000).toFixed(1);
  logger.info(`pushed ${image} (${formatBytes(bytesUploaded)} uploaded in ${seconds} s)`);
  logger.info(note);
  if (tags.length) {
    await deps.backends.tag(request.repository, digest, tags);
    logger.info(`tagged ${target}@${digest.slice(0, 19)} as ${tags.join(', ')}`);
  }
  return { image, digest, tags, bytesUploaded, ...(model ? { model } : {}) };
}

/** A line per layer when it starts moving, every few seconds while it does, and when it is done. */
export function progressLogger(deps: Pick<BuildDeps, 'logger' | 'clock' | 'progressIntervalMs'>): PushProgress {
  const interval = deps.progressIntervalMs ?? 5000;
  const lastLine = new Map<string, number>();
  return (what, sent, total, finished = 'pushed') => {
    const now = deps.clock.now().getTime();
    const last = lastLine.get(what);
    const done = sent >= total;
    if (last !== undefined && !done && now - last < interval) return;
    if (last === Infinity) return;
    lastLine.set(what, done ? Infinity : now);
    const percent = total > 0 ? Math.floor((sent / total) * 100) : 100;
    deps.logger.info(
      `${what}: ${formatBytes(sent)} / ${formatBytes(total)} (${percent}%)${done ? ` ${finished}` : ''}`,
    );
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
