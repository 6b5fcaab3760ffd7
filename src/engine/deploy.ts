// A whole canary rollout: lease, steps, analysis, promote or roll back, history, report. It drives the pure state
// machine of core/rollout.ts and carries out its actions through the ports, so it runs the same against a real
// cluster and Prometheus, the test fakes, or the demo.
import { decideAnalysis, type Look } from '../core/analysis.js';
import type { RolloutConfig } from '../core/config.js';
import { formatDuration, promDuration } from '../core/duration.js';
import { nextRevision } from '../core/history.js';
import { objectId } from '../core/kube.js';
import type { Clock, Cluster, GateReport, KubeObject, Logger, MetricSource, Report, Reporter } from '../core/ports.js';
import { digestOf } from '../core/report.js';
import {
  DEFAULT_LIMITS,
  exitCodeFor,
  initialState,
  type Limits,
  type LookOutcome,
  type Phase,
  type RolloutAction,
  type RolloutEvent,
  type RolloutState,
  transition,
} from '../core/rollout.js';
import type { RolloutTarget } from '../core/target.js';
import { readHistory, writeRecord } from './history.js';
import { acquireLease, type HeldLease } from './lease.js';
import { measure, preflight } from './measure.js';
import { applyStep, promote, rollback, type ClusterRolloutOptions } from './rollout-cluster.js';

export interface RunInfo {
  /** Lease holder: the run's id. */
  holder: string;
  url?: string;
  actor?: string;
  pr?: number;
}

export interface RolloutDeps {
  cluster: Cluster;
  metrics: MetricSource;
  clock: Clock;
  logger: Logger;
  reporter: Reporter;
  /** Told when the cluster starts to hold a canary and when it no longer does (the action's post step needs it). */
  onCanary?: (running: boolean, image: string) => void;
}

export interface RolloutOutcome {
  report: Report;
  exitCode: number;
}

