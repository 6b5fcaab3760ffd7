// Reads and writes the model's rollout record (core/rollout-record.ts) through the Cluster port.
import { isConflict } from '../core/conflict.js';
import type { Cluster } from '../core/ports.js';
import {
  parseRolloutRecord,
  rolloutRecordKey,
  rolloutRecordObject,
  type RolloutRecord,
} from '../core/rollout-record.js';

export async function readRolloutRecord(
  cluster: Cluster,
  model: string,
  namespace: string,
): Promise<RolloutRecord | undefined> {
  return parseRolloutRecord(await cluster.get(rolloutRecordKey(model, namespace)));
}

/** Writes the record whole; the last writer wins, as only the Lease holder writes it. */
export async function writeRolloutRecord(cluster: Cluster, record: RolloutRecord): Promise<void> {
  const object = rolloutRecordObject(record);
  try {
    await cluster.apply(object, { force: true });
  } catch (error) {
    if (!isConflict(error)) throw error;
    await cluster.apply(object, { force: true });
  }
}

/** Changes some fields of the record in the cluster, when there is one. */
export async function updateRolloutRecord(
  cluster: Cluster,
  model: string,
  namespace: string,
  changes: Partial<RolloutRecord>,
  now: Date,
): Promise<void> {
  const record = await readRolloutRecord(cluster, model, namespace);
  if (record) await writeRolloutRecord(cluster, { ...record, ...changes, updatedAt: now.toISOString() });
}
