// `plan`'s estimates at `expected-rps`: deploy's own loop (engine/rollout-sim.ts) run on simulated traffic, a few
// dozen times, for a healthy canary and for a typical regression of each gate. Not a formula beside the loop: when
// the loop changes, the estimates change with it.
import type { RolloutConfig } from '../core/config.js';
import { formatDuration } from '../core/duration.js';
import type { GateSpec } from '../core/gate-config.js';
import { isStatistical } from '../core/gates.js';
import { regressionText } from '../core/judge.js';
import { isSimulated, TYPICAL_TRAFFIC, type Traffic } from '../core/simulated-traffic.js';
import { loopSettings } from './rollout-loop.js';
import { SIMULATION_START, simulateMany, simulateRollout, type SimulationSpec } from './rollout-sim.js';

/** Runs per estimate: enough for a stable median, few enough for `plan` to stay quick. */
export const ESTIMATE_RUNS = 41;
const ESTIMATE_SEED = 1;
/** The power a relative gate is checked against when the user set none. */
const DEFAULT_POWER_TARGET = 0.8;
/** How long the power estimate lets the last step run before it says "more than this". */
const POWER_HORIZON_MS = 3600_000;

export interface GateEstimate {
  gate: string;
  /** The regression simulated, e.g. `error rate 5% vs 0.5%`. */
  regression: string;
  /** Median seconds from the first weight to the rollback; undefined: not caught in most runs. */
  caughtIn?: number;
  /** Share of runs that rolled the regression back on a failed gate. */
  caughtShare: number;
  /** Seconds of rollout until the gate had the power target to see its bound (undefined: not within an hour). */
  powerIn?: number;
}

export interface RolloutEstimate {
  rps: number;
  runs: number;
  /** Median seconds until a canary as good as stable is promoted; undefined when most runs did not promote. */
  promotedIn?: number;
  promotedShare: number;
  /** What the rest of the healthy runs ended as. */
  inconclusiveShare: number;
  powerTarget: number;
  gates: GateEstimate[];
  /** Gates the simulation cannot stand in for (custom queries, model gates): not part of the estimates. */
  notSimulated: string[];
  warnings: string[];
}

function specFor(config: RolloutConfig, rps: number, canary: Traffic, gates: GateSpec[]): SimulationSpec {
  const { schedule, settings } = loopSettings(config);
  return {
    steps: config.steps,
    schedule,
    settings: { ...settings, applyOnly: false },
    gates,
    alpha: config.analysis.alpha,
    rps,
    stable: TYPICAL_TRAFFIC,
    canary,
  };
}

function regressionOf(gate: GateSpec): { traffic: Traffic; text: string } | undefined {
  if (gate.builtin === 'error-rate') {
    const errorRate = TYPICAL_TRAFFIC.errorRate * 10;
    return {
      traffic: { ...TYPICAL_TRAFFIC, errorRate },
      text: `error rate ${errorRate * 100}% vs ${TYPICAL_TRAFFIC.errorRate * 100}%`,
    };
  }
  if (gate.builtin?.startsWith('latency-')) {
    return { traffic: { ...TYPICAL_TRAFFIC, median: TYPICAL_TRAFFIC.median * 1.5 }, text: 'latency 1.5x slower' };
  }
  return undefined;
}

/** Seconds into a healthy rollout until each relative gate first had `target` power (or was decisively clear). */
async function powerTimes(config: RolloutConfig, rps: number, target: number): Promise<Map<string, number>> {
  const spec = specFor(config, rps, TYPICAL_TRAFFIC, config.gates.filter(isSimulated));
  // The last step runs on until every relative gate has the power: how long that takes is the answer.
  spec.schedule = { ...spec.schedule, power: target, maxStepMs: POWER_HORIZON_MS };
  spec.settings = { ...spec.settings, power: target };
  const run = await simulateRollout(spec, ESTIMATE_SEED, { keepLooks: true });
  const reached = new Map<string, number>();
  for (const look of run.history ?? []) {
    for (const gate of look.gates) {
      if (gate.power === undefined || reached.has(gate.report.name)) continue;
      if (gate.decisive || gate.power >= target) {
        reached.set(gate.report.name, (new Date(look.at).getTime() - SIMULATION_START) / 1000);
      }
    }
  }
  return reached;
}

