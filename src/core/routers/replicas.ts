import type { KubeObject } from '../ports.js';
import type { RolloutTarget } from '../target.js';
import { withReplicas } from '../kube.js';

export interface ReplicaSplit {
  stable: number;
  canary: number;
}

/**
 * The replica-ratio split: the canary gets `max(1, round(total * weight / 100))` pods and stable keeps the rest,
 * never fewer than one pod while any traffic is meant for it, so the total never drops below `total`.
 */
export function replicaSplit(total: number, weight: number): ReplicaSplit {
  const canary = Math.max(1, Math.round((total * weight) / 100));
  const stable = weight >= 100 ? 0 : Math.max(1, total - canary);
  return { stable, canary };
}

/**
 * Objects for the replica router at a weight. With an HPA the stable Deployment's `spec.replicas` is left out, so the
 * HPA keeps owning it, and the canary's count is a share of the stable's current replicas.
 */
export function replicaRouterObjects(target: RolloutTarget, weight: number, stableReplicas: number): KubeObject[] {
  const split = replicaSplit(stableReplicas, weight);
  const stable = target.hpa ? withReplicas(target.stable, undefined) : withReplicas(target.stable, split.stable);
  const objects = [stable];
  if (target.canary) objects.push(withReplicas(target.canary, split.canary));
  if (target.service) objects.push(target.service);
  return objects;
}
