// Gate spec -> PromQL for the canary and the baseline, with the selectors filled in. Pure.
import type { BuiltinGate, GateSpec } from './gate-config.js';
import type { Track } from './ports.js';
import {
  promString,
  eq,
  metricsPreset,
  modelMatchers,
  re,
  type Counter,
  type Histogram,
  type MetricsPreset,
  type MetricsPresetName,
} from './metric-presets.js';

export { promString };

export const REQUESTS_METRIC = 'http_requests_total';
export const LATENCY_HISTOGRAM = 'http_request_duration_seconds';
export const PREDICTION_HISTOGRAM = 'model_prediction_score';
export const INVALID_PREDICTIONS_METRIC = 'model_invalid_predictions_total';
export const ERROR_CODES = '5..';

export interface GateSelectors {
  namespace: string;
  model: string;
  /** `baseline` when a baseline Deployment runs next to the canary, else `stable`. */
  baselineTrack: Extract<Track, 'baseline' | 'stable'>;
  /** Where the built-in gates read their metrics (default `app`, the contract's conventions). */
  metrics?: MetricsPresetName;
  /**
   * Each track's workload as the preset's series name it (a Deployment for the meshes, a revision for KServe).
   * Default: the stable is the model's name, the others `<model>-<track>`.
   */
  workloads?: Partial<Record<Track, string>>;
}

export interface GateContext extends GateSelectors {
  /** Range of `rate`/`increase` when the gate gives none, e.g. `60s`. */
  window: string;
}

/** How the judge reads a gate's numbers. */
export type GateKind = 'rate' | 'latency' | 'drift' | 'plain';

export type PerTrack = { canary: string; baseline: string };

/** A metric a gate cannot do without, and the query that says whether a track has any series of it. */
export interface NeededMetric {
  metric: string;
  query: string;
}

export interface GateQueries {
  kind: GateKind;
  /** The gate's value (what the threshold applies to). Absent for drift, whose value is computed from buckets. */
  value?: PerTrack;
  /** Requests in the window (sample size). */
  requests?: PerTrack;
  /** Events (errors, invalid predictions) in the window, for the rate test. */
  events?: PerTrack;
  /** `sum by (le)` bucket counts in the window, for Mann–Whitney or drift. */
  buckets?: PerTrack;
  /** How many of the buckets' `le` unit make a second (1000 for a histogram in milliseconds). */
  bucketUnitsPerSecond?: number;
  /** The metrics the gate needs, per track: when a track has no data, these say which one does not exist. */
  needs: { canary: NeededMetric[]; baseline: NeededMetric[] };
}

const QUANTILES: Partial<Record<BuiltinGate, number>> = {
  'latency-p50': 0.5,
  'latency-p95': 0.95,
  'latency-p99': 0.99,
};

/** The workload a track's series are labelled with under a workload or revision preset. */
export function workloadOf(selectors: GateSelectors, track: Track): string {
  return selectors.workloads?.[track] ?? (track === 'stable' ? selectors.model : `${selectors.model}-${track}`);
}

function presetOf(selectors: GateSelectors): MetricsPreset {
  return metricsPreset(selectors.metrics ?? 'app');
}

function identity(selectors: GateSelectors, track: Track) {
  return { namespace: selectors.namespace, model: selectors.model, track, workload: workloadOf(selectors, track) };
}

function joinMatchers(matchers: string[], labels: Record<string, string>): string {
  return [...matchers, ...Object.entries(labels).map(([name, value]) => eq(name, value))].join(',');
}

/** The track's series under the preset (`namespace="ml",app="churn",track="canary"` for `app`) plus extra labels. */
export function selector(selectors: GateSelectors, track: Track, labels: Record<string, string> = {}): string {
  return joinMatchers(presetOf(selectors).trackMatchers(identity(selectors, track)), labels);
}

/** The model's own series (`namespace`, `app`, `track` but for KServe): the model gates read these. */
function modelSelector(selectors: GateSelectors, track: Track, labels: Record<string, string>): string {
  return joinMatchers(modelMatchers(presetOf(selectors), identity(selectors, track)), labels);
}

/** Fills `{{ selector }}`, `{{ namespace }}`, `{{ model }}`, `{{ track }}`, `{{ window }}` (Flagger-style templates). */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*([A-Za-z_]+)\s*\}\}/g, (whole, key: string) => values[key] ?? whole);
}

