// The user's manifests + the new image digest -> the stable and canary objects and the step schedule. Pure.
import { clone, objectId, specOf } from './kube.js';
import { ManifestError, type SourcedObject } from './manifests.js';
import type { KubeObject } from './ports.js';
import { objectsAtWeight, type RouterName } from './routers/index.js';
import { replicaSplit } from './routers/replicas.js';
import { routerWarnings } from './plan-warnings.js';
import { CANARY_SUFFIX, type RolloutTarget, TRACK_LABEL } from './target.js';

export interface PlanRequest {
  objects: SourcedObject[];
  model?: string;
  namespace?: string;
  container?: string;
  image: string;
  router: RouterName;
  steps: number[];
}

export interface PlannedStep {
  weight: number;
  replicas?: { stable: number; canary: number };
  objects: KubeObject[];
}

export interface Plan {
  target: RolloutTarget;
  router: RouterName;
  steps: PlannedStep[];
  warnings: string[];
}

type Json = Record<string, unknown>;
const MODEL_KINDS = ['Deployment', 'InferenceService'];
const DIGEST_REFERENCE = /@sha256:[a-f0-9]{64}$/;

const asJson = (value: unknown): Json => (value && typeof value === 'object' ? (value as Json) : {});
const labelsOf = (value: unknown): Record<string, string> => asJson(value) as Record<string, string>;

/** Server-owned fields that must not be applied back. */
function withoutServerFields(object: KubeObject): KubeObject {
  const copy = clone(object);
  delete copy.status;
  const { name, namespace, labels, annotations } = copy.metadata;
  copy.metadata = { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) };
  const kept = Object.fromEntries(
    Object.entries(annotations ?? {}).filter(([key]) => key !== 'kubectl.kubernetes.io/last-applied-configuration'),
  );
  if (Object.keys(kept).length > 0) copy.metadata.annotations = kept;
  return copy;
}

function inNamespace(object: KubeObject, namespace: string): KubeObject {
  return { ...object, metadata: { ...object.metadata, namespace } };
}

function podTemplate(deployment: KubeObject): { labels: Record<string, string>; containers: Json[] } {
  const template = asJson(specOf(deployment).template);
  const podSpec = asJson(template.spec);
  return {
    labels: labelsOf(asJson(template.metadata).labels),
    containers: Array.isArray(podSpec.containers) ? (podSpec.containers as Json[]) : [],
  };
}

function pickCandidate(objects: SourcedObject[], model: string | undefined): KubeObject {
  const sourced = objects.filter((o) => MODEL_KINDS.includes(o.object.kind));
  const candidates = sourced.map((o) => o.object);
  const withFile = (object: KubeObject) => `${objectId(object)} in ${sourced.find((o) => o.object === object)?.source}`;
  if (candidates.length === 0) {
    const found = objects.map((o) => objectId(o.object)).join(', ');
    throw new ManifestError([`no Deployment or InferenceService in the manifests (found: ${found})`]);
  }
  if (model) {
    const named = candidates.filter((o) => o.metadata.name === model);
    if (named.length === 1) return named[0] as KubeObject;
    const names = candidates.map(objectId).join(', ');
    throw new ManifestError([
      named.length === 0
        ? `model: no Deployment or InferenceService named '${model}' in the manifests (found: ${names})`
        : `model: '${model}' names more than one object (${named.map(withFile).join('; ')}): keep one per model, or give manifests that hold one`,
    ]);
  }
  if (candidates.length > 1) {
    throw new ManifestError([
      `model: the manifests hold ${candidates.length} candidates (${candidates.map(withFile).join('; ')}): set model to one of them`,
    ]);
  }
  return candidates[0] as KubeObject;
}

function pickContainer(deployment: KubeObject, wanted: string | undefined, model: string): string {
  const names = podTemplate(deployment).containers.map((c) => String(c.name));
  const list = names.join(', ') || 'none';
  if (wanted) {
    if (names.includes(wanted)) return wanted;
    throw new ManifestError([`container: no container '${wanted}' in ${objectId(deployment)} (containers: ${list})`]);
  }
  if (names.length === 1) return names[0] as string;
  for (const conventional of [model, 'model']) if (names.includes(conventional)) return conventional;
  throw new ManifestError([
    names.length === 0
      ? `${objectId(deployment)} has no containers`
      : `container: ${objectId(deployment)} has ${names.length} containers (${list}): set container to the model's`,
  ]);
}

function selectorMatches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((key) => labels[key] === selector[key]);
}

function withTrackLabel(deployment: KubeObject, track: string, alsoSelector: boolean): KubeObject {
  const copy = clone(deployment);
  const spec = specOf(copy);
  const template = asJson(spec.template);
  const metadata = asJson(template.metadata);
  metadata.labels = { ...labelsOf(metadata.labels), [TRACK_LABEL]: track };
  template.metadata = metadata;
  spec.template = template;
  if (alsoSelector) {
    const selector = asJson(spec.selector);
    selector.matchLabels = { ...labelsOf(selector.matchLabels), [TRACK_LABEL]: track };
    spec.selector = selector;
  }
  copy.spec = spec;
  return copy;
}

