// The /metrics (or /stats/prometheus) text of the model servers, meshes and ingress controller the metric presets
// read, as each one writes it: family names, label names and their order, `# TYPE`s, units, suffixes, the number
// formatting of its Prometheus client, and the noise next to the model's traffic (health checks, metadata calls,
// outbound calls, other families). Each server's sources (repository and path, or documentation) are cited on its
// function; what those sources leave UNCONFIRMED is said so there.
//
// The counters depend on elapsed wall time only: a pod started at `startedAt` has answered floor(rps × seconds)
// requests, floor(requests × errorFraction) of them failed, and its latency histograms hold those requests spread
// over a fixed log-normal distribution stretched by `slowdown`. So two pods with the same behaviour expose the same
// numbers, and a canary twice as slow has every observation twice as long.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from './local.js';

/** What one pod (or one track behind the ingress) does. */
export interface Behaviour {
  /** Model requests answered per second. */
  rps: number;
  /** Share of them that fail with a server error (5xx, or the server's own failure count). */
  errorFraction: number;
  /** Latency multiplier over the server's base distribution: 2 = every request twice as long. */
  slowdown: number;
}

export interface PodTraffic {
  behaviour: Behaviour;
  /** Epoch ms the pod started; its counters count from here. */
  startedAt: number;
  /** Families left out of the exposition, named as their `# TYPE` line names them (a missing metric). */
  omit?: readonly string[];
}

/** A log-normal latency: half the requests are faster than the median; sigma is the spread of ln(seconds). */
export interface LatencyDistribution {
  medianSeconds: number;
  sigma: number;
}

/** Fast tabular-model inference behind HTTP: p50 40 ms, p95 ≈ 90 ms. */
export const MODEL_LATENCY: LatencyDistribution = { medianSeconds: 0.04, sigma: 0.5 };
/** An LLM completion end to end: p50 1.5 s, p95 ≈ 3.4 s. */
export const LLM_LATENCY: LatencyDistribution = { medianSeconds: 1.5, sigma: 0.5 };

/** The model's name inside the server (Triton's `model`, TorchServe's `model_name`, the V2 path...). */
export const SERVED_MODEL = 'churn';

// ---------------------------------------------------------------------------------------------------------------
// Counts as a function of time

interface Counts {
  requests: number;
  errors: number;
  ok: number;
}

function countsAt(pod: PodTraffic, now: number): Counts {
  const seconds = Math.max(0, (now - pod.startedAt) / 1000);
  const requests = Math.floor(pod.behaviour.rps * seconds);
  // floor(n × f) grows by at most 1 when n does, so errors and ok = requests - errors never go down.
  const errors = Math.floor(requests * pod.behaviour.errorFraction);
  return { requests, errors, ok: requests - errors };
}

/** Something that happens `perSecond` times a second since `startedAt` (probes, scrapes, metadata calls). */
function ticks(pod: PodTraffic, now: number, perSecond: number): number {
  return Math.floor((Math.max(0, now - pod.startedAt) / 1000) * perSecond);
}

/** erf, Abramowitz & Stegun 7.1.26 (error < 1.5e-7). */
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return sign * (1 - poly * Math.exp(-a * a));
}

/** Share of requests at or under `seconds` for the distribution stretched by `slowdown`. */
function latencyCdf(latency: LatencyDistribution, slowdown: number, seconds: number): number {
  if (seconds <= 0) return 0;
  const z = (Math.log(seconds / slowdown) - Math.log(latency.medianSeconds)) / latency.sigma;
  return 0.5 * (1 + erf(z / Math.SQRT2));
}

function meanSeconds(latency: LatencyDistribution, slowdown: number): number {
  return latency.medianSeconds * Math.exp((latency.sigma * latency.sigma) / 2) * slowdown;
}

interface HistogramShape {
  /** Upper bounds in the histogram's own unit, +Inf left out. */
  bounds: readonly number[];
  /** How many of the unit make a second (1000 for milliseconds). */
  unitsPerSecond: number;
  latency: LatencyDistribution;
}

