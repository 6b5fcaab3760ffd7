// Small pure helpers over Kubernetes objects as plain JSON.
import type { KubeObject, ObjectKey } from './ports.js';

export function clone<T>(value: T): T {
  return structuredClone(value);
}

export function objectId(object: Pick<KubeObject, 'kind' | 'metadata'>): string {
  const namespace = object.metadata.namespace ? `${object.metadata.namespace}/` : '';
  return `${object.kind} ${namespace}${object.metadata.name}`;
}

type Spec = Record<string, unknown>;

export function specOf(object: KubeObject): Spec {
  const spec = object.spec;
  return spec && typeof spec === 'object' ? (spec as Spec) : {};
}

/** A copy with `spec.replicas` set, or removed when `replicas` is undefined (so an HPA keeps owning it). */
export function withReplicas(object: KubeObject, replicas: number | undefined): KubeObject {
  const copy = clone(object);
  const spec = { ...specOf(copy) };
  if (replicas === undefined) delete spec.replicas;
  else spec.replicas = replicas;
  copy.spec = spec;
  return copy;
}

/** The key of a ConfigMap model-canary keeps for a model. */
export const configMapKey = (name: string, namespace: string): ObjectKey => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace,
  name,
});

/** A ConfigMap model-canary keeps for `model`: labelled with the model and as managed by model-canary. */
export function modelConfigMap(
  name: string,
  model: string,
  namespace: string,
  data: Record<string, string>,
): KubeObject {
  return {
    ...configMapKey(name, namespace),
    metadata: { name, namespace, labels: { app: model, 'app.kubernetes.io/managed-by': 'model-canary' } },
    data,
  } as KubeObject;
}
