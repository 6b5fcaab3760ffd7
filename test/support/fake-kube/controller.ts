// A small Deployment controller (pods per replica, readiness after a delay, failure modes chosen by the image name)
// and a KServe controller for serverless InferenceServices: Knative revisions of the predictor and the traffic split
// KServe asks Knative for. Runs on a timer against the store.
//
// The KServe part follows kserve/kserve pkg/controller/v1beta1/inferenceservice/reconcilers/knative/ksvc_reconciler.go
// (the traffic targets for canaryTrafficPercent) and pkg/apis/serving/v1beta1/inference_service_status.go
// (PropagateStatus: latestCreated/Ready/RolledoutRevision, previousRolledoutRevision, traffic), with Knative's
// revisions (<isvc>-predictor-0000N, a new one for every change of the template, never reused) and routes (a
// `latestRevision: true` target serves the latest *ready* revision). Where it simplifies, knowingly:
// - One object plays the InferenceService, its Knative Service, Configuration, Revisions and Route: no ksvc or
//   Revision objects are stored, and no pods are made for revisions. The revisions live in this controller's memory
//   (`inferenceServiceRevisions`), per InferenceService uid.
// - A revision's template is the predictor spec without canaryTrafficPercent, plus the InferenceService's
//   annotations less KServe's ServiceAnnotationDisallowedList (pkg/constants/constants.go), which KServe copies into
//   the revision template: changing an annotation makes a new revision, as it does there.
// - A revision is ready readyDelayMs after it is created, or fails then (an image with `bad-pull`: the
//   InferenceService is Ready=False, RevisionFailed); it never scales, and serves no traffic of its own: traffic
//   exists only in status (see test/support/queue-proxy-exporter.ts for its metrics).
// - Ready is True once the latest created revision is ready and readyDelayMs have passed since the last spec change
//   (a traffic-only change is also "ready" after that delay); until then Unknown (RevisionMissing). The real
//   controller's other conditions (PredictorReady, RoutesReady, IngressReady, ...) and URLs are left out.
// - Routing tags: the latest target is tagged `latest` only with serving.kserve.io/enable-tag-routing: "true", as
//   in KServe; tag URLs are not made. Raw-deployment mode is not modelled.
import { createHash } from 'node:crypto';
import type { JsonObject } from './fields.js';
import { typeByKind } from './resources.js';
import type { Store } from './store.js';

/** KServe's ServiceAnnotationDisallowedList: the InferenceService annotations it does not copy into revisions. */
const REVISION_ANNOTATIONS_DISALLOWED = [
  'autoscaling.knative.dev/min-scale',
  'autoscaling.knative.dev/max-scale',
  'internal.serving.kserve.io/storage-initializer-sourceuri',
  'kubectl.kubernetes.io/last-applied-configuration',
];

export interface ControllerOptions {
  /** How long a healthy pod takes to become ready. */
  readyDelayMs: number;
  /** Replaces every Deployment's progressDeadlineSeconds, so tests see ProgressDeadlineExceeded quickly. */
  progressDeadlineMs?: number;
  /** What one node offers; a pod requesting more is Unschedulable. */
  node: { cpu: number; memoryBytes: number; gpu: number };
  tickMs: number;
  /** What a crashing container (image name with `crash`) printed before it exited: its previous log. */
  crashLog?: string;
}

const DEPLOYMENT = typeByKind('apps/v1', 'Deployment')!;
const POD = typeByKind('v1', 'Pod')!;
const EVENT = typeByKind('v1', 'Event')!;
const ISVC = typeByKind('serving.kserve.io/v1beta1', 'InferenceService')!;

type Obj = JsonObject & {
  metadata: JsonObject & { name: string; namespace: string };
  spec?: JsonObject;
  status?: JsonObject;
};
interface Container {
  name: string;
  image: string;
  resources?: { requests?: Record<string, string> };
}

export function parseQuantity(value: string): number {
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(value.trim());
  if (!match) return Number.NaN;
  const units: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  return Number(match[1]) * (units[match[2] ?? ''] ?? Number.NaN);
}

const hashOf = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 10);

export class Controller {
  private timer?: NodeJS.Timeout;
  private podBorn = new Map<string, number>();
  private progressSince = new Map<string, { generation: number; since: number }>();
  private logs = new Map<string, string>();
  private eventCount = 0;
  private emitted = new Set<string>();
  private revisions = new Map<string, Revision[]>();