export class PreflightError extends Error {
  override readonly name = 'PreflightError';
  constructor(readonly problems: string[]) {
    super(`preflight failed, nothing was changed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Router objects the routers build themselves from these kinds; everything else in the manifests is applied as is. */
const ROUTED_KINDS = ['Ingress', 'HTTPRoute', 'VirtualService', 'TrafficSplit'];

const VERDICT_OF: Partial<Record<Phase, Report['verdict']>> = {
  promoted: 'promoted',
  'rolled-back': 'rolled-back',
  aborted: 'aborted',
  held: 'canary-running',
  failed: 'failed',
};

export function rolloutReport(
  command: string,
  target: RolloutTarget,
  state: RolloutState,
  gates: GateReport[],
  revision: number | undefined,
): Report {
  return {
    command,
    model: target.model,
    namespace: target.namespace,
    verdict: VERDICT_OF[state.phase] ?? 'canary-running',
    image: target.image,
    digest: digestOf(target.image),
    revision,
    ...(target.modelSource ? { modelSource: target.modelSource } : {}),
    ...(state.reason ? { reason: state.reason } : {}),
    phase: state.phase,
    gates,
    steps: state.timeline.map((step) => ({ ...step })),
  };
}

function limitsFrom(config: RolloutConfig): Limits {
  // Per-gate failure and error limits are applied by decideAnalysis; the state machine counts inconclusive looks.
  return {
    ...DEFAULT_LIMITS,
    failureLimit: 0,
    inconclusiveLimit: config.analysis.inconclusiveLimit,
    consecutiveErrorLimit: config.analysis.consecutiveErrorLimit,
    onInconclusive: config.analysis.onInconclusive,
  };
}

/** Runs every gate query once against stable before any traffic moves: a typo or a missing metric stops here. */
export async function checkGates(
  config: RolloutConfig,
  target: RolloutTarget,
  deps: Pick<RolloutDeps, 'metrics' | 'clock'>,
): Promise<void> {
  const issues = await preflight({
    source: deps.metrics,
    gates: config.gates,
    selectors: { namespace: target.namespace, model: target.model },
    at: deps.clock.now(),
    window: promDuration(Math.max(config.intervalMs, 60_000)),
  });
  if (issues.length > 0) throw new PreflightError(issues.map((issue) => issue.message));
}

export async function runRollout(
  config: RolloutConfig,
  target: RolloutTarget,
  deps: RolloutDeps,
  run: RunInfo,
  manifestHash: string,
): Promise<RolloutOutcome> {
  const { cluster, clock, logger } = deps;
  const clusterOptions: ClusterRolloutOptions = {
    router: config.router,
    timeoutMs: config.readyTimeoutMs,
    clock,
    logger,
  };
  const startedAt = clock.now();
  const lease = await acquireLease(cluster, {
    model: target.model,
    namespace: target.namespace,
    holder: run.holder,
    clock,
    waitForLease: config.waitForLease,
    logger,
  });
  try {
    const revision = nextRevision(await readHistory(cluster, target.model, target.namespace));
    const stable = await cluster.get({
      apiVersion: target.stable.apiVersion,
      kind: target.stable.kind,
      namespace: target.namespace,
      name: target.model,
    });
    for (const object of target.others.filter((o) => !ROUTED_KINDS.includes(o.kind))) {
      await cluster.apply(
        {
          ...object,
          metadata: { ...object.metadata, namespace: object.metadata.namespace ?? target.namespace },
        } as KubeObject,
        { force: true },
      );
    }
    const outcome = stable
      ? await canaryRollout(config, target, deps, clusterOptions, lease, revision)
      : await firstRollout(config, target, deps, clusterOptions, revision);
    await writeRecord(cluster, target.model, target.namespace, {
      revision,
      image: target.image,
      digest: digestOf(target.image) ?? '',
      manifestHash,
      ...(target.modelSource ? { model: target.modelSource } : {}),
      verdict: outcome.report.verdict,
      startedAt: startedAt.toISOString(),
      endedAt: clock.now().toISOString(),
      ...(run.pr ? { pr: run.pr } : {}),
      ...(run.url ? { runUrl: run.url } : {}),
      ...(run.actor ? { actor: run.actor } : {}),
    });
    return outcome;
  } finally {
    await lease.release().catch((error: Error) => logger.warn(`could not release the lease: ${error.message}`));
  }
}

/** No stable in the cluster yet: there is nothing to compare with, so the model goes out as the first stable. */
async function firstRollout(
  config: RolloutConfig,
  target: RolloutTarget,
  deps: RolloutDeps,
  options: ClusterRolloutOptions,
  revision: number,
): Promise<RolloutOutcome> {
  deps.logger.info(`${objectId(target.stable)} is not in the cluster: first rollout, no canary to judge`);
  const at = deps.clock.now().toISOString();
  const state: RolloutState = {
    ...initialState([100], config.intervalMs),
    phase: 'promoting',
    timeline: [{ weight: 100, startedAt: at }],
  };
  const result = await promote(deps.cluster, target, options, revision);
  const ended = deps.clock.now().toISOString();
  const final: RolloutState = result.ready
    ? {
        ...state,
        phase: 'promoted',
        reason: 'first rollout: no stable version to compare with',
        timeline: [{ weight: 100, startedAt: at, endedAt: ended, result: 'pass' }],
      }
    : {
        ...state,
        phase: 'failed',
        cause: 'not-ready',
        reason: `first rollout not ready: ${result.reason}: ${result.detail}`,
        timeline: [{ weight: 100, startedAt: at, endedAt: ended, result: 'fail' }],
      };
  const report = rolloutReport(config.command, target, final, [], revision);
  await deps.reporter.publish(report, true);
  return { report, exitCode: exitCodeFor(final) };
}

async function canaryRollout(
  config: RolloutConfig,
  target: RolloutTarget,
  deps: RolloutDeps,
  options: ClusterRolloutOptions,
  lease: HeldLease,
  revision: number,
): Promise<RolloutOutcome> {
  const { cluster, clock, logger } = deps;
  const limits = limitsFrom(config);
  const steps = config.command === 'canary' ? [config.weight] : config.steps;
  let state = initialState(steps, config.intervalMs);
  let gates: GateReport[] = [];
  const looks: Look[] = [];
  let analysisStart: Date | undefined;
  const queue: RolloutEvent[] = [{ type: 'start' }];
  deps.onCanary?.(true, target.image);

  const report = () => rolloutReport(config.command, target, state, gates, revision);

  const perform = async (action: RolloutAction): Promise<RolloutEvent | undefined> => {
    switch (action.type) {
      case 'apply-weight': {
        if (config.command === 'canary' && state.stepIndex > 0) return undefined;
        const step = await applyStep(cluster, target, action.weight, options);
        analysisStart ??= clock.now();
        return step.ready
          ? { type: 'canary-ready' }
          : { type: 'canary-not-ready', reason: `${step.reason}: ${step.detail}` };
      }
      case 'wait': {
        if (config.command === 'canary') return undefined;
        await waitWithProgress(clock, logger, action.until, state);
        const lost = lease.lost();
        return lost ? { type: 'error', error: lost } : { type: 'interval-elapsed' };
      }
      case 'analyze': {
        const at = clock.now();
        const since = Math.max(config.intervalMs, at.getTime() - (analysisStart ?? at).getTime());
        const measured = await measure({
          source: deps.metrics,
          gates: config.gates,
          selectors: { namespace: target.namespace, model: target.model, baselineTrack: 'stable' },
          at,
          window: promDuration(since),
          alpha: config.analysis.alpha,
          look: looks.length + 1,
        });
        gates = measured.reports;
        looks.push({ at: at.toISOString(), gates: measured.looks });
        for (const gate of gates) logger.info(`  ${gate.name}: ${gate.result} (${gate.reason})`);
        return {
          type: 'look',
          ...lookOutcome(
            looks,
            measured.looks.map((l) => l.outcome),
            config,
          ),
        };
      }
      case 'promote': {
        const result = await promote(cluster, target, options, revision);
        return result.ready ? { type: 'promoted' } : { type: 'error', error: `${result.reason}: ${result.detail}` };
      }
      case 'roll-back': {
        logger.warn(`rolling back: ${action.reason}`);
        await rollback(cluster, target, options);
        return { type: 'rolled-back' };
      }
      case 'report':
        await deps.reporter.publish(report(), action.final);
        return undefined;
      case 'hold':
        logger.warn(`holding the canary for a human decision: ${action.reason}`);
        return undefined;
      case 'finish':
        return undefined;
    }
  };

  while (queue.length > 0) {
    const event = queue.shift() as RolloutEvent;
    const next = transition(state, event, clock.now(), limits);
    state = next.state;
    for (const action of next.actions) {
      let follow: RolloutEvent | undefined;
      try {
        follow = await perform(action);
      } catch (error) {
        follow = { type: 'error', error: error instanceof Error ? error.message : String(error) };
      }
      if (follow) queue.push(follow);
    }
  }
  if (config.command === 'canary' && state.phase === 'waiting') {
    state = { ...state, reason: `canary running at ${config.weight}%: analyze, promote or abort it next` };
    await deps.reporter.publish(report(), true);
    return { report: report(), exitCode: 0 };
  }
  if (state.phase !== 'held') deps.onCanary?.(false, target.image);
  return { report: report(), exitCode: exitCodeFor(state) };
}

/** One look's gates -> the state machine's look outcome, with Argo-style per-gate limits applied. */
function lookOutcome(
  looks: Look[],
  outcomes: string[],
  config: RolloutConfig,
): { outcome: LookOutcome; reason: string } {
  if (outcomes.length > 0 && outcomes.every((outcome) => outcome === 'error')) {
    return { outcome: 'error', reason: 'no gate could be measured (Prometheus unreachable or erroring)' };
  }
  const decision = decideAnalysis(
    looks,
    {
      failureLimit: config.analysis.failureLimit,
      inconclusiveLimit: Number.MAX_SAFE_INTEGER,
      consecutiveErrorLimit: config.analysis.consecutiveErrorLimit,
    },
    true,
  );
  return { outcome: decision.state, reason: decision.reason };
}

async function waitWithProgress(clock: Clock, logger: Logger, until: Date, state: RolloutState): Promise<void> {
  const weight = state.steps[state.stepIndex];
  for (;;) {
    const left = until.getTime() - clock.now().getTime();
    if (left <= 0) return;
    logger.info(`step ${state.stepIndex + 1}/${state.steps.length} (${weight}%): next look in ${formatDuration(left)}`);
    await clock.sleep(Math.min(left, 10_000));
  }
}