/** Cumulative bucket counts (the +Inf one last), count and sum of `n` observations. */
function histogramOf(shape: HistogramShape, slowdown: number, n: number, scale = 1) {
  const buckets = shape.bounds.map((bound) =>
    Math.floor(n * latencyCdf(shape.latency, slowdown * scale, bound / shape.unitsPerSecond)),
  );
  return {
    buckets: [...buckets, n],
    count: n,
    sum: n * meanSeconds(shape.latency, slowdown * scale) * shape.unitsPerSecond,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Text exposition, in each client library's own style

type Labels = Array<[string, string]>;

interface Style {
  /** Renders a sample's value. */
  value(value: number): string;
  /** Renders a bucket bound for `le`. */
  le(bound: number): string;
  /** Java simpleclient closes every label set with `,}`. */
  trailingComma?: boolean;
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * Python prometheus_client floatToGoString: repr(float), so 12 -> "12.0"; +Inf; and Go's exponent form once the
 * integer part has more than 6 digits (1712345678.5 -> "1.7123456785e+09").
 */
function pythonFloat(value: number): string {
  if (value === Infinity) return '+Inf';
  const repr = Number.isInteger(value) && Math.abs(value) < 1e16 ? `${value}.0` : String(value);
  const dot = repr.indexOf('.');
  if (value > 0 && dot > 6 && !repr.includes('e')) {
    const mantissa = `${repr[0]}.${repr.slice(1, dot)}${repr.slice(dot + 1)}`.replace(/\.?0+$/, '');
    return `${mantissa}e+0${dot - 1}`;
  }
  return repr;
}
/**
 * Java Double.toString, which simpleclient's doubleToGoString uses for finite values: "12.0", and scientific with a
 * capital E outside [1e-3, 1e7) ("3.2634675448E10").
 */
function javaDouble(value: number): string {
  if (value === Infinity) return '+Inf';
  const magnitude = Math.abs(value);
  if (value === 0 || (magnitude >= 1e-3 && magnitude < 1e7))
    return Number.isInteger(value) ? `${value}.0` : String(value);
  const [mantissa = '', exponent = ''] = value.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace('+', '')}`;
}
/** Go strconv 'g' / Rust / C++ shortest form: 12 -> "12", 0.005 -> "0.005". */
const shortFloat = (value: number) => (value === Infinity ? '+Inf' : String(value));

/** prometheus/client_python (MLServer, vLLM, BentoML). */
const PYTHON: Style = { value: pythonFloat, le: pythonFloat };
/** prometheus/client_golang (ingress-nginx): label pairs sorted by name, `le` last. */
const GO: Style = { value: shortFloat, le: shortFloat };
/** jupp0r/prometheus-cpp (Triton). */
const CPP: Style = { value: shortFloat, le: shortFloat };
/** prometheus/client_java simpleclient (TorchServe): doubles, and a trailing comma in label sets. */
const JAVA: Style = { value: javaDouble, le: javaDouble, trailingComma: true };
/** Envoy's Prometheus admin output (Istio): integer counts, the sum as a double. */
const ENVOY: Style = { value: shortFloat, le: shortFloat };
/** linkerd2-proxy (Rust): integer counts and bounds. */
const RUST: Style = { value: shortFloat, le: shortFloat };

const sortedByName = (labels: Labels): Labels => [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

class Exposition {
  private readonly lines: string[] = [];
  private readonly omit: ReadonlySet<string>;

  constructor(
    private readonly style: Style,
    omit: readonly string[] = [],
  ) {
    this.omit = new Set(omit);
  }

  private labelText(labels: Labels): string {
    if (labels.length === 0) return '';
    const pairs = labels.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(',');
    return `{${pairs}${this.style.trailingComma ? ',' : ''}}`;
  }

  private header(family: string, type: string, help: string): boolean {
    if (this.omit.has(family)) return false;
    // Envoy writes no HELP lines.
    if (help !== '') this.lines.push(`# HELP ${family} ${help}`);
    this.lines.push(`# TYPE ${family} ${type}`);
    return true;
  }

  sample(name: string, labels: Labels, value: number): void {
    this.lines.push(`${name}${this.labelText(labels)} ${this.style.value(value)}`);
  }

  /** A counter or gauge family; `name` is the sample name when it differs from the family (Java's `_total`). */
  scalar(
    family: string,
    type: 'counter' | 'gauge',
    help: string,
    series: Array<[Labels, number]>,
    name = family,
  ): void {
    if (!this.header(family, type, help)) return;
    for (const [labels, value] of series) this.sample(name, labels, value);
  }

  /** A summary without quantiles (Python's Summary): `_count` and `_sum` per series. */
  summary(family: string, help: string, series: Array<[Labels, number, number]>): void {
    if (!this.header(family, 'summary', help)) return;
    for (const [labels, count, sum] of series) {
      this.sample(`${family}_count`, labels, count);
      this.sample(`${family}_sum`, labels, sum);
    }
  }

  /** A histogram family: `_bucket` (le last) per series, then `_count` and `_sum` (or the server's own order). */
  histogram(
    family: string,
    help: string,
    shape: HistogramShape,
    series: Array<{ labels: Labels; n: number; slowdown: number; scale?: number }>,
    order: 'count-sum' | 'sum-count' = 'count-sum',
    integerSum = false,
  ): void {
    if (!this.header(family, 'histogram', help)) return;
    for (const { labels, n, slowdown, scale } of series) {
      const h = histogramOf(shape, slowdown, n, scale);
      const bounds = [...shape.bounds, Infinity];
      h.buckets.forEach((count, i) =>
        this.sample(`${family}_bucket`, [...labels, ['le', this.style.le(bounds[i]!)]], count),
      );
      const sum = integerSum ? Math.round(h.sum) : Number(h.sum.toFixed(6));
      const tail: Array<[string, number]> = [
        [`${family}_count`, h.count],
        [`${family}_sum`, sum],
      ];
      if (order === 'sum-count') tail.reverse();
      for (const [name, value] of tail) this.sample(name, labels, value);
    }
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Bucket bounds

/** prometheus_client's DEFAULT_BUCKETS (MLServer's starlette_exporter, BentoML's default duration buckets). */
const PYTHON_DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** client_golang's DefBuckets, ingress-nginx's default --time-buckets. */
const GO_DEF_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The contract's sample model (workflows-examples/sample-model/server/server.mjs LATENCY_BUCKETS). */
const APP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** vllm/v1/metrics/loggers.py: request_latency_buckets of vllm:e2e_request_latency_seconds. */
const VLLM_E2E_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];
/** prometheus-fastapi-instrumentator defaults: latency_lowr_buckets and latency_highr_buckets. */
const INSTRUMENTATOR_LOWR = [0.1, 0.5, 1];
const INSTRUMENTATOR_HIGHR = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 7.5, 10, 30, 60,
];
/** envoyproxy/envoy source/common/stats/histogram_impl.cc HistogramSettingsImpl::defaultBuckets (ms for Istio). */
const ENVOY_BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];
/** linkerd/linkerd2-proxy linkerd/metrics/src/latency.rs BOUNDS (ms). Older proxies had 1,2,3,4,5,10,20,...50000. */
const LINKERD_BUCKETS = [1, 10, 50, 100, 200, 300, 400, 500, 1000, 5000, 10000];

