// Detection benchmark: Poisson traffic for stable and canary, judged look by look exactly as the rollout does
// (cumulative window since the canary started, DEFAULT_GATES, judge + decideAnalysis), against a Flagger-style rule
// (fixed thresholds on a 1 m window checked every 1 m, rollback after 5 failed checks) on the same traffic.
import { DEFAULT_LIMITS, decideAnalysis, type Look } from '../src/core/analysis.js';
import { DEFAULT_GATES } from '../src/core/gate-config.js';
import { type Bucket, histogramQuantile } from '../src/core/histogram.js';
import { judge, type GateMeasurement, type TrackMeasurement } from '../src/core/judge.js';
import { normalCdf } from '../src/core/stats.js';

const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Number.POSITIVE_INFINITY];

interface Traffic {
  errorRate: number;
  /** Lognormal latency: median seconds and sigma of the log. */
  median: number;
  sigma: number;
  /** Share of requests slowed by `slowFactor` (a tail-only regression). */
  slowShare?: number;
  slowFactor?: number;
}

interface Settings {
  rps: number;
  intervalSeconds: number;
  durationSeconds: number;
  alpha: number;
  seed: number;
}

/** Small fast PRNG (mulberry32) so runs are reproducible. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function poisson(rand: () => number, mean: number): number {
  let count = 0;
  let left = mean;
  while (left > 0) {
    const chunk = Math.min(left, 30);
    left -= chunk;
    const limit = Math.exp(-chunk);
    let product = rand();
    while (product > limit) {
      count++;
      product *= rand();
    }
  }
  return count;
}

function lognormalCdf(le: number, median: number, sigma: number): number {
  return Number.isFinite(le) ? normalCdf((Math.log(le) - Math.log(median)) / sigma) : 1;
}

function bucketShares(traffic: Traffic): number[] {
  let previous = 0;
  const slow = traffic.slowShare ?? 0;
  const factor = traffic.slowFactor ?? 1;
  return BOUNDS.map((le) => {
    const cdf =
      (1 - slow) * lognormalCdf(le, traffic.median, traffic.sigma) +
      slow * lognormalCdf(le, traffic.median * factor, traffic.sigma);
    const share = cdf - previous;
    previous = cdf;
    return share;
  });
}

/** Cumulative counters of one track, advanced one interval at a time (per-bucket Poisson = Poisson thinning). */
class Track {
  requests = 0;
  errors = 0;
  readonly perBucket = BOUNDS.map(() => 0);
  private readonly shares: number[];
  constructor(
    private readonly traffic: Traffic,
    private readonly rand: () => number,
  ) {
    this.shares = bucketShares(traffic);
  }
  advance(seconds: number, rps: number): void {
    const mean = rps * seconds;
    this.shares.forEach((share, index) => {
      const count = poisson(this.rand, mean * share);
      this.perBucket[index] = (this.perBucket[index] ?? 0) + count;
      this.requests += count;
    });
    this.errors += poisson(this.rand, mean * this.traffic.errorRate);
  }
  buckets(): Bucket[] {
    let cumulative = 0;
    return BOUNDS.map((le, index) => ({ le, cumulative: (cumulative += this.perBucket[index] ?? 0) }));
  }
  snapshot(): { requests: number; errors: number; buckets: Bucket[] } {
    return { requests: this.requests, errors: this.errors, buckets: this.buckets() };
  }
}

function measurement(
  name: string,
  canary: ReturnType<Track['snapshot']>,
  baseline: ReturnType<Track['snapshot']>,
): GateMeasurement {
  const gate = DEFAULT_GATES.find((g) => g.name === name)!;
  const track = (t: typeof canary): TrackMeasurement =>
    name === 'error-rate'
      ? { value: t.errors / t.requests, requests: t.requests, events: t.errors }
      : { value: histogramQuantile(0.95, t.buckets), requests: t.requests, buckets: t.buckets };
  return {
    gate,
    kind: name === 'error-rate' ? 'rate' : 'latency',
    query: '',
    window: '',
    canary: track(canary),
    baseline: track(baseline),
  };
}

interface Outcome {
  /** Seconds of canary traffic until rollback; undefined when never rolled back. */
  rollbackAfter?: number;
}

/** One canary judged as the rollout judges it: a look every interval over the cumulative window. */
function judged(baseline: Traffic, canary: Traffic, settings: Settings, seed: number): Outcome {
  const rand = random(seed);
  const stable = new Track(baseline, rand);
  const candidate = new Track(canary, rand);
  const looks: Look[] = [];
  const lookCount = Math.floor(settings.durationSeconds / settings.intervalSeconds);
  for (let look = 1; look <= lookCount; look++) {
    stable.advance(settings.intervalSeconds, settings.rps);
    candidate.advance(settings.intervalSeconds, settings.rps);
    const c = candidate.snapshot();
    const b = stable.snapshot();
    const measured = DEFAULT_GATES.map((gate) => measurement(gate.name, c, b));
    looks.push({ at: String(look), gates: judge(measured, { alpha: settings.alpha, look }).looks });
    const decision = decideAnalysis(looks, DEFAULT_LIMITS, look === lookCount);
    if (decision.state === 'fail') return { rollbackAfter: look * settings.intervalSeconds };
    if (decision.state !== 'continue') return {};
  }
  return {};
}

