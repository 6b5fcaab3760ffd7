// An in-memory Cluster for engine tests that run on a virtual clock (no sockets, so virtual time can jump).
// Simplifications, next to the HTTP fake API server in fake-kube-apiserver.ts that the adapter tests use:
// - apply replaces the whole object (server-side apply would merge fields by manager);
// - every Deployment is ready at once, unless its image is listed in `notReady`;
// - label selectors are equality-only (`a=b,c=d`); resourceVersion is a counter checked on apply when given.
import { ConflictError } from '../../src/core/conflict.js';
import type {
  ApplyOptions,
  Cluster,
  DeleteOptions,
  KubeObject,
  ObjectKey,
  ReadinessResult,
} from '../../src/core/ports.js';

const keyText = (key: ObjectKey) => `${key.apiVersion}/${key.kind}/${key.namespace ?? ''}/${key.name}`;

export class MemoryCluster implements Cluster {
  readonly objects = new Map<string, KubeObject>();
  readonly writes: string[] = [];
  /** Images whose Deployments never become ready. */
  readonly notReady = new Set<string>();
  private version = 0;

  object(apiVersion: string, kind: string, namespace: string, name: string): KubeObject | undefined {
    return this.objects.get(keyText({ apiVersion, kind, namespace, name }));
  }

  async apply(object: KubeObject, options: ApplyOptions = {}): Promise<KubeObject> {
    const key = keyText({ ...object, namespace: object.metadata.namespace, name: object.metadata.name });
    const live = this.objects.get(key);
    if (options.createOnly && live) throw new ConflictError(`${key} already exists`);
    const expected = object.metadata.resourceVersion;
    if (expected !== undefined && live && live.metadata.resourceVersion !== expected) {
      throw new ConflictError(`${key} changed (resourceVersion ${live.metadata.resourceVersion}, not ${expected})`);
    }
    const stored = structuredClone({
      ...object,
      metadata: { ...object.metadata, resourceVersion: String(++this.version) },
    }) as KubeObject;
    this.objects.set(key, stored);
    this.writes.push(`apply ${key}`);
    return structuredClone(stored);
  }

  async get(key: ObjectKey): Promise<KubeObject | undefined> {
    const live = this.objects.get(keyText(key));
    return live ? structuredClone(live) : undefined;
  }

  async list(apiVersion: string, kind: string, namespace: string, labelSelector?: string): Promise<KubeObject[]> {
    const wanted = (labelSelector ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.split('=') as [string, string]);
    return [...this.objects.values()]
      .filter((o) => o.apiVersion === apiVersion && o.kind === kind && o.metadata.namespace === namespace)
      .filter((o) => wanted.every(([name, value]) => o.metadata.labels?.[name] === value))
      .map((o) => structuredClone(o));
  }

  async delete(key: ObjectKey, options: DeleteOptions = {}): Promise<void> {
    const live = this.objects.get(keyText(key));
    if (live && options.resourceVersion !== undefined && live.metadata.resourceVersion !== options.resourceVersion)
      throw new ConflictError(`${keyText(key)} changed (resourceVersion ${live.metadata.resourceVersion})`);
    if (this.objects.delete(keyText(key))) this.writes.push(`delete ${keyText(key)}`);
  }

  async waitForDeployment(namespace: string, name: string): Promise<ReadinessResult> {
    const live = this.object('apps/v1', 'Deployment', namespace, name);
    if (!live) return { ready: false, reason: 'NotFound', detail: `Deployment ${namespace}/${name} does not exist` };
    const images = imagesOf(live);
    const stuck = images.find((image) => this.notReady.has(image));
    return stuck
      ? { ready: false, reason: 'ProgressDeadlineExceeded', detail: `image ${stuck} never became ready` }
      : { ready: true };
  }
}

export function imagesOf(object: KubeObject | undefined): string[] {
  const spec = object?.spec as { template?: { spec?: { containers?: { image: string }[] } } } | undefined;
  return (spec?.template?.spec?.containers ?? []).map((c) => c.image);
}
