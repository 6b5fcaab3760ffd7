// The sample model server, run for real: its /metrics must be valid Prometheus text whose numbers match the traffic
// it got, its env knobs (errors, latency, drift, invalid outputs) must show in those numbers, and a real Prometheus
// scraping a stable and a canary server must see both tracks under the contract's labels.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { generateLoad } from './support/load-generator.js';
import { requireBinary, sleep } from './support/local.js';
import { MODEL_SERVER_PATH, startModelServer, type ModelServer, type ModelServerEnv } from './support/model-server.js';
import { parsePrometheusText, sampleSum, sampleValue, type Sample } from './support/prometheus-text.js';
import {
  labelledScrapeConfig,
  startScrapingPrometheus,
  type ScrapingPrometheus,
} from './support/scraping-prometheus.js';

const SAMPLE_DIR = fileURLToPath(new URL('../workflows-examples/sample-model/', import.meta.url));
const DASHBOARD = fileURLToPath(new URL('../workflows-examples/grafana/model-canary.json', import.meta.url));

const servers: ModelServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

async function server(env: ModelServerEnv): Promise<ModelServer> {
  const started = await startModelServer({ SEED: 7, ...env });
  servers.push(started);
  return started;
}

async function metricsOf(target: ModelServer): Promise<Sample[]> {
  return parsePrometheusText(await target.metrics());
}

/** Mean of a histogram from its _sum and _count. */
function histogramMean(samples: Sample[], name: string): number {
  return sampleValue(samples, `${name}_sum`) / sampleValue(samples, `${name}_count`);
}

