// A real Prometheus for tests: backfilled with deterministic series (promtool create-blocks-from openmetrics, queried
// at past timestamps), and/or scraping local targets (the e2e test points it at real model servers).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, LOOPBACK, requireBinary, startProcess, tempDir, waitForHttp, type RunningProcess } from './local.js';

export interface Series {
  /** Full sample name, e.g. `http_requests_total` or `http_request_duration_seconds_bucket`. */
  name: string;
  labels: Record<string, string>;
  /** [unix seconds, value], in time order. */
  points: Array<[number, number]>;
}

export interface Family {
  /** OpenMetrics family name: `http_requests` for the counter `http_requests_total`. */
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  series: Series[];
}

function labelText(labels: Record<string, string>): string {
  const body = Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .join(',');
  return body ? `{${body}}` : '';
}

/** OpenMetrics text of the families (series of one family together, each in time order). */
export function openMetrics(families: Family[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const series of family.series) {
      for (const [at, value] of series.points) lines.push(`${series.name}${labelText(series.labels)} ${value} ${at}`);
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

/** Merges families of the same name (e.g. the canary's and the stable's http_requests). */
export function mergeFamilies(groups: Family[][]): Family[] {
  const byName = new Map<string, Family>();
  for (const family of groups.flat()) {
    const existing = byName.get(family.name);
    if (existing) existing.series.push(...family.series);
    else byName.set(family.name, { ...family, series: [...family.series] });
  }
  return [...byName.values()];
}

export interface TrafficShape {
  namespace: string;
  app: string;
  track: string;
  /** Unix seconds of the first point; points every `stepSeconds` for `seconds`. */
  start: number;
  seconds: number;
  stepSeconds?: number;
  rps: number;
  errorRate: number;
  /** Latency histogram: [le, share of requests in this bucket], the last le is +Inf. */
  latency: Array<[number, number]>;
  /** Prediction-score histogram shares, same form; omitted: no prediction metrics. */
  predictions?: Array<[number, number]>;
  invalidRate?: number;
}

function histogramFamily(
  name: string,
  labels: Record<string, string>,
  shares: Array<[number, number]>,
  times: number[],
  perSecond: number,
  start: number,
): Family {
  const series: Series[] = [];
  let cumulativeShare = 0;
  for (const [le, share] of shares) {
    cumulativeShare += share;
    const fraction = cumulativeShare;
    series.push({
      name: `${name}_bucket`,
      labels: { ...labels, le: Number.isFinite(le) ? String(le) : '+Inf' },
      points: times.map((t) => [t, Math.round((t - start) * perSecond * fraction)]),
    });
  }
  series.push({ name: `${name}_count`, labels, points: times.map((t) => [t, Math.round((t - start) * perSecond)]) });
  const mean = shares.reduce((sum, [le, share]) => sum + (Number.isFinite(le) ? le : 0) * share, 0);
  series.push({ name: `${name}_sum`, labels, points: times.map((t) => [t, (t - start) * perSecond * mean]) });
  return { name, type: 'histogram', series };
}

/** Deterministic counters and histograms of one track of a model, following the contract's metric conventions. */
export function modelTraffic(shape: TrafficShape): Family[] {
  const step = shape.stepSeconds ?? 15;
  const times: number[] = [];
  for (let t = shape.start; t <= shape.start + shape.seconds; t += step) times.push(t);
  const labels = { namespace: shape.namespace, app: shape.app, track: shape.track };
  const count = (perSecond: number) =>
    times.map((t): [number, number] => [t, Math.round((t - shape.start) * perSecond)]);
  const families: Family[] = [
    {
      name: 'http_requests',
      type: 'counter',
      series: [
        {
          name: 'http_requests_total',
          labels: { ...labels, code: '200' },
          points: count(shape.rps * (1 - shape.errorRate)),
        },
        { name: 'http_requests_total', labels: { ...labels, code: '500' }, points: count(shape.rps * shape.errorRate) },
      ],
    },
    histogramFamily('http_request_duration_seconds', labels, shape.latency, times, shape.rps, shape.start),
  ];
  if (shape.predictions) {
    families.push(histogramFamily('model_prediction_score', labels, shape.predictions, times, shape.rps, shape.start));
    families.push({
      name: 'model_invalid_predictions',
      type: 'counter',
      series: [
        { name: 'model_invalid_predictions_total', labels, points: count(shape.rps * (shape.invalidRate ?? 0)) },
      ],
    });
  }
  return families;
}

export interface PrometheusServer {
  url: string;
  port: number;
  process: RunningProcess;
  stop(): Promise<void>;
}

export interface PrometheusStartOptions {
  /** Loaded into the data dir before start; query it at the series' (past) timestamps. */
  backfill?: Family[];
  /** host:port targets scraped at `scrapeIntervalSeconds` (default 1). */
  scrapeTargets?: string[];
  scrapeIntervalSeconds?: number;
}

/**
 * Starts `prometheus` on 127.0.0.1 with a free port and a temp data dir; `stop()` removes it all. Ready in about
 * 0.3 s; the first scrape of `scrapeTargets` comes about 5 s later (Prometheus batches target discovery every 5 s).
 */
export async function startPrometheus(options: PrometheusStartOptions = {}): Promise<PrometheusServer> {
  requireBinary('prometheus');
  const dir = tempDir('prometheus');
  const data = join(dir.path, 'data');
  if (options.backfill) {
    requireBinary('promtool');
    const file = join(dir.path, 'backfill.om');
    writeFileSync(file, openMetrics(options.backfill));
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', file, data], { stdio: 'pipe' });
  }
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  const targets = options.scrapeTargets ?? [];
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    ...(targets.length > 0
      ? [
          'scrape_configs:',
          '  - job_name: models',
          '    static_configs:',
          `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
        ]
      : []),
  ].join('\n');
  const configFile = join(dir.path, 'prometheus.yml');
  writeFileSync(configFile, `${config}\n`);
  const port = await freePort();
  const url = `http://${LOOPBACK}:${port}`;
  const server = startProcess('prometheus', [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${data}`,
    `--web.listen-address=${LOOPBACK}:${port}`,
    '--web.enable-remote-write-receiver',
    '--storage.tsdb.retention.time=30d',
  ]);
  try {
    await waitForHttp(`${url}/-/ready`, 20000);
  } catch (error) {
    await server.stop();
    dir.remove();
    throw new Error(`${(error as Error).message}\n${server.output()}`, { cause: error });
  }
  return {
    url,
    port,
    process: server,
    stop: async () => {
      await server.stop();
      dir.remove();
    },
  };
}
