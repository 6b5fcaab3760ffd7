import { describe, expect, it } from '@jest/globals';
import type { MetricSample } from '../../src/core/ports.js';
import { alignBuckets, bucketsFromSamples, histogramQuantile } from '../../src/core/histogram.js';
import {
  alphaAtLook,
  compareRates,
  ksDistance,
  logGamma,
  mannWhitneyFromBuckets,
  mannWhitneyPower,
  normalCdf,
  normalQuantileUpper,
  normalUpperTail,
  populationStabilityIndex,
  rateTestPower,
} from '../../src/core/stats.js';

describe('special functions', () => {
  it.each([
    [1, 0],
    [5, Math.log(24)],
    [0.5, Math.log(Math.sqrt(Math.PI))],
    [101, 363.73937555556347],
  ])('logGamma(%p)', (x, expected) => expect(logGamma(x)).toBeCloseTo(expected, 8));

  it.each([
    [0, 0.5],
    [1.959964, 0.975],
    [-1.644854, 0.05],
  ])('normalCdf(%p)', (z, p) => expect(normalCdf(z)).toBeCloseTo(p, 6));

  it('has an accurate far tail and inverse', () => {
    expect(normalUpperTail(8) / 6.22096e-16).toBeCloseTo(1, 2);
    expect(normalQuantileUpper(0.025)).toBeCloseTo(1.96, 3);
  });

  it('spends at most alpha over any number of looks', () => {
    const total = Array.from({ length: 100000 }, (_, i) => alphaAtLook(0.01, i + 1)).reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(0.01);
    expect(total).toBeGreaterThan(0.0099);
  });
});

describe('compareRates (mixture SPRT)', () => {
  it.each([
    // canary events/total, baseline events/total, ratio, worse, safe
    [60, 1200, 6, 1200, 1.5, true, false],
    [10, 200, 1, 200, 1.5, false, false],
    [6, 1200, 6, 1200, 1.5, false, false],
    [0, 0, 0, 0, 1.5, false, false],
    [100, 100000, 1000, 100000, 1, false, true],
  ])('%p/%p vs %p/%p at %px -> worse %p safe %p', (ce, ct, be, bt, ratio, worse, safe) => {
    const test = compareRates({ events: ce, total: ct }, { events: be, total: bt }, ratio, 0.01);
    expect([test.worse, test.safe]).toEqual([worse, safe]);
  });

  it('keeps the false-alarm rate at or below alpha over 60 looks (exact binomial null)', () => {
    // Under the null every event is on the canary with probability 1/2: enumerate paths by dynamic programming
    // over (events so far, canary events), stopping paths that cross the boundary.
    const alpha = 0.05;
    let alive = new Map<number, number>([[0, 1]]);
    let crossed = 0;
    for (let n = 1; n <= 400; n++) {
      const next = new Map<number, number>();
      for (const [k, p] of alive) {
        for (const [k2, q] of [
          [k, p / 2],
          [k + 1, p / 2],
        ] as const) {
          const test = compareRates({ events: k2, total: 1 }, { events: n - k2, total: 1 }, 1, alpha);
          if (test.worse || test.safe) crossed += q;
          else next.set(k2, (next.get(k2) ?? 0) + q);
        }
      }
      alive = next;
    }
    expect(crossed).toBeLessThanOrEqual(alpha);
    expect(crossed).toBeGreaterThan(alpha / 10);
  });
});

describe('Mann-Whitney from buckets', () => {
  it.each([
    [[10, 10, 10], [10, 10, 10], 0.5],
    [[0, 0, 30], [30, 0, 0], 1],
    [[30, 0, 0], [0, 0, 30], 0],
  ])('%j vs %j has effect %p', (canary, baseline, effect) => {
    expect(mannWhitneyFromBuckets(canary, baseline)?.effect).toBeCloseTo(effect, 6);
  });

  it('is significant for a clear slow-down and not for equal histograms', () => {
    expect(mannWhitneyFromBuckets([20, 40, 80, 60], [60, 80, 40, 20])!.pGreater).toBeLessThan(1e-6);
    expect(mannWhitneyFromBuckets([20, 40, 80, 60], [20, 40, 80, 60])!.pGreater).toBeCloseTo(0.5, 6);
    expect(mannWhitneyFromBuckets([], [])).toBeUndefined();
  });
});

