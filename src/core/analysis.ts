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

/** What the looks so far say, for the step schedule of core/rollout.ts to act on. */
export interface LookSummary {
  /** `fail`: a gate is decisively worse (its failure-limit used up); `inconclusive`: a limit on unmeasurable or
   * inconclusive looks ran out; `error`: no gate could be measured at this look; `ok`: none of those. */
  verdict: 'fail' | 'inconclusive' | 'error' | 'ok';
  reason: string;
  /** The gate that decided, when one did. */
  gate?: string;
  /** Every gate passed its latest look: measured, enough requests, within its bounds. */
  passing: boolean;
  /** Every gate is decisively not worse (the test settled it, or an absolute bound on enough requests). */
  decisive: boolean;
  /** Relative gates short of the power target at the latest look, e.g. `error-rate (power 0.42 < 0.8)`. */
  shortOfPower: string[];
  /** The first gate that is not passing yet and why. */
  pending?: string;
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

/** The looks so far -> a summary. `powerTarget`: relative gates must reach this power (undefined: no target). */
export function summarizeLooks(
  looks: Look[],
  limits: AnalysisLimits = DEFAULT_LIMITS,
  powerTarget?: number,
): LookSummary {
  const latest = looks[looks.length - 1]?.gates ?? [];
  const open = latest.find((gate) => gate.outcome !== 'pass');
  const pending = open ? `gate '${open.report.name}' is ${open.outcome}: ${open.report.reason}` : undefined;
  const shortOfPower =
    powerTarget === undefined
      ? []
      : latest
          .filter((gate) => gate.power !== undefined && !gate.decisive && gate.power < powerTarget)
          .map((gate) => `${gate.report.name} (power ${Number((gate.power ?? 0).toFixed(2))} < ${powerTarget})`);
  const base = {
    passing: latest.length > 0 && !open,
    decisive: latest.length > 0 && latest.every((gate) => gate.outcome === 'pass' && gate.decisive),
    shortOfPower,
    ...(pending ? { pending } : {}),
  };
  const gates = tally(looks);
  if (gates.length === 0) return { ...base, verdict: 'error', reason: 'no gate was measured' };
  const failed = gates.find((gate) => gate.failures > limits.failureLimit);
  if (failed) {
    return {
      ...base,
      verdict: 'fail',
      gate: failed.name,
      reason: `gate '${failed.name}' failed ${failed.failures} look(s), more than failure-limit ${limits.failureLimit}: ${failed.last?.outcome === 'fail' ? failed.last.report.reason : 'see earlier looks'}`,
    };
  }
  const erroring = gates.find((gate) => gate.consecutiveErrors > limits.consecutiveErrorLimit);
  if (erroring) {
    return {
      ...base,
      verdict: 'inconclusive',
      gate: erroring.name,
      reason: `gate '${erroring.name}' could not be measured ${erroring.consecutiveErrors} looks in a row (consecutive-error-limit ${limits.consecutiveErrorLimit}): ${erroring.last?.report.reason ?? ''}`,
    };
  }
  const unsure = gates.find((gate) => gate.inconclusive > limits.inconclusiveLimit);
  if (unsure) {
    return {
      ...base,
      verdict: 'inconclusive',
      gate: unsure.name,
      reason: `gate '${unsure.name}' was inconclusive ${unsure.inconclusive} times, more than inconclusive-limit ${limits.inconclusiveLimit}: ${unsure.last?.report.reason ?? ''}`,
    };
  }
  if (latest.length > 0 && latest.every((gate) => gate.outcome === 'error')) {
    return { ...base, verdict: 'error', reason: 'no gate could be measured (Prometheus unreachable or erroring)' };
  }
  return { ...base, verdict: 'ok', reason: pending ?? 'every gate passed its latest look' };
}
