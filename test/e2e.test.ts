// End to end: the bundled action as the runner runs it, against real Prometheus scraping real model servers under
// real load, the fake Kubernetes API server and a fake GitHub API.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActionRunner, CLI_ENTRY } from './support/runner.js';
import { modelCanarySteps, withExpressions } from './support/workflow-steps.js';
import {
  deployInputs,
  imageOf,
  NAMESPACE,
  PR_NUMBER,
  startLocalStack,
  type LocalStack,
} from './support/local-stack.js';

import { jest } from '@jest/globals';
import { startFakeMlflow, type FakeMlflow } from './support/fake-mlflow.js';
import { pushBaseImage } from './support/images.js';
import { tempDir } from './support/local.js';
import { startRegistry, type TestRegistry } from './support/registry.js';

jest.setTimeout(120_000);

let stack: LocalStack;
const runners: ActionRunner[] = [];
beforeAll(async () => {
  stack = await startLocalStack({
    'churn-good': {},
    'churn-bad': { ERROR_RATE: 0.05 },
    'churn-slow': { LATENCY_MS: 60 },
    'churn-cancel': {},
    'churn-quiet': {},
    'churn-blind': {},
    'churn-mlflow': {},
  });
  [registry, mlflow] = await Promise.all([
    startRegistry(),
    startFakeMlflow({ auth: { kind: 'bearer', token: MLFLOW_TOKEN } }),
  ]);
  mlflow.addModelVersion({ name: 'churn', version: 3, aliases: ['champion'], files: MLFLOW_MODEL, source: 'runs' });
  baseDir = tempDir('e2e-base');
  pushBaseImage(baseDir.path, `${registry.host}/seldonio/mlserver:1.7.1`);
});
afterAll(async () => {
  for (const runner of runners) runner.cleanup();
  await Promise.all([stack?.stop(), registry?.stop(), mlflow?.stop()]);
  baseDir?.remove();
});

const execFileAsync = promisify(execFile);
const MLFLOW_TOKEN = 'mlflow-e2e-token-0123456789';
const MLFLOW_MODEL = {
  'model-settings.json': Buffer.from('{"name":"churn","implementation":"mlserver_sklearn.SKLearnModel"}'),
  'model.joblib': Buffer.alloc(50_000, 3),
};
let registry: TestRegistry;
let mlflow: FakeMlflow;
let baseDir: { path: string; remove(): void };

function runner(
  model: string,
  extraEnv: Record<string, string> = {},
  signalWhen?: { signal: NodeJS.Signals; when: () => boolean },
) {
  const { env } = deployInputs(stack, model);
  const made = new ActionRunner({ cwd: stack.models[model]!.repo, env: { ...env, ...extraEnv }, signalWhen });
  runners.push(made);
  return made;
}

