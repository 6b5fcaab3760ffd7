// An MLflow tracking server at the HTTP level, on 127.0.0.1, for the MLflow model-source tests.
//
// Follows the MLflow REST API document (mlflow/mlflow docs/api_reference/source/rest-api.rst, MLflow 3.x; the same
// endpoints as 2.x) and the server's routes (mlflow/server/handlers.py, mlflow/server/auth/__init__.py), request for
// request:
//   GET /api/2.0/mlflow/model-versions/get?name=&version=            {model_version}, 404 RESOURCE_DOES_NOT_EXIST
//   GET /api/2.0/mlflow/registered-models/alias?name=&alias=         {model_version}, 400 INVALID_PARAMETER_VALUE
//                                                                    "Registered model alias <a> not found." (SQL store)
//   GET /api/2.0/mlflow/model-versions/get-download-uri?name=&version= {artifact_uri}
//   GET /api/2.0/mlflow/artifacts/list?run_id=&path=&page_token=      {root_uri, files, next_page_token}
//   GET /api/2.0/mlflow/logged-models/<model_id>                      {model: {info: {model_id, artifact_uri}}}
//   GET /api/2.0/mlflow-artifacts/artifacts?path=<dir>                {files: [{path: <basename>, is_dir, file_size}]}
//   GET /api/2.0/mlflow-artifacts/artifacts/<path>                    the bytes (as `mlflow server --serve-artifacts`)
//   GET /get-artifact?path=&run_uuid=                                 the bytes of a run artifact (the UI's download)
// Errors are `{"error_code": ..., "message": ...}` with MLflow's status for the code. Auth as the two ways MLflow
// servers check it: Basic as `mlflow server --app-name basic-auth` (401 with `WWW-Authenticate: Basic realm="mlflow"`
// and its text body), Bearer as Databricks does (401 with `{"error_code": "UNAUTHENTICATED"}`).
//
// Simplifies: one experiment (`1`); artifacts kept in memory; model versions are seeded, not created through the API;
// `artifacts/list` pages at `pageSize` entries (MLflow OSS answers in one page; Databricks pages, so clients must
// follow next_page_token); downloads honour one `Range: bytes=a-b` (what Flask's send_file does) and can be made to
// drop the connection or flip a byte once, for resume and hash tests.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { freePort, LOOPBACK } from './local.js';

export type FakeAuth = { kind: 'bearer'; token: string } | { kind: 'basic'; username: string; password: string };

export type VersionStatus = 'READY' | 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION';

export interface ModelVersionSeed {
  name: string;
  version: number;
  aliases?: string[];
  status?: VersionStatus;
  statusMessage?: string;
  /** Model directory content: path -> bytes. */
  files: Record<string, Buffer>;
  /**
   * How the version was registered: from a run's artifacts as an `mlflow-artifacts:` source, as `runs:/<run>/model`,
   * or (MLflow 3) from a logged model `models:/m-<id>`.
   */
  source: 'mlflow-artifacts' | 'runs' | 'logged-model';
  /** Overrides what get-download-uri answers (e.g. `s3://bucket/models/churn` for a server without --serve-artifacts). */
  downloadUri?: string;
  /** Where the run's artifacts live when `source` is `runs` (default its mlflow-artifacts: location). */
  runRootUri?: string;
}

export interface SeededVersion {
  source: string;
  downloadUri: string;
  runId: string;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  range?: string;
}

export interface DownloadFaults {
  /** Answer the next this many requests (any route) with 503, as a busy server or proxy would. */
  unavailable?: number;
  /** Cut the next download's connection after this many body bytes. */
  dropAfterBytes?: number;
  /** Serve the next download with the byte at this file offset flipped. */
  flipByteAt?: number;
}

