// Runs every gate's queries against a MetricSource and hands the numbers to the judge. No I/O library here: only ports.
import type { GateSpec } from '../core/gate-config.js';
import {
  baselinePresenceQuery,
  displayQuery,
  gateQueries,
  type GateQueries,
  type NeededMetric,
  gateWindow,
  type GateContext,
  type GateSelectors,
  type PerTrack,
} from '../core/gates.js';
import { bucketsFromSamples, scaleBuckets } from '../core/histogram.js';
import {
  judge,
  type GateLook,
  type GateMeasurement,
  type MeasurementError,
  type TrackMeasurement,
} from '../core/judge.js';
import { metricsPreset } from '../core/metric-presets.js';
import type { GateReport, GateResult, MetricResult, MetricSample, MetricSource } from '../core/ports.js';

export interface MeasureOptions {
  source: MetricSource;
  gates: GateSpec[];
  selectors: GateSelectors;
  /** Evaluation time. */
  at: Date;
  /** Range of rate/increase for gates without their own `window`, e.g. `60s` (the rollout: time since the canary started). */
  window: string;
  /** Overall false-rollback rate (contract `alpha`). */
  alpha: number;
  /** 1-based look of the analysis (alpha spending); default 1. */
  look?: number;
}

export interface MeasureResult {
  measurements: GateMeasurement[];
  looks: GateLook[];
  reports: GateReport[];
  result: GateResult;
  /** Gates whose query Prometheus rejected (a typo): configuration errors the caller should surface as bad input. */
  queryErrors: string[];
  /** Prometheus could not be reached at all (refused, DNS, timeout): why, as the adapter said it. */
  unreachable?: string;
  /** Prometheus refused the credentials (401/403, or no token could be had): a configuration error. */
  authError?: string;
}

/**
 * Prometheus could not be reached (connection refused, DNS error, timeout): an error of the run
 * (exit 1), never a verdict, so it is not mistaken for a canary with too little traffic (inconclusive).
 */
export class PrometheusUnreachableError extends Error {
  override readonly name = 'PrometheusUnreachableError';
}

/** The first error of a kind in a look, if any. */
function errorOf(measurements: GateMeasurement[], kind: MeasurementError['kind']): string | undefined {
  return measurements.find((m) => m.error?.kind === kind)?.error?.error;
}

type Single = { ok: true; value: number | null; samples: MetricSample[] } | { ok: false; error: MeasurementError };

async function runRaw(source: MetricSource, query: string, at: Date): Promise<Single> {
  let result: MetricResult;
  try {
    result = await source.query(query, at);
  } catch (error) {
    result = { state: 'error', kind: 'unreachable', error: (error as Error).message };
  }
  if (result.state === 'error') return { ok: false, error: { ...result, query } };
  return { ok: true, value: null, samples: result.samples };
}

/** A query whose answer must be one number (or nothing). */
async function run(source: MetricSource, query: string, at: Date): Promise<Single> {
  const answer = await runRaw(source, query, at);
  if (!answer.ok) return answer;
  const [first, second] = answer.samples;
  if (!first) return answer;
  if (second) {
    const error = `query returned ${answer.samples.length} series; aggregate it to one, e.g. sum(...) or max(...)`;
    return { ok: false, error: { state: 'error', kind: 'bad-query', error, query } };
  }
  return { ok: true, value: first.value, samples: answer.samples };
}

/** The needed metrics that have no series at all for the track: never read as zero, named in the verdict. */
async function missingMetrics(source: MetricSource, needs: NeededMetric[], at: Date): Promise<string[]> {
  const answers = await Promise.all(needs.map((need) => runRaw(source, need.query, at)));
  return needs
    .filter((_, index) => {
      const answer = answers[index]!;
      return answer.ok && answer.samples.length === 0;
    })
    .map((need) => need.metric);
}

