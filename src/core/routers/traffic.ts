// What every Service-based traffic router (smi, gateway-api, istio, nginx) applies besides its own object: both
// Deployments at full capacity for their share, and the two Services the router splits between.
import type { KubeObject } from '../ports.js';
import type { RolloutTarget } from '../target.js';
import { withReplicas } from '../kube.js';
import { canaryService, requireService, stableService } from './services.js';

/** Canary pods for a traffic share: enough to carry `weight` percent of what the stable carries, at least one. */
export function canaryReplicasFor(stableReplicas: number, weight: number): number {
  return Math.max(1, Math.ceil((stableReplicas * weight) / 100));
}

/** The stable Deployment as applied by every router: full size, or no `spec.replicas` when an HPA owns the count. */
export function stableAtFullSize(target: RolloutTarget): KubeObject {
  return withReplicas(target.stable, target.hpa ? undefined : target.replicas);
}

export interface TrafficBase {
  service: KubeObject;
  objects: KubeObject[];
}

export function trafficBase(
  router: string,
  target: RolloutTarget,
  weight: number,
  stableReplicas: number,
): TrafficBase {
  const service = requireService(target, router);
  const objects = [stableAtFullSize(target)];
  if (target.canary) objects.push(withReplicas(target.canary, canaryReplicasFor(stableReplicas, weight)));
  objects.push(stableService(service), canaryService(service));
  return { service, objects };
}

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'model-canary' };

/** Metadata for an object model-canary makes itself (not copied from the user's manifests). */
export function ownedMeta(name: string, target: RolloutTarget): KubeObject['metadata'] {
  return { name, namespace: target.namespace, labels: { app: target.model, ...MANAGED_BY } };
}
