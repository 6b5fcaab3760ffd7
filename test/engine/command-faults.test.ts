// Faults at every cluster call of the commands themselves (the handlers the CLI and the action call: deploy, promote,
// abort, rollback), not a helper: an API error that outlived the adapter's retries, a lost write race (409), or the
// process killed at that call. After each, the run itself or a re-run of the same command ends wholly on one version:
// stable runs the image the history's newest record says, no canary is left, and the rollout record is finished.
// How the adapter turns HTTP 500, 409, 429 and dropped connections into retries or these errors is
// test/kube/faults.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { COMMAND_HANDLERS } from '../../src/commands/index.js';
import { buildConfig, type Command } from '../../src/core/config.js';
import type { Cluster, KubeObject, MetricResult, MetricSource } from '../../src/core/ports.js';
import { readHistory } from '../../src/engine/history.js';
import { readRolloutRecord } from '../../src/engine/rollout-record.js';
import { FaultyCluster, type Fault } from '../support/faulty-cluster.js';
import { tempDir } from '../support/local.js';
import { imagesOf, MemoryCluster } from '../support/memory-cluster.js';
import { VirtualClock } from '../support/virtual-clock.js';

const MODEL = 'churn-scorer';
const NAMESPACE = 'ml';
const image = (fill: string) => `contoso.azurecr.io/models/churn-scorer@sha256:${fill.repeat(64)}`;
const [OLD, NEW, NEWER] = ['a', 'b', 'c'].map(image) as [string, string, string];

/** A healthy canary: the same traffic and error rate as stable. */
const healthy: MetricSource = {
  async query(promql) {
    const seconds = Number(/\[(\d+)s\]/.exec(promql)?.[1] ?? 60);
    const value = promql.includes(' / ') ? 0.01 : promql.includes('code=~') ? 100 * seconds * 0.01 : 100 * seconds;
    return { state: 'ok', samples: [{ labels: {}, value }] } satisfies MetricResult;
  },
};

let repo: { path: string; remove(): void };
let manifests: KubeObject[];
beforeAll(() => {
  repo = tempDir('command-faults');
  mkdirSync(join(repo.path, 'k8s'));
  const sample = ['deployment.yaml', 'service.yaml']
    .map((file) => readFileSync(`workflows-examples/sample-model/k8s/${file}`, 'utf8'))
    .join('\n---\n');
  writeFileSync(join(repo.path, 'k8s', 'app.yaml'), sample);
  manifests = parseAllDocuments(sample.replace(/image: .*/, `image: ${OLD}`)).map((doc) => doc.toJS() as KubeObject);
});
afterAll(() => repo.remove());

const ROLLOUT_INPUTS = {
  manifests: 'k8s/',
  'prometheus-url': 'http://127.0.0.1:9090',
  steps: '50,100',
  interval: '20s',
  'look-every': '10s',
  'scrape-interval': '5s',
  gates: '- name: error-rate\n  max-increase: 50%\n  min-requests: 100',
};
const BY_NAME = { model: MODEL, namespace: NAMESPACE };
const RUN_URL = 'https://github.com/contoso/churn-models/actions/runs/1';

/** Runs a command's handler as the CLI and the action do, with this cluster and clock. */
async function run(command: Command, inputs: Record<string, string>, cluster: Cluster, clock: VirtualClock) {
  const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
  const config = buildConfig({}, { command, ...inputs });
  const services = {
    cluster: () => cluster,
    metrics: () => healthy,
    reporter: { publish: async () => undefined },
    // A re-run of a job is the same workflow run (same URL), another attempt.
    run: { holder: 'contoso/churn-models/actions/runs/1/attempts/1', url: RUN_URL },
    mask: () => undefined,
  };
  return COMMAND_HANDLERS[command]({ config, logger: quiet, clock, cwd: repo.path, services });
}

interface Scenario {
  command: Command;
  inputs: Record<string, string>;
  /** What the cluster holds before the command runs (made without faults). */
  prepare(cluster: MemoryCluster, clock: VirtualClock): Promise<void>;
  /** The verdict the person asked for, once the command (or its re-run) gets through. */
  intended: string;
  /** The stable image each verdict the command may record leaves behind. */
  imageFor: Record<string, string>;
}

