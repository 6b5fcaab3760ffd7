// Every shipped example workflow, run the way GitHub runs it (test/support/github-runner.ts): the YAML as copied,
// event payloads from GitHub's own webhook examples (@octokit/webhooks-examples), `${{ }}` expressions evaluated,
// dist/index.js main and post with INPUT_* and GITHUB_* as the runner sets them. Behind the names the workflows
// use (contoso.azurecr.io, management.azure.com, Blob Storage, the Prometheus and cluster of the repository's
// variables): a real docker-registry with ACR's token exchange, the fake Azure ML, a real Prometheus scraping real
// model servers, the fake Kubernetes and GitHub APIs. One story on one cluster, in order, as a team would live it.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startCloudFront, type CloudFront } from './support/cloud-front.js';
import { startDockerd, type TestDockerd } from './support/dockerd.js';
import { startFakeGrafana, type FakeGrafana } from './support/fake-grafana.js';
import { startFakeAzureMl, type FakeAzureMl } from './support/fake-azureml.js';
import { startFakeKubeApiServer, type FakeKube } from './support/fake-kube-apiserver.js';
import { runWorkflowJob, type JobRequest, type JobRun, type RunnerWorld } from './support/github-runner.js';
import { pushBaseImageAsync } from './support/images.js';
import { NAMESPACE, startLocalStack, type LocalStack } from './support/local-stack.js';
import { tempDir } from './support/local.js';
import { startRegistry, type TestRegistry } from './support/registry.js';

jest.setTimeout(240_000);

const ACR = 'contoso';
const AZURE = { subscription: '00000000-1111-2222-3333-444444444444', resourceGroup: 'rg-ml', workspace: 'ml-prod' };
const SAMPLE = 'workflows-examples/sample-model';

type Payload = Record<string, unknown>;
const webhookExamples = createRequire(import.meta.url)('@octokit/webhooks-examples') as unknown;
const find = (name: string, pick: (payload: Payload) => boolean = () => true): Payload => {
  const found = (webhookExamples as unknown as Array<{ name: string; examples: Payload[] }>)
    .find((event) => event.name === name)
    ?.examples.find(pick);
  if (!found) throw new Error(`no ${name} example in @octokit/webhooks-examples`);
  return structuredClone(found);
};
/** The examples come from different repositories; here every event is of one (the push example's). */
const REPOSITORY = find('push').repository;
const example = (name: string, pick?: (payload: Payload) => boolean): Payload => ({
  ...find(name, pick),
  repository: REPOSITORY,
});
/** A push to a branch (the examples also hold tag pushes and deletions). */
const pushEvent = (after: string): JobRequest['event'] => {
  const payload = example('push', (p) => String(p.ref).startsWith('refs/heads/') && p.deleted === false);
  return { name: 'push', payload: { ...payload, ref: 'refs/heads/main', after } };
};
const PULL = example('pull_request', (p) => p.action === 'opened');
const PUSHED = ['1111aaaa', '2222bbbb'].map((fill) => fill.repeat(5));

let stack: LocalStack;
let kserveCluster: FakeKube;
let registry: TestRegistry;
let azureml: FakeAzureMl;
let front: CloudFront;
let grafana: FakeGrafana | undefined;
const dirs: Array<{ remove(): void }> = [];
/** The model files of the repository as of a push: each push carries a new version. */
let modelVersion = '1.0.0';

