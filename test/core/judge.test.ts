import { describe, expect, it } from '@jest/globals';
import { gateSpecSchema, type GateSpec } from '../../src/core/gate-config.js';
import type { GateKind } from '../../src/core/gates.js';
import type { Bucket } from '../../src/core/histogram.js';
import { judge, judgeGate, overallResult, type GateMeasurement, type TrackMeasurement } from '../../src/core/judge.js';

const gate = (raw: unknown): GateSpec => gateSpecSchema.parse(raw);
const cumulative = (le: number[], counts: number[]): Bucket[] => {
  let sum = 0;
  return le.map((bound, i) => ({ le: bound, cumulative: (sum += counts[i] ?? 0) }));
};
const LE = [0.1, 0.25, 0.5, 1, Infinity];

function m(
  spec: GateSpec,
  kind: GateKind,
  canary: TrackMeasurement,
  baseline: TrackMeasurement,
  extra: Partial<GateMeasurement> = {},
): GateMeasurement {
  return { gate: spec, kind, query: 'q', window: '60s', canary, baseline, ...extra };
}
const rate = (value: number | null, requests: number | null, events?: number): TrackMeasurement => ({
  value,
  requests,
  events: events ?? null,
});
const errorGate = gate({ name: 'error-rate', max: 0.02, 'max-increase': '50%', 'min-requests': 100 });
const ctx = { alpha: 0.01, look: 1 };

