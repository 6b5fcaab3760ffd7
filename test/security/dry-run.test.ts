// `dry-run` writes nothing anywhere, for every command: run through the real wiring (createServices, as the CLI and
// the action build it) against the fake Kubernetes API server, the fake counts the writes it was sent (0), no
// reporter hears a word, and the cluster is as it was. Before, `rollback --dry-run` printed "rolled back to revision
// 1" after five writes (Lease, Deployment patch, canary delete, history, Lease).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeCluster } from '../../src/adapters/kubernetes/cluster.js';
import { systemClock } from '../../src/adapters/clock.js';
import { COMMAND_HANDLERS } from '../../src/commands/index.js';
import type { Services } from '../../src/commands/context.js';
import { buildConfig, type Command } from '../../src/core/config.js';
import type { MetricResult, MetricSource, Report } from '../../src/core/ports.js';
import { createServices } from '../../src/wiring.js';
import { startFakeKubeApiServer, type FakeKube } from '../support/fake-kube-apiserver.js';
import { tempDir } from '../support/local.js';
import { CLI_ENTRY } from '../support/runner.js';

const NAMESPACE = 'ml';
const MODEL = 'churn-scorer';
const image = (fill: string) => `contoso.azurecr.io/models/churn-scorer@sha256:${fill.repeat(64)}`;
const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const healthy: MetricSource = {
  async query(promql) {
    const seconds = Number(/\[(\d+)s\]/.exec(promql)?.[1] ?? 60);
    const value = promql.includes(' / ') ? 0.01 : promql.includes('code=~') ? 100 * seconds * 0.01 : 100 * seconds;
    return { state: 'ok', samples: [{ labels: {}, value }] } satisfies MetricResult;
  },
};

let fake: FakeKube;
let repo: { path: string; remove(): void };
const ROLLOUT = {
  manifests: 'k8s/',
  'prometheus-url': 'http://127.0.0.1:9',
  steps: '100',
  interval: '2s',
  'look-every': '1s',
  'scrape-interval': '1s',
  gates: '- name: error-rate\n  max: 0.05',
};

/** The seeding runs: real writes, a healthy canary. */
async function seedRun(command: Command, inputs: Record<string, string>): Promise<void> {
  const config = buildConfig({}, { command, kubeconfig: fake.kubeconfigPath, ...ROLLOUT, ...inputs });
  const cluster = KubeCluster.fromOptions({ kubeconfigPath: fake.kubeconfigPath });
  const services: Services = {
    cluster: () => cluster,
    metrics: () => healthy,
    reporter: { publish: async () => undefined },
    run: { holder: 'seed' },
    mask: () => undefined,
  };
  await COMMAND_HANDLERS[command]({ config, logger: quiet, clock: systemClock, cwd: repo.path, services });
}

beforeAll(async () => {
  fake = await startFakeKubeApiServer({ readyDelayMs: 20, tickMs: 10 });
  repo = tempDir('dry-run');
  mkdirSync(join(repo.path, 'k8s'));
  mkdirSync(join(repo.path, 'model'));
  writeFileSync(join(repo.path, 'model', 'weights.bin'), 'weights');
  const sample = ['deployment.yaml', 'service.yaml']
    .map((file) => readFileSync(`workflows-examples/sample-model/k8s/${file}`, 'utf8'))
    .join('\n---\n');
  writeFileSync(join(repo.path, 'k8s', 'app.yaml'), sample);
  // Two recorded revisions, then a canary left running: something for every manual command to act on.
  await seedRun('deploy', { image: image('a') });
  await seedRun('deploy', { image: image('b') });
  await seedRun('canary', { image: image('c'), weight: '25' });
}, 60_000);
afterAll(async () => {
  await fake?.stop();
  repo?.remove();
});

const DRY_RUNS: Array<[Command, Record<string, string>]> = [
  ['plan', { ...ROLLOUT, image: image('d') }],
  ['deploy', { ...ROLLOUT, image: image('d') }],
  ['canary', { ...ROLLOUT, image: image('d') }],
  ['build', { registry: 'contoso.azurecr.io', repository: 'models/churn-scorer', builder: 'oci', 'model-path': 'model', 'base-image': 'contoso.azurecr.io/serving/base:1' }],
  ['analyze', { ...ROLLOUT, image: image('c') }],
  ['promote', { model: MODEL, namespace: NAMESPACE }],
  ['abort', { model: MODEL, namespace: NAMESPACE }],
  ['rollback', { model: MODEL, namespace: NAMESPACE, 'to-revision': 'previous' }],
  ['status', { model: MODEL, namespace: NAMESPACE }],
]; // prettier-ignore

