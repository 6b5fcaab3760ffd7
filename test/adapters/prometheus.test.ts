import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PrometheusClient } from '../../src/adapters/prometheus.js';
import { summarizeLooks } from '../../src/core/analysis.js';
import { DEFAULT_GATES, gateSpecSchema, type GateSpec } from '../../src/core/gate-config.js';
import { analyzeNow, analyzeWindow, measure, preflight } from '../../src/engine/measure.js';
import { freePort, LOOPBACK, requireBinary, tempDir } from '../support/local.js';
import {
  mergeFamilies,
  modelTraffic,
  startPrometheus,
  type PrometheusServer,
  type TrafficShape,
} from '../support/prometheus.js';

const NAMESPACE = 'ml';
const START = Math.floor(Date.now() / 60000) * 60 - 3 * 3600;
const SECONDS = 600;
const AT = new Date((START + SECONDS) * 1000);
const FAST: Array<[number, number]> = [
  [0.05, 0.2],
  [0.1, 0.4],
  [0.25, 0.3],
  [0.5, 0.07],
  [1, 0.03],
  [Infinity, 0],
];
const SLOW: Array<[number, number]> = [
  [0.05, 0.05],
  [0.1, 0.15],
  [0.25, 0.35],
  [0.5, 0.25],
  [1, 0.15],
  [Infinity, 0.05],
];
const SCORES: Array<[number, number]> = [
  [0.2, 0.1],
  [0.4, 0.2],
  [0.6, 0.4],
  [0.8, 0.2],
  [Infinity, 0.1],
];
const SHIFTED: Array<[number, number]> = [
  [0.2, 0.35],
  [0.4, 0.3],
  [0.6, 0.2],
  [0.8, 0.1],
  [Infinity, 0.05],
];

function model(app: string, canary: Partial<TrafficShape>, stable: Partial<TrafficShape> = {}) {
  const base = {
    namespace: NAMESPACE,
    app,
    start: START,
    seconds: SECONDS,
    rps: 20,
    errorRate: 0.005,
    latency: FAST,
    predictions: SCORES,
  };
  return [modelTraffic({ ...base, track: 'stable', ...stable }), modelTraffic({ ...base, track: 'canary', ...canary })];
}

const gate = (raw: unknown): GateSpec => gateSpecSchema.parse(raw);
const GATES: GateSpec[] = [
  ...DEFAULT_GATES,
  gate({ name: 'prediction-drift' }),
  gate({ name: 'invalid-output-rate', max: 0.01 }),
];

let prometheus: PrometheusServer;
let client: PrometheusClient;

beforeAll(async () => {
  const families = mergeFamilies([
    ...model('healthy', {}),
    ...model('errors', { errorRate: 0.05 }),
    ...model('slow', { latency: SLOW }),
    ...model('drift', { predictions: SHIFTED }),
    ...model('idle', { rps: 0 }, { rps: 0 }),
    // Models that never export model_invalid_predictions_total (nor prediction scores): the canary, or the stable.
    ...model('uncounted', { predictions: undefined }),
    ...model('uncounted-stable', {}, { predictions: undefined }),
  ]);
  prometheus = await startPrometheus({ backfill: families });
  client = new PrometheusClient({ url: prometheus.url, retries: 1, retryDelayMs: 10, timeoutMs: 2000 });
});

afterAll(async () => {
  await prometheus?.stop();
});

const look = (app: string, gates: GateSpec[] = GATES, at = AT) =>
  measure({
    source: client,
    gates,
    selectors: { namespace: NAMESPACE, model: app, baselineTrack: 'stable' },
    at,
    window: '5m',
    alpha: 0.01,
  });

const resultOf = (reports: Array<{ name: string; result: string }>, name: string) =>
  reports.find((r) => r.name === name)?.result;

