// Everything a local rollout needs, on 127.0.0.1: the fake Kubernetes API server, real model servers (a stable and a
// canary per model) under real HTTP load, a real Prometheus scraping them with the contract's labels, and a fake
// GitHub API. Used by the end-to-end test and by `npm run demo`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startFakeGitHub, type FakeGitHub } from './fake-github.js';
import { startFakeKubeApiServer, type FakeKube } from './fake-kube-apiserver.js';
import { generateLoad } from './load-generator.js';
import { sleep, tempDir } from './local.js';
import { startModelServer, type ModelServer, type ModelServerEnv } from './model-server.js';
import { labelledScrapeConfig, startScrapingPrometheus, type ScrapingPrometheus } from './scraping-prometheus.js';

export const NAMESPACE = 'ml';
export const COMMIT = 'f00dfacef00dfacef00dfacef00dfacef00dface';
export const PR_NUMBER = 12;
const SAMPLE_K8S = 'workflows-examples/sample-model/k8s';

export const imageOf = (model: string, fill: string) =>
  `127.0.0.1:5000/models/${model}@sha256:${fill.repeat(64).slice(0, 64)}`;

export interface ModelUnderTest {
  name: string;
  stable: ModelServer;
  canary: ModelServer;
  /** The repository folder holding `k8s/` for this model. */
  repo: string;
  stableImage: string;
}

export interface LocalStack {
  kube: FakeKube;
  prometheus: ScrapingPrometheus;
  github: FakeGitHub;
  models: Record<string, ModelUnderTest>;
  /** Stops the load to one model's servers (a canary that gets no traffic). */
  silence(model: string): void;
  /**
   * Load only on these models' servers: the load generator shares the test process with the fake API servers, and
   * idle models' traffic would slow them on a small machine.
   */
  focus(...models: string[]): Promise<void>;
  stop(): Promise<void>;
}

function manifestsFor(model: string): string {
  return ['deployment.yaml', 'service.yaml']
    .map((file) => readFileSync(join(SAMPLE_K8S, file), 'utf8'))
    .join('\n---\n')
    .replaceAll('churn-scorer', model);
}

/**
 * Starts the stack; `canaries` gives each model's canary behaviour (ERROR_RATE, LATENCY_MS, ...). With `seedCluster`
 * false the cluster starts empty (each model's first rollout is the test's to make); the servers still serve the
 * model's stable and canary tracks.
 */
export async function startLocalStack(
  canaries: Record<string, ModelServerEnv>,
  ratePerSecond = 100,
  { seedCluster = true }: { seedCluster?: boolean } = {},
): Promise<LocalStack> {
  const root = tempDir('stack');
  const kube = await startFakeKubeApiServer({ readyDelayMs: 100, tickMs: 25 });
  const github = await startFakeGitHub();
  github.pullsByCommit.set(COMMIT, [{ number: PR_NUMBER, state: 'open', headSha: COMMIT }]);
  const models: Record<string, ModelUnderTest> = {};
  for (const [name, env] of Object.entries(canaries)) {
    const repo = join(root.path, name);
    mkdirSync(join(repo, 'k8s'), { recursive: true });
    const text = manifestsFor(name);
    writeFileSync(join(repo, 'k8s', 'app.yaml'), text);
    const stableImage = imageOf(name, '1');
    const objects = parseAllDocuments(text.replace(/image: .*/, `image: ${stableImage}`)).map((d) => d.toJS());
    if (seedCluster) kube.seed(objects);
    const [stable, canary] = await Promise.all([
      startModelServer({ SEED: 1, MODEL_VERSION: '1.0.0' }),
      startModelServer({ SEED: 2, MODEL_VERSION: '1.1.0', ...env }),
    ]);
    models[name] = { name, stable, canary, repo, stableImage };
  }
  const targets = Object.values(models).flatMap((m) => [
    { address: new URL(m.stable.url).host, labels: { namespace: NAMESPACE, app: m.name, track: 'stable' } },
    { address: new URL(m.canary.url).host, labels: { namespace: NAMESPACE, app: m.name, track: 'canary' } },
  ]);
  const prometheus = await startScrapingPrometheus(labelledScrapeConfig(targets, 1));

  const loads = new Map<string, AbortController>();
  const running: Promise<unknown>[] = [];
  const startLoad = (model: ModelUnderTest): void => {
    const stop = new AbortController();
    loads.set(model.name, stop);
    running.push(
      generateLoad({
        urls: [`${model.stable.url}/predict`, `${model.canary.url}/predict`],
        ratePerSecond: ratePerSecond * 2,
        durationMs: 15 * 60_000,
        arrival: 'poisson',
        signal: stop.signal,
      }),
    );
  };
  for (const model of Object.values(models)) startLoad(model);
  // Wait for every series to be scraped twice, so rates exist before the first look.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const seen = await prometheus.query('count by (app, track) (http_requests_total)').catch(() => []);
    if (seen.length >= targets.length) break;
    if (Date.now() > deadline)
      throw new Error(`Prometheus did not scrape every model server in time (saw ${seen.length})`);
    await sleep(250);
  }
  await sleep(2000);

  return {
    kube,
    prometheus,
    github,
    models,
    silence: (model) => loads.get(model)?.abort(),
    focus: async (...names) => {
      let started = false;
      for (const model of Object.values(models)) {
        const load = loads.get(model.name);
        if (!names.includes(model.name)) load?.abort();
        else if (!load || load.signal.aborted) {
          startLoad(model);
          started = true;
        }
      }
      // Two scrapes of the restarted servers' traffic, so rates exist before the first look.
      if (started) await sleep(3000);
    },
    stop: async () => {
      for (const stop of loads.values()) stop.abort();
      await Promise.allSettled(running);
      await Promise.allSettled([
        prometheus.stop(),
        kube.stop(),
        github.close(),
        ...Object.values(models).flatMap((m) => [m.stable.stop(), m.canary.stop()]),
      ]);
      root.remove();
    },
  };
}

/** Inputs and environment for the bundled action rolling out `model` on the stack. */
export function deployInputs(stack: LocalStack, model: string, extra: Record<string, string> = {}) {
  return {
    inputs: {
      command: 'deploy',
      manifests: 'k8s/',
      image: imageOf(model, '2'),
      steps: '50,100',
      interval: '3s',
      timeout: '20s',
      'prometheus-url': stack.prometheus.url,
      'github-token': 'ghs_faketoken000000000000000000000000',
      comment: 'true',
      ...extra,
    },
    env: {
      KUBECONFIG: stack.kube.kubeconfigPath,
      GITHUB_API_URL: stack.github.url,
      GITHUB_SHA: COMMIT,
      GITHUB_EVENT_NAME: 'push',
    },
  };
}