const writes = () => fake.requests.filter((request) => request.method !== 'GET').length;
/** What a user would look at: each Deployment's spec (the controller's status updates aside). */
const state = () =>
  JSON.stringify(
    fake
      .objects('apps/v1', 'Deployment', NAMESPACE)
      .map((d) =>
        [d.metadata, d.spec].map((x) => ({ ...(x as object), resourceVersion: undefined, managedFields: undefined })),
      ),
  );

describe('dry-run writes nothing anywhere', () => {
  it.each(DRY_RUNS)(
    '%s --dry-run: 0 writes to the cluster, nothing reported, the cluster unchanged',
    async (command, inputs) => {
      const config = buildConfig({}, { command, kubeconfig: fake.kubeconfigPath, ...inputs, 'dry-run': 'true' });
      const published: Report[] = [];
      const services = createServices(config, {
        logger: quiet,
        mask: () => undefined,
        run: { holder: 'dry' },
        reporters: [{ publish: async (report) => void published.push(report) }],
      });
      const before = { writes: writes(), state: state() };
      const result = await COMMAND_HANDLERS[command]({
        config,
        logger: quiet,
        clock: systemClock,
        cwd: repo.path,
        services,
      }).catch((error: Error) => error);
      expect(writes() - before.writes).toBe(0);
      expect(published).toEqual([]);
      expect(state()).toBe(before.state);
      if (['promote', 'abort', 'rollback'].includes(command)) {
        expect(result).not.toBeInstanceOf(Error);
        expect((result as { report: Report }).report).toMatchObject({ verdict: 'planned' });
        expect((result as { report: Report }).report.reason).toMatch(/^dry run: would /);
      }
    },
  );

  it('build --dry-run with a model-source resolves the version but downloads nothing and leaves the tree alone', async () => {
    const config = buildConfig({}, {
      command: 'build', registry: 'contoso.azurecr.io', repository: 'models/churn-scorer', builder: 'docker',
      'model-source': 'models:/churn/3', 'mlflow-tracking-uri': 'http://127.0.0.1:9', 'dry-run': 'true',
    }); // prettier-ignore
    const downloads: string[] = [];
    const services: Services = {
      ...createServices(config, { logger: quiet, mask: () => undefined, run: { holder: 'dry' } }),
      modelSources: () => ({
        resolve: async () => ({
          name: 'churn',
          version: '3',
          files: [{ path: 'model.pkl', url: 'http://x/model.pkl', size: 9 }],
        }),
        download: async (files: { path: string }[]) => {
          downloads.push(...files.map((file) => file.path));
          return [];
        },
      }),
    } as unknown as Services;
    const lines: string[] = [];
    const logger = { ...quiet, info: (line: string) => void lines.push(line) };
    await COMMAND_HANDLERS.build({ config, logger, clock: systemClock, cwd: repo.path, services });
    expect(downloads).toEqual([]);
    expect(lines.join('\n')).toMatch(/dry run: would download model-source models:\/churn\/3 \(1 file/);
    expect(readFileSync(join(repo.path, 'model', 'weights.bin'), 'utf8')).toBe('weights');
  });

  it('the cluster adapter itself refuses a write in a dry run, whatever the command forgot', async () => {
    const config = buildConfig(
      {},
      { command: 'status', kubeconfig: fake.kubeconfigPath, ...ROLLOUT, 'dry-run': 'true' },
    );
    const services = createServices(config, { logger: quiet, mask: () => undefined, run: { holder: 'dry' } });
    const before = writes();
    await expect(
      services.cluster().delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NAMESPACE, name: MODEL }),
    ).rejects.toThrow('dry run: refused to delete Deployment ml/churn-scorer');
    expect(writes()).toBe(before);
  });

  it('rollback --dry-run through the CLI as a user types it: says what it would do, changes nothing', async () => {
    const before = { writes: writes(), state: state() };
    const run = await promisify(execFile)(
      process.execPath,
      [CLI_ENTRY, 'rollback', '--model', MODEL, '--namespace', NAMESPACE, '--to-revision', 'previous', '--dry-run'],
      { cwd: repo.path, env: { ...process.env, KUBECONFIG: fake.kubeconfigPath }, encoding: 'utf8' },
    );
    expect(run.stdout).toMatch(/dry run: would roll back to revision \d+ .*nothing was changed/);
    expect(writes()).toBe(before.writes);
    expect(state()).toBe(before.state);
  });
});
