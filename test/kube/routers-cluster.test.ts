import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeCluster } from '../../src/adapters/kubernetes/cluster.js';
import type { RouterName } from '../../src/core/routers/index.js';
import { applyStep, ClusterTrafficRouter, rollback } from '../../src/engine/rollout-cluster.js';
import { runClusterRollout } from '../../src/engine/run-cluster.js';
import type { FakeKube } from '../support/fake-kube-apiserver.js';
import type { JsonObject } from '../support/fake-kube/fields.js';
import { buildTarget, existingObjects, NEW_IMAGE, OLD_IMAGE } from '../support/kube-target.js';
import { eventually, fakeCluster, imagesOf, rolloutOptions } from './harness.js';

let fake: FakeKube;
let cluster: KubeCluster;
beforeAll(async () => ({ fake, cluster } = await fakeCluster()));
afterAll(() => fake.stop());

const get =
  (path: string) =>
  (object: JsonObject | undefined): unknown =>
    path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], object);

/** How each router shows the canary's share in the objects it stores. */
const canaryShare: Record<Exclude<RouterName, 'replicas'>, (fake: FakeKube, ns: string, model: string) => unknown> = {
  smi: (f, ns, m) =>
    (
      get('spec.backends')(f.object('split.smi-spec.io/v1alpha2', 'TrafficSplit', ns, m)) as
        { weight: number }[] | undefined
    )?.[1]?.weight,
  'gateway-api': (f, ns, m) =>
    (
      get('spec.rules')(f.object('gateway.networking.k8s.io/v1', 'HTTPRoute', ns, m)) as
        { backendRefs: { weight: number }[] }[] | undefined
    )?.[0]?.backendRefs[1]?.weight,
  istio: (f, ns, m) =>
    (
      get('spec.http')(f.object('networking.istio.io/v1', 'VirtualService', ns, m)) as
        { route: { weight: number }[] }[] | undefined
    )?.[0]?.route[1]?.weight,
  nginx: (f, ns, m) =>
    Number(
      get('metadata.annotations')(f.object('networking.k8s.io/v1', 'Ingress', ns, `${m}-canary`)) &&
        (
          get('metadata.annotations')(f.object('networking.k8s.io/v1', 'Ingress', ns, `${m}-canary`)) as Record<
            string,
            string
          >
        )['nginx.ingress.kubernetes.io/canary-weight'],
    ),
  kserve: (f, ns, m) =>
    get('spec.predictor.canaryTrafficPercent')(f.object('serving.kserve.io/v1beta1', 'InferenceService', ns, m)),
};

const stableKind = (router: RouterName): [string, string] =>
  router === 'kserve' ? ['serving.kserve.io/v1beta1', 'InferenceService'] : ['apps/v1', 'Deployment'];

