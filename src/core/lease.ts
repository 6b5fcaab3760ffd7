// One rollout at a time per model: may this run take or renew the Lease now? Pure; the engine does the I/O.
//
// Expiry is judged as client-go's leader election judges it, never by comparing clocks: another holder's Lease is
// taken over only after this run has seen it unchanged (same resourceVersion) for the Lease's whole duration on its
// own monotonic clock. The holder, in turn, counts itself as having lost the Lease once it could not renew it for
// RENEW_DEADLINE of that duration on its own clock, so it stops before any taker can start. Other machines' wall
// clocks (the Lease's renewTime) are used only to refuse at once, which is always safe, never to take.
import type { KubeObject } from './ports.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export const leaseName = (model: string): string => `model-canary-${model}`;

export const DEFAULT_LEASE_SECONDS = 60;
/** The share of the duration a holder may go without a renewal before it stops: the rest is the safety margin. */
export const RENEW_DEADLINE = 2 / 3;

/** What this run has seen of another holder's Lease: since when (own monotonic ms) it has been unchanged. */
export interface LeaseObservation {
  resourceVersion: string;
  holder: string;
  sinceMs: number;
}

export type LeaseDecision =
  | { action: 'create' | 'renew' | 'take-over'; spec: LeaseSpec }
  | {
      action: 'wait';
      holder: string;
      observation: LeaseObservation;
      /** Own monotonic ms at which the Lease may be taken over if it is still unchanged then. */
      takeableAtMs: number;
      /** By the holder's renewTime and this machine's wall clock (an estimate, for messages and for refusing). */
      expiresAt: Date;
      looksLive: boolean;
    };

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export const microTime = (at: Date): string => at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export function leaseExpiry(spec: LeaseSpec): Date | undefined {
  const renewed = spec.renewTime ?? spec.acquireTime;
  if (!renewed) return undefined;
  return new Date(Date.parse(renewed) + (spec.leaseDurationSeconds ?? 0) * 1000);
}

/** Who holds the Lease by its own words and this machine's wall clock: for status and messages, never for taking. */
export function apparentHolder(lease: KubeObject | undefined, now: Date): string | undefined {
  const spec = (lease?.spec ?? {}) as LeaseSpec;
  const expiresAt = leaseExpiry(spec);
  return spec.holderIdentity && expiresAt && expiresAt.getTime() > now.getTime() ? spec.holderIdentity : undefined;
}

export function leaseRefusal(model: string, namespace: string, holder: string, expiresAt: Date, now: Date): string {
  const left = Math.max(0, Math.ceil((expiresAt.getTime() - now.getTime()) / 1000));
  return (
    `another rollout of model ${model} holds Lease ${namespace}/${leaseName(model)}: holder ${holder}, ` +
    `expires at ${expiresAt.toISOString()} (in ${left} s) unless renewed. Wait for that run to finish, ` +
    `or set wait-for-lease: true to queue behind it`
  );
}

export interface LeaseLook {
  /** This machine's wall clock: written into acquireTime/renewTime, as Kubernetes expects. */
  now: Date;
  /** This run's monotonic clock, in ms. */
  nowMs: number;
  /** What this run saw at its previous look, if anything. */
  observed?: LeaseObservation;
}

/** Decide for `holder`, given the Lease as it is in the cluster (undefined: none yet). */
export function decideLease(
  lease: KubeObject | undefined,
  holder: string,
  look: LeaseLook,
  durationSeconds: number,
): LeaseDecision {
  const fresh = (spec: LeaseSpec, transitions: number): LeaseSpec => ({
    holderIdentity: holder,
    leaseDurationSeconds: durationSeconds,
    acquireTime: spec.holderIdentity === holder && spec.acquireTime ? spec.acquireTime : microTime(look.now),
    renewTime: microTime(look.now),
    leaseTransitions: transitions,
  });
  if (!lease) return { action: 'create', spec: fresh({}, 0) };
  const spec = (lease.spec ?? {}) as LeaseSpec;
  const transitions = spec.leaseTransitions ?? 0;
  if (spec.holderIdentity === holder) return { action: 'renew', spec: fresh(spec, transitions) };
  // A released Lease (no holder) is free at once.
  if (!spec.holderIdentity) return { action: 'take-over', spec: fresh({}, transitions + 1) };
  const resourceVersion = lease.metadata.resourceVersion ?? '';
  const unchanged = look.observed?.resourceVersion === resourceVersion && look.observed.holder === spec.holderIdentity;
  const observation = unchanged
    ? look.observed!
    : { resourceVersion, holder: spec.holderIdentity, sinceMs: look.nowMs };
  const takeableAtMs = observation.sinceMs + (spec.leaseDurationSeconds ?? DEFAULT_LEASE_SECONDS) * 1000;
  if (look.nowMs >= takeableAtMs) return { action: 'take-over', spec: fresh({}, transitions + 1) };
  const expiresAt = leaseExpiry(spec) ?? look.now;
  return {
    action: 'wait',
    holder: spec.holderIdentity,
    observation,
    takeableAtMs,
    expiresAt,
    looksLive: expiresAt.getTime() > look.now.getTime(),
  };
}
