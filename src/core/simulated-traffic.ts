// Simulated traffic for `plan`'s estimates and the rollout benchmark: Poisson requests with a given error rate and
// a log-normal latency, counted as Prometheus counters and histograms would count them. Pure and seeded, so an
// estimate is the same on every run.
import type { GateSpec } from './gate-config.js';
import { histogramQuantile, type Bucket } from './histogram.js';
import type { GateMeasurement, TrackMeasurement } from './judge.js';
import { normalCdf } from './stats.js';

/** Latency histogram bounds in seconds (the Prometheus client defaults). */
export const SIMULATED_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Number.POSITIVE_INFINITY];

export interface Traffic {
  errorRate: number;
  /** Log-normal latency: median seconds and sigma of the log. */
  median: number;
  sigma: number;
  /** Share of requests slowed by `slowFactor` (a tail-only regression). */
  slowShare?: number;
  slowFactor?: number;
}

/** The stable version the estimates assume when nothing else is known: 0.5% errors, 100 ms median latency. */
export const TYPICAL_TRAFFIC: Traffic = { errorRate: 0.005, median: 0.1, sigma: 0.5 };

/** A small fast seeded PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function poisson(rand: () => number, mean: number): number {
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

/** Share of requests in each bucket of SIMULATED_BOUNDS. */
export function bucketShares(traffic: Traffic): number[] {
  let previous = 0;
  const slow = traffic.slowShare ?? 0;
  const factor = traffic.slowFactor ?? 1;
  return SIMULATED_BOUNDS.map((le) => {
    const cdf =
      (1 - slow) * lognormalCdf(le, traffic.median, traffic.sigma) +
      slow * lognormalCdf(le, traffic.median * factor, traffic.sigma);
    const share = cdf - previous;
    previous = cdf;
    return share;
  });
}

export interface TrackCounts {
  requests: number;
  errors: number;
  buckets: Bucket[];
}

/** Cumulative counters of one track (per-bucket Poisson counts: Poisson thinning). */
export class SimulatedTrack {
  private requests = 0;
  private errors = 0;
  private readonly perBucket = SIMULATED_BOUNDS.map(() => 0);
  private readonly shares: number[];
  constructor(
    private readonly traffic: Traffic,
    private readonly rand: () => number,
  ) {
    this.shares = bucketShares(traffic);
  }

  advance(seconds: number, rps: number): void {
    const mean = rps * seconds;
    if (mean <= 0) return;
    this.shares.forEach((share, index) => {
      const count = poisson(this.rand, mean * share);
      this.perBucket[index] = (this.perBucket[index] ?? 0) + count;
      this.requests += count;
    });
    this.errors += poisson(this.rand, mean * this.traffic.errorRate);
  }

  counts(): TrackCounts {
    let cumulative = 0;
    const buckets = SIMULATED_BOUNDS.map((le, index) => ({
      le,
      cumulative: (cumulative += this.perBucket[index] ?? 0),
    }));
    return { requests: this.requests, errors: this.errors, buckets };
  }
}

const QUANTILE_OF: Record<string, number> = { 'latency-p50': 0.5, 'latency-p95': 0.95, 'latency-p99': 0.99 };

/** The gates simulated traffic can stand in for: error and latency built-ins, and request rate. */
export function isSimulated(gate: GateSpec): boolean {
  return gate.builtin === 'error-rate' || gate.builtin === 'request-rate' || (gate.builtin ?? '') in QUANTILE_OF;
}

function trackMeasurement(gate: GateSpec, counts: TrackCounts, seconds: number): TrackMeasurement {
  const rate = (value: number) => (counts.requests > 0 ? value : Number.NaN);
  if (gate.builtin === 'error-rate') {
    return { value: rate(counts.errors / counts.requests), requests: counts.requests, events: counts.errors };
  }
  if (gate.builtin === 'request-rate') {
    return { value: seconds > 0 ? counts.requests / seconds : Number.NaN, requests: counts.requests };
  }
  const quantile = QUANTILE_OF[gate.builtin ?? ''] ?? 0.95;
  return { value: histogramQuantile(quantile, counts.buckets), requests: counts.requests, buckets: counts.buckets };
}

/** A simulated gate measurement over `seconds` of counts, shaped as measure() hands Prometheus's answers to the judge. */
export function simulatedMeasurement(
  gate: GateSpec,
  canary: TrackCounts,
  baseline: TrackCounts,
  seconds: number,
): GateMeasurement {
  const kind = gate.builtin === 'error-rate' ? 'rate' : gate.builtin === 'request-rate' ? 'plain' : 'latency';
  return {
    gate,
    kind,
    query: `(simulated ${gate.builtin})`,
    window: `${Math.round(seconds)}s`,
    canary: trackMeasurement(gate, canary, seconds),
    baseline: trackMeasurement(gate, baseline, seconds),
  };
}
