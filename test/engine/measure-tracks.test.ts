// The measuring side of the presets, against a scripted Prometheus: the baseline track is used exactly when its
// series exist, and a gate whose metric has no series is named, not read as zero.
import { describe, expect, it } from '@jest/globals';
import { gateSpecSchema } from '../../src/core/gate-config.js';
import type { MetricResult, MetricSource } from '../../src/core/ports.js';
import { measure, preflight, withBaselineTrack } from '../../src/engine/measure.js';

/** Answers each query from the first rule whose pattern it contains; anything else has no series. */
function scripted(
  rules: Array<[string | RegExp, number | Array<[string, number]>]>,
): MetricSource & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    query: async (promql: string): Promise<MetricResult> => {
      seen.push(promql);
      const rule = rules.find(([pattern]) =>
        typeof pattern === 'string' ? promql.includes(pattern) : pattern.test(promql),
      );
      if (!rule) return { state: 'ok', samples: [] };
      const [, answer] = rule;
      const samples = Array.isArray(answer)
        ? answer.map(([le, value]) => ({ labels: { le }, value }))
        : [{ labels: {}, value: answer }];
      return { state: 'ok', samples };
    },
  };
}

const at = new Date('2026-12-05T10:00:00Z');
const selectors = { namespace: 'ml', model: 'churn', metrics: 'istio' as const };

describe('the baseline track', () => {
  it('is the baseline when its requests exist, else the stable, asked anew each time', async () => {
    const running = scripted([[/count\(istio_requests_total\{.*destination_workload="churn-baseline"/, 3]]);
    expect((await withBaselineTrack(running, selectors, at)).baselineTrack).toBe('baseline');
    expect((await withBaselineTrack(scripted([]), selectors, at)).baselineTrack).toBe('stable');
    // ingress-nginx and KServe have no third track: nothing is even asked.
    const none = scripted([]);
    expect((await withBaselineTrack(none, { ...selectors, metrics: 'kserve' }, at)).baselineTrack).toBe('stable');
    expect(none.seen).toEqual([]);
  });

  it('the gates then compare the canary with the baseline Deployment', async () => {
    const source = scripted([
      [/destination_workload="churn-baseline".*response_code/, 0],
      [/increase\(istio_requests_total\{.*destination_workload="churn-baseline"/, 1000],
      [/rate\(istio_requests_total\{.*destination_workload="churn-baseline"/, 10],
      [/destination_workload="churn-canary".*response_code/, 5],
      [/increase\(istio_requests_total\{.*destination_workload="churn-canary"/, 1000],
      [/rate\(istio_requests_total\{.*destination_workload="churn-canary"/, 10],
    ]);
    const gate = gateSpecSchema.parse({ name: 'request-rate', 'max-increase': '50%', 'min-requests': 10 });
    const result = await measure({
      source,
      gates: [gate],
      selectors: { ...selectors, baselineTrack: 'baseline', workloads: { baseline: 'churn-baseline' } },
      at,
      window: '60s',
      alpha: 0.01,
    });
    expect(result.reports[0]).toMatchObject({ canary: 10, baseline: 10 });
    expect(source.seen.some((q) => q.includes('destination_workload="churn"'))).toBe(false);
  });
});

describe('a metric with no series', () => {
  const gate = gateSpecSchema.parse({ name: 'error-rate', 'max-increase': '50%', 'min-requests': 100 });

  it('is named for the canary in the verdict: inconclusive, the canary value null', async () => {
    const source = scripted([
      [/track="stable"/, 500],
      [/count\(nv_inference_request_success\{namespace="ml",app="churn",track="stable"\}\)/, 1],
    ]);
    const result = await measure({
      source,
      gates: [gate],
      selectors: { namespace: 'ml', model: 'churn', metrics: 'triton', baselineTrack: 'stable' },
      at,
      window: '60s',
      alpha: 0.01,
    });
    expect(result.result).toBe('inconclusive');
    expect(result.reports[0]!.reason).toMatch(/^metric nv_inference_request_success not found for the canary/);
    expect(result.reports[0]!.canary).toBeNull();
  });

  it('is named for the stable by the preflight, with what the preset needs set up', async () => {
    const issues = await preflight({
      source: scripted([]),
      gates: [gate],
      selectors: { namespace: 'ml', model: 'churn', metrics: 'mlserver' },
      at,
      window: '60s',
    });
    expect(issues[0]).toMatchObject({ gate: 'error-rate', problem: 'no-data' });
    expect(issues[0]!.message).toMatch(
      /metric rest_server_requests_total not found for the stable track .*the mlserver metrics need Prometheus scraping port 8082/,
    );
  });
});
