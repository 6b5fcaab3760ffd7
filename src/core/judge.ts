// Measurements -> pass | fail | inconclusive per gate, with the numbers and the reason. Pure.
import type { GateSpec } from './gate-config.js';
import type { GateKind } from './gates.js';
import { isStatistical } from './gates.js';
import { alignBuckets, resampleBuckets, scaleBuckets, shiftedExceedance, type Bucket } from './histogram.js';
import type { GateReport, GateResult, MetricResult } from './ports.js';
import {
  alphaAtLook,
  compareRates,
  ksDistance,
  mannWhitneyFromBuckets,
  mannWhitneyPower,
  populationStabilityIndex,
  rateTestPower,
} from './stats.js';

export interface TrackMeasurement {
  /** The gate's value; null when the query returned no series. NaN / ±Inf are kept to be reported. */
  value: number | null;
  /** Requests in the window; null when not measured or no data. */
  requests: number | null;
  events?: number | null;
  buckets?: Bucket[];
  /** Metrics the gate needs that have no series at all for this track (never read as zero). */
  missing?: string[];
}

export type MeasurementError = Extract<MetricResult, { state: 'error' }> & { query: string };

export interface GateMeasurement {
  gate: GateSpec;
  kind: GateKind;
  query: string;
  window: string;
  canary: TrackMeasurement;
  baseline: TrackMeasurement;
  /** The first query that failed; the gate is then an `error` look. */
  error?: MeasurementError;
}

export interface JudgeContext {
  /** Overall false-rollback rate over all statistical gates and all looks. */
  alpha: number;
  /** 1 for the first look of the analysis, 2 for the next, ... (for alpha spending). */
  look: number;
}

/** What one look at one gate means for the analysis (Argo's measurement phases). */
export type LookOutcome = 'pass' | 'fail' | 'inconclusive' | 'error';

export interface GateLook {
  report: GateReport;
  outcome: LookOutcome;
  /** The statistical test settled the question (either way) and more looks will not change it. */
  decisive: boolean;
  /** Inconclusive only because too few requests have arrived yet (warming up). */
  insufficient: boolean;
  /** Relative statistical gates: the power the data had to tell the canary from one worse by the gate's bound. */
  power?: number;
}

const RATE_GATES = new Set(['error-rate', 'invalid-output-rate']);
const LATENCY_GATES = new Set(['latency-p50', 'latency-p95', 'latency-p99']);

export function formatValue(gate: GateSpec, value: number | null): string {
  if (value === null) return 'no data';
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  if (gate.builtin && RATE_GATES.has(gate.builtin)) return `${Number((value * 100).toPrecision(3))}%`;
  if (gate.builtin && LATENCY_GATES.has(gate.builtin)) {
    return value < 1 ? `${Number((value * 1000).toPrecision(3))} ms` : `${Number(value.toPrecision(3))} s`;
  }
  return String(Number(value.toPrecision(3)));
}

export function thresholdText(gate: GateSpec): string {
  const parts: string[] = [];
  if (gate.max !== undefined) parts.push(`max ${gate.max}`);
  if (gate.min !== undefined) parts.push(`min ${gate.min}`);
  if (gate.maxRatio !== undefined) parts.push(`max ${gate.maxRatio}x baseline`);
  return parts.join(', ');
}

/** Alpha of one statistical gate at one look: its own confidence, or an equal share of the overall alpha. */
export function gateAlpha(gate: GateSpec, context: JudgeContext, statisticalGates: number): number {
  return gate.confidence !== undefined ? 1 - gate.confidence : context.alpha / Math.max(1, statisticalGates);
}

function unusable(value: number | null): string | undefined {
  if (value === null) return 'no data';
  if (Number.isNaN(value)) return 'NaN (0/0: no requests in the window)';
  if (!Number.isFinite(value)) return `${value > 0 ? '+' : '-'}Inf (no requests, or all in the +Inf bucket)`;
  return undefined;
}

function countOf(value: number | null | undefined): number {
  return value !== null && value !== undefined && Number.isFinite(value) ? value : 0;
}

interface Verdict {
  outcome: LookOutcome;
  reason: string;
  decisive?: boolean;
  insufficient?: boolean;
  evidence?: string;
  power?: number;
}

