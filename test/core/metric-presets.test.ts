// Metric presets, pure: the PromQL each preset produces for canary and baseline, which preset is chosen, which
// gates it can serve, how tracks map to workloads, and what plan says when the server does not fit.
import { describe, expect, it } from '@jest/globals';
import { buildConfig, ConfigError } from '../../src/core/config.js';
import { DEFAULT_GATES, gateSpecSchema } from '../../src/core/gate-config.js';
import { baselinePresenceQuery, gateQueries, type GateContext } from '../../src/core/gates.js';
import { judge, type GateMeasurement } from '../../src/core/judge.js';
import { METRICS_PRESETS, metricsPreset, type MetricsPresetName } from '../../src/core/metric-presets.js';
import { chooseMetrics, judgedGates, metricsLine, metricsProblems } from '../../src/core/metrics-choice.js';
import { kserveRevisions, NO_CANARY_REVISION } from '../../src/core/routers/kserve.js';
import { servingWarnings } from '../../src/core/serving-checks.js';
import { resolveBaseImage } from '../../src/core/serving-presets.js';
import { gateSelectors, namedTarget } from '../../src/core/track-workloads.js';
import { buildTarget } from '../support/kube-target.js';

const gate = (raw: Record<string, unknown>) => gateSpecSchema.parse(raw);
const context = (metrics: MetricsPresetName, extra: Partial<GateContext> = {}): GateContext => ({
  namespace: 'ml',
  model: 'churn',
  baselineTrack: 'stable',
  window: '60s',
  metrics,
  ...extra,
});

