// The MLflow tracking server's REST API (`/api/2.0/mlflow/...`, `/api/2.0/mlflow-artifacts/...`) as JSON GETs with
// the user's auth, and MLflow's error bodies (`{"error_code": ..., "message": ...}`) turned into errors that name the
// model-source and say which input to set. Secrets are masked and never reach a message.
import axios, { type AxiosError, type AxiosInstance } from 'axios';
import axiosRetry, { exponentialDelay, isNetworkError } from 'axios-retry';
import { displayUri, ModelSourceError } from '../../core/model-source.js';
import { redactUrls } from '../../core/url-credentials.js';

export interface MlflowOptions {
  /** `mlflow-tracking-uri`: the tracking server's http(s) URL, with any path prefix it is served under. */
  trackingUri: string;
  /** `mlflow-token`: sent as `Authorization: Bearer` (MLFLOW_TRACKING_TOKEN, a Databricks token). */
  token?: string;
  /** `mlflow-username` + `mlflow-password`: HTTP Basic (MLFLOW_TRACKING_USERNAME / _PASSWORD, `mlflow server --app-name basic-auth`). */
  username?: string;
  password?: string;
  mask?: (secret: string) => void;
  http?: AxiosInstance;
  /** Per request, default 30 s. */
  timeoutMs?: number;
  /** Retries of network errors, 429 and 5xx (default 3), with a backoff starting at `retryDelayMs` (default 300). */
  retries?: number;
  retryDelayMs?: number;
}

/** An answer MLflow gave with an error status, after auth problems were ruled out. */
export class MlflowApiError extends ModelSourceError {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string | undefined,
    readonly serverMessage: string,
  ) {
    super(message);
    this.name = 'MlflowApiError';
  }
}

type Query = Record<string, string | undefined>;

export class MlflowClient {
  /** The tracking URI without a trailing slash: API paths are appended to it. */
  readonly base: string;
  readonly origin: string;
  /** What every request to the tracking server carries (secret values). */
  readonly authHeaders: Record<string, string>;
  private readonly http: AxiosInstance;