function perTrack(build: (track: Track) => string, baselineTrack: Track): PerTrack {
  return { canary: build('canary'), baseline: build(baselineTrack) };
}

export function gateWindow(gate: GateSpec, context: GateContext): string {
  return gate.window ?? context.window;
}

/**
 * Why the preset cannot serve a built-in gate as configured, or undefined when it can. A gate with its own `query`,
 * or its own `metric` for the traffic gates, never depends on the preset.
 */
export function unservedReason(gate: GateSpec, preset: MetricsPreset): string | undefined {
  if (gate.query !== undefined || gate.builtin === undefined) return undefined;
  const builtin = gate.builtin;
  const ownMetric = gate.metric !== undefined;
  if (preset.cannot[builtin] && !ownMetric) return preset.cannot[builtin];
  if (builtin === 'error-rate' && !preset.errors && !ownMetric) return `${preset.title} has no error counter`;
  if (QUANTILES[builtin] !== undefined && !preset.latency && !ownMetric)
    return `${preset.title} has no latency histogram`;
  return undefined;
}

type RangeFunction = 'rate' | 'increase';

/**
 * A query that has series exactly when a baseline runs beside the canary (its requests exist), or undefined when
 * the preset has no baseline track (ingress-nginx and KServe route to two backends only).
 */
export function baselinePresenceQuery(selectors: GateSelectors): string | undefined {
  const preset = presetOf(selectors);
  if (preset.name === 'ingress-nginx' || preset.labelling === 'revision') return undefined;
  const [first] = preset.requests;
  return `count(${first!.metric}{${[selector(selectors, 'baseline'), ...(first!.matchers ?? [])].join(',')}})`;
}

