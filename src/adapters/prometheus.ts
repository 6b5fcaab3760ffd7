// Prometheus HTTP API (instant and range queries) behind the MetricSource port. Never throws from a query:
// failures come back as measurements in state `error`, so the analysis loop decides what they mean.
import { Agent } from 'node:https';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import axiosRetry, { exponentialDelay, isNetworkError } from 'axios-retry';
import type { MetricResult, MetricSample, MetricSource } from '../core/ports.js';
import { redactUrls } from '../core/url-credentials.js';

export const AZURE_PROMETHEUS_RESOURCE = 'https://prometheus.monitor.azure.com';

/** Runs a command and returns its stdout (the action passes @actions/exec; tests a small fake or a script). */
export type CommandRunner = (command: string, args: string[]) => Promise<string>;

export type PrometheusAuth =
  | { type: 'none' }
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  /** Azure Monitor managed Prometheus: an AAD token given, or taken from the `azure/login` session via `az`. */
  | { type: 'azure'; token?: string; runCommand?: CommandRunner };

export interface PrometheusOptions {
  url: string;
  auth?: PrometheusAuth;
  headers?: Record<string, string>;
  /** PEM contents of a CA bundle to trust (in addition to none: only this CA). */
  ca?: string;
  /** Per attempt, default 10 s. */
  timeoutMs?: number;
  /** Retries on network errors, 429 and 5xx, with jittered exponential backoff. Default 3. */
  retries?: number;
  /** Base of the backoff in ms (default 200); tests make it small. */
  retryDelayMs?: number;
  mask?: (secret: string) => void;
}

export interface RangeSeries {
  labels: Record<string, string>;
  values: Array<{ at: Date; value: number }>;
}

export type RangeResult = { state: 'ok'; series: RangeSeries[] } | Extract<MetricResult, { state: 'error' }>;

interface ApiResponse {
  status: 'success' | 'error';
  data?: { resultType: string; result: unknown };
  errorType?: string;
  error?: string;
}

type PromValue = [number, string];

/** Prometheus sample values are strings: "NaN", "+Inf" and "-Inf" included. */
export function parsePromValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

function samplesOf(data: ApiResponse['data']): MetricSample[] {
  if (!data) return [];
  if (data.resultType === 'scalar') return [{ labels: {}, value: parsePromValue((data.result as PromValue)[1]) }];
  if (data.resultType !== 'vector') return [];
  return (data.result as Array<{ metric: Record<string, string>; value: PromValue }>).map((item) => ({
    labels: item.metric,
    value: parsePromValue(item.value[1]),
  }));
}

function seriesOf(data: ApiResponse['data']): RangeSeries[] {
  if (!data || data.resultType !== 'matrix') return [];
  return (data.result as Array<{ metric: Record<string, string>; values: PromValue[] }>).map((item) => ({
    labels: item.metric,
    values: item.values.map(([at, value]) => ({ at: new Date(at * 1000), value: parsePromValue(value) })),
  }));
}

function retryable(error: AxiosError): boolean {
  const status = error.response?.status;
  return (
    isNetworkError(error) || error.code === 'ECONNABORTED' || status === 429 || (status !== undefined && status >= 500)
  );
}

const NETWORK_CAUSES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found (DNS)',
  EAI_AGAIN: 'host name lookup failed (DNS)',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  ECONNABORTED: 'timed out',
  ERR_CANCELED: 'cancelled',
};

/** Why no answer came, in words, with the system's code: "connection refused (ECONNREFUSED)". */
function networkCause(error: AxiosError): string {
  const code = error.code ?? (error.cause as { code?: string } | undefined)?.code;
  const words = code ? NETWORK_CAUSES[code] : undefined;
  if (words && code === 'ECONNABORTED') return `${words} (${error.message})`;
  if (words) return `${words} (${code})`;
  return code ? `${error.message || code} (${code})` : error.message || 'no answer';
}

/** Error without secrets: Prometheus's own error text for a rejected query, else status or network code. */
function failure(error: unknown, query: string, url: string): Extract<MetricResult, { state: 'error' }> {
  if (!(error instanceof AxiosError)) return { state: 'error', kind: 'unreachable', error: String(error) };
  const status = error.response?.status;
  const body = error.response?.data as ApiResponse | string | undefined;
  // Redacted before it is cut short, as a URL cut inside its userinfo would no longer be found.
  const text =
    typeof body === 'object' && body?.error
      ? body.error
      : typeof body === 'string'
        ? redactUrls(body).slice(0, 300)
        : '';
  if (status === undefined) {
    return { state: 'error', kind: 'unreachable', error: `cannot reach Prometheus at ${url}: ${networkCause(error)}` };
  }
  if (status === 401 || status === 403) {
    return {
      state: 'error',
      kind: 'auth',
      error: `Prometheus at ${url} answered ${status}: check prometheus-auth and the token's access${text ? ` (${text})` : ''}`,
    };
  }
  if (status === 400 || status === 422) {
    return { state: 'error', kind: 'bad-query', error: `${text || `HTTP ${status}`} (query: ${query})` };
  }
  return { state: 'error', kind: 'server', error: `Prometheus at ${url} answered ${status}${text ? `: ${text}` : ''}` };
}

