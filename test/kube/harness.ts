// Shared set-up for tests against the fake API server: a cluster adapter with fast polls and retries.
import type { Clock } from '../../src/core/ports.js';
import { KubeCluster } from '../../src/adapters/kubernetes/cluster.js';
import type { ClusterRolloutOptions } from '../../src/engine/rollout-cluster.js';
import type { RouterName } from '../../src/core/routers/index.js';
import { startFakeKubeApiServer, type FakeKube, type FakeKubeOptions } from '../support/fake-kube-apiserver.js';

export const clock: Clock = {
  now: () => new Date(),
  monotonicMs: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export async function fakeCluster(options: FakeKubeOptions = {}): Promise<{ fake: FakeKube; cluster: KubeCluster }> {
  const fake = await startFakeKubeApiServer({ readyDelayMs: 15, tickMs: 5, ...options });
  const cluster = KubeCluster.fromOptions({
    kubeconfigPath: fake.kubeconfigPath,
    pollMs: 10,
    clock,
    retry: { baseDelayMs: 1, attempts: 4 },
  });
  return { fake, cluster };
}

export const rolloutOptions = (router: RouterName, timeoutMs = 3000): ClusterRolloutOptions => ({
  router,
  timeoutMs,
  clock,
  pollMs: 10,
});

type Container = { name: string; image: string };
export function imagesOf(object: Record<string, unknown> | undefined): string[] {
  const spec = object?.spec as
    { template?: { spec?: { containers?: Container[] } }; predictor?: { containers?: Container[] } } | undefined;
  return (spec?.template?.spec?.containers ?? spec?.predictor?.containers ?? []).map((c) => c.image);
}

/** Polls `read` until `done` holds (or 2 s pass), then returns the last value for the test to assert on. */
export async function eventually<T>(read: () => T, done: (value: T) => boolean, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = read();
  while (!done(value) && Date.now() < deadline) {
    await clock.sleep(10);
    value = read();
  }
  return value;
}