beforeAll(async () => {
  [stack, kserveCluster, azureml] = await Promise.all([
    startLocalStack({ 'churn-scorer': {}, 'fraud-detector': { ERROR_RATE: 0.05 }, 'ltv-forecaster': {} }, 50, {
      seedCluster: false,
    }),
    startFakeKubeApiServer({ readyDelayMs: 100, tickMs: 25 }),
    startFakeAzureMl(),
  ]);
  registry = await startRegistry({ auth: 'token', aadToken: azureml.armToken });
  azureml.addWorkspaceModel({
    ...AZURE,
    name: 'churn-scorer',
    version: '7',
    files: {
      'model-settings.json': Buffer.from('{"name":"churn-scorer","implementation":"mlserver_sklearn.SKLearnModel"}'),
      'model.joblib': Buffer.alloc(40_000, 7),
    },
  });
  const tokenServer = registry.tokenServer!;
  front = await startCloudFront([
    { host: '*.azurecr.io', to: (_, path) => `${path.startsWith('/oauth2/') ? tokenServer.url : registry.url}${path}` },
    { host: 'management.azure.com', to: (_, path) => `${azureml.url}${path}` },
    { host: '*.blob.core.windows.net', to: (host, path) => `${azureml.blob.url}/${host.split('.')[0]}${path}` },
  ]);
  for (const base of ['serving/model-server:2', 'serving/churn-scorer-server:1', 'seldonio/mlserver:1.7.1']) {
    const dir = tempDir('base-image');
    dirs.push(dir);
    await pushBaseImageAsync(dir.path, `${registry.host}/${base}`, { creds: 'tester:secret' });
  }
  for (const sha of PUSHED) stack.github.pullsByCommit.set(sha, [{ number: 41, state: 'closed', headSha: sha }]);
});

afterAll(async () => {
  await Promise.all([stack?.stop(), kserveCluster?.stop(), registry?.stop(), azureml?.close(), front?.stop()]);
  for (const dir of dirs) dir.remove();
});