interface AzTokenOutput {
  accessToken: string;
  expiresOn?: string;
  expires_on?: number;
}

export class PrometheusClient implements MetricSource {
  private readonly http: AxiosInstance;
  private azureToken?: { token: string; expiresAt: number };

  constructor(private readonly options: PrometheusOptions) {
    const auth = options.auth ?? { type: 'none' };
    const headers: Record<string, string> = { ...options.headers };
    if (auth.type === 'bearer') {
      options.mask?.(auth.token);
      headers.Authorization = `Bearer ${auth.token}`;
    }
    if (auth.type === 'basic') options.mask?.(auth.password);
    this.http = axios.create({
      baseURL: options.url.replace(/\/+$/, ''),
      timeout: options.timeoutMs ?? 10000,
      headers,
      auth: auth.type === 'basic' ? { username: auth.username, password: auth.password } : undefined,
      httpsAgent: options.ca ? new Agent({ ca: options.ca }) : undefined,
      proxy: false,
    });
    const base = options.retryDelayMs ?? 200;
    axiosRetry(this.http, {
      retries: options.retries ?? 3,
      retryCondition: retryable,
      // exponentialDelay adds up to 20% random jitter, so parallel gates do not retry in lockstep.
      retryDelay: (count, error) => exponentialDelay(count, error, base),
      shouldResetTimeout: true,
    });
  }

  private async azureHeader(): Promise<Record<string, string>> {
    const auth = this.options.auth;
    if (auth?.type !== 'azure') return {};
    if (auth.token) {
      this.options.mask?.(auth.token);
      return { Authorization: `Bearer ${auth.token}` };
    }
    if (!this.azureToken || this.azureToken.expiresAt - 60_000 < Date.now()) {
      if (!auth.runCommand)
        throw new Error('prometheus-auth azure needs a token or the az CLI (run azure/login first)');
      const stdout = await auth.runCommand('az', [
        'account',
        'get-access-token',
        '--resource',
        AZURE_PROMETHEUS_RESOURCE,
        '--output',
        'json',
      ]);
      let parsed: AzTokenOutput;
      try {
        parsed = JSON.parse(stdout) as AzTokenOutput;
      } catch {
        throw new Error('az account get-access-token did not print JSON: is azure/login done in this job?');
      }
      if (!parsed.accessToken) throw new Error('az account get-access-token printed no accessToken');
      this.options.mask?.(parsed.accessToken);
      const expiresAt = parsed.expires_on
        ? parsed.expires_on * 1000
        : Date.parse(parsed.expiresOn ?? '') || Date.now() + 300_000;
      this.azureToken = { token: parsed.accessToken, expiresAt };
    }
    return { Authorization: `Bearer ${this.azureToken.token}` };
  }

  /**
   * One API call. Its errors become gate reasons, and so reach the report, the PR comment and the job summary: no URL
   * in them (prometheus-url with its user:password, or one in Prometheus's own text) may carry a credential.
   */
  private async call(
    path: string,
    params: Record<string, string>,
    query: string,
  ): Promise<ApiResponse | Extract<MetricResult, { state: 'error' }>> {
    const answer = await this.attempt(path, params, query);
    return 'state' in answer ? { ...answer, error: redactUrls(answer.error) } : answer;
  }

  private async attempt(
    path: string,
    params: Record<string, string>,
    query: string,
  ): Promise<ApiResponse | Extract<MetricResult, { state: 'error' }>> {
    try {
      const headers = await this.azureHeader();
      const response = await this.http.post<ApiResponse>(path, new URLSearchParams(params).toString(), {
        headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      if (response.data.status !== 'success') {
        return {
          state: 'error',
          kind: 'bad-query',
          error: `${response.data.error ?? 'query failed'} (query: ${query})`,
        };
      }
      return response.data;
    } catch (error) {
      if (error instanceof AxiosError) return failure(error, query, this.options.url);
      return { state: 'error', kind: 'auth', error: (error as Error).message };
    }
  }

  async query(promql: string, at: Date): Promise<MetricResult> {
    const answer = await this.call('/api/v1/query', { query: promql, time: String(at.getTime() / 1000) }, promql);
    if ('state' in answer) return answer;
    return { state: 'ok', samples: samplesOf(answer.data) };
  }

  async queryRange(promql: string, start: Date, end: Date, stepSeconds: number): Promise<RangeResult> {
    const answer = await this.call(
      '/api/v1/query_range',
      {
        query: promql,
        start: String(start.getTime() / 1000),
        end: String(end.getTime() / 1000),
        step: String(stepSeconds),
      },
      promql,
    );
    if ('state' in answer) return answer;
    return { state: 'ok', series: seriesOf(answer.data) };
  }
}
