// Image references as Docker reads them: `[registry/]repository[:tag][@digest]`, with docker.io defaults.
import { isLoopbackHost } from './url-credentials.js';

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

export interface ImageRef {
  /** Registry host with optional port, e.g. `myacr.azurecr.io` or `127.0.0.1:5000`. */
  registry: string;
  /** Repository path inside the registry, e.g. `models/churn` (`library/x` on Docker Hub). */
  repository: string;
  tag?: string;
  digest?: string;
}

const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;
const TAG_PATTERN = /^[\w][\w.-]{0,127}$/;
const REPOSITORY_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

export function isDigest(value: string): boolean {
  return DIGEST_PATTERN.test(value);
}

/** Throws with the bad value when `value` is not `sha256:` and 64 lowercase hex digits. */
export function assertDigest(value: string, what = 'digest'): string {
  if (!isDigest(value))
    throw new Error(`${what} '${value}' is not a sha256 digest (expected sha256: and 64 hex digits)`);
  return value;
}

export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

export function isValidRepository(repository: string): boolean {
  return repository.length > 0 && repository.split('/').every((part) => REPOSITORY_COMPONENT.test(part));
}

/** The first path component is a registry when it has a dot or a port, or is `localhost` (Docker's rule). */
function looksLikeRegistry(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

export function parseImageRef(reference: string): ImageRef {
  const input = reference.trim();
  const fail = (why: string): never => {
    throw new Error(
      `image reference '${reference}' is invalid: ${why} (expected registry/repository:tag or @sha256:...)`,
    );
  };
  if (input === '') fail('it is empty');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) fail(`'${digest}' is not a sha256 digest`);
  }

  const slash = rest.indexOf('/');
  let registry = DOCKER_HUB;
  if (slash >= 0 && looksLikeRegistry(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API_HOST) registry = DOCKER_HUB;

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) fail(`tag '${tag}' is not valid`);
  }
  let repository = rest;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (!isValidRepository(repository))
    fail(`repository '${rest}' is not valid (lowercase letters, digits, . _ - and /)`);

  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `registry/repository@digest` when a digest is known (what is deployed), else `registry/repository:tag`. */
export function formatImageRef(ref: ImageRef): string {
  const name = `${ref.registry}/${ref.repository}`;
  if (ref.digest) return `${name}@${ref.digest}`;
  return `${name}:${ref.tag ?? 'latest'}`;
}

export function imageByDigest(registry: string, repository: string, digest: string): string {
  return formatImageRef({ registry, repository, digest: assertDigest(digest) });
}

/** The tag or digest to ask the registry's manifest endpoint for. */
export function manifestReference(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** Host to talk HTTP to: Docker Hub's API host differs from its name. */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

/** Plain HTTP only for loopback registries (as Docker does); everything else is HTTPS. */
export function isPlainHttpRegistry(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
  return isLoopbackHost(name);
}

export function registryBaseUrl(registry: string): string {
  const host = registryApiHost(registry);
  return `${isPlainHttpRegistry(host) ? 'http' : 'https'}://${host}`;
}