describe.each(['replicas', 'smi', 'gateway-api', 'istio', 'nginx', 'kserve'] as RouterName[])(
  'router %s against the fake API server',
  (router) => {
    it('applies the canary, steps the weights, and promotes', async () => {
      const namespace = `promote-${router}`;
      const target = buildTarget({ router, namespace });
      fake.seed(existingObjects(target) as JsonObject[]);
      const seen: unknown[] = [];
      const result = await runClusterRollout(
        cluster,
        target,
        [10, 50],
        { ...rolloutOptions(router), revision: 3 },
        async (weight) => {
          if (router === 'replicas') {
            const canary = fake.object('apps/v1', 'Deployment', namespace, 'churn-canary');
            const stable = fake.object('apps/v1', 'Deployment', namespace, 'churn');
            seen.push([weight, get('spec.replicas')(stable), get('spec.replicas')(canary)]);
          } else {
            seen.push([weight, canaryShare[router](fake, namespace, 'churn')]);
          }
          return { pass: true };
        },
      );
      expect(result.verdict).toBe('promoted');
      expect(seen).toEqual(
        router === 'replicas'
          ? [
              [10, 3, 1],
              [50, 2, 2],
            ]
          : [
              [10, 10],
              [50, 50],
            ],
      );
      const stable = fake.object(...stableKind(router), namespace, 'churn');
      expect(imagesOf(stable)).toEqual([NEW_IMAGE]);
      // An InferenceService's number is the history's (a changed annotation would be one more Knative revision).
      if (router === 'kserve')
        expect(get('metadata.annotations')(stable)).not.toHaveProperty(['model-canary.io/revision']);
      else expect(get('metadata.annotations')(stable)).toMatchObject({ 'model-canary.io/revision': '3' });
      expect(fake.object('apps/v1', 'Deployment', namespace, 'churn-canary')).toBeUndefined();
      if (router === 'kserve') expect(get('spec.predictor.canaryTrafficPercent')(stable)).toBeUndefined();
      if (router !== 'replicas' && router !== 'kserve') {
        expect(fake.object('v1', 'Service', namespace, 'churn-canary')).toBeUndefined();
        expect(get('spec.selector')(fake.object('v1', 'Service', namespace, 'churn'))).toEqual({
          app: 'churn',
          track: 'stable',
        });
      }
      if (router === 'kserve') return;
      // Stable's pods all run the new image; the canary's are garbage collected (deletion propagates in the background).
      const pods = await eventually(
        () => fake.objects('v1', 'Pod', namespace),
        (list) => list.length === 4,
      );
      expect(pods.length).toBe(4);
      expect(pods.flatMap((pod) => (get('spec.containers')(pod) as { image: string }[]).map((c) => c.image))).toEqual(
        Array(4).fill(NEW_IMAGE),
      );
    });

    it('rolls back: all traffic to stable first, then the canary objects removed', async () => {
      const namespace = `rollback-${router}`;
      const target = buildTarget({ router, namespace });
      fake.seed(existingObjects(target) as JsonObject[]);
      const step = await applyStep(cluster, target, 25, rolloutOptions(router));
      expect(step.ready).toBe(true);
      if (router !== 'replicas') expect(canaryShare[router](fake, namespace, 'churn')).toBe(25);
      const result = await rollback(cluster, target, rolloutOptions(router));
      expect(result.ready).toBe(true);
      const stable = fake.object(...stableKind(router), namespace, 'churn');
      expect(imagesOf(stable)).toEqual([OLD_IMAGE]);
      expect(fake.object('apps/v1', 'Deployment', namespace, 'churn-canary')).toBeUndefined();
      if (router === 'replicas') expect(get('spec.replicas')(stable)).toBe(4);
      if (router === 'smi')
        expect(fake.object('split.smi-spec.io/v1alpha2', 'TrafficSplit', namespace, 'churn')).toBeUndefined();
      if (router === 'nginx')
        expect(fake.object('networking.k8s.io/v1', 'Ingress', namespace, 'churn-canary')).toBeUndefined();
      if (router === 'kserve') {
        expect(get('spec.predictor.canaryTrafficPercent')(stable)).toBeUndefined();
        // The recorded predictor stays (changing it would be a revision of its own) but counts no more.
        expect(get('metadata.annotations')(stable)).toHaveProperty(['model-canary.io/previous-predictor']);
      }
    });
  },
);

describe('replicas router with an HPA', () => {
  it('sizes the canary from the HPA-scaled stable and never writes stable spec.replicas', async () => {
    const namespace = 'hpa';
    const target = buildTarget({ namespace, hpa: true, replicas: 2 });
    fake.seed(existingObjects(target) as JsonObject[]);
    fake.scaleAsHpa(namespace, 'churn', 10);
    const step = await applyStep(cluster, target, 20, rolloutOptions('replicas'));
    expect(step.ready).toBe(true);
    expect(get('spec.replicas')(fake.object('apps/v1', 'Deployment', namespace, 'churn-canary'))).toBe(2);
    const stable = fake.object('apps/v1', 'Deployment', namespace, 'churn');
    expect(get('spec.replicas')(stable)).toBe(10);
    const owners = (
      get('metadata.managedFields')(stable) as { manager: string; fieldsV1: { 'f:spec'?: Record<string, unknown> } }[]
    )
      .filter((m) => m.fieldsV1['f:spec'] && 'f:replicas' in m.fieldsV1['f:spec'])
      .map((m) => m.manager);
    expect(owners).toEqual(['horizontal-pod-autoscaler']);
    await rollback(cluster, target, rolloutOptions('replicas'));
    expect(get('spec.replicas')(fake.object('apps/v1', 'Deployment', namespace, 'churn'))).toBe(10);
  });
});

describe('ClusterTrafficRouter (the TrafficRouter port)', () => {
  it('setWeight steps the canary, a canary that cannot start throws with the reason, reset rolls back', async () => {
    const namespace = 'port';
    const target = buildTarget({ router: 'istio', namespace });
    fake.seed(existingObjects(target) as JsonObject[]);
    const router = new ClusterTrafficRouter(cluster, target, rolloutOptions('istio'));
    expect(router.describe()).toBe('istio router for Deployment port/churn');
    await router.setWeight(40);
    expect(canaryShare.istio(fake, namespace, 'churn')).toBe(40);
    await router.reset();
    expect(fake.object('apps/v1', 'Deployment', namespace, 'churn-canary')).toBeUndefined();
    // The VirtualService model-canary made (the manifests had none) is drained, then deleted.
    expect(fake.object('networking.istio.io/v1', 'VirtualService', namespace, 'churn')).toBeUndefined();
    const broken = new ClusterTrafficRouter(
      cluster,
      buildTarget({ router: 'istio', namespace, image: 'r/bad-pull@sha256:0' }),
      rolloutOptions('istio'),
    );
    await expect(broken.setWeight(10)).rejects.toThrow(/not ready at 10%: ImagePullBackOff/);
    await broken.reset();
  });
});
