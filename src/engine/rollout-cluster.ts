// The canary in the cluster, through the Cluster port only: apply a step, promote, roll back. Every function is
// idempotent and starts from what the cluster holds, so a run that died at any point converges when re-run.
import type { Clock, Cluster, KubeObject, Logger, ReadinessResult, TrafficRouter } from '../core/ports.js';
import type { RolloutTarget } from '../core/target.js';
import { objectId, specOf } from '../core/kube.js';
import { inferenceServiceReadiness } from '../core/readiness.js';
import { REVISION_ANNOTATION } from '../core/history.js';
import { keyOf, objectsAtWeight, routerCleanup, type RouterName } from '../core/routers/index.js';
import { kserveRollbackSteps, PREVIOUS_PREDICTOR, withLivePredictor } from '../core/routers/kserve.js';
import { withLiveStableImages } from '../core/live.js';

export interface ClusterRolloutOptions {
  router: RouterName;
  /** How long a Deployment (or InferenceService) may take to become ready. */
  timeoutMs: number;
  clock: Clock;
  logger?: Logger;
  /** Time between looks at an InferenceService (default 2 s). */
  pollMs?: number;
}

export type StepOutcome =
  { ready: true; objects: KubeObject[] } | { ready: false; reason: string; detail: string; objects: KubeObject[] };

const APPLY = { force: true } as const;

async function applyAll(cluster: Cluster, objects: KubeObject[]): Promise<void> {
  for (const object of objects) await cluster.apply(object, APPLY);
}

/** Ready as `kubectl rollout status` says for a Deployment, or as KServe's Ready condition says. */
export async function waitReady(
  cluster: Cluster,
  object: KubeObject,
  options: ClusterRolloutOptions,
): Promise<ReadinessResult> {
  const namespace = object.metadata.namespace ?? 'default';
  if (object.kind === 'Deployment')
    return cluster.waitForDeployment(namespace, object.metadata.name, options.timeoutMs);
  const deadline = options.clock.now().getTime() + options.timeoutMs;
  for (;;) {
    const live = await cluster.get(keyOf(object));
    const readiness = live
      ? inferenceServiceReadiness(live)
      : { state: 'progressing' as const, message: `${objectId(object)} not found yet` };
    if (readiness.state === 'ready') return { ready: true };
    if (readiness.state === 'failed') return { ready: false, reason: readiness.reason, detail: readiness.detail };
    if (options.clock.now().getTime() >= deadline) {
      return {
        ready: false,
        reason: 'Timeout',
        detail: `${readiness.message} after ${Math.round(options.timeoutMs / 1000)} s`,
      };
    }
    await options.clock.sleep(options.pollMs ?? 2000);
  }
}

/** The object with `key` set to `value`, else to the live object's value for it (none: left as it is). */
function keepAnnotation(object: KubeObject, live: KubeObject | undefined, key: string, value?: string): KubeObject {
  const kept = value ?? live?.metadata.annotations?.[key];
  if (kept === undefined) return object;
  return {
    ...object,
    metadata: { ...object.metadata, annotations: { ...(object.metadata.annotations ?? {}), [key]: kept } },
  };
}

/** Keeps the stable's current revision annotation: applying without it would make server-side apply drop it. */
const keepRevision = (object: KubeObject, live: KubeObject | undefined, revision?: number): KubeObject =>
  keepAnnotation(object, live, REVISION_ANNOTATION, revision === undefined ? undefined : String(revision));

/** The stable's replica count now: the HPA's when one scales it, else the manifests'. */
function currentReplicas(target: RolloutTarget, live: KubeObject | undefined): number {
  if (!target.hpa || !live) return target.replicas;
  const replicas = specOf(live).replicas;
  return typeof replicas === 'number' ? replicas : target.replicas;
}

/** The target as the cluster has it now (KServe: the live predictor is the one to restore). */
async function resolveTarget(
  cluster: Cluster,
  target: RolloutTarget,
): Promise<{ target: RolloutTarget; live?: KubeObject }> {
  const live = await cluster.get(keyOf(target.stable));
  return {
    target: target.kind === 'InferenceService' ? withLivePredictor(target, live) : withLiveStableImages(target, live),
    live,
  };
}

/**
 * One canary step. Traffic routers: stable first (with its `track: stable` label), Services, the canary, and only
 * once it is ready the router's weight. Replica router: the canary first, and stable scaled down only when the
 * canary is ready, so capacity never drops.
 */
