import { describe, expect, it } from '@jest/globals';
import { gateSpecSchema, parseGatesYaml } from '../../src/core/gate-config.js';

describe('gateSpecSchema', () => {
  it.each([
    [
      { name: 'error-rate', max: 0.01, 'max-increase': '50%', 'min-requests': 200 },
      { name: 'error-rate', builtin: 'error-rate', max: 0.01, maxRatio: 1.5, minRequests: 200, labels: {} },
    ],
    [
      { name: 'error-rate', 'max-increase': 0.2 },
      { name: 'error-rate', builtin: 'error-rate', maxRatio: 1.2, minRequests: 100, labels: {} },
    ],
    [
      { name: 'latency-p99', 'max-ratio': 2, window: '2m', labels: { route: '/predict' } },
      {
        name: 'latency-p99',
        builtin: 'latency-p99',
        maxRatio: 2,
        minRequests: 100,
        window: '2m',
        labels: { route: '/predict' },
      },
    ],
    [
      { name: 'prediction-drift', method: 'ks' },
      { name: 'prediction-drift', builtin: 'prediction-drift', max: 0.2, minRequests: 100, method: 'ks', labels: {} },
    ],
    [
      { name: 'request-rate', min: 1 },
      { name: 'request-rate', builtin: 'request-rate', min: 1, minRequests: 0, labels: {} },
    ],
    [
      { name: 'queue-depth', query: 'max(model_queue_depth{ {{ selector }} })', max: 50 },
      { name: 'queue-depth', query: 'max(model_queue_depth{ {{ selector }} })', max: 50, minRequests: 0, labels: {} },
    ],
  ])('parses %j', (raw, expected) => {
    expect(gateSpecSchema.parse(raw)).toEqual(expected);
  });

  it.each([
    [{ name: 'queue-depth', max: 1 }, /not a built-in .* needs a query/],
    [{ name: 'error-rate', 'max-increase': 'lots' }, /percentage like 50% or a fraction like 0.5, not 'lots'/],
    [{ name: 'error-rate', 'max-increase': '50%', 'max-ratio': 1.5 }, /either max-increase .* or max-ratio/],
    [{ name: 'error-rate' }, /has no bound: give max, min, max-increase/],
    [
      { name: 'x', query: 'up{ {{ selectr }} }', max: 1 },
      /unknown placeholder \{\{ selectr \}\}: allowed are \{\{ selector \}\}/,
    ],
    [{ name: 'error-rate', max: '1%' }, /max must be a number/],
    [{ name: 'error-rate', max: 1, 'min-requests': 2.5 }, /whole number of requests/],
    [{ name: 'error-rate', max: 1, window: '5 minutes' }, /Prometheus duration like 30s/],
    [{ name: 'error-rate', max: 1, treshold: 2 }, /unknown key\(s\) treshold: allowed are name, query/],
    [{ name: 'latency-p95', 'max-ratio': 1.2, confidence: 2 }, /confidence must be between 0.5 and 1/],
    [{ name: 'eror-rate', max: 0.01 }, /gate 'eror-rate' is not a built-in: did you mean 'error-rate'\?/],
    [
      { name: 'error-rate', max: 2 },
      /max of gate 'error-rate' is a fraction of requests between 0 and 1 \(0.02 is 2%\), not 2/,
    ],
    [{ name: 'invalid-output-rate', max: -0.1 }, /between 0 and 1/],
    [{ name: 'latency-p95', max: -1 }, /max of gate 'latency-p95' is in seconds and cannot be negative, not -1/],
    [{ name: 'latncy-p95', max: 1 }, /did you mean 'latency-p95'\?/],
    [
      { name: 'error-rate', 'max-increse': '50%' },
      /unknown key\(s\) max-increse \(did you mean 'max-increase'\?\): allowed are name, query, max, min, max-increase/,
    ],
  ])('rejects %j with a message saying the allowed form', (raw, message) => {
    const result = gateSpecSchema.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join('; ')).toMatch(message);
  });
});

describe('parseGatesYaml', () => {
  it('parses an inline list', () => {
    const result = parseGatesYaml('- {name: error-rate, max: 0.01}\n- name: latency-p95\n  max-increase: 20%\n');
    expect('gates' in result && result.gates.map((g) => [g.name, g.max, g.maxRatio])).toEqual([
      ['error-rate', 0.01, undefined],
      ['latency-p95', undefined, 1.2],
    ]);
  });

  it.each([
    ['name: error-rate', /must be a YAML list/],
    ['- [', /not valid YAML/],
    ['- {name: error-rate, max: 0.01}\n- {name: error-rate, max: 0.02}', /'error-rate' is given more than once/],
    [
      '- {name: error-rate, max: 0.01}\n- {name: latency-p95, max-ratio: -1}',
      /^gates\[1\]\.max-ratio: max-ratio must be above 0/,
    ],
  ])('reports %j', (text, message) => {
    const result = parseGatesYaml(text);
    expect('errors' in result && result.errors.join('\n')).toMatch(message);
  });

  it('treats an empty input as no gates', () => {
    expect(parseGatesYaml('')).toEqual({ gates: [] });
  });
});
