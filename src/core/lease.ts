// One rollout at a time per model: may this run take or renew the Lease now? Pure; the engine does the I/O.
import type { KubeObject } from './ports.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export const leaseName = (model: string): string => `model-canary-${model}`;

export type LeaseDecision =
  | { action: 'create' | 'renew' | 'take-over'; spec: LeaseSpec }
  | { action: 'refuse'; holder: string; expiresAt: Date; message: string };

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export const microTime = (at: Date): string => at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export function leaseExpiry(spec: LeaseSpec): Date | undefined {
  const renewed = spec.renewTime ?? spec.acquireTime;
  if (!renewed) return undefined;
  return new Date(Date.parse(renewed) + (spec.leaseDurationSeconds ?? 0) * 1000);
}

export function leaseRefusal(model: string, namespace: string, holder: string, expiresAt: Date, now: Date): string {
  const left = Math.max(0, Math.ceil((expiresAt.getTime() - now.getTime()) / 1000));
  return (
    `another rollout of model ${model} holds Lease ${namespace}/${leaseName(model)}: holder ${holder}, ` +
    `expires at ${expiresAt.toISOString()} (in ${left} s) unless renewed. Wait for that run to finish, ` +
    `or set wait-for-lease: true to queue behind it`
  );
}

/** Decide for `holder` at `now`, given the Lease as it is in the cluster (undefined: none yet). */
export function decideLease(
  lease: KubeObject | undefined,
  holder: string,
  now: Date,
  durationSeconds: number,
  context: { model: string; namespace: string },
): LeaseDecision {
  const fresh = (spec: LeaseSpec, transitions: number): LeaseSpec => ({
    holderIdentity: holder,
    leaseDurationSeconds: durationSeconds,
    acquireTime: spec.holderIdentity === holder && spec.acquireTime ? spec.acquireTime : microTime(now),
    renewTime: microTime(now),
    leaseTransitions: transitions,
  });
  if (!lease) return { action: 'create', spec: fresh({}, 0) };
  const spec = (lease.spec ?? {}) as LeaseSpec;
  const transitions = spec.leaseTransitions ?? 0;
  if (spec.holderIdentity === holder) return { action: 'renew', spec: fresh(spec, transitions) };
  const expiresAt = leaseExpiry(spec);
  if (!spec.holderIdentity || !expiresAt || expiresAt.getTime() <= now.getTime()) {
    return { action: 'take-over', spec: fresh({}, transitions + 1) };
  }
  return {
    action: 'refuse',
    holder: spec.holderIdentity,
    expiresAt,
    message: leaseRefusal(context.model, context.namespace, spec.holderIdentity, expiresAt, now),
  };
}
