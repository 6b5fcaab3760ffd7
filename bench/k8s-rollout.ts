// A full 4-step rollout (10, 25, 50, 100, then promote) per router against the fake API server: API calls made
// (all, and writes) and wall time. The readiness delay of simulated pods is 20 ms, so time is mostly ours.
import { systemClock as clock } from '../src/adapters/clock.js';
import { KubeCluster } from '../src/adapters/kubernetes/cluster.js';
import { ROUTERS } from '../src/core/routers/index.js';
import { runClusterRollout } from '../src/engine/run-cluster.js';
import { isWrite, startFakeKubeApiServer } from '../test/support/fake-kube-apiserver.js';
import type { JsonObject } from '../test/support/fake-kube/fields.js';
import { buildTarget, existingObjects } from '../test/support/kube-target.js';

export default async function run(args: string[]): Promise<void> {
  const pollMs = Number(args[0] ?? 20);
  const fake = await startFakeKubeApiServer({ readyDelayMs: 20, tickMs: 5 });
  try {
    console.log(`router        api-calls  writes  ms     (4 steps + promote, 4 replicas, poll ${pollMs} ms)`);
    for (const router of ROUTERS) {
      const target = buildTarget({ router, namespace: `bench-${router}` });
      fake.seed(existingObjects(target) as JsonObject[]);
      const cluster = KubeCluster.fromOptions({ kubeconfigPath: fake.kubeconfigPath, pollMs, clock });
      const before = fake.requests.length;
      const started = performance.now();
      const result = await runClusterRollout(cluster, target, [10, 25, 50, 100], {
        router,
        timeoutMs: 10000,
        clock,
        pollMs,
      });
      const ms = Math.round(performance.now() - started);
      const requests = fake.requests.slice(before);
      if (result.verdict !== 'promoted') throw new Error(`${router}: ${JSON.stringify(result)}`);
      console.log(
        `${router.padEnd(13)} ${String(requests.length).padEnd(10)} ${String(requests.filter(isWrite).length).padEnd(7)} ${ms}`,
      );
    }
  } finally {
    await fake.stop();
  }
}