describe('judging a real Prometheus', () => {
  it('passes a healthy canary', async () => {
    const result = await look('healthy');
    expect(result.reports.map((r) => [r.name, r.result])).toEqual(GATES.map((g) => [g.name, 'pass']));
    const errorRate = result.reports[0]!;
    expect(errorRate.canary).toBeCloseTo(0.005, 3);
    expect(errorRate.samples).toBeGreaterThan(5000);
    expect(result.result).toBe('pass');
  });

  it('fails 5% errors against a 0.5% baseline', async () => {
    const result = await look('errors');
    expect(resultOf(result.reports, 'error-rate')).toBe('fail');
    expect(result.reports[0]!.reason).toMatch(/canary 5% vs baseline 0.5%: above 1.5x baseline/);
    expect(result.result).toBe('fail');
  });

  it('fails a doubled p95 latency', async () => {
    const result = await look('slow');
    expect(resultOf(result.reports, 'latency-p95')).toBe('fail');
    expect(resultOf(result.reports, 'error-rate')).toBe('pass');
    const p95 = result.reports.find((r) => r.name === 'latency-p95')!;
    expect(p95.canary! / p95.baseline!).toBeGreaterThan(2);
  });

  it('fails drifted prediction scores', async () => {
    const result = await look('drift');
    const drift = result.reports.find((r) => r.name === 'prediction-drift')!;
    expect(drift.result).toBe('fail');
    expect(drift.canary).toBeGreaterThan(0.2);
    expect(drift.reason).toMatch(/> 0.2/);
  });

  it('is inconclusive with zero traffic, never pass', async () => {
    const result = await look('idle');
    expect(result.reports.every((r) => r.result === 'inconclusive')).toBe(true);
    expect(result.reports[0]!.reason).toMatch(/canary served 0 requests in 5m, fewer than min-requests 100/);
  });

  it('a counter the canary never exported is inconclusive, naming the metric: never read as 0, never a pass', async () => {
    const invalid = gate({ name: 'invalid-output-rate', max: 0.01 });
    const result = await look('uncounted', [invalid]);
    expect(result.reports[0]!.result).toBe('inconclusive');
    expect(result.reports[0]!.reason).toMatch(/metric model_invalid_predictions_total not found for the canary/);
    expect(result.reports[0]!.canary).toBeNull();
    // The same counter exported at a steady 0 is a zero, and passes.
    expect((await look('healthy', [invalid])).reports[0]!.result).toBe('pass');
    const issues = await preflight({
      source: client,
      gates: [invalid, DEFAULT_GATES[0]!],
      selectors: { namespace: NAMESPACE, model: 'uncounted-stable' },
      at: AT,
      window: '5m',
    });
    expect(issues.map((i) => [i.gate, i.problem])).toEqual([['invalid-output-rate', 'no-data']]);
  });

  it('is inconclusive on NaN from 0/0', async () => {
    const result = await look('idle', [gate({ name: 'error-rate', max: 0.01, 'min-requests': 0 })]);
    expect(result.reports[0]!.result).toBe('inconclusive');
    expect(result.reports[0]!.reason).toMatch(/NaN/);
    expect(result.reports[0]!.canary).toBeNull();
  });

  it('names the gate whose PromQL has a typo', async () => {
    const typo = gate({ name: 'queue-depth', query: 'sum(rate(http_requests_total{ {{ selector }} }[5m])', max: 5 });
    const result = await look('healthy', [typo]);
    expect(result.reports[0]!.result).toBe('inconclusive');
    expect(result.queryErrors).toHaveLength(1);
    expect(result.queryErrors[0]).toMatch(
      /^gate 'queue-depth': Prometheus rejected the query: .*parse error.*Query: sum\(rate/,
    );
    const issues = await preflight({
      source: client,
      gates: [typo, DEFAULT_GATES[0]!],
      selectors: { namespace: NAMESPACE, model: 'healthy' },
      at: AT,
      window: '5m',
    });
    expect(issues.map((i) => [i.gate, i.problem])).toEqual([['queue-depth', 'bad-query']]);
  });

  it('preflight lists gates without data for the stable track', async () => {
    const issues = await preflight({
      source: client,
      gates: DEFAULT_GATES,
      selectors: { namespace: NAMESPACE, model: 'ghost' },
      at: AT,
      window: '5m',
    });
    expect(issues.map((i) => i.problem)).toEqual(['no-data', 'no-data']);
  });

  it('replays a past window and queries ranges', async () => {
    const replay = await analyzeWindow({
      source: client,
      gates: DEFAULT_GATES,
      selectors: { namespace: NAMESPACE, model: 'errors', baselineTrack: 'stable' },
      from: new Date(AT.getTime() - 300_000),
      to: AT,
      alpha: 0.01,
    });
    expect(replay.window).toBe('300s');
    expect(replay.verdict).toBe('fail');
    const now = await analyzeNow({
      source: client,
      gates: DEFAULT_GATES,
      selectors: { namespace: NAMESPACE, model: 'healthy', baselineTrack: 'stable' },
      at: AT,
      window: '5m',
      alpha: 0.01,
    });
    expect(now.verdict).toBe('pass');
    const range = await client.queryRange(
      `sum(rate(http_requests_total{app="healthy",track="canary"}[1m]))`,
      new Date(AT.getTime() - 120_000),
      AT,
      60,
    );
    expect(range.state).toBe('ok');
    if (range.state === 'ok') expect(range.series[0]!.values.map((v) => Math.round(v.value))).toEqual([20, 20, 20]);
  });

  it('turns Prometheus stopped mid-analysis into error looks and an inconclusive analysis', async () => {
    const first = await look('healthy');
    await prometheus.stop();
    const second = await look('healthy');
    expect(second.looks.every((l) => l.outcome === 'error')).toBe(true);
    expect(second.reports[0]!.reason).toMatch(/unreachable error from Prometheus: cannot reach Prometheus/);
    const looks = [first, second].map((r, i) => ({ at: String(i), gates: r.looks }));
    const decision = summarizeLooks(looks, { failureLimit: 0, inconclusiveLimit: 3, consecutiveErrorLimit: 0 });
    expect(decision.verdict).toBe('inconclusive');
    expect(decision.reason).toMatch(/could not be measured 1 looks in a row/);
  });
});

describe('HTTP behaviour against a local server', () => {
  let server: Server;
  let url: string;
  const seen: IncomingMessage['headers'][] = [];
  let failuresLeft = 0;
  let reject = false;

  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push(request.headers);
      response.setHeader('Content-Type', 'application/json');
      if (failuresLeft > 0) {
        failuresLeft--;
        response.statusCode = 503;
        return response.end('{"status":"error","error":"overloaded"}');
      }
      if (reject) {
        response.statusCode = 400;
        return response.end('{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected <EOF>"}');
      }
      response.end('{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}');
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, LOOPBACK, resolve));
    url = `http://${LOOPBACK}:${port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends bearer, basic and extra headers, and masks the secrets', async () => {
    const masked: string[] = [];
    seen.length = 0;
    await new PrometheusClient({
      url,
      auth: { type: 'bearer', token: 's3cret' },
      headers: { 'X-Scope-OrgID': 'ml' },
      mask: (s) => masked.push(s),
    }).query('up', AT);
    await new PrometheusClient({
      url,
      auth: { type: 'basic', username: 'ml', password: 'pw' },
      mask: (s) => masked.push(s),
    }).query('up', AT);
    expect(seen[0]!.authorization).toBe('Bearer s3cret');
    expect(seen[0]!['x-scope-orgid']).toBe('ml');
    expect(seen[1]!.authorization).toBe(`Basic ${Buffer.from('ml:pw').toString('base64')}`);
    expect(masked).toEqual(['s3cret', 'pw']);
  });

  it('gets an Azure token from az once and uses it', async () => {
    const calls: string[][] = [];
    seen.length = 0;
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const azure = new PrometheusClient({
      url,
      auth: {
        type: 'azure',
        runCommand: async (command, args) => (
          calls.push([command, ...args]),
          JSON.stringify({ accessToken: 'aad', expires_on: expires })
        ),
      },
    });
    const result = await azure.query('up', AT);
    await azure.query('up', AT);
    expect(result).toEqual({ state: 'ok', samples: [{ labels: {}, value: NaN }] });
    expect(calls).toEqual([
      ['az', 'account', 'get-access-token', '--resource', 'https://prometheus.monitor.azure.com', '--output', 'json'],
    ]);
    expect(seen.map((h) => h.authorization)).toEqual(['Bearer aad', 'Bearer aad']);
  });

  it('retries a 503 and then succeeds; gives up as a server error', async () => {
    failuresLeft = 2;
    const client = new PrometheusClient({ url, retries: 2, retryDelayMs: 5 });
    expect((await client.query('up', AT)).state).toBe('ok');
    failuresLeft = 5;
    const result = await client.query('up', AT);
    failuresLeft = 0;
    expect(result).toMatchObject({ state: 'error', kind: 'server' });
  });

  it('reports a 400 with Prometheus text and the query, without retrying', async () => {
    reject = true;
    seen.length = 0;
    const result = await new PrometheusClient({ url, retries: 3, retryDelayMs: 5 }).query('sum(up', AT);
    reject = false;
    expect(result).toEqual({
      state: 'error',
      kind: 'bad-query',
      error: '1:5: parse error: unexpected <EOF> (query: sum(up)',
    });
    expect(seen).toHaveLength(1);
  });

  it('trusts a custom CA for HTTPS and refuses an unknown one', async () => {
    requireBinary('openssl');
    const dir = tempDir('prom-ca');
    const key = join(dir.path, 'key.pem');
    const cert = join(dir.path, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'pipe' },
    );
    const pem = readFileSync(cert, 'utf8');
    const https = createHttpsServer({ key: readFileSync(key), cert: pem }, (_request, response) => {
      response.setHeader('Content-Type', 'application/json');
      response.end('{"status":"success","data":{"resultType":"scalar","result":[1,"42"]}}');
    });
    const port = await freePort();
    await new Promise<void>((resolve) => https.listen(port, LOOPBACK, resolve));
    try {
      const secure = `https://${LOOPBACK}:${port}`;
      expect(await new PrometheusClient({ url: secure, ca: pem, retries: 0 }).query('42', AT)).toEqual({
        state: 'ok',
        samples: [{ labels: {}, value: 42 }],
      });
      const untrusted = await new PrometheusClient({ url: secure, retries: 0 }).query('42', AT);
      expect(untrusted).toMatchObject({ state: 'error', kind: 'unreachable' });
    } finally {
      await new Promise<void>((resolve) => https.close(() => resolve()));
      dir.remove();
    }
  });
});
