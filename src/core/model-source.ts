// Where a model comes from: the `model-source` reference parsed into one of five kinds, the files a resolver finds
// for it, and the provenance recorded once they are on disk. Pure: resolvers and the downloader live in
// adapters/model-sources.
import { createHash } from 'node:crypto';
import { clearTextHost, redactUrls } from './url-credentials.js';

export const MODEL_SOURCE_KINDS = ['azureml-registry', 'azureml-workspace', 'mlflow', 'https', 'oci'] as const;
export type ModelSourceKind = (typeof MODEL_SOURCE_KINDS)[number];

export type ModelSourceRef =
  /** `azureml://registries/<registry>/models/<name>/versions/<version>` */
  | { kind: 'azureml-registry'; uri: string; registry: string; name: string; version: string }
  /** `azureml:<name>:<version>`, in the workspace of `azureml-workspace` / `-resource-group` / `-subscription` */
  | { kind: 'azureml-workspace'; uri: string; name: string; version: string }
  /** `models:/<name>/<version>` or `models:/<name>@<alias>` on `mlflow-tracking-uri` */
  | { kind: 'mlflow'; uri: string; name: string; version?: string; alias?: string }
  /** One file (an archive is unpacked) at an `https://` URL, e.g. an Azure Blob SAS URL. */
  | { kind: 'https'; uri: string; url: string }
  /** An OCI artifact, `oci://<registry>/<repository>[:tag|@digest]`: each layer is a file (or an archive). */
  | { kind: 'oci'; uri: string; reference: string };

export type HashAlgorithm = 'sha256' | 'md5';

export interface ExpectedHash {
  algorithm: HashAlgorithm;
  /** Lowercase hex. */
  hex: string;
}

/** One file a resolver found: where it goes in the model directory and where its bytes are. */
export interface RemoteFile {
  /** Path inside the model directory, `/`-separated, no `..`. */
  path: string;
  url: string;
  /** Sent with every request for this file (auth); values are secrets. */
  headers?: Record<string, string>;
  size?: number;
  hash?: ExpectedHash;
  /** A `.tar`, `.tar.gz` or `.tgz` to unpack into the model directory instead of keeping as is. */
  unpack?: boolean;
  /**
   * Opens the bytes from `start` when plain GET on `url` will not do (an OCI blob behind the registry's token
   * dance); the downloader then uses this instead of `url`, which stays for messages.
   */
  open?: (start: number) => Promise<NodeJS.ReadableStream>;
}

/** What a resolver returns: the registered name and version and every file of that version. */
export interface ResolvedModel {
  source: ModelSourceRef;
  name: string;
  version: string;
  files: RemoteFile[];
}

/** Which registered model went out: image labels, history, report `modelSource`, PR comment, `status`. */
export interface ModelProvenance {
  kind: ModelSourceKind | 'path';
  /** The reference as the user gave it (an https URL without its query, which may hold a SAS token). */
  uri: string;
  name: string;
  version: string;
  /** sha256 of the model directory's content (`sha256sum`-style list of its files), or of its one file. */
  sha256: string;
  files: number;
  bytes: number;
}

