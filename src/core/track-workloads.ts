// Which workload each track is, as a metric preset's series name it: the Deployments for the meshes, the user's
// Ingress for ingress-nginx, the Knative revisions for KServe (from the live InferenceService's status). Pure.
import type { GateSelectors } from './gates.js';
import { metricsPreset, type MetricsPresetName } from './metric-presets.js';
import type { KubeObject, Track } from './ports.js';
import { KSERVE_API_VERSION, kserveRevisions, NO_CANARY_REVISION, NO_STABLE_REVISION } from './routers/kserve.js';
import { userIngress } from './routers/nginx.js';
import { CANARY_SUFFIX, type RolloutTarget } from './target.js';

export const BASELINE_SUFFIX = '-baseline';

/** The selectors of a rollout's gates, every track's workload filled in; the baseline track is decided per look. */
export function gateSelectors(
  preset: MetricsPresetName,
  target: RolloutTarget,
  liveInferenceService?: KubeObject,
): Omit<GateSelectors, 'baselineTrack'> {
  const base = { namespace: target.namespace, model: target.model, metrics: preset };
  const workloads = trackWorkloads(preset, target, liveInferenceService);
  return workloads ? { ...base, workloads } : base;
}

function trackWorkloads(
  preset: MetricsPresetName,
  target: RolloutTarget,
  liveInferenceService?: KubeObject,
): Partial<Record<Track, string>> | undefined {
  const { labelling } = metricsPreset(preset);
  if (labelling === 'pod-labels') return undefined;
  if (labelling === 'revision') {
    const revisions = kserveRevisions(liveInferenceService);
    return { stable: revisions.stable ?? NO_STABLE_REVISION, canary: revisions.canary ?? NO_CANARY_REVISION };
  }
  if (preset === 'ingress-nginx') {
    const ingress = target.service ? userIngress(target, target.service).metadata.name : target.model;
    return { stable: ingress, canary: ingress };
  }
  const stable = target.stable.metadata.name;
  return {
    stable,
    canary: target.canary?.metadata.name ?? `${stable}${CANARY_SUFFIX}`,
    baseline: `${stable}${BASELINE_SUFFIX}`,
  };
}

/** A target known only by the model's name (`analyze` without manifests): its Deployment, or InferenceService. */
export function namedTarget(model: string, namespace: string, preset: MetricsPresetName): RolloutTarget {
  const byRevision = metricsPreset(preset).labelling === 'revision';
  const stable: KubeObject = byRevision
    ? { apiVersion: KSERVE_API_VERSION, kind: 'InferenceService', metadata: { name: model, namespace } }
    : { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: model, namespace } };
  return {
    model,
    namespace,
    kind: byRevision ? 'InferenceService' : 'Deployment',
    stable,
    others: [],
    container: model,
    image: '',
    replicas: 1,
  };
}