// ---------------------------------------------------------------------------------------------------------------
// The servers

/**
 * The contract's own conventions (CONTRACT.md metric conventions), as the sample model writes them
 * (workflows-examples/sample-model/server/server.mjs): http_requests_total{code} over prediction requests only
 * (probes and scrapes are not counted), the histogram http_request_duration_seconds. A code's series appears once
 * a request had it.
 */
export function appMetrics(pod: PodTraffic, now: number): string {
  const c = countsAt(pod, now);
  const out = new Exposition(GO, pod.omit);
  const byCode: Array<[Labels, number]> = [[[['code', '200']], c.ok]];
  if (c.errors > 0) byCode.push([[['code', '500']], c.errors]);
  out.scalar(
    'http_requests_total',
    'counter',
    'Prediction requests by HTTP status code (probes and scrapes are not counted).',
    byCode,
  );
  out.histogram(
    'http_request_duration_seconds',
    'Time to answer a prediction request.',
    { bounds: APP_BUCKETS, unitsPerSecond: 1, latency: MODEL_LATENCY },
    [{ labels: [], n: c.requests, slowdown: pod.behaviour.slowdown }],
    'sum-count',
  );
  out.histogram(
    'model_prediction_score',
    'Scores of valid predictions.',
    { bounds: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], unitsPerSecond: 1, latency: MODEL_LATENCY },
    [{ labels: [], n: c.ok, slowdown: 1, scale: 6 }],
    'sum-count',
  );
  out.scalar('model_invalid_predictions_total', 'counter', 'Predictions that came out invalid.', [[[], 0]]);
  return out.text();
}

/**
 * NVIDIA Triton (port 8002): triton-inference-server/core src/metrics.cc and server docs/user_guide/metrics.md.
 * prometheus-cpp writes counters without `_total`; labels `model`, `version`, and `reason` on failures (REJECTED,
 * CANCELED, BACKEND, OTHER; 2024 docs); no latency histogram, only cumulative microseconds. A batch counts once in
 * the request counters. Failures are written for every reason from the start (UNCONFIRMED: they may appear only
 * once one happened).
 */
export function tritonMetrics(pod: PodTraffic, now: number): string {
  const c = countsAt(pod, now);
  const out = new Exposition(CPP, pod.omit);
  const model: Labels = [
    ['model', SERVED_MODEL],
    ['version', '1'],
  ];
  const meanUs = meanSeconds(MODEL_LATENCY, pod.behaviour.slowdown) * 1e6;
  out.scalar('nv_inference_request_success', 'counter', 'Number of successful inference requests, all batch sizes', [
    [model, c.ok],
  ]);
  out.scalar(
    'nv_inference_request_failure',
    'counter',
    'Number of failed inference requests, all batch sizes',
    (['BACKEND', 'CANCELED', 'OTHER', 'REJECTED'] as const).map((reason) => [
      sortedByName([...model, ['reason', reason]]),
      reason === 'BACKEND' ? c.errors : 0,
    ]),
  );
  out.scalar('nv_inference_count', 'counter', 'Number of inferences performed (does not include cached requests)', [
    [model, c.ok],
  ]);
  out.scalar(
    'nv_inference_exec_count',
    'counter',
    'Number of model executions performed (does not include cached requests)',
    [[model, c.ok]],
  );
  out.scalar(
    'nv_inference_request_duration_us',
    'counter',
    'Cumulative inference request duration in microseconds (includes cached requests)',
    [[model, Math.round(c.ok * meanUs)]],
  );
  out.scalar(
    'nv_inference_queue_duration_us',
    'counter',
    'Cumulative inference queuing duration in microseconds (includes cached requests)',
    [[model, Math.round(c.ok * meanUs * 0.05)]],
  );
  for (const [stage, share] of [
    ['input', 0.05],
    ['infer', 0.85],
    ['output', 0.05],
  ] as const) {
    out.scalar(
      `nv_inference_compute_${stage}_duration_us`,
      'counter',
      `Cumulative compute ${stage} duration in microseconds (does not include cached requests)`,
      [[model, Math.round(c.ok * meanUs * share)]],
    );
  }
  out.scalar(
    'nv_inference_pending_request_count',
    'gauge',
    'Instantaneous number of pending requests awaiting execution per-model.',
    [[model, 0]],
  );
  out.scalar('nv_cpu_utilization', 'gauge', 'CPU utilization rate [0.0 - 1.0]', [[[], 0.42]]);
  out.scalar('nv_cpu_memory_total_bytes', 'gauge', 'CPU total memory (RAM), in bytes', [[[], 8_338_608_128]]);
  out.scalar('nv_cpu_memory_used_bytes', 'gauge', 'CPU used memory (RAM), in bytes', [[[], 2_147_483_648]]);
  return out.text();
}

export interface TorchServeOptions {
  /** The pod's hostname, in the `hostname`/`Hostname` labels. */
  hostname: string;
  /**
   * The Java client TorchServe was built with: simpleclient 0.9 (the metrics_api.md sample: `Requests5XX`, no
   * `_total`) or >= 0.10 (counters gain `_total`: `Requests5XX_total`, `# TYPE Requests5XX counter`).
   */
  javaClient?: '0.9' | '0.16';
}

