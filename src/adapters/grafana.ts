// Grafana annotations for a rollout: one at the start, one per step (a region from the step's start to its end) and
// one for the verdict, tagged with the model, namespace and revision so the model-canary dashboard shows them.
// Best-effort: a failure is a warning, never a failed deploy.
import axios, { type AxiosInstance } from 'axios';
import axiosRetry, { isNetworkError, isRetryableError } from 'axios-retry';
import type { Logger, Report, Reporter } from '../core/ports.js';
import { parseTime } from '../core/human.js';
import { redactUrls } from '../core/url-credentials.js';

export interface GrafanaOptions {
  /** Grafana base URL, e.g. `https://grafana.example.com` (a sub-path such as `/grafana` is kept). */
  url: string;
  /** Service account token (Editor, or annotations:write). */
  token: string;
  logger: Logger;
  mask?: (secret: string) => void;
  /** Milliseconds since the epoch, for the start and verdict annotations. */
  now?: () => number;
  /** Retries of a failed request (network error, 429, 5xx); default 3. */
  retries?: number;
  /** First retry delay in ms, doubling after; default 300. */
  retryDelayMs?: number;
  timeoutMs?: number;
}

export interface GrafanaAnnotation {
  time: number;
  timeEnd?: number;
  tags: string[];
  text: string;
}

export function annotationTags(report: Report, verdict: string): string[] {
  const tags = ['model-canary', `model:${report.model}`, `namespace:${report.namespace}`];
  if (report.revision !== undefined) tags.push(`revision:${report.revision}`);
  // Which registered model version the rollout carries, so a dashboard can filter on it.
  if (report.modelSource) tags.push(`model-version:${report.modelSource.name}:${report.modelSource.version}`);
  tags.push(`verdict:${verdict}`);
  return tags;
}

export class GrafanaAnnotator implements Reporter {
  private readonly http: AxiosInstance;
  private readonly now: () => number;
  private started = false;
  private readonly annotatedSteps = new Set<number>();
  private disabled = false;
  private queue: Promise<void> = Promise.resolve();
  /** grafana-url as warnings show it: a user:password in it stays out of the log. */
  private readonly shownUrl: string;

  constructor(private readonly options: GrafanaOptions) {
    options.mask?.(options.token);
    this.shownUrl = redactUrls(options.url);
    this.now = options.now ?? Date.now;
    this.http = axios.create({
      baseURL: options.url.replace(/\/+$/, ''),
      timeout: options.timeoutMs ?? 10000,
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
    });
    const delay = options.retryDelayMs ?? 300;
    axiosRetry(this.http, {
      retries: options.retries ?? 3,
      // POST is not idempotent, but a lost or duplicated annotation is harmless; a lost one is what we avoid.
      retryCondition: (error) => isNetworkError(error) || isRetryableError(error),
      retryDelay: (attempt) => delay * 2 ** (attempt - 1),
    });
  }

  publish(report: Report, final: boolean): Promise<void> {
    const next = this.queue.then(() => this.send(report, final));
    this.queue = next;
    return next;
  }

  /** The annotations this publish adds: start (once), each newly ended step, and the verdict when final. */
  pending(report: Report, final: boolean): Array<{ annotation: GrafanaAnnotation; onSent: () => void }> {
    const out: Array<{ annotation: GrafanaAnnotation; onSent: () => void }> = [];
    const model = `${report.namespace}/${report.model}`;
    const revision = report.revision === undefined ? '' : ` revision ${report.revision}`;
    if (!this.started) {
      const firstStart = parseTime(report.steps[0]?.startedAt)?.getTime() ?? this.now();
      out.push({
        annotation: {
          time: firstStart,
          tags: [...annotationTags(report, 'running'), 'event:start'],
          text: `model-canary: rollout of ${model}${revision} started${report.digest ? ` (${report.digest})` : ''}`,
        },
        onSent: () => (this.started = true),
      });
    }
    report.steps.forEach((step, index) => {
      const start = parseTime(step.startedAt)?.getTime();
      const end = parseTime(step.endedAt)?.getTime();
      if (start === undefined || end === undefined || this.annotatedSteps.has(index)) return;
      out.push({
        annotation: {
          time: start,
          timeEnd: end,
          tags: [...annotationTags(report, 'running'), 'event:step', `weight:${step.weight}`],
          text: `model-canary: ${model} step ${index + 1}/${report.steps.length}, canary at ${step.weight}%: ${step.result ?? 'done'}`,
        },
        onSent: () => this.annotatedSteps.add(index),
      });
    });
    if (final) {
      out.push({
        annotation: {
          time: this.now(),
          tags: [...annotationTags(report, report.verdict), 'event:verdict'],
          text: `model-canary: ${model}${revision} ${report.verdict}${report.reason ? `: ${report.reason}` : ''}`,
        },
        onSent: () => undefined,
      });
    }
    // The verdict's reason quotes outside text (a Prometheus or MLflow error, a URL someone wrote): annotations are
    // read by everyone with the dashboard, so no URL credential goes into one.
    return out.map(({ annotation, onSent }) => ({
      annotation: { ...annotation, text: redactUrls(annotation.text) },
      onSent,
    }));
  }

  private async send(report: Report, final: boolean): Promise<void> {
    if (this.disabled) return;
    for (const { annotation, onSent } of this.pending(report, final)) {
      try {
        await this.http.post('/api/annotations', annotation);
        onSent();
      } catch (error) {
        this.warn(error);
        if (this.disabled) return;
      }
    }
  }

  private warn(error: unknown): void {
    const status = axios.isAxiosError(error) ? error.response?.status : undefined;
    const detail = axios.isAxiosError(error)
      ? status
        ? `HTTP ${status}`
        : (error.code ?? 'network error')
      : redactUrls(String(error));
    if (status === 401 || status === 403) {
      this.disabled = true;
      this.options.logger.warn(
        `model-canary: Grafana at ${this.shownUrl} refused the annotation (${detail}): give the ` +
          `grafana-token's service account the Editor role or annotations:write. No more annotations this run.`,
      );
      return;
    }
    this.options.logger.warn(
      `model-canary: Grafana annotation at ${this.shownUrl} failed (${detail}); the rollout goes on`,
    );
  }
}