function withImage(deployment: KubeObject, container: string, image: string): KubeObject {
  const copy = clone(deployment);
  for (const c of podTemplate(copy).containers) if (c.name === container) c.image = image;
  return copy;
}

function deriveCanary(stable: KubeObject, container: string, image: string): KubeObject {
  const canary = withImage(withTrackLabel(stable, 'canary', true), container, image);
  canary.metadata = {
    ...canary.metadata,
    name: `${stable.metadata.name}${CANARY_SUFFIX}`,
    labels: { ...(canary.metadata.labels ?? {}), [TRACK_LABEL]: 'canary' },
  };
  return canary;
}

/** Finds the model in the manifests and derives everything a rollout needs from it. */
export function resolveTarget(request: Omit<PlanRequest, 'steps'>): RolloutTarget {
  const chosen = pickCandidate(request.objects, request.model);
  const namespace = request.namespace ?? chosen.metadata.namespace ?? 'default';
  const model = chosen.metadata.name;
  // The model's companions (Service, HPA) are the ones beside it in the manifests; with a `namespace` override they
  // move with it (before, a Service in the manifests' namespace was dropped from every step).
  const home = chosen.metadata.namespace ?? namespace;
  const local = (o: KubeObject) => (o.metadata.namespace ?? home) === home;
  const rest = request.objects.map((o) => o.object).filter((o) => o !== chosen);

  if (chosen.kind === 'InferenceService') {
    if (request.router !== 'kserve') {
      throw new ManifestError([
        `router: ${objectId(chosen)} is an InferenceService: use router kserve (got '${request.router}')`,
      ]);
    }
    return {
      model,
      namespace,
      kind: 'InferenceService',
      stable: inNamespace(withoutServerFields(chosen), namespace),
      others: rest,
      container: 'predictor',
      image: request.image,
      replicas: Number(asJson(asJson(specOf(chosen).predictor)).minReplicas ?? 1),
    };
  }
  if (request.router === 'kserve') {
    throw new ManifestError([`router: kserve routes an InferenceService, but ${objectId(chosen)} is a Deployment`]);
  }
  const matchLabels = labelsOf(asJson(specOf(chosen).selector).matchLabels);
  if (Object.keys(matchLabels).length === 0) {
    throw new ManifestError([
      `${objectId(chosen)}: spec.selector.matchLabels is required (the canary's selector is derived from it)`,
    ]);
  }
  const container = pickContainer(chosen, request.container, model);
  const podLabels = podTemplate(chosen).labels;
  const service = rest.find(
    (o) => o.kind === 'Service' && local(o) && selectorMatches(labelsOf(asJson(specOf(o)).selector), podLabels),
  );
  const hpa = rest.find((o) => {
    const ref = asJson(specOf(o).scaleTargetRef);
    return o.kind === 'HorizontalPodAutoscaler' && local(o) && ref.kind === 'Deployment' && ref.name === model;
  });
  const stable = inNamespace(withTrackLabel(withoutServerFields(chosen), 'stable', false), namespace);
  const replicas = hpa ? Number(specOf(hpa).minReplicas ?? 1) : Number(specOf(chosen).replicas ?? 1);
  return {
    model,
    namespace,
    kind: 'Deployment',
    stable,
    canary: deriveCanary(stable, container, request.image),
    service: service ? inNamespace(withoutServerFields(service), namespace) : undefined,
    hpa: hpa ? inNamespace(withoutServerFields(hpa), namespace) : undefined,
    others: rest.filter((o) => o !== service && o !== hpa),
    container,
    image: request.image,
    replicas,
  };
}

/** Replicas at a weight for the replica router; an HPA keeps owning the stable, whose count never drops below min. */
function plannedReplicas(target: RolloutTarget, weight: number): { stable: number; canary: number } {
  const split = replicaSplit(target.replicas, weight);
  return target.hpa ? { stable: target.replicas, canary: split.canary } : split;
}

function hpaWarning(target: RolloutTarget): string {
  const hpa = target.hpa as KubeObject;
  const spec = specOf(hpa);
  const max = spec.maxReplicas === undefined ? '' : `, maxReplicas ${String(spec.maxReplicas)}`;
  return (
    `${objectId(hpa)} scales ${target.model} (minReplicas ${target.replicas}${max}): the stable keeps the HPA's count ` +
    `and the canary's pods are a share of it; the replica numbers assume the HPA's minimum of ${target.replicas}`
  );
}

export function buildPlan(request: PlanRequest): Plan {
  const target = resolveTarget(request);
  const warnings: string[] = [];
  if (!DIGEST_REFERENCE.test(request.image)) {
    warnings.push(`image ${request.image} is not pinned by digest: deploy resolves it to its digest first`);
  }
  if (target.hpa) warnings.push(hpaWarning(target));
  warnings.push(...routerWarnings(request, target));
  const steps = request.steps.map((weight) => ({
    weight,
    ...(request.router === 'replicas' ? { replicas: plannedReplicas(target, weight) } : {}),
    objects: objectsAtWeight(request.router, target, weight),
  }));
  return { target, router: request.router, steps, warnings };
}