describe('judgeGate', () => {
  it.each([
    [
      'healthy',
      m(errorGate, 'rate', rate(0.005, 1200, 6), rate(0.005, 1200, 6)),
      'pass',
      /canary 0.5% vs baseline 0.5%: no harm seen; power [\d.]+ to see \+50%/,
    ],
    ['5% vs 0.5%', m(errorGate, 'rate', rate(0.05, 1200, 60), rate(0.005, 1200, 6)), 'fail', /canary 5% > 2%/],
    [
      '1.8% vs 0.5%, significant',
      m(errorGate, 'rate', rate(0.018, 5000, 90), rate(0.005, 5000, 25)),
      'fail',
      /above 1.5x baseline \(likelihood ratio/,
    ],
    [
      '0.8% vs 0.5%, not significant',
      m(errorGate, 'rate', rate(0.008, 1000, 8), rate(0.005, 1000, 5)),
      'pass',
      /above 1.5x but not significant yet/,
    ],
    ['no data', m(errorGate, 'rate', rate(null, 500), rate(0.005, 500)), 'inconclusive', /canary value is no data/],
    ['NaN', m(errorGate, 'rate', rate(Number.NaN, 100), rate(0.005, 500)), 'inconclusive', /NaN \(0\/0/],
    [
      '+Inf',
      m(gate({ name: 'latency-p95', max: 1, 'min-requests': 0 }), 'latency', rate(Infinity, 0), rate(0.2, 0)),
      'inconclusive',
      /\+Inf/,
    ],
    [
      'too few canary requests',
      m(errorGate, 'rate', rate(0.0, 42, 0), rate(0.005, 5000, 25)),
      'inconclusive',
      /canary served 42 requests in 60s, fewer than min-requests 100/,
    ],
    [
      'too few baseline requests',
      m(errorGate, 'rate', rate(0.0, 420, 0), rate(0, 12, 0)),
      'inconclusive',
      /baseline served 12 requests/,
    ],
    [
      'baseline NaN',
      m(
        gate({ name: 'error-rate', 'max-ratio': 2, 'min-requests': 0 }),
        'rate',
        rate(0.01, 10, 0),
        rate(Number.NaN, 0, 0),
      ),
      'inconclusive',
      /baseline value is NaN/,
    ],
    [
      'custom min bound',
      m(gate({ name: 'request-rate', min: 5 }), 'plain', rate(2, null), rate(20, null)),
      'fail',
      /canary 2 < 5/,
    ],
    [
      'custom ratio bound',
      m(gate({ name: 'q', query: 'x', 'max-ratio': 2 }), 'plain', rate(5, null), rate(2, null)),
      'fail',
      /2.5x > 2x baseline/,
    ],
    [
      'error from Prometheus',
      m(errorGate, 'rate', rate(null, null), rate(null, null), {
        error: { state: 'error', kind: 'unreachable', error: 'ECONNREFUSED', query: 'q' },
      }),
      'inconclusive',
      /gate 'error-rate': unreachable error/,
    ],
    [
      'bad query',
      m(errorGate, 'rate', rate(null, null), rate(null, null), {
        error: { state: 'error', kind: 'bad-query', error: 'parse error', query: 'sum(' },
      }),
      'inconclusive',
      /Prometheus rejected the query: parse error. Query: sum\(/,
    ],
  ])('%s -> %s', (_name, measurement, result, reason) => {
    const look = judgeGate(measurement, ctx);
    expect(look.report.result).toBe(result);
    expect(look.report.reason).toMatch(reason);
  });

  it('fails a slower latency only when significant and above the ratio', () => {
    const latency = gate({ name: 'latency-p95', 'max-increase': '20%', 'min-requests': 0 });
    const slow = { value: 0.9, requests: 400, buckets: cumulative(LE, [40, 80, 120, 120, 40]) };
    const fast = { value: 0.45, requests: 400, buckets: cumulative(LE, [120, 120, 120, 40, 0]) };
    const failed = judgeGate(m(latency, 'latency', slow, fast), ctx);
    expect([failed.report.result, failed.decisive]).toEqual(['fail', true]);
    expect(failed.report.reason).toMatch(/2x > 1.2x, slower \(Mann-Whitney p<1e-15, needs/);
    const few = { value: 0.9, requests: 4, buckets: cumulative(LE, [0, 1, 1, 1, 1]) };
    const fewBase = { value: 0.45, requests: 4, buckets: cumulative(LE, [1, 1, 1, 1, 0]) };
    expect(judgeGate(m(latency, 'latency', few, fewBase), ctx).report.reason).toMatch(/not significant yet/);
  });

  it('fails on decisive evidence before min-requests arrived, but never passes before them', () => {
    const early = judgeGate(m(errorGate, 'rate', rate(0.5, 40, 20), rate(0.005, 400, 2)), ctx);
    expect([early.outcome, early.decisive]).toEqual(['fail', true]);
    expect(early.report.reason).toMatch(/canary 50% > 2%|above 1.5x baseline/);
    const relativeOnly = gate({ name: 'error-rate', 'max-increase': '50%', 'min-requests': 100 });
    const relative = judgeGate(m(relativeOnly, 'rate', rate(0.5, 40, 20), rate(0.005, 400, 2)), ctx);
    expect([relative.outcome, relative.report.reason]).toEqual(['fail', expect.stringMatching(/above 1.5x baseline/)]);
    const healthy = judgeGate(m(relativeOnly, 'rate', rate(0, 40, 0), rate(0.005, 400, 2)), ctx);
    expect([healthy.outcome, healthy.insufficient]).toEqual(['inconclusive', true]);
  });

  it('a relative pass says the power it had; more data, more power; decisive when the test settles it', () => {
    const relativeOnly = gate({ name: 'error-rate', 'max-increase': '50%', 'min-requests': 100 });
    const small = judgeGate(m(relativeOnly, 'rate', rate(0.005, 2000, 10), rate(0.005, 2000, 10)), ctx);
    const large = judgeGate(m(relativeOnly, 'rate', rate(0.005, 200_000, 1000), rate(0.005, 200_000, 1000)), ctx);
    expect(small.power).toBeLessThan(0.2);
    expect(large.power).toBeGreaterThan(0.95);
    expect([small.decisive, large.decisive]).toEqual([false, true]);
    expect(small.report.reason).toMatch(/no harm seen; power 0\.\d+ to see \+50%/);
    expect(large.report.reason).toMatch(/decisively below 1.5x baseline \(likelihood ratio [\d.e+]+, needs 100\)/);
    expect(large.report.evidence).toMatch(/^likelihood ratio/);
    expect(large.report.power).toBeGreaterThan(0.95);
  });

  it('a latency gate is decisively not worse when even the canary sped up by the bound would be slower', () => {
    const latency = gate({ name: 'latency-p95', 'max-increase': '20%', 'min-requests': 0 });
    const same = (n: number) => ({
      value: 0.4,
      requests: 5 * n,
      buckets: cumulative(
        LE,
        [n, n, n, n, n].map((c, i) => (i === 4 ? 0 : c * 1.25)),
      ),
    });
    const few = judgeGate(m(latency, 'latency', same(8), same(8)), ctx);
    const many = judgeGate(m(latency, 'latency', same(4000), same(4000)), ctx);
    expect([few.outcome, few.decisive]).toEqual(['pass', false]);
    expect([many.outcome, many.decisive]).toEqual(['pass', true]);
    expect(few.power!).toBeLessThan(many.power!);
    expect(many.report.reason).toMatch(/decisively below 1.2x baseline \(Mann-Whitney p<1e-15 against/);
  });

  it('reports the numbers, threshold and samples', () => {
    const look = judgeGate(m(errorGate, 'rate', rate(0.051, 1200.4, 61), rate(0.004, 1300, 5)), ctx);
    expect(look.report).toEqual({
      name: 'error-rate',
      result: 'fail',
      canary: 0.051,
      baseline: 0.004,
      threshold: 'max 0.02, max 1.5x baseline',
      samples: 1200,
      reason: 'canary 5.1% > 2%',
      query: 'q',
    });
  });

  it('judges drift from prediction buckets', () => {
    const drift = gate({ name: 'prediction-drift', 'min-requests': 0 });
    const same = { value: null, requests: 100, buckets: cumulative(LE, [10, 20, 40, 20, 10]) };
    const moved = { value: null, requests: 100, buckets: cumulative(LE, [35, 30, 20, 10, 5]) };
    expect(judgeGate(m(drift, 'drift', same, same), ctx).report.result).toBe('pass');
    const failed = judgeGate(m(drift, 'drift', moved, same), ctx).report;
    expect([failed.result, failed.baseline]).toEqual(['fail', null]);
    expect(failed.canary).toBeGreaterThan(0.2);
    expect(judgeGate(m(drift, 'drift', { value: null, requests: 0, buckets: [] }, same), ctx).report.result).toBe(
      'inconclusive',
    );
  });
});

describe('overall', () => {
  it.each([
    [['pass', 'pass'], 'pass'],
    [['pass', 'inconclusive'], 'inconclusive'],
    [['inconclusive', 'fail'], 'fail'],
    [[], 'inconclusive'],
  ] as const)('%j -> %s', (results, expected) => expect(overallResult([...results])).toBe(expected));

  it('shares alpha among statistical gates', () => {
    const measurement = m(errorGate, 'rate', rate(0.012, 3000, 36), rate(0.005, 3000, 15));
    const alone = judge([measurement], ctx).looks[0]!.report.reason;
    const shared = judge([measurement, { ...measurement, gate: { ...errorGate, name: 'other' } }], ctx).looks[0]!.report
      .reason;
    expect(alone).toMatch(/needs 100\)/);
    expect(shared).toMatch(/needs 200\)/);
  });
});
