// One rollout at a time per model: a coordination.k8s.io/v1 Lease held by the job's id, renewed in the background.
// Every write to the Lease is pinned to the resourceVersion it was decided on, so two runs can never both win a race;
// when and how a Lease may be taken is core/lease.ts's to say.
import type { ApplyOptions, Clock, Cluster, KubeObject, Logger, ObjectKey } from '../core/ports.js';
import { isConflict } from '../core/conflict.js';
import {
  apparentHolder,
  DEFAULT_LEASE_SECONDS,
  decideLease,
  leaseName,
  leaseRefusal,
  RENEW_DEADLINE,
  type LeaseObservation,
} from '../core/lease.js';
import { formatDuration } from '../core/duration.js';

export interface LeaseOptions {
  model: string;
  namespace: string;
  /** The job's id (e.g. `<repo>/actions/runs/<id>/attempts/<n>/<job>/<nonce>`). */
  holder: string;
  clock: Clock;
  durationSeconds?: number;
  /** Renew this often (default a quarter of the duration). */
  renewEveryMs?: number;
  /** Wait for another holder's lease to end instead of failing at once. */
  waitForLease?: boolean;
  /** Give up waiting after this long (default 30 min). */
  waitTimeoutMs?: number;
  logger?: Logger;
}

export interface HeldLease {
  /** Stops renewing and gives the Lease up, unless another run holds it by then. */
  release(): Promise<void>;
  /**
   * Why the rollout must stop: another run took the Lease, or it went unrenewed for the renew deadline on this run's
   * own clock (judged at the call, not by a timer). Once set it stays set.
   */
  lost(): string | undefined;
  /** Aborts as soon as the Lease is known lost: long waits end on it. */
  readonly signal: AbortSignal;
  /** Renews now: whether this run holds the Lease at this moment (after a loss: may it still clean up?). */
  holdsNow(): Promise<boolean>;
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

export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

export const leaseKey = (model: string, namespace: string): ObjectKey => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  namespace,
  name: leaseName(model),
});