/** The repository as checked out: this repository's examples, and a `models/` folder per model of the matrix. */
function checkout(workspace: string): void {
  mkdirSync(join(workspace, 'workflows-examples'), { recursive: true });
  cpSync(SAMPLE, join(workspace, SAMPLE), { recursive: true });
  const model = JSON.parse(readFileSync(join(SAMPLE, 'model/model.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(workspace, SAMPLE, 'model/model.json'), JSON.stringify({ ...model, version: modelVersion }));
  for (const name of ['churn-scorer', 'fraud-detector', 'ltv-forecaster']) {
    const folder = join(workspace, 'models', name);
    mkdirSync(join(folder, 'k8s'), { recursive: true });
    mkdirSync(join(folder, 'model'), { recursive: true });
    for (const file of ['deployment.yaml', 'service.yaml']) {
      const text = readFileSync(join(SAMPLE, 'k8s', file), 'utf8').replaceAll('churn-scorer', name);
      writeFileSync(join(folder, 'k8s', file), text);
    }
    writeFileSync(join(folder, 'model', 'model.json'), JSON.stringify({ ...model, name, version: modelVersion }));
  }
}

function world(kubeconfig = stack.kube.kubeconfigPath, env: Record<string, string> = {}): RunnerWorld {
  return {
    checkout,
    kubeconfig,
    azureTokens: {
      'https://management.azure.com/': azureml.armToken,
      'https://storage.azure.com/': azureml.storageToken,
      '*': 'aad-token-for-prometheus',
    },
    vars: {
      ACR_NAME: ACR,
      AZURE_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
      AZURE_TENANT_ID: '66666666-7777-8888-9999-000000000000',
      AZURE_SUBSCRIPTION_ID: AZURE.subscription,
      AKS_RESOURCE_GROUP: 'rg-aks',
      AKS_CLUSTER: 'aks-prod',
      PROMETHEUS_QUERY_URL: stack.prometheus.url,
      AZUREML_WORKSPACE: AZURE.workspace,
      AZUREML_RESOURCE_GROUP: AZURE.resourceGroup,
      GRAFANA_URL: grafana?.url ?? '',
    },
    secrets: { GRAFANA_TOKEN: 'glsa_workflowtest_0123456789' },
    env: { GITHUB_API_URL: stack.github.url, ...front.env, ...env },
  };
}

const run = (
  file: string,
  request: JobRequest,
  kubeconfig?: string,
  env: Record<string, string> = {},
): Promise<JobRun> => runWorkflowJob(`workflows-examples/${file}`, world(kubeconfig, env), request);
const dispatch = (file: string, inputs: Record<string, string>, runId?: number): Promise<JobRun> =>
  run(file, { event: { name: 'workflow_dispatch', payload: example('workflow_dispatch') }, inputs, runId });

const object = (kind: string, name: string, apiVersion = 'apps/v1', kube = stack.kube) =>
  kube.object(apiVersion, kind, NAMESPACE, name) as any;
const imageOf = (name: string) => object('Deployment', name)?.spec.template.spec.containers[0].image as string;
const history = (model: string) =>
  JSON.parse(object('ConfigMap', `model-canary-${model}-history`, 'v1').data['history.json']) as Array<{
    revision: number;
    image: string;
    verdict: string;
  }>;
const commentOn = (pr: number, model: string) =>
  stack.github.comments.find((c) => c.issue === pr && c.body.includes(`model-canary:${NAMESPACE}/${model}`));
const digestRef = (repository: string) => new RegExp(`^${ACR}\\.azurecr\\.io/${repository}@sha256:[0-9a-f]{64}$`);

/** Polls until `done` holds: tests wait for states, never for durations. */
async function until(done: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('state not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the example workflows, as copied, run the way GitHub runs them', () => {
  it('plan-on-pr.yml on a pull request: the plan is in the job summary and kept as an artifact', async () => {
    const job = await run('plan-on-pr.yml', { event: { name: 'pull_request', payload: PULL } });
    // Third-party actions are pinned to commit SHAs; the label is the action without its pin.
    const unpinned = (label: string) => label.replace(/@[0-9a-f]{40}$/, '');
    expect(job.steps.map((step) => `${unpinned(step.label)}: ${step.conclusion}`)).toEqual([
      'actions/checkout: success',
      'plan: success',
      'Keep the plan: success',
      'actions/upload-artifact: success',
    ]);
    const plan = JSON.parse(job.artifacts['churn-scorer-plan'] ?? '{}');
    expect(plan.steps.map((step: { weight: number }) => step.weight)).toEqual([10, 25, 50, 100]);
    expect(job.summary).toContain('churn-scorer');
    expect(job.summary).toMatch(/\|\s*10%/);
    expect(job.posts.map((post) => post.conclusion)).toEqual(['success']);
  });

  it('registered-model.yml, dispatched with version 7: the first rollout of churn-scorer from Azure ML', async () => {
    const job = await dispatch('registered-model.yml', { version: '7' });
    expect(job.step('rollout').stdout).not.toMatch(/::error/);
    expect(job.conclusion).toBe('success');
    expect(job.step('rollout').outputs).toMatchObject({ 'model-version': '7' });
    expect(imageOf('churn-scorer')).toMatch(digestRef('models/churn-scorer'));
    expect(imageOf('churn-scorer')).toBe(job.step('rollout').outputs.image);
    expect(object('Service', 'churn-scorer', 'v1')).toBeDefined();
    expect(job.step('Verdict').stdout).toContain(`churn-scorer model version 7 (${imageOf('churn-scorer')})`);
    expect(front.requests.some((line) => line.startsWith('management.azure.com GET /subscriptions/'))).toBe(true);
  });

  it('multi-model.yml on a push: two models of the matrix, in parallel, each its first rollout', async () => {
    const event = pushEvent(PUSHED[0]!);
    const jobs = await Promise.all(
      ['fraud-detector', 'ltv-forecaster'].map((name) =>
        run('multi-model.yml', { event, matrix: (entry) => (entry.model as { name: string }).name === name }),
      ),
    );
    for (const [index, name] of ['fraud-detector', 'ltv-forecaster'].entries()) {
      const job = jobs[index]!;
      expect(job.step('rollout').stdout).not.toMatch(/::error/);
      expect(job.conclusion).toBe('success');
      expect(imageOf(name)).toMatch(digestRef(`models/${name}`));
      expect(object('Service', name, 'v1')).toBeDefined();
      expect(history(name)).toHaveLength(1);
      expect(job.step('Verdict').stdout).toContain(`${name}: promoted`);
    }
  });

  it('multi-model.yml on the next push: a canary with 5% errors is rolled back at the first look', async () => {
    await stack.focus('fraud-detector');
    modelVersion = '1.1.0';
    const stable = imageOf('fraud-detector');
    const job = await run('multi-model.yml', {
      event: pushEvent(PUSHED[1]!),
      matrix: (entry) => (entry.model as { name: string }).name === 'fraud-detector',
    });
    expect(job.conclusion).toBe('failure');
    expect(job.step('rollout').exitCode).toBe(1);
    expect(job.step('rollout').outputs.verdict).toBe('rolled-back');
    expect(job.step('Verdict').stdout).toContain('fraud-detector: rolled-back');
    expect(imageOf('fraud-detector')).toBe(stable);
    expect(object('Deployment', 'fraud-detector-canary')).toBeUndefined();
    expect(commentOn(41, 'fraud-detector')?.body).toMatch(/rolled back/i);
    expect(job.posts.map((post) => post.conclusion)).toEqual(['success']);
  });

  it('manual-rollback.yml, action promote: a person promotes the running churn-scorer canary from the Actions tab', async () => {
    await stack.focus('churn-scorer');
    modelVersion = '1.2.0';
    const deploying = run('multi-model.yml', {
      event: pushEvent(PUSHED[1]!),
      matrix: (entry) => (entry.model as { name: string }).name === 'churn-scorer',
    });
    await until(
      () =>
        object('Deployment', 'churn-scorer-canary') !== undefined &&
        object('Lease', 'model-canary-churn-scorer', 'coordination.k8s.io/v1') !== undefined,
    );
    const manual = await dispatch('manual-rollback.yml', { model: 'churn-scorer', action: 'promote' }, 9200);
    expect(manual.step('act').stdout).not.toMatch(/::error/);
    expect(manual.step('act').outputs.verdict).toBe('promoted');
    expect(manual.step('Result').stdout).toContain('promote churn-scorer -> promoted');
    const deployed = await deploying;
    expect(deployed.conclusion).toBe('success');
    expect(deployed.step('rollout').outputs.verdict).toBe('promoted');
    expect(imageOf('churn-scorer')).toBe(deployed.step('rollout').outputs.image);
    expect(object('Deployment', 'churn-scorer-canary')).toBeUndefined();
    expect(commentOn(41, 'churn-scorer')?.body).toContain(
      'promoted by hand by octocat from https://github.com/Codertocat/Hello-World/actions/runs/9200',
    );
  });

  it('manual-rollback.yml, action abort: a person stops the running ltv-forecaster canary; stable stays', async () => {
    await stack.focus('ltv-forecaster');
    const stable = imageOf('ltv-forecaster');
    const deploying = run('multi-model.yml', {
      event: pushEvent(PUSHED[1]!),
      matrix: (entry) => (entry.model as { name: string }).name === 'ltv-forecaster',
    });
    await until(() => object('Deployment', 'ltv-forecaster-canary') !== undefined);
    const manual = await dispatch('manual-rollback.yml', { model: 'ltv-forecaster', action: 'abort' }, 9300);
    expect(manual.step('act').stdout).not.toMatch(/::error/);
    expect(manual.step('act').outputs.verdict).toBe('aborted');
    const deployed = await deploying;
    expect(deployed.step('rollout').outputs.verdict).toBe('aborted');
    expect(deployed.step('Verdict').stdout).toContain('ltv-forecaster: aborted');
    expect(imageOf('ltv-forecaster')).toBe(stable);
    expect(object('Deployment', 'ltv-forecaster-canary')).toBeUndefined();
    expect(commentOn(41, 'ltv-forecaster')?.body).toContain('aborted by hand by octocat');
    expect(history('ltv-forecaster').at(-1)?.verdict).toBe('aborted');
  });

  it('manual-rollback.yml, action rollback: back to the previous revision, and the History step shows it', async () => {
    const [first, promoted] = history('churn-scorer');
    expect(promoted?.verdict).toBe('promoted');
    const job = await dispatch('manual-rollback.yml', { model: 'churn-scorer', action: 'rollback' });
    expect(job.conclusion).toBe('success');
    expect(job.step('act').outputs.verdict).toBe('rolled-back');
    expect(imageOf('churn-scorer')).toBe(first!.image);
    expect(job.step('History').stdout).toMatch(/history:/);
    expect(history('churn-scorer').map((record) => record.verdict)).toEqual(['promoted', 'promoted', 'rolled-back']);
    expect(job.step('Result').stdout).toMatch(/rollback churn-scorer -> rolled-back \(revision \d+\)/);
  });

  it('kserve.yml on a push: the InferenceService goes out as the first revision, image by digest', async () => {
    const job = await run('kserve.yml', { event: pushEvent(PUSHED[0]!) }, kserveCluster.kubeconfigPath);
    expect(job.step('rollout').stdout).not.toMatch(/::error/);
    expect(job.conclusion).toBe('success');
    const isvc = object('InferenceService', 'churn-scorer', 'serving.kserve.io/v1beta1', kserveCluster);
    const predictor = isvc?.spec.predictor;
    const image = predictor?.containers?.[0]?.image ?? predictor?.model?.image;
    expect(image).toMatch(digestRef('models/churn-scorer'));
  });

  describe('deploy-on-push.yml, with a Docker daemon', () => {
    let dockerd: TestDockerd;
    let cluster: FakeKube;
    beforeAll(async () => {
      // dockerd reaches contoso.azurecr.io through the front's CONNECT proxy, and skips verifying the front's
      // self-signed certificate (--insecure-registry still tries HTTPS first).
      [dockerd, cluster, grafana] = await Promise.all([
        startDockerd(30000, {
          env: { HTTPS_PROXY: front.proxyUrl, NO_PROXY: '127.0.0.1,localhost' },
          args: [`--insecure-registry=${ACR}.azurecr.io`],
        }),
        startFakeKubeApiServer({ readyDelayMs: 100, tickMs: 25 }),
        startFakeGrafana(),
      ]);
      // The Dockerfile's base, as a local image: nothing can be pulled from the internet here.
      const rootfs = tempDir('node-base');
      dirs.push(rootfs);
      mkdirSync(join(rootfs.path, 'usr/local/bin'), { recursive: true });
      writeFileSync(join(rootfs.path, 'usr/local/bin/node'), '#!/bin/sh\n');
      await promisify(execFile)('sh', ['-c', `tar -C ${rootfs.path} -c . | docker import - node:24-alpine`], {
        env: { ...process.env, ...dockerd.env },
      });
    });
    afterAll(async () => {
      await Promise.all([dockerd?.stop(), cluster?.stop(), grafana?.close()]);
    });

    it('on a push: docker build, pushed to ACR, the first rollout by digest; outputs, comment and Grafana', async () => {
      const job = await run(
        'deploy-on-push.yml',
        { event: pushEvent(PUSHED[0]!) },
        cluster.kubeconfigPath,
        dockerd.env,
      );
      expect(job.step('rollout').stdout).not.toMatch(/::error/);
      expect(job.conclusion).toBe('success');
      const { image, verdict, revision } = job.step('rollout').outputs;
      expect(verdict).toBe('promoted');
      expect(image).toMatch(digestRef('models/churn-scorer'));
      const deployed = object('Deployment', 'churn-scorer', 'apps/v1', cluster);
      expect(deployed?.spec.template.spec.containers[0].image).toBe(image);
      expect(object('Service', 'churn-scorer', 'v1', cluster)).toBeDefined();
      expect(job.step('Verdict').stdout).toContain(`churn-scorer revision ${revision} (${image}): promoted`);
      expect(grafana!.annotations.length).toBeGreaterThan(0);
      expect(commentOn(41, 'churn-scorer')?.body).toContain(image);
      expect(front.requests.some((line) => line.includes('PUT /v2/models/churn-scorer/manifests/'))).toBe(true);
    });
  });
});