/**
 * TorchServe with metrics_mode=prometheus (port 8082): pytorch/serve ts/configs/metrics.yaml, docs/metrics_api.md,
 * frontend InferenceRequestHandler.java (ts_inference_requests_total counts every request received for a known
 * model, failed ones too) and util/NettyUtils.java (Requests2XX/4XX/5XX per host, every response: /ping health
 * checks count as 2XX, unknown-model 404s as 4XX). Labels model_name, model_version ("default"), hostname; host
 * metrics Level="Host", Hostname. No latency histogram, only cumulative microseconds and last-value gauges.
 */
export function torchserveMetrics(pod: PodTraffic, now: number, options: TorchServeOptions): string {
  const c = countsAt(pod, now);
  const out = new Exposition(JAVA, pod.omit);
  const newClient = options.javaClient === '0.16';
  /** A counter the way the Java client writes it: family name and sample name. */
  const counter = (name: string, help: string, series: Array<[Labels, number]>) => {
    const base = name.replace(/_total$/, '');
    out.scalar(newClient ? base : name, 'counter', help, series, newClient ? `${base}_total` : name);
  };
  const model: Labels = [
    ['model_name', SERVED_MODEL],
    ['model_version', 'default'],
    ['hostname', options.hostname],
  ];
  const host: Labels = [
    ['Level', 'Host'],
    ['Hostname', options.hostname],
  ];
  const meanUs = meanSeconds(MODEL_LATENCY, pod.behaviour.slowdown) * 1e6;
  const pings = ticks(pod, now, 0.2); // kubelet probes GET /ping every 5 s
  const unknownModel = ticks(pod, now, 0.1); // clients asking for a model that is not registered: 404
  counter('ts_inference_requests_total', 'Total number of inference requests.', [[model, c.requests]]);
  counter('ts_inference_latency_microseconds', 'Cumulative inference duration in microseconds', [
    [model, Math.round(c.requests * meanUs)],
  ]);
  counter('ts_queue_latency_microseconds', 'Cumulative queue duration in microseconds', [
    [model, Math.round(c.requests * meanUs * 0.05)],
  ]);
  counter('Requests2XX', 'Torchserve prometheus counter metric with unit: Count', [[host, c.ok + pings]]);
  counter('Requests4XX', 'Torchserve prometheus counter metric with unit: Count', [[host, unknownModel]]);
  // simpleclient writes a labelled child only once it was incremented: no Requests5XX before the first failure.
  if (c.errors > 0) counter('Requests5XX', 'Torchserve prometheus counter metric with unit: Count', [[host, c.errors]]);
  const gauge = (name: string, unit: string, labels: Labels, value: number) =>
    out.scalar(name, 'gauge', `Torchserve prometheus gauge metric with unit: ${unit}`, [[labels, value]]);
  gauge('CPUUtilization', 'Percent', host, 37.5);
  gauge('MemoryUsed', 'Megabytes', host, 2048);
  gauge('WorkerThreadTime', 'Milliseconds', host, 1);
  const modelGauge: Labels = [
    ['ModelName', SERVED_MODEL],
    ['Level', 'Model'],
    ['Hostname', options.hostname],
  ];
  gauge('HandlerTime', 'ms', modelGauge, Number((meanUs / 1000).toFixed(2)));
  gauge('PredictionTime', 'ms', modelGauge, Number((meanUs / 1000).toFixed(2)));
  return out.text();
}

/**
 * Seldon MLServer (metrics port 8082): SeldonIO/MLServer mlserver/rest/app.py, mlserver/metrics/server.py and
 * handlers/dataplane.py; stephenhillier/starlette_exporter middleware.py (labels method, path, status_code,
 * app_name, in that order; `path` is the raw URL since MLServer does not group paths; /v2/health/live and
 * /v2/health/ready are skipped, per-model ready checks are not). prometheus_client writes `_total` and `_created`.
 */
export function mlserverMetrics(pod: PodTraffic, now: number): string {
  const c = countsAt(pod, now);
  const out = new Exposition(PYTHON, pod.omit);
  const created = pod.startedAt / 1000;
  const infer = `/v2/models/${SERVED_MODEL}/infer`;
  const ready = ticks(pod, now, 0.2); // GET /v2/models/churn/ready from a readiness probe
  const metadata = ticks(pod, now, 0.05); // clients reading the model's metadata
  const rest = (method: string, path: string, status: number): Labels => [
    ['method', method],
    ['path', path],
    ['status_code', String(status)],
    ['app_name', 'mlserver'],
  ];
  const requestSeries: Array<[Labels, number]> = [
    [rest('POST', infer, 200), c.ok],
    [rest('POST', infer, 500), c.errors],
    [rest('GET', `/v2/models/${SERVED_MODEL}/ready`, 200), ready],
    [rest('GET', `/v2/models/${SERVED_MODEL}`, 200), metadata],
  ];
  out.scalar('rest_server_requests_total', 'counter', 'Total HTTP requests', requestSeries);
  out.scalar(
    'rest_server_requests_created',
    'gauge',
    'Total HTTP requests',
    requestSeries.map(([labels]) => [labels, created]),
  );
  const shape = { bounds: PYTHON_DEFAULT_BUCKETS, unitsPerSecond: 1, latency: MODEL_LATENCY };
  out.histogram('rest_server_request_duration_seconds', 'HTTP request duration, in seconds', shape, [
    { labels: rest('POST', infer, 200), n: c.ok, slowdown: pod.behaviour.slowdown },
    { labels: rest('POST', infer, 500), n: c.errors, slowdown: pod.behaviour.slowdown },
    { labels: rest('GET', `/v2/models/${SERVED_MODEL}/ready`, 200), n: ready, slowdown: 1, scale: 0.02 },
    { labels: rest('GET', `/v2/models/${SERVED_MODEL}`, 200), n: metadata, slowdown: 1, scale: 0.05 },
  ]);
  out.scalar('rest_server_requests_in_progress', 'gauge', 'Total HTTP requests currently in progress', [
    [
      [
        ['method', 'POST'],
        ['app_name', 'mlserver'],
      ],
      1,
    ],
  ]);
  const model: Labels = [
    ['model', SERVED_MODEL],
    ['version', 'v1'],
  ];
  out.scalar('model_infer_request_success_total', 'counter', 'Model infer request success count', [[model, c.ok]]);
  out.scalar('model_infer_request_failure_total', 'counter', 'Model infer request failure count', [[model, c.errors]]);
  const meanS = meanSeconds(MODEL_LATENCY, pod.behaviour.slowdown);
  out.summary('model_infer_request_duration', 'Model infer request duration', [
    [model, c.ok, Number((c.ok * meanS * 0.9).toFixed(6))],
  ]);
  return out.text();
}

