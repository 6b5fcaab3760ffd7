// Prometheus histograms as plain data: cumulative `le` buckets -> aligned per-bucket counts, and quantiles.
import type { MetricSample } from './ports.js';

export interface Bucket {
  /** Upper bound (`le`), +Infinity for the last bucket. */
  le: number;
  /** Cumulative count of observations <= le. */
  cumulative: number;
}

function parseLe(text: string | undefined): number {
  if (text === undefined) return Number.NaN;
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  return Number(text);
}

/** Samples of a `sum by (le) (...)` query -> buckets sorted by `le` (samples without a numeric `le` are ignored). */
export function bucketsFromSamples(samples: MetricSample[]): Bucket[] {
  const byLe = new Map<number, number>();
  for (const sample of samples) {
    const le = parseLe(sample.labels.le);
    if (Number.isNaN(le) || !Number.isFinite(sample.value)) continue;
    byLe.set(le, (byLe.get(le) ?? 0) + sample.value);
  }
  return [...byLe.entries()].sort(([a], [b]) => a - b).map(([le, cumulative]) => ({ le, cumulative }));
}

function cumulativeAt(buckets: Bucket[], le: number): number {
  let value = 0;
  for (const bucket of buckets) {
    if (bucket.le > le) break;
    value = bucket.cumulative;
  }
  return value;
}

/** Per-bucket (non-cumulative) counts of two histograms over the union of their bounds, so they compare bucket by bucket. */
export function alignBuckets(
  a: Bucket[],
  b: Bucket[],
  cumulativeOf: (buckets: Bucket[], le: number) => number = cumulativeAt,
): { bounds: number[]; a: number[]; b: number[] } {
  const bounds = [...new Set([...a.map((x) => x.le), ...b.map((x) => x.le)])].sort((x, y) => x - y);
  const counts = (buckets: Bucket[]): number[] => {
    let previous = 0;
    return bounds.map((le) => {
      const cumulative = Math.max(previous, cumulativeOf(buckets, le));
      const count = cumulative - previous;
      previous = cumulative;
      return count;
    });
  };
  return { bounds, a: counts(a), b: counts(b) };
}

/** The q-quantile by linear interpolation inside the bucket, as PromQL's histogram_quantile does. */
export function histogramQuantile(q: number, buckets: Bucket[]): number {
  const last = buckets[buckets.length - 1];
  if (!last || last.cumulative <= 0) return Number.NaN;
  const rank = q * last.cumulative;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.cumulative >= rank) {
      if (!Number.isFinite(bucket.le)) return lowerBound;
      const width = bucket.cumulative - lowerCount;
      return width > 0 ? lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / width : bucket.le;
    }
    lowerBound = bucket.le;
    lowerCount = bucket.cumulative;
  }
  return lowerBound;
}

/** Observations <= x, interpolating linearly inside a bucket (from 0 below the first bound), as histogram_quantile does. */
export function interpolatedCumulative(buckets: Bucket[], x: number): number {
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (x < bucket.le) {
      if (!Number.isFinite(bucket.le) || x <= lowerBound) return lowerCount;
      return lowerCount + ((bucket.cumulative - lowerCount) * (x - lowerBound)) / (bucket.le - lowerBound);
    }
    lowerBound = bucket.le;
    lowerCount = bucket.cumulative;
  }
  return lowerCount;
}

/** The histogram of every observation multiplied by `factor` (bounds scaled; +Inf stays). */
export function scaleBuckets(buckets: Bucket[], factor: number): Bucket[] {
  return buckets.map((bucket) => ({ le: bucket.le * factor, cumulative: bucket.cumulative }));
}

/** Per-bucket counts of two histograms resampled on the union of their bounds, interpolating inside buckets. */
export function resampleBuckets(a: Bucket[], b: Bucket[]): { a: number[]; b: number[] } {
  return alignBuckets(a, b, interpolatedCumulative);
}

/**
 * P(X / factor > Y) for X and Y drawn independently from one histogram: how often an observation slowed down by
 * nothing still beats one sped up by `factor` (0.5 at factor 1). Buckets are taken as uniform inside.
 */
export function shiftedExceedance(buckets: Bucket[], factor: number): number {
  const total = buckets[buckets.length - 1]?.cumulative ?? 0;
  if (total <= 0) return 0.5;
  let lowerBound = 0;
  let lowerCount = 0;
  let sum = 0;
  for (const bucket of buckets) {
    const mass = bucket.cumulative - lowerCount;
    if (mass > 0) {
      const middle = Number.isFinite(bucket.le) ? (lowerBound + bucket.le) / 2 : lowerBound;
      sum += mass * (interpolatedCumulative(buckets, middle / factor) / total);
    }
    if (Number.isFinite(bucket.le)) lowerBound = bucket.le;
    lowerCount = bucket.cumulative;
  }
  return sum / total;
}
