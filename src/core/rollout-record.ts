// The model's rollout as the cluster holds it: ConfigMap model-canary-<model>-rollout. It keeps the target as applied
// (stable, canary, Service, router objects' sources), the router, and while a canary runs its weight, since when,
// the gates at the last look and the run that holds it. `promote`, `abort`, `rollback` and `status` read it, so
// they need only the model, the namespace and cluster credentials. Pure: shapes and words only.
import { configMapKey, modelConfigMap } from './kube.js';
import type { GateReport, KubeObject, ObjectKey } from './ports.js';
import { isRouterName, type RouterName } from './routers/index.js';
import type { RolloutTarget } from './target.js';

/** `running`: a deploy is stepping it; `canary`: left at one weight by `canary`; `held`: waiting for a person. */
export type RolloutRecordState = 'running' | 'canary' | 'held' | 'finished';

export interface RolloutRecord {
  state: RolloutRecordState;
  target: RolloutTarget;
  router: RouterName;
  revision: number;
  manifestHash: string;
  holder: string;
  startedAt: string;
  runUrl?: string;
  actor?: string;
  /** The canary's weight now, and since when. */
  weight?: number;
  weightSince?: string;
  /** The gates at the last look. */
  gates?: GateReport[];
  updatedAt: string;
}

export const RECORD_KEY = 'rollout.json';
export const rolloutConfigMapName = (model: string): string => `model-canary-${model}-rollout`;

export const rolloutRecordKey = (model: string, namespace: string): ObjectKey =>
  configMapKey(rolloutConfigMapName(model), namespace);

export const canaryRuns = (record: RolloutRecord | undefined): record is RolloutRecord =>
  record !== undefined && record.state !== 'finished';

export function rolloutRecordObject(record: RolloutRecord): KubeObject {
  const { model, namespace } = record.target;
  return modelConfigMap(rolloutConfigMapName(model), model, namespace, { [RECORD_KEY]: JSON.stringify(record) });
}

/** The record a ConfigMap holds; an unreadable one is an error that names the ConfigMap. */
export function parseRolloutRecord(configMap: KubeObject | undefined): RolloutRecord | undefined {
  const text = (configMap?.data as Record<string, string> | undefined)?.[RECORD_KEY];
  if (!text) return undefined;
  const where = `ConfigMap ${configMap?.metadata.namespace}/${configMap?.metadata.name}`;
  let parsed: Partial<RolloutRecord>;
  try {
    parsed = JSON.parse(text) as Partial<RolloutRecord>;
  } catch (error) {
    throw new Error(`${where}: ${RECORD_KEY} is not JSON (${(error as Error).message}); delete it to start afresh`, {
      cause: error,
    });
  }
  if (!parsed.target?.stable || typeof parsed.router !== 'string' || !isRouterName(parsed.router)) {
    throw new Error(`${where}: ${RECORD_KEY} is not a model-canary rollout record; delete it to start afresh`);
  }
  return parsed as RolloutRecord;
}