/** `+50%` for a ratio of 1.5. */
export function regressionText(ratio: number): string {
  return `+${Number(((ratio - 1) * 100).toPrecision(3))}%`;
}

const shortNumber = (value: number) => String(Number(value.toPrecision(2)));

/** `p=0.003`; below what a double tells apart from 0 in the tail, `p<1e-15` (never `p=0`, which no test gives). */
const pValue = (p: number) => (p < 1e-15 ? 'p<1e-15' : `p=${shortNumber(p)}`);

function powerText(power: number, ratio: number): string {
  return `power ${shortNumber(power)} to see ${regressionText(ratio)}`;
}

function driftValue(m: GateMeasurement): number | null {
  const canary = m.canary.buckets ?? [];
  const baseline = m.baseline.buckets ?? [];
  if (canary.length === 0 || baseline.length === 0) return null;
  const aligned = alignBuckets(canary, baseline);
  return m.gate.method === 'ks' ? ksDistance(aligned.a, aligned.b) : populationStabilityIndex(aligned.a, aligned.b);
}

function checkSamples(m: GateMeasurement): Verdict | undefined {
  const { gate } = m;
  if (gate.minRequests <= 0) return undefined;
  for (const [track, data] of [
    ['canary', m.canary],
    ['baseline', m.baseline],
  ] as const) {
    if (track === 'baseline' && gate.maxRatio === undefined && gate.builtin !== 'prediction-drift') continue;
    if (data.missing?.length)
      return { outcome: 'inconclusive', insufficient: true, reason: missingReason(data, track) };
    const requests = countOf(data.requests);
    if (requests < gate.minRequests) {
      return {
        outcome: 'inconclusive',
        insufficient: true,
        reason: `${track} served ${Math.round(requests)} requests in ${m.window}, fewer than min-requests ${gate.minRequests}`,
      };
    }
  }
  return undefined;
}

function checkAbsolute(gate: GateSpec, canary: number): Verdict | undefined {
  const shown = (value: number) => formatValue(gate, value);
  if (gate.max !== undefined && canary > gate.max) {
    return { outcome: 'fail', reason: `canary ${shown(canary)} > ${shown(gate.max)}` };
  }
  if (gate.min !== undefined && canary < gate.min) {
    return { outcome: 'fail', reason: `canary ${shown(canary)} < ${shown(gate.min)}` };
  }
  return undefined;
}

function checkRelative(m: GateMeasurement, canary: number, baseline: number, alpha: number, look: number): Verdict {
  const { gate } = m;
  const ratio = gate.maxRatio ?? Number.POSITIVE_INFINITY;
  const shown = (value: number) => formatValue(gate, value);
  const pointRatio = baseline > 0 ? canary / baseline : canary > 0 ? Number.POSITIVE_INFINITY : 1;
  const versus = `canary ${shown(canary)} vs baseline ${shown(baseline)}`;
  if (m.kind === 'rate' && isStatistical(gate)) return checkRates(m, versus, ratio, pointRatio, alpha);
  if (m.kind === 'latency' && isStatistical(gate))
    return checkLatency(m, versus, ratio, pointRatio, alphaAtLook(alpha, look));
  if (pointRatio > ratio) {
    return { outcome: 'fail', reason: `${versus}: ${Number(pointRatio.toPrecision(3))}x > ${ratio}x baseline` };
  }
  return { outcome: 'pass', reason: `${versus}: within ${ratio}x` };
}

/** Event rates: the mixture SPRT, always valid, so its threshold is the same at every look. */
function checkRates(m: GateMeasurement, versus: string, ratio: number, pointRatio: number, alpha: number): Verdict {
  const canary = { events: countOf(m.canary.events), total: countOf(m.canary.requests) };
  const baseline = { events: countOf(m.baseline.events), total: countOf(m.baseline.requests) };
  const test = compareRates(canary, baseline, ratio, alpha);
  const evidence = `likelihood ratio ${shortNumber(Math.exp(test.logLikelihoodRatio))}, needs ${shortNumber(1 / alpha)}`;
  if (test.worse)
    return { outcome: 'fail', decisive: true, evidence, reason: `${versus}: above ${ratio}x baseline (${evidence})` };
  const baselineRate = baseline.total > 0 ? baseline.events / baseline.total : 0;
  const power = rateTestPower(canary.total, baseline.total, baselineRate, ratio, alpha);
  if (test.safe) {
    return {
      outcome: 'pass',
      decisive: true,
      evidence,
      power,
      reason: `${versus}: decisively below ${ratio}x baseline (${evidence})`,
    };
  }
  const note =
    canary.events + baseline.events === 0
      ? 'no errors on either side yet, so nothing to compare (a max bound judges this gate on its own)'
      : pointRatio > ratio
        ? `above ${ratio}x but not significant yet`
        : 'no harm seen';
  return { outcome: 'pass', evidence, power, reason: `${versus}: ${note}; ${powerText(power, ratio)} (${evidence})` };
}

