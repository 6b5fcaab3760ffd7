// Rollout history in the cluster: ConfigMap model-canary-<model>-history (last 20 records, and the revision the
// stable runs under `current`) and the current revision as an annotation on a stable Deployment. An
// InferenceService carries no revision annotation that changes: KServe copies its annotations into the Knative
// revision template, so a new number at promote would start one more revision of the same pods; its current revision
// is the ConfigMap's. `rollbackTo` re-applies a recorded revision's image without a rebuild.
import type { Cluster, KubeObject, ObjectKey } from '../core/ports.js';
import type { RolloutTarget } from '../core/target.js';
import { isConflict } from '../core/conflict.js';
import {
  appendRecord,
  historyConfigMapName,
  nextRevision,
  parseHistory,
  pickRevision,
  rollbackOfThisRun,
  REVISION_ANNOTATION,
  serializeHistory,
  type HistoryRecord,
} from '../core/history.js';
import { keyOf } from '../core/routers/index.js';
import { promote, type ClusterRolloutOptions } from './rollout-cluster.js';

const historyKey = (model: string, namespace: string): ObjectKey => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace,
  name: historyConfigMapName(model),
});

export async function readHistory(cluster: Cluster, model: string, namespace: string): Promise<HistoryRecord[]> {
  const key = historyKey(model, namespace);
  const configMap = await cluster.get(key);
  return parseHistory(configMap?.data as Record<string, string> | undefined, `${namespace}/${key.name}`);
}

/** Adds (or, for the same revision, replaces) a record; a concurrent writer's change is re-read, never lost. */
export async function writeRecord(
  cluster: Cluster,
  model: string,
  namespace: string,
  record: HistoryRecord,
  options: { current?: boolean } = {},
): Promise<HistoryRecord[]> {
  const key = historyKey(model, namespace);
  for (let attempt = 0; attempt < 5; attempt++) {
    const live = await cluster.get(key);
    const records = appendRecord(
      parseHistory(live?.data as Record<string, string> | undefined, `${namespace}/${key.name}`),
      record,
    );
    const configMap: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: key.name,
        namespace,
        labels: { app: model, 'app.kubernetes.io/managed-by': 'model-canary' },
        ...(live ? { resourceVersion: live.metadata.resourceVersion } : {}),
      },
      data: { ...serializeHistory(records), ...currentEntry(options.current ? record.revision : currentOf(live)) },
    };
    try {
      await cluster.apply(configMap, live ? { force: true } : { createOnly: true });
      return records;
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
  throw new Error(`ConfigMap ${namespace}/${key.name} keeps changing under us: another run is writing history; re-run`);
}

const CURRENT_KEY = 'current';

function currentOf(configMap: KubeObject | undefined): number | undefined {
  const value = (configMap?.data as Record<string, string> | undefined)?.[CURRENT_KEY];
  return value === undefined || !/^\d+$/.test(value) ? undefined : Number(value);
}

const currentEntry = (revision: number | undefined): Record<string, string> =>
  revision === undefined ? {} : { [CURRENT_KEY]: String(revision) };

/** The revision the stable runs: a Deployment's annotation; an InferenceService's from the history (see above). */
export async function currentRevision(cluster: Cluster, target: RolloutTarget): Promise<number | undefined> {
  const live = await cluster.get(keyOf(target.stable));
  const recorded =
    target.stable.kind === 'InferenceService'
      ? currentOf(await cluster.get(historyKey(target.model, target.namespace)))
      : undefined;
  const value = live?.metadata.annotations?.[REVISION_ANNOTATION];
  return recorded ?? (value === undefined ? undefined : Number(value));
}

/** The target re-pointed at a recorded image: the canary Deployment (if any) gets it too, though none is applied. */
function targetWithImage(target: RolloutTarget, image: string): RolloutTarget {
  const swap = (object: KubeObject | undefined): KubeObject | undefined => {
    if (!object) return object;
    const text = JSON.stringify(object);
    return JSON.parse(text.split(JSON.stringify(target.image)).join(JSON.stringify(image))) as KubeObject;
  };
  return { ...target, image, canary: swap(target.canary) };
}

export interface RollbackToResult {
  record: HistoryRecord;
  revision: number;
  ready: boolean;
  reason?: string;
}

/** The record a rollback re-applies, and the revision it will be recorded as (read-only: a dry run shows this). */
export async function rollbackChoice(
  cluster: Cluster,
  target: RolloutTarget,
  to: 'previous' | number,
  runUrl: string | undefined,
): Promise<{ chosen: HistoryRecord; revision: number }> {
  const records = await readHistory(cluster, target.model, target.namespace);
  const again = to === 'previous' ? rollbackOfThisRun(records, runUrl) : undefined;
  const chosen = again ?? pickRevision(records, to, await currentRevision(cluster, target));
  return { chosen, revision: again?.revision ?? nextRevision(records) };
}

/**
 * `rollback --to-revision previous|N`: stable re-runs that record's image (no build, no canary), and the re-apply is
 * recorded as a new revision. `target.image` should be what the stable runs now (any value is replaced).
 */
export async function rollbackTo(
  cluster: Cluster,
  target: RolloutTarget,
  to: 'previous' | number,
  options: ClusterRolloutOptions,
  record: Omit<HistoryRecord, 'revision' | 'image' | 'digest' | 'manifestHash' | 'verdict' | 'endedAt'>,
): Promise<RollbackToResult> {
  const { chosen, revision } = await rollbackChoice(cluster, target, to, record.runUrl);
  const result = await promote(cluster, targetWithImage(target, chosen.image), options, revision);
  await writeRecord(
    cluster,
    target.model,
    target.namespace,
    {
      ...record,
      revision,
      image: chosen.image,
      digest: chosen.digest,
      manifestHash: chosen.manifestHash,
      ...(chosen.model ? { model: chosen.model } : {}),
      verdict: result.ready ? 'rolled-back' : 'failed',
      endedAt: options.clock.now().toISOString(),
    },
    { current: result.ready },
  );
  return {
    record: chosen,
    revision,
    ready: result.ready,
    ...(result.ready ? {} : { reason: `${result.reason}: ${result.detail}` }),
  };
}