describe('gateQueries under each preset', () => {
  it('istio: destination workload per track, reporter=destination, milliseconds turned into seconds', () => {
    const ctx = context('istio', { workloads: { stable: 'churn', canary: 'churn-canary' } });
    const errors = gateQueries(gate({ name: 'error-rate', max: 0.01 }), ctx);
    const canary = 'destination_workload_namespace="ml",destination_workload="churn-canary",reporter="destination"';
    expect(errors.value?.canary).toBe(
      `(sum(rate(istio_requests_total{${canary},response_code=~"5.."}[60s])) or vector(0)) / ` +
        `sum(rate(istio_requests_total{${canary}}[60s]))`,
    );
    expect(errors.value?.baseline).toContain('destination_workload="churn",');
    const latency = gateQueries(gate({ name: 'latency-p95', 'max-increase': '20%' }), ctx);
    expect(latency.value?.canary).toBe(
      `histogram_quantile(0.95, sum by (le) (rate(istio_request_duration_milliseconds_bucket{${canary}}[60s]))) / 1000`,
    );
    expect(latency.bucketUnitsPerSecond).toBe(1000);
    expect(latency.needs.canary).toEqual([
      { metric: 'istio_request_duration_milliseconds_bucket', query: expect.stringContaining('count(') },
      // min-requests counts requests: a missing request counter is named too, never read as 0 requests.
      { metric: 'istio_requests_total', query: `count(istio_requests_total{${canary}})` },
    ]);
  });

  it('linkerd: inbound responses of the track Deployment; failures by classification', () => {
    const ctx = context('linkerd', { workloads: { stable: 'churn', canary: 'churn-canary' } });
    const errors = gateQueries(gate({ name: 'error-rate', max: 0.01 }), ctx);
    expect(errors.events?.canary).toBe(
      'sum(increase(response_total{namespace="ml",deployment="churn-canary",direction="inbound",classification="failure"}[60s])) or vector(0)',
    );
    expect(gateQueries(gate({ name: 'latency-p99', max: 1 }), ctx).value?.canary).toContain(
      'response_latency_ms_bucket{namespace="ml",deployment="churn-canary",direction="inbound"}',
    );
  });

  it('ingress-nginx: the canary is the requests with a canary backend, the stable the rest, of the same Ingress', () => {
    const ctx = context('ingress-nginx', { workloads: { stable: 'churn-web', canary: 'churn-web' } });
    const requests = gateQueries(gate({ name: 'request-rate', min: 1 }), ctx).value!;
    expect(requests.canary).toBe(
      'sum(rate(nginx_ingress_controller_requests{namespace="ml",ingress="churn-web",canary!=""}[60s]))',
    );
    expect(requests.baseline).toBe(
      'sum(rate(nginx_ingress_controller_requests{namespace="ml",ingress="churn-web",canary=""}[60s]))',
    );
  });

  it('kserve: revisions by name, 5xx by response_code_class, the model gates by the revision pod label', () => {
    const ctx = context('kserve', { workloads: { stable: 'churn-predictor-00001', canary: 'churn-predictor-00002' } });
    const errors = gateQueries(gate({ name: 'error-rate', max: 0.01 }), ctx);
    expect(errors.value?.canary).toContain(
      'revision_app_request_count{namespace_name="ml",revision_name="churn-predictor-00002",response_code_class="5xx"}',
    );
    const invalid = gateQueries(gate({ name: 'invalid-output-rate', max: 0.01 }), ctx);
    expect(invalid.value?.canary).toBe(
      'sum(rate(model_invalid_predictions_total{namespace="ml",revision="churn-predictor-00002"}[60s])) / ' +
        'sum(rate(revision_app_request_count{namespace_name="ml",revision_name="churn-predictor-00002"}[60s]))',
    );
  });

  it('triton: requests are successes plus failures, a failure counter not there yet counting as none', () => {
    const errors = gateQueries(gate({ name: 'error-rate', max: 0.01 }), context('triton'));
    const sel = 'namespace="ml",app="churn",track="canary"';
    expect(errors.requests?.canary).toBe(
      `(sum(increase(nv_inference_request_success{${sel}}[60s])) + (sum(increase(nv_inference_request_failure{${sel}}[60s])) or vector(0)))`,
    );
    // Only the counter that must exist is checked for existence: successes.
    expect(errors.needs.canary.map((need) => need.metric)).toEqual(['nv_inference_request_success']);
  });

  it('torchserve: 5xx by the host counter, with or without the _total suffix', () => {
    const errors = gateQueries(gate({ name: 'error-rate', max: 0.01 }), context('torchserve'));
    expect(errors.events?.canary).toBe(
      'sum(increase({namespace="ml",app="churn",track="canary",__name__=~"Requests5XX(_total)?"}[60s])) or vector(0)',
    );
  });

  it.each(['mlserver', 'vllm', 'bentoml'] as const)('%s: only inference calls, never health checks', (name) => {
    const query = gateQueries(gate({ name: 'error-rate', max: 0.01 }), context(name)).requests!.canary;
    const [counter] = metricsPreset(name).requests;
    expect(query).toContain(counter!.matchers![0]!);
  });

  it('every preset gives every gate it serves a canary query that differs from the baseline one', () => {
    for (const name of METRICS_PRESETS) {
      const preset = metricsPreset(name);
      for (const raw of ['error-rate', 'latency-p95', 'request-rate', 'invalid-output-rate', 'prediction-drift']) {
        const spec = gate({ name: raw, max: 1 });
        if (preset.cannot[spec.builtin!]) {
          expect(() => gateQueries(spec, context(name))).toThrow(/cannot serve it/);
          continue;
        }
        const queries = gateQueries(spec, context(name, { workloads: { stable: 'a', canary: 'b' } }));
        const pair = queries.value ?? queries.buckets!;
        expect(pair.canary).not.toBe(pair.baseline);
      }
    }
  });

  it('a baseline is looked for only where a third track can exist', () => {
    expect(baselinePresenceQuery({ ...context('app'), baselineTrack: 'baseline' })).toBe(
      'count(http_requests_total{namespace="ml",app="churn",track="baseline"})',
    );
    expect(
      baselinePresenceQuery({
        ...context('istio', { workloads: { baseline: 'churn-baseline' } }),
        baselineTrack: 'baseline',
      }),
    ).toContain('destination_workload="churn-baseline"');
    expect(baselinePresenceQuery(context('ingress-nginx'))).toBeUndefined();
    expect(baselinePresenceQuery(context('kserve'))).toBeUndefined();
  });
});