/** The rollout's planned length in seconds when every step ends at its interval. */
function plannedSeconds(config: RolloutConfig): number {
  return (config.steps.length * config.intervalMs) / 1000;
}

export async function estimateRollout(config: RolloutConfig, rps: number): Promise<RolloutEstimate> {
  const simulated = config.gates.filter(isSimulated);
  const healthy = await simulateMany(specFor(config, rps, TYPICAL_TRAFFIC, simulated), ESTIMATE_RUNS, ESTIMATE_SEED);
  const target = config.analysis.power ?? DEFAULT_POWER_TARGET;
  const power = await powerTimes(config, rps, target);
  const gates: GateEstimate[] = [];
  const warnings: string[] = [];
  for (const gate of simulated) {
    const regression = regressionOf(gate);
    if (!regression) continue;
    const bad = await simulateMany(specFor(config, rps, regression.traffic, simulated), ESTIMATE_RUNS, ESTIMATE_SEED);
    const powerIn = power.get(gate.name);
    gates.push({
      gate: gate.name,
      regression: regression.text,
      ...(bad.rollback && bad.rolledBack >= 0.5 ? { caughtIn: bad.rollback.median } : {}),
      caughtShare: bad.rolledBack,
      ...(powerIn !== undefined ? { powerIn } : {}),
    });
    if (gate.maxRatio === undefined || !isStatistical(gate)) continue;
    const planned = plannedSeconds(config);
    if (powerIn === undefined || powerIn > planned) {
      const needs =
        powerIn === undefined
          ? `more than ${formatDuration(POWER_HORIZON_MS)}`
          : `about ${formatDuration(powerIn * 1000)}`;
      warnings.push(
        `${gate.name} needs ${needs} of this rollout at ${rps} rps to reach power ${target} to see ${regressionText(gate.maxRatio)}; ` +
          `its steps last ${formatDuration(planned * 1000)} (${formatDuration(config.intervalMs)} each)` +
          (config.analysis.power === undefined
            ? ': a pass there means little; send more traffic, lengthen interval, or set power to wait for it'
            : `: with power ${target} the last step runs on up to max-step-duration ${formatDuration(config.analysis.maxStepMs)}, then is inconclusive`),
      );
    }
  }
  return {
    rps,
    runs: ESTIMATE_RUNS,
    ...(healthy.promotion && healthy.promoted >= 0.5 ? { promotedIn: healthy.promotion.median } : {}),
    promotedShare: healthy.promoted,
    inconclusiveShare: healthy.inconclusive,
    powerTarget: target,
    gates,
    notSimulated: config.gates.filter((gate) => !isSimulated(gate)).map((gate) => gate.name),
    warnings,
  };
}

const share = (value: number) => `${Math.round(value * 100)}%`;

/** "a healthy canary at 20 rps would be promoted in about 240 s ..." */
export function describePromotion(estimate: RolloutEstimate): string {
  return estimate.promotedIn !== undefined
    ? `a healthy canary at ${estimate.rps} rps would be promoted in about ${estimate.promotedIn} s (${share(estimate.promotedShare)} of ${estimate.runs} simulated rollouts), plus the time pods take to become ready`
    : `a healthy canary at ${estimate.rps} rps would not be promoted in most simulated rollouts (${share(estimate.promotedShare)} promoted, ${share(estimate.inconclusiveShare)} inconclusive)`;
}

/** "error rate 5% vs 0.5% would be caught in about 75 s ..." */
export function describeDetection(gate: GateEstimate): string {
  return gate.caughtIn !== undefined
    ? `${gate.regression} would be caught in about ${gate.caughtIn} s (${share(gate.caughtShare)} of simulated rollouts rolled back)`
    : `${gate.regression} would not be caught in most simulated rollouts (${share(gate.caughtShare)} rolled back)`;
}
