// The live judge through deploy's own engine (runRollout): a virtual clock, an in-memory cluster and a scripted
// metric source that answers the error-rate gate's PromQL from per-track request and error rates.
import { describe, expect, it } from '@jest/globals';
import { buildConfig } from '../../src/core/config.js';
import type { Logger, MetricResult, MetricSource, Report } from '../../src/core/ports.js';
import { runRollout } from '../../src/engine/deploy.js';
import { fileRequest } from '../../src/engine/manual-request.js';
import { readRolloutRecord } from '../../src/engine/rollout-record.js';
import { buildTarget, NEW_IMAGE, OLD_IMAGE } from '../support/kube-target.js';
import { imagesOf, MemoryCluster } from '../support/memory-cluster.js';
import { VirtualClock } from '../support/virtual-clock.js';

interface TrackTraffic {
  rps: number;
  errorRate: number;
}

/** Answers the error-rate gate's queries with expected counts over the query's window: rps x window. */
class ScriptedMetrics implements MetricSource {
  readonly queries: string[] = [];
  constructor(private readonly traffic: Record<'canary' | 'stable', TrackTraffic>) {}

  async query(promql: string): Promise<MetricResult> {
    this.queries.push(promql);
    const track = /track="(canary|stable)"/.exec(promql)?.[1] as 'canary' | 'stable';
    const seconds = Number(/\[(\d+)s\]/.exec(promql)?.[1] ?? 60);
    const { rps, errorRate } = this.traffic[track];
    const value = promql.includes(' / ')
      ? errorRate
      : promql.includes('code=~')
        ? rps * seconds * errorRate
        : rps * seconds;
    return { state: 'ok', samples: [{ labels: {}, value }] };
  }
}

const GATES = '- name: error-rate\n  max-increase: 50%\n  min-requests: 100';

function setup(traffic: Record<'canary' | 'stable', TrackTraffic>, inputs: Record<string, string> = {}) {
  const config = buildConfig(
    {},
    {
      command: 'deploy',
      manifests: 'k8s/',
      image: NEW_IMAGE,
      'prometheus-url': 'http://127.0.0.1:9090',
      steps: '10,50,100',
      interval: '60s',
      'look-every': '10s',
      'scrape-interval': '5s',
      gates: GATES,
      ...inputs,
    },
  );
  const target = buildTarget();
  const cluster = new MemoryCluster();
  void cluster.apply({ ...target.stable });
  const clock = new VirtualClock();
  const reports: Report[] = [];
  const logs: string[] = [];
  const logger: Logger = {
    info: (message) => logs.push(message),
    warn: (message) => logs.push(`warning: ${message}`),
    debug: () => undefined,
  };
  const metrics = new ScriptedMetrics(traffic);
  const start = clock.now();
  const deploy = () =>
    runRollout(
      config,
      target,
      { cluster, metrics, clock, logger, reporter: { publish: async (report) => void reports.push(report) } },
      { holder: 'run-1' },
      'hash',
    );
  const seconds = (iso: string) => (Date.parse(iso) - start.getTime()) / 1000;
  const stableImage = () => imagesOf(cluster.object('apps/v1', 'Deployment', 'ml', 'churn'))[0];
  return { deploy, cluster, clock, reports, logs, metrics, seconds, stableImage, start };
}

const HEALTHY = { rps: 100, errorRate: 0.01 };

