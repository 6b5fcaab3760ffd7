// A person's request to promote or abort a rollout that another run holds: kept in the cluster, in ConfigMap
// model-canary-<model>-request, addressed to the Lease holder it was made against. Pure: shapes and words only.
import { configMapKey, modelConfigMap } from './kube.js';
import type { KubeObject, ObjectKey } from './ports.js';

export type ManualAction = 'promote' | 'abort';

export interface ManualRequest {
  action: ManualAction;
  /** The Lease holder (the running rollout's run) the request is for: a later run never acts on it. */
  holder: string;
  requestedAt: string;
  actor?: string;
  /** The requesting run's URL. */
  run?: string;
}

export const requestConfigMapName = (model: string): string => `model-canary-${model}-request`;

export const requestKey = (model: string, namespace: string): ObjectKey =>
  configMapKey(requestConfigMapName(model), namespace);

export function requestObject(model: string, namespace: string, request: ManualRequest): KubeObject {
  return modelConfigMap(requestConfigMapName(model), model, namespace, { 'request.json': JSON.stringify(request) });
}

/** The request a ConfigMap holds, or undefined when it holds none that makes sense. */
export function parseRequest(configMap: KubeObject | undefined): ManualRequest | undefined {
  const text = (configMap?.data as Record<string, string> | undefined)?.['request.json'];
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<ManualRequest>;
    if ((parsed.action !== 'promote' && parsed.action !== 'abort') || typeof parsed.holder !== 'string')
      return undefined;
    return parsed as ManualRequest;
  } catch {
    return undefined;
  }
}

/** `by octocat from https://github.com/o/r/actions/runs/7` (each part when known). */
export function requester(request: ManualRequest): string {
  return [request.actor && `by ${request.actor}`, request.run && `from ${request.run}`].filter(Boolean).join(' ');
}
