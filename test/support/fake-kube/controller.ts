// A small Deployment controller (pods per replica, readiness after a delay, failure modes chosen by the image name)
// and a KServe controller (InferenceService Ready after a delay). Runs on a timer against the store.
import { createHash } from 'node:crypto';
import type { JsonObject } from './fields.js';
import { typeByKind } from './resources.js';
import type { Store } from './store.js';

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

  private reconcileInferenceService(isvc: Obj, now: number): void {
    const { name, namespace } = isvc.metadata;
    const generation = Number(isvc.metadata.generation ?? 1);
    const key = `isvc/${namespace}/${name}`;
    const progress = this.progressSince.get(key);
    if (!progress || progress.generation !== generation) {
      this.progressSince.set(key, { generation, since: now });
      return;
    }
    if (now - progress.since < this.options.readyDelayMs) return;
    const predictor = (isvc.spec?.predictor ?? {}) as JsonObject;
    const images = ((predictor.containers ?? []) as unknown as Container[]).map((c) => c.image);
    const badPull = images.find((image) => image.includes('bad-pull'));
    const percent = typeof predictor.canaryTrafficPercent === 'number' ? predictor.canaryTrafficPercent : 100;
    this.store.setStatus(ISVC, namespace, name, {
      observedGeneration: generation,
      conditions: [
        badPull
          ? {
              type: 'Ready',
              status: 'False',
              reason: 'RevisionFailed',
              message: `Revision for ${name}-predictor failed: ImagePullBackOff pulling "${badPull}"`,
            }
          : { type: 'Ready', status: 'True' },
      ],
      components: {
        predictor: {
          traffic: [
            { latestRevision: true, percent },
            ...(percent < 100 ? [{ latestRevision: false, percent: 100 - percent }] : []),
          ],
        },
      },
    });
  }
}

const labelsOf = (object: Obj): Record<string, string> => (object.metadata.labels ?? {}) as Record<string, string>;
const ownerOf = (pod: Obj): string | undefined => ((pod.metadata.ownerReferences ?? []) as { name: string }[])[0]?.name;
const isReady = (pod: Obj): boolean =>
  ((pod.status?.conditions ?? []) as { type: string; status: string }[]).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
