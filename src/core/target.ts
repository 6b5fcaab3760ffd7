import type { ModelProvenance } from './model-source.js';
import type { KubeObject } from './ports.js';

/** The user's model as found in their manifests, with the canary derived from it. Plain data. */
export interface RolloutTarget {
  model: string;
  namespace: string;
  /** `Deployment` for plain serving, `InferenceService` for KServe. */
  kind: 'Deployment' | 'InferenceService';
  /** The stable object: the user's manifest with `track: stable` on its pods. */
  stable: KubeObject;
  /** The canary Deployment: `-canary` name, `track: canary` selector and pods, new image by digest. */
  canary?: KubeObject;
  /** The Service that selects the model's pods, if the manifests have one. */
  service?: KubeObject;
  /** The HorizontalPodAutoscaler scaling the stable Deployment, if any. */
  hpa?: KubeObject;
  /** Everything else in the manifests (Ingress, HTTPRoute, unknown kinds): passed through unchanged. */
  others: KubeObject[];
  /** Name of the container whose image the canary replaces. */
  container: string;
  /** The new image, `registry/repository@sha256:...`. */
  image: string;
  /** Stable replicas as the manifests give them (the HPA's minReplicas when an HPA owns the count). */
  replicas: number;
  /** Which registered model the new image holds, when known (built from a model-source, or read from its labels). */
  modelSource?: ModelProvenance;
}

export const TRACK_LABEL = 'track';
export const CANARY_SUFFIX = '-canary';
export const FIELD_MANAGER = 'model-canary';
