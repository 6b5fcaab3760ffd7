import { parseManifests, ManifestError } from '../../src/core/manifests.js';
import { buildPlan, type PlanRequest } from '../../src/core/plan.js';
import type { KubeObject } from '../../src/core/ports.js';
import * as m from '../fixtures/manifests.js';

function request(yaml: string[], extra: Partial<PlanRequest> = {}): PlanRequest {
  return {
    objects: parseManifests([{ path: 'k8s/app.yaml', text: yaml.join('\n---\n') }]),
    image: m.IMAGE,
    router: 'replicas',
    steps: [10, 50, 100],
    ...extra,
  };
}

const byKind = (objects: KubeObject[], kind: string, name?: string) =>
  objects.find((o) => o.kind === kind && (!name || o.metadata.name === name)) as KubeObject & { spec: any };

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ManifestError) return error.problems.join('\n');
    throw error;
  }
  throw new Error('expected a ManifestError');
}

describe('plan: Deployment + Service', () => {
  const plan = buildPlan(request([m.DEPLOYMENT, m.SERVICE, m.CONFIGMAP]));

  it('derives the canary from the stable manifest', () => {
    const canary = plan.target.canary as KubeObject & { spec: any };
    expect(canary.metadata).toEqual({
      name: 'churn-scorer-canary',
      namespace: 'ml',
      labels: { app: 'churn-scorer', track: 'canary' },
    });
    expect(canary.spec.selector.matchLabels).toEqual({ app: 'churn-scorer', track: 'canary' });
    expect(canary.spec.template.metadata.labels).toEqual({ app: 'churn-scorer', track: 'canary' });
    const [model, sidecar] = canary.spec.template.spec.containers;
    expect(model.image).toBe(m.IMAGE);
    expect(sidecar.image).toBe('busybox:1.36');
    expect(model.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } });
    expect(model.readinessProbe).toEqual({ httpGet: { path: '/readyz', port: 8080 } });
    expect(canary.status).toBeUndefined();
  });

  it('labels stable pods without touching the immutable selector or its image', () => {
    const stable = plan.target.stable as KubeObject & { spec: any };
    expect(stable.spec.selector.matchLabels).toEqual({ app: 'churn-scorer' });
    expect(stable.spec.template.metadata.labels).toEqual({ app: 'churn-scorer', track: 'stable' });
    expect(stable.spec.template.spec.containers[0].image).toBe('myacr.azurecr.io/models/churn:1.0');
    expect(stable.metadata.annotations).toBeUndefined();
  });

  it('never lets the canary selector match stable pods', () => {
    const selector = plan.target.canary!.spec as any;
    const stableLabels = (plan.target.stable.spec as any).template.metadata.labels;
    const matches = Object.entries(selector.selector.matchLabels).every(([k, v]) => stableLabels[k] === v);
    expect(matches).toBe(false);
  });

  it('finds the Service and passes other kinds through unchanged', () => {
    expect(plan.target.service?.metadata.name).toBe('churn-scorer');
    expect(plan.target.others).toEqual([parseManifests([{ path: 'x', text: m.CONFIGMAP }])[0]!.object]);
  });

  it.each([
    [10, { stable: 3, canary: 1 }],
    [50, { stable: 2, canary: 2 }],
    [100, { stable: 0, canary: 4 }],
  ])('at %i%% runs %j replicas, total capacity kept', (weight, replicas) => {
    const step = plan.steps.find((s) => s.weight === weight)!;
    expect(step.replicas).toEqual(replicas);
    expect(byKind(step.objects, 'Deployment', 'churn-scorer').spec.replicas).toBe(replicas.stable);
    expect(byKind(step.objects, 'Deployment', 'churn-scorer-canary').spec.replicas).toBe(replicas.canary);
    expect(replicas.stable + replicas.canary).toBeGreaterThanOrEqual(4);
  });

  it('has no warnings for a digest-pinned image', () => {
    expect(plan.warnings).toEqual([]);
  });
});

describe('plan: Deployment + HPA', () => {
  const plan = buildPlan(request([m.DEPLOYMENT, m.SERVICE, m.HPA]));

  it('leaves the stable replicas to the HPA and sizes the canary from its minimum', () => {
    expect(plan.target.hpa?.metadata.name).toBe('churn-scorer');
    expect(plan.target.replicas).toBe(3);
    const step = plan.steps[0]!;
    expect(byKind(step.objects, 'Deployment', 'churn-scorer').spec).not.toHaveProperty('replicas');
    expect(byKind(step.objects, 'Deployment', 'churn-scorer-canary').spec.replicas).toBe(1);
    expect(plan.warnings.join()).toContain('HorizontalPodAutoscaler ml/churn-scorer scales churn-scorer');
  });

  it("counts the stable at the HPA's minReplicas at every step, the canary a share of it", () => {
    expect(plan.steps.map((step) => step.replicas)).toEqual([
      { stable: 3, canary: 1 },
      { stable: 3, canary: 2 },
      { stable: 3, canary: 3 },
    ]);
    expect(plan.warnings.join()).toContain('minReplicas 3, maxReplicas 10');
  });
});

