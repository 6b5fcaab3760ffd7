// Metric presets: where the built-in gates read requests, errors and latency on the servers and meshes teams already
// run, and how each one tells the canary's series from the stable's. Pure data and PromQL text; `gates.ts` builds the
// queries from it. Every name, label and unit is taken from the server's own source, cited next to its entry.
import type { BuiltinGate } from './gate-config.js';
import type { Track } from './ports.js';

export const METRICS_PRESETS = [
  'app',
  'istio',
  'linkerd',
  'ingress-nginx',
  'kserve',
  'triton',
  'torchserve',
  'mlserver',
  'vllm',
  'bentoml',
] as const;
export type MetricsPresetName = (typeof METRICS_PRESETS)[number];

/** How a preset's series say which track they belong to. */
export type TrackLabelling = 'pod-labels' | 'workload' | 'revision';

/** A counter and the fixed matchers that pick the preset's series out of it (e.g. `reporter="destination"`). */
export interface Counter {
  metric: string;
  matchers?: string[];
}

export interface Histogram {
  /** Base name: `<name>_bucket`, `<name>_count` are read. */
  name: string;
  matchers?: string[];
  /** How many of the histogram's unit make one second (1000 for milliseconds); thresholds are always seconds. */
  unitsPerSecond: number;
}

/** Who one track is, as the series name it. */
export interface TrackIdentity {
  namespace: string;
  model: string;
  track: Track;
  /** The track's workload as the series label it: its Deployment (meshes) or its Knative revision (KServe). */
  workload: string;
}

export interface MetricsPreset {
  name: MetricsPresetName;
  title: string;
  labelling: TrackLabelling;
  /** How tracks are told apart, for plan and the README. */
  tracksText: string;
  /** Label matchers selecting one track's series (namespace included). */
  trackMatchers(who: TrackIdentity): string[];
  /**
   * Label matchers selecting one track's series of the model's own metrics (the model gates, custom metrics):
   * default the pod labels app and track, relabelled into every series.
   */
  modelMatchers?: (who: TrackIdentity) => string[];
  /** Every request; summed. The first must exist for the track to have data; the others may not exist yet. */
  requests: Counter[];
  /** Failed requests (a server error, not the client's mistake). Absent: the preset cannot serve error-rate. */
  errors?: Counter[];
  /** Request latency. Absent: the preset cannot serve the latency gates. */
  latency?: Histogram;
  /** Why a built-in gate cannot be served from this preset's metrics (shown by plan, in errors and in the README). */
  cannot: Partial<Record<BuiltinGate, string>>;
  /** What has to be set up for the series to exist with these labels. */
  setup: string;
  /** Where the names come from (repository and path, or documentation). */
  sources: string[];
}

/** PromQL label matcher `label="value"`, the value escaped for a double-quoted string. */
export function eq(label: string, value: string): string {
  return `${label}=${promString(value)}`;
}

/** PromQL regex label matcher `label=~"regex"`. */
export function re(label: string, regex: string): string {
  return `${label}=~${promString(regex)}`;
}

/** Escapes a value for a PromQL double-quoted string. */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** The contract's own conventions: pod labels `app` and `track` relabelled into every series. */
const byPodLabels = (who: TrackIdentity): string[] => [
  eq('namespace', who.namespace),
  eq('app', who.model),
  eq('track', who.track),
];

const POD_LABELS_TEXT =
  'the pod labels app and track, relabelled into every series by the PodMonitor (or ama-metrics) config in ' +
  'workflows-examples/sample-model/prometheus';

/** MLServer's inference calls (V2 protocol), not health or metadata. */
const MLSERVER_INFER = re('path', '/v2/models/[^/]+(/versions/[^/]+)?/infer');
/** vLLM's OpenAI API calls, not /health, /metrics or the model list. */
const VLLM_API = re('handler', '/v1/.+');
const VLLM_NOT_MODELS = `handler!="/v1/models"`;
/** BentoML's API endpoints, not its health checks. */
const BENTOML_API = `endpoint!~"/(livez|readyz|healthz|metrics)"`;

const NO_HISTOGRAM = (server: string, what: string) =>
  `${server} exports ${what}, no latency histogram, so no quantile can be read; gate a custom query on the mean ` +
  `instead, or give the gate a metric: (a histogram the model exports)`;

