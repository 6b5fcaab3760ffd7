// Rollout benchmark: the live loop deploy runs (engine/rollout-loop.ts through engine/rollout-sim.ts: state machine,
// schedule, judge), on Poisson traffic split by weight and a simulated clock, against the same loop with one look
// per step and a Flagger-style rule (fixed thresholds on the last minute, checked every minute, rollback at 5 failed
// checks). `npm run bench -- rollout [--rps 20] [--healthy 1000] [--bad 300] [--seed 1]`
import { DEFAULT_GATES } from '../src/core/gate-config.js';
import { histogramQuantile } from '../src/core/histogram.js';
import {
  bucketShares,
  seededRandom,
  SimulatedTrack,
  SIMULATED_BOUNDS,
  type Traffic,
} from '../src/core/simulated-traffic.js';
import { DEFAULT_LIMITS } from '../src/core/rollout.js';
import { percentile, simulateMany, type SimulationSpec, type SimulationSummary } from '../src/engine/rollout-sim.js';

export const STEPS = [10, 25, 50, 100];
/** The stable version every scenario compares with: 0.5% errors, 100 ms median latency. */
export const BENCH_STABLE: Traffic = { errorRate: 0.005, median: 0.1, sigma: 0.5 };
const INTERVAL_MS = 60_000;

/** The benchmark's rollout: steps 10,25,50,100, interval 1m, the defaults of every other input. */
export function spec(
  rps: number,
  stable: Traffic,
  canary: Traffic,
  changes: Partial<SimulationSpec['schedule']> = {},
): SimulationSpec {
  const power = changes.power;
  return {
    steps: STEPS,
    schedule: {
      intervalMs: INTERVAL_MS,
      lookEveryMs: 15_000,
      minStepMs: 60_000,
      maxStepMs: 3 * INTERVAL_MS,
      advanceOnEvidence: false,
      ...changes,
    },
    settings: {
      limits: DEFAULT_LIMITS,
      analysis: { failureLimit: 0, inconclusiveLimit: 3, consecutiveErrorLimit: 4 },
      ...(power !== undefined ? { power } : {}),
    },
    gates: DEFAULT_GATES,
    alpha: 0.01,
    rps,
    stable,
    canary,
  };
}

/** Flagger: every minute the canary's last-minute error rate and p95 against fixed maxima; 5 failed checks roll back. */
function flagger(rps: number, stable: Traffic, canary: Traffic, seed: number, p95Max: number) {
  const candidate = new SimulatedTrack(canary, seededRandom(seed));
  void stable; // Flagger's built-in checks look at the canary alone
  let failed = 0;
  let step = 0;
  for (let minute = 1; minute <= 60; minute++) {
    const before = candidate.counts();
    candidate.advance(60, (rps * (STEPS[step] as number)) / 100);
    const after = candidate.counts();
    const requests = after.requests - before.requests;
    const errorRate = requests > 0 ? (after.errors - before.errors) / requests : 0;
    const window = after.buckets.map((bucket, index) => ({
      le: bucket.le,
      cumulative: bucket.cumulative - (before.buckets[index]?.cumulative ?? 0),
    }));
    if (errorRate > 0.01 || histogramQuantile(0.95, window) > p95Max) {
      failed++;
      if (failed >= 5) return { phase: 'rolled-back', seconds: minute * 60 };
    } else if (++step >= STEPS.length) {
      return { phase: 'promoted', seconds: minute * 60 };
    }
  }
  return { phase: 'inconclusive', seconds: 3600 };
}