describe('plan: warnings for plans that would apply but not work', () => {
  it('moves the Service and the HPA with a namespace override, and says so', () => {
    const plan = buildPlan(request([m.DEPLOYMENT, m.SERVICE, m.HPA], { namespace: 'other' }));
    expect(plan.target.service?.metadata.namespace).toBe('other');
    expect(plan.target.hpa?.metadata.namespace).toBe('other');
    expect(byKind(plan.steps[0]!.objects, 'Service', 'churn-scorer').metadata.namespace).toBe('other');
    expect(plan.warnings.join('\n')).toContain(
      "namespace other overrides the manifests' namespace ml: Deployment churn-scorer with its Service and its HPA is applied in other",
    );
  });

  it('says nothing about the namespace when it is the manifests own', () => {
    const plan = buildPlan(request([m.DEPLOYMENT, m.SERVICE], { namespace: 'ml' }));
    expect(plan.warnings).toEqual([]);
  });

  it('warns that a made HTTPRoute has no parentRefs, and how to attach it to a Gateway', () => {
    const plan = buildPlan(request([m.DEPLOYMENT, m.SERVICE], { router: 'gateway-api' }));
    const warning = plan.warnings.find((w) => w.startsWith('router gateway-api'));
    expect(warning).toContain('no parentRefs: it is attached to no Gateway and routes nothing');
    expect(warning).toContain('parentRefs: [{name: <gateway>');
  });

  it('warns that a made VirtualService splits mesh traffic only, and how to add the gateway', () => {
    const plan = buildPlan(request([m.DEPLOYMENT, m.SERVICE], { router: 'istio' }));
    expect(plan.warnings.join()).toContain('inside the mesh only (no gateways)');
    expect(plan.warnings.join()).toContain('spec.gateways: [<namespace>/<gateway>]');
  });

  it("is quiet about the user's HTTPRoute when it has parentRefs, and warns when it has none", () => {
    const route = (parents: string) => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: churn, namespace: ml }
spec:
${parents}  rules:
    - backendRefs: [{ name: churn-scorer, port: 80 }]
`;
    const attached = buildPlan(
      request([m.DEPLOYMENT, m.SERVICE, route('  parentRefs: [{ name: web }]\n')], { router: 'gateway-api' }),
    );
    expect(attached.warnings).toEqual([]);
    const detached = buildPlan(request([m.DEPLOYMENT, m.SERVICE, route('')], { router: 'gateway-api' }));
    expect(detached.warnings.join()).toContain('HTTPRoute ml/churn has no spec.parentRefs');
  });
});

describe('plan: two Deployments', () => {
  it('picks the named model', () => {
    const plan = buildPlan(request([m.DEPLOYMENT, m.SECOND_DEPLOYMENT], { model: 'feature-store' }));
    expect(plan.target.model).toBe('feature-store');
    expect(plan.target.container).toBe('feature-store');
    expect(plan.target.others.map((o) => o.metadata.name)).toEqual(['churn-scorer']);
  });

  it('asks for a model name when two could be meant', () => {
    expect(errorOf(() => buildPlan(request([m.DEPLOYMENT, m.SECOND_DEPLOYMENT])))).toContain(
      'model: the manifests hold 2 candidates (Deployment ml/churn-scorer in k8s/app.yaml (document 1); Deployment ml/feature-store in k8s/app.yaml (document 2)): set model',
    );
  });
});

describe('plan: KServe', () => {
  it('finds the InferenceService and its namespace', () => {
    const objects = parseManifests([{ path: 'isvc.yaml', text: m.INFERENCE_SERVICE }]);
    expect(errorOf(() => buildPlan({ objects, image: m.IMAGE, router: 'replicas', steps: [10] }))).toContain(
      "router: InferenceService kserve-models/fraud is an InferenceService: use router kserve (got 'replicas')",
    );
  });
});

describe('plan: bad manifests', () => {
  it.each([
    [
      'no Deployment',
      [m.SERVICE, m.CONFIGMAP],
      {},
      'no Deployment or InferenceService in the manifests (found: Service ml/churn-scorer, ConfigMap ml/churn-settings)',
    ],
    ['unknown model', [m.DEPLOYMENT], { model: 'fraud' }, "model: no Deployment or InferenceService named 'fraud'"],
    [
      'unknown container',
      [m.DEPLOYMENT],
      { container: 'server' },
      "container: no container 'server' in Deployment ml/churn-scorer (containers: model, sidecar)",
    ],
    [
      'ambiguous container',
      [m.DEPLOYMENT.replace('name: model', 'name: main')],
      {},
      'container: Deployment ml/churn-scorer has 2 containers (main, sidecar)',
    ],
    [
      'kserve router on a Deployment',
      [m.DEPLOYMENT],
      { router: 'kserve' },
      'router: kserve routes an InferenceService',
    ],
  ])('%s', (_name, docs, extra, message) => {
    expect(errorOf(() => buildPlan(request(docs, extra as Partial<PlanRequest>)))).toContain(message);
  });

  it('names the file and document of unparseable YAML and missing fields', () => {
    const problems = errorOf(() =>
      parseManifests([
        { path: 'a.yaml', text: 'kind: Deployment\nmetadata: {name: x}\n---\nfoo: [1,\n' },
        { path: 'b.yaml', text: '- 1\n- 2\n' },
      ]),
    );
    expect(problems).toContain('a.yaml (document 1): missing apiVersion');
    expect(problems).toContain('a.yaml (document 2): not valid YAML');
    expect(problems).toContain('b.yaml (document 1): a manifest must be a mapping');
  });

  it('warns when the image is a tag', () => {
    expect(buildPlan(request([m.DEPLOYMENT], { image: 'myacr.azurecr.io/churn:2' })).warnings[0]).toContain(
      'not pinned by digest',
    );
  });
});
