// A whole canary rollout: lease, steps, analysis, promote or roll back, history, report. It drives the pure state
// machine of core/rollout.ts and carries out its actions through the ports, so it runs the same against a real
// cluster and Prometheus, the test fakes, or the demo.
import type { RolloutConfig } from '../core/config.js';
import { promDuration } from '../core/duration.js';
import { nextRevision } from '../core/history.js';
import { objectId } from '../core/kube.js';
import { requester } from '../core/manual-request.js';
import type { RolloutRecord } from '../core/rollout-record.js';
import type { Clock, Cluster, GateReport, KubeObject, Logger, MetricSource, Report, Reporter } from '../core/ports.js';
import { digestOf } from '../core/report.js';
import { exitCodeFor, initialState, type Phase, type RolloutState } from '../core/rollout.js';
import type { RolloutTarget } from '../core/target.js';
import { readHistory, writeRecord } from './history.js';
import { acquireLease, leaseGuardedCluster, type HeldLease } from './lease.js';
import { takeRequest } from './manual-request.js';
import { writeRolloutRecord } from './rollout-record.js';
import { liveGateSelectors } from './gate-selectors.js';
import { PreflightError } from './preflight-error.js';

export { PreflightError };
import { measure, preflight, withBaselineTrack } from './measure.js';
import { applyStep, promote, rollback, type ClusterRolloutOptions } from './rollout-cluster.js';
import { loopSettings, runRolloutLoop, type LookSource, type RolloutEffects } from './rollout-loop.js';

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
  /**
   * Told when the cluster starts to hold a change this run is in the middle of, and when it no longer does. A run that
   * finished, even one that left a canary on purpose (`canary`, `on-inconclusive: hold`), leaves the post step
   * nothing to undo.
   */
  onCanary?: (running: boolean, image: string) => void;
}

export interface RolloutOutcome {
  report: Report;
  exitCode: number;
}

const inTargetNamespace = (object: KubeObject, target: RolloutTarget): KubeObject =>
  ({
    ...object,
    metadata: { ...object.metadata, namespace: object.metadata.namespace ?? target.namespace },
  }) as KubeObject;

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

/** Runs every gate query once against stable before any traffic moves: a typo or a missing metric stops here. */
export async function checkGates(
  config: RolloutConfig,
  target: RolloutTarget,
  deps: Pick<RolloutDeps, 'metrics' | 'clock' | 'logger'> & { cluster?: () => Pick<Cluster, 'get'> },
  firstRollout = false,
): Promise<void> {
  const issues = await preflight({
    source: deps.metrics,
    gates: config.gates,
    selectors: await liveGateSelectors(config, target, deps.cluster),
    at: deps.clock.now(),
    window: promDuration(Math.max(config.intervalMs, 60_000)),
  });
  // A model not in the cluster yet has no stable series: only what can exist is checked (queries parse, Prometheus
  // answers); the relative gates start with the next rollout.
  const blocking = firstRollout ? issues.filter((issue) => issue.problem !== 'no-data') : issues;
  if (firstRollout) {
    deps.logger.info(
      `${target.namespace}/${target.model} is not in the cluster yet: the first rollout has no baseline to compare with; the gates judge from the next rollout on`,
    );
  }
  if (blocking.length > 0) throw new PreflightError(blocking.map((issue) => issue.message));
}