/** Flagger: every 1 m, the last 1 m's error rate and p95 against fixed maxima; rollback at 5 failed checks. */
function flagger(baseline: Traffic, canary: Traffic, settings: Settings, seed: number, p95Max: number): Outcome {
  const rand = random(seed);
  new Track(baseline, rand); // same generator consumption order is not needed: Flagger ignores the baseline
  const candidate = new Track(canary, rand);
  let failed = 0;
  for (let minute = 1; minute * 60 <= settings.durationSeconds; minute++) {
    const before = candidate.snapshot();
    candidate.advance(60, settings.rps);
    const after = candidate.snapshot();
    const requests = after.requests - before.requests;
    const errorRate = (after.errors - before.errors) / requests;
    const window = after.buckets.map((bucket, index) => ({
      le: bucket.le,
      cumulative: bucket.cumulative - (before.buckets[index]?.cumulative ?? 0),
    }));
    if (errorRate > 0.01 || histogramQuantile(0.95, window) > p95Max) failed++;
    if (failed >= 5) return { rollbackAfter: minute * 60 };
  }
  return {};
}

function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

interface Row {
  scenario: string;
  rule: string;
  median: string;
  p95: string;
  rolledBack: string;
}

function summarise(scenario: string, rule: string, outcomes: Outcome[], duration: number): Row {
  const times = outcomes.map((o) => o.rollbackAfter ?? Number.POSITIVE_INFINITY);
  const rolled = times.filter(Number.isFinite).length;
  const show = (t: number) => (Number.isFinite(t) ? `${t} s` : `> ${duration} s`);
  return {
    scenario,
    rule,
    median: show(percentile(times, 0.5)),
    p95: show(percentile(times, 0.95)),
    rolledBack: `${((100 * rolled) / outcomes.length).toFixed(1)}%`,
  };
}

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
}

export default async function run(args: string[]): Promise<void> {
  const settings: Settings = {
    rps: option(args, 'rps', 20),
    intervalSeconds: option(args, 'interval', 10),
    durationSeconds: option(args, 'duration', 600),
    alpha: option(args, 'alpha', 0.01),
    seed: option(args, 'seed', 1),
  };
  const healthyRuns = option(args, 'healthy', 1000);
  const badRuns = option(args, 'bad', 300);
  const stable: Traffic = { errorRate: 0.005, median: 0.1, sigma: 0.5 };
  const scenarios: Array<{ name: string; canary: Traffic; runs: number }> = [
    { name: '5% errors vs 0.5%', canary: { ...stable, errorRate: 0.05 }, runs: badRuns },
    { name: 'p95 latency +50%', canary: { ...stable, median: stable.median * 1.5 }, runs: badRuns },
    { name: 'p95 +50%, tail only', canary: { ...stable, slowShare: 0.12, slowFactor: 3 }, runs: badRuns },
    { name: 'healthy (false rollbacks)', canary: stable, runs: healthyRuns },
  ];
  // Flagger's fixed p95 maximum: 20% above the healthy p95 as the histogram reports it.
  const expected = bucketShares(stable);
  let cumulative = 0;
  const p95Max =
    1.2 *
    histogramQuantile(
      0.95,
      BOUNDS.map((le, i) => ({ le, cumulative: (cumulative += expected[i] ?? 0) })),
    );
  const started = Date.now();
  const rows: Row[] = [];
  for (const scenario of scenarios) {
    const seeds = Array.from({ length: scenario.runs }, (_, i) => settings.seed * 1_000_003 + i);
    rows.push(
      summarise(
        scenario.name,
        'model-canary',
        seeds.map((s) => judged(stable, scenario.canary, settings, s)),
        settings.durationSeconds,
      ),
    );
    rows.push(
      summarise(
        scenario.name,
        'flagger-style',
        seeds.map((s) => flagger(stable, scenario.canary, settings, s, p95Max)),
        settings.durationSeconds,
      ),
    );
  }
  console.log(
    `detection: ${settings.rps} rps per side, interval ${settings.intervalSeconds} s, analysis ${settings.durationSeconds} s, alpha ${settings.alpha}; flagger-style: 1 m interval, threshold 5, error max 1%, p95 max ${Math.round(p95Max * 1000)} ms`,
  );
  console.table(rows);
  console.log(`elapsed ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
