// The Cluster port on @kubernetes/client-node: server-side apply as `model-canary`, get, list, delete, and waiting
// for a Deployment as `kubectl rollout status` does, with retries on transient failures.
import { systemClock } from '../clock.js';
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type {
  ApplyOptions,
  Clock,
  Cluster,
  DeleteOptions,
  KubeObject,
  Logger,
  ObjectKey,
  ReadinessResult,
} from '../../core/ports.js';
import { FIELD_MANAGER } from '../../core/target.js';
import { ConflictError } from '../../core/conflict.js';
import {
  crashingContainers,
  judgeReadiness,
  timeoutReason,
  type CrashLogs,
  type Readiness,
} from '../../core/readiness.js';
import { classify, explain, type Failure } from './errors.js';
import { withRetry, type RetryOptions } from './retry.js';

export interface KubeClusterOptions {
  /** A kubeconfig file; else `KUBECONFIG` (what azure/aks-set-context sets), else ~/.kube/config, else in-cluster. */
  kubeconfigPath?: string;
  context?: string;
  retry?: RetryOptions;
  /** Time between looks while waiting for a Deployment (default 2 s). */
  pollMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export function loadKubeConfig(options: Pick<KubeClusterOptions, 'kubeconfigPath' | 'context'>): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfigPath) kc.loadFromFile(options.kubeconfigPath);
  else kc.loadFromDefault();
  if (options.context) kc.setCurrentContext(options.context);
  if (!kc.getCurrentCluster()) {
    throw new Error(
      'no Kubernetes cluster configured: pass kubeconfig, set KUBECONFIG (e.g. with azure/aks-set-context), or run in a pod',
    );
  }
  return kc;
}

/** client-node returns class instances with Dates; the core works on plain JSON. */
const plain = <T>(value: unknown): T => JSON.parse(JSON.stringify(value)) as T;

const header = (key: ObjectKey): KubernetesObject & { metadata: { name: string } } => ({
  apiVersion: key.apiVersion,
  kind: key.kind,
  metadata: { name: key.name, namespace: key.namespace },
});

const keyOf = (object: KubeObject): ObjectKey => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  namespace: object.metadata.namespace,
  name: object.metadata.name,
});

export class KubeCluster implements Cluster {
  private readonly objects: KubernetesObjectApi;
  private readonly core: CoreV1Api;
  private readonly clock: Clock;

  constructor(
    kc: KubeConfig,
    private readonly options: KubeClusterOptions = {},
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(CoreV1Api);
    this.clock = options.clock ?? systemClock;
  }

  static fromOptions(options: KubeClusterOptions = {}): KubeCluster {
    return new KubeCluster(loadKubeConfig(options), options);
  }

  /** Reads and deletes are safe to repeat after a 409 too; writes decide for themselves (see apply). */
  private retry<T>(call: () => Promise<T>, retryOn: Failure[] = ['transient', 'conflict']): Promise<T> {
    return withRetry(call, { sleep: (ms) => this.clock.sleep(ms), ...this.options.retry }, retryOn);
  }

  async apply(object: KubeObject, options: ApplyOptions = {}): Promise<KubeObject> {
    const key = keyOf(object);
    const body = structuredClone(object) as KubernetesObject;
    const send = (): Promise<KubernetesObject> =>
      options.createOnly
        ? this.objects.create(body, undefined, undefined, FIELD_MANAGER)
        : this.objects.patch(
            body,
            undefined,
            undefined,
            FIELD_MANAGER,
            options.force ?? false,
            PatchStrategy.ServerSideApply,
          );
    const pinned = options.createOnly || object.metadata.resourceVersion !== undefined;
    for (let conflicts = 0; ; conflicts++) {
      try {
        return plain<KubeObject>(await this.retry(send, ['transient']));
      } catch (error) {
        const failure = classify(error);
        if (failure === 'conflict' && pinned) throw new ConflictError(explain('apply', key, error).message);
        // A 409 without a resourceVersion of ours is a race with another writer: read the latest and apply again.
        if (failure === 'conflict' && conflicts < 5) {
          await this.get(key);
          continue;
        }
        throw explain(options.createOnly ? 'create' : 'apply', key, error);
      }
    }
  }

  async get(key: ObjectKey): Promise<KubeObject | undefined> {
    try {
      return plain<KubeObject>(await this.retry(() => this.objects.read(header(key))));
    } catch (error) {
      if (classify(error) === 'not-found') return undefined;
      throw explain('get', key, error);
    }
  }

