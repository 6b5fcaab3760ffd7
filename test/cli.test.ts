// The bundled CLI as a user runs it: flags, --output json, exit codes.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_ENTRY } from './support/runner.js';
import { tempDir } from './support/local.js';
import * as m from './fixtures/manifests.js';
import { BENCH_STABLE, spec as benchSpec } from '../bench/rollout.js';
import { percentile, simulateRollout } from '../src/engine/rollout-sim.js';

const repo = tempDir('cli');
beforeAll(() => {
  mkdirSync(join(repo.path, 'k8s'));
  writeFileSync(join(repo.path, 'k8s', 'app.yaml'), [m.DEPLOYMENT, m.SERVICE, m.HPA].join('---\n'));
});
afterAll(() => repo.remove());

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI_ENTRY, ...args], { cwd: repo.path, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('model-canary CLI', () => {
  it('plan --output json prints the contract report', () => {
    const run = cli('plan', '--manifests', 'k8s/', '--image', m.IMAGE, '--steps', '25,100', '--output', 'json');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ command: 'plan', verdict: 'planned', digest: m.DIGEST, model: 'churn-scorer' });
    expect(report.steps.map((s: { replicas: unknown }) => s.replicas)).toEqual([
      // The HPA owns the stable: it stays at minReplicas (3), the canary is a share of it.
      { stable: 3, canary: 1 },
      { stable: 3, canary: 3 },
    ]);
    expect(run.stderr).toContain('HorizontalPodAutoscaler ml/churn-scorer scales churn-scorer');
  });

  it('plan prints a readable table, and the YAML with --show-objects', () => {
    const run = cli('plan', '--manifests', 'k8s/app.yaml', '--image', m.IMAGE, '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/step\s+canary weight\s+stable pods\s+canary pods/);
    expect(run.stdout).not.toContain('name: churn-scorer-canary');
    const full = cli('plan', '--manifests', 'k8s/app.yaml', '--image', m.IMAGE, '--show-objects');
    expect(full.stdout).toContain('name: churn-scorer-canary');
  });

  it('plan shows each gate query with the selectors filled in and the time to detect at the expected traffic', () => {
    const run = cli('plan', '--manifests', 'k8s/', '--image', m.IMAGE, '--expected-rps', '200', '--output', 'json');
    const report = JSON.parse(run.stdout);
    const errorRate = report.gates.find((g: any) => g.name === 'error-rate');
    expect(errorRate.canaryQuery).toContain('namespace="ml",app="churn-scorer",track="canary"');
    expect(errorRate.baselineQuery).toContain('track="stable"');
    expect(errorRate.detection).toMatch(/would be caught in about \d+ s/);
  });

  it("plan's estimates come from the loop the benchmark runs, and fall inside the benchmark's spread", async () => {
    const args = ['plan', '--manifests', 'k8s/', '--image', m.IMAGE, '--expected-rps', '20'];
    const run = cli(...args, '--steps', '10,25,50,100', '--interval', '1m', '--output', 'json');
    expect(run.code).toBe(0);
    const { estimate } = JSON.parse(run.stdout);
    const caught = estimate.gates.find((g: any) => g.gate === 'error-rate');
    expect(caught.regression).toBe('error rate 5% vs 0.5%');
    // The benchmark's own rollout for scenario (a), 200 runs on other seeds.
    const bad = { ...BENCH_STABLE, errorRate: 0.05 };
    const times = [];
    for (let seed = 0; seed < 200; seed++)
      times.push((await simulateRollout(benchSpec(20, BENCH_STABLE, bad), 9_000 + seed)).seconds);
    expect(caught.caughtIn).toBeGreaterThanOrEqual(percentile(times, 0.05));
    expect(caught.caughtIn).toBeLessThanOrEqual(percentile(times, 0.95));
    const healthy = [];
    for (let seed = 0; seed < 100; seed++)
      healthy.push((await simulateRollout(benchSpec(20, BENCH_STABLE, BENCH_STABLE), 9_000 + seed)).seconds);
    expect(estimate.promotedIn).toBeGreaterThanOrEqual(percentile(healthy, 0.05));
    expect(estimate.promotedIn).toBeLessThanOrEqual(percentile(healthy, 0.95));
    // The text says the same, and warns that a pass at this traffic has little power to see +50% errors.
    const text = cli(...args, '--steps', '10,25,50,100', '--interval', '1m');
    expect(text.stdout).toContain(`error rate 5% vs 0.5% would be caught in about ${caught.caughtIn} s`);
    expect(text.stdout).toContain(`a healthy canary at 20 rps would be promoted in about ${estimate.promotedIn} s`);
    expect(text.stderr).toMatch(
      /warning: error-rate needs .* to reach power 0.8 to see \+50%; its steps last 4m \(1m each\)/,
    );
  });

  it('plan shows what build would do and warns when the model does not fit the serving preset', () => {
    mkdirSync(join(repo.path, 'model'), { recursive: true });
    writeFileSync(join(repo.path, 'model', 'model.joblib'), 'weights');
    const args = ['plan', '--manifests', 'k8s/', '--registry', 'r.io', '--repository', 'models/churn'];
    const run = cli(...args, '--model-path', 'model', '--base-image', 'mlserver');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('build: oci, model model on docker.io/seldonio/mlserver:1.7.1 (preset mlserver)');
    expect(run.stderr).toMatch(/warning: .*no model-settings\.json/);
    const fromSource = cli(
      ...args,
      '--model-source',
      'models:/churn@champion',
      '--mlflow-tracking-uri',
      'http://127.0.0.1:9',
      '--base-image',
      'mlserver',
      '--output',
      'json',
    );
    expect(JSON.parse(fromSource.stdout).build).toEqual({
      builder: 'oci',
      baseImage: 'docker.io/seldonio/mlserver:1.7.1',
      preset: 'mlserver',
      modelSource: 'models:/churn@champion',
    });
    const typo = cli(...args, '--model-path', 'model', '--base-image', 'mlsever');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/base-image: .*mlserver/);
  });

  it('reads secrets from MODEL_CANARY_<KEY> variables, never needing them on the command line', () => {
    const base = [
      'analyze',
      '--prometheus-url',
      'http://127.0.0.1:9',
      '--prometheus-auth',
      'bearer',
      '--model',
      'm',
      '--namespace',
      'ml',
    ];
    expect(cli(...base).stderr).toContain('prometheus-auth: bearer needs prometheus-token');
    const result = spawnSync(process.execPath, [CLI_ENTRY, ...base], {
      cwd: repo.path,
      encoding: 'utf8',
      env: { ...process.env, MODEL_CANARY_PROMETHEUS_TOKEN: 'env-token-123' },
    });
    expect(result.stderr).not.toContain('needs prometheus-token');
    expect(result.stderr + result.stdout).not.toContain('env-token-123');
  });

  it('deploy --dry-run runs the preflight: a Prometheus that cannot be reached fails it, and nothing changes', () => {
    const run = cli(
      'deploy',
      '--dry-run',
      '--manifests',
      'k8s/',
      '--image',
      m.IMAGE,
      '--prometheus-url',
      'http://127.0.0.1:9',
      '--output',
      'json',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('preflight: cannot reach Prometheus at http://127.0.0.1:9');
    expect(run.stdout).toBe('');
  });

  it.each([
    [['plan', '--manifests', 'k8s/', '--steps', '10,5'], 'steps: must rise step by step'],
    [['plan', '--manifests', 'nowhere/', '--image', m.IMAGE], "manifests: nothing matches 'nowhere/'"],
    [
      ['plan', '--manifests', 'k8s/', '--image', m.IMAGE, '--model', 'fraud'],
      "no Deployment or InferenceService named 'fraud'",
    ],
    [['plan', '--bogus', 'x'], "Unknown option '--bogus'"],
    [['launch'], 'command: must be one of deploy, build'],
  ])('exits 2 on bad input: %j', (args, message) => {
    const run = cli(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('prints usage with no arguments', () => {
    const run = cli();
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('usage: model-canary');
  });
});
