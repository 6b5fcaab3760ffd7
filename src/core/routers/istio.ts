// Istio VirtualService: HTTP routes to the stable Service's host become a weighted pair of stable and canary hosts.
import type { KubeObject } from '../ports.js';
import type { RolloutTarget } from '../target.js';
import { clone, specOf } from '../kube.js';
import { canaryServiceName, weights } from './services.js';
import { ownedMeta, trafficBase } from './traffic.js';

export const ISTIO_API_VERSION = 'networking.istio.io/v1';

interface Destination {
  destination: { host: string; [key: string]: unknown };
  weight?: number;
  [key: string]: unknown;
}
interface HttpRoute {
  route?: Destination[];
  [key: string]: unknown;
}

/** The names a Service's host may be written as in a VirtualService. */
function hostNames(service: KubeObject, namespace: string): string[] {
  const name = service.metadata.name;
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
}

const httpOf = (vs: KubeObject): HttpRoute[] => (specOf(vs).http as HttpRoute[] | undefined) ?? [];

export function userVirtualService(target: RolloutTarget, service: KubeObject): KubeObject | undefined {
  const hosts = hostNames(service, target.namespace);
  return target.others.find(
    (object) =>
      object.kind === 'VirtualService' &&
      httpOf(object).some((http) => (http.route ?? []).some((d) => hosts.includes(d.destination.host))),
  );
}

function madeVirtualService(target: RolloutTarget, service: KubeObject): KubeObject {
  return {
    apiVersion: ISTIO_API_VERSION,
    kind: 'VirtualService',
    metadata: ownedMeta(target.model, target),
    spec: { hosts: [service.metadata.name], http: [{ route: [{ destination: { host: service.metadata.name } }] }] },
  };
}

export function baseVirtualService(target: RolloutTarget, service: KubeObject): { route: KubeObject; made: boolean } {
  const user = userVirtualService(target, service);
  return user ? { route: user, made: false } : { route: madeVirtualService(target, service), made: true };
}

export function weightedVirtualService(
  vs: KubeObject,
  service: KubeObject,
  namespace: string,
  weight: number,
): KubeObject {
  const share = weights(weight);
  const hosts = hostNames(service, namespace);
  const copy = clone(vs);
  const spec = specOf(copy);
  spec.http = httpOf(copy).map((http) => ({
    ...http,
    route: (http.route ?? []).flatMap((d) =>
      hosts.includes(d.destination.host)
        ? [
            { ...d, destination: { ...d.destination, host: service.metadata.name }, weight: share.stable },
            { ...d, destination: { ...d.destination, host: canaryServiceName(service) }, weight: share.canary },
          ]
        : [d],
    ),
  }));
  copy.spec = spec;
  return copy;
}

export function istioRouterObjects(target: RolloutTarget, weight: number, stableReplicas: number): KubeObject[] {
  const { service, objects } = trafficBase('istio', target, weight, stableReplicas);
  const { route } = baseVirtualService(target, service);
  return [...objects, weightedVirtualService(route, service, target.namespace, weight)];
}