export async function applyStep(
  cluster: Cluster,
  target: RolloutTarget,
  weight: number,
  options: ClusterRolloutOptions,
): Promise<StepOutcome> {
  const resolved = await resolveTarget(cluster, target);
  const objects = objectsAtWeight(options.router, resolved.target, weight, currentReplicas(target, resolved.live));
  const failed = (result: ReadinessResult): StepOutcome | undefined =>
    result.ready ? undefined : { ready: false, reason: result.reason, detail: result.detail, objects };
  if (options.router === 'kserve') {
    await applyAll(
      cluster,
      objects.map((o) => keepRevision(o, resolved.live)),
    );
    return failed(await waitReady(cluster, objects[0]!, options)) ?? { ready: true, objects };
  }
  const isNamed = (name: string | undefined) => (o: KubeObject) => o.kind === 'Deployment' && o.metadata.name === name;
  const stable = keepRevision(objects.find(isNamed(target.stable.metadata.name))!, resolved.live);
  const canary = objects.find(isNamed(target.canary?.metadata.name));
  const services = objects.filter((o) => o.kind === 'Service');
  const routerObjects = objects.filter((o) => o.kind !== 'Service' && o.kind !== 'Deployment');
  const replicaRouter = options.router === 'replicas';
  if (!replicaRouter) {
    await cluster.apply(stable, APPLY);
    const stableReady = failed(await waitReady(cluster, stable, options));
    if (stableReady) return stableReady;
  }
  await applyAll(cluster, services);
  if (canary) {
    await cluster.apply(canary, APPLY);
    const canaryReady = failed(await waitReady(cluster, canary, options));
    if (canaryReady) return canaryReady;
  }
  if (replicaRouter) await cluster.apply(stable, APPLY);
  await applyAll(cluster, routerObjects);
  options.logger?.info(`${objectId(target.stable)}: canary at ${weight}% via ${options.router}`);
  return { ready: true, objects };
}

export type FinishOutcome = ReadinessResult & { outcome: 'promote' | 'rollback' };

async function finish(
  cluster: Cluster,
  target: RolloutTarget,
  outcome: 'promote' | 'rollback',
  options: ClusterRolloutOptions,
  revision?: number,
): Promise<FinishOutcome> {
  const resolved = await resolveTarget(cluster, target);
  if (options.router === 'kserve' && outcome === 'rollback') {
    // Traffic leaves the canary first, and the restored revision takes it only once ready.
    const steps = kserveRollbackSteps(resolved.target);
    await cluster.apply(keepRevision(steps.trafficOff, resolved.live), APPLY);
    await cluster.apply(keepRevision(steps.held, resolved.live), APPLY);
    await waitReady(cluster, steps.held, options);
  }
  const cleanup = routerCleanup(options.router, resolved.target, outcome);
  // KServe: the recorded predictor stays exactly as the steps wrote it (an InferenceService annotation is part of
  // the revision template: a changed one would start a revision of its own).
  const finished =
    options.router === 'kserve' ? keepAnnotation(cleanup.stable, resolved.live, PREVIOUS_PREDICTOR) : cleanup.stable;
  // Its revision number lives in the history then (engine/history.ts), not in an annotation that would change.
  const stable = keepRevision(finished, resolved.live, options.router === 'kserve' ? undefined : revision);
  await cluster.apply(stable, APPLY);
  const ready = await waitReady(cluster, stable, options);
  if (!ready.ready && outcome === 'promote') return { ...ready, outcome };
  // Rolling back goes on even when stable is slow: traffic must leave the canary.
  await applyAll(cluster, cleanup.traffic);
  for (const key of cleanup.remove) await cluster.delete(key);
  options.logger?.info(`${objectId(target.stable)}: ${outcome === 'promote' ? 'promoted' : 'rolled back'}`);
  return { ...ready, outcome };
}

/** Stable takes the canary's pod template, becomes ready, takes all traffic; then the canary's objects go. */
export function promote(
  cluster: Cluster,
  target: RolloutTarget,
  options: ClusterRolloutOptions,
  revision?: number,
): Promise<FinishOutcome> {
  return finish(cluster, target, 'promote', options, revision);
}

/** Stable (the old template) back to full size, all traffic to it first, then the canary's objects removed. */
export function rollback(
  cluster: Cluster,
  target: RolloutTarget,
  options: ClusterRolloutOptions,
): Promise<FinishOutcome> {
  return finish(cluster, target, 'rollback', options);
}

/** Does the stable in the cluster already run the new image (a promotion that a crash interrupted)? */
export async function stableRunsNewImage(cluster: Cluster, target: RolloutTarget): Promise<boolean> {
  if (target.kind !== 'Deployment') return false;
  const live = await cluster.get(keyOf(target.stable));
  const containers =
    (specOf(live ?? target.stable).template as { spec?: { containers?: { name: string; image: string }[] } })?.spec
      ?.containers ?? [];
  return live !== undefined && containers.some((c) => c.name === target.container && c.image === target.image);
}

/** The TrafficRouter port over the cluster: each weight is a step; reset is a roll back. */
export class ClusterTrafficRouter implements TrafficRouter {
  constructor(
    private readonly cluster: Cluster,
    private readonly target: RolloutTarget,
    private readonly options: ClusterRolloutOptions,
  ) {}

  async setWeight(percent: number): Promise<void> {
    const outcome = await applyStep(this.cluster, this.target, percent, this.options);
    if (!outcome.ready)
      throw new Error(
        `canary of ${objectId(this.target.stable)} not ready at ${percent}%: ${outcome.reason}: ${outcome.detail}`,
      );
  }

  async reset(): Promise<void> {
    await rollback(this.cluster, this.target, this.options);
  }

  describe(): string {
    return `${this.options.router} router for ${objectId(this.target.stable)}`;
  }
}