describe('the live rollout loop of deploy', () => {
  it('rolls a bad canary back at the first decisive look, mid-step', async () => {
    const run = setup({ canary: { rps: 20, errorRate: 0.05 }, stable: HEALTHY });
    const { report, exitCode } = await run.deploy();
    expect(exitCode).toBe(3);
    expect(report.verdict).toBe('rolled-back');
    const [step] = report.steps;
    expect(step).toMatchObject({ weight: 10, result: 'fail', endReason: 'failed' });
    // Looks every 10 s: rolled back at a look well inside the 60 s interval.
    expect(run.seconds(step!.endedAt!)).toBeLessThan(60);
    expect(step!.looks).toBe(run.seconds(step!.endedAt!) / 10);
    expect(report.gates[0]).toMatchObject({ name: 'error-rate', result: 'fail', looks: step!.looks });
    expect(report.gates[0]!.evidence).toMatch(/^likelihood ratio [\d.e+]+, needs 100$/);
    expect(run.stableImage()).toBe(OLD_IMAGE);
    expect(run.cluster.object('apps/v1', 'Deployment', 'ml', 'churn-canary')).toBeUndefined();
  });

  it('every look judges all data since the canary first took traffic (the window grows, never below two scrapes)', async () => {
    const run = setup({ canary: HEALTHY, stable: HEALTHY }, { steps: '50,100', interval: '30s' });
    await run.deploy();
    const windows = run.metrics.queries
      .filter((q) => q.includes('track="canary"') && q.startsWith('sum(increase('))
      .map((q) => Number(/\[(\d+)s\]/.exec(q)![1]));
    expect(windows.slice(0, 6)).toEqual([10, 10, 20, 20, 30, 30]);
    expect(Math.min(...windows)).toBeGreaterThanOrEqual(10);
  });

  it('a step short of evidence runs on past its interval, then ends inconclusive at max-step-duration and rolls back', async () => {
    const run = setup({ canary: { rps: 0.4, errorRate: 0 }, stable: HEALTHY });
    const { report, exitCode } = await run.deploy();
    expect(exitCode).toBe(4);
    const [step] = report.steps;
    expect(step).toMatchObject({ result: 'inconclusive', endReason: 'max-duration', looks: 18 });
    expect(run.seconds(step!.endedAt!)).toBe(180);
    expect(report.reason).toMatch(
      /no decision at step 1\/3 \(10%\) after max-step-duration: gate 'error-rate' is inconclusive: canary served \d+ requests/,
    );
    expect(run.stableImage()).toBe(OLD_IMAGE);
  });

  it('a healthy canary advances at each interval with no decisive failure, and is promoted', async () => {
    const run = setup({ canary: HEALTHY, stable: HEALTHY });
    const { report, exitCode } = await run.deploy();
    expect(exitCode).toBe(0);
    expect(report.steps.map((s) => [s.weight, s.result, s.endReason, s.looks])).toEqual([
      [10, 'pass', 'interval', 6],
      [50, 'pass', 'interval', 6],
      [100, 'pass', 'interval', 6],
    ]);
    expect(report.gates[0]!.reason).toMatch(/no harm seen; power [\d.]+ to see \+50%|decisively below/);
    expect(report.gates[0]!.power).toBeGreaterThan(0);
    expect(run.stableImage()).toBe(NEW_IMAGE);
  });

  it('advance-on-evidence ends each step once the gate is decisively not worse and min-step-duration passed', async () => {
    const run = setup(
      { canary: { rps: 400, errorRate: 0.01 }, stable: { rps: 400, errorRate: 0.01 } },
      { 'advance-on-evidence': 'true', 'min-step-duration': '20s' },
    );
    const { report } = await run.deploy();
    expect(report.verdict).toBe('promoted');
    for (const step of report.steps) {
      expect(step.endReason).toBe('evidence');
      expect(run.seconds(step.endedAt!) - run.seconds(step.startedAt!)).toBeLessThan(60);
    }
    expect(report.gates[0]!.reason).toMatch(/decisively below 1.5x baseline/);
  });

  it('with power set, the last step with baseline traffic waits for it; short of it by max-step-duration the rollout is inconclusive', async () => {
    const enough = setup(
      { canary: { rps: 400, errorRate: 0.01 }, stable: { rps: 400, errorRate: 0.01 } },
      { power: '0.8' },
    );
    const promoted = await enough.deploy();
    expect(promoted.report.verdict).toBe('promoted');
    expect(promoted.report.steps.map((s) => s.endReason)).toEqual(['interval', 'power', 'interval']);

    const starved = setup(
      { canary: { rps: 2, errorRate: 0.005 }, stable: { rps: 2, errorRate: 0.005 } },
      { power: '0.8' },
    );
    const held = await starved.deploy();
    expect(held.exitCode).toBe(4);
    expect(held.report.steps.map((s) => s.endReason)).toEqual(['interval', 'max-duration']);
    expect(held.report.reason).toMatch(/short of power 0.8: error-rate \(power [\d.]+ < 0.8\)/);
    expect(starved.stableImage()).toBe(OLD_IMAGE);
  });

  it('the comment updates as looks come in: each published report carries the looks so far', async () => {
    const run = setup({ canary: HEALTHY, stable: HEALTHY }, { steps: '50,100', interval: '20s' });
    await run.deploy();
    const looks = run.reports.map((r) => r.gates[0]?.looks ?? 0);
    expect(looks).toEqual([...looks].sort((a, b) => a - b));
    expect(looks.at(-1)).toBe(4);
    expect(run.logs.some((line) => /step 1\/2 \(50%\): \d+s in, next look in 10s/.test(line))).toBe(true);
  });

  it('the cluster holds the rollout: the record follows the canary and says how it was left', async () => {
    const held = setup({ canary: { rps: 0.4, errorRate: 0 }, stable: HEALTHY }, { 'on-inconclusive': 'hold' });
    const { report } = await held.deploy();
    expect(report.verdict).toBe('canary-running');
    const record = await readRolloutRecord(held.cluster, 'churn', 'ml');
    expect(record).toMatchObject({ state: 'held', router: 'replicas', weight: 10, holder: 'run-1', revision: 1 });
    expect(record!.target.image).toBe(NEW_IMAGE);
    expect(record!.gates![0]).toMatchObject({ name: 'error-rate', result: 'inconclusive' });

    const done = setup({ canary: HEALTHY, stable: HEALTHY }, { steps: '50,100', interval: '20s' });
    await done.deploy();
    expect(await readRolloutRecord(done.cluster, 'churn', 'ml')).toMatchObject({ state: 'finished', weight: 100 });
  });

  describe('a person asks the running rollout to promote or abort', () => {
    const ask = (run: ReturnType<typeof setup>, action: 'promote' | 'abort', holder = 'run-1') =>
      fileRequest(run.cluster, 'churn', 'ml', {
        action,
        holder,
        requestedAt: run.start.toISOString(),
        actor: 'octocat',
        run: 'https://github.com/o/r/actions/runs/7',
      });

    it('promote: taken at the next look, the remaining steps skipped, who asked in the reason', async () => {
      const run = setup({ canary: HEALTHY, stable: HEALTHY });
      await ask(run, 'promote');
      const { report, exitCode } = await run.deploy();
      expect(exitCode).toBe(0);
      expect(report.verdict).toBe('promoted');
      expect(report.reason).toBe('promoted by hand by octocat from https://github.com/o/r/actions/runs/7');
      expect(report.steps.map((s) => [s.weight, s.result, s.endReason])).toEqual([[10, 'skipped', 'promoted-by-hand']]);
      expect(run.seconds(report.steps[0]!.endedAt!)).toBe(10);
      expect(run.stableImage()).toBe(NEW_IMAGE);
      expect(run.cluster.object('v1', 'ConfigMap', 'ml', 'model-canary-churn-request')).toBeUndefined();
    });

    it('abort: rolled back to stable at the next look', async () => {
      const run = setup({ canary: HEALTHY, stable: HEALTHY });
      await ask(run, 'abort');
      const { report, exitCode } = await run.deploy();
      expect([report.verdict, exitCode]).toEqual(['aborted', 3]);
      expect(report.reason).toMatch(/^aborted by hand by octocat/);
      expect(run.stableImage()).toBe(OLD_IMAGE);
      expect(run.cluster.object('apps/v1', 'Deployment', 'ml', 'churn-canary')).toBeUndefined();
    });

    it("a request made against another run is not this rollout's to take", async () => {
      const run = setup({ canary: HEALTHY, stable: HEALTHY }, { steps: '50,100', interval: '20s' });
      await ask(run, 'abort', 'an-earlier-run');
      const { report } = await run.deploy();
      expect(report.verdict).toBe('promoted');
      expect(run.cluster.object('v1', 'ConfigMap', 'ml', 'model-canary-churn-request')).toBeDefined();
      await expect(ask(run, 'promote')).rejects.toThrow(/a request to abort ml\/churn is already pending/);
    });
  });
});
