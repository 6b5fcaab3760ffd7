// What `plan` shows about the gates before a rollout: each gate's PromQL with the selectors filled in, and (from the
// simulated rollouts of engine/rollout-estimate.ts) how soon a typical regression would be caught. Pure.
import type { GateSpec } from './gate-config.js';
import { displayQuery, gateQueries, type GateContext } from './gates.js';
import { thresholdText } from './judge.js';

export interface GatePlan {
  name: string;
  threshold: string;
  /** Requests the gate needs in the window before it can pass. */
  minRequests: number;
  /** Value query for canary and baseline (for drift: the bucket queries). */
  canaryQuery: string;
  baselineQuery: string;
  /** Expected time to catch a typical regression at the expected traffic, when estimated. */
  detection?: string;
}

export function planGates(
  gates: GateSpec[],
  context: GateContext,
  detections: Record<string, string> = {},
): GatePlan[] {
  return gates.map((gate) => {
    const queries = gateQueries(gate, context);
    const pair = queries.value ?? queries.buckets ?? { canary: displayQuery(queries), baseline: '' };
    const detection = detections[gate.name];
    return {
      name: gate.name,
      threshold: thresholdText(gate),
      minRequests: gate.minRequests,
      canaryQuery: pair.canary,
      baselineQuery: pair.baseline,
      ...(detection ? { detection } : {}),
    };
  });
}
