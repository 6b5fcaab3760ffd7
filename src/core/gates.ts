// Gate spec -> PromQL for the canary and the baseline, with the selectors filled in. Pure.
import type { BuiltinGate, GateSpec } from './gate-config.js';
import type { Track } from './ports.js';

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
}

export interface GateContext extends GateSelectors {
  /** Range of `rate`/`increase` when the gate gives none, e.g. `60s`. */
  window: string;
}

/** How the judge reads a gate's numbers. */
export type GateKind = 'rate' | 'latency' | 'drift' | 'plain';

export type PerTrack = { canary: string; baseline: string };

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
}

const QUANTILES: Partial<Record<BuiltinGate, number>> = {
  'latency-p50': 0.5,
  'latency-p95': 0.95,
  'latency-p99': 0.99,
};

/** Escapes a value for a PromQL double-quoted string. */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** `namespace="ml",app="churn",track="canary"` plus the gate's extra labels. */
export function selector(selectors: GateSelectors, track: Track, labels: Record<string, string> = {}): string {
  const all: Record<string, string> = { namespace: selectors.namespace, app: selectors.model, track, ...labels };
  return Object.entries(all)
    .map(([name, value]) => `${name}=${promString(value)}`)
    .join(',');
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

/** Every query a gate needs, canary and baseline. */
export function gateQueries(gate: GateSpec, context: GateContext): GateQueries {
  const window = gateWindow(gate, context);
  const sel = (track: Track, extra = ''): string => selector(context, track, gate.labels) + extra;
  const requestsMetric = gate.requestsMetric ?? REQUESTS_METRIC;
  const increase =
    (metric: string, extra = '') =>
    (track: Track) =>
      `sum(increase(${metric}{${sel(track, extra)}}[${window}]))`;
  const rate =
    (metric: string, extra = '') =>
    (track: Track) =>
      `sum(rate(${metric}{${sel(track, extra)}}[${window}]))`;
  const requests = perTrack(increase(requestsMetric), context.baselineTrack);
  const base = context.baselineTrack;

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
    return gate.minRequests > 0 ? { kind: 'plain', value, requests } : { kind: 'plain', value };
  }

  const builtin = gate.builtin ?? 'error-rate';
  const quantile = QUANTILES[builtin];
  if (quantile !== undefined) {
    const histogram = gate.metric ?? LATENCY_HISTOGRAM;
    const buckets = (track: Track) => `sum by (le) (increase(${histogram}_bucket{${sel(track)}}[${window}]))`;
    return {
      kind: 'latency',
      value: perTrack(
        (track) => `histogram_quantile(${quantile}, sum by (le) (rate(${histogram}_bucket{${sel(track)}}[${window}])))`,
        base,
      ),
      requests,
      buckets: perTrack(buckets, base),
    };
  }
  switch (builtin) {
    case 'error-rate': {
      const metric = gate.metric ?? requestsMetric;
      const errors = `,code=~${promString(ERROR_CODES)}`;
      return {
        kind: 'rate',
        // `or vector(0)`: a healthy model has no 5xx series at all, which is a zero error rate, not missing data.
        value: perTrack((track) => `(${rate(metric, errors)(track)} or vector(0)) / ${rate(metric)(track)}`, base),
        requests: perTrack(increase(metric), base),
        events: perTrack((track) => `${increase(metric, errors)(track)} or vector(0)`, base),
      };
    }
    case 'invalid-output-rate': {
      const metric = gate.metric ?? INVALID_PREDICTIONS_METRIC;
      return {
        kind: 'rate',
        // No `or vector(0)`: a counter that was never exported is no data, not a perfect model. A model that exports
        // it (at 0 from the start) and never had an invalid output reads 0 without help.
        value: perTrack((track) => `${rate(metric)(track)} / ${rate(requestsMetric)(track)}`, base),
        requests,
        events: perTrack(increase(metric), base),
      };
    }
    case 'request-rate':
      return { kind: 'plain', value: perTrack(rate(requestsMetric), base), requests };
    case 'prediction-drift': {
      const histogram = gate.metric ?? PREDICTION_HISTOGRAM;
      return {
        kind: 'drift',
        requests: perTrack((track) => `sum(increase(${histogram}_count{${sel(track)}}[${window}]))`, base),
        buckets: perTrack((track) => `sum by (le) (increase(${histogram}_bucket{${sel(track)}}[${window}]))`, base),
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
