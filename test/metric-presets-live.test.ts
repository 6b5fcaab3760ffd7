// Every metrics preset (but kserve), end to end: the servers' and meshes' own /metrics text (test/support/
// server-exporters.ts: real names, labels, units, suffixes and noise), scraped by a real Prometheus with the labels
// each setup adds (PodMonitor relabelling, Istio's and Linkerd's scrape configs, honor_labels for ingress-nginx),
// judged by `model-canary analyze --metrics <preset>` (the bundle, dist/cli.js). Per preset: a healthy canary
// passes, one with 5% errors fails error-rate, one twice as slow fails latency-p95, and one whose request counter
// does not exist is inconclusive, naming the metric.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { METRICS_PRESETS, type MetricsPresetName } from '../src/core/metric-presets.js';
import { CLI_ENTRY } from './support/runner.js';
import { sleep, tempDir } from './support/local.js';
import {
  labelledScrapeConfig,
  startScrapingPrometheus,
  type LabelledTarget,
  type ScrapingPrometheus,
} from './support/scraping-prometheus.js';
import {
  appMetrics,
  bentomlMetrics,
  ingressNginxMetrics,
  istioClientMetrics,
  istioSidecarMetrics,
  linkerdProxyMetrics,
  mlserverMetrics,
  serveExposition,
  torchserveMetrics,
  tritonMetrics,
  vllmMetrics,
  type Behaviour,
  type IngressRoute,
  type PodTraffic,
  type RunningExporter,
  type Workload,
} from './support/server-exporters.js';

// Every preset but kserve, whose revisions need a cluster: test/kserve-canary.test.ts runs it end to end.
const PRESETS = METRICS_PRESETS.filter((name): name is Exclude<MetricsPresetName, 'kserve'> => name !== 'kserve');
type Preset = (typeof PRESETS)[number];
type Track = 'stable' | 'canary';

/** The counter each preset counts requests with: the one a missing metric is named by. */
const REQUESTS: Record<Preset, string> = {
  app: 'http_requests_total',
  istio: 'istio_requests_total',
  linkerd: 'response_total',
  'ingress-nginx': 'nginx_ingress_controller_requests',
  triton: 'nv_inference_request_success',
  torchserve: 'ts_inference_requests_total',
  mlserver: 'rest_server_requests_total',
  vllm: 'http_requests_total',
  bentoml: 'bentoml_service_request_total',
};
/** Triton and TorchServe export no latency histogram: no latency gate, no slow case. */
const WITHOUT_HISTOGRAM = new Set<Preset>(['triton', 'torchserve']);
/** The p95 the stable's latency reads as, in seconds whatever the histogram's unit (ms for the meshes). */
const P95_SECONDS: Record<Preset, [number, number]> = Object.fromEntries(
  PRESETS.map((preset) => [preset, preset === 'vllm' ? [2, 6] : [0.05, 0.2]]),
) as Record<Preset, [number, number]>;

const STABLE: Behaviour = { rps: 200, errorFraction: 0.001, slowdown: 1 };
/** A canary at a third of the traffic, as at a 33% step. */
const CANARY: Behaviour = { rps: 100, errorFraction: 0.001, slowdown: 1 };

const CASES = {
  healthy: { canary: CANARY, missing: false },
  errors: { canary: { ...CANARY, errorFraction: 0.05 }, missing: false },
  slow: { canary: { ...CANARY, slowdown: 2 }, missing: false },
  missing: { canary: CANARY, missing: true },
} as const;
type CaseName = keyof typeof CASES;

interface Scenario {
  name: string;
  preset: Preset;
  case: CaseName;
  /** One namespace per case; one model per preset (so series never mix). */
  namespace: string;
  model: string;
  /** TorchServe built with simpleclient >= 0.10 (`Requests5XX_total`). */
  newJavaClient?: boolean;
}

const SCENARIOS: Scenario[] = [
  ...PRESETS.flatMap((preset) =>
    (Object.keys(CASES) as CaseName[])
      .filter((name) => name !== 'slow' || !WITHOUT_HISTOGRAM.has(preset))
      .map((name) => ({
        name: `${preset} ${name}`,
        preset,
        case: name,
        namespace: `ml-${name}`,
        model: `churn-${preset}`,
      })),
  ),
  ...(['healthy', 'errors'] as const).map((name) => ({
    name: `torchserve (simpleclient >= 0.10) ${name}`,
    preset: 'torchserve' as const,
    case: name,
    namespace: `ml-${name}`,
    model: 'churn-torchserve-new',
    newJavaClient: true,
  })),
];

/** Enough requests per track in the analysis window that every verdict is decided, not waiting for data. */
const WINDOW = '20s';
const READY_REQUESTS = 500; // 5× the default gates' min-requests
const ANALYZE_AT_ONCE = 4;