async function measureTrack(
  source: MetricSource,
  queries: GateQueries,
  track: keyof PerTrack,
  at: Date,
): Promise<{ data: TrackMeasurement; error?: MeasurementError }> {
  const pick = (pair?: PerTrack) => pair?.[track];
  const [value, requests, events, buckets] = await Promise.all([
    pick(queries.value) ? run(source, pick(queries.value)!, at) : undefined,
    pick(queries.requests) ? run(source, pick(queries.requests)!, at) : undefined,
    pick(queries.events) ? run(source, pick(queries.events)!, at) : undefined,
    pick(queries.buckets) ? runRaw(source, pick(queries.buckets)!, at) : undefined,
  ]);
  const failed = [value, requests, events, buckets].find((r): r is Extract<Single, { ok: false }> => r?.ok === false);
  const number = (r?: Single) => (r?.ok ? r.value : null);
  const data: TrackMeasurement = { value: number(value), requests: number(requests) };
  if (events) data.events = number(events);
  if (buckets?.ok)
    data.buckets = scaleBuckets(bucketsFromSamples(buckets.samples), 1 / (queries.bucketUnitsPerSecond ?? 1));
  if (failed) return { data, error: failed.error };
  const noData =
    (value && data.value === null) || (requests && data.requests === null) || (buckets && !data.buckets?.length);
  if (noData) {
    const missing = await missingMetrics(source, queries.needs[track], at);
    if (missing.length > 0) data.missing = missing;
  }
  return { data };
}

/**
 * The selectors with the track the canary is compared with: `baseline` when a baseline runs beside it (its series
 * exist now), else `stable`, as the contract says.
 */
export async function withBaselineTrack(
  source: MetricSource,
  selectors: Omit<GateSelectors, 'baselineTrack'>,
  at: Date,
): Promise<GateSelectors> {
  const query = baselinePresenceQuery({ ...selectors, baselineTrack: 'baseline' });
  const answer = query ? await runRaw(source, query, at) : undefined;
  const running = answer?.ok === true && answer.samples.some((sample) => sample.value > 0);
  return { ...selectors, baselineTrack: running ? 'baseline' : 'stable' };
}

/** Queries one gate for canary and baseline. */
export async function measureGate(
  source: MetricSource,
  gate: GateSpec,
  context: GateContext,
  at: Date,
): Promise<GateMeasurement> {
  const queries = gateQueries(gate, context);
  const [canary, baseline] = await Promise.all([
    measureTrack(source, queries, 'canary', at),
    measureTrack(source, queries, 'baseline', at),
  ]);
  const measurement: GateMeasurement = {
    gate,
    kind: queries.kind,
    query: displayQuery(queries),
    window: gateWindow(gate, context),
    canary: canary.data,
    baseline: baseline.data,
  };
  const error = canary.error ?? baseline.error;
  if (error) measurement.error = error;
  return measurement;
}

/** One look: every gate measured and judged. */
export async function measure(options: MeasureOptions): Promise<MeasureResult> {
  const context: GateContext = { ...options.selectors, window: options.window };
  const measurements = await Promise.all(
    options.gates.map((gate) => measureGate(options.source, gate, context, options.at)),
  );
  const { looks, result } = judge(measurements, { alpha: options.alpha, look: options.look ?? 1 });
  const queryErrors = looks
    .filter(
      (look) =>
        look.outcome === 'error' &&
        measurements.find((m) => m.gate.name === look.report.name)?.error?.kind === 'bad-query',
    )
    .map((look) => look.report.reason);
  const unreachable = errorOf(measurements, 'unreachable');
  const authError = errorOf(measurements, 'auth');
  return {
    measurements,
    looks,
    reports: looks.map((look) => look.report),
    result,
    queryErrors,
    ...(unreachable ? { unreachable } : {}),
    ...(authError ? { authError } : {}),
  };
}

export interface AnalyzeResult {
  reports: GateReport[];
  verdict: GateResult;
  queryErrors: string[];
  /** Prometheus could not be reached: the caller fails the run (exit 1) rather than call it inconclusive. */
  unreachable?: string;
  /** Prometheus refused the credentials: bad input (exit 2), not inconclusive. */
  authError?: string;
  at: string;
  window: string;
}

