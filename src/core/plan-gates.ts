// What `plan` shows about the gates before a rollout: each gate's PromQL with the selectors filled in, and how soon
// a typical regression would be caught at the expected traffic. Pure.
import { describeErrorRateDetection, latencyDetection, type TrafficAssumption } from './detection.js';
import type { GateSpec } from './gate-config.js';
import { displayQuery, gateQueries, isStatistical, type GateContext } from './gates.js';
import { gateAlpha, thresholdText } from './judge.js';

export interface GatePlan {
  name: string;
  threshold: string;
  /** Value query for canary and baseline (for drift: the bucket queries). */
  canaryQuery: string;
  baselineQuery: string;
  /** Expected time to detect a typical regression, when the gate is statistical and traffic is known. */
  detection?: string;
}

export interface PlanTraffic {
  /** Requests per second the model serves in total; the canary gets `weight`% of it. */
  rps: number;
  /** The first step's weight in percent. */
  weight: number;
  intervalSeconds: number;
  alpha: number;
  /** Baseline error rate to assume (default 0.5%). */
  baselineErrorRate?: number;
}

function detectionText(gate: GateSpec, traffic: PlanTraffic, statisticalGates: number): string | undefined {
  if (!isStatistical(gate) || gate.maxRatio === undefined) return undefined;
  const canaryRps = (traffic.rps * traffic.weight) / 100;
  const assumption: TrafficAssumption = {
    canaryRps,
    baselineRps: traffic.rps - canaryRps,
    intervalSeconds: traffic.intervalSeconds,
    alpha: gateAlpha(gate, { alpha: traffic.alpha, look: 1 }, statisticalGates),
  };
  if (gate.builtin === 'error-rate' || gate.builtin === 'invalid-output-rate') {
    const base = traffic.baselineErrorRate ?? 0.005;
    return describeErrorRateDetection(base, base * 10, gate.maxRatio, assumption);
  }
  const detection = latencyDetection(0.72, assumption);
  return detection.seconds === undefined
    ? `a 1.5x slow-down would not be caught within 3600 s at ${canaryRps} rps on the canary`
    : `a 1.5x slow-down at ${Number(canaryRps.toPrecision(3))} rps on the canary would be caught in about ${detection.seconds} s`;
}

export function planGates(gates: GateSpec[], context: GateContext, traffic?: PlanTraffic): GatePlan[] {
  const statisticalGates = gates.filter(isStatistical).length;
  return gates.map((gate) => {
    const queries = gateQueries(gate, context);
    const pair = queries.value ?? queries.buckets ?? { canary: displayQuery(queries), baseline: '' };
    const plan: GatePlan = {
      name: gate.name,
      threshold: thresholdText(gate),
      canaryQuery: pair.canary,
      baselineQuery: pair.baseline,
    };
    const detection = traffic ? detectionText(gate, traffic, statisticalGates) : undefined;
    if (detection) plan.detection = detection;
    return plan;
  });
}