const keyFor = (options: LeaseOptions): ObjectKey => leaseKey(options.model, options.namespace);
const holderOf = (lease: KubeObject | undefined) =>
  (lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;

/** Who holds the model's Lease now, other than `self` (undefined: nobody, or it looks expired). */
export async function leaseHolder(
  cluster: Cluster,
  model: string,
  namespace: string,
  self: string,
  now: Date,
): Promise<string | undefined> {
  const holder = apparentHolder(await cluster.get(leaseKey(model, namespace)), now);
  return holder === self ? undefined : holder;
}

type Take =
  | { held: true }
  | {
      held: false;
      holder: string;
      observation: LeaseObservation;
      takeableAtMs: number;
      expiresAt: Date;
      looksLive: boolean;
    };

/** One try: take or renew the Lease, or say who holds it. Races lost to another writer are re-read and decided anew. */
async function tryTake(cluster: Cluster, options: LeaseOptions, observed?: LeaseObservation): Promise<Take> {
  const key = keyFor(options);
  const duration = options.durationSeconds ?? DEFAULT_LEASE_SECONDS;
  for (let attempt = 0; attempt < 5; attempt++) {
    const live = await cluster.get(key);
    const look = { now: options.clock.now(), nowMs: options.clock.monotonicMs(), ...(observed ? { observed } : {}) };
    const decision = decideLease(live, options.holder, look, duration);
    if (decision.action === 'wait') return { held: false, ...decision };
    const lease: KubeObject = {
      apiVersion: key.apiVersion,
      kind: key.kind,
      metadata: {
        name: key.name,
        namespace: key.namespace,
        labels: { app: options.model, 'app.kubernetes.io/managed-by': 'model-canary' },
        // The precondition: if anyone wrote the Lease since we read it, this write fails and we decide again.
        ...(live ? { resourceVersion: live.metadata.resourceVersion } : {}),
      },
      spec: decision.spec,
    };
    const how: ApplyOptions = decision.action === 'create' ? { createOnly: true } : { force: true };
    try {
      await cluster.apply(lease, how);
      return { held: true };
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
  throw new Error(
    `Lease ${options.namespace}/${key.name} keeps changing under us: another run is contending for it; re-run later`,
  );
}

/** Takes the Lease, waiting out (or watching, to see that it is dead) another holder's; then keeps it renewed. */
export async function acquireLease(cluster: Cluster, options: LeaseOptions): Promise<HeldLease> {
  const { clock, logger } = options;
  const started = clock.monotonicMs();
  let observed: LeaseObservation | undefined;
  let renewedFrom: number;
  for (;;) {
    const attemptFrom = clock.monotonicMs();
    const take = await tryTake(cluster, options, observed);
    if (take.held) {
      renewedFrom = attemptFrom;
      break;
    }
    // A holder that renews while we watch is alive, whatever the clocks say.
    const renewedWhileWatched = observed !== undefined && observed.resourceVersion !== take.observation.resourceVersion;
    observed = take.observation;
    const refusal = () =>
      new LeaseHeldError(
        renewedWhileWatched && !take.looksLive
          ? `another rollout of model ${options.model} holds Lease ${options.namespace}/${leaseName(options.model)}: ` +
              `holder ${take.holder} renewed it while this run watched (its clock or ours is off). Wait for that run ` +
              'to finish, or set wait-for-lease: true to queue behind it'
          : leaseRefusal(options.model, options.namespace, take.holder, take.expiresAt, clock.now()),
        take.holder,
        take.expiresAt,
      );
    if (!options.waitForLease) {
      if (take.looksLive || renewedWhileWatched) throw refusal();
    } else if (clock.monotonicMs() - started > (options.waitTimeoutMs ?? 30 * 60 * 1000)) {
      const held = refusal();
      throw new LeaseHeldError(`gave up waiting: ${held.message}`, held.holder, held.expiresAt);
    }
    const left = Math.max(0, take.takeableAtMs - clock.monotonicMs());
    logger?.info(
      take.looksLive
        ? `waiting for ${take.holder} to release Lease ${leaseName(options.model)}`
        : `Lease ${leaseName(options.model)} of ${take.holder} looks expired: taking it over if it stays ` +
            `unrenewed for ${formatDuration(left)} more`,
    );
    await clock.sleep(Math.min(5000, Math.max(50, left)));
  }
  return keepRenewed(cluster, options, renewedFrom);
}

function keepRenewed(cluster: Cluster, options: LeaseOptions, renewedAt: number): HeldLease {
  const { clock, logger } = options;
  const durationMs = (options.durationSeconds ?? DEFAULT_LEASE_SECONDS) * 1000;
  const deadlineMs = durationMs * RENEW_DEADLINE;
  const every = options.renewEveryMs ?? durationMs / 4;
  const name = leaseName(options.model);
  // Measured from when the last successful renewal was sent: a taker's watch starts after it landed.
  let renewedFrom = renewedAt;
  let takenBy: string | undefined;
  let lostReason: string | undefined;
  const lostSignal = new AbortController();
  const released = new AbortController();
  const lose = (reason: string) => {
    lostReason ??= reason;
    if (!lostSignal.signal.aborted) {
      logger?.warn(`${reason}: stopping this rollout`);
      lostSignal.abort();
    }
  };
  const unrenewedFor = () => clock.monotonicMs() - renewedFrom;
  const lost = () => {
    if (lostReason === undefined && unrenewedFor() >= deadlineMs)
      lose(`could not renew Lease ${options.namespace}/${name} for ${formatDuration(unrenewedFor())}`);
    return lostReason;
  };
  const renew = async (): Promise<boolean> => {
    if (takenBy !== undefined) return false;
    const from = clock.monotonicMs();
    const take = await tryTake(cluster, options);
    if (take.held) {
      renewedFrom = from;
      return true;
    }
    takenBy = take.holder;
    lose(`another run took Lease ${options.namespace}/${name}: holder ${take.holder}`);
    return false;
  };
  const renewing = (async () => {
    let failed = false;
    while (!released.signal.aborted && takenBy === undefined) {
      // After a failure retry sooner, and wake at the deadline so the loss is seen when it happens.
      const wait = failed ? Math.min(every, durationMs / 15) : every;
      await clock.sleep(Math.max(10, Math.min(wait, deadlineMs - unrenewedFor())), released.signal);
      if (released.signal.aborted) break;
      try {
        failed = !(await renew());
      } catch (error) {
        failed = true;
        logger?.warn(`renewing Lease ${name} failed, will retry: ${String(error)}`);
      }
      lost();
    }
  })();
  return {
    lost,
    signal: lostSignal.signal,
    holdsNow: async () => {
      if (lost() === undefined) return true;
      return renew().catch(() => false);
    },
    release: async () => {
      released.abort();
      await renewing;
      // Deleted only if it is still ours, as we read it: a run that took it since keeps it.
      for (let attempt = 0; attempt < 5; attempt++) {
        const live = await cluster.get(keyFor(options));
        if (holderOf(live) !== options.holder) return;
        try {
          await cluster.delete(keyFor(options), { resourceVersion: live?.metadata.resourceVersion });
          return;
        } catch (error) {
          if (!isConflict(error)) throw error;
        }
      }
    },
  };
}

/**
 * The cluster as a Lease holder may write to it: every write first asks whether the Lease is still held (renewing it
 * when in doubt), so a run that lost it to another cannot touch the objects the other now owns.
 */
export function leaseGuardedCluster(cluster: Cluster, lease: HeldLease): Cluster {
  const mayWrite = async (what: string) => {
    if (lease.lost() === undefined || (await lease.holdsNow())) return;
    throw new LeaseLostError(`${lease.lost()}: not writing ${what}, another run holds the model now`);
  };
  const named = (key: ObjectKey) => `${key.kind} ${key.namespace ?? ''}/${key.name}`;
  return {
    apply: async (object, options) => {
      await mayWrite(named({ ...object, namespace: object.metadata.namespace, name: object.metadata.name }));
      return cluster.apply(object, options);
    },
    delete: async (key, options) => {
      await mayWrite(named(key));
      return cluster.delete(key, options);
    },
    get: (key) => cluster.get(key),
    list: (apiVersion, kind, namespace, labelSelector) => cluster.list(apiVersion, kind, namespace, labelSelector),
    waitForDeployment: (namespace, name, timeoutMs) => cluster.waitForDeployment(namespace, name, timeoutMs),
  };
}