function summary(result: MeasureResult, at: Date, window: string): AnalyzeResult {
  return {
    reports: result.reports,
    verdict: result.result,
    queryErrors: result.queryErrors,
    ...(result.unreachable ? { unreachable: result.unreachable } : {}),
    ...(result.authError ? { authError: result.authError } : {}),
    at: at.toISOString(),
    window,
  };
}

/** `analyze` now: the gates over the last `window`. */
export async function analyzeNow(options: Omit<MeasureOptions, 'look'>): Promise<AnalyzeResult> {
  return summary(await measure(options), options.at, options.window);
}

/** `analyze --from --to`: replays a past window as one look, to tune thresholds on real data. */
export async function analyzeWindow(
  options: Omit<MeasureOptions, 'look' | 'at' | 'window'> & { from: Date; to: Date },
): Promise<AnalyzeResult> {
  const seconds = Math.round((options.to.getTime() - options.from.getTime()) / 1000);
  if (!(seconds > 0))
    throw new Error(`analyze: --to (${options.to.toISOString()}) must be after --from (${options.from.toISOString()})`);
  const window = `${seconds}s`;
  return summary(await measure({ ...options, at: options.to, window }), options.to, window);
}

/** What the preflight says of a gate without stable data: which metric is missing, and what makes it exist. */
function noDataMessage(gate: string, query: string, missing: string[], selectors: GateSelectors): string {
  const preset = metricsPreset(selectors.metrics ?? 'app');
  const what =
    missing.length > 0 ? `metric ${missing.join(', ')} not found for the stable track` : 'no data for the stable track';
  const how =
    preset.name === 'app'
      ? 'check that the model exports the metric with labels namespace, app and track'
      : `the ${preset.name} metrics need ${preset.setup}; tracks are told apart by ${preset.tracksText}`;
  return `gate '${gate}': ${what} (query: ${query}); ${how}`;
}

export interface PreflightIssue {
  gate: string;
  query: string;
  problem: 'no-data' | 'error' | 'bad-query';
  message: string;
}

/**
 * Before any traffic moves: each gate's baseline queries once against the stable track. Gates that return no data
 * or error are listed with what to check; a PromQL typo names the gate and carries Prometheus's own error. Throws a
 * PrometheusUnreachableError when Prometheus cannot be reached at all (refused, DNS, timeout).
 */
export async function preflight(
  options: Pick<MeasureOptions, 'source' | 'gates' | 'at' | 'window'> & {
    selectors: Omit<GateSelectors, 'baselineTrack'>;
  },
): Promise<PreflightIssue[]> {
  const context: GateContext = { ...options.selectors, baselineTrack: 'stable', window: options.window };
  const issues: PreflightIssue[] = [];
  let unreachable: string | undefined;
  await Promise.all(
    options.gates.map(async (gate) => {
      const queries = gateQueries(gate, context);
      for (const pair of [queries.value, queries.requests, queries.events, queries.buckets]) {
        if (!pair) continue;
        const answer = await runRaw(options.source, pair.baseline, options.at);
        if (!answer.ok && answer.error.kind === 'unreachable') {
          unreachable ??= answer.error.error;
          return;
        }
        if (!answer.ok) {
          const bad = answer.error.kind === 'bad-query';
          issues.push({
            gate: gate.name,
            query: pair.baseline,
            problem: bad ? 'bad-query' : 'error',
            message: bad
              ? `gate '${gate.name}': Prometheus rejected the query: ${answer.error.error}. Fix the gate's query (or metric/labels).`
              : `gate '${gate.name}': ${answer.error.error}`,
          });
          return;
        }
        if (answer.samples.length === 0) {
          const missing = await missingMetrics(options.source, queries.needs.baseline, options.at);
          issues.push({
            gate: gate.name,
            query: pair.baseline,
            problem: 'no-data',
            message: noDataMessage(gate.name, pair.baseline, missing, context),
          });
          return;
        }
      }
    }),
  );
  // Not a gate's problem: nothing can be checked, and nothing should start, until Prometheus answers.
  if (unreachable) throw new PrometheusUnreachableError(`preflight: ${unreachable}: check prometheus-url`);
  return issues.sort((a, b) => a.gate.localeCompare(b.gate));
}