/** Every query a gate needs, canary and baseline. */
export function gateQueries(gate: GateSpec, context: GateContext): GateQueries {
  const window = gateWindow(gate, context);
  const preset = presetOf(context);
  const sel = (track: Track, extra: string[] = []): string =>
    [selector(context, track, gate.labels), ...extra].join(',');
  const series = (counter: Counter, track: Track) => `${counter.metric}{${sel(track, counter.matchers)}}`;
  const summed = (fn: RangeFunction, counter: Counter) => (track: Track) =>
    `sum(${fn}(${series(counter, track)}[${window}]))`;
  // A preset may count requests in several counters (Triton: successes + failures); only the first must exist.
  const total = (counters: Counter[]) => (fn: RangeFunction) => (track: Track) => {
    const [first, ...rest] = counters.map((counter) => summed(fn, counter)(track));
    return rest.length === 0 ? first! : `(${[first, ...rest.map((part) => `(${part} or vector(0))`)].join(' + ')})`;
  };
  // `or vector(0)`: a healthy server has no error series at all, which is zero errors, not missing data; the
  // denominator (the requests) still has to exist for the track to have a value.
  const anyOf = (counters: Counter[]) => (fn: RangeFunction) => (track: Track) => {
    const parts = counters.map((counter) => `${summed(fn, counter)(track)} or vector(0)`);
    return parts.length === 1 ? parts[0]! : parts.map((part) => `(${part})`).join(' + ');
  };
  const requestCounters: Counter[] = gate.requestsMetric ? [{ metric: gate.requestsMetric }] : preset.requests;
  const requestsOf = total(requestCounters);
  const requests = perTrack(requestsOf('increase'), context.baselineTrack);
  const base = context.baselineTrack;
  const need = (build: (track: Track) => NeededMetric[]) => ({ canary: build('canary'), baseline: build(base) });
  const exists = (metric: string, selectorText: string): NeededMetric => ({
    metric,
    query: `count(${metric}{${selectorText}})`,
  });
  const needRequests = (track: Track) => [exists(requestCounters[0]!.metric, sel(track, requestCounters[0]!.matchers))];

  if (gate.query !== undefined) {
    const query = gate.query;
    const value = perTrack(
      (track) =>
        renderTemplate(query, {
          selector: sel(track),
          namespace: promString(context.namespace).slice(1, -1),
          model: promString(context.model).slice(1, -1),
          track,
          window,
        }),
      base,
    );
    const needs = need(gate.minRequests > 0 ? needRequests : () => []);
    return gate.minRequests > 0 ? { kind: 'plain', value, requests, needs } : { kind: 'plain', value, needs };
  }

  const builtin = gate.builtin ?? 'error-rate';
  const unserved = unservedReason(gate, preset);
  if (unserved) throw new Error(`gate '${gate.name}': the ${preset.name} metrics preset cannot serve it: ${unserved}`);
  const quantile = QUANTILES[builtin];
  if (quantile !== undefined) {
    const histogram: Histogram = gate.metric ? { name: gate.metric, unitsPerSecond: 1 } : preset.latency!;
    const bucketSeries = (track: Track) => `${histogram.name}_bucket{${sel(track, histogram.matchers)}}`;
    const toSeconds = histogram.unitsPerSecond === 1 ? '' : ` / ${histogram.unitsPerSecond}`;
    return {
      kind: 'latency',
      value: perTrack(
        (track) => `histogram_quantile(${quantile}, sum by (le) (rate(${bucketSeries(track)}[${window}])))${toSeconds}`,
        base,
      ),
      requests,
      buckets: perTrack((track) => `sum by (le) (increase(${bucketSeries(track)}[${window}]))`, base),
      ...(histogram.unitsPerSecond === 1 ? {} : { bucketUnitsPerSecond: histogram.unitsPerSecond }),
      needs: need((track) => [
        exists(`${histogram.name}_bucket`, sel(track, histogram.matchers)),
        ...needRequests(track),
      ]),
    };
  }
  switch (builtin) {
    case 'error-rate': {
      const own = gate.metric;
      const counters = own ? [{ metric: own }] : requestCounters;
      const errors = own ? [{ metric: own, matchers: [re('code', ERROR_CODES)] }] : preset.errors!;
      const totalOf = total(counters);
      return {
        kind: 'rate',
        value: perTrack((track) => `(${anyOf(errors)('rate')(track)}) / ${totalOf('rate')(track)}`, base),
        requests: perTrack(totalOf('increase'), base),
        events: perTrack(anyOf(errors)('increase'), base),
        needs: need((track) => [exists(counters[0]!.metric, sel(track, counters[0]!.matchers))]),
      };
    }
    case 'invalid-output-rate': {
      const metric = gate.metric ?? INVALID_PREDICTIONS_METRIC;
      const invalid = (fn: RangeFunction) => (track: Track) =>
        `sum(${fn}(${metric}{${modelSelector(context, track, gate.labels)}}[${window}]))`;
      return {
        kind: 'rate',
        // No `or vector(0)`: a counter that was never exported is no data, not a perfect model. A model that exports
        // it (at 0 from the start) and never had an invalid output reads 0 without help.
        value: perTrack((track) => `${invalid('rate')(track)} / ${requestsOf('rate')(track)}`, base),
        requests,
        events: perTrack(invalid('increase'), base),
        needs: need((track) => [exists(metric, modelSelector(context, track, gate.labels)), ...needRequests(track)]),
      };
    }
    case 'request-rate':
      return { kind: 'plain', value: perTrack(requestsOf('rate'), base), requests, needs: need(needRequests) };
    case 'prediction-drift': {
      const histogram = gate.metric ?? PREDICTION_HISTOGRAM;
      const model = (track: Track) => modelSelector(context, track, gate.labels);
      return {
        kind: 'drift',
        requests: perTrack((track) => `sum(increase(${histogram}_count{${model(track)}}[${window}]))`, base),
        buckets: perTrack((track) => `sum by (le) (increase(${histogram}_bucket{${model(track)}}[${window}]))`, base),
        needs: need((track) => [exists(`${histogram}_bucket`, model(track))]),
      };
    }
    default:
      throw new Error(`gate '${gate.name}': unknown built-in '${builtin}'`);
  }
}

/** The query shown for a gate (plan, report): its value query, or for drift the canary buckets. */
export function displayQuery(queries: GateQueries): string {
  return (queries.value ?? queries.buckets ?? { canary: '' }).canary;
}

/** Gates whose verdict depends on a statistical test; they share alpha between them. */
export function isStatistical(gate: GateSpec): boolean {
  if (gate.maxRatio === undefined || gate.query !== undefined) return false;
  return gate.builtin !== 'request-rate' && gate.builtin !== 'prediction-drift';
}
