import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../../src/core/ports.js';
import {
  objectsAtWeight,
  replicasAtWeight,
  routerCleanup,
  ROUTERS,
  type RouterName,
} from '../../src/core/routers/index.js';
import { kserveRevisions, withLivePredictor } from '../../src/core/routers/kserve.js';
import { buildTarget, NEW_IMAGE, OLD_IMAGE } from '../support/kube-target.js';

const find = (objects: KubeObject[], kind: string, name: string): KubeObject | undefined =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);
const labelsMatch = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

type Path = (o: KubeObject | undefined) => unknown;
const at =
  (path: string): Path =>
  (o) =>
    path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);

describe('objectsAtWeight', () => {
  const trafficRouters: [RouterName, string, string, Path][] = [
    [
      'smi',
      'TrafficSplit',
      'churn',
      (o) => (at('spec.backends')(o) as { service: string; weight: number }[]).map((b) => [b.service, b.weight]),
    ],
    [
      'gateway-api',
      'HTTPRoute',
      'churn',
      (o) =>
        (at('spec.rules')(o) as { backendRefs: { name: string; weight: number }[] }[])[0]!.backendRefs.map((b) => [
          b.name,
          b.weight,
        ]),
    ],
    [
      'istio',
      'VirtualService',
      'churn',
      (o) =>
        (at('spec.http')(o) as { route: { destination: { host: string }; weight: number }[] }[])[0]!.route.map((r) => [
          r.destination.host,
          r.weight,
        ]),
    ],
  ];
  it.each(trafficRouters)('%s splits 75/25 between the stable and canary Services', (router, kind, name, split) => {
    const objects = objectsAtWeight(router, buildTarget({ router }), 25);
    expect(split(find(objects, kind, name))).toEqual([
      ['churn', 75],
      ['churn-canary', 25],
    ]);
  });

  it('nginx copies the Ingress as a canary Ingress with the weight, to the canary Service', () => {
    const ingress = find(objectsAtWeight('nginx', buildTarget({ router: 'nginx' }), 30), 'Ingress', 'churn-canary');
    expect(ingress?.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/canary': 'true',
      'nginx.ingress.kubernetes.io/canary-weight': '30',
    });
    expect(JSON.stringify(ingress?.spec)).toContain('"name":"churn-canary"');
  });

  it('kserve sets canaryTrafficPercent and the new image on the predictor, keeping the previous predictor', () => {
    const [isvc] = objectsAtWeight('kserve', buildTarget({ router: 'kserve' }), 10);
    expect(at('spec.predictor.canaryTrafficPercent')(isvc)).toBe(10);
    expect(at('spec.predictor.containers')(isvc)).toEqual([{ name: 'kserve-container', image: NEW_IMAGE }]);
    expect(isvc?.metadata.annotations?.['model-canary.io/previous-predictor']).toContain(OLD_IMAGE);
  });

  it('kserve: the recorded predictor counts only while canaryTrafficPercent is set, so a stale one is harmless', () => {
    const target = buildTarget({ router: 'kserve' });
    const [inFlight] = objectsAtWeight('kserve', target, 10);
    const promoted = routerCleanup('kserve', target, 'promote').stable;
    // Promote drops canaryTrafficPercent and keeps the annotation (a change to it would be a Knative revision).
    expect(at('spec.predictor.canaryTrafficPercent')(promoted)).toBeUndefined();
    expect(promoted.metadata.annotations?.['model-canary.io/previous-predictor']).toBe(
      inFlight?.metadata.annotations?.['model-canary.io/previous-predictor'],
    );
    const predictorImage = (t: ReturnType<typeof buildTarget>) =>
      (at('spec.predictor.containers')(t.stable) as { image: string }[])[0]?.image;
    // The next rollout (image C) after that promote: the stable is the live predictor (NEW), not the stale record (OLD).
    const next = { ...target, image: 'registry.local/models/churn@sha256:' + 'c'.repeat(64) };
    expect(predictorImage(withLivePredictor(next, promoted))).toBe(NEW_IMAGE);
    // A crash mid-rollout (canaryTrafficPercent set, the live predictor already new): the record is the stable.
    expect(predictorImage(withLivePredictor(target, inFlight))).toBe(OLD_IMAGE);
    const status = {
      components: {
        predictor: {
          latestCreatedRevision: 'r2',
          latestRolledoutRevision: 'r2',
          previousRolledoutRevision: 'r1',
        },
      },
    };
    // At the 100% step the canary is rolled out: while in flight, the stable is the revision before it; once promoted
    // (the annotation still there), the rolled-out one.
    expect(kserveRevisions({ ...inFlight!, status })).toEqual({ stable: 'r1', canary: 'r2' });
    expect(kserveRevisions({ ...promoted, status })).toEqual({ stable: 'r2' });
  });

  it.each(ROUTERS.filter((r) => r !== 'kserve'))('%s: the canary selector never matches stable pods', (router) => {
    const objects = objectsAtWeight(router, buildTarget({ router }), 50);
    const canary = find(objects, 'Deployment', 'churn-canary');
    const stable = find(objects, 'Deployment', 'churn');
    const selector = at('spec.selector.matchLabels')(canary) as Record<string, string>;
    expect(labelsMatch(selector, at('spec.template.metadata.labels')(stable) as Record<string, string>)).toBe(false);
    expect(labelsMatch(selector, at('spec.template.metadata.labels')(canary) as Record<string, string>)).toBe(true);
  });

  it.each([
    [10, 4, { stable: 3, canary: 1 }],
    [50, 4, { stable: 2, canary: 2 }],
    [100, 4, { stable: 0, canary: 4 }],
    [1, 10, { stable: 9, canary: 1 }],
  ])('replicas at %s%% of %s pods', (weight, replicas, split) => {
    expect(replicasAtWeight('replicas', buildTarget({ replicas }), weight)).toEqual(split);
  });

  it('traffic routers keep stable at full size and give the canary its share of pods', () => {
    expect(replicasAtWeight('smi', buildTarget({ router: 'smi', replicas: 4 }), 10)).toEqual({ stable: 4, canary: 1 });
    expect(replicasAtWeight('smi', buildTarget({ router: 'smi', replicas: 4 }), 60)).toEqual({ stable: 4, canary: 3 });
  });

  it('with an HPA, stable spec.replicas is left to it and the canary follows its current count', () => {
    const objects = objectsAtWeight('replicas', buildTarget({ hpa: true, replicas: 2 }), 20, 10);
    expect(at('spec.replicas')(find(objects, 'Deployment', 'churn'))).toBeUndefined();
    expect(at('spec.replicas')(find(objects, 'Deployment', 'churn-canary'))).toBe(2);
  });

  it.each([
    ['smi', {}, /needs a Service/],
    ['nginx', {}, /needs an Ingress/],
    ['kserve', {}, /use router 'kserve' for an InferenceService/],
  ] as const)('%s explains what it is missing', (router, _options, message) => {
    const target = buildTarget({ router: router === 'nginx' ? 'replicas' : undefined });
    if (router === 'smi') delete target.service;
    expect(() => objectsAtWeight(router, target, 10)).toThrow(message);
  });
});