/**
 * vLLM's OpenAI-compatible server (port 8000, same as the API): vllm/entrypoints/openai/api_server.py (or
 * entrypoints/serve/instrumentator/metrics.py) and trallnag/prometheus-fastapi-instrumentator's default():
 * http_requests_total{method,status,handler} with statuses grouped ("2xx", "4xx", "5xx"), /health and /metrics not
 * counted, GET /v1/models is; the instrumentator's own coarse histograms; vllm/v1/metrics/loggers.py:
 * vllm:e2e_request_latency_seconds{model_name,engine} with vLLM's buckets, one observation per finished request
 * (failed ones never finish in the engine here).
 */
export function vllmMetrics(pod: PodTraffic, now: number): string {
  const c = countsAt(pod, now);
  const out = new Exposition(PYTHON, pod.omit);
  const created = pod.startedAt / 1000;
  const models = ticks(pod, now, 0.2); // clients listing GET /v1/models
  const badInput = ticks(pod, now, 0.1); // prompts too long for the context: 400
  const slowdown = pod.behaviour.slowdown;
  const http = (method: string, status: string, handler: string): Labels => [
    ['method', method],
    ['status', status],
    ['handler', handler],
  ];
  const requests: Array<[Labels, number]> = [
    [http('POST', '2xx', '/v1/completions'), c.ok],
    [http('POST', '5xx', '/v1/completions'), c.errors],
    [http('POST', '4xx', '/v1/completions'), badInput],
    [http('GET', '2xx', '/v1/models'), models],
  ];
  out.scalar('http_requests_total', 'counter', 'Total number of requests by method, status and handler.', requests);
  out.scalar(
    'http_requests_created',
    'gauge',
    'Total number of requests by method, status and handler.',
    requests.map(([labels]) => [labels, created]),
  );
  out.histogram(
    'http_request_duration_highr_seconds',
    'Latency with many buckets but no API specific labels.',
    { bounds: INSTRUMENTATOR_HIGHR, unitsPerSecond: 1, latency: LLM_LATENCY },
    [{ labels: [], n: c.requests + models + badInput, slowdown }],
  );
  const lowr = { bounds: INSTRUMENTATOR_LOWR, unitsPerSecond: 1, latency: LLM_LATENCY };
  out.histogram('http_request_duration_seconds', 'Latency with only few buckets by handler.', lowr, [
    {
      labels: [
        ['method', 'POST'],
        ['handler', '/v1/completions'],
      ],
      n: c.requests + badInput,
      slowdown,
    },
    {
      labels: [
        ['method', 'GET'],
        ['handler', '/v1/models'],
      ],
      n: models,
      slowdown: 1,
      scale: 0.001,
    },
  ]);
  const engine: Labels = [
    ['model_name', SERVED_MODEL],
    ['engine', '0'],
  ];
  out.scalar('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', [[engine, 4]]);
  out.scalar('vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.', [[engine, 0]]);
  out.scalar(
    'vllm:request_success_total',
    'counter',
    'Count of successfully processed requests.',
    (['stop', 'length', 'abort'] as const).map((reason) => [
      [...engine, ['finished_reason', reason]],
      reason === 'stop' ? c.ok - Math.floor(c.ok / 10) : reason === 'length' ? Math.floor(c.ok / 10) : 0,
    ]),
  );
  out.scalar('vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', [[engine, c.ok * 212]]);
  out.scalar('vllm:generation_tokens_total', 'counter', 'Number of generation tokens processed.', [
    [engine, c.ok * 96],
  ]);
  out.histogram(
    'vllm:e2e_request_latency_seconds',
    'Histogram of e2e request latency in seconds.',
    { bounds: VLLM_E2E_BUCKETS, unitsPerSecond: 1, latency: LLM_LATENCY },
    [{ labels: engine, n: c.ok, slowdown }],
  );
  return out.text();
}

export interface BentoMLOptions {
  /** The service class name: `service_name` and `runner_name` (BentoML 1.2+). */
  service: string;
  /** The Bento's tag version, `service_version`. */
  version: string;
}

