// A dependency-free model server for trying model-canary: a small logistic-regression "churn" model behind
// POST/GET /predict, Prometheus metrics on /metrics, and probes on /healthz and /readyz.
// Runs with plain `node server.mjs` (Node 20+) or in the node:24-alpine image built by ./Dockerfile.
//
// Behaviour comes from the environment so one image can play a good or a bad canary:
//   PORT          listen port (default 8080); HOST listen address (default 0.0.0.0)
//   ERROR_RATE    share of /predict requests answered 500 (0..1, default 0)
//   LATENCY_MS    mean added latency per prediction in ms, jittered uniformly over +-50% (default 0)
//   SCORE_SHIFT   added to every score, clamped to [0, 1]: simulates prediction drift (default 0)
//   INVALID_RATE  share of predictions that come out invalid (score null), counted in
//                 model_invalid_predictions_total (0..1, default 0)
//   MODEL_VERSION reported in responses and model_info (default: the model file's version)
//   MODEL_DIR     folder holding model.json (default ../model next to this file, /app/model in the image)
//   SEED          makes errors, latency, invalid outputs and generated features reproducible
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout } from 'node:timers';
import { fileURLToPath, URL } from 'node:url';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SCORE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
const MAX_BODY_BYTES = 64 * 1024;

function numberFromEnv(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    console.error(`${name}=${raw} is not a number in [${min}, ${max}]; fix the environment variable`);
    process.exit(2);
  }
  return value;
}

/** mulberry32: a tiny seeded PRNG, so SEED makes a run reproducible. */
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function loadModel(dir) {
  const path = join(dir, 'model.json');
  let model;
  try {
    model = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    console.error(`cannot read the model from ${path}: ${error.message}; set MODEL_DIR to the folder of model.json`);
    process.exit(2);
  }
  const ok =
    Array.isArray(model.features) &&
    Array.isArray(model.weights) &&
    model.features.length === model.weights.length &&
    typeof model.bias === 'number';
  if (!ok) {
    console.error(`${path} needs "features" and "weights" of the same length and a numeric "bias"`);
    process.exit(2);
  }
  return model;
}

class Histogram {
  constructor(buckets) {
    this.buckets = buckets;
    this.counts = new Array(buckets.length).fill(0);
    this.sum = 0;
    this.count = 0;
  }
  observe(value) {
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) this.counts[i]++;
    this.sum += value;
    this.count++;
  }
  render(name, help) {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    this.buckets.forEach((le, i) => lines.push(`${name}_bucket{le="${le}"} ${this.counts[i]}`));
    lines.push(`${name}_bucket{le="+Inf"} ${this.count}`, `${name}_sum ${this.sum}`, `${name}_count ${this.count}`);
    return lines;
  }
}

const settings = {
  port: numberFromEnv('PORT', 8080, 0, 65535),
  host: process.env.HOST || '0.0.0.0',
  errorRate: numberFromEnv('ERROR_RATE', 0, 0, 1),
  latencyMs: numberFromEnv('LATENCY_MS', 0, 0, 600000),
  scoreShift: numberFromEnv('SCORE_SHIFT', 0, -1, 1),
  invalidRate: numberFromEnv('INVALID_RATE', 0, 0, 1),
};
const model = loadModel(process.env.MODEL_DIR || join(dirname(fileURLToPath(import.meta.url)), '..', 'model'));
const modelVersion = process.env.MODEL_VERSION || String(model.version ?? 'unknown');
const random = process.env.SEED ? seededRandom(Number(process.env.SEED) || 0) : Math.random;

const requestsByCode = new Map();
const durations = new Histogram(LATENCY_BUCKETS);
const scores = new Histogram(SCORE_BUCKETS);
let invalidPredictions = 0;
let shuttingDown = false;

/** Features from the request, or drawn from the model's ranges when absent (load generators send none). */
function featuresFrom(input) {
  return model.features.map((name) => {
    const given = Number(input?.[name]);
    if (input && input[name] !== undefined && Number.isFinite(given)) return given;
    const [low, high] = model.ranges?.[name] ?? [0, 1];
    return low + random() * (high - low);
  });
}