describe('drift distances', () => {
  it.each([
    [[10, 20, 40, 20, 10], [10, 20, 40, 20, 10], 0, 0],
    [[35, 30, 20, 10, 5], [10, 20, 40, 20, 10], 0.5, 0.35],
  ])('PSI and KS of %j vs %j', (canary, baseline, psiAbove, ks) => {
    const psi = populationStabilityIndex(canary, baseline);
    if (psiAbove === 0) expect(psi).toBeCloseTo(0, 10);
    else expect(psi).toBeGreaterThan(psiAbove);
    expect(ksDistance(canary, baseline)).toBeCloseTo(ks, 6);
  });
});

describe('histograms', () => {
  const samples: MetricSample[] = [
    { labels: { le: '0.1' }, value: 50 },
    { labels: { le: '+Inf' }, value: 100 },
    { labels: { le: '0.5' }, value: 90 },
    { labels: {}, value: 7 },
  ];
  it('parses, aligns and interpolates like histogram_quantile', () => {
    const buckets = bucketsFromSamples(samples);
    expect(buckets).toEqual([
      { le: 0.1, cumulative: 50 },
      { le: 0.5, cumulative: 90 },
      { le: Infinity, cumulative: 100 },
    ]);
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.1, 9);
    expect(histogramQuantile(0.7, buckets)).toBeCloseTo(0.3, 9);
    expect(histogramQuantile(0.95, buckets)).toBe(0.5);
    expect(histogramQuantile(0.5, [])).toBeNaN();
    expect(
      alignBuckets(buckets, [
        { le: 0.25, cumulative: 10 },
        { le: Infinity, cumulative: 10 },
      ]),
    ).toEqual({
      bounds: [0.1, 0.25, 0.5, Infinity],
      a: [50, 0, 40, 10],
      b: [0, 10, 0, 0],
    });
  });
});

describe('power', () => {
  it('rateTestPower is the share of healthy canaries the rate test clears (checked against sampling)', () => {
    const canaryTotal = 20_000;
    const baselineTotal = 20_000;
    const rate = 0.01;
    const power = rateTestPower(canaryTotal, baselineTotal, rate, 1.5, 0.005);
    // Healthy canaries: their share of all events is binomial; count how often the test finds them safe.
    const n = Math.round(rate * (canaryTotal + baselineTotal));
    const share = canaryTotal / (canaryTotal + baselineTotal);
    let seed = 7;
    const uniform = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    let cleared = 0;
    const trials = 2000;
    for (let trial = 0; trial < trials; trial++) {
      let k = 0;
      for (let event = 0; event < n; event++) if (uniform() < share) k++;
      const test = compareRates({ events: k, total: canaryTotal }, { events: n - k, total: baselineTotal }, 1.5, 0.005);
      if (test.safe) cleared++;
    }
    expect(Math.abs(cleared / trials - power)).toBeLessThan(0.03);
    expect(power).toBeGreaterThan(0.1);
    expect(power).toBeLessThan(0.99);
  });

  it('rateTestPower grows with traffic and is 0 with no events or no bound', () => {
    const powers = [1000, 10_000, 200_000].map((total) => rateTestPower(total, total, 0.005, 1.5, 0.005));
    expect(powers[0]).toBeLessThan(powers[1]!);
    expect(powers[1]).toBeLessThan(powers[2]!);
    expect(powers[2]).toBeGreaterThan(0.99);
    expect(rateTestPower(1000, 1000, 0, 1.5, 0.005)).toBe(0);
    expect(rateTestPower(1000, 1000, 0.01, 1, 0.005)).toBe(0);
    // Past the exact sum, the normal approximation joins it smoothly.
    const exact = rateTestPower(240_000, 240_000, 0.01, 1.5, 0.005);
    const approx = rateTestPower(260_000, 260_000, 0.01, 1.5, 0.005);
    expect(Math.abs(exact - approx)).toBeLessThan(0.02);
  });

  it('mannWhitneyPower: alpha-ish with no effect, near 1 with a large effect and many observations', () => {
    expect(mannWhitneyPower(1000, 1000, 0.5, 0.01)).toBeCloseTo(0.01, 2);
    expect(mannWhitneyPower(1000, 1000, 0.6, 0.01)).toBeGreaterThan(0.99);
    expect(mannWhitneyPower(20, 20, 0.6, 0.01)).toBeLessThan(0.3);
    expect(mannWhitneyPower(0, 20, 0.9, 0.01)).toBe(0);
  });
});
