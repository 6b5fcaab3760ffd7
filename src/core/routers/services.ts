// The Services the traffic routers point at: the stable Service narrowed to stable pods, and a canary twin of it.
import type { KubeObject } from '../ports.js';
import type { RolloutTarget } from '../target.js';
import { CANARY_SUFFIX, TRACK_LABEL } from '../target.js';
import { clone, objectId, specOf } from '../kube.js';
import { ManifestError } from '../manifests.js';

/** The user's Service, or an error saying why this router cannot work without one. */
export function requireService(target: RolloutTarget, router: string): KubeObject {
  if (!target.service) {
    throw new ManifestError([
      `router: '${router}' needs a Service selecting the pods of ${objectId(target.stable)}: add one to the manifests, or use router 'replicas'`,
    ]);
  }
  return target.service;
}

function withTrackSelector(service: KubeObject, track: 'stable' | 'canary', name: string): KubeObject {
  const copy = clone(service);
  const spec = { ...specOf(copy) };
  const selector = { ...((spec.selector as Record<string, string> | undefined) ?? {}), [TRACK_LABEL]: track };
  spec.selector = selector;
  // The API server assigns clusterIP; a copied one would clash with the stable Service's.
  delete spec.clusterIP;
  delete spec.clusterIPs;
  copy.spec = spec;
  copy.metadata = { ...copy.metadata, name, labels: { ...(copy.metadata.labels ?? {}), [TRACK_LABEL]: track } };
  return copy;
}

/** The stable Service, selecting only `track: stable` pods so traffic routers decide how much the canary gets. */
export function stableService(service: KubeObject): KubeObject {
  const narrowed = withTrackSelector(service, 'stable', service.metadata.name);
  // The user's Service keeps its own labels; only the selector changes.
  narrowed.metadata.labels = service.metadata.labels ? { ...service.metadata.labels } : undefined;
  if (!narrowed.metadata.labels) delete narrowed.metadata.labels;
  const originalSpec = specOf(service);
  if (originalSpec.clusterIP) (narrowed.spec as Record<string, unknown>).clusterIP = originalSpec.clusterIP;
  return narrowed;
}

export const canaryServiceName = (service: KubeObject): string => `${service.metadata.name}${CANARY_SUFFIX}`;

/** A twin of the stable Service selecting only `track: canary` pods. */
export function canaryService(service: KubeObject): KubeObject {
  return withTrackSelector(service, 'canary', canaryServiceName(service));
}

/** Weight of stable and canary for a canary percentage, as whole percents that add up to 100. */
export function weights(percent: number): { stable: number; canary: number } {
  const canary = Math.min(100, Math.max(0, Math.round(percent)));
  return { stable: 100 - canary, canary };
}