function flaggerSummary(
  rps: number,
  stable: Traffic,
  canary: Traffic,
  runs: number,
  p95Max: number,
): SimulationSummary {
  const outcomes = Array.from({ length: runs }, (_, i) => flagger(rps, stable, canary, 7_000_001 + i, p95Max));
  const times = (phase: string) => outcomes.filter((o) => o.phase === phase).map((o) => o.seconds);
  const spread = (values: number[]) =>
    values.length ? { median: percentile(values, 0.5), p95: percentile(values, 0.95) } : undefined;
  const rollback = spread(times('rolled-back'));
  const promotion = spread(times('promoted'));
  return {
    runs,
    promoted: times('promoted').length / runs,
    rolledBack: times('rolled-back').length / runs,
    inconclusive: times('inconclusive').length / runs,
    ...(rollback ? { rollback } : {}),
    ...(promotion ? { promotion } : {}),
    medianLooks: Number.NaN,
  };
}

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
}

const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
const secs = (value?: { median: number; p95: number }) => (value ? `${value.median} s / ${value.p95} s` : '—');

export default async function run(args: string[]): Promise<void> {
  const rps = option(args, 'rps', 20);
  const healthyRuns = option(args, 'healthy', 1000);
  const badRuns = option(args, 'bad', 300);
  const seed = option(args, 'seed', 1);
  const stable = BENCH_STABLE;
  let cumulative = 0;
  const shares = bucketShares(stable);
  const p95Max =
    1.2 *
    histogramQuantile(
      0.95,
      SIMULATED_BOUNDS.map((le, i) => ({ le, cumulative: (cumulative += shares[i] ?? 0) })),
    );
  const scenarios: Array<{ name: string; canary: Traffic; runs: number; withPower?: boolean }> = [
    { name: '(a) 5% errors vs 0.5%', canary: { ...stable, errorRate: 0.05 }, runs: badRuns },
    { name: '(b) p95 latency +50%', canary: { ...stable, median: stable.median * 1.5 }, runs: badRuns },
    { name: '(c) errors 1.5x (0.75%)', canary: { ...stable, errorRate: 0.0075 }, runs: badRuns, withPower: true },
    { name: '(d) 50% errors', canary: { ...stable, errorRate: 0.5 }, runs: badRuns },
    { name: 'healthy', canary: stable, runs: healthyRuns, withPower: true },
  ];
  const started = Date.now();
  const rows: Record<string, string>[] = [];
  const row = (scenario: string, rule: string, s: SimulationSummary) =>
    rows.push({
      scenario,
      rule,
      'rollback median / p95': secs(s.rollback),
      'promote median / p95': secs(s.promotion),
      promoted: pct(s.promoted),
      'rolled back': pct(s.rolledBack),
      inconclusive: pct(s.inconclusive),
      looks: Number.isNaN(s.medianLooks) ? '—' : String(s.medianLooks),
    });
  for (const scenario of scenarios) {
    row(scenario.name, 'live (look 15s)', await simulateMany(spec(rps, stable, scenario.canary), scenario.runs, seed));
    row(
      scenario.name,
      'one look per step',
      await simulateMany(spec(rps, stable, scenario.canary, { lookEveryMs: INTERVAL_MS }), scenario.runs, seed),
    );
    row(scenario.name, 'flagger-style', flaggerSummary(rps, stable, scenario.canary, scenario.runs, p95Max));
    if (scenario.withPower) {
      row(
        scenario.name,
        'live, power 0.8',
        await simulateMany(spec(rps, stable, scenario.canary, { power: 0.8 }), scenario.runs, seed),
      );
      row(
        scenario.name,
        'live, power 0.8, max-step 1h',
        await simulateMany(
          spec(rps, stable, scenario.canary, { power: 0.8, maxStepMs: 3600_000 }),
          Math.min(scenario.runs, 200),
          seed,
        ),
      );
    }
  }
  console.log(
    `rollout: steps ${STEPS.join(',')}, interval 1m, ${rps} rps in total, alpha 0.01, default gates (error-rate max-increase 50%, latency-p95 max-increase 20%); live: look-every 15s, max-step-duration 3m; flagger-style: error max 1%, p95 max ${Math.round(p95Max * 1000)} ms, threshold 5`,
  );
  console.table(rows);
  console.log(`elapsed ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
