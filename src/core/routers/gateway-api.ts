// Gateway API HTTPRoute: backendRefs to the stable Service become a weighted pair of stable and canary.
import type { KubeObject } from '../ports.js';
import type { RolloutTarget } from '../target.js';
import { clone, specOf } from '../kube.js';
import { canaryServiceName, weights } from './services.js';
import { ownedMeta, trafficBase } from './traffic.js';

export const GATEWAY_API_VERSION = 'gateway.networking.k8s.io/v1';

interface BackendRef {
  name: string;
  kind?: string;
  weight?: number;
  [key: string]: unknown;
}
interface RouteRule {
  backendRefs?: BackendRef[];
  [key: string]: unknown;
}

const refersTo = (ref: BackendRef, serviceName: string): boolean =>
  ref.name === serviceName && (ref.kind === undefined || ref.kind === 'Service');

function rulesOf(route: KubeObject): RouteRule[] {
  return (specOf(route).rules as RouteRule[] | undefined) ?? [];
}

/** The user's HTTPRoute that sends traffic to the model's Service, if the manifests have one. */
export function userHttpRoute(target: RolloutTarget, serviceName: string): KubeObject | undefined {
  return target.others.find(
    (object) =>
      object.kind === 'HTTPRoute' &&
      rulesOf(object).some((rule) => (rule.backendRefs ?? []).some((ref) => refersTo(ref, serviceName))),
  );
}

/** The route model-canary makes when the manifests have none: it has no parentRefs, so attach it to a Gateway. */
function madeHttpRoute(target: RolloutTarget, service: KubeObject): KubeObject {
  const port = ((specOf(service).ports as { port?: number }[] | undefined) ?? [])[0]?.port;
  return {
    apiVersion: GATEWAY_API_VERSION,
    kind: 'HTTPRoute',
    metadata: ownedMeta(target.model, target),
    spec: { rules: [{ backendRefs: [{ name: service.metadata.name, ...(port ? { port } : {}) }] }] },
  };
}

/** The route to apply: the user's or a made one. `made` says whether model-canary owns (and so deletes) it. */
export function baseHttpRoute(target: RolloutTarget, service: KubeObject): { route: KubeObject; made: boolean } {
  const user = userHttpRoute(target, service.metadata.name);
  return user ? { route: user, made: false } : { route: madeHttpRoute(target, service), made: true };
}

export function weightedHttpRoute(route: KubeObject, service: KubeObject, weight: number): KubeObject {
  const share = weights(weight);
  const copy = clone(route);
  const spec = specOf(copy);
  spec.rules = rulesOf(copy).map((rule) => ({
    ...rule,
    backendRefs: (rule.backendRefs ?? []).flatMap((ref) =>
      refersTo(ref, service.metadata.name)
        ? [
            { ...ref, weight: share.stable },
            { ...ref, name: canaryServiceName(service), weight: share.canary },
          ]
        : [ref],
    ),
  }));
  copy.spec = spec;
  return copy;
}

export function gatewayApiRouterObjects(target: RolloutTarget, weight: number, stableReplicas: number): KubeObject[] {
  const { service, objects } = trafficBase('gateway-api', target, weight, stableReplicas);
  return [...objects, weightedHttpRoute(baseHttpRoute(target, service).route, service, weight)];
}
