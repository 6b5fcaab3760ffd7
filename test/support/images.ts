// Base images for tests, made with umoci into an OCI layout and copied into the test registry with skopeo
// (no network: nothing is pulled from the internet). skopeo also reads back what the code under test pushed.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './local.js';

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${failure.stderr ?? failure.message}`, { cause: error });
  }
}

export interface BaseImageOptions {
  /** One image per platform, e.g. ['linux/amd64', 'linux/arm64']: pushed as an index when more than one. */
  platforms?: string[];
  env?: string[];
  label?: string;
  /** `user:password` for a registry with basic auth. */
  creds?: string;
}

/** Makes a small base image (a file in /srv plus env and a label) and pushes it to `destination`. */
export function pushBaseImage(dir: string, destination: string, options: BaseImageOptions = {}): void {
  run('skopeo', copyArgs(baseImageLayout(dir, options), destination, options));
}

/** pushBaseImage without blocking this process: for a registry whose token server runs in the test's process. */
export async function pushBaseImageAsync(dir: string, destination: string, options: BaseImageOptions = {}) {
  const args = copyArgs(baseImageLayout(dir, options), destination, options);
  await promisify(execFile)('skopeo', args).catch((error: { stderr?: string; message: string }) => {
    throw new Error(`skopeo ${args.join(' ')} failed: ${error.stderr ?? error.message}`, { cause: error });
  });
}

function copyArgs(source: string, destination: string, options: BaseImageOptions): string[] {
  const creds = options.creds ? ['--dest-creds', options.creds] : [];
  const all = source.endsWith(':multi') ? ['--all'] : [];
  return ['copy', '--dest-tls-verify=false', ...creds, ...all, source, `docker://${destination}`];
}

/** The base image in an OCI layout in `dir`: its `oci:` reference (an index when there are several platforms). */
function baseImageLayout(dir: string, options: BaseImageOptions): string {
  requireBinary('umoci');
  requireBinary('skopeo');
  const layout = join(dir, 'layout');
  const platforms = options.platforms ?? ['linux/amd64'];
  run('umoci', ['init', '--layout', layout]);
  platforms.forEach((platform, index) => {
    const [os, architecture] = platform.split('/') as [string, string];
    const tag = `p${index}`;
    const source = join(dir, `rootfs-${index}`);
    mkdirSync(join(source, 'srv'), { recursive: true });
    writeFileSync(join(source, 'srv', 'server.py'), `print("serving on ${platform}")\n`);
    run('umoci', ['new', '--image', `${layout}:${tag}`]);
    run('umoci', ['insert', '--image', `${layout}:${tag}`, join(source, 'srv'), '/srv']);
    const config = ['config', '--image', `${layout}:${tag}`, `--os=${os}`, `--architecture=${architecture}`];
    for (const env of options.env ?? ['SERVER=base']) config.push(`--config.env=${env}`);
    config.push(`--config.label=${options.label ?? 'base.label=yes'}`);
    run('umoci', config);
  });
  if (platforms.length === 1) return `oci:${layout}:p0`;
  // An index over the per-platform manifests, written into the layout by hand: umoci makes no indexes.
  const layoutIndex = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; size: number; annotations?: Record<string, string> }[];
  };
  const manifests = platforms.map((platform, index) => {
    const entry = layoutIndex.manifests.find(
      (item) => item.annotations?.['org.opencontainers.image.ref.name'] === `p${index}`,
    )!;
    const [os, architecture] = platform.split('/');
    return {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: entry.digest,
      size: entry.size,
      platform: { os, architecture },
    };
  });
  const index = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
  );
  const digest = createHash('sha256').update(index).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', digest), index);
  layoutIndex.manifests.push({
    mediaType: 'application/vnd.oci.image.index.v1+json',
    digest: `sha256:${digest}`,
    size: index.length,
    annotations: { 'org.opencontainers.image.ref.name': 'multi' },
  } as never);
  writeFileSync(join(layout, 'index.json'), JSON.stringify(layoutIndex));
  return `oci:${layout}:multi`;
}

export interface InspectedImage {
  Digest: string;
  Labels: Record<string, string> | null;
  Env: string[] | null;
  Layers: string[];
  Architecture: string;
  Created?: string;
}

/** What another client sees: `skopeo inspect` of a reference in the test registry. */
export function skopeoInspect(reference: string, extra: string[] = []): InspectedImage {
  return JSON.parse(
    run('skopeo', ['inspect', '--no-tags', '--tls-verify=false', ...extra, `docker://${reference}`]),
  ) as InspectedImage;
}

export function skopeoRaw(reference: string): Record<string, unknown> {
  return JSON.parse(run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reference}`])) as Record<
    string,
    unknown
  >;
}

/** Pulls an image into an OCI layout and unpacks it with umoci: the files another runtime would get. */
export function pullAndUnpack(reference: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const layout = join(dir, 'pulled');
  run('skopeo', ['copy', '--src-tls-verify=false', `docker://${reference}`, `oci:${layout}:pulled`]);
  const bundle = join(dir, 'bundle');
  run('umoci', ['unpack', '--image', `${layout}:pulled`, bundle]);
  return join(bundle, 'rootfs');
}