describe('routerCleanup', () => {
  it.each([
    ['replicas', [], ['Deployment/churn-canary']],
    ['smi', ['TrafficSplit/churn'], ['TrafficSplit/churn', 'Service/churn-canary', 'Deployment/churn-canary']],
    ['gateway-api', ['HTTPRoute/churn'], ['HTTPRoute/churn', 'Service/churn-canary', 'Deployment/churn-canary']],
    ['istio', ['VirtualService/churn'], ['VirtualService/churn', 'Service/churn-canary', 'Deployment/churn-canary']],
    ['nginx', ['Ingress/churn-canary'], ['Ingress/churn-canary', 'Service/churn-canary', 'Deployment/churn-canary']],
    ['kserve', [], []],
  ] as [RouterName, string[], string[]][])(
    '%s: traffic to stable, then the canary objects removed',
    (router, traffic, remove) => {
      const cleanup = routerCleanup(router, buildTarget({ router }), 'rollback');
      expect(cleanup.traffic.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(traffic);
      expect(cleanup.remove.map((k) => `${k.kind}/${k.name}`)).toEqual(remove);
    },
  );

  it('promote gives stable the canary pod template with its own labels; roll back keeps the old image', () => {
    const target = buildTarget({ router: 'smi' });
    const promoted = routerCleanup('smi', target, 'promote').stable;
    expect(JSON.stringify(promoted)).toContain(NEW_IMAGE);
    expect(at('spec.template.metadata.labels')(promoted)).toEqual({ app: 'churn', track: 'stable' });
    expect(JSON.stringify(routerCleanup('smi', target, 'rollback').stable)).toContain(OLD_IMAGE);
    const weights = at('spec.backends')(routerCleanup('smi', target, 'promote').traffic[0]) as { weight: number }[];
    expect(weights.map((b) => b.weight)).toEqual([100, 0]);
  });
});
