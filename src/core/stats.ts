// Statistical tests the judge uses to compare canary with baseline. Pure math, no dependencies.

const LANCZOS = [
  676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const shifted = x - 1;
  let sum = 0.99999999999980993;
  LANCZOS.forEach((coefficient, index) => {
    sum += coefficient / (shifted + index + 1);
  });
  const t = shifted + LANCZOS.length - 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}

export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 via erf; error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Upper tail P(Z > z), accurate far into the tail (where 1 - normalCdf would round to 0). */
export function normalUpperTail(z: number): number {
  if (z < 5) return 1 - normalCdf(z);
  // Asymptotic expansion of Mills' ratio.
  const z2 = z * z;
  return (Math.exp(-z2 / 2) / (z * Math.sqrt(2 * Math.PI))) * (1 - 1 / z2 + 3 / (z2 * z2));
}

/** z such that P(Z > z) = p (bisection; p in (0, 0.5]). */
export function normalQuantileUpper(p: number): number {
  let low = 0;
  let high = 40;
  for (let i = 0; i < 100; i++) {
    const mid = (low + high) / 2;
    if (normalUpperTail(mid) > p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/**
 * Alpha spent at look `look` (1, 2, ...): alpha·6/(π²·look²). The series sums to alpha, so a test run at every
 * look keeps the overall false-alarm rate at or below alpha however many looks there are.
 */
export function alphaAtLook(alpha: number, look: number): number {
  return (alpha * 6) / (Math.PI * Math.PI * Math.max(1, look) ** 2);
}

export interface RateCounts {
  /** Errors (or invalid predictions) in the window. */
  events: number;
  /** Requests in the window. */
  total: number;
}

export interface RateTest {
  /** log of the mixture likelihood ratio against "canary rate = ratio × baseline rate". */
  logLikelihoodRatio: number;
  /** Share of all events expected on the canary if its rate were exactly ratio × baseline. */
  nullShare: number;
  observedShare: number;
  /** Evidence the canary's rate is above ratio × baseline, at the given alpha (always valid). */
  worse: boolean;
  /** Evidence the canary's rate is below ratio × baseline, at the given alpha (always valid). */
  safe: boolean;
}

/**
 * Sequential test of two event rates (mixture SPRT, always valid). Given the total number of events, the number on
 * the canary is binomial with share p0 = r·n_c / (r·n_c + n_b) when the canary's rate is r × the baseline's. The
 * Beta(1,1)-mixture likelihood ratio against p0 is a martingale under that null, so by Ville's inequality it
 * exceeds 1/alpha with probability at most alpha, at any look, over all looks: stopping as soon as it does keeps
 * the false-rollback rate at or below alpha.
 */
export function compareRates(canary: RateCounts, baseline: RateCounts, ratio: number, alpha: number): RateTest {
  const k = Math.max(0, Math.round(canary.events));
  const n = k + Math.max(0, Math.round(baseline.events));
  const weighted = ratio * Math.max(0, canary.total);
  const denominator = weighted + Math.max(0, baseline.total);
  const nullShare = denominator > 0 ? weighted / denominator : 0.5;
  const observedShare = n > 0 ? k / n : nullShare;
  if (n === 0 || nullShare <= 0 || nullShare >= 1) {
    return { logLikelihoodRatio: 0, nullShare, observedShare, worse: false, safe: false };
  }
  const logLikelihoodRatio = logBeta(k + 1, n - k + 1) - k * Math.log(nullShare) - (n - k) * Math.log(1 - nullShare);
  const decisive = logLikelihoodRatio >= Math.log(1 / alpha);
  return {
    logLikelihoodRatio,
    nullShare,
    observedShare,
    worse: decisive && observedShare > nullShare,
    safe: decisive && observedShare < nullShare,
  };
}

export interface MannWhitney {
  u: number;
  z: number;
  /** One-sided p-value for "canary values are stochastically larger than baseline values". */
  pGreater: number;
  /** Probability a canary request is slower than a baseline one (ties count half): U / (n1·n2). */
  effect: number;
}

/**
 * Mann–Whitney U from bucket counts over the same bucket boundaries (as Kayenta judges latency): requests in one
 * bucket are ties; the normal approximation uses the tie-corrected variance.
 */
export function mannWhitneyFromBuckets(canary: number[], baseline: number[]): MannWhitney | undefined {
  const n1 = canary.reduce((a, b) => a + b, 0);
  const n2 = baseline.reduce((a, b) => a + b, 0);
  if (n1 <= 0 || n2 <= 0 || canary.length !== baseline.length) return undefined;
  let u = 0;
  let below = 0;
  let ties = 0;
  canary.forEach((count, index) => {
    const other = baseline[index] ?? 0;
    u += count * (below + other / 2);
    below += other;
    const t = count + other;
    ties += t * t * t - t;
  });
  const total = n1 + n2;
  const variance = ((n1 * n2) / 12) * (total + 1 - ties / (total * (total - 1)));
  const mean = (n1 * n2) / 2;
  const z = variance > 0 ? (u - mean) / Math.sqrt(variance) : 0;
  return { u, z, pGreater: normalUpperTail(z), effect: u / (n1 * n2) };
}

function shares(counts: number[], smoothing: number): number[] {
  const smoothed = counts.map((count) => Math.max(0, count) + smoothing);
  const sum = smoothed.reduce((a, b) => a + b, 0);
  return smoothed.map((count) => count / sum);
}

/** Population stability index between two histograms (bucket counts; half a count added so empty buckets are finite). */
export function populationStabilityIndex(canary: number[], baseline: number[]): number {
  const p = shares(canary, 0.5);
  const q = shares(baseline, 0.5);
  return p.reduce((sum, share, index) => {
    const reference = q[index] ?? 0;
    return sum + (share - reference) * Math.log(share / reference);
  }, 0);
}

/** Kolmogorov–Smirnov distance between two histograms over the same buckets: the largest gap of their CDFs. */
export function ksDistance(canary: number[], baseline: number[]): number {
  const p = shares(canary, 0);
  const q = shares(baseline, 0);
  let cp = 0;
  let cq = 0;
  let distance = 0;
  p.forEach((share, index) => {
    cp += share;
    cq += q[index] ?? 0;
    distance = Math.max(distance, Math.abs(cp - cq));
  });
  return distance;
}

function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/** Above this many events the binomial sum gives way to its normal approximation (same answer, bounded time). */
const EXACT_POWER_EVENTS = 5000;

/**
 * Power of `compareRates` at these exposures: the probability that a canary exactly as good as its baseline (events
 * at `baselineRate` on both) is found decisively below `ratio` × the baseline. The two hypotheses are symmetric, so
 * this is also the chance to tell a healthy canary from one `ratio` times worse: "power to see +50%".
 */
export function rateTestPower(
  canaryTotal: number,
  baselineTotal: number,
  baselineRate: number,
  ratio: number,
  alpha: number,
): number {
  const n = Math.round(Math.max(0, baselineRate) * (canaryTotal + baselineTotal));
  if (n <= 0 || canaryTotal <= 0 || baselineTotal <= 0 || ratio <= 1) return 0;
  const share = canaryTotal / (canaryTotal + baselineTotal);
  const safe = (k: number) =>
    compareRates({ events: k, total: canaryTotal }, { events: n - k, total: baselineTotal }, ratio, alpha).safe;
  // The safe region is k <= kMax (fewer canary events is more evidence); find its edge by bisection.
  if (!safe(0)) return 0;
  let low = 0;
  let high = n;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (safe(middle)) low = middle;
    else high = middle - 1;
  }
  const kMax = low;
  if (n > EXACT_POWER_EVENTS) {
    return normalCdf((kMax + 0.5 - n * share) / Math.sqrt(n * share * (1 - share)));
  }
  let power = 0;
  for (let k = 0; k <= kMax; k++) {
    power += Math.exp(logChoose(n, k) + k * Math.log(share) + (n - k) * Math.log(1 - share));
  }
  return Math.min(1, power);
}

/**
 * Power of the one-sided Mann–Whitney test at level `alpha` with `canary` and `baseline` observations when the
 * effect (P(one side's value exceeds the other's)) is `effect` instead of 0.5 (normal approximation).
 */
export function mannWhitneyPower(canary: number, baseline: number, effect: number, alpha: number): number {
  if (canary <= 0 || baseline <= 0) return 0;
  const z = Math.abs(0.5 - effect) * Math.sqrt((12 * canary * baseline) / (canary + baseline + 1));
  return normalCdf(z - normalQuantileUpper(alpha));
}