const PRESETS: Record<MetricsPresetName, MetricsPreset> = {
  app: {
    name: 'app',
    title: 'the application’s own HTTP metrics',
    labelling: 'pod-labels',
    tracksText: POD_LABELS_TEXT,
    trackMatchers: byPodLabels,
    requests: [{ metric: 'http_requests_total' }],
    errors: [{ metric: 'http_requests_total', matchers: [re('code', '5..')] }],
    latency: { name: 'http_request_duration_seconds', unitsPerSecond: 1 },
    cannot: {},
    setup: 'the model exports http_requests_total{code} and the histogram http_request_duration_seconds',
    sources: ['CONTRACT.md, metric conventions'],
  },
  // Istio standard metrics as the server-side proxy records them (reporter="destination"), as Flagger reads them:
  // istio/istio.io content/en/docs/reference/config/metrics/index.md; fluxcd/flagger pkg/metrics/observers/istio.go.
  // The duration histogram is in milliseconds since Istio 1.5.
  istio: {
    name: 'istio',
    title: 'Istio standard metrics',
    labelling: 'workload',
    tracksText: 'destination_workload: the Deployment the request reached (the canary’s is <name>-canary)',
    trackMatchers: (who) => [
      eq('destination_workload_namespace', who.namespace),
      eq('destination_workload', who.workload),
    ],
    requests: [{ metric: 'istio_requests_total', matchers: [eq('reporter', 'destination')] }],
    errors: [{ metric: 'istio_requests_total', matchers: [eq('reporter', 'destination'), re('response_code', '5..')] }],
    latency: {
      name: 'istio_request_duration_milliseconds',
      matchers: [eq('reporter', 'destination')],
      unitsPerSecond: 1000,
    },
    cannot: {},
    setup:
      'sidecar injection in the namespace (istio-injection=enabled); Prometheus scraping the sidecars ' +
      '(Istio’s Prometheus addon, or a PodMonitor on port http-envoy-prom, path /stats/prometheus)',
    sources: [
      'istio/istio.io content/en/docs/reference/config/metrics/index.md',
      'fluxcd/flagger pkg/metrics/observers/istio.go',
    ],
  },
  // Linkerd proxy metrics, inbound side: linkerd/website linkerd.io/content/2-edge/reference/proxy-metrics.md;
  // fluxcd/flagger pkg/metrics/observers/linkerd.go. `namespace` and `deployment` come from Linkerd's scrape config
  // (the pod's namespace and its linkerd.io/proxy-deployment label). `classification` is only on response_total.
  linkerd: {
    name: 'linkerd',
    title: 'Linkerd proxy metrics',
    labelling: 'workload',
    tracksText: 'deployment: the Deployment of the pod whose proxy served the request (the canary’s is <name>-canary)',
    trackMatchers: (who) => [eq('namespace', who.namespace), eq('deployment', who.workload)],
    requests: [{ metric: 'response_total', matchers: [eq('direction', 'inbound')] }],
    errors: [{ metric: 'response_total', matchers: [eq('direction', 'inbound'), eq('classification', 'failure')] }],
    latency: { name: 'response_latency_ms', matchers: [eq('direction', 'inbound')], unitsPerSecond: 1000 },
    cannot: {},
    setup:
      'the linkerd.io/inject: enabled annotation on the pods; Prometheus scraping the linkerd-proxy containers with ' +
      'Linkerd’s scrape config (linkerd-viz ships it), which adds the namespace and deployment labels',
    sources: [
      'linkerd/website linkerd.io/content/2-edge/reference/proxy-metrics.md',
      'fluxcd/flagger pkg/metrics/observers/linkerd.go',
    ],
  },
  // ingress-nginx controller metrics: kubernetes/ingress-nginx internal/ingress/metric/collectors/socket.go (names,
  // labels; the counter has no _total) and rootfs/etc/nginx/lua/monitor.lua (`canary` = $proxy_alternative_upstream_name,
  // set only when the request went to the canary backend). The canary Ingress is merged into the user's Ingress, so
  // both tracks carry its name in `ingress`.
  'ingress-nginx': {
    name: 'ingress-nginx',
    title: 'ingress-nginx controller metrics',
    labelling: 'workload',
    tracksText:
      'canary: ingress-nginx names the canary backend in it for requests the canary Ingress routed, and leaves it ' +
      'empty for the rest (ingress = the user’s Ingress for both)',
    trackMatchers: (who) => [
      eq('namespace', who.namespace),
      eq('ingress', who.workload),
      who.track === 'canary' ? `canary!=""` : eq('canary', ''),
    ],
    requests: [{ metric: 'nginx_ingress_controller_requests' }],
    errors: [{ metric: 'nginx_ingress_controller_requests', matchers: [re('status', '5..')] }],
    latency: { name: 'nginx_ingress_controller_request_duration_seconds', unitsPerSecond: 1 },
    cannot: {},
    setup:
      'the controller’s metrics enabled and scraped with honorLabels: true (Helm: controller.metrics.enabled=true, ' +
      'controller.metrics.serviceMonitor.enabled=true), so the Ingress’s own namespace label is kept',
    sources: [
      'kubernetes/ingress-nginx internal/ingress/metric/collectors/socket.go',
      'kubernetes/ingress-nginx rootfs/etc/nginx/lua/monitor.lua',
    ],
  },
  // Knative Serving's queue-proxy, in front of every KServe serverless predictor, port 9091: knative/serving
  // pkg/queue/metrics/request_metric.go and pkg/queue/sharedmain/main.go (component "revision"; latencies in ms).
  // Knative's OpenTelemetry metrics (1.19 and later) carry no revision_name on the series; see the README.
  kserve: {
    name: 'kserve',
    title: 'KServe serverless (Knative queue-proxy metrics)',
    labelling: 'revision',
    tracksText:
      'revision_name: the canary is the predictor’s latest created revision, the stable its latest rolled-out one ' +
      '(both read from the InferenceService status at every look)',
    trackMatchers: (who) => [eq('namespace_name', who.namespace), eq('revision_name', who.workload)],
    // KServe's pods carry no track label: the model's own series are told apart by the revision pod label
    // (serving.knative.dev/revision), relabelled to `revision` by the PodMonitor in sample-model/kserve.
    modelMatchers: (who) => [eq('namespace', who.namespace), eq('revision', who.workload)],
    requests: [{ metric: 'revision_app_request_count' }],
    errors: [{ metric: 'revision_app_request_count', matchers: [eq('response_code_class', '5xx')] }],
    latency: { name: 'revision_app_request_latencies', unitsPerSecond: 1000 },
    cannot: {},
    setup:
      'Prometheus scraping the queue-proxy containers of the predictor pods (port 9091, named http-usermetric), ' +
      'as Knative’s monitoring docs set up',
    sources: [
      'knative/serving pkg/queue/metrics/request_metric.go',
      'kserve/kserve pkg/apis/serving/v1beta1/inference_service_status.go',
    ],
  },
  // Triton: triton-inference-server/core src/metrics.cc and server docs/user_guide/metrics.md. prometheus-cpp exports
  // counters without _total. success + failure are all requests; latency is only cumulative microseconds.
  triton: {
    name: 'triton',
    title: 'NVIDIA Triton Inference Server',
    labelling: 'pod-labels',
    tracksText: POD_LABELS_TEXT,
    trackMatchers: byPodLabels,
    requests: [{ metric: 'nv_inference_request_success' }, { metric: 'nv_inference_request_failure' }],
    errors: [{ metric: 'nv_inference_request_failure' }],
    cannot: Object.fromEntries(
      (['latency-p50', 'latency-p95', 'latency-p99'] as const).map((gate) => [
        gate,
        NO_HISTOGRAM('Triton', 'cumulative request durations (nv_inference_request_duration_us)'),
      ]),
    ),
    setup: 'Prometheus scraping port 8002 /metrics of the Triton pods, with the pod labels app and track relabelled',
    sources: [
      'triton-inference-server/core src/metrics.cc',
      'triton-inference-server/server docs/user_guide/metrics.md',
    ],
  },
  // TorchServe with metrics_mode=prometheus: pytorch/serve ts/configs/metrics.yaml, docs/metrics_api.md,
  // frontend .../InferenceRequestHandler.java (ts_inference_requests_total counts every request received, failed
  // ones too) and .../util/NettyUtils.java (Requests5XX). Requests5XX is per host, so per pod: the pod's track.
  // Java simpleclient >= 0.10 adds _total to counters; both names are matched.
  torchserve: {
    name: 'torchserve',
    title: 'TorchServe',
    labelling: 'pod-labels',
    tracksText: POD_LABELS_TEXT,
    trackMatchers: byPodLabels,
    requests: [{ metric: 'ts_inference_requests_total' }],
    errors: [{ metric: '', matchers: [re('__name__', 'Requests5XX(_total)?')] }],
    cannot: Object.fromEntries(
      (['latency-p50', 'latency-p95', 'latency-p99'] as const).map((gate) => [
        gate,
        NO_HISTOGRAM('TorchServe', 'cumulative latencies (ts_inference_latency_microseconds)'),
      ]),
    ),
    setup:
      'metrics_mode=prometheus and metrics_address=http://0.0.0.0:8082 in config.properties; Prometheus scraping ' +
      'port 8082 /metrics with the pod labels app and track relabelled',
    sources: ['pytorch/serve ts/configs/metrics.yaml', 'pytorch/serve docs/metrics_api.md'],
  },
  // MLServer's REST metrics (starlette_exporter, prefix rest_server, on the metrics port 8082): SeldonIO/MLServer
  // mlserver/rest/app.py and mlserver/metrics/server.py. `path` is the raw URL; only inference calls are counted.
  mlserver: {
    name: 'mlserver',
    title: 'Seldon MLServer (REST)',
    labelling: 'pod-labels',
    tracksText: POD_LABELS_TEXT,
    trackMatchers: byPodLabels,
    requests: [{ metric: 'rest_server_requests_total', matchers: [MLSERVER_INFER] }],
    errors: [{ metric: 'rest_server_requests_total', matchers: [MLSERVER_INFER, re('status_code', '5..')] }],
    latency: { name: 'rest_server_request_duration_seconds', matchers: [MLSERVER_INFER], unitsPerSecond: 1 },
    cannot: {},
    setup:
      'Prometheus scraping port 8082 /metrics of the MLServer pods, with the pod labels app and track relabelled ' +
      '(gRPC calls are not in these metrics)',
    sources: ['SeldonIO/MLServer mlserver/rest/app.py', 'SeldonIO/MLServer mlserver/metrics/server.py'],
  },
  // vLLM's OpenAI-compatible server: http_requests_total from prometheus-fastapi-instrumentator (status grouped as
  // "5xx"; vllm/entrypoints/openai/api_server.py) and the engine's vllm:e2e_request_latency_seconds
  // (vllm/v1/metrics/loggers.py). The instrumentator's own duration histogram has 3 buckets: too coarse.
  vllm: {
    name: 'vllm',
    title: 'vLLM OpenAI-compatible server',
    labelling: 'pod-labels',
    tracksText: POD_LABELS_TEXT,
    trackMatchers: byPodLabels,
    requests: [{ metric: 'http_requests_total', matchers: [VLLM_API, VLLM_NOT_MODELS] }],
    errors: [{ metric: 'http_requests_total', matchers: [VLLM_API, VLLM_NOT_MODELS, eq('status', '5xx')] }],
    latency: { name: 'vllm:e2e_request_latency_seconds', unitsPerSecond: 1 },
    cannot: {},
    setup: 'Prometheus scraping port 8000 /metrics of the vLLM pods, with the pod labels app and track relabelled',
    sources: [
      'vllm-project/vllm vllm/entrypoints/openai/api_server.py',
      'vllm-project/vllm vllm/v1/metrics/loggers.py',
    ],
  },
  // BentoML 1.2+: bentoml/BentoML src/bentoml/_internal/server/http/instruments.py and docs observability/metrics.
  // Health checks are counted too, so they are left out.
  bentoml: {
    name: 'bentoml',
    title: 'BentoML',
    labelling: 'pod-labels',
    tracksText: POD_LABELS_TEXT,
    trackMatchers: byPodLabels,
    requests: [{ metric: 'bentoml_service_request_total', matchers: [BENTOML_API] }],
    errors: [{ metric: 'bentoml_service_request_total', matchers: [BENTOML_API, re('http_response_code', '5..')] }],
    latency: { name: 'bentoml_service_request_duration_seconds', matchers: [BENTOML_API], unitsPerSecond: 1 },
    cannot: {},
    setup: 'Prometheus scraping port 3000 /metrics of the BentoML pods, with the pod labels app and track relabelled',
    sources: [
      'bentoml/BentoML src/bentoml/_internal/server/http/instruments.py',
      'bentoml/BentoML docs/source/build-with-bentoml/observability/metrics.rst',
    ],
  },
};

export function isMetricsPresetName(value: string): value is MetricsPresetName {
  return (METRICS_PRESETS as readonly string[]).includes(value);
}

export function metricsPreset(name: MetricsPresetName): MetricsPreset {
  return PRESETS[name];
}

/** The model's own series of one track under a preset: the pod labels app and track unless the preset says else. */
export function modelMatchers(preset: MetricsPreset, who: TrackIdentity): string[] {
  return (preset.modelMatchers ?? byPodLabels)(who);
}
