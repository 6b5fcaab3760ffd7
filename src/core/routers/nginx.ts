// NGINX ingress canary: a copy of the user's Ingress, marked canary, with the canary's weight, to the canary Service.
import type { KubeObject } from '../ports.js';
import type { RolloutTarget } from '../target.js';
import { CANARY_SUFFIX } from '../target.js';
import { clone, objectId, specOf } from '../kube.js';
import { ManifestError } from '../manifests.js';
import { canaryServiceName, weights } from './services.js';
import { MANAGED_BY, trafficBase } from './traffic.js';

export const NGINX_CANARY = 'nginx.ingress.kubernetes.io/canary';
export const NGINX_CANARY_WEIGHT = 'nginx.ingress.kubernetes.io/canary-weight';

interface Backend {
  service?: { name: string; [key: string]: unknown };
  [key: string]: unknown;
}
interface IngressSpec {
  defaultBackend?: Backend;
  rules?: { http?: { paths?: { backend: Backend; [key: string]: unknown }[] }; [key: string]: unknown }[];
  [key: string]: unknown;
}

function backends(ingress: KubeObject): Backend[] {
  const spec = specOf(ingress) as IngressSpec;
  const paths = (spec.rules ?? []).flatMap((rule) => rule.http?.paths ?? []).map((path) => path.backend);
  return spec.defaultBackend ? [spec.defaultBackend, ...paths] : paths;
}

export function userIngress(target: RolloutTarget, service: KubeObject): KubeObject {
  const ingress = target.others.find(
    (object) =>
      object.kind === 'Ingress' && backends(object).some((backend) => backend.service?.name === service.metadata.name),
  );
  if (!ingress) {
    const name = service.metadata.name;
    throw new ManifestError([
      `router: 'nginx' needs an Ingress in the manifests with a backend on ${objectId(service)}, and the manifests ` +
        `have none: add one (apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: ${name}, namespace: ` +
        `${target.namespace}}, spec: {ingressClassName: nginx, rules: [{http: {paths: [{path: /, pathType: Prefix, ` +
        `backend: {service: {name: ${name}, port: {number: <the Service's port>}}}}]}}]}), or use another router`,
    ]);
  }
  return ingress;
}

export const canaryIngressName = (ingress: KubeObject): string => `${ingress.metadata.name}${CANARY_SUFFIX}`;

export function canaryIngress(target: RolloutTarget, service: KubeObject, weight: number): KubeObject {
  const ingress = userIngress(target, service);
  const copy = clone(ingress);
  for (const backend of backends(copy)) {
    if (backend.service?.name === service.metadata.name) backend.service.name = canaryServiceName(service);
  }
  copy.metadata = {
    name: canaryIngressName(ingress),
    namespace: target.namespace,
    labels: { ...(ingress.metadata.labels ?? {}), ...MANAGED_BY },
    annotations: {
      ...(ingress.metadata.annotations ?? {}),
      [NGINX_CANARY]: 'true',
      [NGINX_CANARY_WEIGHT]: String(weights(weight).canary),
    },
  };
  return copy;
}

export function nginxRouterObjects(target: RolloutTarget, weight: number, stableReplicas: number): KubeObject[] {
  const { service, objects } = trafficBase('nginx', target, weight, stableReplicas);
  return [...objects, canaryIngress(target, service, weight)];
}
