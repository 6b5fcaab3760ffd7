// Is a Deployment rolled out? Decided the way `kubectl rollout status` does, and when it is stuck, why, from its pods.
import type { KubeObject } from './ports.js';
import { objectId, specOf } from './kube.js';

export type Readiness =
  { state: 'ready' } | { state: 'progressing'; message: string } | { state: 'failed'; reason: string; detail: string };

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } };
  lastState?: { terminated?: { reason?: string; exitCode?: number; message?: string } };
}
interface PodStatus {
  phase?: string;
  conditions?: Condition[];
  containerStatuses?: ContainerStatus[];
}

/** Log lines of a crashing container, keyed `pod/container`, so the reason can quote the last of them. */
export type CrashLogs = Record<string, string>;

const statusOf = (object: KubeObject): Record<string, unknown> =>
  object.status && typeof object.status === 'object' ? (object.status as Record<string, unknown>) : {};
const num = (value: unknown): number => (typeof value === 'number' ? value : 0);

/** The Deployment's own status, as `kubectl rollout status` reads it. */
export function deploymentProgress(deployment: KubeObject): Readiness {
  const status = statusOf(deployment);
  const id = objectId(deployment);
  const desired = typeof specOf(deployment).replicas === 'number' ? (specOf(deployment).replicas as number) : 1;
  const conditions = (status.conditions as Condition[] | undefined) ?? [];
  const progressing = conditions.find((c) => c.type === 'Progressing');
  if (num(deployment.metadata.generation) > num(status.observedGeneration)) {
    return { state: 'progressing', message: `waiting for ${id} spec update to be observed` };
  }
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      state: 'failed',
      reason: 'ProgressDeadlineExceeded',
      detail: `${id}: ${progressing.message ?? 'exceeded its progress deadline'}`,
    };
  }
  const updated = num(status.updatedReplicas);
  if (updated < desired)
    return { state: 'progressing', message: `${id}: ${updated} of ${desired} new replicas updated` };
  if (num(status.replicas) > updated) {
    return {
      state: 'progressing',
      message: `${id}: ${num(status.replicas) - updated} old replicas pending termination`,
    };
  }
  if (num(status.availableReplicas) < updated) {
    return {
      state: 'progressing',
      message: `${id}: ${num(status.availableReplicas)} of ${updated} updated replicas available`,
    };
  }
  return { state: 'ready' };
}

const lastLine = (text: string | undefined): string | undefined =>
  text
    ?.split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .at(-1);

/** A reason that will not fix itself, from one pod: bad image, crash loop, cannot be scheduled. */
export function podFailure(pod: KubeObject, logs: CrashLogs = {}): { reason: string; detail: string } | undefined {
  const status = statusOf(pod) as PodStatus;
  const name = pod.metadata.name;
  for (const container of status.containerStatuses ?? []) {
    const waiting = container.state?.waiting;
    if (
      waiting?.reason === 'ImagePullBackOff' ||
      waiting?.reason === 'ErrImagePull' ||
      waiting?.reason === 'InvalidImageName'
    ) {
      return {
        reason: 'ImagePullBackOff',
        detail: `pod ${name} container ${container.name}: ${waiting.message ?? waiting.reason}; check the image reference and the cluster's pull access to the registry`,
      };
    }
    if (waiting?.reason === 'CrashLoopBackOff') {
      const last = container.lastState?.terminated;
      const logLine = lastLine(logs[`${name}/${container.name}`]);
      const exited = last
        ? `last exit: ${last.reason ?? 'terminated'} (code ${last.exitCode ?? '?'})`
        : 'keeps restarting';
      return {
        reason: 'CrashLoopBackOff',
        detail: `pod ${name} container ${container.name} ${exited} after ${container.restartCount ?? 0} restarts${logLine ? `; last log line: ${logLine}` : ''}`,
      };
    }
  }
  const scheduled = status.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return {
      reason: 'Unschedulable',
      detail: `pod ${name}: ${scheduled.message ?? 'no node fits'}; lower its resource requests or add capacity`,
    };
  }
  return undefined;
}

/** Pods whose containers crash, to fetch the last log lines for. */
export function crashingContainers(pods: KubeObject[]): { pod: string; container: string }[] {
  return pods.flatMap((pod) =>
    ((statusOf(pod) as PodStatus).containerStatuses ?? [])
      .filter((c) => c.state?.waiting?.reason === 'CrashLoopBackOff')
      .map((c) => ({ pod: pod.metadata.name, container: c.name })),
  );
}

/** Why pods stay unready, from Events (`Unhealthy`: failing readiness probe). Used once time is up. */
export function probeFailure(pods: KubeObject[], events: KubeObject[]): { reason: string; detail: string } | undefined {
  const names = new Set(pods.map((p) => p.metadata.name));
  const unhealthy = events.filter((event) => {
    const involved = (event.involvedObject as { name?: string } | undefined)?.name;
    return (
      event.reason === 'Unhealthy' &&
      involved !== undefined &&
      names.has(involved) &&
      String(event.message ?? '').startsWith('Readiness probe failed')
    );
  });
  const last = unhealthy.at(-1);
  if (!last) return undefined;
  const pod = (last.involvedObject as { name: string }).name;
  return {
    reason: 'ReadinessProbeFailed',
    detail: `pod ${pod}: ${String(last.message)}; check the probe's path and port and the model's startup time`,
  };
}

/** The whole verdict on one look: the Deployment's progress, overridden by a pod failure that will not fix itself. */
export function judgeReadiness(deployment: KubeObject, pods: KubeObject[], logs: CrashLogs = {}): Readiness {
  const progress = deploymentProgress(deployment);
  if (progress.state === 'ready') return progress;
  for (const pod of pods) {
    const failure = podFailure(pod, logs);
    if (failure) return { state: 'failed', ...failure };
  }
  return progress;
}

/** What to report when time runs out: the probe failure if the events show one, else what it was waiting for. */
export function timeoutReason(
  last: Readiness,
  pods: KubeObject[],
  events: KubeObject[],
  timeoutMs: number,
): { reason: string; detail: string } {
  const probe = probeFailure(pods, events);
  if (probe) return probe;
  const waiting = last.state === 'progressing' ? last.message : 'not ready';
  return {
    reason: 'Timeout',
    detail: `${waiting} after ${Math.round(timeoutMs / 1000)} s; raise 'timeout' or look at the pods`,
  };
}

/** KServe InferenceService readiness from its `Ready` condition. */
export function inferenceServiceReadiness(isvc: KubeObject): Readiness {
  const status = statusOf(isvc);
  const id = objectId(isvc);
  if (num(isvc.metadata.generation) > num(status.observedGeneration)) {
    return { state: 'progressing', message: `waiting for ${id} spec update to be observed` };
  }
  const ready = ((status.conditions as Condition[] | undefined) ?? []).find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return { state: 'ready' };
  if (ready?.status === 'False' && ready.reason) {
    return { state: 'failed', reason: ready.reason, detail: `${id}: ${ready.message ?? ready.reason}` };
  }
  return { state: 'progressing', message: `${id}: not ready yet` };
}