  constructor(
    options: MlflowOptions,
    /** The model-source, as messages start with it. */
    readonly source: string,
  ) {
    let url: URL;
    try {
      url = new URL(options.trackingUri);
    } catch {
      const hint = /^databricks/i.test(options.trackingUri)
        ? ': for Databricks give the workspace URL (https://<workspace>.cloud.databricks.com) and mlflow-token'
        : ': give the http(s):// URL of the MLflow tracking server';
      throw new ModelSourceError(
        `${source}: mlflow-tracking-uri '${displayUri(options.trackingUri)}' is not a URL${hint}`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ModelSourceError(
        `${source}: mlflow-tracking-uri '${displayUri(options.trackingUri)}' must be an http(s):// URL of an MLflow tracking server`,
      );
    }
    this.base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.origin = url.origin;
    this.authHeaders = authHeaders(options, source);
    this.http = options.http ?? axios.create({ timeout: options.timeoutMs ?? 30000 });
    if (!options.http) {
      axiosRetry(this.http, {
        retries: options.retries ?? 3,
        retryDelay: (count, error) => exponentialDelay(count, error, options.retryDelayMs ?? 300),
        retryCondition: (error) => isNetworkError(error) || error.code === 'ECONNABORTED' || retryable(error.response),
      });
    }
  }

  /** For messages: the tracking server without credentials or query. */
  get display(): string {
    return displayUri(this.base).replace(/\/$/, '');
  }

  /** The URL of a tracking-server API path (`/api/2.0/...`), under the tracking URI's path prefix. */
  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** GETs JSON from an API path; error statuses become MlflowApiError (auth ones a ModelSourceError saying what to set). */
  async get<T>(path: string, query: Query = {}): Promise<T> {
    const url = this.url(path);
    const params = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
    const outcome = await this.http
      .get(url, {
        params,
        headers: { ...this.authHeaders, Accept: 'application/json' },
        // Retryable answers are errors, so axios-retry sees them; whatever the last one was is handled below.
        validateStatus: (status) => !retryable({ status, data: undefined }),
      })
      .then(
        (response) => ({ ok: true as const, response }),
        (error: AxiosError) =>
          error.response
            ? { ok: true as const, response: error.response }
            : // No `cause`: the axios error carries the request and its Authorization header.
              { ok: false as const, message: error.message },
      );
    if (!outcome.ok) {
      throw new ModelSourceError(
        `${this.source}: MLflow at ${this.display} is unreachable (${outcome.message}): check mlflow-tracking-uri`,
      );
    }
    const { status, data } = outcome.response;
    if (status === 200) return data as T;
    const body = errorBody(data);
    if (status === 401) throw new ModelSourceError(`${this.source}: ${this.unauthenticated(body.message)}`);
    if (status === 403) {
      throw new ModelSourceError(
        `${this.source}: MLflow at ${this.display} denied access (HTTP 403${body.message ? `: ${body.message}` : ''}): ` +
          'the user of mlflow-token or mlflow-username needs READ permission on the registered model and its artifacts',
      );
    }
    if (status === 503 && body.message.includes('--serve-artifacts')) {
      throw new ModelSourceError(
        `${this.source}: MLflow at ${this.display} does not serve artifacts (${body.message}): ` +
          'run the tracking server with --serve-artifacts, or use an https:// model-source',
      );
    }
    const detail = [body.errorCode, body.message].filter(Boolean).join(': ');
    throw new MlflowApiError(
      `${this.source}: MLflow at ${this.display} answered GET ${path} with HTTP ${status}${detail ? ` (${detail})` : ''}`,
      status,
      body.errorCode,
      body.message,
    );
  }

  private unauthenticated(serverMessage: string): string {
    const said = serverMessage ? ` (${serverMessage})` : '';
    if (this.authHeaders.Authorization?.startsWith('Bearer ')) {
      return `MLflow at ${this.display} refused mlflow-token (HTTP 401${said}): check that the token is valid and not expired`;
    }
    if (this.authHeaders.Authorization) {
      return `MLflow at ${this.display} refused mlflow-username / mlflow-password (HTTP 401${said}): check them`;
    }
    return (
      `MLflow at ${this.display} needs authentication (HTTP 401${said}): set mlflow-token (a Bearer token, as ` +
      'MLFLOW_TRACKING_TOKEN) or mlflow-username and mlflow-password (as MLFLOW_TRACKING_USERNAME / _PASSWORD)'
    );
  }
}

/** Busy or briefly broken: worth another try. Not a 503 that says artifact serving is off, which stays off. */
function retryable(response: { status: number; data: unknown } | undefined): boolean {
  if (!response) return false;
  const { status, data } = response;
  if (status === 503 && typeof data === 'string' && data.includes('--serve-artifacts')) return false;
  return status === 429 || status >= 500;
}

function authHeaders(options: MlflowOptions, source: string): Record<string, string> {
  const { token, username, password, mask } = options;
  if (token && (username || password)) {
    throw new ModelSourceError(`${source}: set either mlflow-token or mlflow-username and mlflow-password, not both`);
  }
  if (token) {
    mask?.(token);
    return { Authorization: `Bearer ${token}` };
  }
  if (username || password) {
    if (!username || !password) {
      throw new ModelSourceError(`${source}: mlflow-username and mlflow-password go together; one of them is empty`);
    }
    mask?.(password);
    const basic = Buffer.from(`${username}:${password}`).toString('base64');
    mask?.(basic);
    return { Authorization: `Basic ${basic}` };
  }
  return {};
}

/** MLflow answers errors as `{"error_code", "message"}`; its auth app and proxies answer text or HTML. */
function errorBody(data: unknown): { errorCode?: string; message: string } {
  if (data && typeof data === 'object') {
    const body = data as { error_code?: unknown; message?: unknown };
    return {
      errorCode: typeof body.error_code === 'string' ? body.error_code : undefined,
      message: typeof body.message === 'string' ? clip(body.message) : '',
    };
  }
  const text = typeof data === 'string' ? data.trim() : '';
  return { message: text.startsWith('<') ? '' : clip(text) };
}

/** The server's words, short; redacted first, as a URL cut inside its userinfo could no longer be found. */
function clip(text: string): string {
  const shown = redactUrls(text);
  return shown.length > 300 ? `${shown.slice(0, 300)}…` : shown;
}