function score(features) {
  const z = features.reduce((sum, x, i) => sum + x * model.weights[i], model.bias);
  return Math.min(1, Math.max(0, 1 / (1 + Math.exp(-z)) + settings.scoreShift));
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => {
      body += chunk;
      if (body.length > MAX_BODY_BYTES) reject(new Error(`body over ${MAX_BODY_BYTES} bytes`));
    });
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}

async function predictionInput(request, url) {
  if (request.method === 'GET') return Object.fromEntries(url.searchParams);
  const body = await readBody(request);
  if (body.trim() === '') return {};
  const parsed = JSON.parse(body);
  // Accept {"features": {...}} as well as the flat {"tenure_months": 3, ...}.
  return parsed && typeof parsed === 'object' ? (parsed.features ?? parsed) : {};
}

function send(response, status, body, contentType = 'application/json') {
  response.writeHead(status, { 'content-type': contentType });
  response.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function predict(request, response, url) {
  const started = process.hrtime.bigint();
  let status = 200;
  let body;
  try {
    const input = await predictionInput(request, url);
    const latency = settings.latencyMs > 0 ? settings.latencyMs * (0.5 + random()) : 0;
    const fails = random() < settings.errorRate;
    const invalid = random() < settings.invalidRate;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    if (fails) {
      status = 500;
      body = { error: 'injected failure (ERROR_RATE)' };
    } else if (invalid) {
      invalidPredictions++;
      body = { score: null, valid: false, model: model.name, version: modelVersion };
    } else {
      const value = score(featuresFrom(input));
      scores.observe(value);
      body = { score: value, valid: true, model: model.name, version: modelVersion };
    }
  } catch (error) {
    status = 400;
    body = { error: `bad request: ${error.message}; send JSON like {"tenure_months": 3}` };
  }
  send(response, status, body);
  const code = String(status);
  requestsByCode.set(code, (requestsByCode.get(code) ?? 0) + 1);
  durations.observe(Number(process.hrtime.bigint() - started) / 1e9);
}

function metricsText() {
  const lines = [
    '# HELP http_requests_total Prediction requests by HTTP status code (probes and scrapes are not counted).',
    '# TYPE http_requests_total counter',
  ];
  for (const [code, count] of [...requestsByCode].sort()) lines.push(`http_requests_total{code="${code}"} ${count}`);
  lines.push(...durations.render('http_request_duration_seconds', 'Time to answer a prediction request.'));
  lines.push(...scores.render('model_prediction_score', 'Scores of valid predictions.'));
  lines.push(
    '# HELP model_invalid_predictions_total Predictions that came out invalid.',
    '# TYPE model_invalid_predictions_total counter',
    `model_invalid_predictions_total ${invalidPredictions}`,
    '# HELP model_info The model this server runs.',
    '# TYPE model_info gauge',
    `model_info{model="${model.name}",version="${modelVersion.replace(/["\\\n]/g, '_')}"} 1`,
  );
  return lines.join('\n') + '\n';
}

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://model');
  if (url.pathname === '/predict' && (request.method === 'POST' || request.method === 'GET')) {
    predict(request, response, url);
  } else if (url.pathname === '/metrics') {
    send(response, 200, metricsText(), 'text/plain; version=0.0.4; charset=utf-8');
  } else if (url.pathname === '/healthz') {
    send(response, 200, { status: 'ok' });
  } else if (url.pathname === '/readyz') {
    send(response, shuttingDown ? 503 : 200, { ready: !shuttingDown, model: model.name, version: modelVersion });
  } else {
    send(response, 404, { error: `no route ${request.method} ${url.pathname}; try POST /predict` });
  }
});

// Kubernetes sends SIGTERM: stop being ready, finish requests in flight, then exit.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    shuttingDown = true;
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  });
}

server.listen(settings.port, settings.host, () => {
  const { port } = server.address();
  console.log(`${model.name} ${modelVersion} listening on ${settings.host}:${port}`);
});
