// Aggregation of looks over time, with Argo Rollouts' semantics. Pure: the rollout state machine calls it after
// every look and acts on the answer.
import type { GateLook } from './judge.js';

export interface AnalysisLimits {
  /** Failed looks of one gate tolerated; one more fails the analysis (Argo default 0). */
  failureLimit: number;
  /** Inconclusive looks of one gate tolerated; one more makes the analysis inconclusive. */
  inconclusiveLimit: number;
  /** Consecutive error looks of one gate tolerated (Prometheus down, ...); one more: inconclusive (Argo default 4). */
  consecutiveErrorLimit: number;
}

export const DEFAULT_LIMITS: AnalysisLimits = { failureLimit: 0, inconclusiveLimit: 3, consecutiveErrorLimit: 4 };

export interface Look {
  at: string;
  gates: GateLook[];
}

export type AnalysisState = 'continue' | 'pass' | 'fail' | 'inconclusive';

export interface AnalysisDecision {
  state: AnalysisState;
  reason: string;
  /** The gate that decided, when one did. */
  gate?: string;
}

interface GateTally {
  name: string;
  failures: number;
  inconclusive: number;
  consecutiveErrors: number;
  last?: GateLook;
}

function tally(looks: Look[]): GateTally[] {
  const byName = new Map<string, GateTally>();
  for (const look of looks) {
    for (const gate of look.gates) {
      const name = gate.report.name;
      const entry = byName.get(name) ?? { name, failures: 0, inconclusive: 0, consecutiveErrors: 0 };
      if (gate.outcome === 'fail') entry.failures++;
      // Too few requests while traffic is still arriving is warming up, not an inconclusive measurement.
      if (gate.outcome === 'inconclusive' && !gate.insufficient) entry.inconclusive++;
      entry.consecutiveErrors = gate.outcome === 'error' ? entry.consecutiveErrors + 1 : 0;
      entry.last = gate;
      byName.set(name, entry);
    }
  }
  return [...byName.values()];
}

/**
 * The analysis after the looks so far. `final` is true when the step's time is over: then a gate still
 * inconclusive (or in error, or short of requests) makes the analysis inconclusive, never pass.
 */
export function decideAnalysis(
  looks: Look[],
  limits: AnalysisLimits = DEFAULT_LIMITS,
  final = false,
): AnalysisDecision {
  const gates = tally(looks);
  if (gates.length === 0) {
    return final
      ? { state: 'inconclusive', reason: 'no gate was measured' }
      : { state: 'continue', reason: 'no look yet' };
  }
  const failed = gates.find((gate) => gate.failures > limits.failureLimit);
  if (failed) {
    return {
      state: 'fail',
      gate: failed.name,
      reason: `gate '${failed.name}' failed ${failed.failures} look(s), more than failure-limit ${limits.failureLimit}: ${failed.last?.outcome === 'fail' ? failed.last.report.reason : 'see earlier looks'}`,
    };
  }
  const erroring = gates.find((gate) => gate.consecutiveErrors > limits.consecutiveErrorLimit);
  if (erroring) {
    return {
      state: 'inconclusive',
      gate: erroring.name,
      reason: `gate '${erroring.name}' could not be measured ${erroring.consecutiveErrors} times in a row (consecutive-error-limit ${limits.consecutiveErrorLimit}): ${erroring.last?.report.reason ?? ''}`,
    };
  }
  const unsure = gates.find((gate) => gate.inconclusive > limits.inconclusiveLimit);
  if (unsure) {
    return {
      state: 'inconclusive',
      gate: unsure.name,
      reason: `gate '${unsure.name}' was inconclusive ${unsure.inconclusive} times, more than inconclusive-limit ${limits.inconclusiveLimit}: ${unsure.last?.report.reason ?? ''}`,
    };
  }
  const latest = looks[looks.length - 1]?.gates ?? [];
  if (latest.length > 0 && latest.every((gate) => gate.outcome === 'pass' && gate.decisive)) {
    return { state: 'pass', reason: 'every gate is decisively within its bounds: stopping early' };
  }
  if (!final) return { state: 'continue', reason: 'evidence not decisive yet' };
  const open = gates.find((gate) => gate.last?.outcome !== 'pass');
  if (open) {
    return {
      state: 'inconclusive',
      gate: open.name,
      reason: `gate '${open.name}' was still ${open.last?.outcome ?? 'unmeasured'} at the last look: ${open.last?.report.reason ?? ''}`,
    };
  }
  return { state: 'pass', reason: `every gate passed its last look (${looks.length} look(s))` };
}