describe('which preset', () => {
  it('the input first, then the router, then the serving base image, then the app conventions', () => {
    expect(chooseMetrics({ metrics: 'linkerd', router: 'istio' })).toEqual({
      preset: 'linkerd',
      chosenBy: 'metrics input',
    });
    expect(chooseMetrics({ router: 'istio', baseImage: 'mlserver' })).toEqual({
      preset: 'istio',
      chosenBy: 'router istio',
    });
    expect(chooseMetrics({ router: 'nginx' }).preset).toBe('ingress-nginx');
    expect(chooseMetrics({ router: 'kserve' }).preset).toBe('kserve');
    expect(chooseMetrics({ router: 'replicas', baseImage: 'myacr.azurecr.io/seldonio/mlserver:1.7.1' })).toEqual({
      preset: 'mlserver',
      chosenBy: 'base-image mlserver',
    });
    expect(chooseMetrics({ baseImage: 'triton:25.01-py3' }).preset).toBe('triton');
    // sklearnserver exports no request counter: nothing better than the default to offer.
    expect(chooseMetrics({ baseImage: 'kserve-sklearn' }).preset).toBe('app');
    expect(chooseMetrics({ router: 'smi', baseImage: 'myacr.azurecr.io/our/base:1' })).toEqual({
      preset: 'app',
      chosenBy: 'default',
    });
  });

  it('a router that cannot tell tracks apart with the preset, or a gate it cannot serve, is a problem', () => {
    expect(metricsProblems({ preset: 'istio', chosenBy: 'metrics input' }, 'kserve', undefined)[0]).toMatch(
      /cannot tell the canary from the stable under router kserve/,
    );
    expect(metricsProblems({ preset: 'kserve', chosenBy: 'metrics input' }, 'replicas', undefined)[0]).toMatch(
      /only router kserve rolls out/,
    );
    expect(metricsProblems({ preset: 'ingress-nginx', chosenBy: 'metrics input' }, 'istio', undefined)[0]).toMatch(
      /only router nginx makes/,
    );
    const gates = [gate({ name: 'error-rate', max: 0.01 }), gate({ name: 'latency-p95', max: 1 })];
    expect(metricsProblems({ preset: 'triton', chosenBy: 'base-image triton' }, 'replicas', gates)).toEqual([
      expect.stringMatching(
        /^gates\[1\]\.name: 'latency-p95' cannot be judged from the triton metrics \(base-image triton\): Triton exports cumulative/,
      ),
    ]);
    // The gate's own histogram never depends on the preset.
    const own = [gate({ name: 'latency-p95', max: 1, metric: 'model_latency_seconds' })];
    expect(metricsProblems({ preset: 'triton', chosenBy: 'metrics input' }, 'replicas', own)).toEqual([]);
  });

  it('default gates the preset cannot serve are left out, with a note', () => {
    const { gates, notes } = judgedGates({ preset: 'torchserve', chosenBy: 'metrics input' }, undefined);
    expect(gates.map((g) => g.name)).toEqual(['error-rate']);
    expect(notes).toEqual([expect.stringMatching(/^default gate latency-p95 left out: TorchServe exports/)]);
    expect(judgedGates({ preset: 'istio', chosenBy: 'router istio' }, undefined).gates).toEqual(DEFAULT_GATES);
  });

  it('the config carries the choice; a bad preset or an unserved gate is bad input naming the field', () => {
    const config = buildConfig({}, { command: 'plan', router: 'istio', manifests: 'k8s' });
    expect(config.metrics).toEqual({ preset: 'istio', chosenBy: 'router istio' });
    expect(() => buildConfig({}, { command: 'plan', metrics: 'isito' })).toThrow(ConfigError);
    expect(() =>
      buildConfig(
        {},
        { command: 'analyze', model: 'churn', metrics: 'triton', gates: '- name: latency-p99\n  max: 1' },
      ),
    ).toThrow(/gates\[0\]\.name: 'latency-p99' cannot be judged/);
    expect(metricsLine(config.metrics)).toMatch(/^metrics: istio, Istio standard metrics \(router istio\); tracks/);
  });
});