export class ModelSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    // Its text reaches logs, the report and the PR comment, and may quote URLs a server or a user wrote.
    super(redactUrls(message), options);
    this.name = 'ModelSourceError';
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Parses `model-source`; the error names the forms it accepts. */
export function parseModelSource(reference: string): ModelSourceRef {
  const uri = reference.trim();
  const fail = (why: string): never => {
    throw new ModelSourceError(
      `model-source '${displayUri(uri)}' ${why}: use azureml://registries/<registry>/models/<name>/versions/<version>, ` +
        'azureml:<name>:<version>, models:/<name>/<version>, models:/<name>@<alias>, https://... or oci://<registry>/<repository>:<tag>',
    );
  };
  let match = /^azureml:\/\/registries\/([^/]+)\/models\/([^/]+)\/versions\/([^/]+)\/?$/.exec(uri);
  if (match) {
    const [, registry, name, version] = match as unknown as [string, string, string, string];
    if (![registry, name, version].every((part) => NAME.test(part)))
      fail('has a part with characters Azure ML refuses');
    return { kind: 'azureml-registry', uri, registry, name, version };
  }
  if (uri.startsWith('azureml://')) fail('is not an Azure ML registry model path');
  match = /^azureml:([^:/]+):([^:/]+)$/.exec(uri);
  if (match) {
    const [, name, version] = match as unknown as [string, string, string];
    if (!NAME.test(name) || !NAME.test(version)) fail('has a name or version with characters Azure ML refuses');
    return { kind: 'azureml-workspace', uri, name, version };
  }
  if (uri.startsWith('azureml:')) fail('needs a name and a version (azureml:<name>:<version>)');
  match = /^models:\/([^/@]+)(?:\/([^/@]+)|@([^/@]+))$/.exec(uri);
  if (match) {
    const [, name, version, alias] = match as unknown as [string, string, string | undefined, string | undefined];
    if (version !== undefined && !/^[0-9]+$/.test(version)) fail('has a version that is not a number');
    return version !== undefined
      ? { kind: 'mlflow', uri, name, version }
      : { kind: 'mlflow', uri, name, alias: alias! };
  }
  if (uri.startsWith('models:')) fail('needs a version or an alias');
  if (/^https?:\/\//i.test(uri)) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return fail('is not a valid URL');
    }
    if (clearTextHost(url.href)) fail('uses plain http (allowed only for localhost, 127.0.0.1 and ::1)');
    return { kind: 'https', uri, url: uri };
  }
  match = /^oci:\/\/([^/]+\/.+)$/.exec(uri);
  if (match) return { kind: 'oci', uri, reference: match[1]! };
  return fail('is not a model reference model-canary knows');
}

/** A URL fit for logs and reports: the query (SAS tokens) and any user:password dropped. */
export function displayUri(uri: string): string {
  if (!/^https?:\/\//i.test(uri)) return uri;
  try {
    const url = new URL(uri);
    const hidden = url.search ? '?…' : '';
    return `${url.protocol}//${url.host}${url.pathname}${hidden}`;
  } catch {
    return redactUrls(uri).replace(/\?.*$/, '?…');
  }
}

/** A path from a remote listing, made safe to join under the model directory, or an error naming it. */
export function safeRelativePath(path: string, source: string): string {
  const parts = path
    .replace(/\\/g, '/')
    .split('/')
    .filter((part) => part !== '' && part !== '.');
  if (parts.length === 0 || parts.some((part) => part === '..')) {
    throw new ModelSourceError(`${source}: file path '${path}' leaves the model directory`);
  }
  return parts.join('/');
}

/**
 * The model's content hash: the one file's sha256, or the sha256 of the `sha256sum`-style list of all files sorted
 * by path. The same bytes give the same hash whichever registry they came from.
 */
export function modelContentSha256(files: Array<{ path: string; sha256: string }>): string {
  if (files.length === 1) return files[0]!.sha256;
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const list = sorted.map((file) => `${file.sha256}  ${file.path}\n`).join('');
  return createHash('sha256').update(list).digest('hex');
}

/**
 * Which source writes each path of the model directory. Two sources writing one path is an error naming both: else
 * the last writer wins a race and the sha256 recorded for the loser describes bytes that are not in the image.
 */
export class PathClaims {
  private readonly owners = new Map<string, string>();

  /** `label` names the model source in errors. */
  constructor(private readonly label: string) {}

  /** Records that `owner` (e.g. `archive 'a.tar.gz'`) writes `path`; the same owner may claim a path again. */
  claim(path: string, owner: string): void {
    const first = this.owners.get(path);
    if (first !== undefined && first !== owner) {
      throw new ModelSourceError(
        `${this.label}: '${path}' would be written by both ${first} and ${owner}; refusing to let one overwrite ` +
          'the other (rename or remove one of them at the source)',
      );
    }
    this.owners.set(path, owner);
  }
}

/** A file as it landed in the model directory (an unpacked archive gives one per member). */
export interface DownloadedFile {
  path: string;
  size: number;
  sha256: string;
}
