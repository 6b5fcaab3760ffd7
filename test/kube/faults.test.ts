// HTTP faults at every API call, through the real Kubernetes adapter against the fake API server: a 500, a 409, a 429
// and a dropped connection are each absorbed by the adapter's retries (the rollout still ends promoted or rolled back,
// never half-way), and a run killed between any two calls converges when re-run. The cluster engine is driven here
// directly; the commands themselves (deploy, promote, abort, rollback) under faults at every cluster call are
// test/engine/command-faults.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeCluster } from '../../src/adapters/kubernetes/cluster.js';
import type { RolloutTarget } from '../../src/core/target.js';
import { applyStep, rollback } from '../../src/engine/rollout-cluster.js';
import { runClusterRollout } from '../../src/engine/run-cluster.js';
import type { FakeKube, FaultKind } from '../support/fake-kube-apiserver.js';
import type { JsonObject } from '../support/fake-kube/fields.js';
import { buildTarget, existingObjects, NEW_IMAGE, OLD_IMAGE } from '../support/kube-target.js';
import { clock, fakeCluster, imagesOf, rolloutOptions } from './harness.js';

let fake: FakeKube;
beforeAll(async () => ({ fake } = await fakeCluster({ readyDelayMs: 5, tickMs: 3 })));
afterAll(() => fake.stop());
afterEach(() => fake.clearFaults());

const ROUTER = 'smi' as const;
let runs = 0;
/** A fresh adapter each time, as a new job would start: its discovery calls are part of the run too. */
const newCluster = (): KubeCluster =>
  KubeCluster.fromOptions({
    kubeconfigPath: fake.kubeconfigPath,
    pollMs: 5,
    clock,
    retry: { baseDelayMs: 1, attempts: 3 },
  });

function freshTarget(): RolloutTarget {
  fake.reset();
  const target = buildTarget({ router: ROUTER, namespace: `faults-${++runs}`, replicas: 2 });
  fake.seed(existingObjects(target) as JsonObject[]);
  return target;
}

const stableImages = (t: RolloutTarget) => imagesOf(fake.object('apps/v1', 'Deployment', t.namespace, t.model));
const canaryLeft = (t: RolloutTarget) =>
  [
    fake.object('apps/v1', 'Deployment', t.namespace, `${t.model}-canary`),
    fake.object('v1', 'Service', t.namespace, `${t.model}-canary`),
    fake.object('split.smi-spec.io/v1alpha2', 'TrafficSplit', t.namespace, t.model),
  ].filter(Boolean).length;

const rollout = (target: RolloutTarget) => runClusterRollout(newCluster(), target, [50], rolloutOptions(ROUTER));

/** API calls a clean run makes (the number of places a fault can land). */
async function callsOf(
  run: (target: RolloutTarget) => Promise<unknown>,
  prepare?: (t: RolloutTarget) => Promise<void>,
): Promise<number> {
  const target = freshTarget();
  await prepare?.(target);
  const before = fake.requests.length;
  await run(target);
  return fake.requests.length - before;
}

const KINDS: FaultKind[] = [500, 409, 429, 'drop'];

describe('faults during a rollout', () => {
  it.each(KINDS)('a %s at every API call is retried and the rollout still ends promoted', async (kind) => {
    const calls = await callsOf(rollout);
    expect(calls).toBeGreaterThan(10);
    for (let n = 1; n <= calls; n++) {
      const target = freshTarget();
      fake.addFault({ nth: n, kind });
      const result = await rollout(target);
      fake.clearFaults();
      expect([n, result.verdict]).toEqual([n, 'promoted']);
      expect([n, stableImages(target), canaryLeft(target)]).toEqual([n, [NEW_IMAGE], 0]);
    }
  });

  it('a run killed between any two API calls converges when re-run', async () => {
    const calls = await callsOf(rollout);
    let killed = 0;
    for (let n = 1; n < calls; n++) {
      const target = freshTarget();
      const base = fake.requests.length;
      fake.addFault({ kind: 500, match: (r) => r.n > base + n });
      // Poll counts vary with timing, so a late kill may find the run already done: that is fine too.
      if (
        await rollout(target).then(
          () => false,
          () => true,
        )
      )
        killed++;
      fake.clearFaults();
      const result = await rollout(target);
      expect([n, result.verdict, stableImages(target), canaryLeft(target)]).toEqual([n, 'promoted', [NEW_IMAGE], 0]);
    }
    expect(killed).toBeGreaterThan(calls / 2);
  });
});

describe('faults during a roll back', () => {
  const canaryUp = async (target: RolloutTarget): Promise<void> => {
    expect((await applyStep(newCluster(), target, 25, rolloutOptions(ROUTER))).ready).toBe(true);
  };
  const back = (target: RolloutTarget) => rollback(newCluster(), target, rolloutOptions(ROUTER));

  it.each(KINDS)('a %s at every API call is retried and the roll back still ends wholly on stable', async (kind) => {
    const calls = await callsOf(back, canaryUp);
    for (let n = 1; n <= calls; n++) {
      const target = freshTarget();
      await canaryUp(target);
      fake.addFault({ nth: n, kind });
      await back(target);
      fake.clearFaults();
      expect([n, stableImages(target), canaryLeft(target)]).toEqual([n, [OLD_IMAGE], 0]);
    }
  });

  it('a roll back killed between any two API calls converges when re-run', async () => {
    const calls = await callsOf(back, canaryUp);
    let killed = 0;
    for (let n = 1; n < calls; n++) {
      const target = freshTarget();
      await canaryUp(target);
      const base = fake.requests.length;
      fake.addFault({ kind: 'drop', match: (r) => r.n > base + n });
      if (
        await back(target).then(
          () => false,
          () => true,
        )
      )
        killed++;
      fake.clearFaults();
      await back(target);
      expect([n, stableImages(target), canaryLeft(target)]).toEqual([n, [OLD_IMAGE], 0]);
    }
    expect(killed).toBeGreaterThan(calls / 2);
  });
});