describe('tracks to workloads', () => {
  it('the meshes name the Deployments, ingress-nginx the user Ingress, the pod-label presets nothing', () => {
    const istio = gateSelectors('istio', buildTarget({ router: 'istio' }));
    expect(istio.workloads).toEqual({ stable: 'churn', canary: 'churn-canary', baseline: 'churn-baseline' });
    expect(gateSelectors('app', buildTarget()).workloads).toBeUndefined();
    const nginx = gateSelectors('ingress-nginx', buildTarget({ router: 'nginx' }));
    expect(nginx.workloads?.canary).toBe(nginx.workloads?.stable);
  });

  it('KServe: the stable is the latest rolled-out revision, the canary the latest created while it differs', () => {
    const isvc = (predictor: Record<string, unknown>) => ({
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name: 'churn', namespace: 'ml' },
      status: { components: { predictor } },
    });
    expect(
      kserveRevisions(
        isvc({
          latestCreatedRevision: 'churn-predictor-00002',
          latestReadyRevision: 'churn-predictor-00001',
          latestRolledoutRevision: 'churn-predictor-00001',
        }),
      ),
    ).toEqual({ stable: 'churn-predictor-00001', canary: 'churn-predictor-00002' });
    // Not ready yet: the latest ready revision is still the stable, never taken for the canary.
    expect(kserveRevisions(isvc({ latestCreatedRevision: 'r1', latestRolledoutRevision: 'r1' }))).toEqual({
      stable: 'r1',
    });
    expect(kserveRevisions(undefined)).toEqual({});
    const target = namedTarget('churn', 'ml', 'kserve');
    expect(gateSelectors('kserve', target, isvc({ latestRolledoutRevision: 'r1' })).workloads).toEqual({
      stable: 'r1',
      canary: NO_CANARY_REVISION,
    });
  });
});

describe('the judge on metrics that do not exist', () => {
  const measurement = (missing: { canary?: string[]; baseline?: string[] }): GateMeasurement => ({
    gate: gate({ name: 'error-rate', 'max-increase': '50%', 'min-requests': 10 }),
    kind: 'rate',
    query: 'q',
    window: '60s',
    canary: { value: null, requests: null, events: 0, ...(missing.canary ? { missing: missing.canary } : {}) },
    baseline: { value: 0.01, requests: 500, events: 5, ...(missing.baseline ? { missing: missing.baseline } : {}) },
  });

  it('names the metric and the track, inconclusive, never a pass or a zero', () => {
    const { looks, result } = judge([measurement({ canary: ['istio_requests_total'] })], { alpha: 0.01, look: 1 });
    expect(result).toBe('inconclusive');
    expect(looks[0]!.report.reason).toMatch(/^metric istio_requests_total not found for the canary: no series at all/);
    expect(looks[0]!.report.canary).toBeNull();
  });
});

describe('serving base image against manifests and gates', () => {
  const mlserver = resolveBaseImage('mlserver').preset!;
  const withProbe = (probe: unknown, ports?: unknown) => {
    const target = buildTarget();
    const containers = (target.stable.spec as { template: { spec: { containers: Record<string, unknown>[] } } })
      .template.spec.containers;
    containers[0]!.readinessProbe = probe;
    if (ports) containers[0]!.ports = ports;
    return target;
  };
  const metrics = { preset: 'mlserver' as const, chosenBy: 'base-image mlserver' };

  it('a probe on the server’s own path and port says nothing; a named port is looked up', () => {
    expect(
      servingWarnings(mlserver, withProbe({ httpGet: { path: '/v2/health/ready', port: 8080 } }), metrics),
    ).toEqual([]);
    const named = withProbe({ httpGet: { path: '/v2/health/ready', port: 'http' } }, [
      { name: 'http', containerPort: 8080 },
    ]);
    expect(servingWarnings(mlserver, named, metrics)).toEqual([]);
  });

  it('a missing probe, another path or port, and gates on metrics the server does not export are warned', () => {
    expect(servingWarnings(mlserver, withProbe(undefined), metrics)[0]).toMatch(
      /has no readinessProbe: .*add readinessProbe: httpGet \{path: \/v2\/health\/ready, port: 8080\}/,
    );
    expect(servingWarnings(mlserver, withProbe({ httpGet: { path: '/readyz', port: 9000 } }), metrics)[0]).toMatch(
      /readinessProbe asks path \/readyz and port 9000, which Seldon MLServer/,
    );
    const app = { preset: 'app' as const, chosenBy: 'metrics input' };
    const ok = withProbe({ httpGet: { path: '/v2/health/ready', port: 8080 } });
    expect(servingWarnings(mlserver, ok, app)).toEqual([
      expect.stringMatching(/gates read the app metrics .* does not export: .*metrics: mlserver reads what it exports/),
    ]);
    // A mesh sees the traffic whatever the server: no warning.
    expect(servingWarnings(mlserver, ok, { preset: 'istio', chosenBy: 'router istio' })).toEqual([]);
  });
});
