import { describe, expect, it } from '@jest/globals';
import { gateSpecSchema } from '../../src/core/gate-config.js';
import { gateQueries, renderTemplate, selector, type GateContext } from '../../src/core/gates.js';

const context: GateContext = { namespace: 'ml', model: 'churn', baselineTrack: 'baseline', window: '60s' };
const SEL = 'namespace="ml",app="churn",track="canary"';
const BASE = 'namespace="ml",app="churn",track="baseline"';

describe('gateQueries', () => {
  it.each([
    [
      { name: 'error-rate', max: 0.01 },
      `(sum(rate(http_requests_total{${SEL},code=~"5.."}[60s])) or vector(0)) / sum(rate(http_requests_total{${SEL}}[60s]))`,
    ],
    [
      { name: 'latency-p95', 'max-ratio': 1.2 },
      `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${SEL}}[60s])))`,
    ],
    [
      { name: 'latency-p50', max: 0.2, metric: 'model_latency_seconds', window: '5m' },
      `histogram_quantile(0.5, sum by (le) (rate(model_latency_seconds_bucket{${SEL}}[5m])))`,
    ],
    [
      { name: 'request-rate', min: 1, labels: { route: '/predict' } },
      `sum(rate(http_requests_total{${SEL},route="/predict"}[60s]))`,
    ],
    [
      { name: 'invalid-output-rate', max: 0.01 },
      `sum(rate(model_invalid_predictions_total{${SEL}}[60s])) / sum(rate(http_requests_total{${SEL}}[60s]))`,
    ],
    [
      {
        name: 'queue',
        query:
          'max(q{ {{ selector }} }) + on() count(up{namespace="{{namespace}}",job="{{ model }}",t="{{ track }}"}[{{ window }}])',
        max: 1,
      },
      `max(q{ ${SEL} }) + on() count(up{namespace="ml",job="churn",t="canary"}[60s])`,
    ],
  ])('%j -> canary value query', (raw, expected) => {
    expect(gateQueries(gateSpecSchema.parse(raw), context).value?.canary).toBe(expected);
  });

  it('fills the baseline track and the statistical queries', () => {
    const queries = gateQueries(gateSpecSchema.parse({ name: 'error-rate', 'max-increase': '50%' }), context);
    expect(queries.kind).toBe('rate');
    expect(queries.value?.baseline).toContain(BASE);
    expect(queries.requests).toEqual({
      canary: `sum(increase(http_requests_total{${SEL}}[60s]))`,
      baseline: `sum(increase(http_requests_total{${BASE}}[60s]))`,
    });
    expect(queries.events?.canary).toBe(`sum(increase(http_requests_total{${SEL},code=~"5.."}[60s])) or vector(0)`);
  });

  it('asks bucket counts by le for latency and drift', () => {
    const latency = gateQueries(gateSpecSchema.parse({ name: 'latency-p99', 'max-ratio': 2 }), {
      ...context,
      baselineTrack: 'stable',
    });
    expect(latency.buckets?.baseline).toBe(
      'sum by (le) (increase(http_request_duration_seconds_bucket{namespace="ml",app="churn",track="stable"}[60s]))',
    );
    const drift = gateQueries(gateSpecSchema.parse({ name: 'prediction-drift' }), context);
    expect(drift.kind).toBe('drift');
    expect(drift.value).toBeUndefined();
    expect(drift.buckets?.canary).toBe(`sum by (le) (increase(model_prediction_score_bucket{${SEL}}[60s]))`);
  });

  it('escapes label values from outside', () => {
    expect(selector({ namespace: 'a"b', model: 'm\\', baselineTrack: 'stable' }, 'canary')).toBe(
      'namespace="a\\"b",app="m\\\\",track="canary"',
    );
    expect(renderTemplate('{{ unknown }} {{model}}', { model: 'x' })).toBe('{{ unknown }} x');
  });
});