  async list(apiVersion: string, kind: string, namespace: string, labelSelector?: string): Promise<KubeObject[]> {
    try {
      const list = await this.retry(() =>
        this.objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector),
      );
      return plain<KubeObject[]>(list.items);
    } catch (error) {
      throw explain(
        'list',
        { apiVersion, kind, namespace, name: labelSelector ? `(${labelSelector})` : '(all)' },
        error,
      );
    }
  }

  async delete(key: ObjectKey, options: DeleteOptions = {}): Promise<void> {
    const preconditions =
      options.resourceVersion === undefined ? undefined : { resourceVersion: options.resourceVersion };
    try {
      // A precondition that failed stays failed: that 409 is not retried but told, as a ConflictError.
      await this.retry(
        () =>
          this.objects.delete(
            header(key),
            undefined,
            undefined,
            undefined,
            undefined,
            'Background',
            preconditions ? { preconditions } : undefined,
          ),
        preconditions ? ['transient'] : ['transient', 'conflict'],
      );
    } catch (error) {
      if (classify(error) === 'not-found') return;
      if (preconditions && classify(error) === 'conflict')
        throw new ConflictError(explain('delete', key, error).message);
      throw explain('delete', key, error);
    }
  }

  async waitForDeployment(namespace: string, name: string, timeoutMs: number): Promise<ReadinessResult> {
    const key: ObjectKey = { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name };
    const deadline = this.clock.now().getTime() + timeoutMs;
    let last: Readiness;
    let pods: KubeObject[];
    const progress = readinessProgress(this.clock, this.options.logger);
    for (;;) {
      const deployment = await this.get(key);
      if (!deployment)
        return { ready: false, reason: 'NotFound', detail: `Deployment ${namespace}/${name} does not exist` };
      pods = await this.podsOf(deployment);
      last = judgeReadiness(deployment, pods, await this.crashLogs(namespace, pods));
      if (last.state === 'ready') return { ready: true };
      if (last.state === 'failed') return { ready: false, reason: last.reason, detail: last.detail };
      if (this.clock.now().getTime() >= deadline) break;
      progress(readinessLine(name, deployment, pods, last.message));
      await this.clock.sleep(this.options.pollMs ?? 2000);
    }
    const events = await this.list('v1', 'Event', namespace);
    return { ready: false, ...timeoutReason(last, pods, events, timeoutMs) };
  }

  /** Pods of the Deployment's current ReplicaSet (not the canary's, which its selector also matches). */
  private async podsOf(deployment: KubeObject): Promise<KubeObject[]> {
    const spec = deployment.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined;
    const selector = Object.entries(spec?.selector?.matchLabels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const pods = await this.list('v1', 'Pod', deployment.metadata.namespace ?? 'default', selector || undefined);
    return pods.filter((pod) => {
      const owner = (pod.metadata.ownerReferences as { name?: string }[] | undefined)?.[0]?.name;
      return owner === `${deployment.metadata.name}-${pod.metadata.labels?.['pod-template-hash']}`;
    });
  }

  private async crashLogs(namespace: string, pods: KubeObject[]): Promise<CrashLogs> {
    const logs: CrashLogs = {};
    for (const { pod, container } of crashingContainers(pods)) {
      try {
        logs[`${pod}/${container}`] = await this.core.readNamespacedPodLog({
          name: pod,
          namespace,
          container,
          previous: true,
          tailLines: 5,
        });
      } catch (error) {
        this.options.logger?.debug(`no logs for pod ${pod} container ${container}: ${String(error)}`);
      }
    }
    return logs;
  }
}

/** Progress of a readiness wait at info level: when the line changes, else at most every `everyMs` (10 s). */
export function readinessProgress(clock: Clock, logger: Logger | undefined, everyMs = 10_000): (line: string) => void {
  let lastLine: string | undefined;
  let lastAt = -Infinity;
  return (line) => {
    const now = clock.now().getTime();
    if (line === lastLine && now - lastAt < everyMs) {
      logger?.debug(line);
      return;
    }
    lastLine = line;
    lastAt = now;
    logger?.info(line);
  };
}

/** "churn-canary 1/2 ready: pod churn-canary-x ContainerCreating" (or the rollout's own message when no pod lags). */
export function readinessLine(name: string, deployment: KubeObject, pods: KubeObject[], message: string): string {
  const spec = deployment.spec as { replicas?: number } | undefined;
  const status = deployment.status as { readyReplicas?: number } | undefined;
  const wanted = spec?.replicas ?? 1;
  const ready = status?.readyReplicas ?? 0;
  const lagging = pods.flatMap((pod) => {
    const state = podState(pod);
    return state ? [`pod ${pod.metadata.name} ${state}`] : [];
  });
  const shown = lagging.slice(0, 3).join(', ') + (lagging.length > 3 ? ` and ${lagging.length - 3} more` : '');
  return `${name} ${ready}/${wanted} ready: ${shown || message.replace(/^[^:]*: /, '')}`;
}

/** Why a pod is not ready yet (a container's waiting reason, Pending, not ready), or undefined when it is ready. */
function podState(pod: KubeObject): string | undefined {
  const status = pod.status as
    | {
        phase?: string;
        conditions?: { type: string; status: string }[];
        containerStatuses?: { ready?: boolean; state?: { waiting?: { reason?: string } } }[];
      }
    | undefined;
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  const waiting = status?.containerStatuses?.find((c) => c.state?.waiting?.reason)?.state?.waiting?.reason;
  if (waiting) return waiting;
  if (status?.phase && status.phase !== 'Running') return status.phase;
  const ready = status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  return ready ? undefined : 'not ready';
}