export async function runRollout(
  config: RolloutConfig,
  target: RolloutTarget,
  deps: RolloutDeps,
  run: RunInfo,
  manifestHash: string,
): Promise<RolloutOutcome> {
  const { clock, logger } = deps;
  const clusterOptions: ClusterRolloutOptions = {
    router: config.router,
    timeoutMs: config.readyTimeoutMs,
    clock,
    logger,
  };
  const startedAt = clock.now();
  const lease = await acquireLease(deps.cluster, {
    model: target.model,
    namespace: target.namespace,
    holder: run.holder,
    clock,
    waitForLease: config.waitForLease,
    logger,
  });
  // From here on, nothing is written once another run holds the model.
  const cluster = leaseGuardedCluster(deps.cluster, lease);
  const leaseHolderDeps: RolloutDeps = { ...deps, cluster };
  try {
    const revision = nextRevision(await readHistory(cluster, target.model, target.namespace));
    const stable = await cluster.get({
      apiVersion: target.stable.apiVersion,
      kind: target.stable.kind,
      namespace: target.namespace,
      name: target.model,
    });
    for (const object of target.others.filter((o) => !ROUTED_KINDS.includes(o.kind))) {
      await cluster.apply(inTargetNamespace(object, target), { force: true });
    }
    const record: RolloutRecord = {
      state: 'running',
      target,
      router: config.router,
      revision,
      manifestHash,
      holder: run.holder,
      startedAt: startedAt.toISOString(),
      ...(run.url ? { runUrl: run.url } : {}),
      ...(run.actor ? { actor: run.actor } : {}),
      updatedAt: startedAt.toISOString(),
    };
    const outcome = stable
      ? await canaryRollout(config, target, leaseHolderDeps, clusterOptions, lease, revision, record)
      : await firstRollout(config, target, leaseHolderDeps, clusterOptions, revision, record);
    await writeRecord(
      cluster,
      target.model,
      target.namespace,
      {
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
      },
      { current: outcome.report.verdict === 'promoted' },
    );
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
  record: RolloutRecord,
): Promise<RolloutOutcome> {
  deps.logger.info(`${objectId(target.stable)} is not in the cluster: first rollout, no canary to judge`);
  const at = deps.clock.now().toISOString();
  const state: RolloutState = {
    ...initialState([100], loopSettings(config).schedule),
    phase: 'promoting',
    timeline: [{ weight: 100, startedAt: at }],
  };
  // Every object of the manifests goes out with the first stable: the Service and the HPA are the target's own.
  for (const object of [target.service, target.hpa]) {
    if (object) await deps.cluster.apply(inTargetNamespace(object, target), { force: true });
  }
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
  await writeRolloutRecord(deps.cluster, { ...record, state: 'finished', updatedAt: ended });
  const report = rolloutReport(config.command, target, final, [], revision);
  await deps.reporter.publish(report, true);
  return { report, exitCode: exitCodeFor(final) };
}

/** Looks through Prometheus: every gate over the canary's whole time so far (at least two scrapes). */
function prometheusLooks(
  config: RolloutConfig,
  target: RolloutTarget,
  metrics: MetricSource,
  cluster: Pick<Cluster, 'get'>,
): LookSource {
  return {
    look: async (at, since, look) => {
      const window = Math.max(at.getTime() - since.getTime(), 2 * config.analysis.scrapeIntervalMs);
      const live = await liveGateSelectors(config, target, () => cluster);
      const measured = await measure({
        source: metrics,
        gates: config.gates,
        selectors: await withBaselineTrack(metrics, live, at),
        at,
        window: promDuration(window),
        alpha: config.analysis.alpha,
        look,
      });
      return measured.looks;
    },
  };
}

async function canaryRollout(
  config: RolloutConfig,
  target: RolloutTarget,
  deps: RolloutDeps,
  options: ClusterRolloutOptions,
  lease: HeldLease,
  revision: number,
  record: RolloutRecord,
): Promise<RolloutOutcome> {
  const { cluster, clock, logger } = deps;
  const steps = config.command === 'canary' ? [config.weight] : config.steps;
  const { schedule, settings } = loopSettings(config);
  await writeRolloutRecord(cluster, record);
  deps.onCanary?.(true, target.image);
  // While the canary runs the record follows it, for `status` and for people deciding by hand; best effort.
  const follow = async (state: RolloutState, gates: GateReport[]) => {
    const step = state.timeline[state.timeline.length - 1];
    const changes = { ...(step ? { weight: step.weight, weightSince: step.startedAt } : {}), gates };
    await writeRolloutRecord(cluster, { ...record, ...changes, updatedAt: clock.now().toISOString() }).catch(
      (error: Error) => logger.warn(`could not update the rollout record: ${error.message}`),
    );
  };
  const effects: RolloutEffects = {
    applyWeight: async (weight) => {
      const step = await applyStep(cluster, target, weight, options);
      return step.ready
        ? { type: 'canary-ready' }
        : { type: 'canary-not-ready', reason: `${step.reason}: ${step.detail}` };
    },
    promote: async () => {
      const result = await promote(cluster, target, options, revision);
      return result.ready ? { type: 'promoted' } : { type: 'error', error: `${result.reason}: ${result.detail}` };
    },
    rollBack: async () => {
      await rollback(cluster, target, options);
      return { type: 'rolled-back' };
    },
    publish: async (state, gates, final) => {
      await follow(state, gates);
      await deps.reporter.publish(rolloutReport(config.command, target, state, gates, revision), final);
    },
    interrupted: lease.signal,
    interruption: async () => {
      const lost = lease.lost();
      if (lost) return { type: 'error', error: lost };
      const request = await takeRequest(cluster, target.model, target.namespace, record.holder);
      if (!request) return undefined;
      const reason = `${request.action === 'promote' ? 'promoted' : 'aborted'} by hand ${requester(request)}`.trim();
      logger.warn(`${request.action} requested ${requester(request)}: acting on it now`);
      return request.action === 'promote' ? { type: 'promote-requested', reason } : { type: 'abort-requested', reason };
    },
  };
  const result = await runRolloutLoop(initialState(steps, schedule), settings, {
    clock,
    logger,
    source: prometheusLooks(config, target, deps.metrics, cluster),
    effects,
  });
  let { state } = result;
  const report = () => rolloutReport(config.command, target, state, result.gates, revision);
  const left =
    config.command === 'canary' && state.phase === 'waiting' ? 'canary' : state.phase === 'held' ? 'held' : 'finished';
  const step = state.timeline[state.timeline.length - 1];
  await writeRolloutRecord(cluster, {
    ...record,
    state: left,
    ...(step ? { weight: step.weight, weightSince: step.startedAt } : {}),
    gates: result.gates,
    updatedAt: clock.now().toISOString(),
  });
  deps.onCanary?.(false, target.image);
  if (config.command === 'canary' && state.phase === 'waiting') {
    state = {
      ...state,
      reason: `the canary is left running at ${config.weight}% on purpose: analyze, promote or abort it next`,
    };
    await deps.reporter.publish(report(), true);
    return { report: report(), exitCode: 0 };
  }
  if (state.phase === 'held') logger.warn(`${state.reason}; the post step leaves it running`);
  return { report: report(), exitCode: exitCodeFor(state) };
}
