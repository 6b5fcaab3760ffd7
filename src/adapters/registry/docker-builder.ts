// The `docker` builder: `docker buildx build` (or `docker build` where buildx is absent) from the user's
// Dockerfile, pushed, and the pushed manifest digest read back: what gets deployed is that digest.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { imageByDigest, isDigest } from '../../core/image-ref.js';
import { imageLabels, type ImageProvenance } from '../../core/image-labels.js';
import type { BuiltImage, ImageBuilder } from '../../core/ports.js';
import type { Exec } from './exec.js';

export interface DockerBuildRequest extends ImageProvenance {
  registry: string;
  repository: string;
  /** The tag the build is pushed under (more tags are added after, by digest). */
  pushTag: string;
  context: string;
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  platforms?: string[];
  labels?: Record<string, string>;
  /** The image's creation time: BuildKit sets `created` and the history from the SOURCE_DATE_EPOCH build arg. */
  created?: Date;
  /** Where --metadata-file / --iidfile go. */
  workDir: string;
}

/** `bytesUploaded` is 0: docker pushes by itself and does not say how much it sent. */
export interface DockerBuildResult extends BuiltImage {
  builder: 'buildx' | 'docker';
}

export interface DockerBuilderDeps {
  exec: Exec;
  /** Resolves the pushed tag to its digest in the registry (the check that the push landed). */
  resolveDigest(repositoryTag: string): Promise<string>;
}

/** The build command line, a pure function of the request (as docker/build-push-action's getArgs). */
export function dockerBuildArgs(request: DockerBuildRequest, buildx: boolean): string[] {
  const tag = `${request.registry}/${request.repository}:${request.pushTag}`;
  const args = buildx ? ['buildx', 'build'] : ['build'];
  if (request.dockerfile) args.push('--file', request.dockerfile);
  for (const [key, value] of Object.entries(request.buildArgs ?? {})) args.push('--build-arg', `${key}=${value}`);
  // BuildKit only (the legacy builder ignores it and warns); a SOURCE_DATE_EPOCH of the user's own wins.
  if (buildx && request.created && request.buildArgs?.SOURCE_DATE_EPOCH === undefined) {
    args.push('--build-arg', `SOURCE_DATE_EPOCH=${Math.floor(request.created.getTime() / 1000)}`);
  }
  if (request.target) args.push('--target', request.target);
  if (request.platforms?.length) args.push('--platform', request.platforms.join(','));
  for (const [key, value] of Object.entries(imageLabels(request, request.labels)))
    args.push('--label', `${key}=${value}`);
  args.push('--tag', tag);
  if (buildx) args.push('--metadata-file', join(request.workDir, 'metadata.json'), '--push');
  else args.push('--iidfile', join(request.workDir, 'iid'));
  args.push(request.context);
  return args;
}

/** `docker push` prints `<tag>: digest: sha256:... size: N` when it is done. */
export function digestFromPushOutput(output: string): string | undefined {
  return /digest: (sha256:[a-f0-9]{64})/.exec(output)?.[1];
}

export class DockerBuilder implements ImageBuilder<DockerBuildRequest> {
  constructor(private readonly deps: DockerBuilderDeps) {}

  async build(request: DockerBuildRequest): Promise<DockerBuildResult> {
    const buildx = (await this.deps.exec('docker', ['buildx', 'version'])).exitCode === 0;
    if (!buildx && (request.platforms?.length ?? 0) > 1) {
      throw new Error(
        `builder docker: platforms ${request.platforms!.join(',')} need docker buildx, which is not installed here ` +
          '(add docker/setup-buildx-action before this step, or use builder oci)',
      );
    }
    await this.run(
      dockerBuildArgs(request, buildx),
      `docker ${buildx ? 'buildx build' : 'build'} of ${request.context}`,
    );
    const tag = `${request.registry}/${request.repository}:${request.pushTag}`;
    let digest: string | undefined;
    if (buildx) {
      const metadata = JSON.parse(await readFile(join(request.workDir, 'metadata.json'), 'utf8')) as Record<
        string,
        string
      >;
      digest = metadata['containerimage.digest'];
    } else {
      digest = digestFromPushOutput(await this.run(['push', tag], `docker push ${tag}`));
    }
    const served = await this.deps.resolveDigest(`${request.repository}:${request.pushTag}`);
    if (!digest || !isDigest(digest)) digest = served;
    if (served !== digest) {
      throw new Error(`docker pushed ${tag} as ${digest}, but registry ${request.registry} serves ${served} for it`);
    }
    return {
      digest,
      image: imageByDigest(request.registry, request.repository, digest),
      tags: [request.pushTag],
      bytesUploaded: 0,
      builder: buildx ? 'buildx' : 'docker',
    };
  }

  private async run(args: string[], what: string): Promise<string> {
    const result = await this.deps.exec('docker', args);
    if (result.exitCode !== 0) {
      const tail = `${result.stderr}\n${result.stdout}`.trim().split('\n').slice(-8).join('\n');
      throw new Error(`${what} failed (exit code ${result.exitCode}):\n${tail}`);
    }
    return result.stdout;
  }
}