/**
 * Latency histograms, Mann–Whitney with alpha spent over looks: slower when the canary's values are significantly
 * larger and the point ratio is past the bound; decisively not worse when the canary sped up by the bound
 * (canary / bound) is significantly faster than the baseline.
 */
function checkLatency(m: GateMeasurement, versus: string, ratio: number, pointRatio: number, spent: number): Verdict {
  const canaryBuckets = m.canary.buckets ?? [];
  const baselineBuckets = m.baseline.buckets ?? [];
  const aligned = alignBuckets(canaryBuckets, baselineBuckets);
  const test = mannWhitneyFromBuckets(aligned.a, aligned.b);
  if (!test) return { outcome: 'inconclusive', reason: `${versus}: no histogram buckets to compare` };
  const evidence = `Mann-Whitney ${pValue(test.pGreater)}, needs < ${shortNumber(spent)}`;
  const times = `${Number(pointRatio.toPrecision(3))}x`;
  if (pointRatio > ratio && test.pGreater < spent) {
    return {
      outcome: 'fail',
      decisive: true,
      evidence,
      reason: `${versus}: ${times} > ${ratio}x, slower (${evidence})`,
    };
  }
  const n1 = aligned.a.reduce((a, b) => a + b, 0);
  const n2 = aligned.b.reduce((a, b) => a + b, 0);
  const power = mannWhitneyPower(n1, n2, shiftedExceedance(baselineBuckets, ratio), spent);
  const scaled = resampleBuckets(scaleBuckets(canaryBuckets, 1 / ratio), baselineBuckets);
  const bound = mannWhitneyFromBuckets(scaled.a, scaled.b);
  const pFaster = bound ? 1 - bound.pGreater : 1;
  if (pointRatio <= ratio && pFaster < spent) {
    const safeEvidence = `Mann-Whitney ${pValue(pFaster)} against ${ratio}x slower, needs < ${shortNumber(spent)}`;
    return {
      outcome: 'pass',
      decisive: true,
      evidence: safeEvidence,
      power,
      reason: `${versus}: decisively below ${ratio}x baseline (${safeEvidence})`,
    };
  }
  const note = pointRatio > ratio ? `${times} > ${ratio}x but not significant yet` : 'no harm seen';
  return { outcome: 'pass', evidence, power, reason: `${versus}: ${note}; ${powerText(power, ratio)} (${evidence})` };
}

function errorReason(m: GateMeasurement, error: MeasurementError): string {
  if (error.kind === 'bad-query') {
    return `gate '${m.gate.name}': Prometheus rejected the query: ${error.error}. Query: ${error.query}. Fix the gate's query (or metric/labels).`;
  }
  return `gate '${m.gate.name}': ${error.kind} error from Prometheus: ${error.error}`;
}

/** No series at all of a metric the gate needs: say which, since no data here is never a zero. */
function missingReason(data: TrackMeasurement, track: 'canary' | 'baseline'): string {
  const metrics = data.missing ?? [];
  const names = `${metrics.length > 1 ? 'metrics' : 'metric'} ${metrics.join(', ')}`;
  return `${names} not found for the ${track}: no series at all (not a zero); check that it is exported and scraped with the labels the gate selects on`;
}

