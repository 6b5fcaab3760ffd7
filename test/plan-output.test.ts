// `plan` as a user reads it, through the real CLI entry point (the TypeScript source, as dist/ is rebuilt apart): a
// compact table instead of pages of YAML, every warning once, the silent wrong plans named, and Prometheus that
// cannot be reached told apart from a canary with too little data.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { CLI_ENTRY } from './support/runner.js';
import { tempDir } from './support/local.js';

const SAMPLE = resolve('workflows-examples/sample-model');
const IMAGE = `myacr.azurecr.io/models/churn-scorer@sha256:${'a'.repeat(64)}`;
/** `plan` on the sample model before the compact table: the full YAML of every object at every step. */
const LINES_BEFORE = 597;

const repo = tempDir('plan-output');
beforeAll(() => {
  mkdirSync(join(repo.path, 'k8s'));
  mkdirSync(join(repo.path, 'k8s-hpa'));
  cpSync(join(SAMPLE, 'k8s'), join(repo.path, 'k8s'), { recursive: true });
  cpSync(join(SAMPLE, 'k8s-hpa'), join(repo.path, 'k8s-hpa'), { recursive: true });
});
afterAll(() => repo.remove());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI_ENTRY, ...args],
      // No cluster: a dry run reads none here, and says so.
      { cwd: repo.path, env: { ...process.env, KUBECONFIG: join(repo.path, 'no-kubeconfig') }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** A port nothing listens on: bound, then closed. */
function closedPort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

const HPA_MANIFESTS = 'k8s/deployment.yaml,k8s/service.yaml,k8s-hpa';
const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe('plan output', () => {
  it(`is a compact table: the sample model's plan went from ${LINES_BEFORE} lines to under 40`, async () => {
    const run = await cli('plan', '--manifests', 'k8s/', '--image', IMAGE);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n').length;
    expect(lines).toBeLessThan(40);
    expect(lines * 10).toBeLessThan(LINES_BEFORE);
    expect(run.stdout).toMatch(/step\s+canary weight\s+stable pods\s+canary pods\s+time/);
    expect(run.stdout).toContain('total: 4 steps, about 4m (at most 12m)');
    expect(run.stdout).toMatch(/error-rate\s+max 1\.5x baseline\s+100/);
    expect(run.stdout).not.toContain('apiVersion:');
  });

  it('--show-objects prints every object at every step as YAML', async () => {
    const run = await cli('plan', '--manifests', 'k8s/', '--image', IMAGE, '--show-objects');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('# step 1: canary at 10%');
    expect(run.stdout).toContain('name: churn-scorer-canary');
    expect(run.stdout.split('\n').length).toBeGreaterThan(LINES_BEFORE / 2);
  });

  it('--output json keeps the objects, has the gates once (no empty duplicate) and the warnings', async () => {
    const run = await cli('plan', '--manifests', HPA_MANIFESTS, '--image', IMAGE, '--output', 'json');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).not.toHaveProperty('gatePlans');
    expect(report.gates.map((g: { name: string }) => g.name)).toEqual(['error-rate', 'latency-p95']);
    expect(report.gates[0]).toMatchObject({ threshold: 'max 1.5x baseline', minRequests: 100 });
    expect(report.steps[0].objects.length).toBeGreaterThan(0);
    expect(report.warnings.join()).toContain('HorizontalPodAutoscaler ml/churn-scorer');
  });

  it("prints each warning once, and sizes the stable by the HPA's minReplicas", async () => {
    const run = await cli('plan', '--manifests', HPA_MANIFESTS, '--image', IMAGE);
    expect(run.code).toBe(0);
    const warning = 'HorizontalPodAutoscaler ml/churn-scorer scales churn-scorer (minReplicas 2, maxReplicas 10)';
    expect(occurrences(run.stdout + run.stderr, warning)).toBe(1);
    expect(run.stdout).toMatch(/1\s+10%\s+2\s+1\s/);
    expect(run.stdout).toMatch(/4\s+100%\s+2\s+2\s/);
    const json = JSON.parse(
      (await cli('plan', '--manifests', HPA_MANIFESTS, '--image', IMAGE, '--output', 'json')).stdout,
    );
    expect(json.steps.map((s: { replicas: unknown }) => s.replicas)).toEqual([
      { stable: 2, canary: 1 },
      { stable: 2, canary: 1 },
      { stable: 2, canary: 1 },
      { stable: 2, canary: 2 },
    ]);
  });

  it('warns that a made HTTPRoute routes nothing, and how to add the Gateway reference', async () => {
    const run = await cli('plan', '--manifests', 'k8s/', '--image', IMAGE, '--router', 'gateway-api');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('no parentRefs: it is attached to no Gateway and routes nothing');
    expect(run.stderr).toContain('spec.parentRefs naming your Gateway');
    expect(occurrences(run.stdout + run.stderr, 'attached to no Gateway')).toBe(1);
  });

  it('keeps the Service with a namespace override, and warns about the override', async () => {
    const run = await cli('plan', '--manifests', 'k8s/', '--image', IMAGE, '--namespace', 'other');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Service other/churn-scorer');
    expect(run.stderr).toContain(
      "namespace other overrides the manifests' namespace ml: Deployment churn-scorer with its Service is applied in other",
    );
  });
});

describe('Prometheus that cannot be reached', () => {
  it('analyze exits 1 with "cannot reach Prometheus at URL: cause", not inconclusive (4)', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await cli('analyze', '--model', 'churn-scorer', '--namespace', 'ml', '--prometheus-url', url);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot reach Prometheus at ${url}: connection refused (ECONNREFUSED)`);
    expect(run.stdout).not.toContain('inconclusive');
  });

  it('analyze against a host that does not resolve exits 1, naming the DNS error', async () => {
    const url = 'http://prometheus.nosuchhost.invalid:9090';
    const run = await cli('analyze', '--model', 'churn-scorer', '--namespace', 'ml', '--prometheus-url', url);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /cannot reach Prometheus at http:\/\/prometheus\.nosuchhost\.invalid:9090: host .*\(DNS\)/,
    );
  });

  it('deploy --dry-run runs the preflight, so a wrong prometheus-url fails the dry run', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await cli('deploy', '--dry-run', '--manifests', 'k8s/', '--image', IMAGE, '--prometheus-url', url);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`preflight: cannot reach Prometheus at ${url}: connection refused (ECONNREFUSED)`);
    expect(run.stdout).not.toContain('dry run: nothing was changed');
  });
});
