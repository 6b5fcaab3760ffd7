// Every file under an MLflow artifact URI, each with a URL the downloader can GET. Three ways in, as the MLflow client
// itself goes (mlflow/store/artifact/*_repo.py):
//  - `mlflow-artifacts:` (a server run with --serve-artifacts): GET /api/2.0/mlflow-artifacts/artifacts?path=<dir>
//    lists one directory (basenames, `is_dir`, `file_size`; not paginated); the bytes are at
//    /api/2.0/mlflow-artifacts/artifacts/<path>. An `http(s)://…/api/2.0/mlflow-artifacts/artifacts/…` URI is the
//    same API on another server.
//  - `runs:/<run_id>/<path>`: GET /api/2.0/mlflow/artifacts/list?run_id=&path=&page_token= (paths relative to the
//    run's root, paginated with next_page_token); the bytes through the run's `root_uri` when it is proxied or
//    http(s), else through the tracking server's /get-artifact?path=&run_uuid= (what the MLflow UI downloads with).
//  - `models:/m-<id>` (an MLflow 3 logged model): GET /api/2.0/mlflow/logged-models/<id> for its artifact_uri.
// Storage the tracking server does not serve (s3://, gs://, wasbs://, dbfs:/, file:/ …) is refused with what to do.
import type { RemoteFile } from '../../core/model-source.js';
import { displayUri, ModelSourceError, safeRelativePath } from '../../core/model-source.js';
import type { MlflowClient } from './mlflow-client.js';

const PROXY_API = '/api/2.0/mlflow-artifacts/artifacts';
/** A listing bigger than this is not a model: stop rather than walk a whole bucket. */
const MAX_FILES = 100000;
const MAX_DEPTH = 64;

interface FileInfo {
  path?: string;
  is_dir?: boolean;
  /** int64: JSON may carry it as a string. */
  file_size?: number | string;
}

interface Found {
  /** Path below the artifact URI, `/`-separated. */
  relative: string;
  url: string;
  size?: number;
}

/** Lists every file under `artifactUri`; `path`s are relative to it and safe to join under the model directory. */
export async function listArtifactFiles(client: MlflowClient, artifactUri: string): Promise<RemoteFile[]> {
  const found = await listUri(client, artifactUri, 0);
  return found.map((file) => {
    const remote: RemoteFile = { path: safeRelativePath(file.relative, client.source), url: file.url };
    if (file.size !== undefined) remote.size = file.size;
    // Credentials go to the tracking server only, never to another host a URI points at.
    if (new URL(file.url).origin === client.origin && Object.keys(client.authHeaders).length > 0) {
      remote.headers = { ...client.authHeaders };
    }
    return remote;
  });
}

async function listUri(client: MlflowClient, uri: string, hops: number): Promise<Found[]> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase() ?? '';
  if (scheme === 'mlflow-artifacts') {
    const { api, root } = proxied(client, uri);
    return listProxied(client, api, root);
  }
  if (scheme === 'http' || scheme === 'https') {
    const at = uri.indexOf(PROXY_API);
    if (at >= 0) {
      const root = trimSlashes(decodeURIComponent(uri.slice(at + PROXY_API.length).split('?')[0]!));
      return listProxied(client, uri.slice(0, at + PROXY_API.length), root);
    }
    // One file at a plain URL (served by something other than MLflow): fetched as is.
    const name = new URL(uri).pathname.split('/').filter(Boolean).pop();
    if (!name) throw new ModelSourceError(`${client.source}: artifact URI ${displayUri(uri)} names no file`);
    return [{ relative: decodeURIComponent(name), url: uri }];
  }
  if (scheme === 'runs') {
    const match = /^runs:\/([^/]+)\/?(.*)$/.exec(uri);
    if (!match) throw new ModelSourceError(`${client.source}: artifact URI ${uri} is not runs:/<run_id>/<path>`);
    return listRun(client, match[1]!, trimSlashes(match[2]!));
  }
  if (scheme === 'models' && hops === 0) {
    const id = /^models:\/(m-[^/]+)\/?$/.exec(uri)?.[1];
    if (id) {
      const body = await client.get<{ model?: { info?: { artifact_uri?: string } } }>(
        `/api/2.0/mlflow/logged-models/${encodeURIComponent(id)}`,
      );
      const artifactUri = body.model?.info?.artifact_uri;
      if (!artifactUri) throw new ModelSourceError(`${client.source}: logged model ${id} has no artifact_uri`);
      return listUri(client, artifactUri, hops + 1);
    }
  }
  throw unreadable(client, uri, scheme);
}

function unreadable(client: MlflowClient, uri: string, scheme: string): ModelSourceError {
  return new ModelSourceError(
    `${client.source}: the model's artifacts are in ${scheme || 'unknown'} storage (${uri.split('?')[0]}), which ` +
      `model-canary cannot read through MLflow at ${client.display}: run the tracking server with ` +
      '--serve-artifacts (artifacts then live at mlflow-artifacts:/ URIs), or use an https:// model-source',
  );
}