function decide(
  m: GateMeasurement,
  context: JudgeContext,
  statisticalGates: number,
): Verdict & { canary: number | null; baseline: number | null } {
  const drift = m.kind === 'drift';
  const canary = drift ? driftValue(m) : m.canary.value;
  const baseline = drift ? null : m.baseline.value;
  const done = (verdict: Verdict) => ({ ...verdict, canary, baseline });
  if (m.error) return done({ outcome: 'error', reason: errorReason(m, m.error) });
  const alpha = gateAlpha(m.gate, context, statisticalGates);
  const relative = () =>
    m.gate.maxRatio === undefined ||
    drift ||
    canary === null ||
    baseline === null ||
    unusable(canary) ||
    unusable(baseline)
      ? undefined
      : checkRelative(m, canary, baseline, alpha, context.look);
  const samples = checkSamples(m);
  if (samples) {
    // The sequential tests are valid at any sample size, so decisive evidence of harm fails the canary before
    // min-requests arrived (waiting would only delay the rollback); a pass still needs min-requests.
    const early = isStatistical(m.gate) ? relative() : undefined;
    return done(early?.outcome === 'fail' ? early : samples);
  }
  const canaryProblem = unusable(canary);
  if (canaryProblem || canary === null) {
    if (m.canary.missing?.length) return done({ outcome: 'inconclusive', reason: missingReason(m.canary, 'canary') });
    const hint = drift ? ' (no prediction-score buckets for canary or baseline)' : '';
    return done({ outcome: 'inconclusive', reason: `canary value is ${canaryProblem ?? 'no data'}${hint}` });
  }
  const absolute = checkAbsolute(m.gate, canary);
  if (absolute) return done(absolute);
  if (m.gate.maxRatio === undefined || drift) {
    // An absolute bound is judged on the value over the window once min-requests arrived: nothing more to wait for.
    const bounds = thresholdText(m.gate) || 'no bound';
    return done({ outcome: 'pass', decisive: true, reason: `canary ${formatValue(m.gate, canary)} within ${bounds}` });
  }
  const baselineProblem = unusable(baseline);
  if (m.baseline.missing?.length && baseline === null) {
    return done({ outcome: 'inconclusive', reason: missingReason(m.baseline, 'baseline') });
  }
  if (baselineProblem || baseline === null) {
    return done({
      outcome: 'inconclusive',
      reason: `baseline value is ${baselineProblem ?? 'no data'}: nothing to compare with`,
    });
  }
  return done(relative() as Verdict);
}

/** One gate at one look. `statisticalGates` is how many gates share the overall alpha. */
export function judgeGate(m: GateMeasurement, context: JudgeContext, statisticalGates = 1): GateLook {
  const verdict = decide(m, context, statisticalGates);
  const result: GateResult = verdict.outcome === 'error' ? 'inconclusive' : verdict.outcome;
  const requests = m.canary.requests;
  return {
    report: {
      name: m.gate.name,
      result,
      canary: verdict.canary !== null && Number.isFinite(verdict.canary) ? verdict.canary : null,
      baseline: verdict.baseline !== null && Number.isFinite(verdict.baseline) ? verdict.baseline : null,
      threshold: thresholdText(m.gate),
      samples: requests !== null && Number.isFinite(requests) ? Math.round(requests) : null,
      reason: verdict.reason,
      query: m.query,
      ...(verdict.evidence ? { evidence: verdict.evidence } : {}),
      ...(verdict.power !== undefined ? { power: Number(verdict.power.toFixed(3)) } : {}),
    },
    outcome: verdict.outcome,
    decisive: verdict.decisive ?? false,
    insufficient: verdict.insufficient ?? false,
    ...(verdict.power !== undefined ? { power: verdict.power } : {}),
  };
}

/** Any fail -> fail; else any inconclusive -> inconclusive; else pass. */
export function overallResult(results: GateResult[]): GateResult {
  if (results.includes('fail')) return 'fail';
  if (results.includes('inconclusive') || results.length === 0) return 'inconclusive';
  return 'pass';
}

/** Every gate at one look, sharing alpha among the statistical gates. */
export function judge(
  measurements: GateMeasurement[],
  context: JudgeContext,
): { looks: GateLook[]; result: GateResult } {
  const statisticalGates = measurements.filter((m) => isStatistical(m.gate)).length;
  const looks = measurements.map((m) => judgeGate(m, context, statisticalGates));
  return { looks, result: overallResult(looks.map((look) => look.report.result)) };
}