  constructor(
    private readonly store: Store,
    private readonly options: ControllerOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  podLog(namespace: string, pod: string): string | undefined {
    return this.logs.get(`${namespace}/${pod}`);
  }

  tick(now = Date.now()): void {
    for (const deployment of this.store.list(DEPLOYMENT) as Obj[]) this.reconcileDeployment(deployment, now);
    this.collectOrphans();
    for (const isvc of this.store.list(ISVC) as Obj[]) this.reconcileInferenceService(isvc, now);
    this.collectRevisions();
  }

  private reconcileDeployment(deployment: Obj, now: number): void {
    const { name, namespace } = deployment.metadata;
    const spec = deployment.spec ?? {};
    const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const template = (spec.template ?? {}) as JsonObject;
    const hash = hashOf(template);
    const owned = (this.store.list(POD, namespace) as Obj[]).filter(
      (pod) => ownerOf(pod)?.startsWith(`${name}-`) && ownerOf(pod) === `${name}-${labelsOf(pod)['pod-template-hash']}`,
    );
    let current = owned.filter((pod) => labelsOf(pod)['pod-template-hash'] === hash);
    const old = owned.filter((pod) => labelsOf(pod)['pod-template-hash'] !== hash);
    for (let i = current.length; i < desired; i++) current.push(this.createPod(deployment, template, hash, now));
    for (const extra of current.slice(desired)) this.deletePod(extra);
    current = current.slice(0, desired);
    for (const pod of current) this.updatePod(pod, now);
    const readyNow = (this.store.list(POD, namespace) as Obj[]).filter(
      (p) => current.some((c) => c.metadata.name === p.metadata.name) && isReady(p),
    );
    let remainingOld = old;
    if (readyNow.length >= desired) {
      for (const pod of old) this.deletePod(pod);
      remainingOld = [];
    }
    const oldReady = remainingOld.filter(isReady).length;
    const generation = Number(deployment.metadata.generation ?? 1);
    const progress = this.progressSince.get(`${namespace}/${name}`);
    if (!progress || progress.generation !== generation)
      this.progressSince.set(`${namespace}/${name}`, { generation, since: now });
    const since = this.progressSince.get(`${namespace}/${name}`)!.since;
    const deadline = this.options.progressDeadlineMs ?? Number(spec.progressDeadlineSeconds ?? 600) * 1000;
    const available = readyNow.length + oldReady;
    const complete = readyNow.length >= desired && remainingOld.length === 0;
    const progressing = complete
      ? {
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${name}-${hash}" has successfully progressed.`,
        }
      : now - since > deadline
        ? {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: `ReplicaSet "${name}-${hash}" has timed out progressing.`,
          }
        : {
            type: 'Progressing',
            status: 'True',
            reason: 'ReplicaSetUpdated',
            message: `ReplicaSet "${name}-${hash}" is progressing.`,
          };
    this.store.setStatus(DEPLOYMENT, namespace, name, {
      observedGeneration: generation,
      replicas: current.length + remainingOld.length,
      updatedReplicas: current.length,
      readyReplicas: available,
      availableReplicas: available,
      unavailableReplicas: Math.max(0, desired - available),
      conditions: [
        {
          type: 'Available',
          status: available >= desired ? 'True' : 'False',
          reason: available >= desired ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
        },
        progressing,
      ],
    });
  }

  private createPod(deployment: Obj, template: JsonObject, hash: string, now: number): Obj {
    const { name, namespace } = deployment.metadata;
    const templateMeta = (template.metadata ?? {}) as JsonObject;
    const podName = `${name}-${hash}-${Math.random().toString(36).slice(2, 7)}`;
    const pod = this.store.create(
      POD,
      namespace,
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: podName,
          namespace,
          labels: { ...((templateMeta.labels ?? {}) as JsonObject), 'pod-template-hash': hash },
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-${hash}`, controller: true, uid: hash },
          ],
        },
        spec: (template.spec ?? {}) as JsonObject,
      },
      'kube-controller-manager',
    ) as Obj;
    this.podBorn.set(`${namespace}/${podName}`, now);
    return pod;
  }

  private deletePod(pod: Obj): void {
    try {
      this.store.delete(POD, pod.metadata.namespace, pod.metadata.name);
    } catch {
      // already gone
    }
  }

  /** Pods whose Deployment is gone are garbage collected, as ownerReferences make the real cluster do. */
  private collectOrphans(): void {
    const deployments = new Set(
      (this.store.list(DEPLOYMENT) as Obj[]).map((d) => `${d.metadata.namespace}/${d.metadata.name}`),
    );
    for (const pod of this.store.list(POD) as Obj[]) {
      const owner = ownerOf(pod);
      const hash = labelsOf(pod)['pod-template-hash'];
      const deployment = owner && hash ? owner.slice(0, -(hash.length + 1)) : undefined;
      if (deployment && !deployments.has(`${pod.metadata.namespace}/${deployment}`)) this.deletePod(pod);
    }
  }

  private updatePod(pod: Obj, now: number): void {
    const { name, namespace } = pod.metadata;
    const age = now - (this.podBorn.get(`${namespace}/${name}`) ?? now);
    const containers = ((pod.spec?.containers ?? []) as unknown as Container[]) ?? [];
    const started = age >= this.options.readyDelayMs;
    const unschedulable = this.insufficient(containers);
    if (unschedulable) {
      this.event(
        pod,
        'FailedScheduling',
        `0/1 nodes are available: 1 Insufficient ${unschedulable}. preemption: 0/1 nodes are available.`,
      );
      this.setPodStatus(pod, {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: `0/1 nodes are available: 1 Insufficient ${unschedulable}.`,
          },
        ],
      });
      return;
    }
    const statuses = containers.map((c) => this.containerStatus(pod, c, started, age));
    const ready = started && statuses.every((s) => s.ready);
    this.setPodStatus(pod, {
      phase:
        statuses.some(
          (s) =>
            (s.state as JsonObject).waiting &&
            ((s.state as JsonObject).waiting as JsonObject).reason === 'ImagePullBackOff',
        ) || !started
          ? 'Pending'
          : 'Running',
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: ready ? 'True' : 'False' },
      ],
      containerStatuses: statuses,
    });
  }

  private containerStatus(pod: Obj, c: Container, started: boolean, age: number): JsonObject {
    const base = { name: c.name, image: c.image, restartCount: 0, ready: false } as JsonObject;
    if (!started) return { ...base, state: { waiting: { reason: 'ContainerCreating' } } };
    if (c.image.includes('bad-pull')) {
      this.event(pod, 'Failed', `Failed to pull image "${c.image}": not found`);
      return {
        ...base,
        state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` } },
      };
    }
    if (c.image.includes('crash')) {
      this.logs.set(
        `${pod.metadata.namespace}/${pod.metadata.name}`,
        this.options.crashLog ??
          'loading model from /models\nTraceback (most recent call last):\nFileNotFoundError: /models/model.pkl not found\n',
      );
      const restarts = 1 + Math.floor((age - this.options.readyDelayMs) / this.options.readyDelayMs);
      return {
        ...base,
        restartCount: restarts,
        state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${c.name}` } },
        lastState: { terminated: { reason: 'Error', exitCode: 1 } },
      };
    }
    if (c.image.includes('not-ready')) {
      this.event(pod, 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503');
      return { ...base, state: { running: { startedAt: new Date().toISOString() } } };
    }
    return { ...base, ready: true, started: true, state: { running: { startedAt: new Date().toISOString() } } };
  }

  private insufficient(containers: Container[]): string | undefined {
    const sum = (key: string): number =>
      containers.reduce((total, c) => total + parseQuantity(c.resources?.requests?.[key] ?? '0'), 0);
    if (sum('cpu') > this.options.node.cpu) return 'cpu';
    if (sum('memory') > this.options.node.memoryBytes) return 'memory';
    if (sum('nvidia.com/gpu') > this.options.node.gpu) return 'nvidia.com/gpu';
    return undefined;
  }

  private setPodStatus(pod: Obj, status: JsonObject): void {
    const previous = (pod.status ?? {}) as JsonObject;
    // Keep timestamps stable so an unchanged pod does not bump its resourceVersion every tick.
    const stable = JSON.stringify(status, (key, value) => (key === 'startedAt' ? undefined : value));
    const before = JSON.stringify(previous, (key, value) => (key === 'startedAt' ? undefined : value));
    if (stable !== before) this.store.setStatus(POD, pod.metadata.namespace, pod.metadata.name, status);
  }

  private event(pod: Obj, reason: string, message: string): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}/${reason}`;
    if (this.emitted.has(key)) return;
    this.emitted.add(key);
    this.eventCount++;
    this.store.create(
      EVENT,
      pod.metadata.namespace,
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${pod.metadata.name}.${this.eventCount}`, namespace: pod.metadata.namespace },
        involvedObject: { kind: 'Pod', name: pod.metadata.name, namespace: pod.metadata.namespace },
        reason,
        message,
        type: 'Warning',
      },
      'kubelet',
    );
  }

  /** The Knative revisions of an InferenceService's predictor, oldest first (empty when it is not in the store). */
  inferenceServiceRevisions(namespace: string, name: string): Revision[] {
    const isvc = this.store.get(ISVC, namespace, name) as Obj | undefined;
    const revisions = isvc ? this.revisions.get(String(isvc.metadata.uid)) : undefined;
    return (revisions ?? []).map((revision) => ({ ...revision, images: [...revision.images] }));
  }

  /** A revision by its name, in any InferenceService of the namespace. */
  revision(namespace: string, revisionName: string): Revision | undefined {
    for (const isvc of this.store.list(ISVC, namespace) as Obj[]) {
      const found = this.revisions.get(String(isvc.metadata.uid))?.find((r) => r.name === revisionName);
      if (found) return { ...found, images: [...found.images] };
    }
    return undefined;
  }

  private reconcileInferenceService(isvc: Obj, now: number): void {
    const { name, namespace } = isvc.metadata;
    const generation = Number(isvc.metadata.generation ?? 1);
    const key = `isvc/${namespace}/${name}`;
    const progress = this.progressSince.get(key);
    if (!progress || progress.generation !== generation) this.progressSince.set(key, { generation, since: now });
    const since = this.progressSince.get(key)!.since;
    const predictor = (isvc.spec?.predictor ?? {}) as JsonObject;
    const canaryPercent =
      typeof predictor.canaryTrafficPercent === 'number' ? predictor.canaryTrafficPercent : undefined;

    // Knative: every new template is a new revision, named by a counter that never goes back.
    const spec: JsonObject = { ...predictor };
    delete spec.canaryTrafficPercent;
    const annotations = Object.fromEntries(
      Object.entries((isvc.metadata.annotations ?? {}) as Record<string, string>).filter(
        ([key]) => !REVISION_ANNOTATIONS_DISALLOWED.includes(key),
      ),
    );
    const hash = hashOf(canonical({ annotations, spec }));
    const uid = String(isvc.metadata.uid);
    const revisions = this.revisions.get(uid) ?? [];
    this.revisions.set(uid, revisions);
    if (revisions[revisions.length - 1]?.templateHash !== hash) {
      revisions.push({
        name: `${name}-predictor-${String(revisions.length + 1).padStart(5, '0')}`,
        templateHash: hash,
        images: imagesOfPredictor(predictor),
        createdAt: now,
      });
    }
    const started = (revision: Revision) => now - revision.createdAt >= this.options.readyDelayMs;
    const failedImage = (revision: Revision) =>
      started(revision) ? revision.images.find((image) => image.includes('bad-pull')) : undefined;
    const isReady = (revision: Revision) => started(revision) && !failedImage(revision);
    const latestCreated = revisions[revisions.length - 1]!;
    const latestReady = [...revisions].reverse().find(isReady);

    // KServe's ksvc reconciler: the traffic it asks for, from the status it wrote last time.
    const previous = ((isvc.status?.components as JsonObject | undefined)?.predictor ?? {}) as JsonObject;
    const text = (value: unknown): string => (typeof value === 'string' ? value : '');
    let rolledOut = text(previous.latestRolledoutRevision);
    let previousRolledOut = text(previous.previousRolledoutRevision);
    const tagRouting =
      ((isvc.metadata.annotations ?? {}) as Record<string, string>)['serving.kserve.io/enable-tag-routing'] === 'true';
    const wanted: TrafficTarget[] =
      canaryPercent !== undefined && rolledOut !== ''
        ? [
            { latestRevision: true, percent: canaryPercent, ...(tagRouting ? { tag: 'latest' } : {}) },
            ...(canaryPercent < 100
              ? [{ revisionName: rolledOut, latestRevision: false, percent: 100 - canaryPercent, tag: 'prev' }]
              : []),
          ]
        : [{ latestRevision: true, percent: 100, ...(tagRouting ? { tag: 'latest' } : {}) }];
    // Knative's route: `latestRevision: true` serves the latest ready revision; nothing is routed before one is ready.
    const traffic: TrafficTarget[] = latestReady
      ? wanted.map((target) => (target.latestRevision ? { revisionName: latestReady.name, ...target } : target))
      : [];

    // KServe's PropagateStatus: the last revision to take all traffic as the latest is the rolled-out one.
    const share = new Map<string, number>();
    for (const target of traffic)
      share.set(target.revisionName!, (share.get(target.revisionName!) ?? 0) + target.percent);
    for (const target of traffic) {
      if (!latestReady || target.revisionName !== latestReady.name || target.latestRevision !== true) continue;
      if (rolledOut !== latestReady.name) {
        if (target.percent === 100) {
          previousRolledOut = rolledOut;
          rolledOut = latestReady.name;
        }
      } else if (
        latestReady === latestCreated &&
        target.percent < 100 &&
        share.get(latestReady.name) === 100 &&
        previousRolledOut !== ''
      ) {
        rolledOut = previousRolledOut;
      }
    }

    const badPull = failedImage(latestCreated);
    const ready = isReady(latestCreated) && now - since >= this.options.readyDelayMs;
    this.store.setStatus(ISVC, namespace, name, {
      observedGeneration: generation,
      conditions: [
        badPull
          ? {
              type: 'Ready',
              status: 'False',
              reason: 'RevisionFailed',
              message: `Revision "${latestCreated.name}" failed: ImagePullBackOff pulling "${badPull}"`,
            }
          : ready
            ? { type: 'Ready', status: 'True' }
            : {
                type: 'Ready',
                status: 'Unknown',
                reason: 'RevisionMissing',
                message: `Configuration "${name}-predictor" is waiting for a Revision to become ready.`,
              },
      ],
      components: {
        predictor: {
          latestCreatedRevision: latestCreated.name,
          ...(latestReady ? { latestReadyRevision: latestReady.name } : {}),
          ...(rolledOut ? { latestRolledoutRevision: rolledOut } : {}),
          ...(previousRolledOut ? { previousRolledoutRevision: previousRolledOut } : {}),
          traffic: traffic as unknown as JsonObject[],
        },
      },
    });
  }

  /** Revisions of InferenceServices no longer in the store are forgotten, as Knative deletes them with the ksvc. */
  private collectRevisions(): void {
    const live = new Set((this.store.list(ISVC) as Obj[]).map((isvc) => String(isvc.metadata.uid)));
    for (const uid of this.revisions.keys()) if (!live.has(uid)) this.revisions.delete(uid);
  }
}

/** A Knative TrafficTarget as the route's status shows it (knative/serving pkg/apis/serving/v1/route_types.go). */
export interface TrafficTarget {
  revisionName?: string;
  latestRevision: boolean;
  percent: number;
  tag?: string;
}

/** A Knative revision of an InferenceService's predictor. */
export interface Revision {
  /** `<isvc>-predictor-0000N`. */
  name: string;
  /** The predictor's container images (and model.image), in order. */
  images: string[];
  /** When it was created (ms since the epoch). */
  createdAt: number;
  templateHash: string;
}

/** The value with every map's keys sorted, so that equal specs hash equal whatever order apply left them in. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  );
}

function imagesOfPredictor(predictor: JsonObject): string[] {
  const containers = ((predictor.containers ?? []) as unknown as Container[]).map((c) => c.image);
  const model = predictor.model as { image?: string } | undefined;
  return [...containers, ...(typeof model?.image === 'string' ? [model.image] : [])];
}

const labelsOf = (object: Obj): Record<string, string> => (object.metadata.labels ?? {}) as Record<string, string>;
const ownerOf = (pod: Obj): string | undefined => ((pod.metadata.ownerReferences ?? []) as { name: string }[])[0]?.name;
const isReady = (pod: Obj): boolean =>
  ((pod.status?.conditions ?? []) as { type: string; status: string }[]).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