/**
 * BentoML 1.2+ (port 3000): bentoml/BentoML src/bentoml/_internal/server/http/instruments.py and docs
 * observability/metrics.rst. bentoml_service_request_total{endpoint,http_response_code,runner_name,service_name,
 * service_version} and the duration histogram with the same labels. /livez, /readyz and /healthz are counted (the
 * kubelet probes them), /metrics is not. Written by prometheus_client in multiprocess mode: labels in name order,
 * no `_created` (an observed 1.2 server: endpoint, http_response_code, runner_name, service_name, service_version).
 */
export function bentomlMetrics(pod: PodTraffic, now: number, options: BentoMLOptions): string {
  const c = countsAt(pod, now);
  const out = new Exposition(PYTHON, pod.omit);
  const probes = ticks(pod, now, 0.2);
  const labels = (endpoint: string, code: number): Labels => [
    ['endpoint', endpoint],
    ['http_response_code', String(code)],
    ['runner_name', options.service],
    ['service_name', options.service],
    ['service_version', options.version],
  ];
  out.scalar('bentoml_service_request_total', 'counter', 'Total number of HTTP requests', [
    [labels('/predict', 200), c.ok],
    [labels('/predict', 500), c.errors],
    [labels('/readyz', 200), probes],
    [labels('/livez', 200), probes],
  ]);
  const shape = { bounds: PYTHON_DEFAULT_BUCKETS, unitsPerSecond: 1, latency: MODEL_LATENCY };
  out.histogram('bentoml_service_request_duration_seconds', 'HTTP response duration in seconds', shape, [
    { labels: labels('/predict', 200), n: c.ok, slowdown: pod.behaviour.slowdown },
    { labels: labels('/predict', 500), n: c.errors, slowdown: pod.behaviour.slowdown },
    { labels: labels('/readyz', 200), n: probes, slowdown: 1, scale: 0.01 },
    { labels: labels('/livez', 200), n: probes, slowdown: 1, scale: 0.01 },
  ]);
  out.scalar('bentoml_service_request_in_progress', 'gauge', 'Total number of HTTP requests in progress now', [
    [labels('/predict', 200).filter(([name]) => name !== 'http_response_code'), 2],
  ]);
  return out.text();
}

// ---------------------------------------------------------------------------------------------------------------
// Meshes and ingress

export interface Workload {
  namespace: string;
  /** The Deployment's name (churn, churn-canary). */
  name: string;
  /** The `app` pod label / Service the workload is behind. */
  app: string;
}

const istioPeer = (side: 'source' | 'destination', w: Workload): Labels => [
  [`${side}_workload`, w.name],
  [`${side}_canonical_service`, w.app],
  [`${side}_canonical_revision`, 'latest'],
  [`${side}_workload_namespace`, w.namespace],
  [`${side}_principal`, `spiffe://cluster.local/ns/${w.namespace}/sa/${w.app}`],
  [`${side}_app`, w.app],
  [`${side}_version`, 'unknown'],
  [`${side}_cluster`, 'Kubernetes'],
];

/** istio_requests_total's labels, in the order Istio's stats filter writes them. */
function istioLabels(
  reporter: 'source' | 'destination',
  source: Workload,
  destination: Workload,
  code: number,
): Labels {
  return [
    ['reporter', reporter],
    ...istioPeer('source', source),
    ...istioPeer('destination', destination),
    ['destination_service', `${destination.app}.${destination.namespace}.svc.cluster.local`],
    ['destination_service_name', destination.app],
    ['destination_service_namespace', destination.namespace],
    ['request_protocol', 'http'],
    ['response_code', String(code)],
    ['grpc_response_status', ''],
    ['response_flags', '-'],
    ['connection_security_policy', reporter === 'destination' ? 'mutual_tls' : 'unknown'],
  ];
}

/** One kind of request a proxy saw: who called whom, and how that traffic behaves. */
export interface IstioTraffic {
  reporter: 'source' | 'destination';
  source: Workload;
  destination: Workload;
  traffic: PodTraffic;
  /** Latency multiplier on top of the traffic's own (a client's proxy also sees the network). */
  scale?: number;
}

/**
 * An Istio proxy's /stats/prometheus (port 15090): istio/istio.io content/en/docs/reference/config/metrics/index.md.
 * istio_requests_total and istio_request_duration_milliseconds (milliseconds since Istio 1.5, Envoy's default
 * buckets), one family each holding every reporter's series; server errors are response_code 5xx. Envoy writes
 * no HELP lines, and `_sum` before `_count`.
 */
export function istioProxyMetrics(seen: IstioTraffic[], now: number, omit?: readonly string[]): string {
  const out = new Exposition(ENVOY, omit);
  const rows = seen.flatMap((t) => {
    const c = countsAt(t.traffic, now);
    const labels = (code: number) => istioLabels(t.reporter, t.source, t.destination, code);
    const slowdown = t.traffic.behaviour.slowdown;
    return [
      { labels: labels(200), n: c.ok, slowdown, scale: t.scale ?? 1 },
      { labels: labels(503), n: c.errors, slowdown, scale: t.scale ?? 1 },
    ].filter((row) => row.n > 0);
  });
  out.scalar(
    'istio_requests_total',
    'counter',
    '',
    rows.map((row) => [row.labels, row.n]),
  );
  out.histogram(
    'istio_request_duration_milliseconds',
    '',
    { bounds: ENVOY_BUCKETS, unitsPerSecond: 1000, latency: MODEL_LATENCY },
    rows,
    'sum-count',
  );
  out.scalar('istio_build', 'gauge', '', [
    [
      [
        ['component', 'proxy'],
        ['tag', '1.22.3'],
      ],
      1,
    ],
  ]);
  return out.text();
}