describe('sample model server', () => {
  it('exposes valid Prometheus text whose counters match the requests sent', async () => {
    const good = await server({});
    const load = await generateLoad({ urls: [`${good.url}/predict`], ratePerSecond: 500, count: 300 });
    expect(load).toMatchObject({ sent: 300, byStatus: { '200': 300 } });

    const text = await good.metrics();
    requireBinary('promtool');
    // promtool lints the exposition format (types, help, naming); exit code 0 means clean.
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${lint.stdout}${lint.stderr}`).toBe('');
    expect(lint.status).toBe(0);

    const samples = parsePrometheusText(text);
    expect(sampleValue(samples, 'http_requests_total', { code: '200' })).toBe(300);
    expect(sampleSum(samples, 'http_requests_total')).toBe(300);
    expect(sampleValue(samples, 'http_request_duration_seconds_count')).toBe(300);
    expect(sampleValue(samples, 'http_request_duration_seconds_bucket', { le: '+Inf' })).toBe(300);
    expect(sampleValue(samples, 'model_prediction_score_count')).toBe(300);
    expect(sampleValue(samples, 'model_invalid_predictions_total')).toBe(0);
    expect(sampleValue(samples, 'model_info', { model: 'churn-scorer', version: '1.0.0' })).toBe(1);
    const buckets = samples.filter((s) => s.name === 'http_request_duration_seconds_bucket').map((s) => s.value);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b)); // cumulative
  });

  it('answers ERROR_RATE=0.05 with about 5% 500s, and the metrics agree with the client', async () => {
    const flaky = await server({ ERROR_RATE: 0.05 });
    const load = await generateLoad({
      urls: [`${flaky.url}/predict`],
      ratePerSecond: 1000,
      count: 2000,
      arrival: 'poisson',
    });
    const errors = load.byStatus['500'] ?? 0;
    expect(errors / load.sent).toBeGreaterThan(0.035);
    expect(errors / load.sent).toBeLessThan(0.065);
    const samples = await metricsOf(flaky);
    expect(sampleValue(samples, 'http_requests_total', { code: '500' })).toBe(errors);
    expect(sampleValue(samples, 'http_requests_total', { code: '200' })).toBe(load.byStatus['200']);
  });

  it('shows LATENCY_MS in the latency histogram', async () => {
    const [fast, slow] = await Promise.all([server({}), server({ LATENCY_MS: 60 })]);
    const send = (target: ModelServer) =>
      generateLoad({ urls: [`${target.url}/predict`], ratePerSecond: 200, count: 60 });
    await Promise.all([send(fast), send(slow)]);
    const [fastSamples, slowSamples] = await Promise.all([metricsOf(fast), metricsOf(slow)]);
    // Added latency is uniform in [30, 90] ms: nothing answers within 25 ms, and the mean moves by about 60 ms
    // (with room for a busy machine).
    expect(sampleValue(slowSamples, 'http_request_duration_seconds_bucket', { le: '0.025' })).toBe(0);
    expect(sampleValue(slowSamples, 'http_request_duration_seconds_bucket', { le: '+Inf' })).toBe(60);
    const added =
      histogramMean(slowSamples, 'http_request_duration_seconds') -
      histogramMean(fastSamples, 'http_request_duration_seconds');
    expect(added).toBeGreaterThan(0.045);
    expect(added).toBeLessThan(0.085);
  });

  it('moves the score histogram with SCORE_SHIFT, and counts INVALID_RATE outputs', async () => {
    const [base, drifted, invalid] = await Promise.all([
      server({}),
      server({ SCORE_SHIFT: 0.3 }),
      server({ INVALID_RATE: 0.2 }),
    ]);
    const send = (target: ModelServer) =>
      generateLoad({ urls: [`${target.url}/predict`], ratePerSecond: 1000, count: 400 });
    await Promise.all([send(base), send(drifted), send(invalid)]);
    const [baseSamples, driftSamples, invalidSamples] = await Promise.all([
      metricsOf(base),
      metricsOf(drifted),
      metricsOf(invalid),
    ]);

    const baseMean = histogramMean(baseSamples, 'model_prediction_score');
    const driftMean = histogramMean(driftSamples, 'model_prediction_score');
    expect(driftMean - baseMean).toBeGreaterThan(0.15);
    const shareBelow = (samples: Sample[], le: string): number =>
      sampleValue(samples, 'model_prediction_score_bucket', { le }) /
      sampleValue(samples, 'model_prediction_score_count');
    expect(shareBelow(driftSamples, '0.5')).toBeLessThan(shareBelow(baseSamples, '0.5') - 0.2);

    const invalidCount = sampleValue(invalidSamples, 'model_invalid_predictions_total');
    expect(invalidCount / 400).toBeGreaterThan(0.12);
    expect(invalidCount / 400).toBeLessThan(0.28);
    expect(invalidCount + sampleValue(invalidSamples, 'model_prediction_score_count')).toBe(400);
  });

  it('scores the features it is given, the same way every time, and rejects bad input with a hint', async () => {
    const [one, two] = await Promise.all([server({ SEED: 1 }), server({ SEED: 2 })]);
    const features = { tenure_months: 2, monthly_charges: 110, support_tickets: 6, contract_months: 1 };
    const predict = async (target: ModelServer, body: string) =>
      fetch(`${target.url}/predict`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const [a, b] = await Promise.all([one, two].map(async (t) => (await predict(t, JSON.stringify(features))).json()));
    expect(a).toEqual(b);
    // A short-tenure customer with many tickets is likely to churn; a loyal one is not.
    expect((a as { score: number }).score).toBeGreaterThan(0.9);
    const loyal = { tenure_months: 70, monthly_charges: 30, support_tickets: 0, contract_months: 24 };
    const query = new URLSearchParams(Object.entries(loyal).map(([k, v]): [string, string] => [k, String(v)]));
    const loyalScore = (await (await fetch(`${one.url}/predict?${query}`)).json()) as { score: number };
    expect(loyalScore.score).toBeLessThan(0.05);

    const bad = await predict(one, '{not json');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/bad request.*send JSON/);
    expect((await fetch(`${one.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${one.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${one.url}/nope`)).status).toBe(404);
    // Probes and bad requests are outside the success path; only /predict is counted.
    const samples = await metricsOf(one);
    expect(sampleValue(samples, 'http_requests_total', { code: '400' })).toBe(1);
    expect(sampleSum(samples, 'http_requests_total')).toBe(3);
  });

  it('refuses a bad knob or a missing model at start, naming it', () => {
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, [MODEL_SERVER_PATH], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
    const badRate = run({ ERROR_RATE: '2', PORT: '0' });
    expect(badRate.status).toBe(2);
    expect(badRate.stderr).toContain('ERROR_RATE=2 is not a number in [0, 1]');
    const noModel = run({ MODEL_DIR: '/nonexistent', PORT: '0' });
    expect(noModel.status).toBe(2);
    expect(noModel.stderr).toMatch(/cannot read the model from \/nonexistent\/model\.json.*MODEL_DIR/);
  });
});

interface Dashboard {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
}

/** The dashboard's PromQL with its variables filled in for the test's series. */
function dashboardQueries(): Array<{ title: string; expr: string }> {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  const fill = (expr: string): string =>
    expr.replaceAll('$namespace', 'ml').replaceAll('$model', 'churn-scorer').replaceAll('$__rate_interval', '1m');
  return dashboard.panels.flatMap((panel) => panel.targets.map((t) => ({ title: panel.title, expr: fill(t.expr) })));
}

/** Polls an instant query until `done` holds for its result, at most ~10 s; returns the last result. */
async function pollQuery(
  prometheus: ScrapingPrometheus,
  promql: string,
  done: (byTrack: Record<string, number>) => boolean,
): Promise<Record<string, number>> {
  let seen: Record<string, number> = {};
  for (let tries = 0; tries < 40; tries++) {
    seen = Object.fromEntries((await prometheus.query(promql)).map((r) => [r.metric.track ?? '', r.value]));
    if (done(seen)) break;
    await sleep(250);
  }
  return seen;
}

describe('sample Prometheus config', () => {
  it("relabels pods' namespace and app/track labels into series labels, and keeps only opted-in running pods", async () => {
    // Debian's prometheus has no Kubernetes discovery built in, so the sample's relabel rules run on static targets
    // that carry the same __meta_kubernetes_* labels the pod discovery would set.
    const config = parse(readFileSync(`${SAMPLE_DIR}prometheus/prometheus.yml`, 'utf8')) as {
      global: Record<string, string>;
      scrape_configs: Array<Record<string, unknown>>;
    };
    const job = config.scrape_configs.find((c) => c.job_name === 'model-pods');
    expect(job?.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
    const [canary, unlabelled, optedOut] = await Promise.all([server({}), server({}), server({})]);
    const pod = (target: ModelServer, name: string, extra: Record<string, string>) => ({
      // The pod IP with another port: the prometheus.io/port annotation must fix it.
      targets: ['127.0.0.1:1'],
      labels: {
        __meta_kubernetes_namespace: 'ml',
        __meta_kubernetes_pod_name: name,
        __meta_kubernetes_pod_phase: 'Running',
        __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
        __meta_kubernetes_pod_annotation_prometheus_io_port: String(target.port),
        __meta_kubernetes_pod_label_app: 'churn-scorer',
        ...extra,
      },
    });
    delete job?.kubernetes_sd_configs;
    Object.assign(job ?? {}, {
      scrape_interval: '1s',
      static_configs: [
        pod(canary, 'churn-scorer-canary-1', { __meta_kubernetes_pod_label_track: 'canary' }),
        pod(unlabelled, 'churn-scorer-1', {}),
        pod(optedOut, 'other-1', { __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'false' }),
      ],
    });
    const prometheus = await startScrapingPrometheus(config);
    try {
      await generateLoad({
        urls: [`${canary.url}/predict`, `${unlabelled.url}/predict`],
        ratePerSecond: 200,
        count: 40,
      });
      const promql = 'sum by (track) (http_requests_total{namespace="ml",app="churn-scorer"})';
      const seen = await pollQuery(prometheus, promql, (t) => t.canary === 20 && t.stable === 20);
      expect(seen).toEqual({ canary: 20, stable: 20 });
      const pods = await prometheus.query('count by (pod, track) (up{job="model-pods"})');
      expect(pods.map((r) => `${r.metric.pod}/${r.metric.track}`).sort()).toEqual([
        'churn-scorer-1/stable',
        'churn-scorer-canary-1/canary',
      ]);
    } finally {
      await prometheus.stop();
    }
  });

  it('a real Prometheus scraping a stable and a canary server sees both tracks, the canary errors, and the dashboard queries work', async () => {
    const [stable, canary] = await Promise.all([server({}), server({ ERROR_RATE: 0.2, MODEL_VERSION: '1.1.0' })]);
    const labels = (track: string) => ({ namespace: 'ml', app: 'churn-scorer', track });
    const prometheus = await startScrapingPrometheus(
      labelledScrapeConfig([
        { address: `127.0.0.1:${stable.port}`, labels: labels('stable') },
        { address: `127.0.0.1:${canary.port}`, labels: labels('canary') },
      ]),
    );
    try {
      const load = await generateLoad({
        urls: [`${stable.url}/predict`, `${canary.url}/predict`],
        weights: [75, 25],
        ratePerSecond: 300,
        durationMs: 1500,
        arrival: 'poisson',
      });
      const sent = (url: string) => Object.values(load.byUrl[url] ?? {}).reduce((a, b) => a + b, 0);
      const selector = 'namespace="ml",app="churn-scorer"';
      const expected = { stable: sent(`${stable.url}/predict`), canary: sent(`${canary.url}/predict`) };
      // A scrape after the load ended must land (scrape interval 1 s).
      const seen = await pollQuery(
        prometheus,
        `sum by (track) (http_requests_total{${selector}})`,
        (t) => t.stable === expected.stable && t.canary === expected.canary,
      );
      expect(seen).toEqual(expected);

      const errorShare = await prometheus.query(
        `sum by (track) (http_requests_total{${selector},code=~"5.."}) / sum by (track) (http_requests_total{${selector}})`,
      );
      const share = Object.fromEntries(errorShare.map((r) => [r.metric.track, r.value]));
      expect(share.canary).toBeGreaterThan(0.1);
      expect(share.stable).toBeUndefined(); // no 5xx series at all on stable
      const versions = await prometheus.query('max by (track, version) (model_info{app="churn-scorer"})');
      expect(versions.map((r) => `${r.metric.track}=${r.metric.version}`).sort()).toEqual([
        'canary=1.1.0',
        'stable=1.0.0',
      ]);

      // Every query of the shipped Grafana dashboard runs on these series (its variables filled in).
      // The dashboard's rate() panels need traffic across scrapes: keep sending while its queries run.
      const stopLoad = new AbortController();
      const moreLoad = generateLoad({
        urls: [`${stable.url}/predict`, `${canary.url}/predict`],
        weights: [75, 25],
        ratePerSecond: 200,
        durationMs: 8000,
        signal: stopLoad.signal,
      });
      try {
        const weight = dashboardQueries().find((q) => q.title === 'Canary weight')?.expr ?? '';
        // Bounded wait for the rate windows to fill with samples of both tracks, then the share must be the split.
        const inRange = (share = 0): boolean => share > 10 && share < 40;
        const seenWeight = await pollQuery(prometheus, weight, (t) => inRange(t['']));
        expect(seenWeight['']).toBeGreaterThan(10);
        expect(seenWeight['']).toBeLessThan(40); // the load sends 25% to the canary
        for (const { title, expr } of dashboardQueries()) {
          const tracks = (await prometheus.query(expr)).map((r) => r.metric.track ?? 'all');
          // Every per-track panel shows both tracks (stable's error rate is 0, not missing).
          if (/by track/.test(title)) expect([title, tracks.sort()]).toEqual([title, ['canary', 'stable']]);
        }
      } finally {
        stopLoad.abort();
        await moreLoad;
      }
    } finally {
      await prometheus.stop();
    }
  });
});

describe('Grafana dashboard', () => {
  it('is templated on namespace and model and shows the rollout annotations of the model', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      templating: { list: Array<{ name: string }> };
      annotations: { list: Array<{ target?: { type: string; tags: string[] } }> };
    } & Dashboard;
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace', 'model']);
    expect(dashboard.annotations.list.map((a) => a.target).filter(Boolean)).toEqual([
      { type: 'tags', tags: ['model-canary', 'model:$model'], matchAny: false, limit: 500 },
    ]);
    for (const { expr } of dashboard.panels.flatMap((p) => p.targets)) {
      expect(expr).toContain('namespace="$namespace"');
    }
  });
});
