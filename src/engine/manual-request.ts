// Promote or abort a rollout another run holds: the request goes into the cluster, the running rollout takes it at
// its next look, and the requester waits for the verdict that rollout records in the history.
import type { HistoryRecord } from '../core/history.js';
import { isConflict } from '../core/conflict.js';
import { parseRequest, requestKey, requestObject, type ManualRequest } from '../core/manual-request.js';
import type { Clock, Cluster } from '../core/ports.js';
import { readHistory } from './history.js';
import { leaseKey } from './lease.js';

export class RequestPendingError extends Error {
  override readonly name = 'RequestPendingError';
}

/** Files the request; one at a time per model. */
export async function fileRequest(cluster: Cluster, model: string, namespace: string, request: ManualRequest) {
  try {
    await cluster.apply(requestObject(model, namespace, request), { createOnly: true });
  } catch (error) {
    if (!isConflict(error)) throw error;
    const pending = parseRequest(await cluster.get(requestKey(model, namespace)));
    throw new RequestPendingError(
      `a request to ${pending?.action ?? 'act on'} ${namespace}/${model} is already pending (ConfigMap ${requestKey(model, namespace).name}): wait for it`,
    );
  }
}

/** For the running rollout: the request addressed to `holder`, taken (deleted) so it is acted on once. */
export async function takeRequest(
  cluster: Cluster,
  model: string,
  namespace: string,
  holder: string,
): Promise<ManualRequest | undefined> {
  const request = parseRequest(await cluster.get(requestKey(model, namespace)));
  if (!request || request.holder !== holder) return undefined;
  await cluster.delete(requestKey(model, namespace));
  return request;
}

export async function withdrawRequest(cluster: Cluster, model: string, namespace: string): Promise<void> {
  await cluster.delete(requestKey(model, namespace));
}

/**
 * Waits until `holder` no longer holds the model's Lease (its rollout ended), then returns the history's newest
 * record; undefined when `timeoutMs` passed first.
 */
export async function awaitRolloutEnd(
  cluster: Cluster,
  target: { model: string; namespace: string },
  holder: string,
  clock: Clock,
  timeoutMs: number,
): Promise<HistoryRecord | undefined> {
  const deadline = clock.now().getTime() + timeoutMs;
  for (;;) {
    const lease = await cluster.get(leaseKey(target.model, target.namespace));
    if ((lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity !== holder) {
      const records = await readHistory(cluster, target.model, target.namespace);
      return records[records.length - 1];
    }
    if (clock.now().getTime() >= deadline) return undefined;
    await clock.sleep(1000);
  }
}
