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

/** A host name or IPv4 address, its labels letters, digits and `-` (the reference grammar's domain). */
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;
const IPV6 = /^\[[0-9a-fA-F:.]+\]$/;
/** The reference grammar's limit on `registry/repository`. */
const MAX_NAME_LENGTH = 255;

/**
 * Why `registry` is not a registry host (`host[:port]`, e.g. `myacr.azurecr.io`, `localhost:5000`, `[::1]:5000`),
 * or undefined when it is one.
 */
export function registryProblem(registry: string): string | undefined {
  const form = 'a host with an optional port, e.g. myacr.azurecr.io or localhost:5000';
  if (registry === '') return `it is empty (expected ${form})`;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(registry);
  if (scheme) return `drop the ${scheme[1]}:// (expected ${form})`;
  if (registry.includes('/')) return `a registry has no path: put it in repository (expected ${form})`;
  const port = /^(.*?)(?::(\d+))?$/.exec(registry) as RegExpExecArray;
  const host = port[1] ?? '';
  if (port[2] !== undefined && (Number(port[2]) < 1 || Number(port[2]) > 65535)) {
    return `port ${port[2]} is not from 1 to 65535`;
  }
  if (!DOMAIN.test(host) && !IPV6.test(host)) return `'${host}' is not a host name (expected ${form})`;
  return undefined;
}

/** Why `repository` is not a repository path (lowercase components, e.g. `models/churn`), or undefined. */
export function repositoryProblem(repository: string): string | undefined {
  const form = 'lowercase letters and digits, separated by . _ __ - and /, e.g. models/churn';
  if (repository === '') return `it is empty (expected ${form})`;
  const bad = repository.split('/').find((part) => !REPOSITORY_COMPONENT.test(part));
  if (bad === undefined) return undefined;
  if (bad === '') return `it has an empty path component (expected ${form})`;
  if (bad !== bad.toLowerCase() && REPOSITORY_COMPONENT.test(bad.toLowerCase())) {
    return `'${bad}' has uppercase letters: repositories are lowercase (use '${repository.toLowerCase()}')`;
  }
  if (bad === repository) return `not a valid repository name (expected ${form})`;
  return `'${bad}' is not a valid path component (expected ${form})`;
}

/** Why `tag` is not a tag (letters, digits, `_ . -`, not starting with `.` or `-`, up to 128), or undefined. */
export function tagProblem(tag: string): string | undefined {
  if (isValidTag(tag)) return undefined;
  if (tag === '') return 'it is empty';
  if (tag.length > 128) return `it is ${tag.length} characters long (at most 128)`;
  return 'a tag is letters, digits, _ . and -, not starting with . or -, up to 128 characters';
}

/** Why `digest` is not a digest this tool can deploy by (`sha256:` and 64 lowercase hex digits), or undefined. */
export function digestProblem(digest: string): string | undefined {
  if (isDigest(digest)) return undefined;
  const colon = digest.indexOf(':');
  if (colon < 0) return `'${digest}' is not a sha256 digest: expected sha256: and 64 hex digits`;
  const [algorithm, hex] = [digest.slice(0, colon), digest.slice(colon + 1)];
  if (algorithm !== 'sha256') {
    return `'${digest}' is not a sha256 digest: algorithm '${algorithm}' is not supported (expected sha256: and 64 hex digits)`;
  }
  if (!/^[a-f0-9]*$/.test(hex)) {
    return `'${digest}' is not a sha256 digest: the part after sha256: must be lowercase hex digits (0-9, a-f)`;
  }
  return `'${digest}' is not a sha256 digest: sha256 takes 64 hex digits, got ${hex.length}`;
}

/** The first path component is a registry when it has a dot or a port, or is `localhost` (Docker's rule). */
function looksLikeRegistry(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

export function parseImageRef(reference: string): ImageRef {
  const input = reference.trim();
  const fail = (why: string): never => {
    const form = why.includes('(expected')
      ? ''
      : ' (expected registry/repository:tag or registry/repository@sha256:...)';
    throw new Error(`image reference '${reference}' is invalid: ${why}${form}`);
  };
  if (input === '') fail('it is empty');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem) fail(problem);
  }

  const slash = rest.indexOf('/');
  let registry = DOCKER_HUB;
  if (slash >= 0 && looksLikeRegistry(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
    const problem = registryProblem(registry);
    if (problem) fail(`registry '${registry}': ${problem}`);
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API_HOST) registry = DOCKER_HUB;

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    const problem = tagProblem(tag);
    if (problem) fail(`tag '${tag}' is not valid: ${problem}`);
  }
  let repository = rest;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (!isValidRepository(repository)) fail(`repository '${rest}': ${repositoryProblem(rest) ?? 'not valid'}`);
  if (`${registry}/${repository}`.length > MAX_NAME_LENGTH) {
    fail(`registry and repository are over ${MAX_NAME_LENGTH} characters`);
  }

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
