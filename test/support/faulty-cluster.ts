// A Cluster that fails at one call, as one run sees the API server: an error that outlived the adapter's retries (a
// 500, 429 or dropped connection the retries could not absorb), a lost write race (409, a ConflictError), or the
// process killed at that call (nothing after it gets through, not even the run's own clean-up).
import { ConflictError } from '../../src/core/conflict.js';
import type {
  ApplyOptions,
  Cluster,
  DeleteOptions,
  KubeObject,
  ObjectKey,
  ReadinessResult,
} from '../../src/core/ports.js';

export type Fault = 'api-error' | 'conflict' | 'killed';

/** The cluster as one run sees it: call number `failAt` fails as `fault`; once killed, nothing gets through. */
export class FaultyCluster implements Cluster {
  calls = 0;
  private dead = false;
  constructor(
    private readonly inner: Cluster,
    private readonly failAt = 0,
    private readonly fault: Fault = 'api-error',
  ) {}

  private async call<T>(work: () => Promise<T>): Promise<T> {
    this.calls++;
    if (this.dead) throw new Error('the process was killed');
    if (this.calls === this.failAt) {
      if (this.fault === 'killed') {
        this.dead = true;
        throw new Error('the process was killed');
      }
      throw this.fault === 'conflict'
        ? new ConflictError('the object has been modified; please apply your changes to the latest version')
        : new Error('500 Internal Server Error (after retries)');
    }
    return work();
  }

  apply(object: KubeObject, options?: ApplyOptions) {
    return this.call(() => this.inner.apply(object, options));
  }
  get(key: ObjectKey) {
    return this.call(() => this.inner.get(key));
  }
  list(apiVersion: string, kind: string, namespace: string, labelSelector?: string) {
    return this.call(() => this.inner.list(apiVersion, kind, namespace, labelSelector));
  }
  delete(key: ObjectKey, options?: DeleteOptions) {
    return this.call(() => this.inner.delete(key, options));
  }
  waitForDeployment(namespace: string, name: string, timeoutMs: number): Promise<ReadinessResult> {
    return this.call(() => this.inner.waitForDeployment(namespace, name, timeoutMs));
  }
}
