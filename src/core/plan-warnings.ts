// What `plan` says about a plan that would apply but not work: a made route attached to no Gateway (or only inside
// the mesh), a namespace override and what it leaves behind. (A router missing an object it cannot do without refuses
// the plan itself: routers/services.ts, routers/nginx.ts.) Pure.
import { objectId, specOf } from './kube.js';
import type { PlanRequest } from './plan.js';
import type { KubeObject } from './ports.js';
import { baseHttpRoute } from './routers/gateway-api.js';
import { baseVirtualService } from './routers/istio.js';
import type { RolloutTarget } from './target.js';

/** Routers that split traffic between two Services, so need the model's Service in the manifests. */
const SERVICE_ROUTERS = ['smi', 'gateway-api', 'istio', 'nginx'];
/** Objects a router reads from the manifests, by kind. */
const ROUTER_KINDS = ['HTTPRoute', 'VirtualService', 'Ingress', 'TrafficSplit'];

function gatewayWarnings(target: RolloutTarget, service: KubeObject): string[] {
  const { route, made } = baseHttpRoute(target, service);
  const parents = specOf(route).parentRefs;
  if (!made && Array.isArray(parents) && parents.length > 0) return [];
  const how =
    `add an HTTPRoute to the manifests with spec.parentRefs naming your Gateway ` +
    `(parentRefs: [{name: <gateway>, namespace: <gateway's namespace>}]) and a rule with backendRefs: [{name: ${service.metadata.name}, port: <port>}]; ` +
    `model-canary then weights that route's backendRefs`;
  return made
    ? [
        `router gateway-api: the manifests have no HTTPRoute with a backendRef to ${objectId(service)}, so model-canary makes ` +
          `${objectId(route)} with no parentRefs: it is attached to no Gateway and routes nothing. To route traffic, ${how}`,
      ]
    : [
        `router gateway-api: ${objectId(route)} has no spec.parentRefs: it is attached to no Gateway and routes nothing. ` +
          `Add parentRefs: [{name: <gateway>, namespace: <gateway's namespace>}] to it`,
      ];
}

function istioWarnings(target: RolloutTarget, service: KubeObject): string[] {
  const { route, made } = baseVirtualService(target, service);
  if (!made) return [];
  const host = service.metadata.name;
  return [
    `router istio: the manifests have no VirtualService routing to ${objectId(service)}, so model-canary makes ` +
      `${objectId(route)} for host ${host} inside the mesh only (no gateways): traffic that enters through an Istio ` +
      `gateway is not split. To split it, add a VirtualService with spec.gateways: [<namespace>/<gateway>], your hosts, ` +
      `and an http route to destination host ${host}; model-canary then weights that route`,
  ];
}

function namespaceWarnings(request: PlanRequest, target: RolloutTarget): string[] {
  const chosen = request.objects.find(
    (o) => o.object.kind === target.kind && o.object.metadata.name === target.model,
  )?.object;
  const home = chosen?.metadata.namespace;
  if (!home || home === target.namespace) return [];
  const companions = [target.service && 'its Service', target.hpa && 'its HPA'].filter(Boolean);
  const moved = `${target.kind} ${target.model}${companions.length > 0 ? ` with ${companions.join(' and ')}` : ''}`;
  const left = target.others.filter((o) => ROUTER_KINDS.includes(o.kind)).map(objectId);
  return [
    `namespace ${target.namespace} overrides the manifests' namespace ${home}: ${moved} is applied in ${target.namespace}` +
      (left.length > 0 ? `; these stay where the manifests put them: ${left.join(', ')}` : '') +
      `. Drop namespace to deploy into ${home}, or change the manifests' namespace`,
  ];
}

/** Warnings about a plan that would apply but route nothing or leave objects behind. */
export function routerWarnings(request: PlanRequest, target: RolloutTarget): string[] {
  const warnings = namespaceWarnings(request, target);
  if (target.kind !== 'Deployment' || !SERVICE_ROUTERS.includes(request.router)) return warnings;
  // Without a Service the router itself refuses the plan, saying what to add (routers/services.ts).
  if (request.router === 'gateway-api' && target.service) warnings.push(...gatewayWarnings(target, target.service));
  if (request.router === 'istio' && target.service) warnings.push(...istioWarnings(target, target.service));
  return warnings;
}