/** Polls until `done` holds: tests wait for states, never for durations. */
async function until(done: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('state not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const deployment = (name: string) => stack.kube.object('apps/v1', 'Deployment', NAMESPACE, name) as any;
const imageOfDeployment = (name: string) => deployment(name)?.spec.template.spec.containers[0].image;
const commentFor = (model: string) =>
  stack.github.comments.find((c) => c.body.includes(`<!-- model-canary:${NAMESPACE}/${model} -->`));
const history = (model: string) =>
  JSON.parse(
    (stack.kube.object('v1', 'ConfigMap', NAMESPACE, `model-canary-${model}-history`) as any).data['history.json'],
  );

describe('deploy end to end', () => {
  it('promotes a good canary and comments the verdict on the PR', async () => {
    await stack.focus('churn-good');
    const { inputs } = deployInputs(stack, 'churn-good');
    const run = await runner('churn-good').main(inputs);
    expect(run.stdout).not.toContain('::error');
    expect(run.exitCode).toBe(0);
    expect(run.outputs.verdict).toBe('promoted');
    expect(run.outputs.image).toBe(imageOf('churn-good', '2'));
    expect(imageOfDeployment('churn-good')).toBe(imageOf('churn-good', '2'));
    expect(deployment('churn-good-canary')).toBeUndefined();
    const report = JSON.parse(run.outputs.report as string);
    expect(report.steps.map((s: any) => [s.weight, s.result])).toEqual([
      [50, 'pass'],
      [100, 'pass'],
    ]);
    expect(report.gates.map((g: any) => g.name)).toEqual(['error-rate', 'latency-p95']);
    expect(commentFor('churn-good')?.issue).toBe(PR_NUMBER);
    expect(commentFor('churn-good')?.body).toContain('Promoted');
    expect(history('churn-good').at(-1)).toMatchObject({
      revision: 1,
      verdict: 'promoted',
      image: imageOf('churn-good', '2'),
    });
    expect(run.summary).toContain('churn-good');
  });

  it('rolls back a canary with 5% errors and fails the step', async () => {
    await stack.focus('churn-bad');
    const { inputs } = deployInputs(stack, 'churn-bad');
    const run = await runner('churn-bad').main(inputs);
    expect(run.outputs.verdict).toBe('rolled-back');
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('::error');
    expect(imageOfDeployment('churn-bad')).toBe(stack.models['churn-bad']!.stableImage);
    expect(deployment('churn-bad-canary')).toBeUndefined();
    const report = JSON.parse(run.outputs.report as string);
    expect(report.gates.find((g: any) => g.name === 'error-rate').result).toBe('fail');
    expect(report.reason).toContain('error-rate');
    expect(commentFor('churn-bad')?.body).toMatch(/Rolled back/i);
    expect(history('churn-bad').at(-1)).toMatchObject({ verdict: 'rolled-back' });
  });

  it('rolls back a slow canary (p95 up) and passes the step with fail-on-rollback false', async () => {
    await stack.focus('churn-slow');
    const { inputs } = deployInputs(stack, 'churn-slow', { 'fail-on-rollback': 'false' });
    const run = await runner('churn-slow').main(inputs);
    expect(run.outputs.verdict).toBe('rolled-back');
    expect(run.exitCode).toBe(0);
    const report = JSON.parse(run.outputs.report as string);
    expect(report.gates.find((g: any) => g.name === 'latency-p95').result).toBe('fail');
  });

  it('the live judge: 5% errors under interval 60s and look-every 2s roll back mid-step, long before the interval', async () => {
    await stack.focus('churn-bad');
    const { inputs } = deployInputs(stack, 'churn-bad', {
      image: imageOf('churn-bad', '3'),
      interval: '60s',
      'look-every': '2s',
      'scrape-interval': '1s',
    });
    const run = await runner('churn-bad').main(inputs);
    expect(run.outputs.verdict).toBe('rolled-back');
    const report = JSON.parse(run.outputs.report as string);
    const [first] = report.steps;
    expect(first).toMatchObject({ weight: 50, result: 'fail', endReason: 'failed' });
    // Decided at a look inside the first step: fewer looks than one interval holds, and before the interval ended.
    expect(first.looks).toBeGreaterThanOrEqual(1);
    expect(first.looks).toBeLessThan(30);
    expect(Date.parse(first.endedAt) - Date.parse(first.startedAt)).toBeLessThan(60_000);
    const errorRate = report.gates.find((g: any) => g.name === 'error-rate');
    expect(errorRate).toMatchObject({ result: 'fail', looks: first.looks });
    expect(errorRate.evidence).toMatch(/likelihood ratio|Mann-Whitney/);
    expect(imageOfDeployment('churn-bad')).toBe(stack.models['churn-bad']!.stableImage);
    expect(commentFor('churn-bad')?.body).toContain('decisive failure');
  });

  it('the live judge: a healthy canary is looked at several times a step and promoted, with the evidence reported', async () => {
    await stack.focus('churn-good');
    const { inputs } = deployInputs(stack, 'churn-good', {
      image: imageOf('churn-good', '4'),
      interval: '4s',
      'look-every': '1s',
      'scrape-interval': '1s',
    });
    const run = await runner('churn-good').main(inputs);
    expect(run.outputs.verdict).toBe('promoted');
    const report = JSON.parse(run.outputs.report as string);
    for (const step of report.steps) {
      expect(step.result).toBe('pass');
      expect(step.endReason).toBe('interval');
      expect(step.looks).toBeGreaterThanOrEqual(2);
    }
    const latency = report.gates.find((g: any) => g.name === 'latency-p95');
    expect(latency.looks).toBe(report.steps.reduce((sum: number, step: any) => sum + step.looks, 0));
    expect(latency.power).toBeGreaterThanOrEqual(0);
    expect(latency.reason).toMatch(/power [\d.]+ to see \+20%|decisively below/);
    expect(imageOfDeployment('churn-good')).toBe(imageOf('churn-good', '4'));
    expect(commentFor('churn-good')?.body).toContain('| Looks | Power |');
  });

  it('refuses a second run while one holds the lease, then rolls back to revision 1 by hand', async () => {
    await stack.focus('churn-good');
    const { inputs } = deployInputs(stack, 'churn-good', { image: imageOf('churn-good', '3'), interval: '8s' });
    const first = runner('churn-good').main(inputs);
    await until(() =>
      (
        stack.kube.object('coordination.k8s.io/v1', 'Lease', NAMESPACE, 'model-canary-churn-good') as any
      )?.spec?.holderIdentity?.startsWith('contoso/churn-models/actions/runs/7002/attempts/1/jobs/'),
    );
    // Another job of the same run and attempt (a matrix, a second job on the model) is another holder: refused too.
    const second = await runner('churn-good', { GITHUB_JOB: 'deploy-again' }).main(inputs);
    expect(second.exitCode).toBe(1);
    expect(second.stdout).toMatch(
      /holder contoso\/churn-models\/actions\/runs\/7002\/attempts\/1\/jobs\/\S+-[0-9a-f]{8},/,
    );
    const done = await first;
    expect(done.outputs.verdict).toBe('promoted');
    expect(imageOfDeployment('churn-good')).toBe(imageOf('churn-good', '3'));

    const back = await runner('churn-good').main({ ...inputs, command: 'rollback', 'to-revision': '1' });
    expect(back.outputs.verdict).toBe('rolled-back');
    expect(imageOfDeployment('churn-good')).toBe(imageOf('churn-good', '2'));
    expect(history('churn-good').map((r: any) => r.verdict)).toEqual([
      'promoted',
      'promoted',
      'promoted',
      'rolled-back',
    ]);
  });

  it('a cancelled job: the post step restores stable and marks the comment aborted', async () => {
    await stack.focus('churn-cancel');
    const { inputs } = deployInputs(stack, 'churn-cancel', { interval: '30s' });
    // Cancelled while the canary runs: the kill waits for that state, not for a time.
    const cancelled = runner(
      'churn-cancel',
      {},
      {
        signal: 'SIGKILL',
        when: () => deployment('churn-cancel-canary') !== undefined,
      },
    );
    const run = await cancelled.main(inputs);
    expect(run.outputs.verdict).toBeUndefined();
    expect(deployment('churn-cancel-canary')).toBeDefined();
    const post = await cancelled.post(inputs);
    expect(post.exitCode).toBe(0);
    expect(post.stdout).toContain('is back on stable');
    expect(deployment('churn-cancel-canary')).toBeUndefined();
    expect(imageOfDeployment('churn-cancel')).toBe(stack.models['churn-cancel']!.stableImage);
    expect(commentFor('churn-cancel')?.body).toMatch(/aborted/i);
  });

  it('a canary that gets no traffic is inconclusive and rolled back, never promoted', async () => {
    await stack.focus();
    const { inputs } = deployInputs(stack, 'churn-quiet', { 'inconclusive-limit': '1' });
    const run = await runner('churn-quiet').main(inputs);
    expect(run.outputs.verdict).toBe('rolled-back');
    const report = JSON.parse(run.outputs.report as string);
    expect(report.reason).toContain('inconclusive');
    expect(report.gates.every((g: any) => g.result === 'inconclusive')).toBe(true);
    expect(imageOfDeployment('churn-quiet')).toBe(stack.models['churn-quiet']!.stableImage);
  });

  it('a registered MLflow model: built, pushed, rolled out; the comment, history and status name its version', async () => {
    await stack.focus('churn-mlflow');
    const { inputs } = deployInputs(stack, 'churn-mlflow', {
      image: '',
      'model-source': 'models:/churn@champion',
      'mlflow-tracking-uri': mlflow.url,
      'mlflow-token': MLFLOW_TOKEN,
      registry: registry.host,
      repository: 'models/churn-mlflow',
      'base-image': `${registry.host}/seldonio/mlserver:1.7.1`,
      // The pods here run the sample model server (the app's own metrics), not MLServer, whose metrics the
      // mlserver base image would pick by default.
      metrics: 'app',
    });
    const run = await runner('churn-mlflow').main(inputs);
    expect(run.outputs.verdict).toBe('promoted');
    expect(run.outputs['model-version']).toBe('3');
    expect(run.outputs.image).toMatch(new RegExp(`^${registry.host}/models/churn-mlflow@sha256:[a-f0-9]{64}$`));
    expect(imageOfDeployment('churn-mlflow')).toBe(run.outputs.image);
    const report = JSON.parse(run.outputs.report as string);
    expect(report.modelSource).toMatchObject({
      kind: 'mlflow',
      uri: 'models:/churn@champion',
      name: 'churn',
      version: '3',
    });
    expect(report.modelSource.sha256).toBe(run.outputs['model-sha256']);
    expect(commentFor('churn-mlflow')?.body).toContain(
      `- **Model:** \`churn\` version \`3\` from \`models:/churn@champion\`, sha256 \`${report.modelSource.sha256.slice(0, 12)}\``,
    );
    expect(history('churn-mlflow').at(-1).model).toEqual(report.modelSource);
    const logged = run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'));
    expect(run.stdout).toContain(`::add-mask::${MLFLOW_TOKEN}`);
    expect(logged.join('\n')).not.toContain(MLFLOW_TOKEN);

    const status = await runner('churn-mlflow').main({ ...inputs, command: 'status' });
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toMatch(/\*1\s+promoted\s+[a-f0-9]{12}\s+churn:3 \([a-f0-9]{12}\)/);
    expect(JSON.parse(status.outputs.report as string).modelSource.version).toBe('3');
  });

  // Last: it stops the shared Prometheus.
  it('promote from another run while deploy holds the Lease: the running rollout promotes at its next look', async () => {
    await stack.focus('churn-cancel');
    const { inputs } = deployInputs(stack, 'churn-cancel', {
      image: imageOf('churn-cancel', '3'),
      interval: '60s',
      'look-every': '2s',
      'scrape-interval': '1s',
    });
    const deploying = runner('churn-cancel').main(inputs);
    // Wait for the state, not a duration: the canary runs and the deploy holds the model's Lease.
    await until(
      () =>
        deployment('churn-cancel-canary') !== undefined &&
        stack.kube.object('coordination.k8s.io/v1', 'Lease', NAMESPACE, 'model-canary-churn-cancel') !== undefined,
    );
    const { image: _image, ...promoteInputs } = { ...inputs, command: 'promote' };
    const asked = await runner('churn-cancel', { GITHUB_RUN_ID: '7010', GITHUB_ACTOR: 'octocat' }).main(promoteInputs);
    expect(asked.exitCode).toBe(0);
    expect(asked.outputs.verdict).toBe('promoted');
    const done = await deploying;
    expect(done.exitCode).toBe(0);
    expect(done.outputs.verdict).toBe('promoted');
    const report = JSON.parse(done.outputs.report as string);
    expect(report.reason).toBe(
      'promoted by hand by octocat from https://github.com/contoso/churn-models/actions/runs/7010',
    );
    expect(report.steps[0]).toMatchObject({ weight: 50, result: 'skipped', endReason: 'promoted-by-hand' });
    expect(imageOfDeployment('churn-cancel')).toBe(imageOf('churn-cancel', '3'));
    expect(deployment('churn-cancel-canary')).toBeUndefined();
    expect(commentFor('churn-cancel')?.body).toContain('promoted by hand by octocat');
    expect(stack.kube.object('v1', 'ConfigMap', NAMESPACE, 'model-canary-churn-cancel-request')).toBeUndefined();
  });

  it('command canary: the canary is left running on purpose, and the post step leaves it there', async () => {
    await stack.focus('churn-slow');
    const { inputs } = deployInputs(stack, 'churn-slow', {
      command: 'canary',
      image: imageOf('churn-slow', '3'),
      weight: '50',
    });
    const action = runner('churn-slow');
    const run = await action.main(inputs);
    expect(run.exitCode).toBe(0);
    expect(run.outputs.verdict).toBe('canary-running');
    expect(run.state.canary).toBe('');
    const post = await action.post(inputs);
    expect(post.exitCode).toBe(0);
    expect(post.stdout).not.toContain('restoring stable');
    expect(imageOfDeployment('churn-slow-canary')).toBe(imageOf('churn-slow', '3'));
    expect(imageOfDeployment('churn-slow')).toBe(stack.models['churn-slow']!.stableImage);
    const comment = commentFor('churn-slow')?.body ?? '';
    expect(comment).toContain('Canary running');
    expect(comment).toContain('left running at 50% on purpose');
    expect(comment).not.toMatch(/aborted/i);
  });

  it('on-inconclusive hold: the held canary stays after the post step, and the comment says it is held', async () => {
    await stack.focus();
    const { inputs } = deployInputs(stack, 'churn-quiet', {
      image: imageOf('churn-quiet', '3'),
      'on-inconclusive': 'hold',
    });
    const action = runner('churn-quiet');
    const run = await action.main(inputs);
    expect(run.outputs.verdict).toBe('canary-running');
    expect(JSON.parse(run.outputs.report as string).reason).toMatch(/^held at 50% for a human to promote or abort/);
    const post = await action.post(inputs);
    expect(post.exitCode).toBe(0);
    expect(post.stdout).not.toContain('restoring stable');
    expect(imageOfDeployment('churn-quiet-canary')).toBe(imageOf('churn-quiet', '3'));
    expect(commentFor('churn-quiet')?.body).toContain('held at 50% for a human to promote or abort');
  });

  it('manual-rollback.yml as shipped (no checkout, no manifests): promote, abort and rollback, then status', async () => {
    await stack.focus();
    const empty = tempDir('manual-workflow');
    try {
      const dispatch = async (model: string, action: string, revision = 'previous') => {
        const runs = [];
        for (const step of modelCanarySteps('workflows-examples/manual-rollback.yml')) {
          const inputs = withExpressions(step.with, { model, action, revision, namespace: NAMESPACE });
          const made = new ActionRunner({ cwd: empty.path, env: deployInputs(stack, model).env });
          runners.push(made);
          runs.push(await made.main(inputs));
        }
        return runs;
      };
      // churn-slow: a canary left running by `canary`; promote it from the Actions tab.
      const [promoted, promotedStatus] = await dispatch('churn-slow', 'promote');
      expect(promoted!.exitCode).toBe(0);
      expect(promoted!.outputs.verdict).toBe('promoted');
      expect(imageOfDeployment('churn-slow')).toBe(imageOf('churn-slow', '3'));
      expect(deployment('churn-slow-canary')).toBeUndefined();
      expect(promotedStatus!.exitCode).toBe(0);
      expect(promotedStatus!.stdout).toContain('no canary is running');
      // churn-quiet: a held canary; abort it.
      const [aborted] = await dispatch('churn-quiet', 'abort');
      expect(aborted!.outputs.verdict).toBe('aborted');
      expect(imageOfDeployment('churn-quiet')).toBe(stack.models['churn-quiet']!.stableImage);
      expect(deployment('churn-quiet-canary')).toBeUndefined();
      // Nothing runs any more: a clear error, exit 2's message, and nothing changed.
      const [again] = await dispatch('churn-quiet', 'abort');
      expect(again!.exitCode).toBe(1);
      expect(again!.stdout).toMatch(/no canary of ml\/churn-quiet is running/);
      // churn-good: roll back to revision 1, straight from the history.
      const [back, backStatus] = await dispatch('churn-good', 'rollback', '1');
      expect(back!.exitCode).toBe(0);
      expect(back!.outputs.verdict).toBe('rolled-back');
      expect(imageOfDeployment('churn-good')).toBe(imageOf('churn-good', '2'));
      expect(backStatus!.stdout).toMatch(/history:/);
    } finally {
      empty.remove();
    }
  });

  it("the commands in a rolled-back comment's What now block work as printed, from any directory", async () => {
    const body = commentFor('churn-good')?.body ?? '';
    const printed = body.split('\n').find((line) => line.startsWith('npx model-canary rollback'));
    expect(printed).toBe('npx model-canary rollback --model churn-good --namespace ml --to-revision previous');
    const empty = tempDir('what-now');
    try {
      const words = (printed as string).split(' ').slice(2);
      // Not spawnSync: the fake API server answers from this very process.
      const run = await execFileAsync(process.execPath, [CLI_ENTRY, ...words, '--output', 'json'], {
        cwd: empty.path,
        env: { ...process.env, KUBECONFIG: stack.kube.kubeconfigPath },
        encoding: 'utf8',
      });
      expect(run.stderr).not.toMatch(/error/i);
      const report = JSON.parse(run.stdout);
      expect(report.verdict).toBe('rolled-back');
      expect(imageOfDeployment('churn-good')).toBe(report.image);
    } finally {
      empty.remove();
    }
  });

  it('a first rollout on an empty cluster: preflight needs no stable series, and every object of the manifests is applied', async () => {
    const repo = tempDir('first-rollout');
    try {
      const app = readFileSync(join(stack.models['churn-good']!.repo, 'k8s', 'app.yaml'), 'utf8');
      mkdirSync(join(repo.path, 'k8s'));
      writeFileSync(join(repo.path, 'k8s', 'app.yaml'), app.replaceAll('churn-good', 'churn-first'));
      expect(deployment('churn-first')).toBeUndefined();
      const { inputs, env } = deployInputs(stack, 'churn-good', { image: imageOf('churn-first', '2') });
      const made = new ActionRunner({ cwd: repo.path, env });
      runners.push(made);
      const run = await made.main(inputs);
      expect(run.exitCode).toBe(0);
      expect(run.outputs.verdict).toBe('promoted');
      expect(run.stdout).toContain('the first rollout has no baseline to compare with');
      expect(imageOfDeployment('churn-first')).toBe(imageOf('churn-first', '2'));
      expect(stack.kube.object('v1', 'Service', NAMESPACE, 'churn-first')).toBeDefined();
      expect(deployment('churn-first-canary')).toBeUndefined();
      expect(history('churn-first')).toEqual([expect.objectContaining({ revision: 1, verdict: 'promoted' })]);
    } finally {
      repo.remove();
    }
  });

  it('Prometheus stopping mid-analysis rolls the canary back', async () => {
    await stack.focus('churn-blind');
    const { inputs } = deployInputs(stack, 'churn-blind', { interval: '4s', 'consecutive-error-limit': '1' });
    const pending = runner('churn-blind').main(inputs);
    await until(() => deployment('churn-blind-canary') !== undefined);
    await stack.prometheus.stop();
    const run = await pending;
    expect(run.outputs.verdict).toBe('rolled-back');
    expect(JSON.parse(run.outputs.report as string).reason).toMatch(/could not be measured|metrics unavailable/);
    expect(deployment('churn-blind-canary')).toBeUndefined();
  });
});