export interface FakeMlflow {
  url: string;
  requests: FakeRequest[];
  faults: DownloadFaults;
  addModelVersion(seed: ModelVersionSeed): SeededVersion;
  /** Points an alias at a version (as POST registered-models/alias would). */
  setAlias(name: string, alias: string, version: number): void;
  stop(): Promise<void>;
}

export interface FakeMlflowOptions {
  auth?: FakeAuth;
  /** Entries per `artifacts/list` page (default 2, so every test pages). */
  pageSize?: number;
  /** Served under this path, as behind an ingress (`https://host/mlflow`); `url` includes it. */
  prefix?: string;
  /** false: as `mlflow server --no-serve-artifacts`, the mlflow-artifacts routes answer 503. */
  serveArtifacts?: boolean;
}

const EXPERIMENT = '1';
const PROXY = '/api/2.0/mlflow-artifacts/artifacts';

interface StoredVersion {
  seed: ModelVersionSeed;
  source: string;
  downloadUri: string;
  runId: string;
  aliases: Set<string>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeMlflow(options: FakeMlflowOptions = {}): Promise<FakeMlflow> {
  const pageSize = options.pageSize ?? 2;
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  const requests: FakeRequest[] = [];
  const faults: DownloadFaults = {};
  /** Artifact store behind --serve-artifacts: `<experiment>/<run>/artifacts/...` -> bytes. */
  const artifacts = new Map<string, Buffer>();
  const versions = new Map<string, Map<string, StoredVersion>>();
  /** run id -> its artifact root below the store and the root_uri artifacts/list reports. */
  const runs = new Map<string, { root: string; rootUri: string }>();
  const loggedModels = new Map<string, string>();

  const version = (name: string, number: string): StoredVersion => {
    const model = versions.get(name);
    if (!model) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
    const found = model.get(number);
    if (!found) {
      throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Model Version (name=${name}, version=${number}) not found`);
    }
    return found;
  };

  const modelVersionJson = (stored: StoredVersion): Record<string, unknown> => ({
    name: stored.seed.name,
    version: String(stored.seed.version),
    creation_timestamp: 1700000000000,
    last_updated_timestamp: 1700000000000,
    current_stage: 'None',
    source: stored.source,
    run_id: stored.runId,
    status: stored.seed.status ?? 'READY',
    ...(stored.seed.statusMessage ? { status_message: stored.seed.statusMessage } : {}),
    ...(stored.aliases.size ? { aliases: [...stored.aliases] } : {}),
  });

  /** Direct children of `dir` in the artifact store: [name, isDir, size]. */
  const children = (dir: string): Array<{ name: string; isDir: boolean; size?: number }> => {
    const prefix = dir ? `${dir}/` : '';
    const entries = new Map<string, { name: string; isDir: boolean; size?: number }>();
    for (const [key, bytes] of artifacts) {
      if (!key.startsWith(prefix)) continue;
      const [name, ...rest] = key.slice(prefix.length).split('/');
      entries.set(
        name!,
        rest.length ? { name: name!, isDir: true } : { name: name!, isDir: false, size: bytes.length },
      );
    }
    return [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  };

  const routes: Record<string, (query: Record<string, string>) => unknown> = {
    '/api/2.0/mlflow/model-versions/get': (query) => ({
      model_version: modelVersionJson(version(required(query, 'name'), required(query, 'version'))),
    }),
    '/api/2.0/mlflow/registered-models/alias': (query) => {
      const name = required(query, 'name');
      const alias = required(query, 'alias');
      const model = versions.get(name);
      if (!model) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
      const found = [...model.values()].find((stored) => stored.aliases.has(alias));
      if (!found) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Registered model alias ${alias} not found.`);
      return { model_version: modelVersionJson(found) };
    },
    '/api/2.0/mlflow/model-versions/get-download-uri': (query) => ({
      artifact_uri: version(required(query, 'name'), required(query, 'version')).downloadUri,
    }),
    '/api/2.0/mlflow/artifacts/list': (query) => {
      const runId = query.run_id || query.run_uuid || '';
      const run = runs.get(runId);
      if (!run) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Run with id=${runId} not found`);
      const path = (query.path ?? '').replace(/^\/+|\/+$/g, '');
      if (path.split('/').includes('..')) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Invalid path: ${path}`);
      const all = children(path ? `${run.root}/${path}` : run.root).map((entry) => ({
        path: path ? `${path}/${entry.name}` : entry.name,
        is_dir: entry.isDir,
        ...(entry.size !== undefined ? { file_size: entry.size } : {}),
      }));
      const start = query.page_token ? Number(Buffer.from(query.page_token, 'base64url').toString()) : 0;
      const page = all.slice(start, start + pageSize);
      const next = start + pageSize < all.length ? Buffer.from(String(start + pageSize)).toString('base64url') : '';
      return { root_uri: run.rootUri, files: page, ...(next ? { next_page_token: next } : {}) };
    },
    [PROXY]: (query) => {
      const path = (query.path ?? '').replace(/^\/+|\/+$/g, '');
      if (path.split('/').includes('..')) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Invalid path: ${path}`);
      const files = children(path).map((entry) => ({
        path: entry.name,
        is_dir: entry.isDir,
        ...(entry.size !== undefined ? { file_size: entry.size } : {}),
      }));
      return files.length ? { files } : {};
    },
  };

  const sendBytes = (req: IncomingMessage, res: ServerResponse, bytes: Buffer): void => {
    let body = bytes;
    if (faults.flipByteAt !== undefined && faults.flipByteAt < bytes.length) {
      body = Buffer.from(bytes);
      body[faults.flipByteAt] = body[faults.flipByteAt]! ^ 0xff;
      faults.flipByteAt = undefined;
    }
    let start = 0;
    let end = body.length - 1;
    let status = 200;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (req.headers.range && range) {
      start = range[1] ? Number(range[1]) : Math.max(0, body.length - Number(range[2]));
      end = range[1] && range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      if (start >= body.length || start > end) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` });
        res.end();
        return;
      }
      status = 206;
    }
    const slice = body.subarray(start, end + 1);
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Content-Length': slice.length,
      'Accept-Ranges': 'bytes',
    };
    if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${body.length}`;
    res.writeHead(status, headers);
    const drop = faults.dropAfterBytes;
    if (drop !== undefined && drop < slice.length) {
      faults.dropAfterBytes = undefined;
      res.write(slice.subarray(0, drop), () => res.socket?.destroy());
      return;
    }
    res.end(slice);
  };

  const authorized = (req: IncomingMessage, res: ServerResponse): boolean => {
    const auth = options.auth;
    if (!auth) return true;
    const given = req.headers.authorization ?? '';
    if (auth.kind === 'bearer') {
      if (given === `Bearer ${auth.token}`) return true;
      sendJson(res, 401, {
        error_code: 'UNAUTHENTICATED',
        message: 'Credential was not sent or was of an unsupported type for this API.',
      });
      return false;
    }
    const [user, ...rest] = Buffer.from(given.replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':');
    if (given.startsWith('Basic ') && user === auth.username && rest.join(':') === auth.password) return true;
    res.writeHead(401, { 'Content-Type': 'text/html; charset=utf-8', 'WWW-Authenticate': 'Basic realm="mlflow"' });
    res.end(
      'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.',
    );
    return false;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (prefix && !url.pathname.startsWith(`${prefix}/`))
      throw new ApiError(404, 'ENDPOINT_NOT_FOUND', 'outside the prefix');
    url.pathname = url.pathname.slice(prefix.length);
    const query = Object.fromEntries(url.searchParams);
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers.range ? { range: req.headers.range } : {}),
    });
    if (!authorized(req, res)) return;
    if (faults.unavailable) {
      faults.unavailable--;
      throw new ApiError(503, 'TEMPORARILY_UNAVAILABLE', 'injected by the test');
    }
    if (options.serveArtifacts === false && url.pathname.startsWith(PROXY)) {
      res.writeHead(503, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(
        `Endpoint: ${PROXY} disabled due to the mlflow server running with \`--no-serve-artifacts\`. ` +
          'To enable artifacts server functionality, run `mlflow server` with `--serve-artifacts`',
      );
      return;
    }
    if (req.method !== 'GET') throw new ApiError(405, 'ENDPOINT_NOT_FOUND', `${req.method} is not served here`);
    const route = routes[url.pathname];
    if (route) return sendJson(res, 200, route(query));
    if (url.pathname.startsWith(`${PROXY}/`)) {
      const path = decodeURIComponent(url.pathname.slice(PROXY.length + 1));
      const bytes = artifacts.get(path);
      if (!bytes) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `File ${path} not found`);
      return sendBytes(req, res, bytes);
    }
    if (url.pathname === '/get-artifact') {
      const run = runs.get(query.run_id || query.run_uuid || '');
      const bytes = run && artifacts.get(`${run.root}/${required(query, 'path')}`);
      if (!bytes) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Artifact ${query.path} not found`);
      return sendBytes(req, res, bytes);
    }
    const logged = /^\/api\/2\.0\/mlflow\/logged-models\/([^/]+)$/.exec(url.pathname)?.[1];
    if (logged) {
      const artifactUri = loggedModels.get(logged);
      if (!artifactUri)
        throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Logged model with ID '${logged}' not found.`);
      return sendJson(res, 200, {
        model: { info: { model_id: logged, experiment_id: EXPERIMENT, artifact_uri: artifactUri } },
      });
    }
    throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `No API endpoint ${url.pathname}`);
  };

  const server: Server = createServer((req, res) => {
    req.resume();
    try {
      handle(req, res);
    } catch (error) {
      const api = error instanceof ApiError ? error : new ApiError(500, 'INTERNAL_ERROR', String(error));
      sendJson(res, api.status, { error_code: api.code, message: api.message });
    }
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, LOOPBACK, resolve));

  const addModelVersion = (seed: ModelVersionSeed): SeededVersion => {
    const runId = randomBytes(16).toString('hex');
    const modelId = `m-${randomBytes(16).toString('hex')}`;
    const runRoot = `${EXPERIMENT}/${runId}/artifacts`;
    const root = seed.source === 'logged-model' ? `${EXPERIMENT}/models/${modelId}/artifacts` : `${runRoot}/model`;
    for (const [path, bytes] of Object.entries(seed.files)) artifacts.set(`${root}/${path}`, bytes);
    runs.set(runId, { root: runRoot, rootUri: seed.runRootUri ?? `mlflow-artifacts:/${runRoot}` });
    loggedModels.set(modelId, `mlflow-artifacts:/${root}`);
    const source =
      seed.source === 'runs'
        ? `runs:/${runId}/model`
        : seed.source === 'logged-model'
          ? `models:/${modelId}`
          : `mlflow-artifacts:/${root}`;
    const stored: StoredVersion = {
      seed,
      source,
      downloadUri: seed.downloadUri ?? `mlflow-artifacts:/${root}`,
      runId,
      aliases: new Set(seed.aliases ?? []),
    };
    if (!versions.has(seed.name)) versions.set(seed.name, new Map());
    versions.get(seed.name)!.set(String(seed.version), stored);
    return { source, downloadUri: stored.downloadUri, runId };
  };

  return {
    url: `http://${LOOPBACK}:${port}${prefix}`,
    requests,
    faults,
    addModelVersion,
    setAlias: (name, alias, number) => {
      for (const stored of versions.get(name)?.values() ?? []) stored.aliases.delete(alias);
      version(name, String(number)).aliases.add(alias);
    },
    stop: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function required(query: Record<string, string>, name: string): string {
  const value = query[name];
  if (!value) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Missing value for required parameter '${name}'.`);
  return value;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