/** The Deployment a track runs as (meshes name series by it). */
const workloadOf = (s: Scenario, track: Track) => (track === 'stable' ? s.model : `${s.model}-canary`);

/** The series of one track's request counter, as the preset selects it (written here, not taken from src/). */
function requestsSelector(s: Scenario, track: Track): string {
  switch (s.preset) {
    case 'istio':
      return `reporter="destination",destination_workload_namespace="${s.namespace}",destination_workload="${workloadOf(s, track)}"`;
    case 'linkerd':
      return `direction="inbound",namespace="${s.namespace}",deployment="${workloadOf(s, track)}"`;
    case 'ingress-nginx':
      return `namespace="${s.namespace}",ingress="${s.model}",canary${track === 'canary' ? '!=' : '='}""`;
    case 'vllm':
      return `namespace="${s.namespace}",app="${s.model}",track="${track}",handler=~"/v1/.+"`;
    default:
      return `namespace="${s.namespace}",app="${s.model}",track="${track}"`;
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface GateReport {
  name: string;
  result: string;
  canary: number | null;
  baseline: number | null;
  samples: number | null;
  reason: string;
}

interface Report {
  verdict: string;
  gates: GateReport[];
}

const work = tempDir('metric-presets');

/** `model-canary <args>` from the bundle, in an empty directory (no config file, no cluster); resolves on 'close'. */
function cli(args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: join(work.path, 'no-kubeconfig') };
  for (const key of Object.keys(env)) if (key.startsWith('MODEL_CANARY_') || key.startsWith('INPUT_')) delete env[key];
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      cwd: work.path,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Runs `task` over `items`, `limit` at a time (two cores: each CLI start costs about half a second of CPU). */
async function inPool<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

let prometheus: ScrapingPrometheus | undefined;
const exporters: RunningExporter[] = [];
const runs = new Map<string, Run>();
const started = Date.now();
let readyAfterMs = 0;

/** Every simulated pod of every scenario, its exporter, and the scrape targets a real setup would give them. */
async function startWorld(): Promise<{ targets: LabelledTarget[]; ingress: LabelledTarget }> {
  const targets: LabelledTarget[] = [];
  const istioCalls: Array<{ destination: Workload; traffic: PodTraffic }> = [];
  const routes: IngressRoute[] = [];
  const frontend: Workload = { namespace: 'web', name: 'frontend', app: 'frontend' };
  const serve = async (render: (now: number) => string, labels: Record<string, string>, path = '/metrics') => {
    const exporter = await serveExposition(render, path);
    exporters.push(exporter);
    const pathLabel: Record<string, string> = path === '/metrics' ? {} : { __metrics_path__: path };
    targets.push({ address: exporter.address, labels: { ...labels, ...pathLabel } });
  };
  let ip = 10;
  for (const s of SCENARIOS) {
    const pods: Record<Track, PodTraffic> = {
      // The stable has run for an hour, the canary for two minutes: counters far from zero, as in a cluster.
      stable: { behaviour: STABLE, startedAt: started - 3_600_000 },
      canary: {
        behaviour: CASES[s.case].canary,
        startedAt: started - 120_000,
        ...(CASES[s.case].missing ? { omit: [REQUESTS[s.preset]] } : {}),
      },
    };
    if (s.preset === 'ingress-nginx') {
      routes.push({
        namespace: s.namespace,
        ingress: s.model,
        service: s.model,
        stable: pods.stable,
        ...(CASES[s.case].missing ? {} : { canary: pods.canary }),
      });
      continue;
    }
    for (const track of ['stable', 'canary'] as const) {
      const pod = pods[track];
      const deployment = workloadOf(s, track);
      const podName = `${deployment}-6f7d8c9b5-${track === 'stable' ? 'k2x7q' : 'p9m4z'}`;
      // The PodMonitor's relabelling (workflows-examples/sample-model/prometheus): namespace, pod, app, track.
      const podLabels = { namespace: s.namespace, pod: podName, app: s.model, track };
      switch (s.preset) {
        case 'app':
          await serve((now) => appMetrics(pod, now), podLabels);
          break;
        case 'triton':
          await serve((now) => tritonMetrics(pod, now), podLabels);
          break;
        case 'torchserve': {
          const options = { hostname: podName, javaClient: s.newJavaClient ? ('0.16' as const) : ('0.9' as const) };
          await serve((now) => torchserveMetrics(pod, now, options), podLabels);
          break;
        }
        case 'mlserver':
          await serve((now) => mlserverMetrics(pod, now), podLabels);
          break;
        case 'vllm':
          await serve((now) => vllmMetrics(pod, now), podLabels);
          break;
        case 'bentoml': {
          const options = { service: 'ChurnClassifier', version: track === 'stable' ? 'q3x5lkr7ug' : 'w2n6fds4bk' };
          await serve((now) => bentomlMetrics(pod, now, options), podLabels);
          break;
        }
        case 'istio': {
          // A PodMonitor on the sidecar's http-envoy-prom port: the pod's namespace and name, nothing of the model.
          const self: Workload = { namespace: s.namespace, name: deployment, app: s.model };
          istioCalls.push({ destination: self, traffic: pod });
          const labels = { namespace: s.namespace, pod: podName, container: 'istio-proxy' };
          await serve((now) => istioSidecarMetrics(pod, now, self, frontend), labels, '/stats/prometheus');
          break;
        }
        case 'linkerd': {
          // Linkerd's scrape config (linkerd-viz): namespace, pod, and deployment from linkerd.io/proxy-deployment.
          const options = { ip: `10.0.3.${ip++}`, port: 8080, client: frontend };
          const labels = { namespace: s.namespace, pod: podName, deployment, container: 'linkerd-proxy' };
          await serve((now) => linkerdProxyMetrics(pod, now, options), labels);
          break;
        }
      }
    }
  }
  // The frontend's sidecar reports the same requests from the client side (reporter="source").
  await serve(
    (now) => istioClientMetrics(istioCalls, now, frontend),
    { namespace: 'web', pod: 'frontend-7b9c-x4kq2' },
    '/stats/prometheus',
  );
  const controllerPod = 'ingress-nginx-controller-5c8d7b9f6-hn2lw';
  const controller = await serveExposition((now) => ingressNginxMetrics(routes, now, controllerPod));
  exporters.push(controller);
  // A ServiceMonitor on the controller: its own namespace and pod as target labels, honorLabels so the Ingress's
  // namespace label wins over the controller's.
  const ingress = { address: controller.address, labels: { namespace: 'ingress-nginx', pod: controllerPod } };
  return { targets, ingress };
}

/** Polls Prometheus until every track of every scenario (but the missing canaries) served READY_REQUESTS in WINDOW. */
async function waitForTraffic(prom: ScrapingPrometheus): Promise<void> {
  const checks = SCENARIOS.flatMap((s) =>
    (['stable', 'canary'] as const)
      .filter((track) => !(track === 'canary' && CASES[s.case].missing))
      .map((track) => ({
        what: `${s.name} ${track}`,
        query: `sum(increase(${REQUESTS[s.preset]}{${requestsSelector(s, track)}}[${WINDOW}]))`,
      })),
  );
  const deadline = Date.now() + 90_000;
  let short: string[] = checks.map((check) => check.what);
  while (short.length > 0) {
    if (Date.now() > deadline)
      throw new Error(`no ${READY_REQUESTS} requests in ${WINDOW} after 90 s for: ${short.join('; ')}`);
    await sleep(1000);
    const values = await Promise.all(
      checks.map((check) => prom.query(check.query).then((result) => result[0]?.value ?? 0)),
    );
    short = checks.flatMap((check, i) =>
      values[i]! < READY_REQUESTS ? [`${check.what} (${Math.round(values[i]!)})`] : [],
    );
  }
}

const analyzeArgs = (s: Scenario, extra: string[] = []) => [
  'analyze',
  '--model',
  s.model,
  '--namespace',
  s.namespace,
  '--metrics',
  s.preset,
  '--prometheus-url',
  prometheus!.url,
  '--interval',
  WINDOW,
  '--output',
  'json',
  // ingress-nginx tells the tracks apart by the canary Ingress, which only the nginx router makes.
  ...(s.preset === 'ingress-nginx' ? ['--router', 'nginx'] : []),
  ...extra,
];

beforeAll(async () => {
  const { targets, ingress } = await startWorld();
  const config = labelledScrapeConfig(targets, 1) as { scrape_configs: object[] };
  config.scrape_configs.push({
    job_name: 'ingress-nginx',
    honor_labels: true,
    static_configs: [{ targets: [ingress.address], labels: ingress.labels }],
  });
  prometheus = await startScrapingPrometheus(config);
  await waitForTraffic(prometheus);
  readyAfterMs = Date.now() - started;
  const results = await inPool(SCENARIOS, ANALYZE_AT_ONCE, (s) => cli(analyzeArgs(s)));
  SCENARIOS.forEach((s, i) => runs.set(s.name, results[i]!));
}, 150_000);

afterAll(async () => {
  await prometheus?.stop();
  await Promise.all(exporters.map((exporter) => exporter.close()));
  work.remove();
});

function reportOf(s: Scenario): { run: Run; report: Report; gate: (name: string) => GateReport } {
  const run = runs.get(s.name);
  if (!run) throw new Error(`${s.name} did not run`);
  let report: Report;
  try {
    report = JSON.parse(run.stdout) as Report;
  } catch {
    throw new Error(`${s.name}: exit ${run.code}, stdout is not JSON:\n${run.stdout}\n${run.stderr}`);
  }
  const gate = (name: string) => {
    const found = report.gates.find((g) => g.name === name);
    if (!found) throw new Error(`${s.name}: no gate ${name} in ${JSON.stringify(report.gates)}`);
    return found;
  };
  return { run, report, gate };
}

const scenarios = (name: CaseName) => SCENARIOS.filter((s) => s.case === name).map((s) => [s.name, s] as const);

describe('analyze --metrics <preset> against each server’s own metrics, scraped by a real Prometheus', () => {
  it('every track’s traffic reached Prometheus, within the deadline, before the analyses ran', () => {
    expect(readyAfterMs).toBeLessThan(90_000);
    expect(runs.size).toBe(SCENARIOS.length);
  });

  it.each(scenarios('healthy'))('%s: a canary like the stable passes (exit 0)', (_name, s) => {
    const { run, report, gate } = reportOf(s);
    expect({ code: run.code, verdict: report.verdict }).toEqual({ code: 0, verdict: 'pass' });
    const expected = WITHOUT_HISTOGRAM.has(s.preset) ? ['error-rate'] : ['error-rate', 'latency-p95'];
    expect(report.gates.map((g) => g.name)).toEqual(expected);
    for (const g of report.gates) expect({ gate: g.name, result: g.result }).toEqual({ gate: g.name, result: 'pass' });
    // The error rate is the share of failed model requests, health checks and metadata calls aside.
    const errors = gate('error-rate');
    expect(errors.canary).toBeLessThan(0.004);
    expect(errors.baseline).toBeGreaterThan(0);
    expect(errors.baseline).toBeLessThan(0.003);
    expect(errors.samples).toBeGreaterThanOrEqual(100);
    if (!WITHOUT_HISTOGRAM.has(s.preset)) {
      // Seconds, whatever the histogram's unit: the meshes' milliseconds are divided by 1000.
      const [low, high] = P95_SECONDS[s.preset];
      const p95 = gate('latency-p95');
      for (const value of [p95.canary, p95.baseline]) {
        expect(value).toBeGreaterThan(low);
        expect(value).toBeLessThan(high);
      }
    }
  });

  it.each(scenarios('errors'))('%s: 5% errors vs 0.1% fails error-rate (exit 3)', (_name, s) => {
    const { run, report, gate } = reportOf(s);
    expect({ code: run.code, verdict: report.verdict }).toEqual({ code: 3, verdict: 'fail' });
    const errors = gate('error-rate');
    expect(errors.result).toBe('fail');
    expect(errors.canary).toBeGreaterThan(0.03);
    expect(errors.canary).toBeLessThan(0.07);
    expect(errors.baseline).toBeLessThan(0.002);
    if (!WITHOUT_HISTOGRAM.has(s.preset)) expect(gate('latency-p95').result).toBe('pass');
  });

  it.each(scenarios('slow'))('%s: a canary twice as slow fails latency-p95, error-rate passes (exit 3)', (_name, s) => {
    const { run, report, gate } = reportOf(s);
    expect({ code: run.code, verdict: report.verdict }).toEqual({ code: 3, verdict: 'fail' });
    const p95 = gate('latency-p95');
    expect(p95.result).toBe('fail');
    expect(p95.canary! / p95.baseline!).toBeGreaterThan(1.5);
    expect(gate('error-rate').result).toBe('pass');
  });

  it.each(scenarios('missing'))(
    '%s: no request counter for the canary is inconclusive, naming the metric (exit 4)',
    (_name, s) => {
      const { run, report, gate } = reportOf(s);
      expect({ code: run.code, verdict: report.verdict }).toEqual({ code: 4, verdict: 'inconclusive' });
      const errors = gate('error-rate');
      expect(errors.result).toBe('inconclusive');
      expect(errors.reason).toContain('not found for the canary');
      expect(errors.reason).toContain(REQUESTS[s.preset]);
      // Every gate, latency included (its min-requests counts the same requests), names the missing counter.
      for (const g of report.gates) {
        expect(g.result).toBe('inconclusive');
        expect(g.reason).toMatch(/^metrics? .* not found for the canary/);
        expect(g.reason).toContain(REQUESTS[s.preset]);
      }
    },
  );

  it('a gate the preset cannot serve is bad input (exit 2), naming the gate', async () => {
    const triton = SCENARIOS.find((s) => s.preset === 'triton' && s.case === 'healthy')!;
    const run = await cli(analyzeArgs(triton, ['--gates', '[{name: latency-p95, max: 1}]']));
    expect(run.code).toBe(2);
    expect(`${run.stdout}${run.stderr}`).toMatch(/latency-p95/);
    expect(`${run.stdout}${run.stderr}`).toMatch(/triton/i);
  });
});
