import type { KubeObject, ObjectKey } from '../ports.js';
import type { RolloutTarget } from '../target.js';
import { clone, objectId, specOf } from '../kube.js';
import { ManifestError } from '../manifests.js';
import { gatewayApiRouterObjects, baseHttpRoute, weightedHttpRoute } from './gateway-api.js';
import { baseVirtualService, istioRouterObjects, weightedVirtualService } from './istio.js';
import { kservePromoted, kserveRestored, kserveRouterObjects } from './kserve.js';
import { canaryIngress, nginxRouterObjects } from './nginx.js';
import { replicaRouterObjects } from './replicas.js';
import { canaryService, requireService } from './services.js';
import { smiRouterObjects, trafficSplit } from './smi.js';
import { stableAtFullSize } from './traffic.js';

export const ROUTERS = ['replicas', 'smi', 'gateway-api', 'istio', 'nginx', 'kserve'] as const;
export type RouterName = (typeof ROUTERS)[number];

export function isRouterName(value: string): value is RouterName {
  return (ROUTERS as readonly string[]).includes(value);
}

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
  if ((router === 'kserve') !== (target.kind === 'InferenceService')) {
    throw new ManifestError([
      `router: '${router}' cannot roll out ${objectId(target.stable)}: use router 'kserve' for an InferenceService and another router for a Deployment`,
    ]);
  }
  switch (router) {
    case 'replicas':
      return replicaRouterObjects(target, weight, stableReplicas);
    case 'smi':
      return smiRouterObjects(target, weight, stableReplicas);
    case 'gateway-api':
      return gatewayApiRouterObjects(target, weight, stableReplicas);
    case 'istio':
      return istioRouterObjects(target, weight, stableReplicas);
    case 'nginx':
      return nginxRouterObjects(target, weight, stableReplicas);
    case 'kserve':
      return kserveRouterObjects(target, weight);
  }
}

export const keyOf = (object: KubeObject): ObjectKey => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  namespace: object.metadata.namespace,
  name: object.metadata.name,
});

/** The stable Deployment running the canary's pod template (new image), at full size, keeping its own pod labels. */
export function promotedStable(target: RolloutTarget): KubeObject {
  if (!target.canary) throw new Error(`${objectId(target.stable)} has no canary Deployment to promote`);
  const stable = stableAtFullSize(target);
  const spec = specOf(stable);
  const template = clone(specOf(stable).template as { metadata?: unknown; spec?: unknown });
  template.spec = clone((specOf(target.canary).template as { spec?: unknown }).spec);
  spec.template = template;
  return stable;
}

export interface RouterCleanup {
  /** Applied first, then waited for until ready: the stable at full size (promoted: with the new image). */
  stable: KubeObject;
  /** Applied once stable is ready: all traffic to stable. */
  traffic: KubeObject[];
  /** Deleted last: the canary's objects. */
  remove: ObjectKey[];
}

/** What promote and roll back do, in order: stable first, then traffic to 100% stable, then canary objects removed. */
export function routerCleanup(
  router: RouterName,
  target: RolloutTarget,
  outcome: 'promote' | 'rollback',
): RouterCleanup {
  if (router === 'kserve') {
    return { stable: outcome === 'promote' ? kservePromoted(target) : kserveRestored(target), traffic: [], remove: [] };
  }
  const stable = outcome === 'promote' ? promotedStable(target) : stableAtFullSize(target);
  const canary = target.canary ? [keyOf(target.canary)] : [];
  if (router === 'replicas') return { stable, traffic: [], remove: canary };
  const service = requireService(target, router);
  const canaryServiceKey = keyOf(canaryService(service));
  const routed = routerTrafficAtZero(router, target, service);
  return { stable, traffic: [routed.object], remove: [...routed.remove, canaryServiceKey, ...canary] };
}

function routerTrafficAtZero(
  router: Exclude<RouterName, 'replicas' | 'kserve'>,
  target: RolloutTarget,
  service: KubeObject,
): { object: KubeObject; remove: ObjectKey[] } {
  switch (router) {
    case 'smi': {
      const split = trafficSplit(target, service, 0);
      return { object: split, remove: [keyOf(split)] };
    }
    case 'gateway-api': {
      const { route, made } = baseHttpRoute(target, service);
      // The user's route goes back to exactly what they wrote; one we made is drained, then deleted.
      return made
        ? { object: weightedHttpRoute(route, service, 0), remove: [keyOf(route)] }
        : { object: route, remove: [] };
    }
    case 'istio': {
      const { route, made } = baseVirtualService(target, service);
      return made
        ? { object: weightedVirtualService(route, service, target.namespace, 0), remove: [keyOf(route)] }
        : { object: route, remove: [] };
    }
    case 'nginx': {
      const ingress = canaryIngress(target, service, 0);
      return { object: ingress, remove: [keyOf(ingress)] };
    }
  }
}

/** Replica counts at a weight, for routers where the split is made of pods (`plan` shows them). */
export function replicasAtWeight(
  router: RouterName,
  target: RolloutTarget,
  weight: number,
  stableReplicas: number = target.replicas,
): { stable: number; canary: number } | undefined {
  if (router === 'kserve') return undefined;
  const objects = objectsAtWeight(router, target, weight, stableReplicas);
  const count = (name: string | undefined): number => {
    const found = objects.find((o) => o.metadata.name === name && o.kind === 'Deployment');
    const replicas = found ? specOf(found).replicas : undefined;
    return typeof replicas === 'number' ? replicas : stableReplicas;
  };
  return { stable: count(target.stable.metadata.name), canary: count(target.canary?.metadata.name) };
}