/** The feature store every model pod calls once per prediction (outbound noise for the meshes). */
export const FEATURE_STORE: Workload = { namespace: 'feast', name: 'feature-store', app: 'feature-store' };

/** One feature lookup per prediction, 10 ms at the median, never failing. */
function lookupsOf(pod: PodTraffic): PodTraffic {
  return { startedAt: pod.startedAt, behaviour: { rps: pod.behaviour.rps, errorFraction: 0, slowdown: 0.25 } };
}

/**
 * The sidecar of a model pod: its inbound requests (reporter="destination", destination_workload = its Deployment),
 * and its own calls to the feature store (reporter="source").
 */
export function istioSidecarMetrics(pod: PodTraffic, now: number, self: Workload, client: Workload): string {
  return istioProxyMetrics(
    [
      { reporter: 'destination', source: client, destination: self, traffic: pod },
      { reporter: 'source', source: self, destination: FEATURE_STORE, traffic: lookupsOf(pod) },
    ],
    now,
    pod.omit,
  );
}

/** The sidecar of the client calling the model (the frontend): reporter="source" series per destination workload. */
export function istioClientMetrics(
  calls: Array<{ destination: Workload; traffic: PodTraffic }>,
  now: number,
  self: Workload,
): string {
  return istioProxyMetrics(
    calls.map((call) => ({ reporter: 'source', source: self, ...call, scale: 1.05 })),
    now,
  );
}

export interface LinkerdPod {
  /** The pod's IP, in target_addr. */
  ip: string;
  /** The model's port. */
  port: number;
  /** Who calls the model (meshed): its identity is client_id. */
  client: Workload;
}

/**
 * A linkerd2-proxy's admin endpoint (port 4191 /metrics): linkerd/website
 * linkerd.io/content/2-edge/reference/proxy-metrics.md; label set as a 2.14+ proxy writes it (policy labels srv_*,
 * route_*, authz_* on inbound). request_total, response_total (classification = success | failure, only there) and
 * response_latency_ms (milliseconds, linkerd/metrics/src/latency.rs bounds). Inbound also has the admin port's own
 * traffic (kubelet probes, Prometheus scrapes: no identity); outbound has the pod's calls to the feature store. The
 * proxy writes no namespace or deployment: Linkerd's scrape config adds them as target labels.
 */
export function linkerdProxyMetrics(pod: PodTraffic, now: number, options: LinkerdPod): string {
  const c = countsAt(pod, now);
  const lookups = countsAt(lookupsOf(pod), now);
  const admin = ticks(pod, now, 1.2);
  const out = new Exposition(RUST, pod.omit);
  const policy = (srvPort: number): Labels => [
    ['srv_group', ''],
    ['srv_kind', 'default'],
    ['srv_name', 'all-unauthenticated'],
    ['srv_port', String(srvPort)],
    ['route_group', ''],
    ['route_kind', 'default'],
    ['route_name', 'default'],
    ['authz_group', ''],
    ['authz_kind', 'default'],
    ['authz_name', 'all-unauthenticated'],
  ];
  const id = (w: Workload) => `${w.app}.${w.namespace}.serviceaccount.identity.linkerd.cluster.local`;
  const target = (ip: string, port: number): Labels => [
    ['target_addr', `${ip}:${port}`],
    ['target_ip', ip],
    ['target_port', String(port)],
  ];
  const inbound: Labels = [
    ['direction', 'inbound'],
    ...target(options.ip, options.port),
    ['tls', 'true'],
    ['client_id', id(options.client)],
    ...policy(options.port),
  ];
  const probes: Labels = [
    ['direction', 'inbound'],
    ...target('0.0.0.0', 4191),
    ['tls', 'no_identity'],
    ['no_tls_reason', 'no_tls_from_remote'],
    ...policy(4191),
  ];
  const outbound: Labels = [
    ['direction', 'outbound'],
    ...target('10.0.9.4', 6566),
    ['tls', 'true'],
    ['server_id', id(FEATURE_STORE)],
    ['dst_control_plane_ns', 'linkerd'],
    ['dst_deployment', FEATURE_STORE.name],
    ['dst_namespace', FEATURE_STORE.namespace],
    ['dst_pod', `${FEATURE_STORE.name}-6b7c9d5f4-q2xkz`],
    ['dst_pod_template_hash', '6b7c9d5f4'],
    ['dst_service', FEATURE_STORE.app],
    ['dst_serviceaccount', FEATURE_STORE.app],
    ['dst_zone', ''],
    ['dst_zone_locality', 'unknown'],
  ];
  const status = (labels: Labels, code: number): Labels => [...labels, ['status_code', String(code)]];
  const outcome = (labels: Labels, code: number): Labels => [
    ...status(labels, code),
    ['classification', code >= 500 ? 'failure' : 'success'],
    ['grpc_status', ''],
    ['error', ''],
  ];
  const slowdown = pod.behaviour.slowdown;
  out.scalar('request_total', 'counter', 'Total count of HTTP requests.', [
    [inbound, c.requests],
    [probes, admin],
    [outbound, lookups.requests],
  ]);
  const rows = [
    { labels: status(inbound, 200), n: c.ok, slowdown },
    { labels: status(inbound, 500), n: c.errors, slowdown },
    { labels: status(probes, 200), n: admin, slowdown: 0.005 },
    { labels: status(outbound, 200), n: lookups.ok, slowdown: 0.25 },
  ].filter((row) => row.n > 0);
  out.histogram(
    'response_latency_ms',
    "Elapsed times between a request's headers being received and its response stream completing",
    { bounds: LINKERD_BUCKETS, unitsPerSecond: 1000, latency: MODEL_LATENCY },
    rows,
    'count-sum',
    true,
  );
  out.scalar(
    'response_total',
    'counter',
    'Total count of HTTP responses.',
    [
      [outcome(inbound, 200), c.ok] as [Labels, number],
      [outcome(inbound, 500), c.errors] as [Labels, number],
      [outcome(probes, 200), admin] as [Labels, number],
      [outcome(outbound, 200), lookups.ok] as [Labels, number],
    ].filter(([, n]) => n > 0),
  );
  out.scalar('process_start_time_seconds', 'gauge', 'Time that the process started (in seconds since the UNIX epoch)', [
    [[], Math.floor(pod.startedAt / 1000)],
  ]);
  return out.text();
}

