// Faults at every cluster call of deploy's own engine (runRollout, the live loop included), not a helper: an API
// error that outlived the adapter's retries, a lost write race (409), or the process killed at that call. After each,
// the run itself or a re-run of it ends wholly on one version, and the history's newest record says which.
import { describe, expect, it } from '@jest/globals';
import { ConflictError } from '../../src/core/conflict.js';
import { buildConfig } from '../../src/core/config.js';
import type {
  ApplyOptions,
  Cluster,
  KubeObject,
  MetricResult,
  MetricSource,
  ObjectKey,
  ReadinessResult,
} from '../../src/core/ports.js';
import { runRollout } from '../../src/engine/deploy.js';
import { readHistory } from '../../src/engine/history.js';
import { readRolloutRecord } from '../../src/engine/rollout-record.js';
import { buildTarget, NEW_IMAGE, OLD_IMAGE } from '../support/kube-target.js';
import { imagesOf, MemoryCluster } from '../support/memory-cluster.js';
import { VirtualClock } from '../support/virtual-clock.js';

type Fault = 'api-error' | 'conflict' | 'killed';

/** The cluster as one run sees it: call number `failAt` fails as `fault`; once killed, nothing gets through. */
class FaultyCluster implements Cluster {
  calls = 0;
  private dead = false;
  constructor(
    private readonly inner: Cluster,
    private readonly failAt = 0,
    private readonly fault: Fault = 'api-error',
  ) {}

  private async call<T>(work: () => Promise<T>): Promise<T> {
    this.calls++;
    if (this.dead) throw new Error('the process was killed');
    if (this.calls === this.failAt) {
      if (this.fault === 'killed') {
        this.dead = true;
        throw new Error('the process was killed');
      }
      throw this.fault === 'conflict'
        ? new ConflictError('the object has been modified; please apply your changes to the latest version')
        : new Error('500 Internal Server Error (after retries)');
    }
    return work();
  }

  apply(object: KubeObject, options?: ApplyOptions) {
    return this.call(() => this.inner.apply(object, options));
  }
  get(key: ObjectKey) {
    return this.call(() => this.inner.get(key));
  }
  list(apiVersion: string, kind: string, namespace: string, labelSelector?: string) {
    return this.call(() => this.inner.list(apiVersion, kind, namespace, labelSelector));
  }
  delete(key: ObjectKey) {
    return this.call(() => this.inner.delete(key));
  }
  waitForDeployment(namespace: string, name: string, timeoutMs: number): Promise<ReadinessResult> {
    return this.call(() => this.inner.waitForDeployment(namespace, name, timeoutMs));
  }
}

/** A healthy canary: the same traffic and error rate as stable. */
const healthy: MetricSource = {
  async query(promql) {
    const seconds = Number(/\[(\d+)s\]/.exec(promql)?.[1] ?? 60);
    const value = promql.includes(' / ') ? 0.01 : promql.includes('code=~') ? 100 * seconds * 0.01 : 100 * seconds;
    return { state: 'ok', samples: [{ labels: {}, value }] } satisfies MetricResult;
  },
};

const config = buildConfig(
  {},
  {
    command: 'deploy',
    manifests: 'k8s/',
    image: NEW_IMAGE,
    'prometheus-url': 'http://127.0.0.1:9090',
    steps: '50,100',
    interval: '20s',
    'look-every': '10s',
    'scrape-interval': '5s',
    gates: '- name: error-rate\n  max-increase: 50%\n  min-requests: 100',
  },
);

function deploy(cluster: Cluster, clock: VirtualClock) {
  const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
  return runRollout(
    config,
    buildTarget(),
    { cluster, metrics: healthy, clock, logger: quiet, reporter: { publish: async () => undefined } },
    { holder: 'run-1' },
    'hash',
  );
}

async function seeded(): Promise<MemoryCluster> {
  const cluster = new MemoryCluster();
  await cluster.apply(buildTarget().stable);
  return cluster;
}

/** One version: stable runs one image, no canary is left, and the history's newest record names that image. */
async function onOneVersion(cluster: MemoryCluster): Promise<string | undefined> {
  const stable = imagesOf(cluster.object('apps/v1', 'Deployment', 'ml', 'churn'));
  if (stable.length !== 1) return `stable runs ${stable.join(', ')}`;
  if (cluster.object('apps/v1', 'Deployment', 'ml', 'churn-canary')) return 'a canary Deployment is left';
  const last = (await readHistory(cluster, 'churn', 'ml')).at(-1);
  if (!last) return 'no history record';
  const expected = last.verdict === 'promoted' ? NEW_IMAGE : OLD_IMAGE;
  if (stable[0] !== expected) return `history says ${last.verdict} but stable runs ${stable[0]}`;
  const record = await readRolloutRecord(cluster, 'churn', 'ml');
  if (record?.state !== 'finished') return `the rollout record says ${record?.state}`;
  return undefined;
}

describe('deploy survives a fault at any cluster call', () => {
  it('counts the calls of a clean rollout, which is promoted', async () => {
    const cluster = await seeded();
    const counting = new FaultyCluster(cluster);
    const { report } = await deploy(counting, new VirtualClock());
    expect(report.verdict).toBe('promoted');
    expect(counting.calls).toBeGreaterThan(20);
    expect(await onOneVersion(cluster)).toBeUndefined();
  });

  const faults: Fault[] = ['api-error', 'conflict', 'killed'];
  it.each(faults)(
    '%s at every call: the run that finishes ends on one version; one that dies is mended by a re-run',
    async (fault) => {
      const clean = new FaultyCluster(await seeded());
      await deploy(clean, new VirtualClock());
      const problems: string[] = [];
      for (let failAt = 1; failAt <= clean.calls; failAt++) {
        const cluster = await seeded();
        const clock = new VirtualClock();
        const first = await deploy(new FaultyCluster(cluster, failAt, fault), clock).catch((error: Error) => error);
        if (fault !== 'killed' && !(first instanceof Error)) {
          // The run finished: it must have steered itself to one version, whatever failed.
          const problem = await onOneVersion(cluster);
          if (problem)
            problems.push(`${fault} at call ${failAt}: the run ended ${first.report.verdict} but ${problem}`);
          continue;
        }
        // The re-run: the same job again (a killed process leaves its Lease behind until it expires).
        await clock.sleep(61_000);
        const again = await deploy(cluster, clock).catch((error: Error) => error);
        const problem = again instanceof Error ? `re-run failed: ${again.message}` : await onOneVersion(cluster);
        if (problem) problems.push(`${fault} at call ${failAt}: ${problem}`);
      }
      expect(problems).toEqual([]);
    },
  );
});
