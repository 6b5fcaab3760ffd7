import type { KubeObject } from '../ports.js';
import type { RolloutTarget } from '../target.js';
import { replicaRouterObjects } from './replicas.js';

export const ROUTERS = ['replicas', 'smi', 'gateway-api', 'istio', 'nginx', 'kserve'] as const;
export type RouterName = (typeof ROUTERS)[number];

/**
 * Every object applied at a weight: stable, canary and the router's own objects. Pure, so `plan` shows exactly what
 * the cluster adapter will apply. `stableReplicas` is the stable's current count (the HPA's, when one scales it).
 */
export function objectsAtWeight(
  router: RouterName,
  target: RolloutTarget,
  weight: number,
  stableReplicas: number = target.replicas,
): KubeObject[] {
  switch (router) {
    case 'replicas':
      return replicaRouterObjects(target, weight, stableReplicas);
    default:
      throw new Error(`router '${router}' is not implemented yet`);
  }
}