export interface IngressRoute {
  /** The Ingress's namespace and name (the user's Ingress: the canary Ingress is merged into it). */
  namespace: string;
  ingress: string;
  /** The Service behind it. */
  service: string;
  stable: PodTraffic;
  /** What the canary backend answered; absent when no canary Ingress routes any traffic. */
  canary?: PodTraffic;
}

/**
 * An ingress-nginx controller (port 10254 /metrics): kubernetes/ingress-nginx
 * internal/ingress/metric/collectors/socket.go (client_golang; requestTags status, method, path, namespace, ingress,
 * service, canary, plus the const labels controller_namespace, controller_class, controller_pod; the counter has no
 * `_total`; durations in seconds, default --time-buckets = client_golang DefBuckets; the request_duration HELP text
 * says milliseconds, wrongly) and rootfs/etc/nginx/lua/monitor.lua (`canary` = $proxy_alternative_upstream_name, set
 * only for requests the canary backend served; its value `<namespace>-<service>-<port>` is UNCONFIRMED, as is the
 * `service` label of canary requests, kept as the user's Service here). Requests for hosts no Ingress serves go to
 * the default backend with empty namespace, ingress and service.
 */
export function ingressNginxMetrics(
  routes: IngressRoute[],
  now: number,
  controllerPod: string,
  omit?: readonly string[],
) {
  const out = new Exposition(GO, omit);
  const constant: Labels = [
    ['controller_class', 'k8s.io/ingress-nginx'],
    ['controller_namespace', 'ingress-nginx'],
    ['controller_pod', controllerPod],
  ];
  const labels = (route: Omit<IngressRoute, 'stable'>, canary: string, method: string, status: number): Labels =>
    sortedByName([
      ...constant,
      ['canary', canary],
      ['ingress', route.ingress],
      ['method', method],
      ['namespace', route.namespace],
      ['path', route.ingress === '' ? '' : '/'],
      ['service', route.service],
      ['status', String(status)],
    ]);
  const oldest = Math.min(...routes.map((route) => route.stable.startedAt));
  const defaultBackend = { namespace: '', ingress: '', service: '' };
  const unknownHosts = Math.floor((Math.max(0, now - oldest) / 1000) * 0.5);
  const rows = routes.flatMap((route) => {
    const tracks: Array<[string, PodTraffic]> = [['', route.stable]];
    if (route.canary) tracks.push([`${route.namespace}-${route.service}-canary-80`, route.canary]);
    return tracks.flatMap(([canary, traffic]) => {
      const c = countsAt(traffic, now);
      const slowdown = traffic.behaviour.slowdown;
      return [
        { labels: labels(route, canary, 'POST', 200), n: c.ok, slowdown },
        { labels: labels(route, canary, 'POST', 500), n: c.errors, slowdown },
      ].filter((row) => row.n > 0);
    });
  });
  rows.push({ labels: labels(defaultBackend, '', 'GET', 404), n: unknownHosts, slowdown: 0.01 });
  out.scalar(
    'nginx_ingress_controller_requests',
    'counter',
    'The total number of client requests',
    rows.map((row) => [row.labels, row.n]),
  );
  const shape = { bounds: GO_DEF_BUCKETS, unitsPerSecond: 1, latency: MODEL_LATENCY };
  out.histogram(
    'nginx_ingress_controller_request_duration_seconds',
    'The request processing time in milliseconds',
    shape,
    rows,
    'sum-count',
  );
  out.histogram(
    'nginx_ingress_controller_response_duration_seconds',
    'The time spent on receiving the response from the upstream server',
    shape,
    rows.map((row) => ({ ...row, scale: 0.95 })),
    'sum-count',
  );
  out.scalar(
    'nginx_ingress_controller_config_last_reload_successful',
    'gauge',
    'Whether the last configuration reload attempt was successful',
    [[constant, 1]],
  );
  return out.text();
}

// ---------------------------------------------------------------------------------------------------------------
// Serving

export interface RunningExporter {
  /** host:port, for a scrape target. */
  address: string;
  /** The path the exposition is served on (/metrics, or /stats/prometheus for Envoy). */
  path: string;
  close(): Promise<void>;
}

/** A small HTTP server for one simulated pod, rendering its exposition at each scrape. */
export async function serveExposition(render: (now: number) => string, path = '/metrics'): Promise<RunningExporter> {
  const server: Server = createServer((request, response) => {
    if ((request.url ?? '/').split('?')[0] !== path) {
      response.statusCode = 404;
      response.end('not found\n');
      return;
    }
    response.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    response.end(render(Date.now()));
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `${LOOPBACK}:${port}`,
    path,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