const SCENARIOS: Record<string, Scenario> = {
  deploy: {
    command: 'deploy',
    inputs: { ...ROLLOUT_INPUTS, image: NEW },
    prepare: async () => undefined,
    intended: 'promoted',
    imageFor: { promoted: NEW, 'rolled-back': OLD, failed: OLD, inconclusive: OLD },
  },
  promote: {
    command: 'promote',
    inputs: BY_NAME,
    prepare: async (cluster, clock) => void (await run('canary', { ...ROLLOUT_INPUTS, image: NEW }, cluster, clock)),
    intended: 'promoted',
    imageFor: { promoted: NEW },
  },
  abort: {
    command: 'abort',
    inputs: BY_NAME,
    prepare: async (cluster, clock) => void (await run('canary', { ...ROLLOUT_INPUTS, image: NEW }, cluster, clock)),
    intended: 'aborted',
    imageFor: { aborted: OLD },
  },
  rollback: {
    command: 'rollback',
    inputs: { ...BY_NAME, 'to-revision': 'previous' },
    prepare: async (cluster, clock) => {
      await run('deploy', { ...ROLLOUT_INPUTS, image: NEW }, cluster, clock);
      await run('deploy', { ...ROLLOUT_INPUTS, image: NEWER }, cluster, clock);
    },
    intended: 'rolled-back',
    imageFor: { 'rolled-back': NEW },
  },
};

async function prepared(scenario: Scenario): Promise<{ cluster: MemoryCluster; clock: VirtualClock }> {
  const cluster = new MemoryCluster();
  for (const object of manifests) await cluster.apply(object);
  const clock = new VirtualClock();
  await scenario.prepare(cluster, clock);
  return { cluster, clock };
}

/** Undefined when the cluster is wholly on one version and the history says which; else what is wrong. */
async function oneVersionProblem(cluster: MemoryCluster, scenario: Scenario): Promise<string | undefined> {
  const stable = imagesOf(cluster.object('apps/v1', 'Deployment', NAMESPACE, MODEL));
  if (stable.length !== 1) return `stable runs ${stable.join(', ')}`;
  if (cluster.object('apps/v1', 'Deployment', NAMESPACE, `${MODEL}-canary`)) return 'a canary Deployment is left';
  const last = (await readHistory(cluster, MODEL, NAMESPACE)).at(-1);
  if (!last) return 'no history record';
  const expected = scenario.imageFor[last.verdict];
  if (!expected) return `the history's newest verdict is ${last.verdict}`;
  if (stable[0] !== expected) return `history says ${last.verdict} but stable runs ${stable[0]}`;
  const record = await readRolloutRecord(cluster, MODEL, NAMESPACE);
  if (record && record.state !== 'finished') return `the rollout record says ${record.state}`;
  return undefined;
}

describe.each(Object.keys(SCENARIOS))('%s survives a fault at any cluster call', (name) => {
  const scenario = SCENARIOS[name]!;

  it('a clean run: the intended verdict, on one version', async () => {
    const { cluster, clock } = await prepared(scenario);
    const counting = new FaultyCluster(cluster);
    const result = await run(scenario.command, scenario.inputs, counting, clock);
    expect(result.report.verdict).toBe(scenario.intended);
    expect(counting.calls).toBeGreaterThan(3);
    expect(await oneVersionProblem(cluster, scenario)).toBeUndefined();
  });

  const faults: Fault[] = ['api-error', 'conflict', 'killed'];
  it.each(faults)(
    '%s at every call: a run that finishes ends on one version; one that dies is mended by a re-run',
    async (fault) => {
      const clean = await prepared(scenario);
      const counting = new FaultyCluster(clean.cluster);
      await run(scenario.command, scenario.inputs, counting, clean.clock);
      const problems: string[] = [];
      for (let failAt = 1; failAt <= counting.calls; failAt++) {
        const { cluster, clock } = await prepared(scenario);
        const faulty = new FaultyCluster(cluster, failAt, fault);
        const first = await run(scenario.command, scenario.inputs, faulty, clock).catch((error: Error) => error);
        if (fault !== 'killed' && !(first instanceof Error)) {
          // The run finished: it must have steered itself to one version, whatever failed.
          const problem = await oneVersionProblem(cluster, scenario);
          if (problem)
            problems.push(`${fault} at call ${failAt}: the run ended ${first.report.verdict} but ${problem}`);
          continue;
        }
        // The re-run: the same job again, once a killed process's Lease has expired.
        await clock.sleep(61_000);
        const again = await run(scenario.command, scenario.inputs, cluster, clock).catch((error: Error) => error);
        const problem = await oneVersionProblem(cluster, scenario);
        const verdict = (await readHistory(cluster, MODEL, NAMESPACE)).at(-1)?.verdict;
        if (problem) {
          const rerun = again instanceof Error ? `the re-run failed (${again.message})` : 'after the re-run';
          problems.push(`${fault} at call ${failAt}: ${rerun}, ${problem}`);
        } else if (verdict !== scenario.intended && scenario.command !== 'deploy') {
          problems.push(`${fault} at call ${failAt}: the re-run left ${verdict}, not ${scenario.intended}`);
        }
      }
      expect(problems).toEqual([]);
    },
  );
});
