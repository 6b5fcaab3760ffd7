// KServe InferenceService: the predictor gets the new image and `canaryTrafficPercent`; KServe keeps the previous
// revision itself and splits traffic between the two.
import type { KubeObject } from '../ports.js';
import type { RolloutTarget } from '../target.js';
import { clone, objectId, specOf } from '../kube.js';
import { ManifestError } from '../manifests.js';
import { weights } from './services.js';

export const KSERVE_API_VERSION = 'serving.kserve.io/v1beta1';
/**
 * Where the predictor spec that was live before the rollout is kept, so a roll back can restore it after a crash.
 * KServe copies the InferenceService's annotations into the Knative revision template, so any change to this one
 * is a new revision: it is written with the canary's image (one revision) and left as it is at promote and restore,
 * where removing it would start one more revision for nothing. It counts only while a rollout is in flight.
 */
export const PREVIOUS_PREDICTOR = 'model-canary.io/previous-predictor';

/** A rollout is in flight while the predictor has a canaryTrafficPercent: every step sets it, promote and restore drop it. */
export function rolloutInFlight(isvc: KubeObject | undefined): boolean {
  const predictor = isvc ? specOf(isvc).predictor : undefined;
  return typeof (predictor as Predictor | undefined)?.canaryTrafficPercent === 'number';
}

type Predictor = Record<string, unknown> & { containers?: { name?: string; image?: string }[] };

export function predictorOf(isvc: KubeObject): Predictor {
  const predictor = specOf(isvc).predictor;
  if (!predictor || typeof predictor !== 'object') {
    throw new ManifestError([`${objectId(isvc)} has no spec.predictor: KServe needs one to serve the model`]);
  }
  return predictor as Predictor;
}

/** The predictor with the new image in the model's container. */
export function predictorWithImage(target: RolloutTarget): Predictor {
  const predictor = clone(predictorOf(target.stable));
  const containers = predictor.containers ?? [];
  const container =
    containers.find((c) => c.name === target.container) ?? (containers.length === 1 ? containers[0] : undefined);
  if (!container) {
    throw new ManifestError([
      `${objectId(target.stable)} has no predictor container '${target.container}' to put ${target.image} in: name the container in spec.predictor.containers`,
    ]);
  }
  container.image = target.image;
  return predictor;
}

function isvcWith(target: RolloutTarget, predictor: Predictor, canaryTrafficPercent?: number): KubeObject {
  const isvc = clone(target.stable);
  const withPercent = canaryTrafficPercent === undefined ? predictor : { ...predictor, canaryTrafficPercent };
  isvc.spec = { ...specOf(isvc), predictor: withPercent };
  isvc.metadata = {
    ...isvc.metadata,
    annotations: {
      ...(isvc.metadata.annotations ?? {}),
      [PREVIOUS_PREDICTOR]: JSON.stringify(predictorOf(target.stable)),
    },
  };
  return isvc;
}

export function kserveRouterObjects(target: RolloutTarget, weight: number): KubeObject[] {
  return [isvcWith(target, predictorWithImage(target), weights(weight).canary)];
}

/** Promoted: the new predictor takes all traffic (no canaryTrafficPercent). */
export function kservePromoted(target: RolloutTarget): KubeObject {
  return isvcWith(target, predictorWithImage(target));
}

/** Rolled back: the previous predictor spec, all traffic. */
export function kserveRestored(target: RolloutTarget): KubeObject {
  return isvcWith(target, clone(predictorOf(target.stable)));
}

/**
 * A roll back in the order that never sends traffic to the canary: KServe's own roll back first
 * (`canaryTrafficPercent: 0`, all traffic to the last rolled-out revision, no new revision), then the previous
 * predictor as a new revision still held at 0% until it is ready, then all traffic to it. Restoring the spec in one
 * step would route everything to the latest *ready* revision, the failed canary, until the restored one is ready.
 */
export function kserveRollbackSteps(target: RolloutTarget): { trafficOff: KubeObject; held: KubeObject } {
  return {
    trafficOff: isvcWith(target, predictorWithImage(target), 0),
    held: isvcWith(target, clone(predictorOf(target.stable)), 0),
  };
}

/**
 * The target with the predictor that is live in the cluster as its stable: KServe's "previous revision". After a
 * crash the live predictor already has the new image, so the one recorded in the annotation is used instead.
 */
export function withLivePredictor(target: RolloutTarget, live: KubeObject | undefined): RolloutTarget {
  if (!live) return target;
  const recorded = rolloutInFlight(live) ? live.metadata.annotations?.[PREVIOUS_PREDICTOR] : undefined;
  const livePredictor = clone(predictorOf(live));
  delete livePredictor.canaryTrafficPercent;
  const runsNewImage = (livePredictor.containers ?? []).some((c) => c.image === target.image);
  const previous = recorded ? (JSON.parse(recorded) as Predictor) : runsNewImage ? undefined : livePredictor;
  if (!previous) return target;
  const stable = clone(target.stable);
  stable.spec = { ...specOf(stable), predictor: previous };
  return { ...target, stable };
}

/** Knative revision names that no series carries: the canary before KServe created its revision, and so on. */
export const NO_CANARY_REVISION = '<latest created revision>';
/** The stable's revision before the InferenceService exists (a first rollout, or `plan`). */
export const NO_STABLE_REVISION = '<latest rolled-out revision>';

/**
 * The two revisions of the predictor as the InferenceService status names them (kserve/kserve
 * pkg/apis/serving/v1beta1/inference_service_status.go): the stable is the latest rolled-out revision (the last to
 * take all traffic), the canary the latest created one while it differs from it. The latest *ready* revision is not
 * used for the canary: while a new revision is not ready it still names the stable, and the canary would be judged
 * against itself.
 */
export function kserveRevisions(isvc: KubeObject | undefined): { stable?: string; canary?: string } {
  const status = (isvc?.status ?? {}) as { components?: { predictor?: Record<string, unknown> } };
  const predictor = status.components?.predictor ?? {};
  const text = (key: string) => (typeof predictor[key] === 'string' ? (predictor[key] as string) : undefined);
  const created = text('latestCreatedRevision');
  const rolledOut = text('latestRolledoutRevision');
  // At the 100% step KServe counts the canary as rolled out (it has all traffic); while the rollout is in flight
  // (canaryTrafficPercent still set) the stable is the revision rolled out before it.
  const inFlight = rolloutInFlight(isvc);
  const previous = text('previousRolledoutRevision');
  const stable =
    inFlight && created !== undefined && created === rolledOut && previous
      ? previous
      : (rolledOut ?? text('latestReadyRevision'));
  return {
    ...(stable ? { stable } : {}),
    ...(created && created !== stable ? { canary: created } : {}),
  };
}
