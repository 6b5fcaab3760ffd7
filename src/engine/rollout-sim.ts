// The rollout loop of `deploy` run against simulated traffic on a simulated clock: the same state machine, schedule,
// judge and look summary, with Poisson counters in place of Prometheus and instant readiness in place of a cluster.
// `plan` takes its estimates from here and `npm run bench -- rollout` its table, so both describe what deploy does.
import type { Look } from '../core/analysis.js';
import type { GateSpec } from '../core/gate-config.js';
import { judge } from '../core/judge.js';
import type { Clock } from '../core/ports.js';
import { initialState, type Phase, type RollbackCause, type StepSchedule } from '../core/rollout.js';
import {
  isSimulated,
  seededRandom,
  simulatedMeasurement,
  SimulatedTrack,
  type Traffic,
} from '../core/simulated-traffic.js';
import { runRolloutLoop, type LookSource, type LoopSettings } from './rollout-loop.js';

export interface SimulationSpec {
  steps: number[];
  schedule: StepSchedule;
  settings: LoopSettings;
  gates: GateSpec[];
  alpha: number;
  /** Requests per second the model serves in total; the canary gets its weight's share. */
  rps: number;
  stable: Traffic;
  canary: Traffic;
}

export interface SimulatedOutcome {
  phase: Phase;
  /** Seconds from the first weight to the end (promoted or rolled back). */
  seconds: number;
  looks: number;
  cause?: RollbackCause;
  reason?: string;
  /** Every look, with `keepLooks`. */
  history?: Look[];
}

function simulatedClock(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => new Date(now),
    monotonicMs: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

/** Counters for stable and canary that accrue traffic split by the weight in force since the last look. */
class SimulatedTraffic implements LookSource {
  private readonly stable: SimulatedTrack;
  private readonly canary: SimulatedTrack;
  private weight = 0;
  private last: number;

  constructor(
    private readonly spec: SimulationSpec,
    seed: number,
    start: number,
  ) {
    const rand = seededRandom(seed);
    this.stable = new SimulatedTrack(spec.stable, rand);
    this.canary = new SimulatedTrack(spec.canary, rand);
    this.last = start;
  }

  private accrue(until: number): void {
    const seconds = (until - this.last) / 1000;
    if (seconds <= 0) return;
    this.canary.advance(seconds, (this.spec.rps * this.weight) / 100);
    this.stable.advance(seconds, (this.spec.rps * (100 - this.weight)) / 100);
    this.last = until;
  }

  setWeight(weight: number, at: number): void {
    this.accrue(at);
    this.weight = weight;
  }

  async look(at: Date, since: Date, look: number) {
    this.accrue(at.getTime());
    const seconds = (at.getTime() - since.getTime()) / 1000;
    const canary = this.canary.counts();
    const stable = this.stable.counts();
    const measurements = this.spec.gates
      .filter(isSimulated)
      .map((gate) => simulatedMeasurement(gate, canary, stable, seconds));
    return judge(measurements, { alpha: this.spec.alpha, look }).looks;
  }
}

/** When every simulated rollout starts. */
export const SIMULATION_START = Date.UTC(2026, 0, 1);

/** One rollout of `spec` with traffic drawn from `seed`. */
export async function simulateRollout(
  spec: SimulationSpec,
  seed: number,
  options: { keepLooks?: boolean } = {},
): Promise<SimulatedOutcome> {
  const clock = simulatedClock(SIMULATION_START);
  const traffic = new SimulatedTraffic(spec, seed, SIMULATION_START);
  const result = await runRolloutLoop(initialState(spec.steps, spec.schedule), spec.settings, {
    clock,
    source: traffic,
    effects: {
      applyWeight: async (weight) => {
        traffic.setWeight(weight, clock.now().getTime());
        return { type: 'canary-ready' };
      },
      promote: async () => ({ type: 'promoted' }),
      rollBack: async () => ({ type: 'rolled-back' }),
      publish: async () => undefined,
    },
  });
  return {
    phase: result.state.phase,
    seconds: (clock.now().getTime() - SIMULATION_START) / 1000,
    looks: result.looks.length,
    ...(result.state.cause ? { cause: result.state.cause } : {}),
    ...(result.state.reason ? { reason: result.state.reason } : {}),
    ...(options.keepLooks ? { history: result.looks } : {}),
  };
}

export interface SimulationSummary {
  runs: number;
  /** Share of runs promoted, rolled back on a failed gate, and ended inconclusive (rolled back or held). */
  promoted: number;
  rolledBack: number;
  inconclusive: number;
  /** Median and 95th percentile seconds to the end, over the runs that ended that way. */
  rollback?: { median: number; p95: number };
  promotion?: { median: number; p95: number };
  medianLooks: number;
}

export function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function spread(values: number[]): { median: number; p95: number } | undefined {
  return values.length === 0 ? undefined : { median: percentile(values, 0.5), p95: percentile(values, 0.95) };
}

/** `runs` rollouts of `spec` (seeds from `seed`), summarised. */
export async function simulateMany(spec: SimulationSpec, runs: number, seed = 1): Promise<SimulationSummary> {
  const outcomes: SimulatedOutcome[] = [];
  for (let run = 0; run < runs; run++) outcomes.push(await simulateRollout(spec, seed * 1_000_003 + run));
  const ended = (phase: Phase) => outcomes.filter((outcome) => outcome.phase === phase);
  const share = (count: number) => count / Math.max(1, runs);
  const inconclusive = outcomes.filter((outcome) => outcome.cause === 'inconclusive');
  const failed = ended('rolled-back').filter((outcome) => outcome.cause !== 'inconclusive');
  const rollback = spread(failed.map((o) => o.seconds));
  const promotion = spread(ended('promoted').map((o) => o.seconds));
  return {
    runs,
    promoted: share(ended('promoted').length),
    rolledBack: share(failed.length),
    inconclusive: share(inconclusive.length),
    ...(rollback ? { rollback } : {}),
    ...(promotion ? { promotion } : {}),
    medianLooks: percentile(
      outcomes.map((o) => o.looks),
      0.5,
    ),
  };
}
