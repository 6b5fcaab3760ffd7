// One rollout at a time per model: a coordination.k8s.io/v1 Lease held by the run's id, renewed in the background.
import type { Clock, Cluster, KubeObject, Logger, ObjectKey } from '../core/ports.js';
import { isConflict } from '../core/conflict.js';
import { decideLease, leaseName } from '../core/lease.js';

export interface LeaseOptions {
  model: string;
  namespace: string;
  /** The run's id (e.g. `<repo>/<run_id>/<attempt>`). */
  holder: string;
  clock: Clock;
  durationSeconds?: number;
  /** Renew this often (default a third of the duration). */
  renewEveryMs?: number;
  /** Wait for another holder's lease to end instead of failing at once. */
  waitForLease?: boolean;
  /** Give up waiting after this long (default 30 min). */
  waitTimeoutMs?: number;
  logger?: Logger;
}

export interface HeldLease {
  /** Stops renewing and gives the Lease up. */
  release(): Promise<void>;
  /** Set when a renewal found another holder: the rollout must stop. */
  lost(): string | undefined;
}

export class LeaseHeldError extends Error {
  override readonly name = 'LeaseHeldError';
  constructor(
    message: string,
    readonly holder: string,
    readonly expiresAt: Date,
  ) {
    super(message);
  }
}

export const leaseKey = (model: string, namespace: string): ObjectKey => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  namespace,
  name: leaseName(model),
});

const keyFor = (options: LeaseOptions): ObjectKey => leaseKey(options.model, options.namespace);

/** Who holds the model's Lease now (undefined: nobody, or it expired), as `holder` would be told. */
export async function leaseHolder(
  cluster: Cluster,
  model: string,
  namespace: string,
  holder: string,
  now: Date,
): Promise<string | undefined> {
  const decision = decideLease(await cluster.get(leaseKey(model, namespace)), holder, now, 60, { model, namespace });
  return decision.action === 'refuse' ? decision.holder : undefined;
}

/** One try: take or renew the Lease, or say who holds it. Races lost to another writer are re-read and retried. */
async function tryTake(cluster: Cluster, options: LeaseOptions): Promise<LeaseHeldError | undefined> {
  const key = keyFor(options);
  for (let attempt = 0; attempt < 5; attempt++) {
    const live = await cluster.get(key);
    const decision = decideLease(live, options.holder, options.clock.now(), options.durationSeconds ?? 60, options);
    if (decision.action === 'refuse') return new LeaseHeldError(decision.message, decision.holder, decision.expiresAt);
    const lease: KubeObject = {
      apiVersion: key.apiVersion,
      kind: key.kind,
      metadata: {
        name: key.name,
        namespace: key.namespace,
        labels: { app: options.model, 'app.kubernetes.io/managed-by': 'model-canary' },
      },
      spec: decision.spec,
    };
    try {
      if (decision.action === 'create') await cluster.apply(lease, { createOnly: true });
      else
        await cluster.apply(
          { ...lease, metadata: { ...lease.metadata, resourceVersion: live?.metadata.resourceVersion } },
          { force: true },
        );
      return undefined;
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
  throw new Error(
    `Lease ${options.namespace}/${key.name} keeps changing under us: another run is contending for it; re-run later`,
  );
}

export async function acquireLease(cluster: Cluster, options: LeaseOptions): Promise<HeldLease> {
  const started = options.clock.now().getTime();
  for (;;) {
    const refused = await tryTake(cluster, options);
    if (!refused) break;
    if (!options.waitForLease) throw refused;
    if (options.clock.now().getTime() - started > (options.waitTimeoutMs ?? 30 * 60 * 1000)) {
      throw new LeaseHeldError(`gave up waiting: ${refused.message}`, refused.holder, refused.expiresAt);
    }
    options.logger?.info(`waiting for ${refused.holder} to release Lease ${leaseName(options.model)}`);
    await options.clock.sleep(
      Math.min(5000, Math.max(50, refused.expiresAt.getTime() - options.clock.now().getTime())),
    );
  }
  let stopped = false;
  let lostTo: string | undefined;
  // Releasing must not wait out the renewal's sleep, nor leave its timer running.
  let wake: () => void = () => undefined;
  const woken = new Promise<void>((resolve) => (wake = resolve));
  const released = new AbortController();
  const every = options.renewEveryMs ?? ((options.durationSeconds ?? 60) * 1000) / 3;
  const renewing = (async () => {
    while (!stopped) {
      await Promise.race([options.clock.sleep(every, released.signal), woken]);
      if (stopped) break;
      try {
        const refused = await tryTake(cluster, options);
        if (refused) {
          lostTo = refused.holder;
          break;
        }
      } catch (error) {
        options.logger?.warn(`renewing Lease ${leaseName(options.model)} failed, will retry: ${String(error)}`);
      }
    }
  })();
  return {
    lost: () => lostTo,
    release: async () => {
      stopped = true;
      released.abort();
      wake();
      await renewing;
      const live = await cluster.get(keyFor(options));
      if ((live?.spec as { holderIdentity?: string } | undefined)?.holderIdentity === options.holder)
        await cluster.delete(keyFor(options));
    },
  };
}
