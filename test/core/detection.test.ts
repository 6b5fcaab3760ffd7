import { describe, expect, it } from '@jest/globals';
import { describeErrorRateDetection, errorRateDetection, latencyDetection } from '../../src/core/detection.js';
import { DEFAULT_GATES, gateSpecSchema } from '../../src/core/gate-config.js';
import { planGates } from '../../src/core/plan-gates.js';

const traffic = { canaryRps: 20, baselineRps: 20, intervalSeconds: 10, alpha: 0.005 };

describe('expected time to detect', () => {
  it.each([
    [0.005, 0.05, 1.5, traffic, 30],
    [0.005, 0.006, 1.5, traffic, undefined],
  ])('error rate %p -> %p at %j, max %px', (base, canary, ratio, assumption, seconds) => {
    expect(errorRateDetection(base, canary, ratio, { ...traffic, ...assumption }).seconds).toBe(seconds);
  });

  it('takes longer with less canary traffic or a smaller regression', () => {
    const at = (canaryRate: number, canaryRps: number) =>
      errorRateDetection(0.005, canaryRate, 1.5, { ...traffic, canaryRps, baselineRps: 40 - canaryRps }).seconds ??
      Infinity;
    expect(at(0.05, 2)).toBeGreaterThan(at(0.05, 20));
    expect(at(0.02, 20)).toBeGreaterThan(at(0.05, 20));
    expect(at(0.02, 20)).toBeLessThan(Infinity);
  });

  it.each([
    [0.72, 20, 10],
    [0.55, 20, 50],
    [0.5, 20, undefined],
  ])('latency effect %p at %p rps -> %p s', (effect, rps, seconds) => {
    expect(latencyDetection(effect, { ...traffic, canaryRps: rps, baselineRps: rps, maxSeconds: 600 }).seconds).toBe(
      seconds,
    );
  });

  it('says it in words', () => {
    expect(describeErrorRateDetection(0.005, 0.05, 1.5, traffic)).toBe(
      'an error rate of 5% vs 0.5% at 20 rps on the canary would be caught in about 30 s (3 look(s))',
    );
    expect(describeErrorRateDetection(0.005, 0.006, 1.5, { ...traffic, maxSeconds: 60 })).toMatch(
      /would not be caught within 60 s/,
    );
  });
});

describe('planGates', () => {
  it('shows filled-in PromQL and detection times', () => {
    const gates = [
      ...DEFAULT_GATES,
      gateSpecSchema.parse({ name: 'queue', query: 'max(q{ {{ selector }} })', max: 5 }),
    ];
    const plans = planGates(
      gates,
      { namespace: 'ml', model: 'churn', baselineTrack: 'stable', window: '60s' },
      { rps: 200, weight: 10, intervalSeconds: 10, alpha: 0.01 },
    );
    expect(plans.map((p) => [p.name, p.threshold])).toEqual([
      ['error-rate', 'max 1.5x baseline'],
      ['latency-p95', 'max 1.2x baseline'],
      ['queue', 'max 5'],
    ]);
    expect(plans[2]).toEqual({
      name: 'queue',
      threshold: 'max 5',
      canaryQuery: 'max(q{ namespace="ml",app="churn",track="canary" })',
      baselineQuery: 'max(q{ namespace="ml",app="churn",track="stable" })',
    });
    expect(plans[0]!.detection).toMatch(
      /^an error rate of 5% vs 0.5% at 20 rps on the canary would be caught in about \d+ s/,
    );
    expect(plans[1]!.detection).toMatch(/1.5x slow-down at 20 rps on the canary would be caught in about 10 s/);
  });
});