/** Walks a proxied artifact tree; entries are basenames of the directory listed. */
async function listProxied(client: MlflowClient, api: string, root: string): Promise<Found[]> {
  const found: Found[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const listed = joinPath(root, dir);
    const body = await client.get<{ files?: FileInfo[] }>(pathOf(client, api), { path: listed });
    for (const info of body.files ?? []) {
      const name = info.path ?? '';
      if (name.includes('/') || name === '' || name === '.' || name === '..') {
        throw new ModelSourceError(`${client.source}: MLflow listed '${name}' in ${listed || '/'}, not a file name`);
      }
      const relative = joinPath(dir, name);
      if (info.is_dir) {
        guardDepth(client, depth);
        await walk(relative, depth + 1);
      } else {
        found.push({ relative, url: `${api}/${encodePath(joinPath(root, relative))}`, size: sizeOf(info) });
        guardCount(client, found.length);
      }
    }
  };
  await walk('', 0);
  if (found.length === 0) {
    // A file, not a directory: the listing of a file is empty.
    throw new ModelSourceError(
      `${client.source}: MLflow at ${client.display} lists no artifact files under ${root || '/'}`,
    );
  }
  return found;
}

interface RunListing {
  root_uri?: string;
  files?: FileInfo[];
  next_page_token?: string;
}

async function listRun(client: MlflowClient, runId: string, root: string): Promise<Found[]> {
  const files: Array<{ path: string; size?: number }> = [];
  let rootUri = '';
  const walk = async (dir: string, depth: number): Promise<void> => {
    const seen = new Set<string>();
    let pageToken: string | undefined;
    do {
      const page = await client.get<RunListing>('/api/2.0/mlflow/artifacts/list', {
        run_id: runId,
        path: dir || undefined,
        page_token: pageToken,
      });
      rootUri ||= page.root_uri ?? '';
      for (const info of page.files ?? []) {
        const path = trimSlashes(info.path ?? '');
        if (path === '' || path === dir) continue;
        // Checked before recursing: a listing must not walk us out of the model's directory.
        if (safeRelativePath(path, client.source) !== path || (root && !path.startsWith(`${root}/`))) {
          throw new ModelSourceError(
            `${client.source}: MLflow listed '${path}' for run ${runId}, outside ${root || '/'}`,
          );
        }
        if (info.is_dir) {
          guardDepth(client, depth);
          await walk(path, depth + 1);
        } else {
          files.push({ path, size: sizeOf(info) });
          guardCount(client, files.length);
        }
      }
      pageToken = page.next_page_token || undefined;
      if (pageToken && seen.has(pageToken)) {
        throw new ModelSourceError(`${client.source}: MLflow repeated page token of run ${runId}'s artifact list`);
      }
      if (pageToken) seen.add(pageToken);
    } while (pageToken);
  };
  await walk(root, 0);
  if (files.length === 0) {
    throw new ModelSourceError(`${client.source}: run ${runId} has no artifact files under ${root || '/'}`);
  }
  const download = runDownload(client, runId, rootUri);
  return files.map((file) => ({
    relative: root ? file.path.slice(root.length + 1) : file.path,
    url: download(file.path),
    size: file.size,
  }));
}

/** Where a run artifact's bytes come from, by the run's root URI. */
function runDownload(client: MlflowClient, runId: string, rootUri: string): (path: string) => string {
  if (rootUri.startsWith('mlflow-artifacts:')) {
    const { api, root } = proxied(client, rootUri);
    return (path) => `${api}/${encodePath(joinPath(root, path))}`;
  }
  if (/^https?:\/\//i.test(rootUri)) return (path) => `${rootUri.replace(/\/+$/, '')}/${encodePath(path)}`;
  // Databricks lists runs but serves their dbfs:/ bytes through DBFS or signed URLs, not /get-artifact.
  if (rootUri.startsWith('dbfs:')) throw unreadable(client, rootUri, 'dbfs');
  return (path) => `${client.url('/get-artifact')}?${new URLSearchParams({ path, run_uuid: runId }).toString()}`;
}

/**
 * `mlflow-artifacts:/<path>` is served by the tracking server, `mlflow-artifacts://<host>/<path>` by that host with the
 * tracking URI's scheme (MlflowArtifactsRepository.resolve_uri).
 */
function proxied(client: MlflowClient, uri: string): { api: string; root: string } {
  const parsed = new URL(uri);
  const server = parsed.host ? `${new URL(client.base).protocol}//${parsed.host}` : client.base;
  return { api: `${server}${PROXY_API}`, root: trimSlashes(decodeURIComponent(parsed.pathname)) };
}

/** The API path of an absolute URL on the tracking server, for client.get (which prefixes the base). */
function pathOf(client: MlflowClient, api: string): string {
  if (api.startsWith(client.base)) return api.slice(client.base.length);
  throw new ModelSourceError(
    `${client.source}: artifacts are served by ${new URL(api).origin}, not by MLflow at ${client.display}: ` +
      'point mlflow-tracking-uri at the server that serves them',
  );
}

function sizeOf(info: FileInfo): number | undefined {
  const size = Number(info.file_size);
  return info.file_size === undefined || !Number.isFinite(size) || size < 0 ? undefined : size;
}

function guardDepth(client: MlflowClient, depth: number): void {
  if (depth >= MAX_DEPTH)
    throw new ModelSourceError(`${client.source}: artifact directories nest deeper than ${MAX_DEPTH}`);
}

function guardCount(client: MlflowClient, count: number): void {
  if (count > MAX_FILES) throw new ModelSourceError(`${client.source}: more than ${MAX_FILES} artifact files`);
}

const trimSlashes = (path: string): string => path.replace(/^\/+|\/+$/g, '');
const joinPath = (a: string, b: string): string => (a && b ? `${a}/${b}` : a || b);
const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');
